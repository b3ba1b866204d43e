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
