"""The defaults table: read `defaults.yaml`, deep-merge the user's layers over it, validate, remember origins.

Every setting the library uses is a leaf of one merged dictionary. Each leaf remembers where it came from (the
built-in table, a user's file, a column entry or a keyword argument), so `explain()` can say why a choice was made.
"""

import copy
from importlib import resources
from pathlib import Path

import yaml

from keras_defaults.errors import ConfigError, ConfigTypeError, did_you_mean, expected_one_of

BUILTIN_SOURCE = "defaults.yaml"
KINDS = ("numerical", "categorical", "boolean", "text")
COLUMN_KINDS = KINDS + ("ignore",)
TARGET_KINDS = ("numerical", "categorical", "boolean")

# Sections whose keys are free-form: documentation maps, optimizer keyword arguments, column names.
_DOC_KEYS = {"losses", "choices"}


def builtin_path():
    """Where `defaults.yaml` is: inside the installed package, or at the root of a source checkout."""
    packaged = resources.files("keras_defaults") / "defaults.yaml"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "defaults.yaml"


def read_yaml(path):
    """Read a YAML mapping with `yaml.safe_load`; malformed YAML is reported with the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found: '{path}'. Pass the path of an existing YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    return data


def _leaves(data, prefix=()):
    for key, value in data.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _type_name(value):
    return "null" if value is None else type(value).__name__


def _same_type(default, value):
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


class Config:
    """The merged settings and, for every leaf, the source it came from.

    Build it with `Config.build(layers)`: the built-in table first, then each `(source, mapping)` layer merged over
    it in order. Lists and scalars replace; mappings merge key by key.
    """

    def __init__(self, data, origins):
        self.data = data
        self.origins = origins

    @classmethod
    def builtin(cls):
        data = read_yaml(builtin_path())
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
        if not found:
            return BUILTIN_SOURCE
        specific = [s for s in found if s != BUILTIN_SOURCE]
        return specific[-1] if specific else BUILTIN_SOURCE

    def column(self, name):
        return self.data.get("columns", {}).get(name, {})

    def to_dict(self):
        return copy.deepcopy(self.data)

    def to_yaml(self):
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True)


def _merge_into(base, update, prefix, source, origins):
    for key, value in update.items():
        path = prefix + (key,)
        where = ".".join(str(p) for p in path)
        if not isinstance(key, str):
            raise ConfigTypeError(f"Setting names must be strings. Received: {key!r} in {source}.")
        free_form = (
            prefix[:1] == ("columns",)
            or (prefix == ("optimizer",))
            or (len(prefix) >= 1 and prefix[-1] in _DOC_KEYS)
        )
        if key not in base and not free_form:
            hint = did_you_mean(key, base.keys())
            known = ", ".join(sorted(map(str, base.keys())))
            raise ConfigError(
                f"Unknown setting '{where}' in {source}.{hint} Known settings here: {known}."
            )
        if key in base and isinstance(base[key], dict) and key not in _DOC_KEYS | {"columns"}:
            if not isinstance(value, dict):
                raise ConfigTypeError(
                    f"Setting '{where}' in {source} must be a mapping. Received: {_type_name(value)} {value!r}."
                )
            _merge_into(base[key], value, path, source, origins)
            continue
        if key == "columns" and prefix == ():
            if not isinstance(value, dict):
                raise ConfigTypeError(
                    f"'columns' in {source} must map column names to settings. Received: {value!r}."
                )
            for column, entry in value.items():
                _merge_column(base["columns"], column, entry, source, origins)
            continue
        if key in base and not _same_type(base[key], value) and not _loss_like(path):
            raise ConfigTypeError(
                f"Setting '{where}' in {source} must be a {_type_name(base[key])}. "
                f"Received: {_type_name(value)} {value!r}."
            )
        base[key] = copy.deepcopy(value)
        for stale in [p for p in origins if p[: len(path)] == path]:
            del origins[stale]
        if isinstance(value, dict) and value:
            for leaf, _ in _leaves(value, path):
                origins[leaf] = source
        else:
            origins[path] = source


def _loss_like(path):
    # A loss or metric may be a name or a mapping {name: ..., <arguments>}.
    return len(path) == 3 and path[0] == "targets" and path[2] in ("loss", "metrics")


def _merge_column(columns, column, entry, source, origins):
    if not isinstance(entry, dict):
        raise ConfigTypeError(
            f"The entry for column '{column}' in {source} must be a mapping such as {{kind: categorical}}. "
            f"Received: {entry!r}."
        )
    kind = entry.get("kind")
    if kind is not None and kind not in COLUMN_KINDS:
        raise ConfigError(f"Column '{column}' in {source}: " + expected_one_of("kind", kind, COLUMN_KINDS))
    merged = columns.setdefault(column, {})
    merged.update(copy.deepcopy(entry))
    for key in entry:
        origins[("columns", column, key)] = f"{source} (column '{column}')"


def validate_column_entry(config, column, kind, role):
    """Check a column entry's keys against the settings its kind has, once the column's kind and role are known."""
    entry = config.column(column)
    section = "targets" if role == "target" else "inputs"
    allowed = set(config.get(section, kind)) if kind in config.get(section) else set()
    allowed |= {"kind"}
    for key in entry:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise ConfigError(
                f"Unknown setting '{key}' for {role} column '{column}' of kind '{kind}' "
                f"(from {config.origin('columns', column, key)}).{hint} "
                f"Known settings: {', '.join(sorted(allowed))}."
            )


def column_settings(config, column, kind, role):
    """The settings of one column: its kind's section, overridden by the column's own entry."""
    section = "targets" if role == "target" else "inputs"
    settings = copy.deepcopy(config.get(section, kind)) if kind in config.get(section) else {}
    for key, value in config.column(column).items():
        if key != "kind":
            settings[key] = copy.deepcopy(value)
    return settings


def setting_origin(config, column, kind, role, key):
    """Where one of a column's settings came from."""
    if key in config.column(column):
        return config.origin("columns", column, key)
    section = "targets" if role == "target" else "inputs"
    return config.origin(section, kind, key)
