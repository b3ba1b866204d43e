"""Checks on the DataFrames users hand in, before anything is learned from them or predicted for them."""

import numpy as np
import pandas as pd

from keras_defaults.errors import DataError, warn, did_you_mean


def as_frame(data, what="data"):
    """The user's frame, copied, so that nothing we do can change theirs. File paths are read here."""
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        data = read_table(data)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame (or a CSV/Parquet file path) as {what}. "
                        f"Received: {type(data).__name__}.")
    duplicated = data.columns[data.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"Column names must be unique; these appear more than once: {duplicated}. "
                        f"Rename them, e.g. df.columns = [...].")
    not_strings = [c for c in data.columns if not isinstance(c, str)]
    if not_strings:
        raise DataError(f"Column names must be strings; these are not: {not_strings[:5]}. "
                        f"Rename them, e.g. df.columns = df.columns.map(str).")
    return data.copy()


def read_table(path):
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise DataError(f"Data file not found: '{path}'.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt", ".gz"):
        return pd.read_csv(path)
    raise DataError(f"Cannot read '{path}': expected a .csv or .parquet file.")


def check_targets(df, targets):
    if len(df) == 0:
        raise DataError("The DataFrame is empty: fit needs rows with a value in the target column.")
    for target in targets:
        if target not in df.columns:
            raise DataError(f"Target column '{target}' is not in the DataFrame.{did_you_mean(target, df.columns)} "
                            f"Columns: {list(df.columns)[:20]}.")


def drop_missing_targets(df, targets):
    """Rows whose target is missing cannot be learned from: drop them, and say how many."""
    missing = df[targets].isna().any(axis=1)
    if missing.all():
        raise DataError(f"Every row has a missing value in target column(s) {targets}: there is nothing to learn "
                        f"from. Check that the right column was named as the target.")
    if missing.any():
        warn(f"Dropped {int(missing.sum())} of {len(df)} rows whose target ({', '.join(targets)}) is "
                      f"missing.")
        df = df.loc[~missing]
    return df


def check_columns_present(df, expected, what="predict"):
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise DataError(f"The DataFrame passed to {what} lacks column(s) the model was trained on: {missing}. "
                        f"Add them (NaN is accepted for missing values).")


def has_infinities(series):
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return bool(np.isinf(values).any())
