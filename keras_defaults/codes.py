"""Integer columns that are codes, told apart from quantities by the target.

An integer's values alone do not say whether it is a quantity (an age, a count, a year) or an identifier (a school,
a district, an occupation code): both are whole numbers with many values. The target does. For a quantity, the
target's mean moves smoothly with the value, so its mean over a few quantile bins of the value explains as much as
its mean per value; for a code, neighbouring values mean nothing to each other, and only the mean per value
explains it. `find_codes` measures both, out of fold, on the training rows, and names the integer columns where the
per-value means explain clearly more: by `inference.codes_min_gain` of the variance, after taking off
`inference.codes_noise_z` standard errors of the gain (`inference.codes_from_target` turns the measure off). With
few values the bins are fewer (`inference.codes_values_per_bin`): twenty bins over 27 values are nearly the values
themselves, and could not tell a code from a quantity.
"""

import dataclasses

import numpy as np
from sklearn.model_selection import KFold

from keras_defaults.schema import float32_codes, is_duration, numeric_values

# Rows the measure reads at most (a seeded sample beyond): per-value means of 100,000 rows are precise enough to
# tell a code, and the measure stays a fraction of a second a column.
MAX_ROWS = 100_000
# The smooth alternative: the target's mean over this many quantile bins of the value.
SMOOTH_BINS = 20
# Each mean is shrunk towards the overall mean as if it had this many more rows at the overall mean, so that a
# value seen in a handful of rows does not explain the target by chance.
SHRINK_ROWS = 10.0
FOLDS = 5
# A classification target enters as its most frequent classes' 0/1 columns, at most this many.
MAX_CLASSES = 20


@dataclasses.dataclass(frozen=True)
class CodeEvidence:
    """How much of the target's variance a column's values explain out of fold: by their mean per value (`codes`)
    and by their mean per quantile bin (`smooth`)."""

    codes: float
    smooth: float
    # The standard error of `gain`, from the rows' paired held-out errors: how far chance alone moves it.
    spread: float = 0.0

    @property
    def gain(self):
        # A smooth function can always be the constant: a negative `smooth` (noise) does not make codes better.
        return self.codes - max(self.smooth, 0.0)

    def clears(self, min_gain, noise_z):
        """Whether the gain is at least `min_gain` after taking off `noise_z` standard errors."""
        return self.gain - noise_z * self.spread >= min_gain

    def describe(self):
        return (f"codes, told by the target: its mean per value explains {self.codes:.1%} of the target's variance "
                f"out of fold, a smooth function of the value {self.smooth:.1%} (inference.codes_from_target)")


def target_matrix(frame, target_specs):
    """The targets as one float matrix, a row per row of `frame`: numbers standardised, classes as 0/1 columns (the
    most frequent `MAX_CLASSES`). None when there is no target to tell codes by."""
    columns = []
    for name, spec in target_specs.items():
        series = frame[name]
        if spec.predicts_classes:
            labels = series.astype(str)
            for label in labels.value_counts().index[:MAX_CLASSES]:
                columns.append((labels == label).to_numpy(dtype="float64"))
        else:
            values = numeric_values(series)
            spread = np.nanstd(values)
            columns.append((values - np.nanmean(values)) / (spread if spread > 0 else 1.0))
    if not columns:
        return None
    return np.column_stack(columns)


def candidates(frame, profiles, integer_max_unique):
    """The columns the measure is for: inferred (not forced) numerical, whole numbers that float32 holds as codes,
    more distinct values than `inference.integer_categorical_max_unique`, and not durations."""
    found = []
    for name, profile in profiles.items():
        if profile.kind != "numerical" or profile.forced or profile.n_unique <= integer_max_unique:
            continue
        series = frame[name]
        if not is_duration(series) and float32_codes(series.dropna()):
            found.append(name)
    return found


def smooth_bins(n_values, values_per_bin):
    """How many quantile bins the smooth alternative has for a column of `n_values` distinct values: `SMOOTH_BINS`,
    or fewer so that a bin spans at least `values_per_bin` values on average (at least 2 bins). 1 keeps
    `SMOOTH_BINS` whatever the values (the rule before round 49)."""
    if values_per_bin <= 1:
        return SMOOTH_BINS
    return max(2, min(SMOOTH_BINS, n_values // values_per_bin))


def evidence(values, targets, seed=0, values_per_bin=1):
    """`CodeEvidence` for one column's values (float, NaN where missing) against the target matrix; rows where the
    value or a target is missing are left out. The smooth alternative's bins follow `smooth_bins`."""
    known = np.isfinite(values) & np.all(np.isfinite(targets), axis=1)
    values, targets = values[known], targets[known]
    if len(values) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(values), MAX_ROWS, replace=False))
        values, targets = values[keep], targets[keep]
    if len(values) < 2 * FOLDS:
        return CodeEvidence(0.0, 0.0)
    total = float(((targets - targets.mean(axis=0)) ** 2).sum())
    if total == 0.0:
        return CodeEvidence(0.0, 0.0)
    distinct, codes = np.unique(values, return_inverse=True)
    levels = np.linspace(0, 1, smooth_bins(len(distinct), values_per_bin) + 1)[1:-1]
    codes_errors, smooth_errors, constant_errors = (np.empty(len(values)) for _ in range(3))
    for train, test in KFold(FOLDS, shuffle=True, random_state=seed).split(values):
        edges = np.unique(np.quantile(values[train], levels))
        # Each edge closes its bin (side="left"): a value held by many rows sits on edges and gets a bin of its
        # own, rather than sharing one with the values above it.
        bins = np.searchsorted(edges, values, side="left")
        codes_errors[test], constant_errors[test] = _held_out_errors(codes, targets, train, test)
        smooth_errors[test], _ = _held_out_errors(bins, targets, train, test)
    smooth = 1.0 - smooth_errors.sum() / total
    differences = (smooth_errors if smooth >= 0 else constant_errors) - codes_errors
    return CodeEvidence(codes=1.0 - codes_errors.sum() / total, smooth=smooth,
                        spread=float(np.sqrt(len(differences)) * differences.std() / total))


def _held_out_errors(keys, targets, train, test):
    """The squared errors, a row of `test` each, of the targets' shrunk mean per key learned on the `train` rows (a
    key unseen in training gets the overall mean), and of the overall mean itself."""
    size = int(keys.max()) + 1
    overall = targets[train].mean(axis=0)
    counts = np.bincount(keys[train], minlength=size)
    sums = np.column_stack([np.bincount(keys[train], weights=targets[train, j], minlength=size)
                            for j in range(targets.shape[1])])
    means = (sums + SHRINK_ROWS * overall) / (counts[:, None] + SHRINK_ROWS)
    return ((targets[test] - means[keys[test]]) ** 2).sum(axis=1), ((targets[test] - overall) ** 2).sum(axis=1)


def find_codes(frame, profiles, targets, settings):
    """{name: CodeEvidence} for the candidate columns whose per-value means explain at least
    `settings["codes_min_gain"]` more of the target matrix's variance than a smooth function of their value, after
    taking off `settings["codes_noise_z"]` standard errors of that gain (the smooth function's bins as
    `settings["codes_values_per_bin"]` says). Empty when the setting is off or there is
    no target."""
    if not settings["codes_from_target"] or targets is None:
        return {}
    found = {}
    for name in candidates(frame, profiles, settings["integer_categorical_max_unique"]):
        measured = evidence(numeric_values(frame[name]), targets,
                            values_per_bin=settings["codes_values_per_bin"])
        if measured.clears(settings["codes_min_gain"], settings["codes_noise_z"]):
            found[name] = measured
    return found


def as_codes(profile, measured):
    """The column's profile read as categorical codes (their raw values stay numbers), with the evidence as its
    reason."""
    return dataclasses.replace(profile, kind="categorical", reason=f"{profile.reason}; {measured.describe()}")
