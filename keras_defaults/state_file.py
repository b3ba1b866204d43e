"""Reading a saved Automater's `automater.json`: every key is checked before anything is built from it.

A file that does not have exactly the shape `Automater.save` writes (an unexpected key anywhere, a value of the
wrong type, settings that are not in the defaults table) is refused with `UnsafeFileError`: loading trusts nothing
it did not write.
"""

import dataclasses
import json

from keras_defaults import defaults as table
from keras_defaults.errors import ConfigError, ConfigTypeError, UnsafeFileError, shown
from keras_defaults.schema import ColumnProfile

FORMAT_VERSION = 1
# The largest automater.json a save can need: vocabularies of thousands of columns take tens of megabytes.
STATE_MAX_BYTES = 256 * 2 ** 20
STATE_KEYS = {"format_version", "keras_defaults_version", "params", "config", "origins", "inputs", "targets",
              "model_sha256", "history"}
# Saves made before the model's digest or the training curves were recorded still load (without them).
_STATE_REQUIRED = STATE_KEYS - {"model_sha256", "history"}
# The training curves, {metric: [value per epoch]}: bounds far beyond any fit's, so that a file cannot make loading
# build millions of lists (the file's size bounds the total).
HISTORY_MAX_METRICS = 1_000
HISTORY_MAX_NAME = 1_000
HISTORY_MAX_EPOCHS = 1_000_000
INPUT_KEYS = {"profile", "state", "settings"}
TARGET_KEYS = {"name", "kind", "profile", "state", "settings"}
_PROFILE_FIELDS = {f.name for f in dataclasses.fields(ColumnProfile)}
_PROFILE_REQUIRED = {f.name for f in dataclasses.fields(ColumnProfile)
                     if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def read_state(state_file, param_names):
    """The validated contents of `state_file`. `param_names` are the Automater arguments `params` may hold."""
    size = state_file.stat().st_size
    if size > STATE_MAX_BYTES:
        raise UnsafeFileError(f"Refusing to load '{state_file}': {size:,} bytes, over the {STATE_MAX_BYTES:,} a saved "
                              f"Automater's state can need.")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        # ValueError: not JSON, or an integer of thousands of digits; RecursionError: nesting thousands deep.
        raise UnsafeFileError(f"'{state_file}' is not valid JSON ({type(error).__name__}: {str(error)[:200]}); the "
                              f"save may be corrupt.") from None
    refuse = _Refuser(state_file)
    refuse.unless_keys(state, STATE_KEYS, _STATE_REQUIRED, "the file")
    if "model_sha256" in state and not (isinstance(state["model_sha256"], str) and len(state["model_sha256"]) == 64):
        raise UnsafeFileError(f"Refusing to load '{state_file}': 'model_sha256' must be a sha256 in hex.")
    if state["format_version"] != FORMAT_VERSION:
        raise UnsafeFileError(f"'{state_file}' was saved in format {state['format_version']!r}; this version reads "
                              f"format {FORMAT_VERSION}.")
    refuse.unless_keys(state["params"], set(param_names), {"target"}, "'params'")
    try:
        table.Config.builtin().merged(state["config"], f"'{state_file}'")
    except (ConfigError, ConfigTypeError) as error:
        raise UnsafeFileError(f"Refusing to load '{state_file}': its 'config' is not a valid settings table. "
                              f"{error}") from None
    origins = state["origins"]
    if not isinstance(origins, list) or not all(
            isinstance(o, list) and len(o) == 2 and isinstance(o[0], list) and isinstance(o[1], str) for o in origins):
        raise UnsafeFileError(f"Refusing to load '{state_file}': 'origins' must be a list of [setting path, source].")
    if "history" in state:
        refuse.unless_history(state["history"])
    refuse.unless_mapping(state["inputs"], "'inputs'")
    for name, entry in state["inputs"].items():
        refuse.unless_keys(entry, INPUT_KEYS, INPUT_KEYS, f"input '{name}'")
        refuse.unless_keys(entry["profile"], _PROFILE_FIELDS, _PROFILE_REQUIRED, f"the profile of input '{name}'")
        refuse.unless_one_of(entry["profile"]["kind"], table.COLUMN_KINDS, f"the kind of input '{name}'")
        for part in ("state", "settings"):
            if entry[part] is not None:
                refuse.unless_mapping(entry[part], f"the {part} of input '{name}'")
    refuse.unless_mapping(state["targets"], "'targets'")
    if not state["targets"]:
        raise UnsafeFileError(f"Refusing to load '{state_file}': it names no target.")
    for name, entry in state["targets"].items():
        refuse.unless_keys(entry, TARGET_KEYS, TARGET_KEYS, f"target '{name}'")
        refuse.unless_keys(entry["profile"], _PROFILE_FIELDS, _PROFILE_REQUIRED, f"the profile of target '{name}'")
        refuse.unless_one_of(entry["kind"], table.TARGET_KINDS, f"the kind of target '{name}'")
        refuse.unless_mapping(entry["state"], f"the state of target '{name}'")
        refuse.unless_mapping(entry["settings"], f"the settings of target '{name}'")
        if entry["kind"] in ("categorical", "boolean"):
            refuse.unless_classes(entry["state"].get("classes"), entry["kind"], name)
    target = state["params"]["target"]
    if not (isinstance(target, str) or isinstance(target, list) and target and all(isinstance(t, str) for t in target)
            ) or set([target] if isinstance(target, str) else target) != set(state["targets"]):
        raise UnsafeFileError(f"Refusing to load '{state_file}': 'params.target' must name the saved targets "
                              f"{sorted(state['targets'])}, as a column name or a list of them. Found {shown(target)}.")
    return state


class _Refuser:
    def __init__(self, state_file):
        self.state_file = state_file

    def unless_mapping(self, value, where):
        if not isinstance(value, dict):
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': {where} must be a mapping, found "
                                  f"{type(value).__name__}.")

    def unless_one_of(self, value, allowed, where):
        if not isinstance(value, str) or value not in allowed:
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': {where} is {value!r}, not one of "
                                  f"{list(allowed)}.")

    def unless_classes(self, classes, kind, name):
        """A class target's labels: a list of distinct plain values, two for a two-valued (boolean) target."""
        plain = isinstance(classes, list) and all(isinstance(c, (str, int, float, bool)) for c in classes)
        count = 2 if kind == "boolean" else None
        if not plain or len(classes) < 2 or len({(type(c), c) for c in classes}) != len(classes) or (
                count is not None and len(classes) != count):
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': the classes of target '{name}' must be a "
                                  f"list of {count or 'at least 2'} distinct labels, found {shown(classes)}.")

    def unless_history(self, history):
        """Training curves as `Automater.save` writes them: {metric name: [float per epoch]}, every list as long.
        NaN and infinities are allowed: Keras records them when training diverges, and a save must load."""
        self.unless_mapping(history, "'history'")
        lengths = {len(values) for values in history.values() if isinstance(values, list)}
        named = all(isinstance(name, str) and 0 < len(name) <= HISTORY_MAX_NAME for name in history)
        floats = all(isinstance(values, list) and all(type(v) is float for v in values) for values in history.values())
        if not (named and floats and len(history) <= HISTORY_MAX_METRICS and len(lengths) <= 1
                and max(lengths, default=0) <= HISTORY_MAX_EPOCHS):
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': 'history' must map at most "
                                  f"{HISTORY_MAX_METRICS:,} metric names to lists of floats of one length (one per "
                                  f"epoch, at most {HISTORY_MAX_EPOCHS:,}), as Keras's History records them. Found "
                                  f"{shown(history)}. The file was not written by Automater.save, or was changed "
                                  f"since.")

    def unless_keys(self, value, allowed, required, where):
        """`value` is a mapping whose keys are all `allowed` and include every `required` one."""
        self.unless_mapping(value, where)
        unexpected = sorted(set(value) - allowed, key=str)
        absent = sorted(required - set(value))
        if unexpected or absent:
            found = (f"unexpected key(s) {unexpected}" if unexpected else "") + (
                "; " if unexpected and absent else "") + (f"missing key(s) {absent}" if absent else "")
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': {where} does not have the keys a saved "
                                  f"Automater writes ({found}; expected {sorted(allowed)}). The file was not written "
                                  f"by Automater.save, or was changed since.")
