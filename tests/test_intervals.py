"""Prediction intervals: split-conformal calibration on the validation rows, predict_interval, and the bounds the
SavedModel returns."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from keras_defaults import Automater
from keras_defaults.errors import ConfigError, DataError
from keras_defaults.intervals import GRID, half_width

FAST = {"training": {"epochs": 15}}


def noisy_frame(rows, seed=0):
    """y = a smooth function of x plus Gaussian noise of standard deviation 1, and a column of noise."""
    rng = np.random.default_rng(seed)
    x, other = rng.uniform(-2, 2, size=rows), rng.normal(size=rows)
    return pd.DataFrame({"x": x, "other": other, "y": 3.0 * np.sin(x) + x + rng.normal(size=rows)})


@pytest.fixture(scope="module")
def fitted():
    # 8,000 rows hold out 1,600 to calibrate on: the coverage of their quantile varies by about +-0.01 (one SD at
    # 0.8) from one draw to the next, well inside the test's 3 points (600 rows would give +-0.016).
    data = noisy_frame(12000)
    auto = Automater("y", overrides=FAST, seed=0, verbose=0).fit(data.iloc[:8000])
    return auto, data.iloc[8000:]


def test_intervals_hold_the_truth_as_often_as_asked_on_new_rows(fitted):
    auto, new = fitted
    for coverage in (0.8, 0.9):
        bounds = auto.predict_interval(new, coverage=coverage)
        assert list(bounds.columns) == ["lower", "upper"] and bounds.index.equals(new.index)
        held = ((bounds["lower"] <= new["y"]) & (new["y"] <= bounds["upper"])).mean()
        assert abs(held - coverage) <= 0.03, (coverage, held)
    # Centred on the prediction; the noise's own 90% interval is +-1.645.
    bounds = auto.predict_interval(new, coverage=0.9)
    np.testing.assert_allclose((bounds["lower"] + bounds["upper"]) / 2, auto.predict(new), rtol=1e-6, atol=1e-6)
    assert 1.4 < (bounds["upper"] - bounds["lower"]).iloc[0] / 2 < 2.2
    choice = auto.explain().set_index("column").loc["y", "choice"]
    assert "intervals (predict_interval) calibrated on 1600 validation rows" in choice


def test_intervals_survive_save_and_the_saved_model_returns_the_bounds(fitted, tmp_path):
    import tensorflow as tf

    from keras_defaults.encoders import input_tensor

    auto, new = fitted
    rows = new.head(50)
    expected = auto.predict_interval(rows, coverage=0.8)
    auto.save(tmp_path / "run")
    pd.testing.assert_frame_equal(Automater.load(tmp_path / "run").predict_interval(rows, coverage=0.8), expected)
    path = auto.export(tmp_path / "serving", format="tf_saved_model", coverage=0.8)
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    names = signature["outputs"]["y"]
    assert names["coverage"] == 0.8
    feeds = {spec["argument"]: input_tensor(rows[c], auto.profiles_[c]) for c, spec in signature["inputs"].items()}
    out = tf.saved_model.load(str(path)).signatures["serving_default"](**feeds)
    np.testing.assert_allclose(out[names["lower"]].numpy(), expected["lower"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["upper"]].numpy(), expected["upper"], rtol=1e-5, atol=1e-5)


def test_the_width_is_the_conformal_order_statistic_of_the_errors():
    errors = np.arange(1, 101, dtype="float64")  # 100 validation rows with errors 1..100
    quantiles = np.quantile(errors, np.linspace(0, 1, GRID + 1), method="inverted_cdf")
    calibration = {"rows": 100, "errors": [float(q) for q in quantiles]}
    for coverage in (0.5, 0.8, 0.9, 0.95, 0.99):
        assert half_width(calibration, coverage, "y") == math.ceil(101 * coverage)  # the ceil((n+1)c)-th error
    with pytest.raises(DataError, match=r"coverage 0.995 for target 'y' needs at least 199 validation rows to "
                                        r"calibrate on; this model held out 100"):
        half_width(calibration, 0.995, "y")


def test_intervals_say_what_they_need(fitted):
    auto, new = fitted
    for coverage in (0, 1, 1.5, "0.9", True):
        with pytest.raises(ConfigError, match=r"a number strictly between 0 and 1, e.g. 0.9. Received: coverage="):
            auto.predict_interval(new, coverage=coverage)
    labels = noisy_frame(200).assign(y=lambda f: np.where(f["y"] > 0, "up", "down"))
    classifier = Automater("y", overrides={"training": {"epochs": 1}}, verbose=0).fit(labels)
    with pytest.raises(DataError, match=r"predict_interval needs a regression target; \['y'\] is a classification"):
        classifier.predict_interval(labels)
    unheld = Automater("y", overrides={"training": {"epochs": 1, "validation_split": 0.0}}, verbose=0).fit(
        noisy_frame(200))
    assert "calibration" not in unheld.targets_["y"].state
    with pytest.raises(DataError, match=r"Target 'y' has no calibration for intervals: it was fitted without "
                                        r"validation rows"):
        unheld.predict_interval(new)


def test_a_duration_target_gets_intervals_as_durations():
    data = noisy_frame(400)
    data["y"] = pd.to_timedelta((data["y"] + 10) * 60, unit="s")
    auto = Automater("y", overrides={"training": {"epochs": 2}}, seed=0, verbose=0).fit(data)
    bounds = auto.predict_interval(data.head(5))
    assert bounds["lower"].dtype.kind == "m" and (bounds["upper"] > bounds["lower"]).all()


def test_a_saved_calibration_is_checked():
    from keras_defaults.encoders.numerical import NumericalEncoder
    from keras_defaults.state_schema import ShapeMismatch, check

    shape = NumericalEncoder.target_state_shape
    state = {"center": 0.0, "scale": 1.0, "log1p": False, "duration": False}
    check(state, shape, "state")  # a save from before intervals
    check({**state, "calibration": {"rows": 10, "errors": [0.0] * (GRID + 1)}}, shape, "state")
    for bad, said in (({"rows": 10, "errors": [1.0] + [0.0] * GRID}, "do not decrease"),
                      ({"rows": 10, "errors": [0.0] * 5}, "elements"),
                      ({"rows": 0, "errors": [0.0] * (GRID + 1)}, "rows"),
                      ({"rows": 10, "errors": [-1.0] * (GRID + 1)}, "errors")):
        with pytest.raises(ShapeMismatch, match=said):
            check({**state, "calibration": bad}, shape, "state")


def test_the_rank_is_exact_where_floats_are_not():
    calibration = {"rows": 9, "errors": [float(q) for q in np.quantile(np.arange(1.0, 10.0), np.linspace(0, 1, GRID + 1),
                                                                           method="inverted_cdf")]}
    assert half_width(calibration, 0.9, "y") == 9.0  # (9 + 1) * 0.9 = 9: the largest of 9 errors, not an error
    with pytest.raises(DataError, match="needs at least 9 validation rows"):
        half_width({"rows": 8, "errors": calibration["errors"]}, 0.9, "y")
