"""Input columns as objects: what inference learned, the settings from the table, and the fitted statistics.

A `ColumnSpec` is the one place an input column lives. The Automater keeps the columns it learns from in `inputs_`
and the ones it set aside in `ignored_`; saving, loading, explaining and the model are walks over them.
"""

import dataclasses

from keras_defaults import codes
from keras_defaults import defaults as table
from keras_defaults.encoders import ENCODERS, as_tensor
from keras_defaults.errors import DataError, warn
from keras_defaults.schema import IGNORE, ColumnProfile, infer_schema, split_used


NOTHING_LEFT = ("No input column is left to learn from: every column other than the target was set aside. See the "
                "warning above, or force a column's kind with column_types=.")


@dataclasses.dataclass
class ColumnSpec:
    """One input column: its profile (kind and evidence), its settings and its fitted state (None when ignored)."""

    name: str
    profile: ColumnProfile
    settings: dict = None
    state: dict = None

    @property
    def kind(self):
        return self.profile.kind

    @property
    def encoder(self):
        return ENCODERS[self.kind]

    @property
    def input_dtype(self):
        return self.profile.input_dtype

    def values(self, frame):
        """The column's raw values in the dtype of its model input (float32 with NaN, or strings)."""
        return self.encoder.raw_values(frame[self.name], self.profile, self.state)

    def tensor(self, frame):
        """`values` as a tensor; a column that cannot be read so is a `DataError` naming the column and the fix."""
        series = frame[self.name]
        try:
            return as_tensor(self.values(frame), self.input_dtype)
        except (TypeError, ValueError) as error:
            wanted = "numbers" if self.input_dtype == "float32" else "strings"
            raise DataError(f"Column '{self.name}' cannot be read as {wanted} (dtype {series.dtype}, e.g. "
                            f"{series.head(3).tolist()}): {error}. Convert it to the type it had in training "
                            f"({self.profile.dtype}).") from None

    def describe(self):
        return self.encoder.describe(self.state, self.settings) if self.state is not None else "left out"

    def to_dict(self):
        return {"profile": self.profile.to_dict(), "state": self.state, "settings": self.settings}

    @classmethod
    def from_dict(cls, name, data):
        return cls(name, ColumnProfile.from_dict(data["profile"]), data["settings"], data["state"])


def learn_inputs(frame, config, forced, targets, target_values=None):
    """Infer every non-target column's kind and fit the statistics of the ones used: ({name: ColumnSpec} used,
    {name: ColumnSpec} set aside). `target_values` (`codes.target_matrix`) tells integer codes from quantities;
    without it, inference reads the columns alone. Raises when no column is left to learn from."""
    profiles = infer_schema(frame, config.get("inference"), config.get("inputs", "boolean"), forced,
                            skip=set(targets))
    # A column with an entry of its own in `columns:` is the user's to describe: its settings were written for the
    # kind inference gives it.
    unconfigured = {name: p for name, p in profiles.items() if name not in config.get("columns")}
    told = codes.find_codes(frame, unconfigured, target_values, config.get("inference"))
    profiles = {name: codes.as_codes(p, told[name]) if name in told else p for name, p in profiles.items()}
    used, set_aside = split_used(profiles)
    inputs = {}
    for name, profile in used.items():
        table.validate_column_entry(config, name, profile.kind, "input")
        settings = table.column_settings(config, name, profile.kind, "input")
        if name in told:
            # Codes told by the target keep their number beside them: where the measure mistook a quantity for
            # codes, the network still has the value.
            settings = {**settings, "with_number": True}
        state = ENCODERS[profile.kind].fit_input(frame[name], profile, settings)
        inputs[name] = ColumnSpec(name, profile, settings, state)
    ignored = {name: ColumnSpec(name, profile) for name, profile in set_aside.items()}
    if not inputs:
        raise DataError(NOTHING_LEFT)
    return inputs, ignored


def set_aside_empty(inputs, ignored):
    """Move the used columns whose fitted state gives the model nothing to learn from (no label frequent and short
    enough for a vocabulary) to the set-aside ones, with a warning: new ({name: ColumnSpec} used, {name: ColumnSpec}
    set aside). Raises when no column is left to learn from. Run on the final states: from files, those counted over
    every row, where a label the sample saw once may reach min_frequency."""
    empty = {name: spec.encoder.learned_nothing(spec.state, spec.settings, name) for name, spec in inputs.items()}
    empty = {name: reason for name, reason in empty.items() if reason}
    if empty:
        listed = "; ".join(f"'{name}' ({reason})" for name, reason in empty.items())
        warn(f"Left out {len(empty)} column(s) that give the model nothing to learn from: {listed}.")
        ignored = {**ignored, **{name: ColumnSpec(name, dataclasses.replace(
            inputs[name].profile, kind=IGNORE, reason=reason)) for name, reason in empty.items()}}
        inputs = {name: spec for name, spec in inputs.items() if name not in empty}
    if not inputs:
        raise DataError(NOTHING_LEFT)
    return inputs, ignored


def raw_tensors(frame, inputs):
    """{column: tensor} of the raw values the model takes, for every used column."""
    return {name: spec.tensor(frame) for name, spec in inputs.items()}


def raw_arrays(frame, inputs):
    """{column: numpy array} of the raw values the model takes, for the `tf.data` pipeline."""
    return {name: spec.values(frame) for name, spec in inputs.items()}
