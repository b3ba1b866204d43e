"""Prediction intervals for regression targets, by split-conformal calibration on the validation rows.

After early stopping, the network that was scored on the validation rows predicts them once more, and the absolute
errors of those predictions, in the user's units, are kept as a calibration: their quantiles on a fine grid and how
many rows there were. An interval of coverage c around a prediction is then the prediction plus or minus the
ceil((rows + 1) * c)-th smallest error: on new rows drawn like the validation rows, it holds the truth at least a
fraction c of the time (Vovk et al. 2005; Lei et al. 2018, "Distribution-free predictive inference for
regression"). With a refit (training.refit), the network that serves was also trained on those rows, for as many
epochs: its errors are those of a slightly larger training set, so the intervals hold about as stated.

A normal head (distribution: normal) predicts a standard deviation per row: its errors are kept in units of it
(normalised conformal scores, Papadopoulos et al. 2008), and an interval is the mean plus or minus that quantile
times the row's standard deviation: as wide as the head expects the row to be noisy, with the same guarantee. With
calibrate_intervals: false it is the mean plus or minus the normal's own z times the standard deviation, which
holds as stated only as far as the head's variances are right.

A quantile head (loss: quantile) predicts quantiles of its own: an interval is a pair of them (0.05 and 0.95 for a
coverage of 0.9), moved out or in by the conformal quantile of how far outside the pair the validation rows' truths
fell (conformalized quantile regression, Romano et al. 2019). Uncalibrated, it is the pair itself.
"""

import math

import numpy as np
from keras import ops

from keras_defaults.errors import ConfigError, DataError
from keras_defaults.model import output_key

# The calibration keeps the errors' quantiles at 0, 1/GRID, ..., 1: a save of a few kilobytes whatever the rows.
GRID = 1000


def calibrate(network, validation, steps, targets):
    """{regression target: calibration} from the validation batches (`validation`, a dataset of (features, labels)
    or (features, labels, weights) batches; `steps` of them, or all when None) and `network`, as trained: the
    calibration is the validation rows' count and the quantiles of their conformity scores (see
    `NumericalEncoder.calibration`). Targets set to calibrate_intervals: false get none."""
    regression = {name: target for name, target in targets.items()
                  if not target.has_probabilities and target.settings.get("calibrate_intervals", True)}
    if validation is None or not regression:
        return {}
    batches = validation.take(steps) if steps is not None else validation
    # An ensemble's prediction, as the served model combines its members.
    combine = {name: target.encoder.members_mean(target.state, f"calibration_{i}")
               for i, (name, target) in enumerate(regression.items())}
    outputs, labels = {name: [] for name in regression}, {name: [] for name in regression}
    for batch in batches:
        predicted = network(batch[0], training=False)
        for name in regression:
            head = predicted[output_key(name)]
            outputs[name].append(ops.convert_to_numpy(combine[name](head) if len(head.shape) == 3 else head))
            labels[name].append(ops.convert_to_numpy(batch[1][output_key(name)]))
    calibration = {}
    for name, target in regression.items():
        if not outputs[name]:
            continue
        # Decoded once, all batches together: one decoding layer per target, not one per batch.
        served = target.encoder.serve(ops.convert_to_tensor(np.concatenate(outputs[name]), dtype="float32"),
                                      target.state, "calibration")
        truths = target.encoder.labels_in_user_units(np.concatenate(labels[name]), target.state)
        found = target.encoder.calibration(ops.convert_to_numpy(served), truths, target.state)
        if found is not None:
            calibration[name] = found
    return calibration


def score_quantiles(scores):
    """The quantiles of conformity scores at 0, 1/GRID, ..., 1, as a calibration keeps them."""
    quantiles = np.quantile(np.asarray(scores, dtype="float64"), np.linspace(0.0, 1.0, GRID + 1),
                            method="inverted_cdf")
    return [float(q) for q in quantiles]


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
