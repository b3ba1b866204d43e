"""Frames from the Arrow world (polars, pyarrow, the Arrow C stream, the interchange protocol) in, and out."""

import sys

import numpy as np
import pandas as pd
import pytest

from conftest import FAST, mixed_frame
from keras_defaults import Automater, AutomaterClassifier
from keras_defaults.errors import DataError

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def data():
    frame = mixed_frame(200).drop(columns=["price", "binary"])
    frame["code"] = frame["code"].astype("float64")  # polars has no pandas nullable Int64 to give back
    return frame


@pytest.fixture(scope="module")
def from_pandas(data):
    return Automater("label", seed=0, verbose=0, overrides=FAST).fit(data)


def test_polars_frames_in_and_out(data, from_pandas):
    frame = pl.from_pandas(data)
    auto = Automater("label", seed=0, verbose=0, overrides=FAST).fit(frame.lazy())
    assert {name: spec.kind for name, spec in auto.inputs_.items()} == {
        name: spec.kind for name, spec in from_pandas.inputs_.items()}
    predictions = auto.predict(frame)
    assert isinstance(predictions, pl.Series) and predictions.name == "label"
    # The same rows, kinds and statistics: the same model as from the pandas frame.
    assert predictions.to_list() == from_pandas.predict(data).tolist()
    probabilities = auto.predict_proba(frame.lazy())
    assert isinstance(probabilities, pl.DataFrame) and probabilities.columns == ["high", "low", "mid"]
    np.testing.assert_allclose(probabilities.to_numpy(), from_pandas.predict_proba(data).to_numpy(), rtol=1e-6)
    assert auto.evaluate(frame) == pytest.approx(from_pandas.evaluate(data))
    # The same choices; only the evidence may name another dtype (a polars boolean with nulls arrives as objects).
    chosen = ["role", "column", "kind", "choice"]
    assert auto.explain()[chosen].equals(from_pandas.explain()[chosen])


def test_pyarrow_tables_and_streams_in_and_out(data, from_pandas):
    table = pa.Table.from_pandas(data, preserve_index=False)
    predictions = from_pandas.predict(table)
    assert isinstance(predictions, pa.ChunkedArray)
    assert predictions.to_pylist() == from_pandas.predict(data).tolist()
    assert isinstance(from_pandas.predict_proba(table.to_reader()), pa.Table)
    assert from_pandas.evaluate(table.to_reader()) == pytest.approx(from_pandas.evaluate(data))
    auto = Automater("label", seed=0, verbose=0, overrides=FAST).fit(table, validation_data=table.slice(0, 50))
    assert auto.refit_epochs_ is None


class ArrowStream:
    """Any object that speaks the Arrow C stream protocol, as DuckDB, Polars or Daft results do."""

    def __init__(self, table):
        self.table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)


def test_the_arrow_c_stream_and_the_interchange_protocol(data, from_pandas):
    stream = ArrowStream(pa.Table.from_pandas(data, preserve_index=False))
    predictions = from_pandas.predict(stream)
    assert isinstance(predictions, pd.Series)  # no natural kind of frame to give back: pandas
    assert predictions.tolist() == from_pandas.predict(data).tolist()
    interchange = pa.Table.from_pandas(data, preserve_index=False).__dataframe__()  # polars 2 dropped it
    assert from_pandas.predict(interchange).tolist() == predictions.tolist()


def test_a_missing_extra_is_named(data, from_pandas, monkeypatch):
    stream = ArrowStream(pa.Table.from_pandas(data, preserve_index=False))
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    with pytest.raises(DataError, match=r"pip install keras_defaults\[arrow\]"):
        from_pandas.predict(stream)
    with pytest.raises(DataError, match="pandas, polars, or a pyarrow Table.*Received: dict"):
        from_pandas.predict({"num": [1.0]})


def test_the_estimators_take_polars(data):
    X, y = pl.from_pandas(data.drop(columns="label")), pl.Series("label", data["label"].tolist())
    estimator = AutomaterClassifier(seed=0, epochs=3, units=[16]).fit(X, y)
    assert list(estimator.feature_names_in_) == X.columns
    assert estimator.predict(X).shape == (len(data),) and estimator.score(X, y) >= 0
