"""The exported models agree with Automater.predict_proba, on raw rows with NaNs and unseen labels."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from conftest import FAST, awkward_rows, mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import ConfigError


def raw_columns_script(rows_path):
    """Python source that rebuilds raw column tensors from a CSV written by the test, without the package."""
    return textwrap.dedent(f"""
        import json, os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, pandas as pd, tensorflow as tf
        rows = pd.read_json({str(rows_path)!r}, orient="split", dtype=False)
        def column(values, dtype):
            if dtype == "string":
                return tf.constant(["" if v is None or (isinstance(v, float) and v != v) else str(v)
                                    for v in values], dtype=tf.string)
            return tf.constant(pd.to_numeric(pd.Series(values), errors="coerce").astype("float32").to_numpy())
    """)


def run_isolated(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_rows(rows, path):
    rows = rows.astype(object).where(rows.notna(), None)
    rows.to_json(path, orient="split", index=False)


def test_keras_file_in_a_fresh_process_matches_predict_proba(fitted_binary, tmp_path):
    auto, data = fitted_binary
    rows = awkward_rows(data)
    path = auto.export(tmp_path / "model.keras")
    write_rows(rows, tmp_path / "rows.json")
    dtypes = {c: p.input_dtype for c, p in auto.profiles_.items() if p.kind != "ignore"}
    code = raw_columns_script(tmp_path / "rows.json") + textwrap.dedent(f"""
        import keras, keras_defaults
        model = keras.saving.load_model({str(path)!r})
        assert model.compiled_loss is not None or model.loss is not None
        dtypes = {dtypes!r}
        out = model.predict({{c: column(rows[c].tolist(), d) for c, d in dtypes.items()}}, verbose=0)
        print(json.dumps(np.asarray(out["binary"]).reshape(-1).tolist()))
    """)
    exported = np.array(run_isolated(code))
    np.testing.assert_allclose(exported, auto.predict_proba(rows)[1].to_numpy(), atol=1e-5)


def test_saved_model_runs_without_the_package(fitted_binary, tmp_path):
    auto, data = fitted_binary
    rows = awkward_rows(data)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    write_rows(rows, tmp_path / "rows.json")
    code = textwrap.dedent("""
        import sys
        sys.modules["keras_defaults"] = None  # importing the package now fails: TensorFlow alone must do
    """) + raw_columns_script(tmp_path / "rows.json") + textwrap.dedent(f"""
        signature = {signature!r}
        serve = tf.saved_model.load({str(path)!r}).signatures["serving_default"]
        feeds = {{spec["argument"]: column(rows[c].tolist(), spec["dtype"]) for c, spec in signature["inputs"].items()}}
        out = serve(**feeds)
        names = signature["outputs"]["binary"]
        print(json.dumps({{"p": out[names["probabilities"]].numpy().tolist(),
                           "labels": [v.decode() for v in out[names["prediction"]].numpy()]}}))
    """)
    served = run_isolated(code)
    np.testing.assert_allclose(np.array(served["p"]), auto.predict_proba(rows).to_numpy(), atol=1e-5)
    assert served["labels"] == [str(v) for v in auto.predict(rows)]


def test_saved_model_serves_regression_in_user_units(fitted_multi, tmp_path):
    import tensorflow as tf

    auto, data = fitted_multi
    rows = data.head(6)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    from keras_defaults.encoders import input_tensor

    feeds = {spec["argument"]: input_tensor(rows[c], auto.profiles_[c]) for c, spec in signature["inputs"].items()}
    out = serve(**feeds)
    np.testing.assert_allclose(out[signature["outputs"]["price"]["prediction"]].numpy(),
                               auto.predict(rows)["price"].to_numpy(), rtol=1e-5)
    assert [v.decode() for v in out[signature["outputs"]["label"]["prediction"]].numpy()] == \
        auto.predict(rows)["label"].tolist()


def test_save_and_load_give_identical_predictions(fitted_multi, tmp_path):
    auto, data = fitted_multi
    auto.save(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["automater.json", "model.keras"]
    loaded = Automater.load(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.predict(data), auto.predict(data))
    np.testing.assert_array_equal(loaded.predict_proba(data)["label"].to_numpy(),
                                  auto.predict_proba(data)["label"].to_numpy())
    assert loaded.explain().equals(auto.explain())


def test_unknown_export_format_is_refused(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    with pytest.raises(ConfigError, match=r"Received: format='tf_savedmodel'. Did you mean 'tf_saved_model'"):
        auto.export(tmp_path / "x", format="tf_savedmodel")


def test_quantile_scaled_numbers_serve_the_same_from_both_exports(tmp_path):
    import keras
    import tensorflow as tf

    from keras_defaults.encoders import input_tensor

    data = mixed_frame()
    overrides = {**FAST, "inputs": {"numerical": {"scaling": "quantile"}}}
    auto = Automater(target="price", overrides=overrides, seed=0, verbose=0).fit(data.drop(columns=["binary",
                                                                                                  "label"]))
    explained = auto.explain()
    assert "quantile scaling" in explained[explained["column"] == "num"]["choice"].iloc[0]
    rows = awkward_rows(data)
    rows.loc[rows.index[3], "num"] = 1e6  # far beyond the training quantiles: the end score
    expected = np.asarray(auto.predict(rows), dtype="float64")
    feeds = {c: input_tensor(rows[c], auto.profiles_[c]) for c in auto.inputs_}
    model = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    np.testing.assert_allclose(np.asarray(model.predict(feeds, verbose=0)["price"]).reshape(-1), expected, rtol=1e-5)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(**{spec["argument"]: feeds[c] for c, spec in signature["inputs"].items()})
    np.testing.assert_allclose(out[signature["outputs"]["price"]["prediction"]].numpy(), expected, rtol=1e-5)
