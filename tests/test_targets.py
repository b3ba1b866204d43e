"""Row weights: the user's (sample_weight=), by class label (class_weight=), and how they combine."""

import numpy as np
import pandas as pd
import pytest

from conftest import mixed_frame
from keras_defaults import defaults as table
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError
from keras_defaults.targets import check_class_weight, fit_target, row_weights, sample_weights


@pytest.fixture(scope="module")
def targets():
    frame = mixed_frame()
    config = table.Config.build()
    return frame, {name: fit_target(frame[name], name, config, None) for name in ("label", "binary", "price")}


def test_row_weights_are_checked_numbers():
    assert row_weights([1, "2", 0.5], 3, "w").tolist() == [1.0, 2.0, 0.5]
    assert row_weights(pd.Series([1, 2]), 2, "w").dtype == np.float32
    for values, message in [([1, "a"], "not numbers.*'a'"), ([1, None], "missing for 1 row"),
                            ([1, -2], "-2.0.*at least 0"), ([1, np.inf], "finite"), ([0, 0], "zero"),
                            ([1], "1 weight.*2 rows")]:
        with pytest.raises(DataError, match=message):
            row_weights(values, 2, "w")


def test_class_weight_is_keyed_by_labels_or_by_target(targets):
    _, specs = targets
    single = {"label": specs["label"], "price": specs["price"]}
    assert check_class_weight({"high": 2}, single) == {"label": {"high": 2.0}}
    assert check_class_weight({"label": {"low": 3}}, single) == {"label": {"low": 3.0}}
    with pytest.raises(ConfigError, match="Did you mean 'high'"):
        check_class_weight({"hihg": 2}, single)
    with pytest.raises(ConfigError, match="several classification targets"):
        check_class_weight({"high": 2}, specs)
    with pytest.raises(ConfigError, match="finite number"):
        check_class_weight({"high": -1}, single)
    with pytest.raises(ConfigTypeError, match="mapping"):
        check_class_weight([2, 1], single)
    with pytest.raises(ConfigError, match="regression target"):
        check_class_weight({1: 2}, {"price": specs["price"]})


def test_class_weights_and_row_weights_multiply(targets):
    frame, specs = targets
    training = table.Training.from_config(table.Config.build())
    rows = np.linspace(0.5, 1.5, len(frame)).astype("float32")
    weights = sample_weights(frame, specs, training, rows, {"label": {"high": 4.0}, "binary": {1: 2.0}})
    expected_label = np.where(frame["label"] == "high", 4.0, 1.0) * rows
    np.testing.assert_allclose(weights["label"], expected_label, rtol=1e-6)
    np.testing.assert_allclose(weights["binary"], np.where(frame["binary"] == 1, 2.0, 1.0) * rows, rtol=1e-6)
    np.testing.assert_allclose(weights["price"], rows)  # a regression target gets the row weights alone
    assert sample_weights(frame, specs, training) is None  # class_weight: none, no row weights


# ---------------------------------------------------------------------------------------------------- kinds
def test_whole_numbers_a_step_apart_are_a_graded_scale_read_as_a_number_and_codes_stay_classes():
    config = table.Config.build()
    marks = pd.Series([0, 2, 4, 6, 8, 10] * 20)
    spec = fit_target(marks, "score", config, None)
    assert spec.kind == "numerical" and spec.profile.input_dtype == "float32"
    assert "step of 2 apart (0 to 10)" in spec.profile.reason
    assert "stepped_integer_target_numerical" in spec.profile.reason
    assert fit_target(pd.Series([10.0, 20.0, 40.0] * 20), "tens", config, None).kind == "numerical"
    # Codes count up by 1; a category dtype, a forced kind and the setting turned off keep classes.
    assert fit_target(pd.Series([0, 1, 2, 3, 5] * 20), "code", config, None).kind == "categorical"
    assert fit_target(marks.astype("category"), "score", config, None).kind == "categorical"
    assert fit_target(marks, "score", config, "categorical").kind == "categorical"
    off = table.Config.build([("test", {"inference": {"stepped_integer_target_numerical": False}})])
    assert fit_target(marks, "score", off, None).kind == "categorical"
    # Two values are a boolean whatever their step (inference decides that before the step is looked at).
    assert fit_target(pd.Series([0, 5] * 20), "pair", config, None).kind == "boolean"
    with pytest.raises(ConfigTypeError, match="stepped_integer_target_numerical.*must be a bool"):
        table.Config.build([("test", {"inference": {"stepped_integer_target_numerical": "yes"}})])


# ---------------------------------------------------------------------------------------------------- counts
POISSON = {"targets": {"numerical": {"loss": "poisson", "activation": "exponential", "standardize": False}}}


def count_frame(rows=1500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    shop = rng.choice(["a", "b", "c"], size=rows)
    rate = np.exp(1.0 + 0.8 * x + np.where(shop == "b", 0.7, 0.0))
    return pd.DataFrame({"x": x, "shop": shop, "visits": rng.poisson(rate)}), rate


def test_a_count_target_trains_with_the_poisson_likelihood_and_a_log_link(tmp_path):
    import keras
    import tensorflow as tf

    from keras_defaults import Automater
    from keras_defaults.encoders import input_tensor

    frame, rate = count_frame()
    train, test, test_rate = frame.iloc[:1200], frame.iloc[1200:], rate[1200:]
    auto = Automater("visits", overrides={**POISSON, "training": {"epochs": 60}}, seed=0, verbose=0).fit(train)
    predicted = auto.predict(test).to_numpy()
    assert predicted.min() > 0  # a rate: positive, not rounded
    assert np.corrcoef(np.log(predicted), np.log(test_rate))[0, 1] > 0.95
    assert abs(predicted.mean() / test_rate.mean() - 1) < 0.1
    assert "a count: Poisson likelihood, log link" in auto.explain().to_text(width=200)

    auto.save(tmp_path / "run")
    np.testing.assert_array_equal(Automater.load(tmp_path / "run").predict(test), predicted)
    model = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    np.testing.assert_allclose(model.predict(dict(test.drop(columns="visits")), verbose=0)["visits"].ravel(),
                               predicted, rtol=1e-5)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    import json

    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    feeds = {spec["argument"]: input_tensor(test[c], auto.profiles_[c]) for c, spec in signature["inputs"].items()}
    np.testing.assert_allclose(serve(**feeds)[signature["outputs"]["visits"]["prediction"]].numpy().ravel(),
                               predicted, rtol=1e-5)


@pytest.mark.parametrize("overrides, error, message", [
    ({"targets": {"numerical": {"loss": "poisson", "standardize": False}}}, ConfigError,
     r"Loss 'poisson' for target 'visits' .* needs a positive prediction, but the head's activation is 'linear'. Add "
     r"activation: exponential .* e.g. targets: \{numerical: \{loss: poisson, activation: exponential, "
     r"standardize: false\}\}"),
    ({"targets": {"numerical": {"loss": "poisson", "activation": "exponential"}}}, ConfigError,
     r"standardised before training \(standardize: true\). Add standardize: false"),
    ({"targets": {"numerical": {**POISSON["targets"]["numerical"], "log_transform": True}}}, ConfigError,
     r"log_transform: true would learn their logarithm"),
])
def test_the_poisson_loss_says_which_settings_it_needs(overrides, error, message):
    from keras_defaults import Automater

    frame, _ = count_frame(100)
    with pytest.raises(error, match=message):
        Automater("visits", overrides=overrides, verbose=0).prepare(frame)


def test_the_poisson_loss_refuses_a_target_with_negative_values_naming_it():
    from keras_defaults import Automater

    frame, _ = count_frame(100)
    frame.loc[3, "visits"] = -2
    with pytest.raises(DataError, match=r"Loss 'poisson' is for counts, but target 'visits' has negative values "
                                        r"\(the lowest is -2\). Use a loss for any number, e.g. mse or huber"):
        Automater("visits", overrides=POISSON, verbose=0).prepare(frame)


NEGATIVE_BINOMIAL = {"targets": {"numerical": {"loss": "negative_binomial", "activation": "exponential",
                                                "standardize": False}}}


def overdispersed_frame(rows=3000, seed=0, dispersion=0.5):
    """Counts whose variance is mean + dispersion * mean^2 (a negative binomial), with a log-linear mean."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    shop = rng.choice(["a", "b", "c"], size=rows)
    mean = np.exp(1.0 + 0.8 * x + np.where(shop == "b", 0.7, 0.0))
    visits = rng.negative_binomial(1.0 / dispersion, 1.0 / (1.0 + dispersion * mean))
    return pd.DataFrame({"x": x, "shop": shop, "visits": visits}), mean


@pytest.fixture(scope="module")
def negative_binomial_fitted():
    from keras_defaults import Automater

    frame, mean = overdispersed_frame()
    auto = Automater("visits", overrides={**NEGATIVE_BINOMIAL, "training": {"epochs": 60}}, seed=0,
                     verbose=0).fit(frame.iloc[:2400])
    return auto, frame.iloc[2400:], mean[2400:]


def test_overdispersed_counts_train_with_the_negative_binomial_likelihood(negative_binomial_fitted):
    auto, new, mean = negative_binomial_fitted
    predicted = auto.predict(new).to_numpy()
    assert predicted.min() > 0
    assert np.corrcoef(np.log(predicted), np.log(mean))[0, 1] > 0.95
    assert abs(predicted.mean() / mean.mean() - 1) < 0.1
    # The served model gives [mean, standard deviation]: the dispersion they imply is near the data's 0.5.
    served = auto.model_.predict(dict(new), verbose=0)["visits"]
    np.testing.assert_allclose(served[:, 0], predicted, rtol=1e-6)
    dispersion = np.median((served[:, 1] ** 2 - served[:, 0]) / served[:, 0] ** 2)
    assert 0.3 < dispersion < 0.8, dispersion
    # Intervals: calibrated on the validation rows in units of the standard deviation, never below 0.
    bounds = auto.predict_interval(new, coverage=0.9)
    held = ((bounds["lower"] <= new["visits"]) & (new["visits"] <= bounds["upper"])).mean()
    assert abs(held - 0.9) <= 0.03 and bounds["lower"].min() >= 0.0, held
    choice = auto.explain().set_index("column").loc["visits", "choice"]
    assert "2 unit(s), negative binomial (mean by a log link and dispersion per row" in choice
    assert "a count: negative binomial likelihood (variance mean + dispersion x mean^2), log link" in choice
    assert "calibrated on 480 validation rows (errors in units of the predicted standard deviation)" in choice


def test_a_negative_binomial_head_saves_and_exports_its_mean_and_bounds(negative_binomial_fitted, tmp_path):
    import json

    import keras
    import tensorflow as tf

    from keras_defaults import Automater
    from keras_defaults.encoders import input_tensor

    auto, new, _ = negative_binomial_fitted
    rows = new.head(50)
    predicted, bounds = auto.predict(rows).to_numpy(), auto.predict_interval(rows, coverage=0.8)
    auto.save(tmp_path / "run")
    loaded = Automater.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.predict(rows), predicted)
    pd.testing.assert_frame_equal(loaded.predict_interval(rows, coverage=0.8), bounds)
    model = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    np.testing.assert_allclose(model.predict(dict(rows.drop(columns="visits")), verbose=0)["visits"][:, 0],
                               predicted, rtol=1e-5)
    path = auto.export(tmp_path / "serving", format="tf_saved_model", coverage=0.8)
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    feeds = {spec["argument"]: input_tensor(rows[c], auto.profiles_[c]) for c, spec in signature["inputs"].items()}
    out = tf.saved_model.load(str(path)).signatures["serving_default"](**feeds)
    names = signature["outputs"]["visits"]
    np.testing.assert_allclose(out[names["prediction"]].numpy().ravel(), predicted, rtol=1e-5)
    np.testing.assert_allclose(out[names["lower"]].numpy(), bounds["lower"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[names["upper"]].numpy(), bounds["upper"], rtol=1e-5, atol=1e-5)


def test_a_negative_binomial_head_fits_and_predicts_from_files_as_a_single_network(tmp_path):
    from keras_defaults import Automater

    frame, _ = overdispersed_frame(600, seed=1)
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    overrides = {**NEGATIVE_BINOMIAL, "training": {"epochs": 3}, "body": {"ensemble": 1}}
    auto = Automater("visits", overrides=overrides, seed=0, verbose=0).fit(str(path))
    np.testing.assert_allclose(auto.predict(str(path)).to_numpy(), auto.predict(frame).to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(auto.predict_interval(str(path)).to_numpy(),
                               auto.predict_interval(frame).to_numpy(), rtol=1e-5)
    assert set(auto.evaluate(str(path))) >= {"mae", "rmse", "r2"}
    # Without calibration it has no intervals of its own, and says what to set.
    uncalibrated = Automater("visits", overrides={**overrides, "targets": {"numerical": {
        **NEGATIVE_BINOMIAL["targets"]["numerical"], "calibrate_intervals": False}}}, verbose=0).fit(frame)
    with pytest.raises(DataError, match=r"Target 'visits' has no prediction intervals: a negative binomial head's "
                                        r"are calibrated ones .* Set calibrate_intervals: true and fit again"):
        uncalibrated.predict_interval(frame)


@pytest.mark.parametrize("settings, error, message", [
    ({"activation": "softplus"}, ConfigError,
     r"Loss 'negative_binomial' for target 'visits' .* needs a positive prediction, but the head's activation is "
     r"'softplus'. Add activation: exponential .* e.g. targets: \{numerical: \{loss: negative_binomial, "
     r"activation: exponential, standardize: false\}\}"),
    ({"standardize": True}, ConfigError, r"standardised before training \(standardize: true\). Add standardize: false"),
    ({"log_transform": True}, ConfigError, r"log_transform: true would learn their logarithm"),
    ({"loss": {"name": "negative_binomial", "count_scale": 2.0}}, ConfigError,
     r"Loss 'negative_binomial' for target 'visits' .* takes no arguments: its dispersion is learned per row and its "
     r"scale comes from the target. Received: \['count_scale'\]"),
    ({"distribution": "normal"}, ConfigError,
     r"distribution: normal trains by the Gaussian negative log-likelihood.*loss 'negative_binomial'"),
])
def test_the_negative_binomial_loss_says_which_settings_it_needs(settings, error, message):
    from keras_defaults import Automater

    frame, _ = overdispersed_frame(100)
    overrides = {"targets": {"numerical": {**NEGATIVE_BINOMIAL["targets"]["numerical"], **settings}}}
    with pytest.raises(error, match=message):
        Automater("visits", overrides=overrides, verbose=0).prepare(frame)


def test_the_negative_binomial_loss_refuses_negative_counts_naming_them():
    from keras_defaults import Automater

    frame, _ = overdispersed_frame(100)
    frame.loc[5, "visits"] = -1
    with pytest.raises(DataError, match=r"Loss 'negative_binomial' is for counts, but target 'visits' has negative "
                                        r"values \(the lowest is -1\)"):
        Automater("visits", overrides=NEGATIVE_BINOMIAL, verbose=0).prepare(frame)


# ---------------------------------------------------------------------------------------------------- category dtype
def test_a_category_target_is_predicted_in_its_own_dtype_and_order(tmp_path):
    from keras_defaults import Automater

    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    sizes = np.where(x < -0.5, "small", np.where(x < 0.5, "medium", "large"))
    dtype = pd.CategoricalDtype(["small", "medium", "large", "huge"], ordered=True)  # "huge": never seen
    frame = pd.DataFrame({"x": x, "size": pd.Series(sizes, dtype=dtype)})
    auto = Automater("size", overrides={"training": {"epochs": 30}}, seed=0, verbose=0).fit(frame)

    predicted = auto.predict(frame)
    assert predicted.dtype == dtype  # the same categories, order and orderedness
    assert (predicted == frame["size"]).mean() > 0.8
    assert predicted.max() in ("large", "medium")  # ordered: comparisons follow the categories
    assert list(auto.predict_proba(frame).columns) == ["small", "medium", "large"]  # the category order, seen ones
    assert auto.predict(frame.head(0)).dtype == dtype
    auto.save(tmp_path / "run")
    loaded = Automater.load(tmp_path / "run")
    pd.testing.assert_series_equal(loaded.predict(frame), predicted)

    # Unordered categories of numbers keep their dtype too, two-valued ones (a boolean head) as well; other dtypes
    # are predicted as before.
    codes = pd.Series(pd.Categorical(np.where(x < 0, 3, np.where(x < 1, 2, 1)), categories=[3, 2, 1]))
    auto = Automater("code", overrides={"training": {"epochs": 2}}, seed=0, verbose=0).fit(
        pd.DataFrame({"x": x, "code": codes}))
    assert auto.predict(frame).dtype == codes.dtype and list(auto.predict_proba(frame).columns) == [3, 2, 1]
    two = pd.Series(pd.Categorical(np.where(x < 0, "low", "high"), categories=["low", "high"], ordered=True))
    auto = Automater("level", overrides={"training": {"epochs": 2}}, seed=0, verbose=0).fit(
        pd.DataFrame({"x": x, "level": two}))
    assert auto.targets_["level"].kind == "boolean" and auto.predict(frame).dtype == two.dtype
    auto.save(tmp_path / "two")
    assert Automater.load(tmp_path / "two").predict(frame).dtype == two.dtype
    auto = Automater("size", overrides={"training": {"epochs": 2}}, seed=0, verbose=0).fit(
        frame.assign(size=sizes))
    assert list(auto.predict_proba(frame).columns) == ["large", "medium", "small"]


def test_a_saved_category_target_state_that_contradicts_itself_is_refused():
    from keras_defaults.encoders.categorical import CategoricalEncoder
    from keras_defaults.state_schema import ShapeMismatch, check

    shape = CategoricalEncoder.target_state_shape
    check({"classes": ["a", "b"]}, shape, "state")  # an older save, or another dtype
    check({"classes": ["b", "a"], "categories": ["b", "c", "a"], "ordered": True}, shape, "state")
    from keras_defaults.encoders.boolean import BooleanEncoder

    check({"classes": ["high", "low"], "categories": ["low", "high"], "ordered": True},
          BooleanEncoder.target_state_shape, "state")  # which label is true does not follow the order
    for bad, said in (({"classes": ["a", "b"], "categories": ["b", "a"], "ordered": False}, "categories' order"),
                      ({"classes": ["a", "b"], "categories": ["a", "b"]}, "go together"),
                      ({"classes": ["a", "z"], "categories": ["a", "b"], "ordered": True}, "categories' order")):
        with pytest.raises(ShapeMismatch, match=said):
            check(bad, shape, "state")


# ---------------------------------------------------------------------------------------------------- ordinal head
LEVELS = ["very low", "low", "mid", "high", "very high"]


def rating_frame(rows=1200, seed=0):
    """Five ordered levels cut from one latent score of x (and noise): what a cumulative-link model assumes."""
    rng = np.random.default_rng(seed)
    x, other = rng.normal(size=rows), rng.normal(size=rows)
    latent = 2.0 * x + rng.logistic(size=rows) * 0.5
    levels = np.digitize(latent, [-2.0, -0.7, 0.7, 2.0])
    rating = pd.Categorical(np.array(LEVELS, dtype=object)[levels], categories=LEVELS, ordered=True)
    return pd.DataFrame({"x": x, "other": other, "rating": rating})


def test_an_ordered_target_trains_an_ordinal_head_that_respects_the_order(tmp_path):
    import json

    import keras
    import tensorflow as tf

    from keras_defaults import Automater
    from keras_defaults.encoders import input_tensor

    frame = rating_frame()
    auto = Automater("rating", overrides={"targets": {"categorical": {"ordinal": "auto"}}, "training": {"epochs": 40}},
                     seed=0, verbose=0).fit(frame.iloc[:1000])
    test = frame.iloc[1000:]
    assert auto.targets_["rating"].state["ordinal"] is True
    ordinal_layers = [layer for layer in auto.network_.layers if type(layer).__name__ == "CumulativeLogits"]
    assert len(ordinal_layers) == 1
    probabilities = auto.predict_proba(test)
    assert list(probabilities.columns) == LEVELS
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    predicted = auto.predict(test)
    assert predicted.dtype == frame["rating"].dtype and (predicted == test["rating"]).mean() > 0.55  # the best rule scores 0.62
    # One score per row: the rows sorted by x get non-decreasing levels, and P(rating > k) rises with x at every k.
    grid = pd.DataFrame({"x": np.linspace(-3, 3, 61), "other": 0.0})
    assert np.all(np.diff(auto.predict(grid).cat.codes.to_numpy()) >= 0)
    above = 1.0 - np.cumsum(auto.predict_proba(grid).to_numpy(), axis=1)[:, :-1]
    assert np.all(np.diff(above, axis=0) >= -1e-6)
    choice = auto.explain().set_index("column").loc["rating", "choice"]
    assert "ordinal (cumulative logits" in choice and "in this order" in choice

    auto.save(tmp_path / "run")
    pd.testing.assert_frame_equal(Automater.load(tmp_path / "run").predict_proba(test), probabilities)
    feeds = {c: input_tensor(test[c], auto.profiles_[c]) for c in auto.inputs_}
    model = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    np.testing.assert_allclose(np.asarray(model.predict(feeds, verbose=0)["rating"]), probabilities.to_numpy(),
                               atol=1e-5)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    out = tf.saved_model.load(str(path)).signatures["serving_default"](
        **{spec["argument"]: feeds[c] for c, spec in signature["inputs"].items()})
    names = signature["outputs"]["rating"]
    np.testing.assert_allclose(out[names["probabilities"]].numpy(), probabilities.to_numpy(), atol=1e-5)
    assert [v.decode() for v in out[names["prediction"]].numpy()] == [str(v) for v in predicted]


def test_ordinal_true_takes_numbers_in_their_order_and_auto_leaves_other_targets_softmax():
    from keras_defaults import Automater

    frame = rating_frame(300)
    numbers = frame.assign(rating=frame["rating"].cat.codes + 1)  # 1..5 as integers
    fast = {"training": {"epochs": 2}}
    auto = Automater("rating", overrides={**fast, "targets": {"categorical": {"ordinal": True}}}, seed=0,
                     verbose=0).fit(numbers)
    assert auto.targets_["rating"].classes == [1, 2, 3, 4, 5] and auto.targets_["rating"].state["ordinal"]
    thresholds = auto.targets_["rating"].state["thresholds"]
    assert len(thresholds) == 4 and thresholds == sorted(thresholds)
    for target in (numbers, frame.assign(rating=frame["rating"].astype(str))):
        auto = Automater("rating", overrides={**fast, "targets": {"categorical": {"ordinal": "auto"}}}, seed=0,
                         verbose=0).fit(target)
        assert "ordinal" not in auto.targets_["rating"].state


@pytest.mark.parametrize("overrides, error, message", [
    ({"ordinal": True}, DataError,
     r"Target 'rating' is set to an ordinal head \(ordinal: true\), but its labels are strings.*"
     r"pd.Categorical\(df\['rating'\], categories=\[lowest"),
    ({"ordinal": "sometimes"}, ConfigError, r"ordinal"),
])
def test_an_ordinal_head_on_labels_without_an_order_is_refused_with_the_fix(overrides, error, message):
    from keras_defaults import Automater

    frame = rating_frame(100)
    with pytest.raises(error, match=message):
        Automater("rating", overrides={"targets": {"categorical": overrides}}, verbose=0).prepare(
            frame.assign(rating=frame["rating"].astype(str)))


@pytest.mark.parametrize("settings, message", [
    ({"ordinal_loss": "categorical_hinge"},
     r"An ordinal head outputs class probabilities, but its loss 'categorical_hinge' for target 'rating' \(from "
     r"overrides= argument\) does not read them. Expected one of \['categorical_crossentropy'"),
    ({"activation": "sigmoid"},
     r"Target 'rating' has an ordinal head \(ordinal: auto and an ordered category dtype\).*the activation 'sigmoid' "
     r"would be unused. Leave activation: softmax"),
])
def test_an_ordinal_head_says_which_settings_it_cannot_use(settings, message):
    from keras_defaults import Automater

    overrides = {"targets": {"categorical": {"ordinal": "auto", **settings}}}
    with pytest.raises(ConfigError, match=message):
        Automater("rating", overrides=overrides, verbose=0).prepare(rating_frame(100))


def test_an_ordinal_head_trains_on_its_own_loss_and_the_softmax_head_on_the_usual_one():
    from keras_defaults import Automater

    frame = rating_frame(100)
    auto = Automater("rating", overrides={"targets": {"categorical": {"ordinal": "auto"}}}, verbose=0).prepare(frame)
    settings = auto.targets_["rating"].settings
    assert settings["ordinal"] is True and settings["loss"] == "sparse_categorical_crossentropy"
    auto = Automater("rating", overrides={"targets": {"categorical": {"ordinal": False}}}, verbose=0).prepare(frame)
    settings = auto.targets_["rating"].settings
    assert settings["ordinal"] is False and settings["loss"] == {"name": "sparse_categorical_crossentropy",
                                                                 "label_smoothing": 0.1}


def test_a_saved_ordinal_state_is_checked():
    from keras_defaults.encoders.categorical import CategoricalEncoder
    from keras_defaults.state_schema import ShapeMismatch, check

    shape = CategoricalEncoder.target_state_shape
    check({"classes": [1, 2, 3], "ordinal": True, "thresholds": [-1.0, 0.5]}, shape, "state")
    for bad, said in (({"classes": [1, 2, 3], "ordinal": True}, "go together"),
                      ({"classes": [1, 2, 3], "ordinal": True, "thresholds": [0.5, -1.0]}, "increasing"),
                      ({"classes": [1, 2, 3], "ordinal": True, "thresholds": [0.5]}, "one fewer")):
        with pytest.raises(ShapeMismatch, match=said):
            check(bad, shape, "state")


def test_an_ordinal_head_fitted_from_files_starts_from_the_class_counts_of_every_row(tmp_path):
    from keras_defaults import Automater

    frame = rating_frame(600)
    frame = frame.assign(rating=frame["rating"].cat.codes + 1)
    frame.iloc[:300].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[300:].to_csv(tmp_path / "b.csv", index=False)
    overrides = {"targets": {"categorical": {"ordinal": True}}, "training": {"epochs": 1}}
    from_files = Automater("rating", overrides=overrides, seed=0, verbose=0).fit(str(tmp_path / "*.csv"))
    in_memory = Automater("rating", overrides=overrides, seed=0, verbose=0).prepare(frame)
    state = from_files.targets_["rating"].state
    assert state["ordinal"] and state["classes"] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(state["thresholds"], in_memory.targets_["rating"].state["thresholds"])
    shares = np.cumsum(frame["rating"].value_counts().sort_index().to_numpy())[:-1] / len(frame)
    np.testing.assert_allclose(state["thresholds"], np.log(shares / (1 - shares)), rtol=1e-6)


def test_a_save_from_before_the_ordinal_setting_existed_loads_with_a_softmax_head(tmp_path):
    import json

    from keras_defaults import Automater

    frame = rating_frame(200).assign(rating=lambda f: f["rating"].astype(str))
    auto = Automater("rating", overrides={"training": {"epochs": 1}}, seed=0, verbose=0).fit(frame)
    auto.save(tmp_path / "run")
    from keras_defaults.save_files import STATE_FILE

    state_file = tmp_path / "run" / STATE_FILE
    state = json.loads(state_file.read_text())
    for added in ("ordinal", "ordinal_loss"):  # as saved before the settings existed
        del state["targets"]["rating"]["settings"][added]
    state_file.write_text(json.dumps(state))
    loaded = Automater.load(tmp_path / "run")
    assert loaded.targets_["rating"].settings["ordinal"] is False
    pd.testing.assert_frame_equal(loaded.predict_proba(frame), auto.predict_proba(frame))


def test_the_order_setting_gives_string_labels_from_a_file_their_order_and_an_ordinal_head(tmp_path):
    from keras_defaults import Automater

    frame = rating_frame(300)
    frame.assign(rating=frame["rating"].astype(str)).to_csv(tmp_path / "ratings.csv", index=False)
    (tmp_path / "ordered.yaml").write_text("targets: {categorical: {ordinal: auto}}\n"
                                           "columns: {rating: {order: [very low, low, mid, high, very high]}}\n")
    auto = Automater("rating", config=str(tmp_path / "ordered.yaml"), overrides={"training": {"epochs": 2}}, seed=0,
                     verbose=0).fit(str(tmp_path / "ratings.csv"))
    state = auto.targets_["rating"].state
    assert state["classes"] == LEVELS and state["ordinal"] and state["ordered"]
    predicted = auto.predict(frame)
    assert predicted.dtype == pd.CategoricalDtype(LEVELS, ordered=True)
    assert list(auto.predict_proba(frame).columns) == LEVELS


@pytest.mark.parametrize("order, error, message", [
    (["very low", "low", "mid", "high"], DataError,
     r"Target 'rating' has the label 'very high', which its order setting does not list \(1 such label\(s\)\). The "
     r"order must name every label, lowest first. Expected one of"),
    (["low"], ConfigError, r"must be null or a list of at least two distinct labels, lowest first"),
    (["low", "low"], ConfigError, r"must be null or a list of at least two distinct labels"),
    ("low, high", ConfigTypeError, r"must be null or a list of at least two distinct labels"),
])
def test_an_order_that_does_not_fit_the_labels_is_refused(order, error, message):
    from keras_defaults import Automater

    frame = rating_frame(100)
    with pytest.raises(error, match=message):
        Automater("rating", overrides={"columns": {"rating": {"order": order}}}, verbose=0).prepare(
            frame.assign(rating=frame["rating"].astype(str)))
