import gc
import logging
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from conftest import FAST, mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, NotFittedError


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


def test_fit_returns_self_and_sets_learned_state():
    data = mixed_frame(80).drop(columns=["price", "label"])
    auto = Automater(target="binary", overrides={**FAST, "training": {**FAST["training"], "epochs": 1}}, seed=0,
                     verbose=0)
    learned = ("config_", "inputs_", "ignored_", "targets_", "preprocessor_", "network_", "model_", "history_")
    assert [name for name in learned if name in vars(auto)] == []
    assert auto.fit(data) is auto
    assert [name for name in learned if vars(auto).get(name) is None] == []
    assert auto.model is auto.model_ and isinstance(auto.model, keras.Model)
    assert list(auto.targets_) == ["binary"] and len(auto.history_["loss"]) == 1
    assert set(auto.inputs_) | set(auto.ignored_) == set(data.columns) - {"binary"}
    assert set(auto.profiles_) == set(data.columns) - {"binary"} and set(auto.input_states_) == set(auto.inputs_)


def test_epoch_metrics_add_curves_and_leave_the_learned_weights_alone():
    # Metrics read predictions and never feed the gradients: a seeded fit learns the same weights with or without
    # them, refit included, and the served model is compiled with the metrics either way.
    data = mixed_frame(120).drop(columns=["price", "label"])
    fits = {on: fit("binary", data, overrides={**FAST, "training": {**FAST["training"], "epoch_metrics": on}})
            for on in (False, True)}
    assert set(fits[False].history_) == {"loss", "val_loss"}
    assert set(fits[True].history_) == {"loss", "val_loss", "accuracy", "val_accuracy", "auc", "val_auc"}
    assert fits[False].refit_epochs_ == fits[True].refit_epochs_
    np.testing.assert_array_equal(fits[False].predict_proba(data), fits[True].predict_proba(data))
    assert fits[False].history_["val_loss"] == fits[True].history_["val_loss"]
    assert fits[False].network_.get_compile_config()["metrics"] is None
    said = {on: auto.explain().set_index("column").loc["training"].choice for on, auto in fits.items()}
    assert "no metrics" in said[False] and "metrics" not in said[True]
    served = fits[False].model.get_compile_config()["metrics"]["binary"]
    assert served[0] == "accuracy" and served[1]["class_name"] == "AUC"


def test_string_multiclass_and_regression_heads_together(fitted_multi):
    auto, data = fitted_multi
    assert auto.targets_["label"].kind == "categorical"
    assert auto.targets_["price"].kind == "numerical"
    predictions = auto.predict(data)
    # The served model's outputs are keyed by target name: the label's class probabilities, the price in its units.
    outputs = auto.model.predict(data.head(5), verbose=0)
    assert sorted(outputs) == ["label", "price"] and sorted(auto.model.output) == ["label", "price"]
    assert outputs["label"].shape == (5, 3)
    np.testing.assert_allclose(outputs["price"].reshape(-1), predictions["price"].head(5), rtol=1e-5)
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
    x = rng.uniform(-1, 1, 600)
    data = pd.DataFrame({"x": x, "noise": rng.normal(size=600), "y": 5000 + 3000 * x})
    train, held_out = data.iloc[:400], data.iloc[400:]
    auto = fit("y", train, overrides={"training": {"epochs": 60}})
    predicted = auto.predict(held_out)
    assert abs(predicted.mean() - held_out["y"].mean()) < 300
    assert auto.evaluate(held_out)["r2"] > 0.9


def test_model_learns_a_clear_signal():
    rng = np.random.default_rng(2)
    colour = rng.choice(["red", "blue", "green"], 900)
    data = pd.DataFrame({"colour": colour, "size": rng.normal(size=900), "y": np.where(colour == "red", "yes", "no")})
    auto = fit("y", data.iloc[:600], overrides={"training": {"epochs": 40}})
    assert auto.evaluate(data.iloc[600:])["accuracy"] > 0.95


def encoded(auto, rows):
    """The preprocessor's outputs for `rows` (the features and category indices the network reads), as numpy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # columns not used, values missing where training had none
        return {key: keras.ops.convert_to_numpy(value) for key, value in auto.preprocessor_(auto.inputs(rows)).items()}


def twin_rows(data, column, first, second):
    """Two copies of the first row of `data`, `column` set to `first` in one and to `second` in the other."""
    rows = data.iloc[[0, 0]].reset_index(drop=True).astype({"num_int": "float64"})
    rows[column] = pd.array([first, second], dtype=rows[column].dtype)
    return rows


def test_missing_values_in_every_kind_at_fit_and_predict(fitted_binary):
    auto, data = fitted_binary
    # At fit: the training rows had missing values in a column of each kind (yesno and num_int had none).
    assert {"num", "cat", "code", "flag", "text"} <= set(data.columns[data.isna().any()])
    kinds = {name: spec.kind for name, spec in auto.inputs_.items()}
    assert kinds == {"num": "numerical", "num_int": "numerical", "cat": "categorical", "code": "categorical",
                     "flag": "boolean", "yesno": "boolean", "text": "text"}
    states = auto.input_states_

    # At predict, a missing value reads as what the model was taught it means: the same prediction as ...
    same = {"text": "",                           # ... empty text,
            "cat": "",                            # ... the empty string, a string column's missing value,
            "yesno": "perhaps",                   # ... a value that is neither of a two-valued column's values,
            "num_int": states["num_int"]["median"]}  # ... the training median (no missing flag: none in training)
    assert states["num_int"]["missing_indicator"] is False
    for column, equivalent in same.items():
        rows = twin_rows(data, column, None, equivalent)
        features = encoded(auto, rows)
        for key, values in features.items():
            np.testing.assert_array_equal(values[0], values[1], err_msg=f"{column}: {key}")
        probabilities = auto.predict_proba(rows).to_numpy()
        np.testing.assert_array_equal(probabilities[0], probabilities[1], err_msg=column)

    # ... the fill value (the training median; the first value of a 0/1 column) with the missing flag raised: the
    # features differ in that one place.
    for column, fill in {"num": states["num"]["median"], "flag": bool(states["flag"]["false_value"])}.items():
        assert states[column]["missing_indicator"] is True
        features = encoded(auto, twin_rows(data, column, None, fill))["features"]
        differs = np.flatnonzero(features[0] != features[1])
        assert len(differs) == 1, (column, differs)
        assert features[:, differs[0]].tolist() == [1.0, 0.0], column

    # ... the category of the rows that had no code in training, not the out-of-vocabulary bucket.
    index = encoded(auto, twin_rows(data, "code", None, 1))["code__index"]
    assert index[0] == states["code"]["vocabulary"].index(states["code"]["missing_code"]) + 1 != index[1]

    # Every column missing at once still predicts.
    holes = data.head(10).copy()
    for column in ["num", "num_int", "cat", "code", "flag", "yesno", "text"]:
        holes[column] = None
    holes = holes.astype({"num": "float64", "num_int": "float64"})
    probabilities = auto.predict_proba(holes)
    assert np.isfinite(probabilities.to_numpy()).all()


def test_unseen_categories_go_to_the_out_of_vocabulary_bucket(fitted_binary):
    auto, data = fitted_binary
    unseen = data.iloc[[0] * 5].reset_index(drop=True)
    unseen["cat"] = ["zebra", "yak", "a", "b", "c"]
    unseen["code"] = pd.array([9, 10, 1, 2, 3], dtype="Int64")
    features = encoded(auto, unseen)
    for column in ("cat", "code"):
        index = features[f"{column}__index"].tolist()
        # Index 0 is the out-of-vocabulary bucket; each label seen in training has an index of its own.
        assert index[:2] == [0, 0] and 0 not in index[2:] and len(set(index[2:])) == 3, (column, index)
    # Two unseen labels share the bucket, so the rows that differ only there predict alike.
    probabilities = auto.predict_proba(unseen).to_numpy()
    assert np.isfinite(probabilities).all()
    np.testing.assert_array_equal(probabilities[0], probabilities[1])


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
    network = model.get_layer("network")
    assert network.get_layer("my_body").units == 7
    # The head reads the body's 7 units: its kernel is 7 x 1 (one sigmoid output for a 0/1 target).
    assert [layer.kernel.shape for layer in network.layers if layer.name != "my_body" and hasattr(layer, "kernel")
            ] == [(7, 1)]
    # Compiled, with the table's loss and optimizer.
    assert model.compiled and model.loss == {"binary": "binary_crossentropy"}
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(auto.config_.get("optimizer", "learning_rate"))
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


def test_an_auto_embedding_follows_the_training_rows_and_explain_says_why(frame, tmp_path):
    data = frame.drop(columns=["label"])
    settings = {**FAST, "body": {"units": [16], "numerical_embedding": "auto", "periodic_dim": 4,
                                 "numerical_embedding_min_rows": len(data)}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data)
    assert auto.config_.get("body", "numerical_embedding") == "periodic"
    assert auto.network_.get_layer("numbers_embedding").output.shape[-1] == 4 * 3
    body = auto.explain().set_index("column").loc["body"]
    assert "periodic embeddings" in body["choice"]
    assert (f"numerical_embedding: body.numerical_embedding_min_rows ({len(data):,} training rows; periodic from "
            f"{len(data):,})") in body["source"]
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.predict_proba(data), auto.predict_proba(data))
    fewer = data.iloc[:-1]
    small = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(fewer)
    assert small.config_.get("body", "numerical_embedding") == "none"
    assert "numbers_embedding" not in [layer.name for layer in small.network_.layers]
    assert "periodic embeddings" not in small.explain().set_index("column").loc["body", "choice"]


def test_a_small_frame_gets_the_lighter_embedding_and_explain_says_why(frame, tmp_path):
    data = frame.drop(columns=["label"])
    settings = {**FAST, "body": {"units": [16], "numerical_embedding_min_rows": len(data) + 1,
                                 "small_data_periodic_dim": 2, "small_data_periodic_frequencies": 3}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data)
    embedded = auto.network_.get_layer("numbers_embedding")
    assert (embedded.frequencies, embedded.dim) == (3, 2) and embedded.output.shape[-1] == 2 * 3
    body = auto.explain().set_index("column").loc["body"]
    assert "periodic embeddings (3 frequencies, sigma 0.01, 2 units each)" in body["choice"]
    assert (f"numerical_embedding, periodic_frequencies, periodic_dim: body.small_data_periodic_dim ({len(data):,} "
            f"training rows; below {len(data) + 1:,})") in body["source"]
    loaded = Automater.load(auto.save(tmp_path / "run"))
    assert loaded.config_.get("body", "periodic_dim") == 2
    pd.testing.assert_frame_equal(loaded.predict_proba(data), auto.predict_proba(data))
    at_the_threshold = {**settings, "body": {**settings["body"], "numerical_embedding_min_rows": len(data)}}
    larger = Automater(target="binary", overrides=at_the_threshold, seed=0, verbose=0).fit(data)
    assert larger.network_.get_layer("numbers_embedding").dim == 24  # the full embedding from the row count up


def test_a_large_frame_gets_the_large_data_units_and_explain_says_why(frame, tmp_path):
    settings = {"training": FAST["training"], "body": {"large_data_units": [8, 4], "large_data_min_rows": 100}}
    data = frame.drop(columns=["price", "label"])
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data)
    widths = [layer.units for layer in auto.network_.layers if layer.name.startswith("body_dense_")]
    assert widths == [8, 4]
    body = auto.explain().set_index("column").loc["body"]
    assert "MLP [8, 4]" in body["choice"]
    assert f"units: body.large_data_units ({len(data):,} training rows; from 100)" in body["source"]
    loaded = Automater.load(auto.save(tmp_path / "run"))
    assert loaded.config_.get("body", "units") == [8, 4]
    pd.testing.assert_frame_equal(loaded.predict_proba(data), auto.predict_proba(data))
    small = Automater(target="binary", overrides={**settings, "body": {**settings["body"], "units": [16],
                                                                       "large_data_min_rows": 10 ** 6}},
                      seed=0, verbose=0).fit(data)
    assert [layer.units for layer in small.network_.layers if layer.name.startswith("body_dense_")] == [16]


def _network_value(auto, key):
    """What the fitted network holds for the body setting `key`: its members (heads of shape (batch, members,
    units)) or its one dropout rate."""
    if key == "ensemble":
        return auto.network_.output["binary"].shape[1]
    rates = {layer.rate for layer in auto.network_.layers if isinstance(layer, keras.layers.Dropout)}
    assert len(rates) == 1, rates
    return rates.pop()


@pytest.mark.parametrize("key, value, built_in, given, choice", [
    ("ensemble", 3, 4, 2, "3 members sharing it"),
    ("dropout", 0.3, 0.1, 0.0, "dropout 0.3"),
])
def test_a_small_frame_gets_the_small_data_body_setting_and_explain_says_why(frame, tmp_path, key, value, built_in,
                                                                              given, choice):
    data = frame.drop(columns=["price", "label"])
    settings = {"training": FAST["training"], "body": {"units": [16], f"small_data_{key}": value,
                                                       "small_data_below_rows": len(data) + 1}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data)
    assert auto.config_.get("body", key) == value and _network_value(auto, key) == value
    body = auto.explain().set_index("column").loc["body"]
    assert choice in body["choice"]
    assert f"{key}: body.small_data_{key} ({len(data):,} training rows; below {len(data) + 1:,})" in body["source"]
    larger = _saved_and_at_the_threshold(auto, data, settings, "body", key, tmp_path)
    assert larger.config_.get("body", key) == built_in
    assert f"body.small_data_{key}" not in larger.explain().set_index("column").loc["body", "source"]
    mine = Automater(target="binary", overrides={**settings, "body": {**settings["body"], key: given}},
                     seed=0, verbose=0).fit(data)
    assert mine.config_.get("body", key) == given  # a value the user set is kept


def _saved_and_at_the_threshold(auto, data, settings, section, key, tmp_path):
    """Checks that `auto`'s size-ruled setting `section.key` survives save and load (with the same predictions), and
    returns the same fit with the rule's row threshold lowered to the frame's rows (where it no longer applies)."""
    loaded = Automater.load(auto.save(tmp_path / "run"))
    assert loaded.config_.get(section, key) == auto.config_.get(section, key)
    pd.testing.assert_frame_equal(loaded.predict_proba(data), auto.predict_proba(data))
    at_the_threshold = {**settings, section: {**settings[section], "small_data_below_rows": len(data)}}
    return Automater(target="binary", overrides=at_the_threshold, seed=0, verbose=0).fit(data)


def test_a_small_frame_gets_the_small_data_batch_size_and_explain_says_why(frame, tmp_path):
    data = frame.drop(columns=["price", "label"])
    settings = {"training": {"epochs": 2, "small_data_batch_size": 16, "small_data_below_rows": len(data) + 1},
                "body": {"units": [16]}}
    seen = Recorder()  # Keras's steps per epoch: the batches of the first fit
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data, callbacks=[seen])
    assert auto.config_.get("training", "batch_size") == 16
    trained = len(data) - round(len(data) * 0.2)  # the validation split's rows are held out of the first run
    assert seen.steps[0] == -(-trained // 16)
    training = auto.explain().set_index("column").loc["training"]
    assert "batch 16" in training["choice"]
    assert (f"batch_size: training.small_data_batch_size ({len(data):,} training rows; below {len(data) + 1:,})"
            in training["source"])
    larger = _saved_and_at_the_threshold(auto, data, settings, "training", "batch_size", tmp_path)
    assert larger.config_.get("training", "batch_size") == 256
    given = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data, batch_size=64)
    assert given.config_.get("training", "batch_size") == 64  # a batch size given to fit is kept


def test_a_small_frame_gets_the_small_data_validation_split_and_explain_says_why(frame, tmp_path):
    data = frame.drop(columns=["price", "label"])
    settings = {"training": {"epochs": 2, "batch_size": 16, "small_data_validation_split": 0.4,
                             "small_data_below_rows": len(data) + 1}, "body": {"units": [16]}}
    seen = Recorder()  # Keras's steps per epoch: the rows of the first fit after the split
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data, callbacks=[seen])
    assert auto.config_.get("training", "validation_split") == 0.4
    assert seen.steps[0] == -(-(len(data) - round(len(data) * 0.4)) // 16)
    training = auto.explain().set_index("column").loc["training"]
    assert "40% validation" in training["choice"]
    assert (f"validation_split: training.small_data_validation_split ({len(data):,} training rows; below "
            f"{len(data) + 1:,})") in training["source"]
    larger = _saved_and_at_the_threshold(auto, data, settings, "training", "validation_split", tmp_path)
    assert larger.config_.get("training", "validation_split") == 0.2
    given = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data, validation_data=data.head(40))
    assert given.config_.get("training", "validation_split") == 0.0  # rows given for validation replace the split


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


# ---------------------------------------------------------------------------------------------------- Keras's hooks
class Recorder(keras.callbacks.Callback):
    """Counts the fits it sees and records each one's steps per epoch."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_begin(self, logs=None):
        self.steps.append(self.params["steps"])


def test_callbacks_see_the_first_fit_and_the_refit(frame, tmp_path):
    recorder = Recorder()
    log = tmp_path / "log.csv"
    board = tmp_path / "board"
    auto = Automater("binary", seed=0, verbose=0, overrides=FAST).fit(
        frame, callbacks=[recorder, keras.callbacks.CSVLogger(str(log), append=True),
                          keras.callbacks.TensorBoard(str(board))])
    assert auto.refit_epochs_ and len(recorder.steps) == 2
    # The first fit trains on 80% of the rows, the refit on all of them.
    assert recorder.steps == [-(-int(len(frame) * 0.8) // 64), -(-len(frame) // 64)]
    assert len(pd.read_csv(log)) == len(auto.history_["loss"]) + auto.refit_epochs_
    assert any(board.rglob("events.out.tfevents.*"))
    with pytest.raises(ConfigTypeError, match="keras.callbacks.Callback"):
        Automater("binary", overrides=FAST, verbose=0).fit(frame, callbacks=["early"])


def test_validation_data_replaces_the_split_and_the_refit(frame):
    recorder = Recorder()
    train, validation = frame.iloc[:120], frame.iloc[120:]
    auto = Automater("label", seed=0, verbose=0, overrides=FAST).fit(train, validation_data=validation,
                                                                     callbacks=[recorder])
    assert recorder.steps == [-(-len(train) // 64)]  # every given row trains; one fit
    assert auto.refit_epochs_ is None and len(auto.history_["val_loss"]) == FAST["training"]["epochs"]
    assert auto.config_.get("training", "validation_split") == 0.0
    assert "fit()" in auto.config_.origin("training", "validation_split")
    with pytest.raises(DataError, match="label.*'unseen'"):
        Automater("label", overrides=FAST, verbose=0).fit(train, validation_data=validation.assign(label="unseen"))
    with pytest.raises(DataError, match=r"lacks 1 column\(s\).*\['num'\]"):
        Automater("label", overrides=FAST, verbose=0).fit(train, validation_data=validation.drop(columns="num"))
    with pytest.raises(DataError, match="validation_data"):
        Automater("label", overrides=FAST, verbose=0).fit(train, validation_data=validation.to_numpy())


def noisy_labels(rows=600, seed=0):
    """Half the rows say y = x > 0, the other half the opposite; a weight column picks which half counts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    clean = np.arange(rows) % 2 == 0
    return pd.DataFrame({"x": x, "y": np.where(clean, x > 0, x <= 0).astype(int), "clean": clean.astype(float)})


def test_sample_weight_by_column_decides_which_rows_count(tmp_path):
    data = noisy_labels()
    settings = {"training": {"epochs": 30, "batch_size": 64}, "body": {"units": [16], "ensemble": 1}}
    truth = (data["x"] > 0).astype(int)
    clean = Automater("y", seed=0, verbose=0, overrides=settings).fit(data, sample_weight="clean")
    assert (clean.predict(data) == truth).mean() > 0.9
    flipped = Automater("y", seed=0, verbose=0, overrides=settings).fit(data.assign(clean=1 - data["clean"]),
                                                                        sample_weight="clean")
    assert (flipped.predict(data) == truth).mean() < 0.1
    # The weight column is set aside, said why, and not needed to predict.
    assert "clean" not in clean.inputs_ and "row weights" in clean.ignored_["clean"].profile.reason
    assert "row weights" in clean.explain().to_string()
    clean.predict(data.drop(columns="clean"))
    assert "clean" in Automater.load(clean.save(tmp_path / "run")).ignored_


def test_sample_weight_as_an_array_follows_the_rows_with_a_target(frame):
    frame.loc[frame.index[:10], "label"] = None
    with pytest.warns(UserWarning, match="Dropped 10"):
        Automater("label", seed=0, verbose=0, overrides=FAST).fit(frame, sample_weight=np.ones(len(frame)))
    with pytest.raises(DataError, match="3 weight"):
        Automater("label", verbose=0, overrides=FAST).fit(frame, sample_weight=np.ones(3))
    with pytest.raises(DataError, match="Did you mean 'num'"):
        Automater("label", verbose=0, overrides=FAST).fit(frame, sample_weight="nun")
    with pytest.raises(DataError, match="-1"):
        Automater("label", verbose=0, overrides=FAST).fit(frame, sample_weight=np.full(len(frame), -1.0))


def test_class_weight_by_label_raises_the_rare_class(frame):
    rare = frame.assign(binary=(frame["num"] > 1.2).astype(int))  # about one row in nine
    settings = {"training": {"epochs": 10, "batch_size": 64}, "body": {"units": [16], "ensemble": 1}}
    plain = Automater("binary", seed=0, verbose=0, overrides=settings).fit(rare)
    weighted = Automater("binary", seed=0, verbose=0, overrides=settings).fit(rare, class_weight={1: 10.0})
    assert weighted.predict_proba(rare)[1].mean() > plain.predict_proba(rare)[1].mean() + 0.05
    balanced = Automater("binary", seed=0, verbose=0, overrides=FAST).fit(rare, class_weight="balanced")
    assert balanced.config_.get("training", "class_weight") == "balanced"
    with pytest.raises(ConfigError, match="Expected one of {0, 1}. Received: label=2"):
        Automater("binary", verbose=0, overrides=FAST).fit(rare, class_weight={2: 1.0})
    with pytest.raises(ConfigError, match="sample_weight="):
        Automater("price", verbose=0, overrides=FAST).fit(rare, class_weight={1: 2.0})


class TensorFlowWarnings(logging.Handler):
    """Collects what TensorFlow's own logger says (its retracing warnings go there, not to `warnings`)."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        tf.get_logger().addHandler(self)
        return self

    def __exit__(self, *exc):
        tf.get_logger().removeHandler(self)


def resident_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


def test_repeated_fits_are_quiet_and_do_not_grow_memory():
    data = mixed_frame(200)
    with TensorFlowWarnings() as control:  # the capture hears a retracing warning when there is one
        for i in range(7):
            tf.function(lambda x: x + 1)(tf.constant(float(i)))
    assert any("retracing" in message for message in control.messages)
    resident = []
    with TensorFlowWarnings() as said:
        for seed in range(8):
            auto = Automater("label", seed=seed, verbose=0, overrides=FAST).fit(data)
            auto.predict(data)
            auto.evaluate(data)
            del auto
            gc.collect()
            resident.append(resident_mb())
    assert not [m for m in said.messages if "retracing" in m], said.messages
    # Measured: a few MiB over eight fits once the first ones have warmed the allocator.
    assert resident[-1] - resident[2] < 100, resident


# ---------------------------------------------------------------------------------------------------- your own loop
def test_train_the_built_model_yourself_then_predict_save_and_export(frame, tmp_path):
    data = frame.drop(columns=["label", "binary"])
    auto = Automater("price", seed=0, verbose=0, overrides=FAST).prepare(data)
    model = auto.build_model()
    assert auto.model is model  # predict, evaluate, save and export now use it
    untrained = auto.evaluate(data)["rmse"]
    model.fit(auto.dataset(data.iloc[:120], shuffle=True), validation_data=auto.dataset(data.iloc[120:]),
              epochs=20, verbose=0)
    assert auto.evaluate(data)["rmse"] < untrained
    # Labels are what the model outputs: the target in its units.
    _, labels = next(iter(auto.dataset(data, batch_size=len(data))))
    np.testing.assert_allclose(labels["price"].numpy().ravel(), data["price"], rtol=1e-6)
    np.testing.assert_allclose(model.predict(auto.inputs(data), verbose=0)["price"].ravel(), auto.predict(data),
                               rtol=1e-5)
    loaded = Automater.load(auto.save(tmp_path / "run"))
    np.testing.assert_allclose(loaded.predict(data), auto.predict(data), rtol=1e-6)
    assert auto.export(tmp_path / "model.keras", format="keras").exists()


def test_the_dataset_of_a_class_target_with_weights(frame):
    auto = Automater("label", seed=0, verbose=0, overrides=FAST).prepare(frame)
    frame.loc[frame.index[:5], "label"] = None
    with pytest.warns(UserWarning, match="Dropped 5"):
        batches = list(auto.dataset(frame, batch_size=50, sample_weight=np.arange(len(frame), dtype=float)))
    assert [len(weights) for _, _, weights in batches] == [50, 50, 50, 5]
    assert batches[0][2].numpy()[0] == 5.0  # the weights follow the rows that were kept
    labels = np.concatenate([y["label"].numpy() for _, y, _ in batches])
    assert labels.shape[0] == len(frame) - 5 and set(np.unique(labels.argmax(-1) if labels.ndim > 1 else labels)) \
        <= {0, 1, 2}
    with pytest.raises(DataError, match="'label' holds label\\(s\\) \\['other'\\]"):
        auto.dataset(frame.assign(label="other"))
    with pytest.raises(DataError, match="lacks 1 column"):
        auto.inputs(frame.drop(columns="num"))


def test_a_weight_column_from_yaml_or_column_types(tmp_path):
    data = noisy_labels(300)
    settings = {"training": {"epochs": 3, "batch_size": 64}, "body": {"units": [16], "ensemble": 1}}
    by_argument = Automater("y", seed=0, verbose=0, overrides=settings).fit(data, sample_weight="clean")
    (tmp_path / "weights.yaml").write_text("columns:\n  clean: {kind: weight}\n")
    by_yaml = Automater("y", config=str(tmp_path / "weights.yaml"), seed=0, verbose=0, overrides=settings).fit(data)
    by_kind = Automater("y", column_types={"clean": "weight"}, seed=0, verbose=0, overrides=settings).fit(data)
    for auto in (by_yaml, by_kind):
        assert "clean" in auto.ignored_ and "clean" not in auto.inputs_
        np.testing.assert_allclose(auto.predict_proba(data), by_argument.predict_proba(data), rtol=1e-6)
    assert "clean" in Automater("y", column_types={"clean": "weight"}).prepare(data).ignored_
    with pytest.raises(ConfigError, match="weighted twice"):
        Automater("y", column_types={"clean": "weight"}, overrides=settings).fit(data, sample_weight=np.ones(300))
    with pytest.raises(ConfigError, match="one weight each"):
        Automater("y", column_types={"clean": "weight", "x": "weight"}, overrides=settings).fit(data)
    with pytest.raises(DataError, match="is a target column"):
        Automater("y", column_types={"y": "weight"}, overrides=settings).fit(data)


@pytest.mark.parametrize("seed", ["abc", 1.5, -1, True, 2 ** 40])
def test_a_seed_that_is_not_a_whole_number_is_refused_before_the_data_is_read(frame, seed):
    with pytest.raises(ConfigTypeError, match=f"seed must be a whole number.*Received: {seed!r}"):
        Automater("label", seed=seed, overrides=FAST).prepare(frame)
    with pytest.raises(ConfigTypeError, match="seed must be a whole number"):
        Automater("label", seed=seed, overrides=FAST).fit(frame)


# ---------------------------------------------------------------------------------------------------- all or nothing
class InterruptAtEpoch(keras.callbacks.Callback):
    """Ctrl-C in the middle of training, after the statistics pass has learned the new columns."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch >= 1:
            raise KeyboardInterrupt


def failing_refit(monkeypatch):
    """The refit on all rows fails, after the first fit has set the history."""
    from keras_defaults import automater

    def fail(network, values):
        raise MemoryError("no memory left for the refit")

    monkeypatch.setattr(automater, "_assign_variable_values", fail)


@pytest.mark.parametrize("failure", ["interrupted", "failing_refit"])
def test_a_failed_refit_keeps_the_previous_model_predicting_and_saving(frame, tmp_path, monkeypatch, failure):
    auto = fit("binary", frame)
    before = auto.predict_proba(frame)
    learned = {name: value for name, value in vars(auto).items() if name.endswith("_")}
    # The refit sees other columns, so a half-updated Automater would not match its own model.
    other = frame.drop(columns=["text", "cat"]).assign(extra=np.arange(len(frame)) % 7)
    if failure == "interrupted":
        with pytest.raises(KeyboardInterrupt):
            auto.fit(other, callbacks=[InterruptAtEpoch()])
    else:
        failing_refit(monkeypatch)
        with pytest.raises(MemoryError, match="refit"):
            auto.fit(other)
    assert {name: value for name, value in vars(auto).items() if name.endswith("_")} == learned
    assert all(vars(auto)[name] is value for name, value in learned.items())
    pd.testing.assert_frame_equal(auto.predict_proba(frame), before)
    auto.save(tmp_path / "run")
    pd.testing.assert_frame_equal(Automater.load(tmp_path / "run").predict_proba(frame), before)


def test_a_failed_first_fit_leaves_an_unfitted_automater(frame):
    auto = Automater(target="binary", overrides=FAST, seed=0, verbose=0)
    given = dict(vars(auto))
    with pytest.raises(KeyboardInterrupt):
        auto.fit(frame, callbacks=[InterruptAtEpoch()])
    assert vars(auto) == given
    with pytest.raises(NotFittedError, match=r"fit\(df\)"):
        auto.predict(frame)
    with pytest.raises(NotFittedError, match=r"prepare\(df\)"):
        auto.explain()


def test_prepare_after_fit_drops_the_model_its_new_columns_do_not_match(frame):
    auto = fit("binary", frame)
    auto.prepare(frame.drop(columns=["text"]))
    assert "text" not in auto.profiles_ and auto.explain() is not None
    with pytest.raises(NotFittedError, match=r"fit\(df\)"):
        auto.predict(frame)


def test_a_body_that_is_not_callable_is_refused_before_the_data_is_read(frame):
    # A string reached Keras as the body and failed as "'str' object is not callable".
    for call in (lambda auto: auto.fit(frame, body="resnet"), lambda auto: auto.prepare(frame).build_model("resnet")):
        with pytest.raises(ConfigTypeError, match=r"body must be a callable .* Received: body='resnet'\. The MLP's "
                                                  r"sizes are settings: body: \{units: \[\.\.\.\]\}"):
            call(Automater(target="price", overrides=FAST, verbose=0))


def test_evaluate_names_a_regression_target_that_holds_other_than_numbers(frame):
    # sklearn's "Input contains NaN" named neither the column nor the values.
    auto = Automater(target="price", overrides=FAST, seed=0, verbose=0).fit(frame.drop(columns=["binary", "label"]))
    labelled = frame.assign(price=frame["price"].astype(object))
    labelled.loc[labelled.index[:3], "price"] = ["n/a", "n/a", np.inf]
    with pytest.raises(DataError, match=r"Target column 'price' holds 3 value\(s\) that are not finite numbers "
                                        r"\(e\.g\. \['n/a', inf\]\).*pd\.to_numeric\(df\['price'\]"):
        auto.evaluate(labelled)
    assert set(auto.evaluate(frame)) == {"rmse", "mae", "r2"}
