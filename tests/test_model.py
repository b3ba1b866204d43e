"""The three models (preprocessor, network, served) and how they are wired."""

import keras
import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from keras_defaults import Automater
from keras_defaults.defaults import BUILTIN_SOURCE, Config
from keras_defaults.model import (body_for_reconstruction, body_for_rows, layer_name, output_key, signature_name,
                                  training_for_rows)


def test_preprocessor_has_no_trainable_weights(fitted_binary):
    auto, _ = fitted_binary
    assert auto.preprocessor_.trainable_weights == []
    assert auto.network_.trainable_weights


def test_served_model_takes_one_raw_input_per_used_column(fitted_binary):
    auto, _ = fitted_binary
    used = {name for name, p in auto.profiles_.items() if p.kind != "ignore"}
    assert set(auto.model.input) == used


def test_names_for_keras_and_for_signatures():
    assert layer_name("age") == "age"
    assert layer_name("a/b").startswith("a_b_") and layer_name("a/b") != layer_name("a b")
    taken = set()
    assert signature_name("price (€)", taken) == "price____"
    assert signature_name("1st", taken) == "c_1st"
    assert signature_name("price (€)", taken) == "price_____2"


def test_build_model_is_compiled_and_untrained(frame):
    auto = Automater(target="binary", overrides=FAST, verbose=0).prepare(frame)
    model = auto.build_model()
    assert isinstance(model, keras.Model) and model.optimizer is not None
    assert int(model.optimizer.iterations.numpy()) == 0


def test_the_default_body_reads_one_hot_columns_as_lookups_and_a_custom_body_gets_the_vectors(frame):
    auto = Automater(target="binary", overrides=FAST, verbose=0).prepare(frame)
    one_hot = [name for name, spec in auto.inputs_.items() if spec.encoder.one_hot_levels(spec.state)]
    assert one_hot  # the frame has one-hot categorical columns
    network = auto.build_model().get_layer("network")
    kinds = {type(layer).__name__ for layer in network.layers}
    assert "OneHotLookups" in kinds and "CategoryEncoding" not in kinds
    # The preprocessor hands each one-hot column over as one index per row, not as its vector.
    assert all(len(auto.preprocessor_.output[f"{layer_name(name)}__index"].shape) == 1 for name in one_hot)
    custom = auto.build_model(body=lambda x: keras.layers.Dense(8, activation="relu")(x)).get_layer("network")
    kinds = {type(layer).__name__ for layer in custom.layers}
    assert "CategoryEncoding" in kinds and "OneHotLookups" not in kinds


def test_a_frame_of_one_hot_columns_only_gets_the_vectors_and_trains():
    # Nothing dense would carry the first layer's bias: the one-hot vectors are its input, as for a custom body.
    import pandas as pd

    data = pd.DataFrame({"colour": ["red", "green", "blue", "red"] * 20, "size": ["s", "m", "l", "xl", "m"] * 16})
    data["target"] = (data["colour"] == "red") | (data["size"] == "s")
    auto = Automater(target="target", overrides=FAST, seed=0, verbose=0).fit(data)
    kinds = {type(layer).__name__ for layer in auto.network_.layers}
    assert "CategoryEncoding" in kinds and "OneHotLookups" not in kinds
    assert auto.predict(data.drop(columns="target")).notna().all()


def test_label_smoothing_on_integer_labels_equals_keras_smoothing_on_one_hot_labels():
    import numpy as np

    from keras_defaults.layers import SmoothedSparseCategoricalCrossentropy

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(5), size=32).astype("float32")
    labels = rng.integers(0, 5, size=32)
    one_hot = np.eye(5, dtype="float32")[labels]
    for smoothing in (0.0, 0.1, 0.3):
        ours = SmoothedSparseCategoricalCrossentropy(label_smoothing=smoothing)(labels, probabilities)
        keras_own = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)(one_hot, probabilities)
        np.testing.assert_allclose(float(ours), float(keras_own), rtol=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(labels[:, None], probabilities)
    np.testing.assert_allclose(float(SmoothedSparseCategoricalCrossentropy()(labels[:, None], probabilities)),
                               float(plain), rtol=1e-5)


def test_the_categorical_loss_takes_label_smoothing_checked_and_a_plain_name_turns_it_off(frame):
    import pytest

    from keras_defaults.errors import ConfigError
    from keras_defaults.layers import MembersLoss, SmoothedSparseCategoricalCrossentropy

    auto = Automater(target="label", overrides=FAST, verbose=0).prepare(frame.drop(columns=["binary", "price"]))
    loss = auto.build_model().loss["label"]
    loss = loss.loss if isinstance(loss, MembersLoss) else loss
    assert isinstance(loss, SmoothedSparseCategoricalCrossentropy) and loss.label_smoothing == 0.1

    plain = {**FAST, "targets": {"categorical": {"loss": "sparse_categorical_crossentropy"}}}
    auto = Automater(target="label", overrides=plain, verbose=0).prepare(frame.drop(columns=["binary", "price"]))
    loss = auto.build_model().loss["label"]
    assert getattr(loss, "loss", loss) == "sparse_categorical_crossentropy"

    for bad, said in ((1.5, "label_smoothing must be a number from 0"), ("x", "label_smoothing must be a number"),
                      ):
        wrong = {"targets": {"categorical": {"loss": {"name": "sparse_categorical_crossentropy",
                                                        "label_smoothing": bad}}}}
        with pytest.raises(ConfigError, match=said):
            Automater(target="label", overrides=wrong, verbose=0).prepare(frame.drop(columns=["binary", "price"]))
    typo = {"targets": {"categorical": {"loss": {"name": "sparse_categorical_crossentropy",
                                                 "label_smoothin": 0.1}}}}
    with pytest.raises(ConfigError, match="Unknown argument 'label_smoothin'.*Did you mean 'label_smoothing'"):
        Automater(target="label", overrides=typo, verbose=0).prepare(frame.drop(columns=["binary", "price"]))


def test_targets_named_as_no_name_scope_allows_train_side_by_side(tmp_path):
    # Keras names each output's loss after it ("mean radius_loss"), and TensorFlow refuses such a name scope: the
    # network keys those outputs by their layer names (output_key), the served model by the targets' own.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"mean radius": rng.normal(size=120), "kind/of": rng.choice(["x", "y"], 120),
                          "feature": rng.normal(size=120)})
    assert output_key("mean radius") != "mean radius" and output_key("feature") == "feature"
    auto = Automater(["mean radius", "kind/of"], overrides=FAST, verbose=0).fit(frame)
    predicted = auto.predict(frame.head(4))
    assert list(predicted.columns) == ["mean radius", "kind/of"] and set(predicted["kind/of"]) <= {"x", "y"}
    loaded = Automater.load(auto.save(tmp_path / "saved"))
    pd.testing.assert_frame_equal(loaded.predict(frame.head(4)), predicted)


@pytest.mark.parametrize("zero_flags, held_in_range", [(False, False), (True, False), (False, True)])
def test_fused_numbers_give_the_features_each_columns_own_layers_give(monkeypatch, zero_flags, held_in_range):
    """The preprocessor reads numerical and numeric 0/1 columns with one FusedNumbers layer; its features (and the
    numbers the periodic embedding reads) are those of the encoders' own per-column layers, bit for bit, zero flags
    and training ranges included (applied to rows beyond the training range)."""
    from conftest import mixed_frame
    from keras_defaults.columns import raw_tensors
    from keras_defaults.encoders import ENCODERS
    from keras_defaults.model import build_preprocessor

    data = mixed_frame(200)
    data["big"] = np.r_[1e30, -np.inf, np.arange(198.0) * 1e3]
    data["fives_and_nines"] = np.where(np.arange(200) % 3 == 0, 5.0, 9.0)
    data.loc[::7, "fives_and_nines"] = np.nan
    data["discount"] = np.where(np.arange(200) % 4 == 0, np.arange(200) / 7, 0.0)
    data.loc[::9, "discount"] = np.nan
    overrides = {"inputs": {"numerical": {"zero_indicator": zero_flags, "clip_to_training_range": held_in_range}}}
    auto = Automater("binary", overrides=overrides, verbose=0).prepare(data.drop(columns=["price", "label"]))
    assert {"numerical", "boolean"} <= {spec.kind for spec in auto.inputs_.values()}
    assert (auto.input_states_["discount"]["zero_share"] is not None) == zero_flags
    # Rows beyond the training range on both sides, and a missing value, which the range leaves to the fill.
    data.loc[:3, "discount"] = [1e6, -1e6, np.nan, 0.0]
    fused = build_preprocessor(auto.inputs_, numbers=True)
    assert "fused_numbers" in [layer.name for layer in fused.layers]
    for encoder in ENCODERS.values():
        monkeypatch.setattr(type(encoder), "fused_number", lambda self, state, settings: None)
    apart = build_preprocessor(auto.inputs_, numbers=True)
    assert "fused_numbers" not in [layer.name for layer in apart.layers]
    raw = raw_tensors(data, auto.inputs_)
    ours, theirs = fused(raw), apart(raw)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours[key]), keras.ops.convert_to_numpy(theirs[key]))
    # Held in range, the rows beyond it read as the training ends; otherwise they read further out.
    at_ends = data.copy()
    low, high = auto.input_states_["discount"]["low"], auto.input_states_["discount"]["high"]
    margin = auto.input_settings_["discount"]["training_range_margin"] * (high - low)
    at_ends.loc[:1, "discount"] = [high + margin, low - margin]
    ends = keras.ops.convert_to_numpy(fused(raw_tensors(at_ends, auto.inputs_))["features"])[:2]
    beyond = keras.ops.convert_to_numpy(ours["features"])[:2]
    assert np.array_equal(beyond, ends) == held_in_range


def test_zero_flags_fit_reload_and_serve_what_predict_gives(tmp_path):
    """A zero-inflated amount with its zero flag (inputs.numerical.zero_indicator): the flag reaches the network,
    survives save and load, and the SavedModel, fed the raw numbers, serves what predict gives."""
    import json

    import tensorflow as tf

    from keras_defaults.encoders import input_tensor

    rng = np.random.default_rng(0)
    amount = np.where(rng.random(400) < 0.4, 0.0, rng.lognormal(size=400))
    frame = pd.DataFrame({"amount": amount, "x": rng.normal(size=400)})
    frame["y"] = (amount == 0) * 2.0 + frame["x"] + rng.normal(scale=0.1, size=400)
    overrides = {**FAST, "inputs": {"numerical": {"zero_indicator": True}}}
    auto = Automater("y", overrides=overrides, seed=0, verbose=0).fit(frame)
    assert auto.input_states_["amount"]["zero_share"] > 0.3 and auto.input_states_["x"]["zero_share"] is None
    assert "zero flag" in auto.explain().set_index("column").loc["amount", "choice"]
    new = frame.drop(columns="y").head(6).copy()
    new.loc[new.index[0], "amount"] = np.nan
    predicted = auto.predict(new)
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_series_equal(loaded.predict(new), predicted)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(**{spec["argument"]: input_tensor(new[c], auto.profiles_[c]) for c, spec in signature["inputs"].items()})
    np.testing.assert_allclose(out[signature["outputs"]["y"]["prediction"]].numpy().reshape(-1), predicted.to_numpy(),
                               rtol=1e-5)


@pytest.mark.parametrize("margin", [0.0, 0.25])
def test_numbers_held_in_their_training_range_predict_beyond_it_as_at_its_ends(tmp_path, margin):
    """inputs.numerical.clip_to_training_range: a row beyond a number's training range, widened by
    `training_range_margin` times its width on each side, is predicted as a row at the nearest end; training is
    unchanged (the rows within it predict as without the option, to the last digit, with the same seed); and predict,
    a reload, the `.keras` file (safe mode) and the SavedModel agree on rows beyond it."""
    import json

    import tensorflow as tf

    from keras_defaults.columns import raw_tensors
    from keras_defaults.encoders import input_tensor

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.uniform(0, 10, 300), "z": rng.normal(size=300)})
    frame["y"] = frame["x"] + frame["z"] + rng.normal(scale=0.1, size=300)
    held = {"inputs": {"numerical": {"clip_to_training_range": True, "training_range_margin": margin}}}
    auto = Automater("y", overrides={**FAST, **held}, seed=0, verbose=0).fit(frame)
    low, high = auto.input_states_["x"]["low"], auto.input_states_["x"]["high"]
    assert (low, high) == (frame["x"].min(), frame["x"].max())
    choice = auto.explain().set_index("column").loc["x", "choice"]
    assert f"(the training range [{low:.4g}, {high:.4g}]" in choice and ("widened by 0.25" in choice) == bool(margin)
    low, high = low - margin * (high - low), high + margin * (high - low)
    # The option off (it is on by default): numbers extrapolate.
    extrapolate = {"inputs": {"numerical": {"clip_to_training_range": False}}}
    plain = Automater("y", overrides={**FAST, **extrapolate}, seed=0, verbose=0).fit(frame)
    assert "training range" not in plain.explain().set_index("column").loc["x", "choice"]
    inside = frame.drop(columns="y").head(5)
    pd.testing.assert_series_equal(auto.predict(inside), plain.predict(inside))

    beyond = pd.DataFrame({"x": [high + 50.0, low - 50.0, np.nan], "z": [0.5, 0.5, 0.5]})
    at_ends = pd.DataFrame({"x": [high, low, np.nan], "z": [0.5, 0.5, 0.5]})
    predicted = auto.predict(beyond)
    np.testing.assert_allclose(predicted.to_numpy(), auto.predict(at_ends).to_numpy(), rtol=1e-6)
    assert abs(plain.predict(beyond).iloc[0] - plain.predict(at_ends).iloc[0]) > 0.1  # without it, it extrapolates
    pd.testing.assert_series_equal(Automater.load(auto.save(tmp_path / "run")).predict(beyond), predicted)
    served = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    out = served.predict(raw_tensors(beyond, auto.inputs_), verbose=0)
    np.testing.assert_allclose(np.asarray(out["y"]).reshape(-1), predicted.to_numpy(), rtol=1e-5)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(**{spec["argument"]: input_tensor(beyond[c], auto.profiles_[c])
                   for c, spec in signature["inputs"].items()})
    np.testing.assert_allclose(out[signature["outputs"]["y"]["prediction"]].numpy().reshape(-1),
                               predicted.to_numpy(), rtol=1e-5)


# ---------------------------------------------------------------------------------------------------- linear path
def _layer_names(model):
    return [layer.name for layer in model.get_layer("network").layers]


@pytest.mark.parametrize("columns", ["with one-hot lookups", "numbers only"])
def test_a_linear_path_hands_the_heads_the_first_layers_pre_activation_beside_the_last_layer(frame, columns):
    # body.linear_path: the heads read [last layer, first layer before its activation], a linear map of every input
    # (with one-hot columns, the sum of the dense part and the lookups).
    data = frame[["num", "binary"]] if columns == "numbers only" else frame.drop(columns=["price", "label"])
    overrides = {**FAST, "body": {"units": [16, 8], "linear_path": True}}
    auto = Automater(target="binary", overrides=overrides, verbose=0).prepare(data)
    network = auto.build_model().get_layer("network")
    joined = network.get_layer("body_with_linear_path")
    first = "body_sum_0" if columns == "with one-hot lookups" else "body_dense_0"
    assert [tensor.name for tensor in joined.input] == [network.get_layer("body_dropout_1").output.name,
                                                        network.get_layer(first).output.name]
    assert joined.output.shape[-1] == 8 + 16
    assert "body_activation_0" in _layer_names(auto.build_model())
    plain = Automater(target="binary", overrides=FAST, verbose=0).prepare(data).build_model()
    assert "body_with_linear_path" not in _layer_names(plain)


def test_without_hidden_layers_a_linear_path_adds_nothing(frame):
    overrides = {**FAST, "body": {"units": [], "linear_path": True}}
    model = Automater(target="binary", overrides=overrides, verbose=0).prepare(frame).build_model()
    assert "body_with_linear_path" not in _layer_names(model)


# ---------------------------------------------------------------------------------------------------- ensemble's MLP
@pytest.mark.parametrize("units", [[16, 8], [16]])
def test_members_with_mlps_of_their_own_have_dense_layers_of_their_own(frame, units):
    from keras_defaults.layers import EnsembleDense

    overrides = {**FAST, "body": {"units": units, "ensemble": 3, "ensemble_mlp": "per_member"}}
    auto = Automater(target="binary", overrides=overrides, seed=0, verbose=0).prepare(frame.drop(columns=["price",
                                                                                                          "label"]))
    network = auto.build_model().get_layer("network")
    layers = [network.get_layer(f"body_dense_{i}") for i in range(len(units))]
    assert all(isinstance(layer, EnsembleDense) for layer in layers)
    assert [tuple(layer.kernel.shape)[::2] for layer in layers] == [(3, width) for width in units]
    for layer in layers:  # each member's kernel starts as its own Glorot-uniform dense layer would
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        fan_in = kernel.shape[1] + (sum(auto.inputs_[c].encoder.one_hot_levels(auto.inputs_[c].state) or 0
                                        for c in auto.inputs_) if layer.name == "body_dense_0" else 0)
        assert np.abs(kernel).max() <= np.sqrt(6 / (fan_in + kernel.shape[2])) + 1e-6
        assert np.abs(kernel).max() > 0.5 * np.sqrt(6 / (fan_in + kernel.shape[2]))
        assert not np.allclose(kernel[0], kernel[1])  # the members start apart
    assert network.output["binary"].shape[1] == 3
    shared = Automater(target="binary", overrides={**overrides, "body": {**overrides["body"], "ensemble_mlp": "shared"}},
                       verbose=0).prepare(frame.drop(columns=["price", "label"])).build_model().get_layer("network")
    assert not any(isinstance(layer, EnsembleDense) for layer in shared.layers if layer.name.startswith("body_"))


def test_one_member_with_an_mlp_of_its_own_is_the_plain_mlp(frame):
    overrides = {**FAST, "body": {"units": [16], "ensemble": 1, "ensemble_mlp": "per_member"}}
    network = Automater(target="binary", overrides=overrides, verbose=0).prepare(frame).build_model()
    assert type(network.get_layer("network").get_layer("body_dense_0")) is keras.layers.Dense


def _regression_frame(rng):
    frame = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    frame["y"] = 3 * frame["x"] + np.abs(frame["z"]) + (frame["c"] == "a") + rng.normal(scale=0.1, size=300)
    return frame


def _multiclass_frame(rng):
    frame = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b", "c"], 300)})
    frame["y"] = np.where(frame["x"] > 0, "up", "down")
    frame.loc[frame["c"] == "c", "y"] = "side"
    return frame


@pytest.mark.parametrize("make_frame, body, choice", [
    (_regression_frame, {"units": [16], "linear_path": True, "ensemble": 2}, "a linear path to the heads"),
    (_multiclass_frame, {"units": [16, 8], "ensemble": 2, "ensemble_mlp": "per_member"},
     "2 members with dense layers of their own"),
], ids=["linear_path", "per_member"])
def test_a_body_option_fits_repeats_reloads_explains_and_serves_what_predict_gives(tmp_path, make_frame, body, choice):
    from keras_defaults.columns import raw_tensors

    frame = make_frame(np.random.default_rng(2))
    overrides = {**FAST, "body": body}
    auto = Automater("y", overrides=overrides, seed=0, verbose=0).fit(frame)
    assert choice in auto.explain().set_index("column").loc["body", "choice"]

    def outputs(model, rows):  # class probabilities, or the predicted number
        if model.targets_["y"].has_probabilities:
            return model.predict_proba(rows)
        return model.predict(rows).to_frame()

    new = frame.drop(columns="y").head(6)
    expected = outputs(auto, new)
    again = Automater("y", overrides=overrides, seed=0, verbose=0).fit(frame)
    pd.testing.assert_frame_equal(outputs(again, new), expected)  # a seed repeats the fit
    pd.testing.assert_frame_equal(outputs(Automater.load(auto.save(tmp_path / "run")), new), expected)
    served = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    out = served.predict(raw_tensors(new, auto.inputs_), verbose=0)
    np.testing.assert_allclose(np.asarray(out["y"]).reshape(expected.shape), expected.to_numpy(), rtol=1e-5,
                               atol=1e-6)


# ---------------------------------------------------------------------------------------------------- width by rows
LARGE = {"body": {"large_data_units": [32, 16], "large_data_min_rows": 1000}}


@pytest.mark.parametrize("rows, units", [(999, [256, 256]), (1000, [32, 16]), (50_000, [32, 16])])
def test_the_body_takes_the_large_data_units_from_their_row_count(rows, units):
    config = Config.build([("'mine.yaml'", LARGE)])
    resolved = body_for_rows(config, rows)
    assert resolved.get("body", "units") == units
    if rows >= 1000:
        assert resolved.origin("body", "units") == f"body.large_data_units ({rows:,} training rows; from 1,000)"
    else:
        assert resolved.origin("body", "units") == BUILTIN_SOURCE
    assert config.get("body", "units") == [256, 256]  # the given configuration is not changed


def test_units_set_by_the_user_are_kept_at_any_size():
    config = Config.build([("'mine.yaml'", LARGE), ("overrides= argument", {"body": {"units": [64]}})])
    assert body_for_rows(config, 10 ** 6).get("body", "units") == [64]


@pytest.mark.parametrize("rows, units", [(2_999, [256, 256]), (3_000, [128, 128]), (240_000, [128, 128])])
def test_the_built_in_body_is_narrower_from_3000_training_rows(rows, units):
    # round 29 (benchmarks/results/ablations_round29_plan.md): 2 x 128 from 3,000 training rows, 2 x 256 below
    assert body_for_rows(Config.builtin(), rows).get("body", "units") == units


def test_without_large_data_units_the_body_is_the_same_at_any_size():
    config = Config.build([("'mine.yaml'", {"body": {"large_data_units": None}})])
    assert config.get("body", "large_data_units") is None
    resolved = body_for_rows(config, 10 ** 6)
    assert resolved.get("body", "units") == [256, 256] and resolved.origin("body", "units") == BUILTIN_SOURCE


# ---------------------------------------------------------------------------------------------------- values by rows
# The settings replaced by <section>.small_data_<key> below <section>.small_data_below_rows training rows: (section,
# key, the rule's value, the built-in value, what resolves it, a value the user sets, where a call sets it).
SIZE_RULES = [("body", "ensemble", 8, 4, body_for_rows, 2, "overrides= argument"),
              ("body", "dropout", 0.2, 0.1, body_for_rows, 0.0, "overrides= argument"),
              ("training", "batch_size", 32, 256, training_for_rows, 100, "fit(batch_size=...)"),
              ("training", "validation_split", 0.3, 0.2, training_for_rows, 0.0, "fit(validation_data=...)")]
RULE_IDS = [key for _, key, *_ in SIZE_RULES]


def _with_rule(section, key, value):
    return {section: {f"small_data_{key}": value, "small_data_below_rows": 700}}


@pytest.mark.parametrize("rows", [10, 699, 700, 50_000])
@pytest.mark.parametrize("section, key, small, built_in, resolve, given, call", SIZE_RULES, ids=RULE_IDS)
def test_a_small_table_takes_the_small_data_value_below_its_row_count(section, key, small, built_in, resolve, given,
                                                                      call, rows):
    config = Config.build([("'mine.yaml'", _with_rule(section, key, small))])
    resolved = resolve(config, rows)
    assert resolved.get(section, key) == (small if rows < 700 else built_in)
    if rows < 700:
        assert resolved.origin(section, key) == f"{section}.small_data_{key} ({rows:,} training rows; below 700)"
    else:
        assert resolved.origin(section, key) == BUILTIN_SOURCE
    assert config.get(section, key) == built_in  # the given configuration is not changed


@pytest.mark.parametrize("source", ["'mine.yaml'", "call"])
@pytest.mark.parametrize("section, key, small, built_in, resolve, given, call", SIZE_RULES, ids=RULE_IDS)
def test_a_value_set_by_the_user_is_kept_at_any_size(section, key, small, built_in, resolve, given, call, source):
    source = call if source == "call" else source
    config = Config.build([("'defaults'", _with_rule(section, key, small)), (source, {section: {key: given}})])
    resolved = resolve(config, 10)
    assert resolved.get(section, key) == given and resolved.origin(section, key) == source


@pytest.mark.parametrize("section, key, small, built_in, resolve, given, call", SIZE_RULES, ids=RULE_IDS)
def test_without_the_small_data_value_the_setting_is_the_same_at_any_size(section, key, small, built_in, resolve,
                                                                          given, call):
    resolved = resolve(Config.build([("'mine.yaml'", {section: {f"small_data_{key}": None}})]), 10)
    assert resolved.get(section, key) == built_in and resolved.origin(section, key) == BUILTIN_SOURCE


@pytest.mark.parametrize("rows", [10, 699, 700, 240_000])
@pytest.mark.parametrize("section, key, built_in, resolve", [
    ("body", "ensemble", 4, body_for_rows),  # round 38: 8 members below 700 training rows lost on the check half
    ("body", "dropout", 0.1, body_for_rows),  # round 40: dropout 0.2 below 700 lost on the check half
    ("training", "validation_split", 0.2, training_for_rows),  # round 42: a split of 0.3 below 700 lost there
])  # (benchmarks/results/ablations_round38_plan.md, ablations_round40_plan.md, ablations_round42_plan.md)
def test_the_built_in_value_is_the_same_at_any_size(section, key, built_in, resolve, rows):
    resolved = resolve(Config.builtin(), rows)
    assert resolved.get(section, key) == built_in and resolved.origin(section, key) == BUILTIN_SOURCE


@pytest.mark.parametrize("rows, batch", [(10, 32), (699, 32), (700, 256), (240_000, 256)])
def test_the_built_in_batch_is_32_below_700_training_rows_and_256_from_there(rows, batch):
    # round 39 (benchmarks/results/ablations_round39_plan.md), three seeds a fold on both halves' small tables
    assert training_for_rows(Config.builtin(), rows).get("training", "batch_size") == batch


def test_an_autoencoder_keeps_the_built_in_members_at_any_size():
    settings = _with_rule("body", "ensemble", 8)
    config = Config.build([("'mine.yaml'", {"body": {**settings["body"], "numerical_embedding": "none"}})])
    assert body_for_reconstruction(config) is config and config.get("body", "ensemble") == 4


# ---------------------------------------------------------------------------------------------------- embedding by rows
AUTO_EMBEDDING = {"body": {"numerical_embedding": "auto", "numerical_embedding_min_rows": 500}}


@pytest.mark.parametrize("rows, embedding", [(499, "none"), (500, "periodic"), (50_000, "periodic")])
def test_an_auto_embedding_is_periodic_from_its_row_count(rows, embedding):
    config = Config.build([("'mine.yaml'", AUTO_EMBEDDING)])
    resolved = body_for_rows(config, rows)
    assert resolved.get("body", "numerical_embedding") == embedding
    assert resolved.origin("body", "numerical_embedding") == (
        f"body.numerical_embedding_min_rows ({rows:,} training rows; periodic from 500)")
    assert config.get("body", "numerical_embedding") == "auto"  # the given configuration is not changed
    assert body_for_rows(resolved, 10 ** 6).get("body", "numerical_embedding") == embedding  # resolved once


@pytest.mark.parametrize("embedding", ["none", "periodic"])
def test_an_embedding_set_by_name_holds_at_any_size(embedding):
    config = Config.build([("'mine.yaml'", {"body": {"numerical_embedding": embedding,
                                                     "numerical_embedding_min_rows": 500}})])
    for rows in (10, 10 ** 6):
        assert body_for_rows(config, rows).get("body", "numerical_embedding") == embedding


def test_an_autoencoder_reads_an_auto_embedding_as_none():
    config = Config.build([("'mine.yaml'", AUTO_EMBEDDING)])
    resolved = body_for_reconstruction(config)
    assert resolved.get("body", "numerical_embedding") == "none"
    assert resolved.origin("body", "numerical_embedding") == "body.numerical_embedding auto (none for an autoencoder)"
    periodic = Config.build([("'mine.yaml'", {"body": {"numerical_embedding": "periodic"}})])
    assert body_for_reconstruction(periodic) is periodic


LIGHT_EMBEDDING = {"body": {**AUTO_EMBEDDING["body"], "small_data_periodic_dim": 4}}


@pytest.mark.parametrize("rows, sizes", [(10, (8, 4)), (499, (8, 4)), (500, (48, 24)), (50_000, (48, 24))])
def test_below_its_row_count_an_auto_embedding_is_the_lighter_one_where_set(rows, sizes):
    config = Config.build([("'mine.yaml'", LIGHT_EMBEDDING)])
    resolved = body_for_rows(config, rows)
    assert resolved.get("body", "numerical_embedding") == "periodic"
    assert (resolved.get("body", "periodic_frequencies"), resolved.get("body", "periodic_dim")) == sizes
    if rows < 500:
        rule = f"body.small_data_periodic_dim ({rows:,} training rows; below 500)"
        assert resolved.origin("body", "numerical_embedding") == resolved.origin("body", "periodic_dim") == rule
    else:
        assert resolved.origin("body", "periodic_dim") == BUILTIN_SOURCE
    assert config.get("body", "periodic_dim") == 24  # the given configuration is not changed
    assert body_for_rows(resolved, rows).get("body", "periodic_dim") == sizes[1]  # resolved once


def test_embedding_sizes_set_by_the_user_are_kept_below_the_row_count():
    config = Config.build([("'defaults'", LIGHT_EMBEDDING),
                           ("'mine.yaml'", {"body": {"periodic_dim": 16, "small_data_periodic_frequencies": 12}})])
    resolved = body_for_rows(config, 10)
    assert resolved.get("body", "numerical_embedding") == "periodic"
    assert resolved.get("body", "periodic_dim") == 16 and resolved.origin("body", "periodic_dim") == "'mine.yaml'"
    assert resolved.get("body", "periodic_frequencies") == 12


@pytest.mark.parametrize("embedding", ["none", "periodic"])
def test_the_lighter_embedding_leaves_an_embedding_set_by_name(embedding):
    config = Config.build([("'mine.yaml'", {"body": {**LIGHT_EMBEDDING["body"], "numerical_embedding": embedding}})])
    resolved = body_for_rows(config, 10)
    assert resolved.get("body", "numerical_embedding") == embedding and resolved.get("body", "periodic_dim") == 24


def test_an_autoencoder_reads_auto_as_none_with_the_lighter_embedding_set():
    resolved = body_for_reconstruction(Config.build([("'mine.yaml'", LIGHT_EMBEDDING)]))
    assert resolved.get("body", "numerical_embedding") == "none"


def test_the_embedding_settings_are_checked():
    from keras_defaults.errors import ConfigError

    with pytest.raises(ConfigError, match="numerical_embedding_min_rows"):
        Config.build([("'mine.yaml'", {"body": {"numerical_embedding_min_rows": -1}})])
    with pytest.raises(ConfigError, match="Did you mean 'auto'"):
        Config.build([("'mine.yaml'", {"body": {"numerical_embedding": "autp"}})])
    with pytest.raises(ConfigError, match="'body.small_data_periodic_dim' in 'mine.yaml' must be at least 1"):
        Config.build([("'mine.yaml'", {"body": {"small_data_periodic_dim": 0}})])
    with pytest.raises(ConfigError, match="'body.small_data_periodic_frequencies' in 'mine.yaml' must be at least 1"):
        Config.build([("'mine.yaml'", {"body": {"small_data_periodic_frequencies": 0}})])


@pytest.mark.parametrize("rows, embedding", [(699, "none"), (700, "periodic"), (240_000, "periodic")])
def test_the_built_in_numbers_are_embedded_from_700_training_rows(rows, embedding):
    # round 36 (benchmarks/results/ablations_round36_plan.md): periodic embeddings from 700 training rows, none below
    # (round 41, benchmarks/results/ablations_round41_plan.md: a lighter one below, 8 x 4, lost 4.4% on nba_wage)
    assert body_for_rows(Config.builtin(), rows).get("body", "numerical_embedding") == embedding
