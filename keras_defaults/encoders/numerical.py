"""Numbers: impute the median and flag missing values, scale robustly (or by quantiles), clip smoothly; a linear
regression head, or a normal one (mean and standard deviation per row)."""

from statistics import NormalDist

import keras
import numpy as np
import pandas as pd

from keras_defaults.encoders.base import EncodedColumn, Encoder, loss_name
from keras_defaults.errors import ConfigError, DataError
from keras_defaults.frames import check_target_range
from keras_defaults.layers import (FillMissing, GaussianNLL, MissingIndicator, NormalDecoder, NormalMixture,
                                   NormalParameters, OnMean, PiecewiseLinear, QuantileNormal, SmoothClip,
                                   TargetDecoder)
from keras_defaults.schema import is_duration, numeric_values
from keras_defaults.intervals import GRID
from keras_defaults.state_schema import FINITE, FLAG, SCALE, Integer, ListOf, Nullable, Number, Record, Text

# Losses that read the target in its own units (logarithms, ratios): meaningless on a standardised target.
UNSCALED_LOSSES = {"mean_squared_logarithmic_error", "poisson", "mean_absolute_percentage_error"}


# A normal head's likelihood weighs each row by sigma^(2 beta) (beta-NLL, see `layers.GaussianNLL`). 0.5 is the
# value Seitzer et al. (2022) recommend: the mean learns about as fast as under MSE, and the variance still fits.
NORMAL_BETA = 0.5
NORMAL_EXAMPLE = "targets: {numerical: {distribution: normal}}"


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
    })
    # `calibration`: the validation rows' conformity scores for prediction intervals (see `intervals`): absolute
    # errors, divided by the predicted standard deviation for a normal head. Saves from before intervals existed,
    # fits without validation rows, and fits with calibrate_intervals: false lack it. `distribution`: "normal" for a
    # heteroscedastic Gaussian head (a point head's state has none).
    target_state_shape = Record(
        {"center": FINITE, "scale": SCALE, "log1p": FLAG, "duration": FLAG, "distribution": Text(one_of=["normal"]),
         "calibration": Record({"rows": Integer(at_least=1),
                                "errors": ListOf(Number(at_least=0), min_length=GRID + 1, max_length=GRID + 1)},
                               [(lambda c: all(a <= b for a, b in zip(c["errors"], c["errors"][1:])),
                                 "the errors' quantiles do not decrease")])},
        optional=("calibration", "distribution"))

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
        }

    def encode_input(self, raw, state, settings, name):
        filled = FillMissing(state["median"], name=f"{name}_fill")(raw)
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
        return EncodedColumn(dense=scaled, number=number)

    def describe(self, state, settings):
        if state.get("quantile_levels"):
            scaling = f"quantile scaling to normal scores ({len(state['quantile_levels']['quantiles'])} quantiles)"
        else:
            scaling = f"{'robust' if settings['scaling'] == 'quantile' else settings['scaling']} scaling"
        parts = [f"fill median {state['median']:.4g}", scaling]
        if settings["smooth_clip"] and not state.get("quantile_levels"):
            parts.append(f"smooth clip at {settings['clip_scale']:g}")
        if state.get("bin_edges"):
            parts.append(f"piecewise-linear over {len(state['bin_edges']) - 1} quantile bins")
        if state["missing_indicator"]:
            parts.append("missing flag")
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
        if loss_name(settings["loss"]) == "poisson":
            # A count: learned in units of its mean, which the exponential head starts near; the Poisson loss of
            # y / m against p / m is that of y against p divided by m, so only the step sizes' scale changes.
            if values.min() < 0:
                raise DataError(f"Loss 'poisson' is for counts, but target '{profile.name}' has negative values "
                                f"(the lowest is {values.min():g}). Use a loss for any number, e.g. mse or huber.")
            return {"center": 0.0, "scale": float(np.mean(values)) or 1.0, "log1p": False,
                    "duration": is_duration(series)}
        log1p = _use_log(values, settings)
        learned = np.log1p(values) if log1p else values
        if settings["standardize"]:
            center, scale = float(np.mean(learned)), float(np.std(learned)) or 1.0
        else:
            center, scale = 0.0, 1.0
        state = {"center": center, "scale": scale, "log1p": log1p, "duration": is_duration(series)}
        return {**state, "distribution": "normal"} if _is_normal(settings) else state

    def target_array(self, series, state, settings):
        values = numeric_values(series)
        if state["log1p"]:
            values = np.log1p(np.maximum(values, 0.0))
        return ((values - state["center"]) / state["scale"]).astype("float32").reshape(-1, 1)

    def check_loss(self, loss, given, settings, where):
        if _is_normal(settings):
            _check_normal_settings(loss, given, settings, where)
        if loss == "poisson":
            _check_poisson_settings(given, settings, where)
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
        return TargetDecoder(state["center"], state["scale"], state["log1p"], name=f"{name}__in_user_units")(output)

    def decode(self, outputs, state):
        return _as_target(_served_center(np.asarray(outputs, dtype="float64")), state)

    def decode_tensor(self, outputs, class_names):
        return _served_center(outputs)

    # -- a normal head: two outputs, [mean, standard deviation], trained by the Gaussian likelihood
    def head_units(self, state):
        return 2 if _is_normal(state) else 1

    def output_link(self, state, name):
        return NormalParameters(name=f"{name}__normal") if _is_normal(state) else None

    def head_loss(self, state):
        return GaussianNLL(beta=NORMAL_BETA) if _is_normal(state) else None

    def members_mean(self, state, name):
        return NormalMixture(name=name) if _is_normal(state) else super().members_mean(state, name)

    def compile_metric(self, spec, metric, state):
        # mae, rmse: of the mean, the first of a normal head's outputs.
        return OnMean(metric) if _is_normal(state) else metric

    def head_description(self, state, settings):
        if _is_normal(state):
            return (f"normal (mean and standard deviation per row; Gaussian negative log-likelihood, "
                    f"beta-NLL with beta {NORMAL_BETA:g})")
        return super().head_description(state, settings)

    # -- prediction intervals (see `intervals`): center +- factor * spread, in the user's units
    def labels_in_user_units(self, labels, state):
        """Labels as the loss reads them (standardised, log1p) in the user's units (seconds for durations)."""
        values = np.asarray(labels, dtype="float64").reshape(-1) * state["scale"] + state["center"]
        return np.expm1(values) if state["log1p"] else values

    def conformity_scores(self, served, truths, state):
        """How far each truth lies from the served model's prediction (`served`, its output for the target): the
        absolute error, in units of the predicted standard deviation for a normal head (normalised conformal
        scores: intervals then widen where the head expects more noise)."""
        served = np.asarray(served, dtype="float64")
        return np.abs(np.asarray(truths, dtype="float64") - _served_center(served)) / _served_spread(served, state)

    def own_interval_factor(self, coverage, state):
        """The factor of an interval the head gives without calibration: a normal head's mean +- z * sigma, with z
        the standard normal's (1 + coverage) / 2 quantile; None for a point head, which has no spread of its own."""
        return NormalDist().inv_cdf((1.0 + coverage) / 2.0) if _is_normal(state) else None

    def interval_bounds(self, outputs, factor, state):
        """The bounds (lower, upper) of intervals center +- factor * spread, in the user's units, from the served
        model's outputs for the target (a numpy array)."""
        outputs = np.asarray(outputs, dtype="float64")
        center, spread = _served_center(outputs), _served_spread(outputs, state)
        return _as_target(center - factor * spread, state), _as_target(center + factor * spread, state)

    def interval_tensors(self, outputs, factor, state):
        """`interval_bounds` inside a TensorFlow graph (the SavedModel's signature), durations in seconds."""
        center, spread = _served_center(outputs), _served_spread(outputs, state)
        return center - factor * spread, center + factor * spread

    def describe_target(self, state, settings):
        notes = [(state.get("duration"), ", a duration learned in seconds"), (state["log1p"], ", learned as log1p"),
                 (settings["standardize"], ", standardised"),
                 (loss_name(settings["loss"]) == "poisson",
                  f", a count: Poisson likelihood, log link, learned in units of its mean ({state['scale']:.4g})"),
                 ("calibration" in state,
                  f"; intervals (predict_interval) calibrated on {state.get('calibration', {}).get('rows')} "
                  f"validation rows" + (" (errors in units of the predicted standard deviation)"
                                        if _is_normal(state) else "")),
                 ("calibration" not in state and _is_normal(state) and not settings["calibrate_intervals"],
                  "; intervals (predict_interval): mean +- z standard deviations, as the head predicts them "
                  "(calibrate_intervals: false)")]
        return "".join(note for applies, note in notes if applies)


def _is_normal(state_or_settings):
    """Whether a target has a normal head: its settings' `distribution`, or its fitted state's."""
    return state_or_settings.get("distribution") == "normal"


def _served_center(outputs):
    """The served model's prediction, (batch,), from its output for a numerical target: the value, or the mean of a
    normal head's [mean, standard deviation]. Numpy arrays and tensors alike."""
    return outputs[:, 0]


def _served_spread(outputs, state):
    """The scale of an interval around the prediction: a normal head's standard deviation, else 1."""
    return outputs[:, 1] if _is_normal(state) else 1.0


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


POISSON_EXAMPLE = "targets: {numerical: {loss: poisson, activation: exponential, standardize: false}}"


def _check_poisson_settings(given, settings, where):
    """The Poisson loss reads the head's output as a rate: it must be positive (a log link), on the target's units."""
    if settings["activation"] not in ("exponential", "softplus"):
        raise ConfigError(f"Loss '{given}'{where} needs a positive prediction, but the head's activation is "
                          f"'{settings['activation']}'. Add activation: exponential (the log link of a Poisson "
                          f"regression) next to the loss, e.g. {POISSON_EXAMPLE}.")
    if settings["log_transform"] is True:
        raise ConfigError(f"Loss '{given}'{where} models the counts themselves, but log_transform: true would learn "
                          f"their logarithm. Remove log_transform, e.g. {POISSON_EXAMPLE}.")


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
