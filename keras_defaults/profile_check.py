"""The schema check at predict: compare a frame with the training profile saved in the model, and say what differs.

Missing columns are an error (they are listed); everything else the model can take is accepted and said: extra
columns are ignored, numbers that arrive as strings are parsed, values that do not parse and missing values where
training had none are read as missing. Warnings that describe the model rather than one call (extra columns,
missing values in a column that had none) are given once per Automater; the count of values that could not be
read is given on every call, since it is about that call's data.
"""

import dataclasses

import pandas as pd

from keras_defaults.errors import DataError, did_you_mean, warn
from keras_defaults.encoders import ENCODERS
from keras_defaults.schema import check_not_complex, split_used


@dataclasses.dataclass
class Differences:
    """How a frame differs from the columns a model was trained on."""

    missing: list = dataclasses.field(default_factory=list)
    duplicated: list = dataclasses.field(default_factory=list)
    extra: list = dataclasses.field(default_factory=list)
    # {column: (training dtype, dtype now, values that could not be read as numbers)}
    unreadable: dict = dataclasses.field(default_factory=dict)
    # {column: missing values now}, for columns that had none in training
    newly_missing: dict = dataclasses.field(default_factory=dict)


def compare(frame, profiles, targets):
    """The differences between `frame` and the training `profiles`; target columns are neither needed nor extra."""
    used, _ = split_used(profiles)
    known = set(profiles) | set(targets)
    present = pd.Index(frame.columns)
    differences = Differences(
        missing=[c for c in used if c not in present],
        duplicated=[c for c in used if (present == c).sum() > 1],
        extra=[c for c in present if c not in known],
    )
    for name in used:
        if name in differences.missing or name in differences.duplicated:
            continue
        series, profile = frame[name], profiles[name]
        check_not_complex(series, name)
        unread = ENCODERS[profile.kind].count_unreadable(series, profile)
        if unread:
            differences.unreadable[name] = (profile.dtype, str(series.dtype), unread)
        missing = int(series.isna().sum())
        if profile.missing == 0 and missing:
            differences.newly_missing[name] = missing
    return differences


def check(frame, inputs, ignored, targets, said):
    """Raise for what predict cannot work around; warn about the rest. `inputs` and `ignored` are the training
    columns ({name: ColumnSpec}); `said` is the set of warnings already given by this Automater (updated in place),
    so that a warning about the model is given once."""
    profiles = {name: spec.profile for name, spec in {**inputs, **ignored}.items()}
    differences = compare(frame, profiles, targets)
    if differences.missing:
        names = [str(c) for c in differences.extra]
        hints = "".join(f" ('{c}':{did_you_mean(c, names)})" for c in differences.missing if did_you_mean(c, names))
        raise DataError(f"The DataFrame lacks {len(differences.missing)} column(s) the model was trained on: "
                        f"{differences.missing}.{hints} Add them (NaN is accepted for missing values).")
    if differences.duplicated:
        raise DataError(f"Column(s) {differences.duplicated} appear more than once in the DataFrame; the model "
                        f"cannot tell which to use. Keep one of each, e.g. df.loc[:, ~df.columns.duplicated()].")
    if differences.extra and "extra" not in said:
        said.add("extra")
        shown = differences.extra[:10] + (["..."] if len(differences.extra) > 10 else [])
        warn(f"Ignoring {len(differences.extra)} column(s) the model was not trained on: {shown}. (Said once per "
             f"Automater.)")
    for name, (trained, now, count) in differences.unreadable.items():
        encoder = inputs[name].encoder
        warn(f"Column '{name}' is read as {encoder.reads_as} (training dtype {trained}), but {count} of {len(frame)} "
             f"value(s) here (dtype {now}) {encoder.unreadable_note(name)}.")
    for name, count in differences.newly_missing.items():
        key = ("missing", name)
        if key in said:
            continue
        said.add(key)
        warn(f"Column '{name}' had no missing values in training, but {count} of {len(frame)} row(s) here are "
             f"missing: {inputs[name].encoder.missing_note(inputs[name].state)}. (Said once per column.)")
    return differences
