"""Small datasets shipped with the package, for the demo, the examples and the tests."""

from importlib import resources

import pandas as pd


def load_passengers():
    """A Titanic-like passenger table (1,200 synthetic rows): numerical, categorical, boolean and free-text columns,
    some values missing, and a 0/1 target `survived`. See scripts/make_passengers.py for how it was drawn."""
    with resources.files("keras_defaults").joinpath("data/passengers.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)
