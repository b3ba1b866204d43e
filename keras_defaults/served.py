"""What users hand a served model, as the tensors it takes: one job, for the exported `.keras` model's own
`predict` and for `keras_defaults.inputs(df, model)`.

A served model takes one 1-D tensor per column: float32 for numbers (NaN where missing) and strings for labels, text
and date-times (ISO-8601, "" where missing). Users hold DataFrames, `dict(df)` and numpy arrays of object, str or
datetime dtype, which Keras cannot turn into those tensors by itself; this reads each column as its input's dtype,
the way the Automater reads columns for `predict`.
"""

import datetime

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_defaults import arrow
from keras_defaults.errors import DataError


def model_inputs(data, model):
    """{column: tensor} for `model` (a served model, or any functional model with named 1-D inputs) from a
    DataFrame (pandas, polars, pyarrow), a dict of columns (lists, arrays or Series of any dtype), or a dict of
    tensors (returned as given). Columns the model does not take are ignored; a missing one is an error."""
    if isinstance(data, dict) and all(tf.is_tensor(value) for value in data.values()):
        return data
    data = arrow.to_pandas(data, "the data")
    if not isinstance(data, (pd.DataFrame, dict)):
        raise DataError(f"Expected a DataFrame or a dict of columns ({{column: values}}) for the model's inputs. "
                        f"Received: {type(data).__name__}.")
    wanted = model.input if isinstance(model.input, dict) else {}
    missing = [name for name in wanted if name not in data]
    if missing:
        raise DataError(f"The data lacks {len(missing)} column(s) the model takes: {missing[:10]}. Add them (NaN or "
                        f"None is accepted for missing values).")
    return {name: _tensor(_series(data[name]), tensor.dtype) for name, tensor in wanted.items()}


def _series(values):
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    if isinstance(values, (list, tuple)):
        # As objects: numpy would write a list of strings and NaN as strings, the NaN as 'nan'.
        return pd.Series(values, dtype=object)
    array = values.numpy() if tf.is_tensor(values) else np.asarray(values)
    if array.dtype.kind == "S":
        # Bytes, as TensorFlow gives strings back: decoded one by one into Python strings, since numpy's unicode
        # dtype would widen every value to the longest, at 4 bytes a character.
        array = np.array([value.decode("utf-8") for value in array.flat], dtype=object).reshape(array.shape)
    return pd.Series(array.reshape(-1) if array.ndim > 1 and array.size == len(array) else array)


def _tensor(series, dtype):
    from keras_defaults.encoders.base import as_tensor
    from keras_defaults.encoders.datetime import iso_strings
    from keras_defaults.schema import numeric_values, string_values

    if dtype == "float32" or dtype == tf.float32:
        with np.errstate(over="ignore"):
            return as_tensor(numeric_values(series).astype("float32"), "float32")
    values = iso_strings(series) if _dates(series) else string_values(series)
    return as_tensor(values, "string")


def _dates(series):
    """Whether a column holds date-times (their dtype, or Python dates), which a string input reads as ISO-8601."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or isinstance(series.dtype, pd.PeriodDtype):
        return True
    present = series.dropna()
    return series.dtype == object and len(present) > 0 and isinstance(present.iloc[0], datetime.date)
