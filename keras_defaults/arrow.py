"""Frames from the Arrow world: polars DataFrames and LazyFrames, pyarrow Tables and RecordBatchReaders, and anything
that speaks the Arrow C stream (`__arrow_c_stream__`) or the dataframe interchange protocol (`__dataframe__`).

They are read as pandas DataFrames on the way in, and predictions go back out in the caller's kind of frame where
that is natural (polars in, polars out; pyarrow in, pyarrow out). polars and pyarrow stay optional: each is imported
only when such a frame arrives, which means its package is installed already; an error names the extra when
pyarrow, which polars needs for the conversion, is missing.
"""

import pandas as pd

from keras_defaults.errors import DataError

POLARS, ARROW, INTERCHANGE = "polars", "pyarrow", "interchange"


def kind_of(data):
    """Which Arrow-world kind `data` is (POLARS, ARROW or INTERCHANGE), or None for pandas and anything else."""
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return None
    module = type(data).__module__.split(".")[0]
    if module == "polars" and type(data).__name__ in ("DataFrame", "LazyFrame"):
        return POLARS
    if module == "pyarrow" and type(data).__name__ in ("Table", "RecordBatch", "RecordBatchReader"):
        return ARROW
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__dataframe__"):
        return INTERCHANGE
    return None


def to_pandas(data, what):
    """`data` as a pandas DataFrame when it is an Arrow-world frame; anything else is returned as given (the
    frame checks then say what is expected)."""
    kind = kind_of(data)
    if kind is None:
        return data
    try:
        if kind == POLARS:
            collected = data.collect() if type(data).__name__ == "LazyFrame" else data
            return collected.to_pandas()
        if kind == ARROW:
            table = data.read_all() if type(data).__name__ == "RecordBatchReader" else data
            return table.to_pandas()
        import pyarrow as pa

        if hasattr(data, "__arrow_c_stream__"):
            return pa.table(data).to_pandas()
        # pyarrow's reading of the interchange protocol, not pandas': pandas' loses the missing values of a boolean
        # column (they come back False), and deprecates the protocol.
        from pyarrow import interchange

        return interchange.from_dataframe(data).to_pandas()
    except ModuleNotFoundError as error:
        extra = "polars" if kind == POLARS else "arrow"
        raise DataError(f"Reading {what} ({type(data).__module__}.{type(data).__name__}) needs the package "
                        f"'{error.name}': pip install keras_defaults[{extra}]") from None


def like(result, data):
    """Predictions (a pandas Series or DataFrame, or a dict of DataFrames) in the kind of frame `data` was: polars
    for polars, pyarrow for pyarrow, pandas otherwise. The pandas index is dropped: those frames have none."""
    kind = kind_of(data)
    if kind not in (POLARS, ARROW):
        return result
    if isinstance(result, dict):
        return {name: like(table, data) for name, table in result.items()}
    result = result.reset_index(drop=True)
    if isinstance(result, pd.DataFrame):
        result = result.set_axis([str(c) for c in result.columns], axis=1)  # class labels become column names
    if kind == POLARS:
        import polars as pl

        return pl.from_pandas(result)
    import pyarrow as pa

    if isinstance(result, pd.Series):
        return pa.chunked_array([pa.Array.from_pandas(result)])
    return pa.Table.from_pandas(result, preserve_index=False)
