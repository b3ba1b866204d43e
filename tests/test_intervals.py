"""Prediction intervals: split-conformal calibration on the validation rows, predict_interval, and the bounds the
SavedModel returns."""

import copy
import dataclasses
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


# ---------------------------------------------------------------------------------------------------- normal heads
# Enough epochs for the standard deviation to settle: with the periodic embedding of numbers (the default from 700
# training rows) early stopping keeps epoch 35 of 40 here, and a cap of 15 left the intervals 3-4 points too wide.
NORMAL = {"training": {"epochs": 40}, "targets": {"numerical": {"distribution": "normal"}}}


def heteroscedastic_frame(rows, seed=0):
    """y = a smooth function of x plus Gaussian noise whose standard deviation grows from 0.2 (x = 0) to 1.8 (|x| =
    2), and a column of noise."""
    rng = np.random.default_rng(seed)
    x, other = rng.uniform(-2, 2, size=rows), rng.normal(size=rows)
    return pd.DataFrame({"x": x, "other": other,
                         "y": 3.0 * np.sin(x) + rng.normal(size=rows) * (0.2 + 0.8 * np.abs(x))})


@pytest.fixture(scope="module")
def normal_fitted():
    data = heteroscedastic_frame(12000)
    auto = Automater("y", overrides=NORMAL, seed=0, verbose=0).fit(data.iloc[:8000])
    return auto, data.iloc[8000:]


def without_calibration(auto):
    """A shallow copy of a fitted Automater as if fitted with calibrate_intervals: false (no calibration kept)."""
    uncalibrated = copy.copy(auto)
    uncalibrated.targets_ = {name: dataclasses.replace(
        target, state={key: value for key, value in target.state.items() if key != "calibration"},
        settings={**target.settings, "calibrate_intervals": False}) for name, target in auto.targets_.items()}
    return uncalibrated


def held(bounds, truth):
    return float(((bounds["lower"] <= truth) & (truth <= bounds["upper"])).mean())


def test_a_normal_head_predicts_the_mean_and_intervals_as_wide_as_the_noise(normal_fitted):
    auto, new = normal_fitted
    for coverage in (0.8, 0.9):
        assert abs(held(auto.predict_interval(new, coverage=coverage), new["y"]) - coverage) <= 0.03, coverage
    bounds = auto.predict_interval(new, coverage=0.9)
    np.testing.assert_allclose((bounds["lower"] + bounds["upper"]) / 2, auto.predict(new), rtol=1e-5, atol=1e-5)
    width = bounds["upper"] - bounds["lower"]
    quiet, noisy = width[new["x"].abs() < 0.5].mean(), width[new["x"].abs() > 1.5].mean()
    # The noise's own 90% intervals: 2 * 1.645 * (0.2 + 0.8 |x|), about 1.3 where |x| < 0.5 and 5.3 where |x| > 1.5.
    assert 0.9 < quiet < 2.0 and 4.0 < noisy < 6.5, (quiet, noisy)
    # The mean is as good as a point head's: the noise alone leaves an RMSE of about 1.10.
    assert np.sqrt(np.mean((auto.predict(new) - new["y"]) ** 2)) < 1.2
    choice = auto.explain().set_index("column").loc["y", "choice"]
    assert "2 unit(s), normal (mean and standard deviation per row; Gaussian negative log-likelihood" in choice
    assert "calibrated on 1600 validation rows (errors in units of the predicted standard deviation)" in choice


def test_a_normal_head_without_calibration_gives_its_own_intervals(normal_fitted):
    auto, new = normal_fitted
    uncalibrated = without_calibration(auto)
    bounds = uncalibrated.predict_interval(new, coverage=0.9)
    sigma = auto.model_.predict(dict(new), verbose=0)["y"][:, 1]
    np.testing.assert_allclose((bounds["upper"] - bounds["lower"]) / 2, 1.6448536 * sigma, rtol=1e-5)
    assert abs(held(bounds, new["y"]) - 0.9) <= 0.03
    # Fitted so from the start: no calibration is kept, and explain says where the intervals come from.
    small = Automater("y", overrides={"training": {"epochs": 1}, "targets": {"numerical": {
        "distribution": "normal", "calibrate_intervals": False}}}, verbose=0).fit(heteroscedastic_frame(300))
    assert "calibration" not in small.targets_["y"].state
    assert "mean +- z standard deviations" in small.explain().set_index("column").loc["y", "choice"]


def test_a_normal_head_saves_and_exports_its_mean_and_bounds(normal_fitted, tmp_path):
    import keras
    import tensorflow as tf

    from keras_defaults.encoders import input_tensor

    auto, new = normal_fitted
    rows = new.head(50)
    expected, predicted = auto.predict_interval(rows, coverage=0.8), auto.predict(rows)
    auto.save(tmp_path / "run")
    loaded = Automater.load(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.predict_interval(rows, coverage=0.8), expected)
    served = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    np.testing.assert_allclose(served.predict(dict(rows), verbose=0)["y"][:, 0], predicted, rtol=1e-5, atol=1e-5)
    path = auto.export(tmp_path / "serving", format="tf_saved_model", coverage=0.8)
    names = json.loads((path / "keras_defaults_signature.json").read_text())
    feeds = {spec["argument"]: input_tensor(rows[c], auto.profiles_[c]) for c, spec in names["inputs"].items()}
    out = tf.saved_model.load(str(path)).signatures["serving_default"](**feeds)
    names = names["outputs"]["y"]
    np.testing.assert_allclose(out[names["prediction"]].numpy(), predicted, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["lower"]].numpy(), expected["lower"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["upper"]].numpy(), expected["upper"], rtol=1e-5, atol=1e-5)


def test_a_point_head_without_calibration_has_no_intervals():
    auto = Automater("y", overrides={"training": {"epochs": 1}, "targets": {"numerical": {
        "calibrate_intervals": False}}}, verbose=0).fit(noisy_frame(200))
    assert "calibration" not in auto.targets_["y"].state
    with pytest.raises(DataError, match=r"Target 'y' has no prediction intervals: its head predicts one value a row "
                                        r"and calibrate_intervals is false. Set calibrate_intervals: true"):
        auto.predict_interval(noisy_frame(10))


@pytest.mark.parametrize("settings, said", [
    ({"loss": "huber"}, r"distribution: normal trains by the Gaussian negative log-likelihood, which is MSE with a "
                        r"variance learned per row; loss 'huber' for target 'y' \(from overrides= argument\) "),
    ({"activation": "relu"}, r"the head's activation is 'relu'.*Leave activation: linear"),
    ({"log_transform": "auto"}, r"log_transform: auto would learn its logarithm.*Set log_transform: false"),
])
def test_a_normal_head_refuses_settings_it_cannot_train_with(settings, said):
    overrides = {"targets": {"numerical": {"distribution": "normal", **settings}}}
    with pytest.raises(ConfigError, match=said):
        Automater("y", overrides=overrides, verbose=0).prepare(noisy_frame(50))


def test_an_unknown_distribution_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"Setting 'targets.numerical.distribution' in overrides= argument: Expected "
                                          r"one of \{'normal', 'point'\}. Received: distribution='normall'. Did you "
                                          r"mean 'normal'\?"):
        Automater("y", overrides={"targets": {"numerical": {"distribution": "normall"}}}, verbose=0).prepare(
            noisy_frame(50))


# ---------------------------------------------------------------------------------------------------- quantile heads
LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]
QUANTILE = {"training": {"epochs": 15}, "targets": {"numerical": {"loss": {"name": "quantile", "quantiles": LEVELS}}}}


@pytest.fixture(scope="module")
def quantile_fitted():
    data = heteroscedastic_frame(12000, seed=1)
    auto = Automater("y", overrides=QUANTILE, seed=0, verbose=0).fit(data.iloc[:8000])
    return auto, data.iloc[8000:]


def test_a_quantile_head_predicts_quantiles_that_never_cross_and_hold_their_levels(quantile_fitted):
    auto, new = quantile_fitted
    quantiles = auto.predict_quantiles(new)
    assert list(quantiles.columns) == LEVELS and quantiles.index.equals(new.index)
    assert (np.diff(quantiles.to_numpy(), axis=1) >= 0).all()
    np.testing.assert_allclose(auto.predict(new), quantiles[0.5], rtol=1e-6)
    # Each quantile has about its level's share of the truths below it (new rows, 4,000: +-0.01 by chance).
    below = [(new["y"] <= quantiles[level]).mean() for level in LEVELS]
    np.testing.assert_allclose(below, LEVELS, atol=0.04)
    # Calibrated intervals hold as asked, whichever pair of quantiles they start from.
    for coverage in (0.5, 0.8, 0.9):
        assert abs(held(auto.predict_interval(new, coverage=coverage), new["y"]) - coverage) <= 0.03, coverage
    width = auto.predict_interval(new, coverage=0.9).pipe(lambda b: b["upper"] - b["lower"])
    assert width[new["x"].abs() < 0.5].mean() * 2 < width[new["x"].abs() > 1.5].mean()
    choice = auto.explain().set_index("column").loc["y", "choice"]
    assert "5 unit(s), quantiles [0.05, 0.25, 0.5, 0.75, 0.95], kept in order (predict gives the median)" in choice
    assert "loss quantile(quantiles=[0.05, 0.25, 0.5, 0.75, 0.95])" in choice
    assert "calibrated on 1600 validation rows (conformalized quantile regression)" in choice


def test_a_quantile_head_without_calibration_gives_pairs_of_its_quantiles(quantile_fitted):
    auto, new = quantile_fitted
    uncalibrated = without_calibration(auto)
    quantiles = auto.predict_quantiles(new)
    bounds = uncalibrated.predict_interval(new, coverage=0.9)
    np.testing.assert_allclose(bounds["lower"], quantiles[0.05], rtol=1e-6)
    np.testing.assert_allclose(bounds["upper"], quantiles[0.95], rtol=1e-6)
    with pytest.raises(DataError, match=r"for coverage 0.8 would be the levels 0.1 and 0.9. Coverages its quantiles "
                                        r"give: 0.5 \(0.25, 0.75\), 0.9 \(0.05, 0.95\)\. Ask for one of those"):
        uncalibrated.predict_interval(new, coverage=0.8)


def test_a_quantile_head_saves_and_exports_its_quantiles_and_bounds(quantile_fitted, tmp_path):
    import tensorflow as tf

    from keras_defaults.encoders import input_tensor

    auto, new = quantile_fitted
    rows = new.head(50)
    quantiles, bounds = auto.predict_quantiles(rows), auto.predict_interval(rows, coverage=0.8)
    auto.save(tmp_path / "run")
    loaded = Automater.load(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.predict_quantiles(rows), quantiles)
    pd.testing.assert_frame_equal(loaded.predict_interval(rows, coverage=0.8), bounds)
    path = auto.export(tmp_path / "serving", format="tf_saved_model", coverage=0.8)
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    names = signature["outputs"]["y"]
    assert names["quantile_levels"] == LEVELS
    feeds = {spec["argument"]: input_tensor(rows[c], auto.profiles_[c]) for c, spec in signature["inputs"].items()}
    out = tf.saved_model.load(str(path)).signatures["serving_default"](**feeds)
    np.testing.assert_allclose(out[names["quantiles"]].numpy(), quantiles.to_numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["prediction"]].numpy(), quantiles[0.5], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["lower"]].numpy(), bounds["lower"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["upper"]].numpy(), bounds["upper"], rtol=1e-5, atol=1e-5)


def test_predict_quantiles_needs_a_quantile_head(fitted):
    auto, new = fitted
    with pytest.raises(DataError, match=r"predict_quantiles needs a target trained with the quantile loss, and "
                                        r"\['y'\] has none. Fit with targets: \{numerical: \{loss: \{name: quantile"):
        auto.predict_quantiles(new)


@pytest.mark.parametrize("loss, said", [
    ({"name": "quantile", "quantiles": [0.1, 0.9]}, r"quantiles must include 0.5: the median is what predict "
                                                    r"returns, e.g. \[0.05, 0.5, 0.95\]. Received: quantiles=\[0.1, "
                                                    r"0.9\]"),
    ({"name": "quantile", "quantiles": [0.9, 0.5]}, r"quantiles must be listed from lowest to highest, each once"),
    ({"name": "quantile", "quantiles": [0.0, 0.5]}, r"every quantile must be strictly between 0 and 1"),
    ({"name": "quantile", "quantiles": "0.5"}, r"quantiles must be a list of numbers"),
    ({"name": "quantile", "quantile": [0.5]}, r"Unknown argument 'quantile' for loss 'quantile' for target 'y' "
                                              r"\(from overrides= argument\). Did you mean 'quantiles'\?"),
])
def test_a_quantile_loss_refuses_quantiles_it_cannot_fit(loss, said):
    with pytest.raises(ConfigError, match=said):
        Automater("y", overrides={"targets": {"numerical": {"loss": loss}}}, verbose=0).prepare(noisy_frame(50))


def test_a_quantile_loss_takes_no_bending_activation_nor_a_normal_head():
    with pytest.raises(ConfigError, match=r"Loss 'quantile' for target 'y' .* gives each quantile its own output, "
                                          r"kept in order; the head's activation 'relu' would bend them"):
        Automater("y", overrides={"targets": {"numerical": {"loss": "quantile", "activation": "relu"}}},
                  verbose=0).prepare(noisy_frame(50))
    with pytest.raises(ConfigError, match=r"distribution: normal trains by the Gaussian negative log-likelihood"):
        Automater("y", overrides={"targets": {"numerical": {"loss": "quantile", "distribution": "normal"}}},
                  verbose=0).prepare(noisy_frame(50))
    # A name alone gets the loss's own levels.
    auto = Automater("y", overrides={"targets": {"numerical": {"loss": "quantile"}}}, verbose=0).prepare(
        noisy_frame(50))
    assert auto.targets_["y"].state["quantiles"] == [0.05, 0.5, 0.95]


def test_the_interval_pairs_mirror_each_quantile_and_keep_the_median():
    from keras_defaults.encoders.numerical import _interval_pairs

    assert _interval_pairs([0.05, 0.25, 0.5, 0.75, 0.95]) == [(0, 4), (1, 3), (2, 2)]
    assert _interval_pairs([0.1, 0.5, 0.8, 0.95]) == [(0, 2), (0, 3), (1, 1)]
    assert _interval_pairs([0.5]) == [(0, 0)]


def test_a_saved_quantile_calibration_is_checked():
    from keras_defaults.encoders.numerical import NumericalEncoder
    from keras_defaults.state_schema import ShapeMismatch, check

    shape = NumericalEncoder.target_state_shape
    state = {"center": 0.0, "scale": 1.0, "log1p": False, "duration": False, "quantiles": [0.05, 0.5, 0.95]}
    pair = {"lower": 0, "upper": 2, "errors": [-1.0] * (GRID + 1)}
    check({**state, "calibration": {"rows": 10, "pairs": [pair]}}, shape, "state")
    for bad, said in (({**state, "calibration": {"rows": 10, "errors": [0.0] * (GRID + 1)}}, "has pairs"),
                      ({**state, "calibration": {"rows": 10, "pairs": [{**pair, "upper": 3}]}}, "two of the"),
                      ({**state, "calibration": {"rows": 10, "pairs": [{**pair, "lower": 2, "upper": 0}]}},
                       "lower is at most upper"),
                      ({**state, "quantiles": [0.05, 0.95]}, "include 0.5"),
                      ({**state, "distribution": "normal"}, "not both")):
        with pytest.raises(ShapeMismatch, match=said):
            check(bad, shape, "state")


@pytest.mark.parametrize("head", [{"distribution": "normal"}, {"loss": {"name": "quantile", "quantiles": [0.1, 0.5,
                                                                                                          0.9]}}])
def test_normal_and_quantile_heads_fit_and_predict_from_files(head, tmp_path):
    data = heteroscedastic_frame(1500, seed=2)
    path = tmp_path / "rows.parquet"
    data.to_parquet(path, index=False)
    overrides = {"training": {"epochs": 3}, "targets": {"numerical": head}}
    auto = Automater("y", overrides=overrides, seed=0, verbose=0).fit(str(path))
    assert auto.targets_["y"].state["calibration"]["rows"] > 0
    from_file, from_frame = auto.predict_interval(str(path), coverage=0.8), auto.predict_interval(data, coverage=0.8)
    np.testing.assert_allclose(from_file.to_numpy(), from_frame.to_numpy(), rtol=1e-5, atol=1e-5)
    scores = auto.evaluate(str(path))
    assert set(scores) >= {"mae", "rmse", "r2"} and scores["r2"] > 0.3
    if "loss" in head:
        np.testing.assert_allclose(auto.predict_quantiles(str(path)).to_numpy(),
                                   auto.predict_quantiles(data).to_numpy(), rtol=1e-5, atol=1e-5)
