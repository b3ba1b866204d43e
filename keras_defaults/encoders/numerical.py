"""Numbers: impute the median and flag missing values, scale robustly (or by quantiles), clip smoothly; a linear
regression head, a normal one (mean and standard deviation per row), a quantile one, or a count one (Poisson,
negative binomial)."""

from statistics import NormalDist

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from keras_defaults.encoders.base import EncodedColumn, Encoder, loss_name
from keras_defaults.errors import ConfigError, DataError
from keras_defaults.frames import check_target_range
from keras_defaults.layers import (ClipToRange, FillMissing, GaussianNLL, MissingIndicator, NegativeBinomialDecoder,
                                   NegativeBinomialMixture, NegativeBinomialNLL, NegativeBinomialParameters,
                                   NormalDecoder, NormalMixture, NormalParameters, OnColumn, PinballLoss,
                                   PiecewiseLinear, QuantileLadder, QuantileNormal, SmoothClip, TargetDecoder,
                                   ZeroIndicator)
from keras_defaults.schema import is_duration, numeric_values
from keras_defaults.intervals import GRID, half_width, score_quantiles
from keras_defaults.state_schema import FINITE, FLAG, SCALE, Integer, ListOf, Nullable, Number, Record, Text

# Losses that read the target in its own units (logarithms, ratios): meaningless on a standardised target.
UNSCALED_LOSSES = {"mean_squared_logarithmic_error", "poisson", "negative_binomial", "mean_absolute_percentage_error"}
# Losses of counts: a non-negative target, learned in units of its training mean.
COUNT_LOSSES = ("poisson", "negative_binomial")


# A normal head's likelihood can weigh each row by sigma^(2 beta) (beta-NLL, see `layers.GaussianNLL`). Seitzer et
# al. (2022) recommend 0.5, so that the mean learns about as fast as under MSE; on the tune half's eight regression
# tables the plain likelihood (0) does better: 90% interval score 0.867 x the point head's against 0.935 x, R^2 0.003
# below the point head's against 0.036 below (beta 0.5 collapsed on carseats: R^2 0.55 vs 0.83;
# benchmarks/results/intervals.md, normal_b0 vs normal_b05).
NORMAL_BETA = 0.0


# Normalization keeps its variance in float32, where the square of a spread above ~1.8e19 overflows to infinity and
# would zero the column; capped, a column that wide still reaches the model (saturated by the smooth clip).
_MAX_SCALE = float(np.sqrt(np.finfo(np.float32).max)) / 2


def _center_and_scale(values, scaling):
    if scaling == "standard":
        center, scale = float(np.mean(values)), float(np.std(values))
    else:
        q25, center, q75 = (float(q) for q in np.quantile(values, [0.25, 0.5, 0.75]))
        scale = q75 - q25
        if scale <= 0:
            # Most rows share one value (e.g. zero-inflated counts): fall back to the spread of the rest.
            scale = float(np.std(values))
    return center, (min(scale, _MAX_SCALE) if scale > 0 and np.isfinite(scale) else 1.0)


def _quantile_levels(values):
    """The (quantile, level) points of scikit-learn's QuantileTransformer, with its rule for how many: one per 30
    rows, from 10 to 1,000 (as in TabM's preprocessing). A value that several quantiles share (zero-inflated counts,
    small integer codes) gets the middle of their levels, as scikit-learn's averaged forward and backward
    interpolation gives it inside the range (scikit-learn sends a tied lowest or highest value to the end level;
    here a column's many zeros stay where their share puts them). None when the column takes a single value (in
    float32, as the model reads it)."""
    levels = np.linspace(0.0, 1.0, max(min(len(values) // 30, 1000), 10))
    points = np.quantile(values, levels).astype("float32")
    quantiles, first, counts = np.unique(points, return_index=True, return_counts=True)
    if len(quantiles) < 2:
        return None
    middle = (levels[first] + levels[first + counts - 1]) / 2
    return {"quantiles": [float(q) for q in quantiles], "levels": [float(level) for level in middle]}


def _zero_share(values, settings):
    """The share of the training values that are exactly 0 when the column gets a zero flag (`zero_indicator`): 0 is
    its lowest value (amounts, counts, durations, sizes: nothing of it) and at least `zero_indicator_min_share` of
    the values hold it; else None. A tree splits such a column at 0 for free; a network reads the step from a flag."""
    if not settings["zero_indicator"] or not len(values) or values.min() != 0:
        return None
    share = float(np.mean(values == 0))
    return share if settings["zero_indicator_min_share"] <= share < 1 else None


def _bin_edges(values, bins):
    """Edges of up to `bins` bins holding equal shares of the training values (quantiles, repeated ones merged), or
    None when `bins` is 0 or the values take fewer than three distinct values (a bin or two add nothing)."""
    if not bins or len(np.unique(values[:100_000])) < 3:
        return None
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
    return [float(e) for e in edges] if len(edges) >= 3 else None


class NumericalEncoder(Encoder):
    kind = "numerical"
    can_be_target = True
    input_state_shape = Record({
        "median": FINITE, "center": FINITE, "scale": SCALE, "missing_indicator": FLAG,
        "bin_edges": Nullable(ListOf(FINITE, min_length=3, increasing=True)),
        "quantile_levels": Nullable(Record(
            {"quantiles": ListOf(FINITE, min_length=2, increasing=True),
             "levels": ListOf(Number(at_least=0, at_most=1), min_length=2)},
            [(lambda q: len(q["quantiles"]) == len(q["levels"]), "one level per quantile")])),
        # The share of training values that were 0, when the column has a zero flag (saves from before zero flags
        # lack the key: no flag).
        "zero_share": Nullable(Number(at_least=0, at_most=1)),
        # The training range, which `clip_to_training_range` holds values within (saves from before lack it).
        "low": FINITE, "high": FINITE,
    }, [(lambda s: ("low" in s) == ("high" in s), "it has low and high, or neither"),
        (lambda s: s.get("low", 0) <= s.get("high", 0), "low is at most high")],
        optional=("zero_share", "low", "high"))
    # `calibration`: the validation rows' conformity scores for prediction intervals (see `intervals`): absolute
    # errors ("errors"), divided by the predicted standard deviation for a normal head; for a quantile head, those of
    # each pair of its quantiles that an interval can use ("pairs": indices into `quantiles`, and the conformalized
    # quantile regression scores, which are negative where the pair holds the truth with room to spare). Saves from
    # before intervals existed, fits without validation rows, and fits with calibrate_intervals: false lack it.
    # `distribution`: "normal" for a heteroscedastic Gaussian head, "negative_binomial" for a count head with a
    # dispersion; `quantiles`: a quantile head's levels (a point head's state has neither).
    target_state_shape = Record(
        {"center": FINITE, "scale": SCALE, "log1p": FLAG, "duration": FLAG, "distribution": Text(one_of=["normal", "negative_binomial"]),
         "quantiles": ListOf(Number(at_least=0, at_most=1), min_length=1, increasing=True),
         "calibration": Record(
             {"rows": Integer(at_least=1),
              "errors": ListOf(Number(at_least=0), min_length=GRID + 1, max_length=GRID + 1),
              "pairs": ListOf(Record({"lower": Integer(at_least=0), "upper": Integer(at_least=0),
                                      "errors": ListOf(FINITE, min_length=GRID + 1, max_length=GRID + 1)},
                                     [(lambda p: p["lower"] <= p["upper"], "lower is at most upper"),
                                      (lambda p: _non_decreasing(p["errors"]), "the errors' quantiles do not "
                                                                               "decrease")]), min_length=1)},
             [(lambda c: ("errors" in c) != ("pairs" in c), "it has errors or pairs, one of them"),
              (lambda c: _non_decreasing(c.get("errors", [])), "the errors' quantiles do not decrease")],
             optional=("errors", "pairs"))},
        [(lambda s: not ("quantiles" in s and "distribution" in s), "a head has quantiles or a distribution, not both"),
         (lambda s: "quantiles" not in s or 0.5 in s["quantiles"], "the quantiles include 0.5"),
         (lambda s: "calibration" not in s or ("pairs" in s["calibration"]) == ("quantiles" in s),
          "a quantile head's calibration has pairs, any other's errors"),
         (lambda s: all(p["upper"] < len(s.get("quantiles", [])) for p in s.get("calibration", {}).get("pairs", [])),
          "each pair names two of the quantiles")],
        optional=("calibration", "distribution", "quantiles"))

    def fit_input(self, series, profile, settings):
        values = numeric_values(series)
        finite = values[np.isfinite(values)]
        center, scale = _center_and_scale(finite, settings["scaling"])
        return {
            "median": float(np.median(finite)),
            "center": center,
            "scale": scale,
            "missing_indicator": bool(settings["missing_indicator"] and len(finite) < len(values)),
            "bin_edges": _bin_edges(finite, settings["piecewise_linear_bins"]),
            # A column of a single value keeps the robust scale (quantiles would map it to one score).
            "quantile_levels": _quantile_levels(finite) if settings["scaling"] == "quantile" else None,
            "zero_share": _zero_share(finite, settings),
            "low": float(finite.min()),
            "high": float(finite.max()),
        }

    def state_from_summary(self, state, settings, profile, counts, missing, value_range=None):
        state = super().state_from_summary(state, settings, profile, counts, missing)
        # The training range is every row's, not the sample's. A column stored as text has none counted: it is not
        # held to a range the sample alone saw.
        if value_range is not None:
            return {**state, "low": value_range[0], "high": value_range[1]}
        return {key: value for key, value in state.items() if key not in ("low", "high")}

    def encode_input(self, raw, state, settings, name):
        filled = FillMissing(state["median"], name=f"{name}_fill")(raw)
        if _holds_range(state, settings):
            filled = ClipToRange(*_held_range(state, settings), name=f"{name}_range")(filled)
        if state.get("quantile_levels"):
            # Bounded by the end scores: nothing left to clip.
            scaled = QuantileNormal(**state["quantile_levels"], name=f"{name}_quantiles")(filled)
        else:
            scaled = keras.layers.Normalization(mean=state["center"], variance=state["scale"] ** 2,
                                                name=f"{name}_scale")(filled)
            if settings["smooth_clip"]:
                scaled = SmoothClip(settings["clip_scale"], name=f"{name}_clip")(scaled)
        number = scaled
        if state.get("bin_edges"):
            bins = PiecewiseLinear(state["bin_edges"], name=f"{name}_bins")(filled)
            scaled = keras.layers.Concatenate(name=f"{name}_with_bins")([scaled, bins])
        if state["missing_indicator"]:
            flag = MissingIndicator(name=f"{name}_missing")(raw)
            scaled = keras.layers.Concatenate(name=f"{name}_with_flag")([scaled, flag])
        if state.get("zero_share") is not None:
            zero = ZeroIndicator(name=f"{name}_zero")(raw)
            scaled = keras.layers.Concatenate(name=f"{name}_with_zero_flag")([scaled, zero])
        return EncodedColumn(dense=scaled, number=number)

    def fused_number(self, state, settings):
        if state.get("quantile_levels") or state.get("bin_edges"):
            return None
        low, high = _held_range(state, settings) if _holds_range(state, settings) else (None, None)
        return {"fill": state["median"], "mean": state["center"], "variance": state["scale"] ** 2, "scale": 1.0,
                "offset": 0.0, "rescale": False, "clip": settings["clip_scale"] if settings["smooth_clip"] else 0.0,
                "flag": state["missing_indicator"], "zero": state.get("zero_share") is not None, "number": True,
                "low": low, "high": high}

    def describe(self, state, settings):
        if state.get("quantile_levels"):
            scaling = f"quantile scaling to normal scores ({len(state['quantile_levels']['quantiles'])} quantiles)"
        else:
            scaling = f"{'robust' if settings['scaling'] == 'quantile' else settings['scaling']} scaling"
        parts = [f"fill median {state['median']:.4g}", scaling]
        if _holds_range(state, settings):
            low, high = _held_range(state, settings)
            margin = settings.get("training_range_margin", 0.0)
            widened = f", widened by {margin:g} x its width a side" if margin else ""
            parts.insert(1, f"held within [{low:.4g}, {high:.4g}] (the training range [{state['low']:.4g}, "
                            f"{state['high']:.4g}]{widened})")
        if settings["smooth_clip"] and not state.get("quantile_levels"):
            parts.append(f"smooth clip at {settings['clip_scale']:g}")
        if state.get("bin_edges"):
            parts.append(f"piecewise-linear over {len(state['bin_edges']) - 1} quantile bins")
        if state["missing_indicator"]:
            parts.append("missing flag")
        if state.get("zero_share") is not None:
            parts.append(f"zero flag ({state['zero_share']:.0%} of training values are 0)")
        return ", ".join(parts)

    def missing_note(self, state):
        return f"they are filled with the training median ({state.get('median')!r})"

    # -- targets: learned standardised (optionally as log1p), served in the user's units
    def check_target(self, series, name):
        check_target_range(series, name)

    def fit_target(self, series, profile, settings):
        values = numeric_values(series)
        if not np.all(np.isfinite(values)):
            raise DataError(
                f"Target '{profile.name}' has infinite values. Remove those rows or replace them with finite numbers."
            )
        loss = loss_name(settings["loss"])
        if loss in COUNT_LOSSES:
            # A count: learned in units of its mean, which the exponential head starts near; the Poisson loss of
            # y / m against p / m is that of y against p divided by m, so only the step sizes' scale changes (the
            # negative binomial's likelihood multiplies them back by m: `NegativeBinomialNLL`).
            if values.min() < 0:
                raise DataError(f"Loss '{loss}' is for counts, but target '{profile.name}' has negative values "
                                f"(the lowest is {values.min():g}). Use a loss for any number, e.g. mse or huber.")
            state = {"center": 0.0, "scale": float(np.mean(values)) or 1.0, "log1p": False,
                     "duration": is_duration(series)}
            return {**state, "distribution": "negative_binomial"} if loss == "negative_binomial" else state
        log1p = _use_log(values, settings)
        learned = np.log1p(values) if log1p else values
        if settings["standardize"]:
            center, scale = float(np.mean(learned)), float(np.std(learned)) or 1.0
        else:
            center, scale = 0.0, 1.0
        state = {"center": center, "scale": scale, "log1p": log1p, "duration": is_duration(series)}
        if loss == "quantile":
            return {**state, "quantiles": _loss_quantiles(settings["loss"])}
        return {**state, "distribution": "normal"} if _is_normal(settings) else state

    def target_array(self, series, state, settings):
        values = numeric_values(series)
        if state["log1p"]:
            values = np.log1p(np.maximum(values, 0.0))
        return ((values - state["center"]) / state["scale"]).astype("float32").reshape(-1, 1)

    def check_loss(self, loss, given, settings, where):
        if _is_normal(settings):
            _check_normal_settings(loss, given, settings, where)
        if loss in COUNT_LOSSES:
            _check_count_settings(loss, given, settings, where)
        if loss == "quantile" and settings["activation"] != "linear":
            raise ConfigError(f"Loss '{given}'{where} gives each quantile its own output, kept in order; the head's "
                              f"activation '{settings['activation']}' would bend them. Leave activation: linear, e.g. "
                              f"{QUANTILE_EXAMPLE}.")
        if loss in UNSCALED_LOSSES and settings["standardize"]:
            raise ConfigError(f"Loss '{given}'{where} works on the target in its own units, but the target is "
                              f"standardised before training (standardize: true). Add standardize: false next to the "
                              f"loss, e.g. targets: {{numerical: {{loss: {given}, standardize: false}}}}.")

    def served_target_array(self, series, state, settings):
        # The served model outputs the user's units (durations in seconds).
        return numeric_values(series).astype("float32").reshape(-1, 1)

    def serve(self, output, state, name):
        if _is_normal(state):
            return NormalDecoder(state["center"], state["scale"], name=f"{name}__in_user_units")(output)
        if _is_negative_binomial(state):
            return NegativeBinomialDecoder(state["scale"], name=f"{name}__in_user_units")(output)
        return TargetDecoder(state["center"], state["scale"], state["log1p"], name=f"{name}__in_user_units")(output)

    def decode(self, outputs, state):
        return _as_target(_served_center(np.asarray(outputs, dtype="float64"), state), state)

    def decode_tensor(self, outputs, class_names, state):
        return _served_center(outputs, state)

    # -- a normal head: two outputs, [mean, standard deviation], trained by the Gaussian likelihood; a negative
    # binomial head: [mean, dispersion], trained by its likelihood, served as [mean, standard deviation]; a quantile
    # head: one output per quantile, lowest first, trained by the pinball loss
    def head_units(self, state):
        return len(state["quantiles"]) if "quantiles" in state else 2 if _has_spread(state) else 1

    def output_link(self, state, name):
        if "quantiles" in state:
            return QuantileLadder(state["quantiles"], name=f"{name}__quantiles")
        if _is_negative_binomial(state):
            return NegativeBinomialParameters(name=f"{name}__negative_binomial")
        return NormalParameters(name=f"{name}__normal") if _is_normal(state) else None

    def quantile_levels(self, state):
        return state.get("quantiles")

    def quantile_values(self, outputs, state):
        """A quantile head's predictions, {level: values in the target's units}, from the served model's output."""
        outputs = np.asarray(outputs, dtype="float64")
        return {level: _as_target(outputs[:, i], state) for i, level in enumerate(state["quantiles"])}

    def head_loss(self, state):
        if _is_negative_binomial(state):
            return NegativeBinomialNLL(count_scale=state["scale"])
        return GaussianNLL(beta=NORMAL_BETA) if _is_normal(state) else None

    def members_mean(self, state, name):
        if _is_negative_binomial(state):
            return NegativeBinomialMixture(name=name)
        return NormalMixture(name=name) if _is_normal(state) else super().members_mean(state, name)

    def compile_metric(self, spec, metric, state):
        # mae, rmse: of the prediction, a normal or negative binomial head's mean (its first output) or a quantile
        # head's median.
        if "quantiles" in state:
            return OnColumn(metric, column=state["quantiles"].index(0.5))
        return OnColumn(metric) if _has_spread(state) else metric

    def head_description(self, state, settings):
        if _is_normal(state):
            return ("normal (mean and standard deviation per row; Gaussian negative log-likelihood"
                    + (f", beta-NLL with beta {NORMAL_BETA:g})" if NORMAL_BETA else ")"))
        if _is_negative_binomial(state):
            return ("negative binomial (mean by a log link and dispersion per row; its negative log-likelihood; "
                    "served as mean and standard deviation)")
        if "quantiles" in state:
            return f"quantiles {state['quantiles']}, kept in order (predict gives the median)"
        return super().head_description(state, settings)

    # -- prediction intervals (see `intervals`): center +- factor * spread, in the user's units
    def labels_in_user_units(self, labels, state):
        """Labels as the loss reads them (standardised, log1p) in the user's units (seconds for durations)."""
        values = np.asarray(labels, dtype="float64").reshape(-1) * state["scale"] + state["center"]
        return np.expm1(values) if state["log1p"] else values

    def calibration(self, served, truths, state):
        """The calibration of intervals from the validation rows (`served`: the served model's output for them,
        `truths`: their targets, both in the user's units), or None when no row is usable: the quantiles of their
        conformity scores. For a point head, the absolute errors; for a normal head, the same in units of the
        predicted standard deviation (normalised conformal scores: intervals then widen where the head expects more
        noise); for a quantile head, per pair of quantiles (lower, upper), max(lower - truth, truth - upper)
        (conformalized quantile regression, Romano et al. 2019: how far outside the pair the truth falls, negative
        inside)."""
        served, truths = np.asarray(served, dtype="float64"), np.asarray(truths, dtype="float64")
        usable = np.isfinite(truths) & np.isfinite(served).all(axis=1)
        served, truths = served[usable], truths[usable]
        if not len(truths):
            return None
        if "quantiles" in state:
            return {"rows": int(len(truths)), "pairs": [
                {"lower": lower, "upper": upper,
                 "errors": score_quantiles(np.maximum(served[:, lower] - truths, truths - served[:, upper]))}
                for lower, upper in _interval_pairs(state["quantiles"])]}
        scores = np.abs(truths - _served_center(served, state)) / _served_spread(served, state)
        return {"rows": int(len(truths)), "errors": score_quantiles(scores)}

    def interval_spec(self, state, settings, coverage, name):
        """How an interval of `coverage` is made from the served model's outputs (see `interval_bounds`): the
        prediction +- {"factor": f} spreads (a point head's spread is 1, a normal head's its standard deviation), or
        a quantile head's pair {"lower": i, "upper": j} of quantiles moved out by "shift". Calibrated when the target
        has a calibration; else what the head gives (a normal head's z, a quantile head's pair of exactly that
        coverage). Raises DataError when it has neither."""
        calibration, levels = state.get("calibration"), state.get("quantiles")
        if levels is not None:
            return _quantile_interval(levels, calibration, coverage, name)
        if calibration is not None:
            return {"factor": half_width(calibration, coverage, name)}
        if _is_normal(state):
            return {"factor": NormalDist().inv_cdf((1.0 + coverage) / 2.0)}
        if _is_negative_binomial(state):
            raise DataError(f"Target '{name}' has no prediction intervals: a negative binomial head's are calibrated "
                            f"ones (its errors on the validation rows, in units of the predicted standard deviation), "
                            f"and calibrate_intervals is false. Set calibrate_intervals: true and fit again.")
        if not settings.get("calibrate_intervals", True):
            raise DataError(f"Target '{name}' has no prediction intervals: its head predicts one value a row and "
                            f"calibrate_intervals is false. Set calibrate_intervals: true (intervals from the "
                            f"validation rows' errors), or distribution: normal (a standard deviation per row), and "
                            f"fit again.")
        raise DataError(f"Target '{name}' has no calibration for intervals: it was fitted without validation rows "
                        f"(training.validation_split: 0, or too few rows to hold any out), or saved before "
                        f"intervals existed. Fit again with validation rows (or validation_data=).")

    def interval_bounds(self, outputs, spec, state):
        """The bounds (lower, upper) of the intervals `spec` describes (see `interval_spec`), in the target's units,
        from the served model's outputs for the target (a numpy array)."""
        lower, upper = _interval(np.asarray(outputs, dtype="float64"), spec, state, np.minimum, np.maximum)
        return _as_target(lower, state), _as_target(upper, state)

    def interval_tensors(self, outputs, spec, state):
        """`interval_bounds` inside a TensorFlow graph (the SavedModel's signature), durations in seconds."""
        return _interval(outputs, spec, state, tf.minimum, tf.maximum)

    def describe_target(self, state, settings):
        notes = [(state.get("duration"), ", a duration learned in seconds"), (state["log1p"], ", learned as log1p"),
                 (settings["standardize"], ", standardised"),
                 (loss_name(settings["loss"]) == "poisson",
                  f", a count: Poisson likelihood, log link, learned in units of its mean ({state['scale']:.4g})"),
                 (_is_negative_binomial(state),
                  f", a count: negative binomial likelihood (variance mean + dispersion x mean^2), log link, learned "
                  f"in units of its mean ({state['scale']:.4g})"),
                 ("calibration" in state,
                  f"; intervals (predict_interval) calibrated on {state.get('calibration', {}).get('rows')} "
                  f"validation rows" + (" (errors in units of the predicted standard deviation)"
                                        if _has_spread(state) else " (conformalized quantile regression)"
                                        if "quantiles" in state else "")),
                 ("calibration" not in state and "quantiles" in state and not settings["calibrate_intervals"],
                  "; intervals (predict_interval): pairs of the quantiles, as the head predicts them "
                  "(calibrate_intervals: false)"),
                 ("calibration" not in state and _is_normal(state) and not settings["calibrate_intervals"],
                  "; intervals (predict_interval): mean +- z standard deviations, as the head predicts them "
                  "(calibrate_intervals: false)")]
        return "".join(note for applies, note in notes if applies)


def _holds_range(state, settings):
    """Whether the column is held within its training range (saves from before the range have none to hold)."""
    return bool(settings.get("clip_to_training_range")) and "low" in state


def _held_range(state, settings):
    """The bounds a value is held within: the training range widened by `training_range_margin` times its width on
    each side (0: the range itself)."""
    margin = settings.get("training_range_margin", 0.0) * (state["high"] - state["low"])
    return state["low"] - margin, state["high"] + margin


def _is_normal(state_or_settings):
    """Whether a target has a normal head: its settings' `distribution`, or its fitted state's."""
    return state_or_settings.get("distribution") == "normal"


def _is_negative_binomial(state):
    """Whether a fitted target has a negative binomial head (its settings say so by their loss)."""
    return state.get("distribution") == "negative_binomial"


def _has_spread(state):
    """Whether a head predicts a standard deviation beside its mean (served as [mean, standard deviation])."""
    return _is_normal(state) or _is_negative_binomial(state)


def _served_center(outputs, state):
    """The served model's prediction, (batch,), from its output for a numerical target: the value, the mean of a
    normal head's [mean, standard deviation], or a quantile head's median. Numpy arrays and tensors alike."""
    return outputs[:, state["quantiles"].index(0.5) if "quantiles" in state else 0]


def _served_spread(outputs, state):
    """The scale of an interval around the prediction: a normal or negative binomial head's standard deviation,
    else 1."""
    return outputs[:, 1] if _has_spread(state) else 1.0


def _non_decreasing(values):
    return all(a <= b for a, b in zip(values, values[1:]))


QUANTILE_EXAMPLE = "targets: {numerical: {loss: {name: quantile, quantiles: [0.05, 0.5, 0.95]}}}"


def _loss_quantiles(spec):
    """The levels of a quantile loss setting (`quantile`, or a mapping with its `quantiles`), as the loss has them."""
    return PinballLoss(**({k: v for k, v in spec.items() if k != "name"} if isinstance(spec, dict) else {})).quantiles


def _interval_pairs(levels):
    """The pairs (i, j) of a quantile head's quantiles, i <= median <= j, that intervals are made from: each
    quantile below the median with the one above it nearest its mirror level (0.05 with 0.95), each above with the
    one below nearest its mirror, and the median with itself (an interval around it by its errors alone)."""
    middle = levels.index(0.5)
    below, above = range(middle + 1), range(middle, len(levels))
    pairs = {(middle, middle)}
    pairs |= {(i, min(above, key=lambda j: (abs(levels[j] - (1 - levels[i])), j))) for i in range(middle)}
    pairs |= {(min(below, key=lambda i: (abs(levels[i] - (1 - levels[j])), -i)), j) for j in above if j > middle}
    return sorted(pairs)


def _quantile_interval(levels, calibration, coverage, name):
    """A quantile head's interval of `coverage` (see `NumericalEncoder.interval_spec`): calibrated, the pair whose
    own coverage (upper level - lower level) is nearest, moved out (or in) by its scores' conformal quantile; else
    the pair of levels (1 - coverage) / 2 and (1 + coverage) / 2, which must be among the quantiles."""
    if calibration is not None:
        pair = min(calibration["pairs"], key=lambda p: (
            abs(levels[p["upper"]] - levels[p["lower"]] - coverage), -(p["upper"] - p["lower"])))
        shift = half_width({"rows": calibration["rows"], "errors": pair["errors"]}, coverage, name)
        return {"lower": pair["lower"], "upper": pair["upper"], "shift": shift}
    ends = [next((i for i, level in enumerate(levels) if abs(level - wanted) < 1e-9), None)
            for wanted in ((1 - coverage) / 2, (1 + coverage) / 2)]
    if None in ends:
        offered = [f"{levels[j] - levels[i]:.4g} ({levels[i]:g}, {levels[j]:g})"
                   for i, j in sorted(_interval_pairs(levels), key=lambda p: levels[p[1]] - levels[p[0]])
                   if i != j and abs(levels[i] + levels[j] - 1) < 1e-9]
        raise DataError(f"Target '{name}' predicts the quantiles {levels} and its intervals are not calibrated "
                        f"(calibrate_intervals: false): an interval is a pair of them, which for coverage {coverage:g} "
                        f"would be the levels {(1 - coverage) / 2:g} and {(1 + coverage) / 2:g}. "
                        + (f"Coverages its quantiles give: {', '.join(offered)}. " if offered else "")
                        + "Ask for one of those, add the two levels to the quantiles, or set calibrate_intervals: "
                          "true, and fit again.")
    return {"lower": ends[0], "upper": ends[1], "shift": 0.0}


def _interval(outputs, spec, state, minimum, maximum):
    """(lower, upper) of the intervals `spec` describes, from the served model's outputs (numpy or a tensor, with
    its `minimum` and `maximum`)."""
    if "factor" in spec:
        center, spread = _served_center(outputs, state), _served_spread(outputs, state)
        lower = center - spec["factor"] * spread
        # A count is never negative: a negative binomial head's intervals stop at 0.
        return (maximum(lower, 0.0) if _is_negative_binomial(state) else lower), center + spec["factor"] * spread
    low, high = outputs[:, spec["lower"]], outputs[:, spec["upper"]]
    # A negative shift (the pair held the truth with room to spare) narrows the pair, never past its middle.
    middle = (low + high) / 2
    return minimum(low - spec["shift"], middle), maximum(high + spec["shift"], middle)


def _as_target(values, state):
    """Values in the target's units as predictions give them: a duration learned in seconds is predicted as one."""
    return pd.to_timedelta(values, unit="s").to_numpy() if state.get("duration") else values


def _check_normal_settings(loss, given, settings, where):
    """A normal head trains by its own likelihood, on a mean that its decoder maps back linearly."""
    if loss != "mean_squared_error":
        raise ConfigError(f"distribution: normal trains by the Gaussian negative log-likelihood, which is MSE with a "
                          f"variance learned per row; loss '{given}'{where} would be ignored. Leave the loss at mse, "
                          f"or set distribution: point to train with '{given}'.")
    if settings["activation"] != "linear":
        raise ConfigError(f"distribution: normal predicts a mean on the whole real line, but the head's activation "
                          f"is '{settings['activation']}'{where}. Leave activation: linear, or set distribution: "
                          f"point.")
    if settings["log_transform"] is not False:
        raise ConfigError(f"distribution: normal is a normal of the target in its own units, but log_transform: "
                          f"{settings['log_transform']} would learn its logarithm{where}. Set log_transform: false "
                          f"with it, e.g. targets: {{numerical: {{distribution: normal, log_transform: false}}}}.")


def count_example(loss):
    return f"targets: {{numerical: {{loss: {loss}, activation: exponential, standardize: false}}}}"


def _check_count_settings(loss, given, settings, where):
    """A count loss reads the head's output as a rate: it must be positive (a log link), on the target's units. The
    negative binomial head makes its mean by exp itself (and its dispersion beside it): activation exponential
    declares that link, and its loss takes no arguments (its scale comes from the target)."""
    example = count_example(loss)
    links = ("exponential",) if loss == "negative_binomial" else ("exponential", "softplus")
    if settings["activation"] not in links:
        raise ConfigError(f"Loss '{given}'{where} needs a positive prediction, but the head's activation is "
                          f"'{settings['activation']}'. Add activation: exponential (the log link of a count "
                          f"regression) next to the loss, e.g. {example}.")
    if settings["log_transform"] is True:
        raise ConfigError(f"Loss '{given}'{where} models the counts themselves, but log_transform: true would learn "
                          f"their logarithm. Remove log_transform, e.g. {example}.")
    if loss == "negative_binomial" and isinstance(settings["loss"], dict) and set(settings["loss"]) - {"name"}:
        extra = sorted(set(settings["loss"]) - {"name"})
        raise ConfigError(f"Loss '{given}'{where} takes no arguments: its dispersion is learned per row and its scale "
                          f"comes from the target. Received: {extra}. Write it as a name, e.g. {example}.")


def _use_log(values, settings):
    choice = settings["log_transform"]
    if choice is True or choice is False:
        if choice and values.min() < 0:
            raise DataError("log_transform: true needs a target with no negative values.")
        return bool(choice)
    if values.min() < 0:
        return False
    low, high = np.quantile(values, [0.05, 0.95])
    return bool((high + 1.0) / (low + 1.0) >= settings["log_transform_min_ratio"])
