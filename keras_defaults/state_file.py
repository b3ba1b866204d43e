"""Reading a saved Automater's `automater.json`: every key is checked before anything is built from it.

A file that does not have exactly the shape `Automater.save` writes (an unexpected key anywhere, a value of the
wrong type, settings that are not in the defaults table) is refused with `UnsafeFileError`: loading trusts nothing
it did not write.
"""

import dataclasses
import json

from keras_defaults import defaults as table
from keras_defaults.encoders import ENCODERS
from keras_defaults.errors import ConfigError, ConfigTypeError, UnsafeFileError, shown
from keras_defaults.schema import PROFILE_SHAPE, ColumnProfile
from keras_defaults.state_schema import Boolean, Either, Integer, MappingOf, Nullable, Number, ShapeMismatch, Text
from keras_defaults.state_schema import check

FORMAT_VERSION = 1
# The largest automater.json a save can need: vocabularies of thousands of columns take tens of megabytes.
STATE_MAX_BYTES = 256 * 2 ** 20
STATE_KEYS = {"format_version", "keras_defaults_version", "params", "config", "origins", "inputs", "targets",
              "model_sha256", "history", "refit_epochs", "autoencoder"}
# Saves made before the model's digest, the training curves or the refit's length were recorded still load (without);
# only an autoencoder's save (target null) has "autoencoder".
_STATE_REQUIRED = STATE_KEYS - {"model_sha256", "history", "refit_epochs", "autoencoder"}
# How many epochs the refit on all the rows ran (None: no refit).
REFIT_EPOCHS_SHAPE = Nullable(Integer(at_least=1))
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
# The Automater arguments `save` writes (the target is checked against the saved targets on its own).
_PARAM_SHAPES = {
    "seed": Nullable(Integer(at_least=0)),
    "verbose": Either(Text(["auto"]), Boolean(), Integer(at_least=0)),
    "column_types": Nullable(MappingOf(Text(), Text(table.COLUMN_KINDS))),
}


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
    for key, shape in _PARAM_SHAPES.items():
        if key in state["params"]:
            refuse.unless_shape(state["params"][key], shape, f"params[{key!r}]")
    builtin = table.Config.builtin()
    try:
        builtin.merged(state["config"], f"'{state_file}'")
    except (ConfigError, ConfigTypeError) as error:
        raise UnsafeFileError(f"Refusing to load '{state_file}': its 'config' is not a valid settings table. "
                              f"{error}") from None
    origins = state["origins"]
    if not isinstance(origins, list) or not all(
            isinstance(o, list) and len(o) == 2 and isinstance(o[0], list) and o[0] and isinstance(o[1], str)
            and all(isinstance(key, str) for key in o[0]) for o in origins):
        raise UnsafeFileError(f"Refusing to load '{state_file}': 'origins' must be a list of [setting path, source], "
                              f"a setting path being a list of keys (strings).")
    if "history" in state:
        refuse.unless_history(state["history"])
    if "refit_epochs" in state:
        refuse.unless_shape(state["refit_epochs"], REFIT_EPOCHS_SHAPE, "'refit_epochs'")
    refuse.unless_mapping(state["inputs"], "'inputs'")
    for name, entry in state["inputs"].items():
        refuse.unless_keys(entry, INPUT_KEYS, INPUT_KEYS, f"input '{name}'")
        refuse.unless_profile(entry["profile"], name, f"inputs[{name!r}]", f"input '{name}'")
        kind = entry["profile"]["kind"]
        refuse.unless_one_of(kind, table.COLUMN_KINDS, f"the kind of input '{name}'")
        if entry["state"] is None and entry["settings"] is None:
            continue  # a column set aside: the model does not read it
        if kind not in ENCODERS:
            raise UnsafeFileError(f"Refusing to load '{state_file}': input '{name}' is of kind '{kind}', which the "
                                  f"model never reads, yet it has a fitted state and settings. Expected both to be "
                                  f"null, as save writes them for a column set aside.")
        refuse.unless_shape(entry["state"], ENCODERS[kind].input_state_shape, f"inputs[{name!r}]['state']")
        entry["settings"] = refuse.unless_settings(builtin, entry["settings"], name, kind, "input",
                                                   f"inputs[{name!r}]['settings']")
    refuse.unless_mapping(state["targets"], "'targets'")
    if not state["targets"]:
        raise UnsafeFileError(f"Refusing to load '{state_file}': it names no target.")
    for name, entry in state["targets"].items():
        refuse.unless_keys(entry, TARGET_KEYS, TARGET_KEYS, f"target '{name}'")
        refuse.unless_profile(entry["profile"], name, f"targets[{name!r}]", f"target '{name}'")
        if entry["name"] != name:
            raise UnsafeFileError(f"Refusing to load '{state_file}': targets[{name!r}]['name'] must be {name!r}, the "
                                  f"key it is saved under. Received: {shown(entry['name'])}.")
        refuse.unless_one_of(entry["kind"], table.TARGET_KINDS, f"the kind of target '{name}'")
        refuse.unless_mapping(entry["state"], f"the state of target '{name}'")
        refuse.unless_mapping(entry["settings"], f"the settings of target '{name}'")
        if entry["kind"] in ("categorical", "boolean"):
            refuse.unless_classes(entry["state"].get("classes"), entry["kind"], name)
        kind = entry["kind"]
        refuse.unless_shape(entry["state"], ENCODERS[kind].target_state_shape, f"targets[{name!r}]['state']")
        entry["settings"] = refuse.unless_settings(builtin, entry["settings"], name, kind, "target",
                                                   f"targets[{name!r}]['settings']")
    target = state["params"]["target"]
    if target is None or "autoencoder" in state:
        _check_autoencoder(state, refuse)
        return state
    if not (isinstance(target, str) or isinstance(target, list) and target and all(isinstance(t, str) for t in target)
            ) or set([target] if isinstance(target, str) else target) != set(state["targets"]):
        raise UnsafeFileError(f"Refusing to load '{state_file}': 'params.target' must name the saved targets "
                              f"{sorted(state['targets'])}, as a column name or a list of them. Found {shown(target)}.")
    return state


def _check_autoencoder(state, refuse):
    """An autoencoder's save: target null, and its embedding width and the loss scale of every rebuilt column."""
    if state["params"]["target"] is not None or "autoencoder" not in state:
        raise UnsafeFileError(f"Refusing to load '{refuse.state_file}': an autoencoder's save has 'params.target' null "
                              f"and an 'autoencoder' entry, and this one has only one of them. {_NEVER_WRITTEN}")
    entry = state["autoencoder"]
    refuse.unless_keys(entry, {"embedding_dim", "loss_scales"}, {"embedding_dim", "loss_scales"}, "'autoencoder'")
    refuse.unless_shape(entry["embedding_dim"], Integer(at_least=1), "autoencoder['embedding_dim']")
    refuse.unless_shape(entry["loss_scales"], MappingOf(Text(), Number(positive=True)), "autoencoder['loss_scales']")
    if set(entry["loss_scales"]) != set(state["targets"]):
        raise UnsafeFileError(f"Refusing to load '{refuse.state_file}': autoencoder['loss_scales'] must name the "
                              f"rebuilt columns {sorted(state['targets'])}. Found "
                              f"{shown(sorted(entry['loss_scales']))}. {_NEVER_WRITTEN}")


_NEVER_WRITTEN = ("Automater.save never writes this: the file was changed since it was saved, or is damaged. Save the "
                  "Automater again.")


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

    def unless_shape(self, value, shape, where):
        """`value` has `shape` (see state_schema); `where` is its key path in the file."""
        try:
            check(value, shape, where)
        except ShapeMismatch as mismatch:
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': {mismatch} {_NEVER_WRITTEN}") from None

    def unless_profile(self, profile, name, where, described):
        self.unless_keys(profile, _PROFILE_FIELDS, _PROFILE_REQUIRED, f"the profile of {described}")
        self.unless_shape(profile, PROFILE_SHAPE, f"{where}['profile']")
        if profile["name"] != name:
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': {where}['profile']['name'] must be "
                                  f"{name!r}, the key it is saved under. Received: {shown(profile['name'])}.")

    def unless_settings(self, builtin, settings, name, kind, role, where):
        """A column's saved settings: its kind's settings in the defaults table, each a value it takes; returns them
        complete (a setting added since the save gets its built-in value)."""
        try:
            return table.check_saved_settings(builtin, settings, name, kind, role, where, f"'{self.state_file.name}'")
        except (ConfigError, ConfigTypeError) as error:
            raise UnsafeFileError(f"Refusing to load '{self.state_file}': {error} {_NEVER_WRITTEN}") from None

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
