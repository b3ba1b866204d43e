"""The target side: fitting a target column, checking its loss, class weights, labels, and decoding predictions.

A `TargetSpec` is the one place a target lives; its kind's encoder answers for the labels the loss sees and for the
decoding of the model's outputs back to the user's labels and units.
"""

import dataclasses

import numpy as np
import pandas as pd

from keras_defaults import defaults as table
from keras_defaults.encoders import ENCODERS
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, expected_one_of, warn
from keras_defaults.model import canonical_loss, check_activation, keras_loss, keras_metric, output_key
from keras_defaults.schema import IGNORE, ColumnProfile, infer_column, is_numeric, numeric_values, python_value


@dataclasses.dataclass
class TargetSpec:
    """A target column: its profile, kind, fitted state (classes or scale) and head settings."""

    name: str
    kind: str
    profile: ColumnProfile
    state: dict
    settings: dict
    # An autoencoder's column (`Automater(target=None)`): its labels carry a mask, and its rows are never dropped.
    masked: bool = False

    @property
    def encoder(self):
        return ENCODERS[self.kind]

    @property
    def classes(self):
        return self.state.get("classes")

    @property
    def predicts_classes(self):
        return self.encoder.predicts_classes

    @property
    def predicts_label_sets(self):
        return self.encoder.predicts_label_sets

    @property
    def has_probabilities(self):
        """Whether the head outputs probabilities: one per class, or one per label of a set."""
        return self.encoder.predicts_classes or self.encoder.predicts_label_sets

    @property
    def units(self):
        """Units of the head: 1 for a regression or a two-class target, one per class otherwise."""
        return self.encoder.head_units(self.state)

    def labels(self, series):
        """The training labels of `series` as the loss reads them (a numpy array); an autoencoder column's with a
        last column of 1 where the row has a value and 0 where it has none (see `masked_labels`)."""
        if self.masked:
            return masked_labels(self, series)
        return self.encoder.target_array(series, self.state, self.settings)

    def served_labels(self, series):
        """The labels of `series` as the served model outputs them (your units for numbers): what training the model
        of `build_model` yourself compares its outputs with."""
        return self.encoder.served_target_array(series, self.state, self.settings)

    def probabilities(self, outputs):
        """Class probabilities as float64, (rows, classes), from the served model's output for this target."""
        return np.asarray(self.encoder.probabilities(np.asarray(outputs, dtype="float64")), dtype="float64")

    def predictions(self, outputs):
        """Predictions in the user's labels and units (a numpy array) from the served model's output."""
        return self.encoder.decode(np.asarray(outputs, dtype="float64"), self.state)

    def to_dict(self):
        return {"name": self.name, "kind": self.kind, "profile": self.profile.to_dict(), "state": self.state,
                "settings": self.settings}

    @classmethod
    def from_dict(cls, data, masked=False):
        return cls(data["name"], data["kind"], ColumnProfile.from_dict(data["profile"]), data["state"],
                   data["settings"], masked)


def present_values(target, series):
    """A boolean array: the rows of `series` that a masked target's head can be trained on. A missing value is not;
    neither is a label the head has no output for (a level no training row had), nor a number that is not finite."""
    present = np.array(series.notna(), dtype=bool)  # a copy: pandas may hand out a read-only array
    if target.kind == "numerical":
        present &= np.isfinite(numeric_values(series))
    elif target.predicts_classes:
        classes = set(target.classes)
        present &= np.array([python_value(v) in classes if known else False
                             for v, known in zip(series, present)], dtype=bool)
    return present


def masked_labels(target, series):
    """An autoencoder column's labels, (rows, width + 1) float32: the loss's labels, then 1 where the row has a value
    the head is trained on and 0 where it has none (`present_values`); such a row's labels are a placeholder, which
    `layers.MaskedLoss` multiplies by 0."""
    present = present_values(target, series)
    if target.kind == "numerical":
        filled = pd.Series(np.where(present, numeric_values(series), 0.0), index=series.index)
    elif target.predicts_classes:
        filled = pd.Series(np.where(present, series.astype(object), target.classes[0]), index=series.index,
                           dtype=object)
    else:  # a set: a missing one reads as no labels, and labels the head has no output for are left out
        filled = series
    labels = np.asarray(target.encoder.target_array(filled, target.state, target.settings), dtype="float32")
    labels = labels.reshape(-1, 1) if labels.ndim == 1 else labels  # class codes: one column
    return np.concatenate([labels, present.astype("float32").reshape(-1, 1)], axis=1)


def fit_target(series, name, config, forced_kind):
    """Infer a target's kind, check it and its head settings, and fit its state: a `TargetSpec`."""
    if is_numeric(series):
        infinite = int(np.isinf(numeric_values(series)).sum())
        if infinite:  # as a class it would be a label "inf"; as a number, no loss can take it
            raise DataError(f"Target '{name}' has infinite values ({infinite} row(s)). Remove those rows or replace "
                            f"them with finite numbers (or NaN: such rows are dropped with a warning).")
    profile = infer_column(series, name, config.get("inference"), config.get("inputs", "boolean"), forced_kind)
    if (profile.kind == "categorical" and not profile.forced
            and config.get("inference")["stepped_integer_target_numerical"]):
        profile = _graded_scale(series, profile)
    kind = profile.kind
    if kind == IGNORE:
        if profile.forced:
            raise ConfigError(f"Target column(s) ['{name}'] are set to kind 'ignore' (from "
                              f"{config.origin('columns', name, 'kind')}); a target cannot be left out. Remove that "
                              f"entry, or choose another target.")
        # ID-like numbers are still a perfectly good regression target; labels that are all distinct are not.
        if profile.input_dtype != "float32" or profile.n_unique < 2:
            _check_distinct(profile)
            raise DataError(f"Target '{name}' has a different value in every row ({profile.reason}); it cannot "
                            f"be learned as classes. Force its kind with column_types= if this is intended.")
        kind = "numerical"
    encoder = ENCODERS[kind]
    if encoder.predicts_classes and profile.n_unique != series.dropna().nunique():
        # Classes are the raw values, but inference read some of them as one (as the model reads inputs).
        raise DataError(f"Target '{name}' holds labels that are one value written in different ways (e.g. 1 and "
                        f"'1', or '0.0' and '-0.0'), which as classes would be confused. Make them uniform, e.g. "
                        f"df['{name}'].astype(str) for labels or pd.to_numeric(df['{name}']) for numbers.")
    _check_distinct(profile)
    if not encoder.can_be_target:
        raise DataError(encoder.not_a_target(profile))
    profile = dataclasses.replace(profile, kind=kind)
    encoder.check_target(series, name)
    table.validate_column_entry(config, name, kind, "target")
    settings = encoder.target_settings(series, name, table.column_settings(config, name, kind, "target"))
    settings["loss"] = check_loss_fits(settings, kind, name, config)
    state = encoder.fit_target(series, profile, settings)
    return TargetSpec(name, kind, profile, state, settings)


def _graded_scale(series, profile):
    """A target of integer codes whose values are a common step larger than 1 apart (0, 2, 4, ..., 10) is marks on a
    graded scale: a number (inference.stepped_integer_target_numerical). Anything else is returned as it was."""
    if isinstance(series.dtype, pd.CategoricalDtype) or not is_numeric(series):
        return profile  # a category dtype is the user's choice of classes; numeric strings stay labels
    numbers = numeric_values(series)
    values = np.unique(numbers[~np.isnan(numbers)])
    step = int(np.gcd.reduce(np.diff(values).astype("int64")))
    if step <= 1:
        return profile
    return dataclasses.replace(
        profile, kind="numerical", input_dtype="float32",
        reason=f"dtype {profile.dtype}, {profile.n_unique} whole numbers a step of {step} apart "
               f"({values[0]:g} to {values[-1]:g}): marks on a graded scale, read as a "
               f"number (inference.stepped_integer_target_numerical)")


def _check_distinct(profile):
    if profile.n_unique < 2:
        raise DataError(f"Target '{profile.name}' has a single value ({profile.sample}) in every row with a target: "
                        f"a model cannot learn anything from it. Check the column, or drop the rows that make it "
                        f"constant.")


def check_loss_fits(settings, kind, name, config):
    """Check a target's loss, metrics and activation before any data is encoded; returns the loss to compile.

    The loss must be one Keras knows, and not one that `defaults.yaml` lists for another kind of target (binary
    cross-entropy on a regression target, say). A kind whose labels are encoded for its listed losses only (a
    categorical target: integers or one-hot) takes only those. A class name (Huber) is returned as the function
    name (huber) that the label encoding reads.
    """
    encoder = ENCODERS[kind]
    loss_key = encoder.loss_setting(settings)

    def origin(key):
        return table.setting_origin(config, name, kind, "target", loss_key if key == "loss" else key)

    spec = settings["loss"]
    given = spec["name"] if isinstance(spec, dict) else spec
    where = f" for target '{name}' (from {origin('loss')})"
    documented = {other: list(config.get("targets", other).get("losses", {})) for other in table.TARGET_KINDS}
    loss = canonical_loss(given, where, also=[n for names in documented.values() for n in names])
    keras_loss(spec, where)
    listed = {other: _canonical_names(names) for other, names in documented.items()}
    if loss not in listed[kind]:
        others = [other for other in table.TARGET_KINDS if other != kind and loss in listed[other]]
        if others or encoder.listed_losses_only:
            why = f"is for {others[0]} targets" if others else "is not one its labels can be encoded for"
            raise ConfigError(f"Loss '{given}' {why}, but target '{name}' is {kind} (loss from {origin('loss')}). "
                              + expected_one_of("loss", given, config.get("targets", kind).get("losses", {})))
    encoder.check_loss(loss, given, settings, where)
    for metric in settings["metrics"]:
        keras_metric(metric, f" for target '{name}' (from {origin('metrics')})")
    check_activation(settings["activation"], f" for target '{name}' (from {origin('activation')})")
    if given == given.lower():
        return spec
    return {"name": loss, **{k: v for k, v in spec.items() if k != "name"}} if isinstance(spec, dict) else loss


def _canonical_names(losses):
    names = set()
    for listed in losses:
        try:
            names.add(canonical_loss(listed))
        except ConfigError:
            names.add(listed)  # a note on a name Keras does not know: documentation only
    return names


def label_arrays(frame, targets):
    """{output key: labels as the loss reads them} for the rows of `frame`, keyed as the network's outputs are
    (`model.output_key`)."""
    return {output_key(name): target.labels(frame[name]) for name, target in targets.items()}


# ---------------------------------------------------------------------------------------------------- class weights
CLASS_WEIGHTS = ("auto", "balanced", "none")


def _class_counts(frame, target):
    return frame[target.name].astype(object).value_counts()


def _weighted(counts, training):
    """Whether a classification target's rows are weighted: training.class_weight, with `auto` deciding by the
    ratio of its most to its least frequent class."""
    if training.class_weight == "auto":
        return counts.max() / counts.min() >= training.imbalance_ratio
    return training.class_weight == "balanced"


def check_balance(frame, targets, training):
    """Warn about a heavily imbalanced classification target, saying what training does about it."""
    for target in targets.values():
        if not target.predicts_classes:
            continue
        counts = _class_counts(frame, target)
        ratio = counts.max() / counts.min()
        if ratio < training.imbalance_ratio:
            continue
        if _weighted(counts, training):
            done = (f"Rows are weighted so that each class counts equally in the loss (training.class_weight: "
                    f"{training.class_weight}); 'none' trains on the raw frequencies, which keeps predicted "
                    f"probabilities calibrated.")
        else:
            done = ("Rows are not weighted (training.class_weight: none), which keeps probabilities calibrated and "
                    "accuracy high, but the rare class may seldom be predicted; when its recall matters more, set "
                    "training: {class_weight: balanced}, or use a focal loss (e.g. binary_focal_crossentropy).")
        warn(f"Target '{target.name}' is heavily imbalanced: its rarest class {counts.idxmin()!r} has "
             f"{counts.min()} of {int(counts.sum())} rows, {ratio:.0f} times fewer than the most frequent. {done}")


def sample_weights(frame, targets, training, rows=None, class_weight=None):
    """Per-row weights by target, {name: float32 array}, or None when no row is weighted.

    A classification target's rows are weighted by `class_weight` ({target: {label: weight}}, see
    `check_class_weight`) when given, else by training.class_weight: balanced weights (scikit-learn's) give a row of
    class c the weight rows / (classes * rows of c), so that each class carries the same total weight and the mean
    weight is 1. `rows`, the user's per-row weights (see `row_weights`), multiply every target's.
    """
    from sklearn.utils.class_weight import compute_sample_weight

    weights = {}
    for name, target in targets.items():
        if not target.predicts_classes:
            continue
        if class_weight is not None:
            if name in class_weight:
                by_code = np.array([class_weight[name].get(c, 1.0) for c in target.classes], dtype="float32")
                weights[name] = by_code[_class_codes(frame[name], target)]
        elif _weighted(_class_counts(frame, target), training):
            codes = pd.factorize(frame[name].astype(object))[0]
            weights[name] = compute_sample_weight("balanced", codes).astype("float32")
    if not weights and rows is None:
        return None
    base = rows if rows is not None else np.ones(len(frame), dtype="float32")
    # Keyed as the network's outputs are, which training weighs.
    return {output_key(name): (weights[name] * base if name in weights else base).astype("float32")
            for name in targets}


def _class_codes(series, target):
    index = {c: i for i, c in enumerate(target.classes)}
    return np.array([index[python_value(v)] for v in series], dtype="int64")


def check_class_weight(class_weight, targets):
    """A `class_weight=` argument as {target: {label: weight}}: a mapping keyed by the user's labels when there is
    one classification target, or by target name (each value a mapping keyed by labels). A label left out weighs 1,
    as in scikit-learn."""
    classifying = [name for name, target in targets.items() if target.predicts_classes]
    if not isinstance(class_weight, dict):
        raise ConfigTypeError(f"class_weight must be a mapping from class labels to weights (e.g. {{'yes': 5.0}}), "
                              f"or one of 'balanced', 'none', 'auto'. Received: {type(class_weight).__name__} "
                              f"{class_weight!r}.")
    if not classifying:
        kinds = sorted({"set" if target.predicts_label_sets else "regression" for target in targets.values()})
        raise ConfigError(f"class_weight weighs the classes of a classification target, but {list(targets)} "
                          f"{'is a' if len(targets) == 1 else 'are'} {' and '.join(kinds)} "
                          f"target{'' if len(targets) == 1 else 's'}. Use sample_weight= to weigh rows.")
    by_target = all(key in classifying and isinstance(value, dict) for key, value in class_weight.items())
    if not by_target:
        if len(classifying) > 1:
            raise ConfigError(f"With several classification targets ({classifying}), class_weight maps each target "
                              f"to its own weights, e.g. {{'{classifying[0]}': {{label: weight}}}}. Received: "
                              f"{class_weight!r}.")
        class_weight = {classifying[0]: class_weight}
    checked = {}
    for name, weights in class_weight.items():
        classes = list(targets[name].classes)
        checked[name] = {}
        for label, weight in weights.items():
            label = python_value(label)
            if label not in classes:
                raise ConfigError(f"class_weight names a label that target '{name}' does not have. "
                                  + expected_one_of("label", label, classes))
            if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) \
                    or not np.isfinite(weight) or weight < 0:
                raise ConfigError(f"class_weight for label {label!r} of target '{name}' must be a finite number at "
                                  f"least 0. Received: {weight!r}.")
            checked[name][label] = float(weight)
    return checked


def weight_profile(series, name):
    """The profile of the column named by sample_weight=: set aside as an input, and said why."""
    non_null = series.dropna()
    return ColumnProfile(name=name, kind=IGNORE, reason="the row weights (sample_weight=, or kind 'weight'): they weigh "
                         "rows in the loss and are not an input", dtype=str(series.dtype), n_unique=int(non_null.nunique()),
                         missing=int(series.isna().sum()), rows=len(series),
                         sample=[python_value(v) for v in pd.unique(non_null)[:3]], forced=True)


def row_weights(values, rows, what):
    """User-given weights of the rows, as float32: numbers, finite and at least 0, not all 0. `what` names them in
    messages ("column 'w' (sample_weight=)", or "sample_weight=")."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object).reshape(-1)
                                                                     if np.ndim(values) else [values])
    if len(series) != rows:
        raise DataError(f"{what} holds {len(series)} weight(s), but the DataFrame has {rows} rows: give one weight "
                        f"per row, in the DataFrame's order.")
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    unreadable = series[numbers.isna() & series.notna()]
    if len(unreadable):
        raise DataError(f"{what} holds {len(unreadable)} value(s) that are not numbers (e.g. "
                        f"{unreadable.iloc[0]!r}); a weight is a number at least 0.")
    if numbers.isna().any():
        raise DataError(f"{what} is missing for {int(numbers.isna().sum())} row(s); a weight is a number at least 0. "
                        f"Fill them (e.g. with 1.0), or drop those rows.")
    array = numbers.to_numpy()
    if not np.isfinite(array).all() or (array < 0).any():
        bad = array[~np.isfinite(array) | (array < 0)][0]
        raise DataError(f"{what} holds {bad!r}; a weight must be finite and at least 0.")
    if not array.any():
        raise DataError(f"Every weight in {what} is zero: no row would count in the loss.")
    return array.astype("float32")
