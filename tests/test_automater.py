import numpy as np
import pandas as pd
import pytest

from conftest import FAST, mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import ConfigError, DataError, NotFittedError


def fit(target, data, **kwargs):
    kwargs.setdefault("overrides", FAST)
    return Automater(target=target, seed=0, verbose=0, **kwargs).fit(data)


def test_init_stores_parameters_only():
    auto = Automater(target="y", seed=3)
    assert auto.target == "y" and auto.seed == 3
    assert not [name for name in vars(auto) if name.endswith("_")]
    with pytest.raises(NotFittedError, match="fit"):
        auto.model


def test_binary_target_predicts_original_labels(fitted_binary):
    auto, data = fitted_binary
    assert auto.targets_["binary"].kind == "boolean"
    predictions = auto.predict(data)
    assert isinstance(predictions, pd.Series) and predictions.name == "binary"
    assert predictions.index.equals(data.index)
    assert set(predictions.unique()) <= {0, 1}
    proba = auto.predict_proba(data)
    assert list(proba.columns) == [0, 1]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert proba.index.equals(data.index)


def test_fit_returns_self_and_sets_learned_state(fitted_binary):
    auto, _ = fitted_binary
    for attribute in ("config_", "profiles_", "input_states_", "targets_", "model_", "history_"):
        assert hasattr(auto, attribute)
    assert auto.model is auto.model_


def test_string_multiclass_and_regression_heads_together(fitted_multi):
    auto, data = fitted_multi
    assert auto.targets_["label"].kind == "categorical"
    assert auto.targets_["price"].kind == "numerical"
    assert set(auto.model.output_names) == {"label", "price"} or len(auto.model.outputs) == 2
    predictions = auto.predict(data)
    assert list(predictions.columns) == ["label", "price"]
    assert set(predictions["label"]) <= {"high", "low", "mid"}
    assert predictions["price"].dtype == np.float64
    probabilities = auto.predict_proba(data)
    assert list(probabilities["label"].columns) == ["high", "low", "mid"]
    scores = auto.evaluate(data)
    assert {"label/accuracy", "label/log_loss", "price/rmse", "price/r2"} <= set(scores)


def test_integer_zero_one_target_is_binary_not_regression(frame):
    auto = Automater(target="binary").prepare(frame)
    assert auto.targets_["binary"].kind == "boolean"
    assert auto.targets_["binary"].settings["loss"] == "binary_crossentropy"


def test_regression_predictions_are_in_user_units():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 400)
    data = pd.DataFrame({"x": x, "noise": rng.normal(size=400), "y": 5000 + 3000 * x})
    auto = fit("y", data, overrides={"training": {"epochs": 60}})
    predicted = auto.predict(data)
    assert abs(predicted.mean() - 5000) < 300
    assert auto.evaluate(data)["r2"] > 0.9


def test_model_learns_a_clear_signal():
    rng = np.random.default_rng(2)
    colour = rng.choice(["red", "blue", "green"], 600)
    data = pd.DataFrame({"colour": colour, "size": rng.normal(size=600), "y": np.where(colour == "red", "yes", "no")})
    auto = fit("y", data, overrides={"training": {"epochs": 40}})
    assert auto.evaluate(data)["accuracy"] > 0.95


def test_missing_values_in_every_kind_at_fit_and_predict(fitted_binary):
    auto, data = fitted_binary
    holes = data.head(10).copy()
    for column in ["num", "num_int", "cat", "code", "flag", "yesno", "text"]:
        holes[column] = None
    holes = holes.astype({"num": "float64", "num_int": "float64"})
    probabilities = auto.predict_proba(holes)
    assert np.isfinite(probabilities.to_numpy()).all()


def test_unseen_categories_go_to_the_out_of_vocabulary_bucket(fitted_binary):
    auto, data = fitted_binary
    unseen = data.head(5).copy()
    unseen["cat"] = ["zebra", "yak", "a", "b", "c"]
    unseen["code"] = pd.array([9, 10, 1, 2, 3], dtype="Int64")
    unseen["yesno"] = ["maybe", "yes", "no", "yes", "no"]
    assert np.isfinite(auto.predict_proba(unseen).to_numpy()).all()


def test_rows_with_missing_target_are_dropped_with_a_count():
    data = mixed_frame(80)
    data.loc[data.index[:7], "binary"] = np.nan
    with pytest.warns(UserWarning, match=r"Dropped 7 of 80 rows whose target \(binary\) is missing"):
        fit("binary", data.drop(columns=["price", "label"]))


def test_user_frame_is_not_modified(frame):
    before = frame.copy()
    auto = fit("binary", frame)
    auto.predict(frame)
    auto.predict_proba(frame)
    auto.evaluate(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_text_target_is_refused(frame):
    with pytest.raises(DataError, match=r"Target 'text' looks like free text.*column_types=\{'text': 'categorical'\}"):
        Automater(target="text").prepare(frame)


def test_one_class_target_is_refused(frame):
    frame["binary"] = 1
    with pytest.raises(DataError, match="single value"):
        Automater(target="binary").prepare(frame)


def test_all_missing_target_is_refused(frame):
    frame["binary"] = np.nan
    with pytest.raises(DataError, match="Every row has a missing value in target"):
        Automater(target="binary").prepare(frame)


def test_missing_target_column_suggests_a_name(frame):
    with pytest.raises(DataError, match=r"Target column 'binaryy' is not in the DataFrame. Did you mean 'binary'\?"):
        Automater(target="binaryy").prepare(frame)


def test_loss_for_another_target_kind_is_refused(frame):
    bad = {"targets": {"numerical": {"loss": "binary_crossentropy"}}}
    with pytest.raises(ConfigError, match=r"Loss 'binary_crossentropy' is for boolean targets, but target 'price'"):
        Automater(target="price", overrides=bad).prepare(frame)


def test_column_entry_for_an_absent_column_is_refused(frame):
    with pytest.raises(ConfigError, match=r"names 'nmu'.*Did you mean 'num'"):
        Automater(target="binary", column_types={"nmu": "numerical"}).prepare(frame)


def test_forced_kinds_and_ignored_columns(frame):
    auto = Automater(target="binary", column_types={"num_int": "categorical", "text": "ignore"}).prepare(frame)
    assert auto.profiles_["num_int"].kind == "categorical"
    assert auto.profiles_["text"].kind == "ignore"
    assert "text" not in auto.preprocessor_.input


def test_custom_body_between_inputs_and_heads(frame):
    import keras

    auto = Automater(target="binary", overrides=FAST, verbose=0).prepare(frame)

    def body(features):
        return keras.layers.Dense(7, activation="tanh", name="my_body")(features)

    model = auto.build_model(body=body)
    assert model.get_layer("network").get_layer("my_body").units == 7
    assert model.optimizer is not None and model.compiled_loss is not None or model.loss is not None
    auto.fit(frame, body=body)
    assert auto.model.get_layer("network").get_layer("my_body").units == 7


def test_seed_makes_a_fit_repeatable(frame):
    first = fit("binary", frame).predict_proba(frame)
    second = fit("binary", frame).predict_proba(frame)
    np.testing.assert_array_equal(first.to_numpy(), second.to_numpy())


def test_fit_arguments_override_the_table(frame):
    auto = fit("binary", frame, overrides={"training": {"epochs": 50}}).fit(frame, epochs=2)
    assert len(auto.history_["loss"]) == 2
    assert auto.config_.origin("training", "epochs") == "fit() argument"


def test_log_target_when_asked_and_the_target_spans_orders_of_magnitude():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    data = pd.DataFrame({"x": x, "y": np.exp(3 * x + 4)})
    auto_log = {"targets": {"numerical": {"log_transform": "auto"}}}
    assert Automater(target="y", overrides=auto_log).prepare(data).targets_["y"].state["log1p"] is True
    assert Automater(target="y").prepare(data).targets_["y"].state["log1p"] is False  # the default: off
    data["y"] = x
    assert Automater(target="y", overrides=auto_log).prepare(data).targets_["y"].state["log1p"] is False


def test_the_learning_rate_can_fall_when_validation_stops_improving():
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    settings = {"training": {"epochs": 12, "reduce_lr_patience": 1, "reduce_lr_factor": 0.5,
                             "early_stopping": {"patience": 50}}, "optimizer": {"learning_rate": 0.05}}
    auto = Automater(target="y", overrides=settings, seed=0, verbose=0).fit(noise)
    assert min(auto.history_["learning_rate"]) < 0.05  # a target of pure noise soon stops improving
    assert "learning rate x0.5 after 1 epochs without improvement" in auto.explain().iloc[-1]["choice"]


def test_numbers_can_go_through_periodic_embeddings(frame, tmp_path):
    settings = {**FAST, "body": {"units": [16], "numerical_embedding": "periodic", "periodic_dim": 4}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(frame.drop(columns=["label"]))
    embedded = auto.network_.get_layer("numbers_embedding")
    assert embedded.output.shape[-1] == 4 * 3  # num, num_int and price
    assert "periodic embeddings" in auto.explain().set_index("column").loc["body", "choice"]
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.predict_proba(frame), auto.predict_proba(frame))


@pytest.mark.parametrize("target, loss", [("binary", None), ("label", "categorical_crossentropy"), ("price", "huber")])
def test_an_ensemble_of_members_trains_predicts_and_saves(frame, tmp_path, target, loss):
    settings = {**FAST, "body": {"units": [16], "ensemble": 3}}
    if loss:
        settings["targets"] = {"categorical" if target == "label" else "numerical": {"loss": loss}}
    data = frame.drop(columns=[c for c in ("binary", "label", "price") if c != target])
    auto = Automater(target=target, overrides=settings, seed=0, verbose=0).fit(data)
    assert auto.network_.output[target].shape[1] == 3  # (batch, members, units)
    plain = Automater(target=target, overrides={**settings, "body": {"units": [16], "ensemble": 1}}, seed=0,
                      verbose=0).fit(data)
    assert set(auto.history_) == set(plain.history_)  # the same losses and metrics, read from the members' mean
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_series_equal(loaded.predict(data), auto.predict(data))
    again = Automater(target=target, overrides=settings, seed=0, verbose=0).fit(data)
    pd.testing.assert_series_equal(again.predict(data), auto.predict(data))


def test_a_custom_body_is_not_ensembled(frame):
    import keras

    settings = {**FAST, "body": {"units": [16], "ensemble": 4}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).prepare(frame.drop(columns=["label"]))
    model = auto.build_model(body=lambda features: keras.layers.Dense(8, activation="relu")(features))
    assert model.output["binary"].shape == (None, 1)
