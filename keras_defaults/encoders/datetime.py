"""Dates and times: read inside the model from ISO-8601 strings into the continuous time and the calendar parts.

Whatever form a column holds (datetime64, tz-aware or not, Arrow timestamps and dates, `date`/`datetime` objects,
ISO-8601 strings, periods, or numbers forced to datetime), the model takes ISO-8601 strings ("" for missing), so the
`.keras` file and the SavedModel read raw dates. `iso_strings` turns a column into those strings; the
`DateTimeFeatures` layer parses them (`layers.parse_datetimes`), and its statistics are computed from that same
parsing of the training column. Dates cannot be predicted.
"""

import numpy as np
import pandas as pd

from keras_defaults.defaults import CALENDAR_PARTS
from keras_defaults.encoders.base import EncodedColumn, Encoder, string_tensor
from keras_defaults.errors import DataError
from keras_defaults.layers import DateTimeFeatures, parse_datetimes
from keras_defaults.schema import ISO_DATETIME, is_numeric, numeric_values, string_values
from keras_defaults.state_schema import FINITE, FLAG, SCALE, ListOf, Nullable, Record, Text

_SECONDS_PER_DAY = 86400.0
# Numbers forced to datetime: the unit of time since 1970 when epoch_unit is auto, by the size of their median.
_EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))
_PART_NAMES = {"day": "day of month", "day_of_week": "day of week", "day_of_year": "day of year"}


def epoch_unit(series, setting):
    """The unit numbers forced to datetime are counted in (None for a column that does not hold numbers)."""
    if not is_numeric(series):
        return None
    if setting != "auto":
        return setting
    values = np.abs(numeric_values(series))
    values = values[np.isfinite(values)]
    size = float(np.median(values)) if len(values) else 0.0
    return next((unit for bound, unit in _EPOCH_UNITS if size < bound), "ns")


def iso_strings(series, unit=None):
    """A date-time column as the model reads it: a numpy array of ISO-8601 strings, "" where missing.

    Date-time dtypes are written out (wall-clock time, with the UTC offset when the column has a time zone);
    numbers count `unit`s since 1970-01-01 UTC; strings in an ISO-8601 form pass unchanged, and other strings are
    read by `pandas.to_datetime` (month first when ambiguous) or left missing.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.PeriodDtype):
        return _format(series.dt.start_time)
    if isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_datetime64_any_dtype(dtype):
        zone = getattr(dtype.pyarrow_dtype, "tz", None)
        return _format(series.astype(pd.DatetimeTZDtype("ns", zone) if zone else "datetime64[ns]"))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _format(series)
    if unit is not None and is_numeric(series):
        with np.errstate(invalid="ignore"):
            return _format(pd.Series(pd.to_datetime(numeric_values(series), unit=unit, errors="coerce")))
    text = np.array([value.strip() for value in string_values(series)], dtype=object)
    others = (text != "") & ~pd.Series(text, dtype=object).str.fullmatch(ISO_DATETIME, case=False).to_numpy(bool)
    if others.any():
        text[others] = _format(_read_with_pandas(text[others]))
    return text


def _held_numbers(profile):
    """Whether the training column held numbers (forced to dates, read in their epoch unit) rather than dates or
    strings."""
    try:
        return pd.api.types.is_numeric_dtype(pd.api.types.pandas_dtype(profile.dtype))
    except TypeError:  # a dtype pandas does not name back (an Arrow type, say): not numbers
        return False


def _read_with_pandas(values):
    values = pd.Series(values, dtype=object)
    try:
        return pd.Series(pd.to_datetime(values, errors="coerce", format="mixed"))
    except (ValueError, TypeError):  # time zones that differ from value to value: compare them in UTC
        return pd.Series(pd.to_datetime(values, errors="coerce", format="mixed", utc=True))


def _format(series):
    """ISO-8601 strings of datetime64 values: YYYY-MM-DDTHH:MM:SS, with +HH:MM for a time zone; "" for NaT."""
    zone = getattr(series.dt, "tz", None)
    local = series.dt.tz_localize(None) if zone is not None else series
    text = np.datetime_as_string(local.to_numpy(dtype="datetime64[s]"), unit="s").astype(object)
    if zone is not None:
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        minutes = ((local - utc).dt.total_seconds().fillna(0).to_numpy() // 60).astype(int)
        sign, minutes = np.where(minutes < 0, "-", "+"), np.abs(minutes)
        hours, minutes = np.char.zfill((minutes // 60).astype(str), 2), np.char.zfill((minutes % 60).astype(str), 2)
        text = np.char.add(text.astype(str), np.char.add(np.char.add(sign, hours), np.char.add(":", minutes)))
        text = text.astype(object)
    text[series.isna().to_numpy()] = ""
    return text


def read_parts(strings):
    """`layers.parse_datetimes` on a numpy array of strings: {field: numpy array}."""
    fields = parse_datetimes(string_tensor(strings))
    return {name: value.numpy() for name, value in fields.items()}


class DateTimeEncoder(Encoder):
    kind = "datetime"
    can_be_target = False
    reads_as = "dates"
    served_format = "ISO-8601 date-time string, e.g. 2017-03-01 or 2017-03-01T08:15:00+01:00 ('' is missing)"
    input_state_shape = Record({
        "time_center": FINITE, "time_scale": SCALE,
        "parts": ListOf(Text(CALENDAR_PARTS), distinct=True),
        "constant_parts": ListOf(Text(CALENDAR_PARTS), distinct=True),
        "year_center": FINITE, "year_scale": SCALE, "missing_indicator": FLAG,
        "epoch_unit": Nullable(Text([unit for _, unit in _EPOCH_UNITS] + ["ns"])), "first": Text(), "last": Text(),
    })

    def raw_values(self, series, profile, state):
        return iso_strings(series, state.get("epoch_unit") if state else None)

    def fit_input(self, series, profile, settings):
        unit = epoch_unit(series, settings["epoch_unit"])
        fields = read_parts(iso_strings(series, unit))
        valid = fields["valid"]
        if not valid.any():
            raise DataError(f"Column '{profile.name}' is set to kind 'datetime' but none of its values read as a date "
                            f"(e.g. {profile.sample}). Convert it first, e.g. pd.to_datetime(df['{profile.name}'], "
                            f"format=...), or choose another kind.")
        seconds = fields["seconds"][valid].astype("float64")
        q25, center, q75 = (float(q) for q in np.quantile(seconds, [0.25, 0.5, 0.75]))
        scale = q75 - q25 or float(np.std(seconds)) or _SECONDS_PER_DAY
        kept = [part for part in settings["parts"] if len(np.unique(fields[part][valid])) > 1]
        years = fields["year"][valid]
        first, last = (np.datetime_as_string(np.datetime64(int(t), "s"), unit="m") for t in (seconds.min(),
                                                                                               seconds.max()))
        return {
            "time_center": center, "time_scale": scale,
            "parts": kept, "constant_parts": [part for part in settings["parts"] if part not in kept],
            "year_center": float(np.median(years)), "year_scale": max((float(years.max()) - float(years.min())) / 2,
                                                                      1.0),
            "missing_indicator": bool(settings["missing_indicator"] and not valid.all()),
            "epoch_unit": unit, "first": str(first), "last": str(last),
        }

    def state_from_summary(self, state, settings, profile, counts, missing, value_range=None):
        # Values that do not read as dates are missing too: the sample may have seen some where counts see none.
        flagged = state["missing_indicator"] or bool(settings["missing_indicator"] and missing > 0)
        return {**state, "missing_indicator": flagged}

    def encode_input(self, raw, state, settings, name):
        layer = DateTimeFeatures(time_center=state["time_center"], time_scale=state["time_scale"],
                                 parts=state["parts"], year_center=state["year_center"],
                                 year_scale=state["year_scale"], cyclical=settings["cyclical"],
                                 missing_indicator=state["missing_indicator"], name=f"{name}_time")
        return EncodedColumn(dense=layer(raw))

    def describe(self, state, settings):
        kept = [_PART_NAMES.get(p, p) + (" (+sin/cos)" if settings["cyclical"] and p != "year" else "")
                for p in state["parts"]]
        parts = [f"time from {state['first']} to {state['last']} UTC (robust scaling)"]
        parts.append(f"parts: {', '.join(kept)}" if kept else "no calendar part varies")
        if state["constant_parts"]:
            constant = ", ".join(_PART_NAMES.get(p, p) for p in state["constant_parts"])
            parts.append(f"left out as constant in training: {constant}")
        if state["missing_indicator"]:
            parts.append("missing flag")
        return "; ".join(parts)

    def missing_note(self, state):
        return "they are read as a missing date (zeros in every date feature)"

    def count_unreadable(self, series, profile):
        if is_numeric(series) and _held_numbers(profile):
            return 0  # numbers forced to dates: each counts its epoch unit, as in training
        # Numbers in a column trained on dates have no unit: their digits are read as a date, as a string's would be.
        present = series.notna().to_numpy()
        valid = read_parts(iso_strings(series))["valid"]
        return int((present & ~valid).sum())

    def unreadable_note(self, name):
        return (f"do not read as dates (ISO-8601, or a form pandas.to_datetime reads) and are treated as missing. "
                f"Convert it with pd.to_datetime(df['{name}'], errors='coerce', format='mixed') to see which")

    def not_a_target(self, profile):
        return (f"Target '{profile.name}' holds dates ({profile.reason}); a date cannot be predicted. Predict a number "
                f"derived from it instead, e.g. df['{profile.name}'].dt.year, or the days since a reference date.")
