"""Each kind's encoder: statistics from a pandas column, then the Keras layers that apply them."""

import keras
import numpy as np
import pandas as pd
import pytest

from keras_defaults.defaults import Config
from keras_defaults.encoders import ENCODERS, input_tensor
from keras_defaults.schema import infer_column

CONFIG = Config.builtin()


def encode(series, kind=None, settings=None, values=None):
    """Fit the column's encoder on `series`, then run its layers on `values` (default: the same series)."""
    profile = infer_column(series, "col", CONFIG.get("inference"), CONFIG.get("inputs", "boolean"), kind)
    settings = {**CONFIG.get("inputs", profile.kind), **(settings or {})}
    encoder = ENCODERS[profile.kind]
    state = encoder.fit_input(series, profile, settings)
    raw = keras.Input(shape=(), dtype="string" if profile.input_dtype == "string" else "float32")
    encoded = encoder.encode_input(raw, state, settings, "col")
    output = encoded.dense if encoded.dense is not None else encoded.index
    if encoded.index is not None and state.get("one_hot"):
        # The one-hot vector the network expands the index to, then the dense part (a code's number) if any.
        parts = [encoder.index_layer(state, "col")(encoded.index)] + [encoded.dense] * (encoded.dense is not None)
        output = parts[0] if len(parts) == 1 else keras.layers.Concatenate()(parts)
    model = keras.Model(raw, output)
    applied = values if values is not None else series
    return state, keras.ops.convert_to_numpy(model(input_tensor(applied, profile)))


def test_numerical_robust_scaling_with_missing_flag():
    series = pd.Series([1.5, 2.5, 3.5, 4.5, 5.5, np.nan] * 5)
    state, out = encode(series, settings={"smooth_clip": True})
    assert state["median"] == 3.5 and state["missing_indicator"]
    assert out.shape == (30, 2)
    assert out[2, 0] == pytest.approx(0.0)          # the median maps to 0
    assert out[5, 0] == pytest.approx(0.0) and out[5, 1] == 1.0  # missing: median, flagged
    assert np.all(np.abs(out[:, 0]) <= 3.0)


def test_numerical_constant_quartiles_fall_back_to_a_finite_scale():
    series = pd.Series([0.0] * 40 + [5.0, 100.0, 7.0])
    state, out = encode(series, kind="numerical")
    assert state["scale"] > 0 and np.isfinite(out).all()


ZEROS = {"zero_indicator": True}


def test_a_number_whose_floor_is_a_common_zero_gets_a_zero_flag():
    # 40% zeros, the rest positive amounts; a missing value is not a zero.
    series = pd.Series([0.0, 0.0, 2.5, 7.0, 1.0, np.nan, 0.0, 3.0, 4.0, 0.0] * 6)
    state, out = encode(series, settings=ZEROS)
    assert state["zero_share"] == pytest.approx(24 / 54)
    assert out.shape == (60, 3)  # scaled value, missing flag, zero flag
    np.testing.assert_array_equal(out[:, 2], (series == 0).astype("float32"))
    assert out[5, 1] == 1.0 and out[5, 2] == 0.0
    assert "zero flag (44% of training values are 0)" in ENCODERS["numerical"].describe(
        state, {**CONFIG.get("inputs", "numerical"), **ZEROS})


@pytest.mark.parametrize("values, settings", [
    ([0.0, 0.0, 2.5, 7.0, 1.0] * 6, {}),                                         # off by default
    ([0.0, -1.0, 2.5, 7.0, 0.0] * 6, ZEROS),                                     # 0 is not the floor
    ([0.0] + [2.5, 7.0, 1.0, 3.0, 4.0] * 6, ZEROS),                              # 3% zeros: below the share
    ([0.0, 0.0, 2.5, 7.0, 1.0] * 6, {**ZEROS, "zero_indicator_min_share": 0.5}),  # 40%: below the share asked
])
def test_a_number_without_enough_zeros_at_its_floor_has_no_zero_flag(values, settings):
    state, out = encode(pd.Series(values), kind="numerical", settings=settings)
    assert state["zero_share"] is None and out.shape == (len(values), 1)


def test_numerical_without_missing_values_has_no_flag():
    state, out = encode(pd.Series(np.linspace(0, 1, 30)))
    assert not state["missing_indicator"] and out.shape == (30, 1)


def test_categorical_one_hot_with_out_of_vocabulary_bucket():
    series = pd.Series(["b", "a", "b", "c", None] * 6)
    state, out = encode(series, values=pd.Series(["a", "zzz", None]))
    assert state["vocabulary"][0] == "b"  # most frequent first
    assert "" in state["vocabulary"]      # missing is a level of its own
    assert state["one_hot"] and out.shape == (3, len(state["vocabulary"]) + 1)
    assert out[1, 0] == 1.0               # unseen -> the out-of-vocabulary column
    assert out.sum(axis=1).tolist() == [1.0, 1.0, 1.0]


def test_categorical_integer_codes_with_missing():
    series = pd.Series([1, 2, 3, None] * 8, dtype="Int64")
    state, out = encode(series, values=pd.Series([3, 7, None], dtype="Int64"))
    assert state["missing_code"] is not None and state["missing_code"] in state["vocabulary"]
    assert out[1, 0] == 1.0  # the unseen code 7 -> out of vocabulary
    assert out[2, 0] == 0.0  # missing has its own level


def test_many_levels_are_embedded_and_capped():
    series = pd.Series([f"level{i % 40}" for i in range(400)])
    state, out = encode(series, settings={"max_levels": 30, "one_hot_max_levels": 12})
    assert not state["one_hot"] and len(state["vocabulary"]) == 30
    embedding = ENCODERS["categorical"].index_layer(state, "col")
    assert (embedding.input_dim, embedding.output_dim) == (31, state["embedding_dim"])
    assert out.max() <= 30 and out.min() >= 0


def test_a_column_that_fills_the_vocabulary_is_embedded():
    below, _ = encode(pd.Series([f"level{i % 40}" for i in range(400)]), kind="categorical")
    assert below["one_hot"]  # 40 levels: one-hot
    full, _ = encode(pd.Series([f"level{i % 40}" for i in range(400)]), kind="categorical",
                     settings={"max_levels": 30, "one_hot_max_levels": 30})
    assert not full["one_hot"]  # 30 kept + the out-of-vocabulary bucket: above one_hot_max_levels


def test_the_default_vocabulary_keeps_thousands_of_categories_one_hot():
    # 2,500 schools of two pupils each: none shares the out-of-vocabulary bucket, and the column stays one-hot.
    codes = pd.Series(np.repeat(np.arange(2500), 2))
    state, out = encode(codes, kind="categorical", values=pd.Series([0, 2499, 5000]))
    assert len(state["vocabulary"]) == 2500 and state["one_hot"]
    assert out.shape == (3, 2501) and out[2, 0] == 1.0 and out[0, 0] == out[1, 0] == 0.0
    strings, _ = encode(codes.map("school {}".format), kind="categorical")
    assert len(strings["vocabulary"]) == 2500 and strings["one_hot"]


def test_rare_levels_share_the_out_of_vocabulary_bucket():
    series = pd.Series(["common"] * 20 + ["rare"] + ["usual"] * 10)
    state, _ = encode(series, kind="categorical", settings={"min_frequency": 2})
    assert state["vocabulary"] == ["common", "usual"]


def test_boolean_strings_map_yes_to_one():
    state, out = encode(pd.Series(["yes", "no", None] * 10), values=pd.Series(["no", "yes", None]))
    assert (state["false_value"], state["true_value"]) == ("no", "yes")
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])


def test_boolean_numbers_become_zero_one_with_flag():
    state, out = encode(pd.Series([2.0, 5.0, np.nan] * 10), values=pd.Series([5.0, 2.0, np.nan]))
    assert (state["false_value"], state["true_value"]) == (2.0, 5.0)
    np.testing.assert_allclose(out, [[1, 0], [0, 0], [0, 1]])


def test_words_for_true_and_false_read_as_a_boolean_columns_values():
    # A column trained on True/False that arrives as strings (a CSV read with dtype=str, JSON): "True" read as
    # missing, with a warning, though it names the value. Numbers trained on 3 and 7 have no true or false.
    trained = pd.Series([True, False] * 10)
    profile = infer_column(trained, "col", CONFIG.get("inference"), CONFIG.get("inputs", "boolean"))
    encoder = ENCODERS["boolean"]
    state = encoder.fit_input(trained, profile, CONFIG.get("inputs", "boolean"))
    now = pd.Series(["True", " no", "1", "0.0", "maybe", None], dtype=object)
    np.testing.assert_array_equal(encoder.raw_values(now, profile, state), [1.0, 0.0, 1.0, 0.0, np.nan, np.nan])
    assert encoder.count_unreadable(now, profile) == 1  # "maybe"; None is missing, not unreadable
    sevens = pd.Series([3, 7] * 10)
    numbers = infer_column(sevens, "col", CONFIG.get("inference"), CONFIG.get("inputs", "boolean"))
    numbers_state = encoder.fit_input(sevens, numbers, CONFIG.get("inputs", "boolean"))
    assert np.isnan(encoder.raw_values(pd.Series(["true", "7"]), numbers, numbers_state)[0])
    assert encoder.count_unreadable(pd.Series(["true", "7"]), numbers) == 1


def test_text_is_a_tf_idf_bag_of_words():
    series = pd.Series(["the cat sat", "the dog ran far", "a cat ran", None] * 10)
    state, out = encode(series, kind="text", settings={"max_tokens": 50})
    assert "cat" in state["vocabulary"]
    assert out.shape == (40, len(state["vocabulary"]))
    assert out[3].sum() == 0.0  # missing text has no words


def test_text_cannot_be_a_target():
    with pytest.raises(TypeError, match="cannot be a target"):
        ENCODERS["text"].fit_target(pd.Series(["a b c"]), None, {})


@pytest.mark.parametrize("log_transform", [False, True])
def test_regression_target_is_standardised_and_invertible(log_transform):
    encoder = ENCODERS["numerical"]
    settings = {**CONFIG.get("targets", "numerical"), "log_transform": log_transform}
    y = pd.Series([10.0, 20.0, 30.0, 4000.0])
    state = encoder.fit_target(y, None, settings)
    assert state["log1p"] is log_transform
    learned = encoder.target_array(y, state, settings)
    assert learned.mean() == pytest.approx(0.0, abs=1e-6) and learned.std() == pytest.approx(1.0, abs=1e-5)
    if log_transform:  # standardised log1p(y): the ranks kept, the spread of the orders of magnitude
        logs = np.log1p(y.to_numpy())
        np.testing.assert_allclose(learned.reshape(-1), (logs - logs.mean()) / logs.std(), rtol=1e-5)
    # Inverted by the layer the served model ends with, then decoded: the user's numbers back.
    served = encoder.serve(keras.ops.convert_to_tensor(learned), state, "y")
    np.testing.assert_allclose(encoder.decode(served, state), y.to_numpy(), rtol=1e-5)


def target_profile(series):
    return infer_column(series, "y", CONFIG.get("inference"), CONFIG.get("inputs", "boolean"))


def test_classification_targets_keep_the_users_labels():
    settings = CONFIG.get("targets", "categorical")
    labels = pd.Series(["b", "a", "c", "a"])
    state = ENCODERS["categorical"].fit_target(labels, target_profile(labels), settings)
    assert state["classes"] == ["a", "b", "c"]
    codes = ENCODERS["categorical"].target_array(pd.Series(["c", "a"]), state, settings)
    assert codes.tolist() == [2, 0]
    one_hot = ENCODERS["categorical"].target_array(pd.Series(["c", "a"]), state,
                                                   {**settings, "loss": "categorical_crossentropy"})
    assert one_hot.tolist() == [[0, 0, 1], [1, 0, 0]]
    labels = pd.Series(["no", "yes", "no"])
    state = ENCODERS["boolean"].fit_target(labels, target_profile(labels), CONFIG.get("targets", "boolean"))
    assert state["classes"] == ["no", "yes"]


def test_numbers_can_also_be_encoded_over_quantile_bins():
    series = pd.Series(np.arange(100, dtype="float64") + 0.5)
    state, out = encode(series, settings={"piecewise_linear_bins": 4})
    assert state["bin_edges"] == pytest.approx([0.5, 25.25, 50.0, 74.75, 99.5])
    assert out.shape == (100, 5)  # the scaled number, then one feature per bin
    np.testing.assert_allclose(out[50, 1:], [1.0, 1.0, 0.5 / 24.75, 0.0], atol=1e-6)  # 50.5 is in the third bin
    assert encode(pd.Series([1.0, 2.0] * 20 + [np.nan]), "numerical", {"piecewise_linear_bins": 4})[0][
        "bin_edges"] is None  # two values need no bins


def test_numbers_can_be_scaled_by_quantiles_to_normal_scores():
    series = pd.Series(np.concatenate([np.random.default_rng(1).lognormal(sigma=2.0, size=600), [np.nan]]))
    state, out = encode(series, settings={"scaling": "quantile"})
    assert len(state["quantile_levels"]["quantiles"]) == 20  # one per 30 rows
    assert out.shape == (601, 2)  # the score, then the missing flag
    scores = out[:600, 0]
    assert abs(scores.mean()) < 0.1 and abs(scores.std() - 1.0) < 0.15  # a heavy tail comes out about normal
    assert np.all(np.diff(scores[np.argsort(series[:600].to_numpy())]) >= 0)  # order is kept
    assert out[600, 0] == pytest.approx(out[np.argsort(series[:600].to_numpy())[300], 0], abs=0.1)  # the median
    assert "quantile scaling" in ENCODERS["numerical"].describe(state, {**CONFIG.get("inputs", "numerical"),
                                                                         "scaling": "quantile"})
    mostly_one_value, out = encode(pd.Series([3.5] * 40 + [4.25, 5.5]), settings={"scaling": "quantile"})
    assert mostly_one_value["quantile_levels"]["quantiles"] == [3.5, 5.5]  # the 10 levels: nine at 3.5
    assert out[0, 0] < 0 < out[40, 0] < out[41, 0]


def test_integer_codes_can_keep_their_order_as_a_number():
    series = pd.Series([1, 2, 3, 4] * 10 + [None], dtype="Int64")
    state, out = encode(series, settings={"with_number": True})
    assert state["number"]["median"] == 2.0 and state["number"]["center"] == pytest.approx(2.5)
    assert out.shape == (41, 7)  # one-hot of 4 codes + missing + out-of-vocabulary, then the number
    assert out[3, -1] == pytest.approx((4 - 2.5) / np.sqrt(1.25)) and out[40, -1] == pytest.approx(
        (2 - 2.5) / np.sqrt(1.25))


def test_text_can_be_weighed_as_scikit_learns_sublinear_l2_tf_idf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = pd.Series(["red fox red fox red", "lazy dog", "red dog barks", "fox and dog and fox", "quiet night"] * 4)
    state, out = encode(texts, "text", {"sublinear_tf": True, "normalize": "l2"})
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    reference = TfidfVectorizer(sublinear_tf=True, smooth_idf=True).fit(texts)
    vocabulary = state["vocabulary"]
    ours = {token: out[0, i] for i, token in enumerate(vocabulary) if out[0, i]}
    theirs = dict(zip(reference.get_feature_names_out(), reference.transform(texts[:1]).toarray()[0]))
    # The same terms, and the same order of weights: Keras's IDF is log(1 + N / (1 + df)), scikit-learn's 1 +
    # log((1 + N) / (1 + df)), so the values differ slightly.
    assert set(ours) == {t for t, w in theirs.items() if w}
    assert sorted(ours, key=ours.get) == sorted(ours, key=lambda t: theirs[t])


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", "string[python]"])
@pytest.mark.parametrize("settings", [{}, {"max_levels": 3}, {"min_frequency": 2, "max_levels": 5}])
def test_categorical_state_of_a_string_dtype_is_the_state_of_the_same_labels_as_objects(dtype, settings):
    # A string dtype is counted as stored (by Arrow); Python objects value by value: the same vocabulary, in order.
    rng = np.random.default_rng(0)
    labels = np.array(["b", "a", "", "c", "É", "d d", "x" * 1_001, "e", "3", "f"], dtype=object)
    values = labels[rng.zipf(1.5, 400) % len(labels)]
    values[rng.random(400) < 0.1] = None
    settings = {**CONFIG.get("inputs", "categorical"), **settings}
    encoder = ENCODERS["categorical"]
    states = []
    for series in (pd.Series(values, dtype=object), pd.Series(values, dtype=dtype)):
        profile = infer_column(series, "col", CONFIG.get("inference"), CONFIG.get("inputs", "boolean"), "categorical")
        states.append(encoder.fit_input(series, profile, settings))
    assert states[0] == states[1]
    assert "" in states[0]["vocabulary"] and "x" * 1_001 not in states[0]["vocabulary"]


@pytest.mark.parametrize("change, requirement", [
    ({"low": 5.0, "high": 1.0}, "low is at most high"),
    ({"low": 1.0}, "it has low and high, or neither"),
])
def test_a_saved_training_range_that_cannot_be_one_is_refused(change, requirement):
    from keras_defaults.state_schema import ShapeMismatch, check

    state, _ = encode(pd.Series(np.linspace(0, 1, 30)))
    check(state, ENCODERS["numerical"].input_state_shape, "state")  # a fitted state holds its range
    broken = {key: value for key, value in state.items() if key not in ("low", "high")}
    with pytest.raises(ShapeMismatch, match=requirement):
        check({**broken, **change}, ENCODERS["numerical"].input_state_shape, "state")
