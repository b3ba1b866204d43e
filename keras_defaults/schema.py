"""Column kinds from a DataFrame: numerical, categorical, boolean, text, datetime, set, or ignored; and the reason
for each.
"""

import dataclasses
import datetime
import re

import numpy as np
import pandas as pd

from keras_defaults.errors import DataError, integers_beyond_floats, shown, warn
from keras_defaults.state_schema import Anything, Boolean, Integer, ListOf, Record, Text

IGNORE = "ignore"
DATETIME = "datetime"
SET = "set"
# The characters that join a set's labels in a string cell ("action|comedy") which inference recognises, and which
# `delimiter: auto` chooses from. A comma is too common inside labels and free text ("Smith, J.") to be guessed: a
# column of comma-joined labels is one the user names (columns: {tags: {kind: set, delimiter: ","}}).
AUTO_DELIMITERS = ("|", ";")
# The delimiter that joins the labels of cells that are lists, sets or arrays, for the model (which reads strings).
LIST_DELIMITER = "|"

# The ISO-8601 forms a date-time string takes, as a case-insensitive regular expression: a date, optionally a time of
# day to the minute or second (with a fraction), optionally a UTC offset (Z, +HH, +HHMM or +HH:MM). Columns of such
# strings are dates; `layers.parse_datetimes` reads exactly these forms inside the model.
ISO_DATETIME = (r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                r"(?:\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?)?")


@dataclasses.dataclass
class ColumnProfile:
    """What was learned about one column: its kind, the evidence, and how its raw values reach the model."""

    name: str
    kind: str
    reason: str
    dtype: str
    n_unique: int
    missing: int
    rows: int
    sample: list
    # How raw values are fed to the model: "float32" (numbers, 0/1, NaN for missing) or "string".
    input_dtype: str = "float32"
    forced: bool = False

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(**data)


# The shape of a saved `ColumnProfile.to_dict()` (its kind is checked against the kinds by the state reader).
# `input_dtype` and `forced` may be absent: saves made before they existed still load, with their defaults.
PROFILE_SHAPE = Record({
    "name": Text(), "kind": Text(), "reason": Text(), "dtype": Text(), "n_unique": Integer(at_least=0),
    "missing": Integer(at_least=0), "rows": Integer(at_least=0), "sample": ListOf(Anything()),
    "input_dtype": Text(("float32", "string")), "forced": Boolean(),
}, optional=("input_dtype", "forced"))


def _sample(values, n=3):
    out = []
    for value in values[:n]:
        if isinstance(value, (datetime.date, datetime.timedelta, np.datetime64, np.timedelta64, pd.Period)):
            value = str(value)  # dates and durations are shown, and saved, as text
        elif isinstance(value, (np.generic,)):
            value = value.item()
        if isinstance(value, str) and len(value) > 30:
            value = value[:27] + "..."
        out.append(value)
    return out


def python_value(value):
    """A numpy scalar as the plain Python value (labels are compared, sorted and saved to JSON as such)."""
    return value.item() if isinstance(value, np.generic) else value


def is_string_like(series):
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return not pd.api.types.is_numeric_dtype(dtype.categories.dtype)
    return pd.api.types.is_string_dtype(dtype) or dtype == object


def is_numeric(series):
    """Numbers: numeric dtypes (nullable and numeric categories included) and durations, read as seconds."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.is_numeric_dtype(dtype.categories.dtype)
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)) or is_duration(series)


def is_duration(series):
    return pd.api.types.is_timedelta64_dtype(series.dtype)


def is_datetime(series):
    """A date-time dtype: datetime64 (naive or with a time zone), Arrow timestamps and dates, or periods."""
    return pd.api.types.is_datetime64_any_dtype(series.dtype) or isinstance(series.dtype, pd.PeriodDtype)


def is_bool(series):
    return pd.api.types.is_bool_dtype(series.dtype)


def numeric_values(series):
    """The column as float64 with NaN for missing (nullable, categorical and numeric-string columns included)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.dtype.categories.dtype if is_numeric(series) else object)
    if is_bool(series):
        return series.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    if is_duration(series):
        return series.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def string_values(series):
    """The column as Python strings; missing values become the empty string (a category of its own)."""
    if isinstance(series.dtype, pd.StringDtype):
        # Strings or missing values only, by their dtype: one conversion, with no check of every value.
        return series.to_numpy(dtype=object, na_value="", copy=True)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    values = series.astype(object)
    missing = values.isna().to_numpy()
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        # Only strings (the usual case): no value needs printing, so skip the per-value loop below.
        out = values.to_numpy(dtype=object, copy=True)
        out[missing] = ""
        return out
    out = np.empty(len(values), dtype=object)
    raw = values.to_numpy()
    for i in np.flatnonzero(~missing):
        value = raw[i]
        # Integral floats print as integers so that 3.0 and 3 name the same category.
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        out[i] = str(value)
    out[missing] = ""
    return out


def string_counts(series):
    """How many rows hold each value of `string_values(series)`: a Series of counts indexed by the strings (Python
    objects), missing values counted as "". A column of a string dtype is counted as it is stored (by Arrow, for
    pyarrow-backed strings), without making a Python string of every row first."""
    if not isinstance(series.dtype, pd.StringDtype):
        return pd.Series(string_values(series), dtype=object).value_counts(sort=False)
    counts = series.value_counts(dropna=True, sort=False)
    labels = counts.index.to_numpy(dtype=object)
    rows = counts.to_numpy(dtype="int64", copy=True)
    missing = int(series.isna().sum())
    if missing:
        empty = np.flatnonzero(labels == "")
        if len(empty):
            rows[empty[0]] += missing
        else:
            labels, rows = np.append(labels, ""), np.append(rows, missing)
    return pd.Series(rows, index=pd.Index(labels, dtype=object), name="count")


def all_numeric_strings(non_null):
    """Whether every value of a column of strings (missing ones dropped) reads as a number, and there is one. Most
    string columns give themselves away in their first values: the whole column is parsed only if those pass."""
    head = pd.to_numeric(non_null.iloc[:100].astype(object), errors="coerce")
    if head.isna().any():
        return False
    parsed = pd.to_numeric(non_null.astype(object), errors="coerce")
    return len(non_null) > 0 and parsed.notna().all()


def boolean_sides(values, boolean_settings):
    """(false_value, true_value) of a two-valued column, or None if it is not two-valued."""
    distinct = list(pd.unique(values))
    if len(distinct) != 2:
        return None
    lowered = [str(v).strip().lower() for v in distinct]
    trues = set(boolean_settings["true_values"])
    falses = set(boolean_settings["false_values"])
    if lowered[0] in trues and lowered[1] in falses:
        return distinct[1], distinct[0]
    if lowered[1] in trues and lowered[0] in falses:
        return distinct[0], distinct[1]
    try:
        ordered = sorted(distinct)
    except TypeError:
        ordered = sorted(distinct, key=str)
    return ordered[0], ordered[1]


def check_not_complex(series, name):
    """Refuse a column of complex numbers, at fit and at predict: reading them as numbers would drop their
    imaginary part without a word."""
    if pd.api.types.is_complex_dtype(series.dtype):
        raise DataError(f"Column '{name}' holds complex numbers, which no kind reads (their imaginary part would be "
                        f"lost). Split them, e.g. df['{name}_real'] = df['{name}'].real and "
                        f"df['{name}_imag'] = df['{name}'].imag, then drop '{name}'.")


def infer_column(series, name, settings, boolean_settings, forced_kind=None):
    """Decide one column's kind and say why, from its dtype first and its content second."""
    check_not_complex(series, name)
    held = containers_held(series)
    if holds_label_lists(held) and forced_kind in (None, SET):
        return _infer_label_lists(series, name, held, forced_kind)
    _check_flat(series, name, forced_kind)
    try:
        return _infer_column(series, name, settings, boolean_settings, forced_kind)
    except OverflowError:
        raise integers_beyond_floats(name) from None


# Python containers a cell may hold, by what a message calls them. Tuples are not among them: they are hashable,
# and read as labels by their string form.
_CONTAINERS = ((list, "lists"), (set, "sets"), (frozenset, "sets"), (np.ndarray, "arrays"), (dict, "mappings"))


def containers_held(series):
    """What containers a column holds, e.g. "lists (list<item: string>)", or None for a column of plain values."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        nested = dtype.pyarrow_dtype
        if pa.types.is_struct(nested) or pa.types.is_map(nested):
            return f"records ({nested})"
        if pa.types.is_nested(nested):  # list, large_list, fixed_size_list, list_view: values of one row each
            return f"lists ({nested})"
        return None
    if dtype != object or pd.api.types.infer_dtype(series, skipna=True) not in ("mixed", "mixed-integer"):
        return None  # only a column pandas calls mixed can hold containers: no loop over strings or numbers
    values = series.dropna().to_numpy()
    found = {type(value) for value in values}
    held = next((what for kind, what in _CONTAINERS if any(issubclass(t, kind) for t in found)), None)
    if held is None:
        return None
    example = next(value for value in values if isinstance(value, tuple(k for k, w in _CONTAINERS if w == held)))
    return f"{held} (dtype object, e.g. {shown(example)})"


def holds_label_lists(held):
    """Whether what `containers_held` found is cells of several labels each (lists, sets, arrays): a set column."""
    return held is not None and held.startswith(("lists", "sets", "arrays"))


def _check_flat(series, name, forced_kind=None):
    """Refuse a column of mappings or records (Python objects, or nested Arrow types), which no kind reads, and one of
    lists, sets or arrays forced to a kind other than set, with the fix: columns of their own for records, kind set or
    one string per row for lists."""
    held = containers_held(series)
    if held is None:
        return
    leave_out = f"or leave the column out (column_types={{'{name}': 'ignore'}}), or drop it"
    if held.startswith(("records", "mappings")):
        fix = f"Spread their fields into columns of their own (pd.json_normalize(df['{name}'].tolist())), {leave_out}."
        raise DataError(f"Column '{name}' holds {held}, which no kind reads. {fix}")
    arrow = isinstance(series.dtype, pd.ArrowDtype)  # whose lists .str cannot join
    joined = f"df['{name}'].astype(object).str.join(' ')" if arrow else f"df['{name}'].str.join(' ')"
    raise DataError(f"Column '{name}' holds {held}, which kind '{forced_kind}' cannot read. Cells of several labels "
                    f"are kind 'set' (column_types={{'{name}': 'set'}}, or no forced kind: inferred); for a text "
                    f"column, join them into one string per row (e.g. {joined}); {leave_out}.")


def _label_string(value):
    """One label as a set's string: integral floats as integers (3.0 and 3 name one label), stripped."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(python_value(value)).strip()


def _joined_labels(cell, delimiter, name):
    """A cell of a set column as one string: a list's (set's, array's) distinct labels, sorted, joined by
    `delimiter`; a string as it is (its labels already joined); a missing value as "" (no labels)."""
    if isinstance(cell, (list, tuple, set, frozenset, np.ndarray)):
        labels = set()
        for value in (cell.tolist() if isinstance(cell, np.ndarray) else cell):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            label = _label_string(value)
            if delimiter in label:
                raise DataError(f"Column '{name}' has the label {label!r}, which holds the delimiter {delimiter!r} "
                                f"that joins a set's labels for the model. Choose a delimiter its labels lack, e.g. "
                                f"columns: {{{name}: {{delimiter: ';'}}}}.")
            if label:
                labels.add(label)
        return delimiter.join(sorted(labels))
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return ""
    return cell if isinstance(cell, str) else _label_string(cell)


def set_strings(series, delimiter, name):
    """A set column as the model reads it: one string per row, its labels joined by `delimiter` ("" for none, and
    for a missing value). String cells are taken as they are (the model splits them and strips each label); cells that
    are lists, sets or arrays are joined."""
    if containers_held(series) is None:
        return string_values(series)
    cells = series.astype(object).to_numpy() if not isinstance(series.dtype, pd.ArrowDtype) else series.to_list()
    return np.array([_joined_labels(cell, delimiter, name) for cell in cells], dtype=object)


def set_labels(strings, delimiter):
    """The labels of set strings (an array of `set_strings`), one entry per (row, label): a Series of strings."""
    pieces = pd.Series(strings, dtype=object).str.split(delimiter, regex=False).explode().str.strip()
    return pieces[pieces.notna() & (pieces != "")]


def guess_delimiter(values):
    """The delimiter of `AUTO_DELIMITERS` that joins labels in a column of strings (distinct values, missing ones
    dropped), or None: one that at least a tenth of the values hold, which splits them into fewer distinct labels than
    there are distinct values (labels recombine into sets), each of at most three words on average (labels, not
    sentences). Reads at most 10,000 distinct values."""
    values = pd.Series(values, dtype=object)
    if len(values) > 10_000:  # sampled first: a column of a million distinct values is read in a moment
        values = values.sample(n=10_000, random_state=0)
    distinct = pd.Series(pd.unique(values), dtype=object)
    distinct = distinct[distinct.map(lambda v: isinstance(v, str))]
    if len(distinct) < 2:
        return None
    for delimiter in AUTO_DELIMITERS:
        holding = distinct.str.contains(delimiter, regex=False)
        if holding.mean() < 0.1:
            continue
        labels = set_labels(distinct.to_numpy(), delimiter)
        if len(labels) and labels.nunique() < len(distinct) and labels.str.split().str.len().mean() <= 3.0:
            return delimiter
    return None


def resolve_delimiter(setting, series):
    """A set column's delimiter: the setting's, or for `auto` the one of `AUTO_DELIMITERS` most of its string values
    hold ("|" when none does, and for lists, sets and arrays)."""
    if setting != "auto":
        return setting
    if containers_held(series) is not None:
        return LIST_DELIMITER
    values = pd.Series(pd.unique(pd.Series(string_values(series), dtype=object)), dtype=object)
    held = {d: int(values.str.contains(d, regex=False).sum()) for d in AUTO_DELIMITERS}
    best = max(AUTO_DELIMITERS, key=lambda d: held[d])  # the first of those most values hold
    return best if held[best] else LIST_DELIMITER


def _infer_label_lists(series, name, held, forced_kind):
    """The profile of a column whose cells are lists, sets or arrays of labels: a set column (or, with fewer than two
    distinct sets, a constant one)."""
    strings = set_strings(series, LIST_DELIMITER, name)
    missing = int(series.isna().sum())
    distinct = pd.unique(pd.Series(strings, dtype=object))
    labels = set_labels(strings, LIST_DELIMITER).nunique()
    profile = dict(name=name, dtype=str(series.dtype), n_unique=len(distinct), missing=missing, rows=len(series),
                   sample=_sample(list(distinct[:3])), input_dtype="string")
    if forced_kind is not None:
        return ColumnProfile(kind=SET, reason="set by the user (set)", forced=True, **profile)
    if len(distinct) < 2:
        return ColumnProfile(kind=IGNORE, reason=f"constant (every row: {profile['sample'][:1]})", **profile)
    return ColumnProfile(kind=SET, reason=f"{held.split(' (')[0]} of labels: {labels} distinct labels in "
                                          f"{len(distinct)} distinct sets", **profile)


def _infer_column(series, name, settings, boolean_settings, forced_kind=None):
    rows = len(series)
    non_null = series.dropna()
    missing = rows - len(non_null)
    try:
        # What `non_null.nunique()` counts (missing values are dropped already), found once for the sample too.
        distinct = pd.unique(non_null)
    except TypeError:  # unhashable values such as lists
        raise DataError(
            f"Column '{name}' holds values that cannot be compared (e.g. lists or dicts). "
            f"Convert it to strings or numbers, or leave it out with column_types={{'{name}': 'ignore'}}."
        ) from None
    n_unique = len(distinct)
    dtype = str(series.dtype)
    profile = dict(name=name, dtype=dtype, n_unique=n_unique, missing=int(missing), rows=rows,
                   sample=_sample(list(distinct[:3])))
    string_like = is_string_like(series)
    numeric_strings = string_like and all_numeric_strings(non_null)
    numeric = is_numeric(series) or is_bool(series) or numeric_strings
    input_dtype = "float32" if numeric else "string"
    # Distinct values as the model reads them: numeric strings as numbers ("1" and "1.0" are one), numbers mixed with
    # strings by their string forms (1 and "1" are one, 1 and "" two).
    mixed = not numeric and _mixed_types(non_null)
    if numeric_strings:
        exact_unique, n_unique = n_unique, int(pd.Series(numeric_values(non_null)).nunique())
        if forced_kind is None and n_unique < exact_unique and _beyond_float_precision(non_null):
            # Whole numbers past 2**53 (e.g. 2**70 + i): as floats, distinct values would read as one, and a column
            # of them as constant. Most are identifiers: read them as labels, by their digits.
            warn(f"Column '{name}' holds whole numbers too large for a float to tell apart (e.g. "
                 f"{profile['sample'][0]}): as numbers, its {exact_unique} distinct values would read as {n_unique}. "
                 f"It is read as labels, by their digits. If it is a quantity, scale it down (e.g. "
                 f"df['{name}'].astype(float) / 1e18); if an identifier, leave it out (column_types="
                 f"{{'{name}': 'ignore'}}).")
            numeric_strings = numeric = False
            input_dtype, n_unique = "string", exact_unique
            dtype = f"{dtype} of whole numbers beyond float precision"
        profile["n_unique"] = n_unique
    elif mixed:
        n_unique = profile["n_unique"] = len(pd.unique(string_values(non_null)))

    if forced_kind is not None:
        if n_unique == 0:
            raise DataError(f"Column '{name}' was set to kind '{forced_kind}' but is entirely missing: there is "
                            f"nothing to learn from it. Leave it out (column_types={{'{name}': 'ignore'}}).")
        if forced_kind == "boolean" and n_unique != 2:
            raise DataError(f"Column '{name}' was set to kind 'boolean' but has {n_unique} distinct value(s) "
                            f"(e.g. {profile['sample']}); a boolean column has exactly two. Choose 'categorical'.")
        if forced_kind == "numerical" and not numeric:
            raise DataError(
                f"Column '{name}' was set to kind 'numerical' but its values are not numbers "
                f"(dtype {dtype}, e.g. {profile['sample']}). Convert it with pd.to_numeric, or choose "
                f"'categorical' or 'text'."
            )
        # Text and dates are always read as strings (dates in ISO-8601); numbers are labels only when they are
        # whole codes that float32 holds.
        if forced_kind in ("text", DATETIME, SET) or (forced_kind == "categorical" and numeric
                                                 and not float32_codes(non_null)):
            input_dtype = "string"
        return ColumnProfile(kind=forced_kind, reason=f"set by the user ({forced_kind})", input_dtype=input_dtype,
                             forced=True, **profile)

    if mixed:
        # Numbers and strings together (e.g. 3, "3 kg", "n/a"): only labels can hold both.
        dtype = f"{dtype} mixing types ({pd.api.types.infer_dtype(non_null, skipna=True)})"
        warn(f"Column '{name}' mixes types, e.g. numbers and strings ({profile['sample']}): it is read as labels, "
             f"by the string form of each value. Convert it (pd.to_numeric(df['{name}'], errors='coerce') for "
             f"numbers, .astype(str) for labels) to choose yourself.")
    if n_unique == 0:
        return ColumnProfile(kind=IGNORE, reason="entirely missing", **profile)
    if n_unique == 1:
        return ColumnProfile(kind=IGNORE, reason=f"constant (only value: {profile['sample'][0]!r})", **profile)
    if is_datetime(series):
        return ColumnProfile(kind=DATETIME, reason=f"dtype {dtype}", input_dtype="string", **profile)
    if is_duration(series):
        return ColumnProfile(kind="numerical", reason=f"dtype {dtype}: a duration, read in seconds",
                             input_dtype="float32", **profile)
    dates = None if numeric or mixed else _dates_in(non_null)
    if dates:
        return ColumnProfile(kind=DATETIME, reason=f"dtype {dtype}, {dates}", input_dtype="string", **profile)
    if is_bool(series):
        return ColumnProfile(kind="boolean", reason=f"dtype {dtype}", **profile)
    if n_unique == 2 and (not numeric or _float32_apart(non_null)):
        why = f"two distinct values {profile['sample']}"
        return ColumnProfile(kind="boolean", reason=why, input_dtype=input_dtype, **profile)

    if numeric:
        source = "numeric strings" if numeric_strings else f"dtype {dtype}"
        integral = _all_integral(non_null if not numeric_strings else pd.to_numeric(non_null))
        if integral and n_unique <= settings["integer_categorical_max_unique"] and float32_codes(non_null):
            return ColumnProfile(kind="categorical", reason=f"{source}, integer codes with only {n_unique} "
                                 "distinct values", input_dtype=input_dtype, **profile)
        if integral and rows >= settings["id_like_min_rows"] and n_unique == len(non_null) and (
                _dense_range(non_null if not numeric_strings else pd.to_numeric(non_null)) or _id_name(name)):
            return ColumnProfile(kind=IGNORE, reason=f"{source}, ID-like: a distinct integer per row", **profile)
        return ColumnProfile(kind="numerical", reason=f"{source}, {n_unique} distinct values", input_dtype="float32",
                             **profile)

    if not string_like:
        return ColumnProfile(kind="categorical", reason=f"dtype {dtype}, treated as labels", input_dtype="string",
                             **profile)
    delimiter = guess_delimiter(distinct)
    if delimiter is not None:
        labels = set_labels(string_values(pd.Series(distinct)), delimiter).nunique()
        return ColumnProfile(kind=SET, reason=f"dtype {dtype}, labels joined by {delimiter!r}: {labels} distinct "
                             f"labels in {n_unique} distinct sets", input_dtype="string", **profile)

    ratio = n_unique / max(len(non_null), 1)
    few_levels = (n_unique <= settings["categorical_max_unique"]
                  or ratio <= settings["categorical_max_unique_ratio"])
    if few_levels:
        return ColumnProfile(kind="categorical", reason=f"dtype {dtype}, {_distinct(n_unique, len(non_null))}",
                             input_dtype="string", **profile)
    # Counted only for the columns still in question, and on at most 10,000 values: splitting strings is the slowest
    # step of inference, and a mean of 10,000 values is precise enough for a threshold.
    some = non_null.sample(n=10_000, random_state=0) if len(non_null) > 10_000 else non_null
    words = some.astype(str).str.split().str.len().mean()
    if words >= settings["text_min_mean_words"]:
        return ColumnProfile(kind="text", reason=f"dtype {dtype}, {n_unique} distinct values averaging "
                             f"{words:.1f} words", input_dtype="string", **profile)
    if rows >= settings["id_like_min_rows"] and n_unique == len(non_null):
        # Read as strings, which a target then says: labels all distinct, not a number to regress on.
        return ColumnProfile(kind=IGNORE, reason=f"dtype {dtype}, ID-like: a distinct short string per row",
                             input_dtype="string", **profile)
    distinct = _distinct(n_unique, len(non_null), "short ")
    return ColumnProfile(kind="categorical", reason=f"dtype {dtype}, {distinct}: rare ones share one bucket",
                         input_dtype="string", **profile)


def _distinct(n_unique, values, adjective=""):
    """How many distinct values, and their share of the values: "3 distinct values in 12,000 rows" where the share
    would round to 0% of rows."""
    share = n_unique / max(values, 1)
    if share < 0.01:
        return f"{n_unique} distinct {adjective}values in {values:,} rows"
    return f"{n_unique} distinct {adjective}values ({share:.0%} of rows)"


def _dates_in(non_null, share=0.9):
    """How the values of a column of objects or strings are dates, or None when they are not: date/datetime
    objects, or ISO-8601 strings (at least `share` of them, on up to 10,000 values; the rest read as missing)."""
    inferred = pd.api.types.infer_dtype(non_null, skipna=True)
    if inferred in ("datetime", "datetime64", "date"):
        return f"{inferred} objects"
    if inferred not in ("string", "empty"):
        return None
    def share_of_dates(values):
        return float(values.astype(str).str.strip().str.fullmatch(ISO_DATETIME, case=False).mean())

    if not share_of_dates(non_null.iloc[:20]) >= share:
        return None  # most columns give themselves away in their first values
    matched = share_of_dates(non_null.sample(n=10_000, random_state=0) if len(non_null) > 10_000 else non_null)
    return f"ISO-8601 date strings ({matched:.0%} of values)" if matched >= share else None


def _beyond_float_precision(non_null):
    """Whether some value of a column of numbers (or numeric strings) is a whole number beyond 2**53, where floats
    no longer hold every whole number."""
    magnitudes = np.abs(numeric_values(non_null))
    return bool(np.any(magnitudes[np.isfinite(magnitudes)] >= 2.0 ** 53))


def _mixed_types(non_null):
    return non_null.dtype == object and pd.api.types.infer_dtype(non_null, skipna=True) in ("mixed", "mixed-integer")


def _float32_apart(values):
    """Whether a two-valued numeric column stays two-valued as float32, the model's input type, with a 0/1 rescaling
    (1 / (b - a)) that float32 can hold; values closer than that are read as numbers instead."""
    distinct = np.unique(numeric_values(pd.Series(values)))
    with np.errstate(over="ignore", divide="ignore"):
        a, b = distinct.astype("float32") if len(distinct) == 2 else (0.0, 0.0)
        return bool(np.isfinite(np.float32(1.0) / (b - a)))


def float32_codes(values):
    """Whole numbers that float32 holds exactly (up to 2**24 in size): only those can be category codes."""
    as_float = numeric_values(pd.Series(values))
    finite = as_float[np.isfinite(as_float)]
    return _all_integral(values) and bool(np.all(np.abs(finite) <= 2 ** 24))


def _all_integral(values):
    values = pd.Series(values)
    if pd.api.types.is_numeric_dtype(values.dtype) and not isinstance(values.dtype, pd.CategoricalDtype):
        as_float = values.to_numpy(dtype="float64", na_value=np.nan)  # numbers already: no parsing needed
    else:
        as_float = pd.to_numeric(values.astype(object), errors="coerce").to_numpy(dtype="float64")
    finite = as_float[np.isfinite(as_float)]
    return len(finite) > 0 and bool(np.all(finite == np.round(finite)))


def _dense_range(values):
    # Row numbers and keys: distinct integers filling most of the range they span (a sample of ids included).
    as_float = pd.to_numeric(pd.Series(values).astype(object)).to_numpy(dtype="float64")
    return float(as_float.max() - as_float.min() + 1) <= 2.0 * len(as_float)


def _id_name(name):
    return re.search(r"(^|[^a-z])(id|key|uuid|guid)([^a-z]|$)", str(name).lower()) is not None


def infer_schema(df, settings, boolean_settings, forced_kinds, skip=()):
    """Profile every column of `df` except those in `skip`; warn about the ones set aside."""
    profiles = {}
    for name in df.columns:
        if name in skip:
            continue
        forced = forced_kinds.get(name)
        if forced == IGNORE:
            profiles[name] = ColumnProfile(name=name, kind=IGNORE, reason="set aside by the user",
                                           dtype=str(df[name].dtype), n_unique=0, missing=0, rows=len(df),
                                           sample=[], forced=True)
            continue
        profiles[name] = infer_column(df[name], name, settings, boolean_settings, forced)
    set_aside = [p for p in profiles.values() if p.kind == IGNORE and not p.forced]
    if set_aside:
        listed = "; ".join(f"'{p.name}' ({p.reason})" for p in set_aside)
        first = set_aside[0]
        warn(f"Left out {len(set_aside)} column(s): {listed}. To use one anyway, set its kind, e.g. "
             f"column_types={{'{first.name}': '{_suggested_kind(df[first.name])}'}}.")
    return profiles


def _suggested_kind(series):
    """The kind to suggest for a column that was set aside."""
    if is_datetime(series):
        return DATETIME
    return "numerical" if is_numeric(series) else "categorical"


def split_used(profiles):
    """({name: profile} of the columns the model uses, {name: profile} of those set aside), in column order."""
    used = {name: p for name, p in profiles.items() if p.kind != IGNORE}
    return used, {name: p for name, p in profiles.items() if name not in used}


def treats_as_numbers(forced_kind):
    """Whether the values of a column forced to `forced_kind` (None: not forced) may be numbers whose infinities
    mean "missing": not in a column left out, nor in labels or text, where every value is a label or a word."""
    return forced_kind not in (IGNORE, "categorical", "text")
