"""Checks on the DataFrames users hand in for training, before anything is learned from them.

Every check names the column(s) at fault and the fix. What predict checks against the training profile lives in
`profile_check`.
"""


import numpy as np
import pandas as pd

from keras_defaults.errors import DataError, did_you_mean, integers_beyond_floats, warn

# Fewer rows than this cannot train anything: a model needs at least two examples to see a difference.
MIN_ROWS = 2
# A validation set smaller than this (or a training set left smaller) decides early stopping by noise: below it, the
# model trains on every row for all its epochs instead.
MIN_SPLIT_ROWS = 5
# Model inputs are float32: a larger magnitude becomes infinite on the way in.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_frame(data, what="data", strict=True):
    """The user's frame, copied, so that nothing we do can change theirs.

    `strict` requires every column name to be a unique string (training needs that of all columns); predict passes
    False, since columns it does not use may be named anyhow, and checks only the ones it needs.
    """
    if isinstance(data, pd.Series):
        raise DataError(f"Expected a DataFrame (or a CSV/Parquet file path) as {what}. Received: a Series named "
                        f"{data.name!r}. For one row, pass a one-row DataFrame: df.iloc[[i]] or df.loc[[label]] "
                        f"(double brackets); for one column, series.to_frame().")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"Expected a DataFrame (pandas, polars, or a pyarrow Table), or a CSV/Parquet file path, as "
                        f"{what}. Received: {type(data).__name__}.")
    if strict:
        check_column_names(data.columns)
    return data.copy()


def check_column_names(columns):
    duplicated = columns[columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"Column names must be unique; these appear more than once: {duplicated}. "
                        f"Rename them, e.g. df.columns = [...].")
    not_strings = [c for c in columns if not isinstance(c, str)]
    if not_strings:
        raise DataError(f"Column names must be strings; these are not: {not_strings[:5]}. "
                        f"Rename them, e.g. df.columns = df.columns.map(str).")


def _joined_columns_hint(columns):
    """A hint when a frame's one column looks like several joined by a delimiter other than a comma (a CSV file
    read with the wrong one), else ""."""
    if len(columns) != 1:
        return ""
    name = str(columns[0])
    for delimiter in (";", "\t", "|"):
        if delimiter in name:
            return (f" Its one column looks like several joined by {delimiter!r}: read the file with "
                    f"pd.read_csv(path, sep={delimiter!r}) and pass the DataFrame.")
    return ""


def check_targets(df, targets, needs="fit"):
    """The frame has rows, and each target is named once and is one of its columns. `needs` names what the rows are
    for, in the message about an empty frame."""
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise DataError(f"Target(s) {repeated} are listed more than once in target=; name each target once.")
    if len(df) == 0:
        raise DataError(f"The DataFrame is empty (0 rows): {needs} needs rows with a value in the target column.")
    for target in targets:
        if target not in df.columns:
            raise DataError(f"Target column '{target}' is not in the DataFrame.{did_you_mean(target, df.columns)} "
                            f"Columns: {list(df.columns)[:20]}.{_joined_columns_hint(df.columns)}")
        if (df.columns == target).sum() > 1:
            raise DataError(f"Target column '{target}' appears more than once in the DataFrame; keep one, e.g. "
                            f"df.loc[:, ~df.columns.duplicated()].")


def rows_with_targets(df, targets):
    """A boolean array: the rows with a value in every target, which training keeps."""
    return df[targets].notna().all(axis=1).to_numpy()


def drop_missing_targets(df, targets):
    """Rows whose target is missing cannot be learned from: drop them, and say how many."""
    missing = ~rows_with_targets(df, targets)
    if missing.all():
        raise DataError(f"Every row has a missing value in target column(s) {targets}: there is nothing to learn "
                        f"from. Check that the right column was named as the target.")
    if missing.any():
        warn_dropped(int(missing.sum()), len(df), targets)
        df = df.loc[~missing]
    return df


def check_weight_column(df, column, targets):
    """The column named by sample_weight= is one of the frame's, and not a target."""
    if column not in df.columns:
        raise DataError(f"sample_weight='{column}' is not a column of the DataFrame.{did_you_mean(column, df.columns)}"
                        f" Name a column of weights, or pass one weight per row (an array).")
    if column in targets:
        raise DataError(f"sample_weight='{column}' is a target column; name a column of row weights instead.")


def warn_dropped(dropped, rows, targets):
    warn(f"Dropped {dropped} of {rows} rows whose target ({', '.join(targets)}) is missing.")


def check_rows(df, targets, validation_split):
    """Refuse a frame too small to train on; warn when it is too small to hold out rows for early stopping."""
    rows = len(df)
    if rows < MIN_ROWS:
        raise DataError(f"Too few rows to train: {rows} row(s) with a target ({', '.join(targets)}); fit needs at "
                        f"least {MIN_ROWS}, and a useful model needs many more.")
    if validation_split and validation_rows(rows, validation_split) == 0:
        warn(f"Only {rows} rows: too few to hold out a validation set (training.validation_split="
             f"{validation_split} would leave fewer than {MIN_SPLIT_ROWS} rows on one side), so the model trains on "
             f"every row for all training.epochs epochs, without early stopping. Expect an unreliable model.")


def validation_rows(rows, fraction):
    """How many rows a validation split of `fraction` holds out: none when either side would have fewer than
    MIN_SPLIT_ROWS."""
    if not fraction or rows * fraction < MIN_SPLIT_ROWS or rows - rows * fraction < MIN_SPLIT_ROWS:
        return 0
    return int(np.ceil(rows * fraction))


def non_finite_as_missing(df, columns):
    """Infinite values, and numbers beyond float32's range (the model's input type, where they would become
    infinite), are read as missing; the model's fill and missing-flag layers treat them so at predict too. Returns a
    frame where they are NaN in the numeric columns among `columns`, so that the kinds and statistics learned match
    what the model sees, and warns once, naming the columns."""
    masks = {}
    for name in columns:
        try:
            values = _as_float(df[name]) if _numeric_column(df[name]) else None
        except OverflowError:
            raise integers_beyond_floats(name) from None
        if values is not None:
            bad = np.abs(values) > FLOAT32_MAX  # infinities included; NaN compares False
            if bad.any():
                masks[name] = bad
    if masks:
        df = df.copy()
        for name, bad in masks.items():
            df[name] = df[name].mask(bad)
        found = {name: int(bad.sum()) for name, bad in masks.items()}
        listed = ", ".join(f"'{name}' ({count})" for name, count in found.items())
        warn(f"Infinite values, or values beyond float32's range (+-{FLOAT32_MAX:.1e}), in column(s) {listed} are "
             f"read as missing: filled like any missing value and flagged. Replace them with finite numbers, or "
             f"rescale the column (e.g. np.log1p), if they carry meaning.")
    return df


def _numeric_column(series):
    """Numbers, or strings that all read as numbers: the columns whose values the model reads as float32."""
    from keras_defaults.schema import all_numeric_strings, is_numeric, is_string_like

    if is_numeric(series):
        return True
    return is_string_like(series) and bool(all_numeric_strings(series.dropna()))


def _as_float(series):
    from keras_defaults.schema import numeric_values

    try:
        return numeric_values(series)
    except (TypeError, ValueError):
        return None


def check_target_range(series, name):
    """A regression target is learned in float32: beyond its range the model could only predict infinity."""
    values = _as_float(series)
    if values is not None and (np.abs(values[np.isfinite(values)]) > FLOAT32_MAX).any():
        raise DataError(f"Target '{name}' has values beyond float32's range (+-{FLOAT32_MAX:.1e}), which the model "
                        f"cannot output. Rescale it (e.g. divide by a power of ten, or np.log1p) before fitting.")


def warn_leaks(df, targets, columns):
    """An input that repeats a target column lets the model read the answer; it trains, but predicts nothing new."""
    head = df.iloc[:100]
    for target in targets:
        truth, first = df[target].astype(object), head[target].astype(object)
        # A column that differs in its first rows differs: only the others are compared whole.
        same = [c for c in columns if first.equals(head[c].astype(object)) and truth.equals(df[c].astype(object))]
        if same:
            warn(f"Input column(s) {same} hold exactly the values of target '{target}': the model will read the "
                 f"answer from them and learn nothing it can use on new rows. Leave them out with "
                 f"column_types={{'{same[0]}': 'ignore'}} (or drop them) unless this is intended.")
