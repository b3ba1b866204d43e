"""The exported model takes what users hand it: DataFrames, dict(df), numpy arrays of any dtype."""

import keras
import numpy as np
import pandas as pd
import pytest

import keras_defaults
from conftest import FAST, mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import DataError


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    frame = mixed_frame(200)
    frame["when"] = pd.date_range("2020-01-01", periods=200, freq="D")
    auto = Automater("label", seed=0, verbose=0, overrides=FAST).fit(frame)
    path = auto.export(tmp_path_factory.mktemp("export") / "model.keras", format="keras")
    # Rows the model has not seen as such: missing values in every kind, an unseen category, a missing date.
    rows = frame.iloc[:40].copy()
    rows.loc[rows.index[:5], ["num", "cat", "text", "flag", "code"]] = None
    rows.loc[rows.index[5], "cat"] = "never seen"
    rows.loc[rows.index[6], "when"] = pd.NaT
    return auto, keras.saving.load_model(path, safe_mode=True), rows


@pytest.mark.parametrize("form", ["DataFrame", "dict(df)", "numpy", "numpy object", "lists", "polars"])
def test_the_exported_model_predicts_from_what_users_hold(exported, form):
    auto, model, rows = exported
    given = {"DataFrame": lambda: rows, "dict(df)": lambda: dict(rows),
             "numpy": lambda: {c: rows[c].to_numpy() for c in rows},
             "numpy object": lambda: {c: rows[c].to_numpy(dtype=object) for c in rows},
             "lists": lambda: {c: rows[c].tolist() for c in rows},
             "polars": lambda: pytest.importorskip("polars").from_pandas(rows)}[form]()
    expected = auto.predict_proba(rows).to_numpy()
    np.testing.assert_allclose(model.predict(given, verbose=0)["label"], expected, atol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(given)["label"], expected, atol=1e-5)


def test_inputs_reads_columns_as_the_model_takes_them(exported):
    auto, model, rows = exported
    tensors = keras_defaults.inputs(rows, model)
    assert set(tensors) == set(auto.inputs_)
    assert tensors["cat"].dtype.name == "string" and tensors["num"].dtype.name == "float32"
    assert tensors["when"].numpy()[6] == b"" and tensors["when"].numpy()[0].decode().startswith("2020-01-01T00:00")
    assert keras_defaults.inputs(tensors, model) is tensors  # tensors pass unchanged
    np.testing.assert_allclose(model(tensors)["label"], auto.predict_proba(rows).to_numpy(), atol=1e-5)
    with pytest.raises(DataError, match=r"lacks 1 column\(s\) the model takes: \['num'\]"):
        model.predict(dict(rows.drop(columns="num")), verbose=0)
    with pytest.raises(DataError, match="dict of columns"):
        keras_defaults.inputs([1, 2, 3], model)
