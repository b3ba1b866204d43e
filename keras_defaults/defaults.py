"""The defaults table: read `defaults.yaml`, deep-merge the user's layers over it, validate, remember origins.

Every setting the library uses is a leaf of one merged dictionary. Each leaf remembers where it came from (the
built-in table, a user's file, a column entry or a keyword argument), so `explain()` can say why a choice was made.

Precedence, lowest first: `defaults.yaml` < the user's files (in the order given) < per-column entries
(`columns:`) < keyword arguments. Layers are merged in that order, later winning; a column entry beats its kind's
section (`inputs.<kind>`, `targets.<kind>`) for that column unless the section's value came from a keyword argument
and the entry's did not.
"""

import copy
import dataclasses
import hashlib
import json
import math
import numbers
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from keras_defaults.errors import ConfigError, ConfigTypeError, did_you_mean, expected_one_of, shown

BUILTIN_SOURCE = "defaults.yaml"
MAPPING_SOURCE = "config= mapping"
KINDS = ("numerical", "categorical", "boolean", "text", "datetime", "set")
# Kinds a column can be given besides the encoded ones: left out, or the row weights of the loss (not an input).
WEIGHT = "weight"
COLUMN_KINDS = KINDS + ("ignore", WEIGHT)
TARGET_KINDS = ("numerical", "categorical", "boolean", "set")

# A settings file is a few kilobytes: these bounds refuse files made to exhaust the reader (see read_yaml).
YAML_MAX_BYTES = 2 ** 20
YAML_MAX_VALUES = 100_000
YAML_MAX_DEPTH = 50

# Documentation maps inside the table (a note per alternative); free-form, never read as settings.
_DOC_KEYS = {"losses", "choices"}
DOC_KEYS = frozenset(_DOC_KEYS)
# Sections that no fit with a target reads, and so no benchmark of one depends on: `autoencoder` (only
# `Automater(target=None)` reads it) and `search` (only `tune` reads it; what it chooses reaches the fit as settings
# of the other sections).
_SECTIONS_NOT_READ_BY_FIT = {"autoencoder", "search"}
# The searched settings of `search.space`, keyed by a setting's path; each entry is one value (replaced whole) that
# `tuning.space` checks, and null removes an entry.
_SEARCH_SPACE = ("search", "space")

# What a setting accepts beyond "the type of its default". Keyed by the setting's own name, so that a column entry
# is checked exactly as its kind's section is.
_ONE_OF = {
    "scaling": ("robust", "standard", "quantile"),
    "output_mode": ("tf_idf", "multi_hot", "count"),
    "log_transform": ("auto", True, False),
    "class_weight": ("auto", "balanced", "none"),
    "epoch_unit": ("auto", "s", "ms", "us", "ns"),
    "normalize": ("none", "l2"),
    "numerical_embedding": ("none", "periodic", "auto"),
    "ensemble_mlp": ("shared", "per_member"),
    "refit": ("auto", True, False),
    "refit_start": ("fresh", "stopped"),
    "ordinal": ("auto", True, False),
}
# Settings of a target's head (targets.<kind>.<key>, or a target's column entry) that take one of a list; a key
# also used elsewhere (training.distribution names a tf.distribute strategy) is checked there by its own rule.
_TARGET_ONE_OF = {"distribution": ("point", "normal")}
# The calendar parts a date-time column can be encoded with (inputs.datetime.parts).
CALENDAR_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "hour", "minute")
# List settings whose every element must be one of these.
_EACH_ONE_OF = {"parts": CALENDAR_PARTS}
_AT_LEAST = {
    "epochs": 1, "batch_size": 1, "patience": 0, "units": 1, "ngrams": 1, "max_tokens": 1, "min_frequency": 1,
    "max_levels": 1, "one_hot_max_levels": 0, "embedding_dim": 1, "embedding_max_dim": 1,
    "categorical_max_unique": 0, "integer_categorical_max_unique": 0, "id_like_min_rows": 0,
    "text_min_mean_words": 0, "log_transform_min_ratio": 1, "piecewise_linear_bins": 0, "reduce_lr_patience": 0,
    "periodic_frequencies": 1, "periodic_dim": 1, "ensemble": 1, "refit_max_rows": 0, "codes_noise_z": 0,
    "codes_values_per_bin": 1,
    "large_data_units": 1, "large_data_min_rows": 0, "numerical_embedding_min_rows": 0, "small_data_ensemble": 1,
    "small_data_below_rows": 0, "small_data_batch_size": 1, "small_data_periodic_dim": 1,
    "small_data_periodic_frequencies": 1, "training_range_margin": 0,
}
# Beyond these a setting cannot be meant: a learning rate of 1e300 trains a model of NaNs, and every count the
# table holds (epochs, units, batch size, levels) fits in an int32 that TensorFlow can take.
_AT_MOST = {"learning_rate": 10.0, "refit_fraction": 10.0, "training_range_margin": 1000.0}
_INT_MAX = 2 ** 31 - 1
_FRACTIONS = {"validation_split", "small_data_validation_split", "dropout", "small_data_dropout",
              "categorical_max_unique_ratio", "reduce_lr_factor", "threshold", "codes_min_gain",
              "zero_indicator_min_share", "refit_average"}  # 0 <= value < 1
_POSITIVE = {"clip_scale", "learning_rate", "reduce_lr_factor", "periodic_sigma", "periodic_clip", "threshold",
             "refit_fraction"}
# Strings that must hold a character other than white space (a set's delimiter: labels are stripped of it).
_VISIBLE_STRINGS = {"delimiter"}
# Settings whose default is null but that take a number when set.
_NULL_OR_INT = {"embedding_dim", "small_data_ensemble", "small_data_batch_size", "small_data_periodic_dim"}
# Settings whose default is null but that take a number (an int or a float) when set.
_NULL_OR_NUMBER = {"small_data_dropout", "small_data_validation_split"}
# Settings whose default is null but that take a list of distinct labels (strings, numbers or booleans) when set.
_NULL_OR_LABELS = {"order"}
# Settings whose default is null but that take a list of ints when set (layer widths, as `body.units`).
_NULL_OR_INTS = {"large_data_units"}


# ---------------------------------------------------------------------------------------------------- sources
def file_source(path):
    """How a user's file is named in origins and messages: its path as given, quoted."""
    return f"'{path}'"


def argument_source(name):
    """A keyword argument in Python or an option on the command line, e.g. 'overrides= argument'."""
    return f"{name} argument"


def column_entry_source(source):
    return f"column entry in {source}"


def is_argument(origin):
    return str(origin).endswith(" argument")


# ---------------------------------------------------------------------------------------------------- files
def builtin_path():
    """Where `defaults.yaml` is: inside the installed package, or at the root of a source checkout."""
    packaged = resources.files("keras_defaults") / "defaults.yaml"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "defaults.yaml"


def builtin_text():
    """The built-in table, comments included: the cheat sheet `keras-defaults defaults` prints."""
    return builtin_path().read_text(encoding="utf-8")


# The built-in table as parsed, by (path, modification time, size): every Automater reads it, and parsing it is slower
# than copying it.
_PARSED_BUILTIN = {}


def _builtin_data():
    """A fresh copy of the parsed built-in table, which is read again when the file changes."""
    path = builtin_path()
    try:
        stat = path.stat()
    except OSError:
        return read_yaml(path)  # which says what is wrong
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED_BUILTIN:
        _PARSED_BUILTIN.clear()
        _PARSED_BUILTIN[key] = read_yaml(path)
    return copy.deepcopy(_PARSED_BUILTIN[key])


def settings_sha256(path=None):
    """The sha256 of the settings a defaults table gives to a fit with a target (the built-in table by default): its
    parsed values without the documentation maps (`_DOC_KEYS`) and the sections that only a fit without a target
    reads (`_SECTIONS_NOT_READ_BY_FIT`), as canonical JSON. Comments, layout and notes do not change it; any setting a
    supervised fit reads does. The quality benchmark records it, so that its results stay those of a table whose
    notes were edited since."""

    def settings_only(value):
        if isinstance(value, dict):
            return {str(k): settings_only(v) for k, v in value.items() if k not in _DOC_KEYS}
        return [settings_only(v) for v in value] if isinstance(value, list) else value

    data = settings_only(read_yaml(builtin_path() if path is None else path))
    data = {key: value for key, value in data.items() if key not in _SECTIONS_NOT_READ_BY_FIT}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def read_yaml(path):
    """Read a YAML mapping with `yaml.safe_load`; malformed YAML is reported with the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found: '{path}'. Pass the path of an existing YAML file.")
    if path.stat().st_size > YAML_MAX_BYTES:
        raise ConfigError(f"Config file '{path}' is {path.stat().st_size:,} bytes, over the {YAML_MAX_BYTES:,} a "
                          f"settings file can need; is it really a settings file?")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"Config file '{path}' is not UTF-8 text; is it really a YAML file?") from None
    except RecursionError:
        raise ConfigError(f"Config file '{path}' nests too deep to read.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"Malformed YAML in '{path}'{where}: {problem}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"A config file must hold a mapping of settings at its top level. Received a "
            f"{type(data).__name__} in '{path}'."
        )
    _check_expansion(data, path)
    return data


def _check_expansion(data, path):
    """Refuse YAML whose aliases expand beyond what a settings file holds (a "billion laughs": a few hundred bytes
    that unfold into billions of values), refer to themselves, or nest deeper than any setting. The mapping is
    walked as the rest of the code would walk it, counting each shared value every time it is reached."""
    seen = 0
    stack = [(data, 0, ())]
    while stack:
        node, depth, ancestors = stack.pop()
        seen += 1
        if seen > YAML_MAX_VALUES:
            raise ConfigError(f"Config file '{path}' unfolds into more than {YAML_MAX_VALUES:,} values (its aliases, "
                              f"*name, repeat anchored ones); a settings file holds a few hundred. Write the values "
                              f"out, or remove the aliases.")
        if depth > YAML_MAX_DEPTH:
            raise ConfigError(f"Config file '{path}' nests deeper than {YAML_MAX_DEPTH} levels; settings nest a few.")
        if isinstance(node, (dict, list)):
            if id(node) in ancestors:
                raise ConfigError(f"Config file '{path}' holds an alias that refers to itself (e.g. &a [1, *a]); "
                                  f"it would unfold without end.")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1, ancestors + (id(node),)) for child in children)


# ---------------------------------------------------------------------------------------------------- values
def _leaves(data, prefix=()):
    for key, value in data.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    return {str: "str", list: "list", dict: "mapping"}.get(type(value), type(value).__name__)


def _article(name):
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


def _plain(value, where, source):
    """The value as plain YAML data: tuples become lists, numpy scalars Python numbers; anything else is refused,
    since the merged config must be writable to YAML and read back unchanged."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, where, source) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, f"{where}.{k}", source) for k, v in value.items()}
    raise ConfigTypeError(
        f"Setting '{where}' in {source} must be plain data (a string, number, bool, null, list or mapping) so that "
        f"the configuration can be written to YAML. Received: {type(value).__name__} {value!r}. Name Keras "
        f"objects by their name, with arguments as a mapping, e.g. {{name: huber, delta: 0.5}}."
    )


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fits_type(default, value):
    if isinstance(default, bool):
        return isinstance(value, bool)
    if _is_int(default):
        return _is_int(value)
    if isinstance(default, float):
        return _is_number(value)
    if isinstance(default, list):
        if not isinstance(value, list):
            return False
        kinds = {type(d) for d in default}
        return len(kinds) != 1 or all(_fits_type(default[0], v) for v in value)
    return isinstance(value, type(default))


def _keras_spec_problem(key, value):
    """A loss is a name or a mapping {name: ..., <arguments>}; metrics are a list of those."""
    def one(spec):
        if isinstance(spec, str):
            return None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            return None
        return (f"a name or a mapping with a 'name', e.g. huber or {{name: huber, delta: 0.5}}. Received: "
                f"{_type_name(spec)} {spec!r}")
    if key == "metrics":
        if not isinstance(value, list):
            return f"a list of metrics, e.g. [mae]. Received: {_type_name(value)} {value!r}"
        return next((problem for problem in map(one, value) if problem), None)
    return one(value)


def check_value(key, default, value, where, source):
    """Raise a clear error when `value` cannot be the setting `key` whose built-in value is `default`."""
    def fail(expected, error=ConfigTypeError):
        raise error(f"Setting '{where}' in {source} must be {expected}. Received: {_type_name(value)} "
                    f"{shown(value)}.")

    if key in ("loss", "ordinal_loss", "metrics") and where.startswith(("targets.", "columns.")):
        problem = _keras_spec_problem(key, value)
        if problem:
            raise ConfigTypeError(f"Setting '{where}' in {source} must be {problem}.")
        return
    choices = _TARGET_ONE_OF.get(key) if where.startswith(("targets.", "columns.")) else None
    if choices is not None:
        if not isinstance(value, str) or value not in choices:
            raise ConfigError(f"Setting '{where}' in {source}: " + expected_one_of(key, value, choices))
        return
    if key in _ONE_OF:
        if value not in _ONE_OF[key] or isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ConfigError(f"Setting '{where}' in {source}: " + expected_one_of(key, value, _ONE_OF[key]))
        return
    if key in _NULL_OR_INT:
        if value is not None and not _is_int(value):
            fail("null or an int")
    elif key in _NULL_OR_NUMBER:
        if value is not None and not _is_number(value):
            fail("null or a number")
    elif key in _NULL_OR_INTS:
        if value is not None and not (isinstance(value, list) and all(_is_int(v) for v in value)):
            fail("null or a list of ints, e.g. [128, 128]")
    elif key in _NULL_OR_LABELS:
        expected = "null or a list of at least two distinct labels, lowest first, e.g. [low, medium, high]"
        if value is not None and not (isinstance(value, list) and all(
                isinstance(v, (str, int, float, bool)) for v in value)):
            fail(expected)
        if value is not None and (len(value) < 2 or len(set(map(repr, value))) < len(value)):
            fail(expected, ConfigError)
    elif value is None and default is not None:
        fail(_article(_type_name(default)))
    elif default is not None and not _fits_type(default, value):
        element = f" of {_type_name(default[0])}s" if isinstance(default, list) and default else ""
        fail(_article(_type_name(default)) + element)
    if key in _VISIBLE_STRINGS and not value.strip():
        fail("a string of at least one character other than white space, e.g. '|' or ','", ConfigError)
    for element in value if key in _EACH_ONE_OF else ():
        if element not in _EACH_ONE_OF[key]:
            raise ConfigError(f"Setting '{where}' in {source}: " + expected_one_of(key, element, _EACH_ONE_OF[key]))
    numbers_in = value if isinstance(value, list) else [value]
    for number in (n for n in numbers_in if _is_number(n)):
        if isinstance(number, float) and not math.isfinite(number):
            fail("a finite number", ConfigError)
        if _is_int(number) and abs(number) > _INT_MAX:
            fail(f"at most {_INT_MAX:,} (a count this large cannot be meant)", ConfigError)
        if key in _AT_MOST and number > _AT_MOST[key]:
            fail(f"at most {_AT_MOST[key]:g}", ConfigError)
        if key in _AT_LEAST and number < _AT_LEAST[key]:
            fail(f"at least {_AT_LEAST[key]}", ConfigError)
        if key in _FRACTIONS and not 0 <= number < 1:
            fail("a fraction in [0, 1)", ConfigError)
        if key in _POSITIVE and not number > 0:
            fail("positive", ConfigError)


# ---------------------------------------------------------------------------------------------------- the table
class Config:
    """The merged settings and, for every leaf, the source it came from.

    Build it with `Config.build(layers)`: the built-in table first, then each `(source, mapping)` layer merged over
    it in order. Lists and scalars replace; mappings merge key by key; a loss or a metric list is one value.
    """

    def __init__(self, data, origins):
        self.data = data
        self.origins = origins

    @classmethod
    def builtin(cls):
        data = _builtin_data()
        return cls(data, {path: BUILTIN_SOURCE for path, _ in _leaves(data)})

    @classmethod
    def build(cls, layers=()):
        config = cls.builtin()
        for source, mapping in layers:
            config = config.merged(mapping, source)
        return config

    def merged(self, mapping, source):
        """A new Config with `mapping` validated against this one and deep-merged over it."""
        if not isinstance(mapping, dict):
            raise ConfigTypeError(
                f"Settings from {source} must be a mapping. Received: {_type_name(mapping)} {mapping!r}."
            )
        data = copy.deepcopy(self.data)
        origins = dict(self.origins)
        _merge_into(data, mapping, (), source, origins)
        return Config(data, origins)

    def get(self, *path):
        node = self.data
        for key in path:
            node = node[key]
        return node

    def origin(self, *path):
        """The source of a setting; for a mapping, the most specific source of any leaf under it."""
        if path in self.origins:
            return self.origins[path]
        found = [source for leaf, source in self.origins.items() if leaf[: len(path)] == path]
        specific = [s for s in found if s != BUILTIN_SOURCE]
        return specific[-1] if specific else BUILTIN_SOURCE

    def origins_under(self, *path):
        """{"setting.sub_setting": source} for every leaf under a section, documentation maps left out."""
        depth = len(path)
        return {".".join(leaf[depth:]): source for leaf, source in self.origins.items()
                if leaf[:depth] == path and len(leaf) > depth and not set(leaf[depth:]) & _DOC_KEYS}

    def column(self, name):
        return self.data.get("columns", {}).get(name, {})

    def to_dict(self):
        return copy.deepcopy(self.data)

    def to_yaml(self):
        """The merged configuration as YAML: pass it back as `config=` (with the same seed) to repeat the run."""
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True)

    def save(self, path, note=None):
        """Write `to_yaml()` to `path`, after a comment saying what it is."""
        header = "# keras_defaults: the fully merged configuration of a run. Fit with it (config=...) to repeat it.\n"
        if note:
            header += "".join(f"# {line}\n" for line in note.splitlines())
        path = Path(path)
        path.write_text(header + self.to_yaml(), encoding="utf-8")
        return path


def _free_form(prefix):
    # Column names, an optimizer's keyword arguments and documentation notes are not keys of the table.
    return (prefix[:1] == ("columns",) or prefix in (("optimizer",), _SEARCH_SPACE)
            or (bool(prefix) and prefix[-1] in _DOC_KEYS))


def _loss_like(path):
    # A loss or a metric list is one choice: a later layer replaces it whole rather than merging into it.
    return len(path) == 3 and (path[0] == "targets" and path[2] in ("loss", "metrics") or path[:2] == _SEARCH_SPACE)


def _merge_into(base, update, prefix, source, origins):
    for key, value in update.items():
        path = prefix + (key,)
        where = ".".join(str(p) for p in path)
        if not isinstance(key, str):
            raise ConfigTypeError(f"Setting names must be strings. Received: {key!r} in {source}.")
        if key not in base and not _free_form(prefix):
            hint = did_you_mean(key, base.keys())
            known = ", ".join(sorted(map(str, base.keys())))
            raise ConfigError(f"Unknown setting '{where}' in {source}.{hint} Known settings here: {known}.")
        if path == ("columns",):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise ConfigTypeError(f"'columns' in {source} must map column names to settings, e.g. "
                                      f"{{zip_code: {{kind: categorical}}}}. Received: {value!r}.")
            for column, entry in value.items():
                _merge_column(base["columns"], column, entry, source, origins)
            continue
        if key in base and isinstance(base[key], dict) and not _loss_like(path):
            if value is None:  # a section left empty in YAML (every line under it commented out)
                continue
            if not isinstance(value, dict):
                raise ConfigTypeError(f"Setting '{where}' in {source} must be a mapping. Received: "
                                      f"{_type_name(value)} {value!r}.")
            _merge_into(base[key], value, path, source, origins)
            continue
        value = _plain(value, where, source)
        if key in base and not (bool(prefix) and prefix[-1] in _DOC_KEYS) and prefix != _SEARCH_SPACE:
            check_value(key, base[key], value, where, source)
        base[key] = value
        for stale in [p for p in origins if p[: len(path)] == path]:
            del origins[stale]
        if isinstance(value, dict) and value:
            for leaf, _ in _leaves(value, path):
                origins[leaf] = source
        else:
            origins[path] = source


def _merge_column(columns, column, entry, source, origins):
    # YAML reads `1:` as a number; column names are strings, and the entry's origins must be found under its name.
    column = str(column)
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        raise ConfigTypeError(
            f"The entry for column '{column}' in {source} must be a mapping such as {{kind: categorical}}. "
            f"Received: {entry!r}."
        )
    kind = entry.get("kind")
    if kind is not None and kind not in COLUMN_KINDS:
        raise ConfigError(f"Column '{column}' in {source}: " + expected_one_of("kind", kind, COLUMN_KINDS))
    merged = columns.setdefault(column, {})
    for key, value in entry.items():
        merged[key] = _plain(value, f"columns.{column}.{key}", source)
        for stale in [p for p in origins if p[:3] == ("columns", column, key)]:
            del origins[stale]
        origins[("columns", column, key)] = column_entry_source(source)


# ---------------------------------------------------------------------------------------------------- columns
def _section(role):
    return "targets" if role == "target" else "inputs"


def validate_column_entry(config, column, kind, role):
    """Check a column entry's keys and values against the settings its kind has, once its kind and role are known."""
    entry = config.column(column)
    section = _section(role)
    defaults = config.get(section, kind) if kind in config.get(section) else {}
    allowed = (set(defaults) - _DOC_KEYS) | {"kind"}
    for key, value in entry.items():
        origin = config.origin("columns", column, key)
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise ConfigError(
                f"Unknown setting '{key}' for {role} column '{column}' of kind '{kind}' (from {origin}).{hint} "
                f"Known settings: {', '.join(sorted(allowed))}."
            )
        if key != "kind":
            check_value(key, defaults[key], value, f"columns.{column}.{key}", origin)


# Column settings added after saves of format 1 were first written: a save from before one existed lacks it, and
# reads as its built-in value (the behaviour it was fitted with). Any other absent setting is refused.
SETTINGS_ADDED_SINCE_FORMAT_1 = {"ordinal", "ordinal_loss", "distribution", "calibrate_intervals"}


def check_saved_settings(builtin, settings, column, kind, role, where, source):
    """Check a saved column's settings (what `column_settings` returned at fit): exactly the settings of its kind's
    section in `builtin` (the built-in table), but for those in SETTINGS_ADDED_SINCE_FORMAT_1 that an older save
    lacks, each value one that setting takes. `where` names the settings in the message (a key path). Returns them
    complete: an absent added setting gets its built-in value. Raises ConfigError or ConfigTypeError."""
    section = _section(role)
    defaults = builtin.get(section, kind) if kind in builtin.get(section) else {}
    allowed = sorted(set(defaults) - _DOC_KEYS)
    if not isinstance(settings, dict):
        raise ConfigTypeError(f"{where} in {source} must be a mapping of the settings {allowed}. Received: "
                              f"{_type_name(settings)} {shown(settings)}.")
    unexpected = sorted(set(settings) - set(allowed), key=str)
    if unexpected:
        raise ConfigError(f"{where} in {source} has an unexpected key {unexpected[0]!r}. Expected keys: {allowed}.")
    absent = sorted(set(allowed) - set(settings) - SETTINGS_ADDED_SINCE_FORMAT_1)
    if absent:
        raise ConfigError(f"{where} in {source} lacks the key {absent[0]!r}. Expected keys: {allowed}.")
    for key in settings:
        # Named by the column entry that would set it, as check_value reads loss and metrics specs for columns.
        check_value(key, defaults[key], settings[key], f"columns.{column}.{key}", f"{source} ({where})")
    return {key: settings[key] if key in settings else copy.deepcopy(defaults[key]) for key in allowed}


def column_settings(config, column, kind, role):
    """The settings of one column: its kind's section, overridden by the column's own entry.

    A value that a keyword argument set on the kind's section beats a column entry from a file (keyword arguments
    come last in the precedence). Where that happens the winning value is written into the column's entry, with its
    origin, so that the merged config, saved to YAML and fitted from again, gives the same settings.
    """
    section = _section(role)
    settings = section_settings(config, kind, role)
    entry = config.column(column)
    for key, value in list(entry.items()):
        if key == "kind":
            continue
        if key in settings:
            section_origin = config.origin(section, kind, key)
            if is_argument(section_origin) and not is_argument(config.origin("columns", column, key)):
                entry[key] = copy.deepcopy(settings[key])
                for stale in [p for p in config.origins if p[:3] == ("columns", column, key)]:
                    del config.origins[stale]
                config.origins[("columns", column, key)] = section_origin
                continue
        settings[key] = copy.deepcopy(value)
    return settings


def section_settings(config, kind, role):
    """A copy of the settings of a kind's section (`inputs.<kind>` or `targets.<kind>`), without its notes."""
    section = _section(role)
    settings = copy.deepcopy(config.get(section, kind)) if kind in config.get(section) else {}
    for key in _DOC_KEYS:
        settings.pop(key, None)
    return settings


def setting_origin(config, column, kind, role, key):
    """Where one of a column's settings came from (after `column_settings` has settled the column)."""
    if key in config.column(column):
        return config.origin("columns", column, key)
    return config.origin(_section(role), kind, key)


def column_origins(config, column, kind, role):
    """{setting: source} for every setting of one column."""
    section = _section(role)
    keys = [k for k in (config.get(section, kind) if kind in config.get(section) else {}) if k not in _DOC_KEYS]
    return {key: setting_origin(config, column, kind, role, key) for key in keys}


# ---------------------------------------------------------------------------------------------------- typed views
@dataclasses.dataclass(frozen=True)
class Training:
    """The `training` section, read once per fit (the config is validated when it is built)."""

    epochs: int
    batch_size: int
    validation_split: float
    class_weight: str
    imbalance_ratio: float
    patience: int
    restore_best_weights: bool
    feature_cache_mb: int
    reduce_lr_patience: int
    reduce_lr_factor: float
    refit: object  # True, False or "auto"
    refit_max_rows: int
    refit_average: float
    epoch_metrics: bool
    refit_start: str
    refit_fraction: float
    distribution: str = None

    @classmethod
    def from_config(cls, config):
        section = config.get("training")
        stopping = section["early_stopping"]
        return cls(epochs=section["epochs"], batch_size=section["batch_size"],
                   validation_split=section["validation_split"], class_weight=section["class_weight"],
                   imbalance_ratio=section["imbalance_ratio"], patience=stopping["patience"],
                   restore_best_weights=stopping["restore_best_weights"],
                   feature_cache_mb=section["feature_cache_mb"], reduce_lr_patience=section["reduce_lr_patience"],
                   reduce_lr_factor=section["reduce_lr_factor"], refit=section["refit"],
                   refit_max_rows=section["refit_max_rows"], distribution=section["distribution"],
                   refit_average=section["refit_average"], epoch_metrics=section["epoch_metrics"],
                   refit_start=section["refit_start"], refit_fraction=section["refit_fraction"])
