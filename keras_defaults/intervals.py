"""Prediction intervals for regression targets, by split-conformal calibration on the validation rows.

After early stopping, the network that was scored on the validation rows predicts them once more, and the absolute
errors of those predictions, in the user's units, are kept as a calibration: their quantiles on a fine grid and how
many rows there were. An interval of coverage c around a prediction is then the prediction plus or minus the
ceil((rows + 1) * c)-th smallest error: on new rows drawn like the validation rows, it holds the truth at least a
fraction c of the time (Vovk et al. 2005; Lei et al. 2018, "Distribution-free predictive inference for
regression"). With a refit (training.refit), the network that serves was also trained on those rows, for as many
epochs: its errors are those of a slightly larger training set, so the intervals hold about as stated.
"""

import math

import numpy as np
from keras import ops

from keras_defaults.errors import ConfigError, DataError
from keras_defaults.layers import MemberMean

# The calibration keeps the errors' quantiles at 0, 1/GRID, ..., 1: a save of a few kilobytes whatever the rows.
GRID = 1000


def calibrate(network, validation, steps, targets):
    """{regression target: calibration} from the validation batches (`validation`, a dataset of (features, labels)
    or (features, labels, weights) batches; `steps` of them, or all when None) and `network`, as trained: the
    calibration is {"rows": n, "errors": [GRID + 1 quantiles of |prediction - truth|, in the user's units]}."""
    regression = {name: target for name, target in targets.items() if not target.predicts_classes}
    if validation is None or not regression:
        return {}
    batches = validation.take(steps) if steps is not None else validation
    members_mean = MemberMean()  # an ensemble's prediction, as the served model averages its members
    outputs, labels = {name: [] for name in regression}, {name: [] for name in regression}
    for batch in batches:
        predicted = network(batch[0], training=False)
        for name in regression:
            head = predicted[name]
            outputs[name].append(ops.convert_to_numpy(members_mean(head) if len(head.shape) == 3 else head))
            labels[name].append(ops.convert_to_numpy(batch[1][name]))
    calibration = {}
    for name, target in regression.items():
        if not outputs[name]:
            continue
        # Decoded once, all batches together: one decoding layer per target, not one per batch.
        errors = np.abs(_in_user_units(np.concatenate(outputs[name]), target)
                        - _in_user_units(np.concatenate(labels[name]), target))
        errors = errors[np.isfinite(errors)]
        if len(errors):
            quantiles = np.quantile(errors, np.linspace(0.0, 1.0, GRID + 1), method="inverted_cdf")
            calibration[name] = {"rows": int(len(errors)), "errors": [float(q) for q in quantiles]}
    return calibration


def _in_user_units(values, target):
    """A regression head's outputs or labels (the scale the loss sees) in the user's units, by the target's own
    decoding layer: the one the served model runs."""
    decoded = target.encoder.serve(ops.convert_to_tensor(values, dtype="float32"), target.state, "calibration")
    return np.asarray(ops.convert_to_numpy(decoded), dtype="float64").reshape(-1)


def check_coverage(coverage):
    """`coverage` as a float strictly between 0 and 1."""
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float, np.number)) or not (
            0.0 < float(coverage) < 1.0):
        raise ConfigError(f"coverage is the share of rows whose truth an interval should hold: a number strictly "
                          f"between 0 and 1, e.g. 0.9. Received: coverage={coverage!r}.")
    return float(coverage)


def half_width(calibration, coverage, name):
    """The half-width of a `coverage` interval: the ceil((rows + 1) * coverage)-th smallest calibration error (read
    on the grid, rounding up: never narrower)."""
    rows = calibration["rows"]
    rank = _ceil((rows + 1) * coverage)
    if rank > rows:
        raise DataError(f"An interval of coverage {coverage} for target '{name}' needs at least "
                        f"{_ceil(coverage / (1 - coverage))} validation rows to calibrate on; this model held out "
                        f"{rows}. Ask for a lower coverage, or fit on more rows (or a larger "
                        f"training.validation_split).")
    index = min(GRID, _ceil(rank / rows * GRID))
    return calibration["errors"][index]


def _ceil(value):
    """The ceiling of a product of decimals, which floats make a hair too large: (9 + 1) * 0.9 is 9.000000000000002."""
    return math.ceil(value - 1e-9)
