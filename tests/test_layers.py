import keras
import numpy as np
import pytest

from keras_defaults.layers import (LabelSet, NegativeBinomialDecoder, NegativeBinomialMixture, NegativeBinomialNLL,
                                   NegativeBinomialParameters)
from keras_defaults.layers import (CategoryCodes, ClipToRange, FillMissing, FusedNumbers, GaussianNLL, MissingIndicator,
                                   NormalDecoder, NormalMixture, NormalParameters, OneHotLookups, OnColumn,
                                   QuantileNormal, SmoothClip, TakeColumns, TargetDecoder, ZeroIndicator)


def run(layer, values):
    return keras.ops.convert_to_numpy(layer(np.asarray(values, dtype="float32")))


def test_fill_missing_replaces_nan_and_infinity():
    out = run(FillMissing(2.5), [1.0, np.nan, np.inf, -np.inf])
    np.testing.assert_allclose(out[:, 0], [1.0, 2.5, 2.5, 2.5])


def test_missing_indicator_flags_non_finite_values():
    np.testing.assert_array_equal(run(MissingIndicator(), [1.0, np.nan, np.inf])[:, 0], [0.0, 1.0, 1.0])


def test_smooth_clip_is_bounded_and_monotone():
    values = np.array([-1e30, -10.0, -1.0, 0.0, 1.0, 10.0, 1e30], dtype="float32")
    out = run(SmoothClip(3.0), values)
    assert np.all(np.isfinite(out)) and np.all(np.abs(out) <= 3.0 + 1e-5)
    assert np.all(np.diff(out) >= 0) and np.all(np.diff(out[1:-1]) > 0)
    assert abs(out[4] - 1.0 / np.sqrt(1 + 1 / 9)) < 1e-6
    assert abs(out[5] - 10.0 / np.sqrt(1 + 100 / 9)) < 1e-5
    assert abs(out[-1] - 3.0) < 1e-5


def test_category_codes_round_and_mark_missing():
    out = keras.ops.convert_to_numpy(CategoryCodes(99)(np.array([1.0, 2.0, np.nan], dtype="float32")))
    np.testing.assert_array_equal(out, [1, 2, 99])


@pytest.mark.parametrize("log1p", [False, True])
def test_target_decoder_inverts_the_target_transform(log1p):
    y = np.array([0.5, 3.0, 120.0])
    learned = np.log1p(y) if log1p else y
    center, scale = learned.mean(), learned.std()
    out = run(TargetDecoder(center, scale, log1p), ((learned - center) / scale).reshape(-1, 1))
    np.testing.assert_allclose(out[:, 0], y, rtol=1e-4)


def test_fused_numbers_give_the_per_column_layers_values_bit_for_bit():
    """Three numbers (clipped, clipped, not) and a 0/1 column of 5s and 9s, against FillMissing, Normalization or
    Rescaling, SmoothClip and MissingIndicator column by column."""
    rng = np.random.default_rng(0)
    columns = [rng.normal(size=64) * 1e3, rng.lognormal(size=64), rng.normal(size=64), rng.choice([5.0, 9.0], 64)]
    for values in columns:
        values[::7] = np.nan
    columns[0][3], columns[0][5], columns[1][4] = 1e30, -np.inf, np.inf
    columns = [c.astype("float32") for c in columns]
    fill, mean, scale, clip = [1.5, 2.0, 0.1, 5.0], [10.0, 1.2, 0.0, 0.0], [700.0, 0.9, 1.0, 1.0], [3.0, 1000.0, 0, 0]
    layer = FusedNumbers(fill=fill, mean=mean, variance=[s ** 2 for s in scale], scale=[1.0, 1.0, 1.0, 0.25],
                         offset=[0.0, 0.0, 0.0, -1.25], rescale=[False, False, False, True], clip=clip)
    out = keras.ops.convert_to_numpy(layer([keras.ops.convert_to_tensor(c) for c in columns]))
    assert out.shape == (64, 8)
    for i, values in enumerate(columns):
        filled = FillMissing(fill[i])(values)
        if i < 3:
            expected = keras.layers.Normalization(mean=mean[i], variance=scale[i] ** 2)(filled)
        else:
            expected = keras.layers.Rescaling(scale=0.25, offset=-1.25)(filled)
        if clip[i]:
            expected = SmoothClip(clip[i])(expected)
        np.testing.assert_array_equal(out[:, i], keras.ops.convert_to_numpy(expected)[:, 0])
        np.testing.assert_array_equal(out[:, 4 + i], run(MissingIndicator(), values)[:, 0])
    assert set(out[:, 3]) == {0.0, 1.0}  # 5 -> 0, 9 -> 1, missing -> the fill, 5


def test_fused_numbers_flag_zeros_as_the_zero_indicator_does():
    columns = [np.array([0.0, 1.0, np.nan, 0.0, -0.0, 3.0], dtype="float32"),
               np.array([0.0, 2.0, 0.0, np.inf, 1.0, 0.0], dtype="float32")]
    layer = FusedNumbers(fill=[0.5, 0.5], mean=[1.0, 1.0], variance=[1.0, 1.0], scale=[1.0, 1.0],
                         offset=[0.0, 0.0], rescale=[False, False], clip=[0.0, 0.0], zero=[True, False])
    out = keras.ops.convert_to_numpy(layer([keras.ops.convert_to_tensor(c) for c in columns]))
    assert out.shape == (6, 6)  # values, missing flags, zero flags
    for i, values in enumerate(columns):
        np.testing.assert_array_equal(out[:, 4 + i], run(ZeroIndicator(), values)[:, 0])
    np.testing.assert_array_equal(out[:, 4], [1.0, 0.0, 0.0, 1.0, 1.0, 0.0])  # a missing value is not a zero
    # A layer saved before zero flags (no `zero` in its config) loads without them.
    config = {k: v for k, v in layer.get_config().items() if k != "zero"}
    assert FusedNumbers.from_config(config).zero == [False, False]


def test_fused_numbers_take_one_entry_a_column():
    with pytest.raises(ValueError, match="one entry a column"):
        FusedNumbers(fill=[0.0], mean=[0.0, 1.0], variance=[1.0], scale=[1.0], offset=[0.0], rescale=[False],
                     clip=[0.0])


def test_take_columns_gathers_in_the_order_given():
    out = run(TakeColumns([2, 0, 2]), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(out, [[2.0, 0.0, 2.0], [5.0, 3.0, 5.0]])


@pytest.mark.parametrize("layer", [FillMissing(1.0), MissingIndicator(), SmoothClip(2.0), CategoryCodes(-5),
                                   FusedNumbers([0.0], [1.0], [4.0], [1.0], [0.0], [False], [3.0]),
                                   FusedNumbers([0.0], [1.0], [4.0], [1.0], [0.0], [False], [3.0], [True]),
                                   ZeroIndicator(),
                                   TakeColumns([1, 0]),
                                   TargetDecoder(1.0, 2.0, True), QuantileNormal([0.0, 1.0, 5.0], [0.1, 0.5, 0.9]),
                                   NormalParameters(), NormalDecoder(1.0, 2.0), NormalMixture(),
                                   NegativeBinomialParameters(), NegativeBinomialDecoder(3.0),
                                   NegativeBinomialMixture(), LabelSet(["a", "b"], ";")])
def test_layers_serialise_by_registered_name(layer):
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"].startswith("keras_defaults>")
    again = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert again.get_config() == layer.get_config()


def test_a_label_set_is_a_multi_hot_row_with_one_unit_for_unseen_labels():
    import tensorflow as tf

    rows = tf.constant(["a|b", "", " c | a ", "z|a|a", "b|", "|"])
    out = LabelSet(["a", "b", "c"], "|")(rows).numpy()
    # Columns: out of vocabulary, a, b, c. Labels are stripped, empty ones dropped, repeats counted once.
    np.testing.assert_array_equal(out, [[0, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 1, 0],
                                        [0, 0, 0, 0]])
    np.testing.assert_array_equal(LabelSet(["x y"], ", ")(tf.constant(["x y, w", "x y"])).numpy(), [[1, 1], [0, 1]])


def test_piecewise_linear_encodes_each_bin_between_zero_and_one():
    from keras_defaults.layers import PiecewiseLinear

    out = run(PiecewiseLinear([0.0, 1.0, 3.0, 4.0]), [-1.0, 0.5, 2.0, 3.5, 10.0])
    np.testing.assert_allclose(out, [[-1.0, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.5, 0.0], [1.0, 1.0, 0.5],
                                     [1.0, 1.0, 7.0]])  # the first and last bins extend beyond the edges


def test_quantile_normal_is_scikit_learns_quantile_transformer():
    from sklearn.preprocessing import QuantileTransformer

    from keras_defaults.encoders.numerical import _quantile_levels
    from keras_defaults.layers import QuantileNormal

    values = np.random.default_rng(0).lognormal(size=3000)  # distinct values: no ties
    reference = QuantileTransformer(n_quantiles=100, output_distribution="normal").fit(values.reshape(-1, 1))
    queries = np.concatenate([values[:300], [values.min() - 5.0, values.max() * 10.0]])
    out = run(QuantileNormal(**_quantile_levels(values)), queries.reshape(-1, 1))
    np.testing.assert_allclose(out[:, 0], reference.transform(queries.reshape(-1, 1))[:, 0], atol=1e-4)
    assert out[-2, 0] == pytest.approx(-5.199, abs=1e-3) and out[-1, 0] == pytest.approx(5.199, abs=1e-3)


def test_quantile_levels_put_a_shared_value_at_the_middle_of_its_levels():
    from keras_defaults.encoders.numerical import _quantile_levels

    zero_inflated = np.concatenate([np.zeros(600), np.arange(1.0, 401.0)])  # 60% zeros
    points = _quantile_levels(zero_inflated)
    assert points["quantiles"][0] == 0.0 and points["levels"][0] == pytest.approx(0.3, abs=0.01)
    assert np.all(np.diff(points["quantiles"]) > 0) and np.all(np.diff(points["levels"]) > 0)
    assert _quantile_levels(np.full(50, 7.0)) is None  # a single value has no quantiles to map


def test_term_weights_are_sklearns_sublinear_l2_tf_idf():
    from keras_defaults.layers import TermWeights

    counts = np.array([[0, 1, 3], [2, 0, 0], [0, 0, 0]], dtype="float32")
    idf = np.array([1.0, 2.0, 0.5], dtype="float32")
    out = keras.ops.convert_to_numpy(TermWeights(idf, sublinear=True, l2=True)(counts))
    expected = np.where(counts > 0, 1 + np.log(np.maximum(counts, 1)), 0) * idf
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(out, np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0),
                               rtol=1e-6)


def test_periodic_embedding_gives_each_number_its_own_units():
    from keras_defaults.layers import PeriodicEmbedding

    keras.utils.set_random_seed(0)
    layer = PeriodicEmbedding(frequencies=4, sigma=1.0, dim=3)
    out = keras.ops.convert_to_numpy(layer(np.array([[0.0, 1.0], [0.5, -2.0]], dtype="float32")))
    assert out.shape == (2, 6) and np.all(out >= 0)  # two numbers, three ReLU units each
    assert [tuple(w.shape) for w in layer.weights] == [(2, 4), (2, 8, 3), (2, 3)]
    again = PeriodicEmbedding.from_config(layer.get_config())
    again.build((None, 2))
    again.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(np.array([[0.0, 1.0]], dtype="float32"))), out[:1])


def test_an_ensemble_sees_its_own_scaled_features_and_has_heads_of_its_own():
    from keras_defaults.layers import EnsembleDense, EnsembleInputs, MemberMean

    keras.utils.set_random_seed(0)
    features = np.arange(6, dtype="float32").reshape(2, 3)
    spread = EnsembleInputs(4)
    members = keras.ops.convert_to_numpy(spread(features))
    scales = keras.ops.convert_to_numpy(spread.scales)
    assert members.shape == (2, 4, 3) and set(np.unique(scales)) == {-1.0, 1.0}
    np.testing.assert_allclose(members, features[:, None, :] * scales)
    heads = EnsembleDense(2, activation="sigmoid")
    out = keras.ops.convert_to_numpy(heads(members))
    assert out.shape == (2, 4, 2) and np.all((out > 0) & (out < 1))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(MemberMean()(out)), out.mean(axis=1), rtol=1e-6)


def test_the_members_loss_is_the_mean_of_each_members_loss():
    from keras_defaults.layers import MembersLoss

    y_true = np.array([[1.0], [0.0]], dtype="float32")
    y_pred = np.array([[[0.9], [0.6]], [[0.2], [0.4]]], dtype="float32")  # 2 rows, 2 members
    loss = float(MembersLoss("binary_crossentropy")(y_true, y_pred))
    each = [np.mean(keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(y_true, y_pred[:, m])))
            for m in range(2)]
    assert loss == pytest.approx(np.mean(each), rel=1e-5)
    assert MembersLoss.from_config(MembersLoss("binary_crossentropy").get_config()).loss is not None


@pytest.mark.parametrize("members", [1, 3])
def test_one_hot_lookups_are_the_dense_product_of_the_columns_one_hot_vectors(members):
    # A dense layer over the columns' one-hot vectors side by side (each member's scaled by its own scales, as
    # EnsembleInputs does) computes exactly what the lookups do, one column or several.
    levels = [5, 2, 7]
    layer = OneHotLookups(units=4, levels=levels, members=members, limit=0.5)
    rng = np.random.default_rng(members)
    indices = [rng.integers(0, n, 6) for n in levels]
    out = keras.ops.convert_to_numpy(layer(indices))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    assert kernel.shape == (sum(levels), 4) and np.all(np.abs(kernel) <= 0.5)
    one_hot = np.concatenate([np.eye(n, dtype="float32")[index] for n, index in zip(levels, indices)], axis=1)
    if members == 1:
        np.testing.assert_allclose(out, one_hot @ kernel, rtol=1e-5, atol=1e-6)
        return
    scales = keras.ops.convert_to_numpy(layer.scales)  # (levels, members)
    assert out.shape == (6, members, 4) and set(np.unique(scales)) <= {-1.0, 1.0}
    for m in range(members):
        np.testing.assert_allclose(out[:, m], (one_hot * scales[:, m]) @ kernel, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rows", [1, 64])
def test_one_hot_lookups_give_the_same_numbers_in_training_in_inference_and_traced(rows):
    # The exported SavedModel runs the layer inside a tf.function, on batches of unknown length, of int64 indices.
    import tensorflow as tf

    layer = OneHotLookups(units=8, levels=[3, 40], members=4, limit=0.5)
    rng = np.random.default_rng(rows)
    indices = [rng.integers(0, 3, rows), rng.integers(0, 40, rows)]
    trained = keras.ops.convert_to_numpy(layer(indices, training=True))
    spec = tf.TensorSpec([None], tf.int64)
    traced = tf.function(lambda a, b: layer([a, b], training=False), input_signature=[spec, spec])
    for out in (layer(indices), traced(*[tf.constant(index) for index in indices])):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), trained)
    assert trained.shape == (rows, 4, 8)
    assert OneHotLookups.from_config(layer.get_config()).levels == [3, 40]


def test_fill_missing_and_category_codes_keep_their_dtypes():
    assert keras.ops.convert_to_numpy(FillMissing(2.5)(np.array([np.nan], dtype="float32"))).dtype == np.float32
    assert keras.ops.convert_to_numpy(CategoryCodes(-1)(np.array([np.nan, 2.0], dtype="float32"))).dtype == np.int64


def test_cumulative_logits_give_ordered_probabilities_whatever_the_weights():
    from keras_defaults.layers import CumulativeLogits

    layer = CumulativeLogits(4, thresholds=[-1.0, 0.0, 2.0])
    scores = np.linspace(-6, 6, 25, dtype="float32").reshape(-1, 1)
    probabilities = np.asarray(layer(scores))
    assert probabilities.shape == (25, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    # A score of 0 gives P(y <= k) = sigmoid(threshold k): the starting thresholds are the logits of the shares.
    np.testing.assert_allclose(np.cumsum(np.asarray(layer(np.zeros((1, 1), "float32")))[0])[:-1],
                               1 / (1 + np.exp(-np.array([-1.0, 0.0, 2.0]))), atol=1e-6)
    # Any weights (steps driven negative by training) keep the thresholds increasing and the probabilities valid.
    layer.steps.assign(np.array([-30.0, 5.0], dtype="float32"))
    probabilities = np.asarray(layer(scores))
    assert (probabilities >= 0).all() and np.all(np.diff(np.asarray(layer.thresholds())) > 0)
    above = 1.0 - np.cumsum(probabilities, axis=1)[:, :-1]  # P(y > k): falls with k, rises with the score
    assert np.all(np.diff(above, axis=1) <= 1e-7) and np.all(np.diff(above, axis=0) >= -1e-7)
    # Members of an ensemble: (batch, members, 1) -> (batch, members, classes).
    assert tuple(layer(np.zeros((2, 3, 1), "float32")).shape) == (2, 3, 4)
    restored = CumulativeLogits.from_config(layer.get_config())
    assert restored.classes == 4 and restored.initial_thresholds == [-1.0, 0.0, 2.0]
    for bad in ([0.0, -1.0, 2.0], [0.0, 1.0], [0.0, float("nan"), 1.0]):
        with pytest.raises(ValueError, match="3 finite, increasing numbers"):
            CumulativeLogits(4, thresholds=bad)


def test_a_normal_heads_parameters_keep_the_mean_and_a_positive_spread():
    out = run(NormalParameters(), [[1.5, -50.0], [-2.0, 0.0], [0.0, 30.0]])
    np.testing.assert_allclose(out[:, 0], [1.5, -2.0, 0.0])
    np.testing.assert_allclose(out[:, 1], [1e-3, np.log(2.0) + 1e-3, 30.0 + 1e-3], rtol=1e-5)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_the_gaussian_nll_is_the_normals_log_density_and_beta_only_weighs_it(beta):
    from scipy.stats import norm

    y = np.array([[0.5], [2.0], [-1.0]], dtype="float32")
    mean_sd = np.array([[0.0, 1.0], [1.0, 0.5], [-1.0, 2.0]], dtype="float32")
    per_row = -norm.logpdf(y[:, 0], mean_sd[:, 0], mean_sd[:, 1]) * mean_sd[:, 1] ** (2 * beta)
    loss = GaussianNLL(beta=beta)
    assert float(loss(y, mean_sd)) == pytest.approx(per_row.mean(), rel=1e-5)
    assert keras.losses.deserialize(keras.losses.serialize(loss)).beta == beta


def test_a_normal_decoder_maps_the_mean_and_scales_the_spread():
    np.testing.assert_allclose(run(NormalDecoder(10.0, 3.0), [[1.0, 0.5], [-2.0, 2.0]]), [[13.0, 1.5], [4.0, 6.0]])


def test_a_normal_mixture_has_the_moments_of_its_members():
    members = np.array([[[0.0, 1.0], [2.0, 1.0]], [[1.0, 0.5], [1.0, 0.5]]], dtype="float32")  # (batch 2, members 2)
    out = run(NormalMixture(), members)
    # Row 1: means 0 and 2, variance 1 each: mean 1, variance 1 + 1 (the spread of the means). Row 2: the same normal.
    np.testing.assert_allclose(out, [[1.0, np.sqrt(2.0)], [1.0, 0.5]], rtol=1e-6)


@pytest.mark.parametrize("count_scale", [1.0, 4.0])
def test_the_negative_binomial_nll_is_its_log_probability_of_the_counts(count_scale):
    from scipy.stats import nbinom, poisson

    counts = np.array([0.0, 3.0, 17.0, 1.0])
    mean, alpha = np.array([0.5, 2.0, 12.0, 1.0]), np.array([0.2, 1.0, 0.5, 0.001])
    r = 1.0 / alpha
    per_row = -nbinom.logpmf(counts, r, r / (r + mean))  # scipy's (n, p): n = 1 / alpha, p = n / (n + mean)
    # The head learns counts and means in units of count_scale; the loss scores the counts themselves.
    y = (counts / count_scale).astype("float32").reshape(-1, 1)
    predicted = np.stack([mean / count_scale, alpha], axis=1).astype("float32")
    loss = NegativeBinomialNLL(count_scale=count_scale)
    assert float(loss(y, predicted)) == pytest.approx(per_row.mean(), rel=1e-4)
    # The smallest dispersion is the Poisson's likelihood, to float32's precision.
    assert float(loss(y[3:], predicted[3:])) == pytest.approx(-poisson.logpmf(1.0, 1.0), rel=1e-3)
    assert keras.losses.deserialize(keras.losses.serialize(loss)).count_scale == count_scale
    with pytest.raises(ValueError, match="count_scale must be a positive number. Received: count_scale=0"):
        NegativeBinomialNLL(count_scale=0)


def test_negative_binomial_parameters_are_a_positive_mean_and_dispersion():
    out = run(NegativeBinomialParameters(), [[0.0, 0.0], [np.log(5.0), -30.0], [-3.0, 4.0]])
    np.testing.assert_allclose(out[:, 0], [1.0, 5.0, np.exp(-3.0)], rtol=1e-5)
    assert (out[:, 1] >= 1e-3).all() and out[0, 1] == pytest.approx(np.log(2.0) + 1e-3, rel=1e-5)


def test_a_negative_binomial_decoder_gives_the_mean_and_standard_deviation_in_counts():
    # mean 2 x scale 3 = 6 counts, dispersion 0.5: variance 6 + 0.5 * 36 = 24.
    np.testing.assert_allclose(run(NegativeBinomialDecoder(3.0), [[2.0, 0.5]]), [[6.0, np.sqrt(24.0)]], rtol=1e-6)


def test_a_negative_binomial_mixture_has_the_moments_of_its_members():
    members = np.array([[[2.0, 0.5], [4.0, 0.25]], [[3.0, 0.1], [3.0, 0.1]]], dtype="float32")
    out = run(NegativeBinomialMixture(), members)
    # Row 1: variances 2 + 0.5 * 4 = 4 and 4 + 0.25 * 16 = 8; the mixture's: mean 6 + spread of the means 1 = 7,
    # about a mean of 3, so the dispersion is (7 - 3) / 9. Row 2: the same distribution twice.
    np.testing.assert_allclose(out, [[3.0, 4.0 / 9.0], [3.0, 0.1]], rtol=1e-5)


def test_on_column_scores_one_output_only():
    metric = OnColumn("mae")
    metric.update_state(np.array([[1.0], [3.0]]), np.array([[2.0, 100.0], [3.0, 100.0]], dtype="float32"))
    assert float(metric.result()) == pytest.approx(0.5)


def test_the_pinball_loss_is_each_quantiles_check_function():
    from keras_defaults.layers import PinballLoss

    y = np.array([[1.0], [0.0]], dtype="float32")
    predicted = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], dtype="float32")
    levels = np.array([0.1, 0.5, 0.9])
    error = y - predicted
    expected = np.maximum(levels * error, (levels - 1) * error).mean(axis=1).mean()
    assert float(PinballLoss([0.1, 0.5, 0.9])(y, predicted)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("levels", [[0.05, 0.5, 0.95], [0.5, 0.9], [0.1, 0.25, 0.5], [0.5]])
def test_a_quantile_ladder_keeps_its_outputs_in_order_whatever_the_scores(levels):
    from keras_defaults.layers import QuantileLadder

    scores = np.random.default_rng(0).normal(scale=5.0, size=(200, len(levels)))
    out = run(QuantileLadder(levels), scores)
    middle = levels.index(0.5)
    assert out.shape == scores.shape and (np.diff(out, axis=1) >= 0).all()
    np.testing.assert_allclose(out[:, middle], scores[:, middle], rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(QuantileLadder(levels)),
                                                  safe_mode=True)
    assert again.quantiles == levels


def test_clip_to_range_reads_values_beyond_the_range_as_its_ends_and_refuses_an_empty_range():
    layer = ClipToRange(-1.0, 2.0)
    out = keras.ops.convert_to_numpy(layer(np.array([[-5.0], [0.5], [9.0]], dtype="float32")))
    np.testing.assert_array_equal(out.ravel(), [-1.0, 0.5, 2.0])
    assert ClipToRange.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="low <= high"):
        ClipToRange(3.0, 1.0)
