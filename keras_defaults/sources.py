"""Where rows come from and where predictions go: DataFrames, and CSV or Parquet files read chunk by chunk.

A source is normalised once into chunks of DataFrames: a DataFrame is one chunk; files are read `CHUNK_ROWS` rows
at a time. The one table of file formats (`FORMATS`) serves reading, the command line and writing predictions.
"""

import contextlib
import dataclasses
import glob
import json
import lzma
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from keras_defaults.errors import DataError, KerasDefaultsError

# Rows read from a file at a time.
CHUNK_ROWS = 65_536

# File name endings and the format they are read as. Compressed CSV is read as CSV by pandas.
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv", ".gz": "csv", ".bz2": "csv",
           ".zip": "csv", ".xz": "csv", ".zst": "csv"}
# The formats predictions can be written in.
WRITABLE = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path):
    """"csv" or "parquet" for a data file's name, or None."""
    return FORMATS.get(Path(path).suffix.lower())


def is_file_source(data):
    """A path, a glob pattern, a directory, or a list of those: data read from files, not a DataFrame."""
    if isinstance(data, (str, os.PathLike)):
        return True
    return isinstance(data, (list, tuple)) and len(data) > 0 and all(isinstance(d, (str, os.PathLike))
                                                                     for d in data)


@dataclasses.dataclass
class Files:
    """Data files of one format, read `chunk_size` rows at a time. The statistics pass (`summaries`) returns them
    with `rows`, the rows that have a target, and `chunk_rows`, those rows per file and chunk, so that training
    knows how many batches an epoch has without reading the files."""

    paths: list
    format: str
    rows: int = 0
    chunk_rows: list = dataclasses.field(default_factory=list)
    chunk_size: int = None

    def chunks(self, columns=None):
        """(file number, chunk number, DataFrame) for every chunk of every file, in file order."""
        for i, path in enumerate(self.paths):
            yield from ((i, j, chunk) for j, chunk in enumerate(self.file_chunks(i, columns)))

    def file_chunks(self, i, columns=None):
        return _file_chunks(self.paths[i], self.format, columns, self.chunk_size or CHUNK_ROWS)

    def part_rows(self, part, fraction, seed):
        """Rows of the training or validation part: the same seeded coin flips that training makes (`held_out`)."""
        if not fraction:
            return self.rows if part == "train" else 0
        validation = sum(int(held_out(seed, i, j, n, fraction).sum())
                         for i, counts in enumerate(self.chunk_rows) for j, n in enumerate(counts))
        return validation if part == "validation" else self.rows - validation


def held_out(seed, file, chunk, rows, fraction):
    """Which rows of a chunk (those with a target) are held out for validation: a seeded coin flip per row, the
    same every epoch."""
    return np.random.default_rng([seed, int(file), int(chunk)]).random(rows) < fraction


def resolve_files(source):
    """The files a source names: a file, a glob pattern, a directory (its CSV/Parquet files), or a list of those."""
    items = source if isinstance(source, (list, tuple)) else [source]
    paths = []
    for item in items:
        text = os.fspath(item)
        if any(c in text for c in "*?["):
            matched = sorted(Path(p) for p in glob.glob(text, recursive=True))
            if not matched:
                raise DataError(f"No file matches '{text}'. Check the pattern and the working directory "
                                f"({os.getcwd()}).")
        elif Path(text).is_dir():
            matched = sorted(p for p in Path(text).iterdir() if p.is_file() and file_format(p) is not None)
            if not matched:
                raise DataError(f"Directory '{text}' holds no .csv or .parquet file.")
        elif Path(text).is_file():
            matched = [Path(text)]
        else:
            raise DataError(f"Data file not found: '{text}'.")
        paths.extend(matched)
    unknown = [p for p in paths if file_format(p) is None]
    if unknown:
        raise DataError(f"Cannot read '{unknown[0]}': expected .csv or .parquet files (CSV may be compressed, "
                        f"e.g. .csv.gz).")
    formats = sorted({file_format(p) for p in paths})
    if len(formats) > 1:
        raise DataError(f"The files mix formats ({', '.join(formats)}); pass files of one format, e.g. "
                        f"'data/*.parquet'.")
    return Files(paths, formats[0])


def read_table(path):
    """One CSV or Parquet file, whole, as a DataFrame."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file not found: '{path}'.")
    fmt = file_format(path)
    if fmt is None:
        raise DataError(f"Cannot read '{path}': expected a .csv or .parquet file.")
    with _reading(path, fmt):
        return _read_parquet(path) if fmt == "parquet" else pd.read_csv(path)


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("Reading Parquet files needs pyarrow: pip install 'keras_defaults[parquet]'.") from None
    return pq


def _read_parquet(path):
    table = _pyarrow_parquet().read_table(path)
    return _as_pandas(table, _readable_metadata(table.schema))


def _as_pandas(arrow_data, metadata):
    """A pyarrow Table or RecordBatch as a DataFrame, lists and records kept Arrow-backed."""
    import pyarrow as pa

    def nested_as_arrow(arrow_type):
        return pd.ArrowDtype(arrow_type) if pa.types.is_nested(arrow_type) else None

    return arrow_data.replace_schema_metadata(metadata).to_pandas(types_mapper=nested_as_arrow)


def _readable_metadata(schema):
    """The file's schema metadata, with its pandas dtypes of lists and records left out. Pandas writes a list
    column's Arrow dtype as 'list<item: string>[pyarrow]', which it cannot parse back, and pyarrow parses the dtype
    of every column in the metadata, read or not: such a file cannot be read otherwise. Those columns come back
    Arrow-backed instead, so inference names them and the fix (or leaves them out when told to)."""
    import pyarrow as pa

    pandas = schema.pandas_metadata
    nested = {field.name for field in schema if pa.types.is_nested(field.type)}
    if not pandas or not nested:
        return schema.metadata
    for column in pandas.get("columns", []):
        if column.get("field_name", column.get("name")) in nested:
            column["numpy_type"] = "object"
    return {**schema.metadata, b"pandas": json.dumps(pandas).encode()}


# What a damaged file, or one in another format or encoding, raises while pandas or pyarrow reads it: pandas's
# parser errors and pyarrow's ArrowInvalid are ValueErrors, decoding errors UnicodeErrors (ValueErrors too),
# pyarrow's and the decompressors' I/O errors OSErrors; zip, lzma and zlib have errors of their own.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error)


def unreadable(path, fmt, error):
    """The `DataError` for a data file that pandas or pyarrow cannot read: the file, the reader's words, the fix."""
    said = f"{type(error).__name__}: {str(error).strip()[:300]}"
    if fmt == "parquet":
        return DataError(f"Cannot read '{path}' as Parquet ({said}): the file is damaged, or not Parquet. Write it "
                         f"again (df.to_parquet(path)), or pass the rows as a DataFrame.")
    return DataError(f"Cannot read '{path}' as CSV ({said}). A data file must be comma-separated UTF-8 text with a "
                     f"header row and as many fields on every row. For another delimiter or encoding, read it with "
                     f"pandas (e.g. pd.read_csv(path, sep=';', encoding='latin-1')) and pass the DataFrame.")


@contextlib.contextmanager
def _reading(path, fmt):
    """Turn what pandas or pyarrow raise on a file they cannot read into `unreadable`'s error; ours pass through."""
    try:
        yield
    except KerasDefaultsError:
        raise
    except _READ_ERRORS as error:
        raise unreadable(path, fmt, error) from None


def _file_chunks(path, fmt, columns, chunk_rows):
    with _reading(path, fmt):
        yield from _read_chunks(path, fmt, columns, chunk_rows)


def _read_chunks(path, fmt, columns, chunk_rows):
    if fmt == "parquet":
        file = _pyarrow_parquet().ParquetFile(path)
        check_columns(path, file.schema_arrow.names, columns)
        metadata = _readable_metadata(file.schema_arrow)
        for batch in file.iter_batches(batch_size=chunk_rows, columns=columns):
            yield _as_pandas(batch, metadata)
        return
    check_columns(path, pd.read_csv(path, nrows=0).columns, columns)
    with pd.read_csv(path, chunksize=chunk_rows, usecols=columns) as reader:
        yield from reader


def check_columns(path, present, columns):
    missing = [c for c in columns or () if c not in set(present)]
    if missing:
        raise DataError(f"File '{path}' lacks column(s) {missing} that the other files (or the model) have. "
                        f"Every file needs the same columns; add them (empty values are read as missing).")


def frame_chunks(source, columns=None):
    """The DataFrames of a source: a DataFrame is one chunk (its own index kept); files give chunks of
    `CHUNK_ROWS` rows, numbered by a RangeIndex that runs on across chunks and files."""
    if not is_file_source(source):
        yield source
        return
    offset = 0
    for _, _, chunk in resolve_files(source).chunks(columns):
        chunk.index = pd.RangeIndex(offset, offset + len(chunk))
        offset += len(chunk)
        yield chunk


class PredictionWriter:
    """Appends frames of predictions to one CSV or Parquet file, as they come."""

    def __init__(self, path):
        self.path = Path(path)
        self.format = WRITABLE.get(self.path.suffix.lower())
        if self.format is None:
            raise DataError(f"Cannot write predictions to '{path}': the name must end in .csv or .parquet.")
        self.parquet = None
        self.started = False

    def write(self, frame, delimiters=None):
        """Append `frame`. `delimiters` ({column: delimiter}): columns of predicted sets (lists of labels), which a
        CSV file holds as their labels joined by the delimiter (as a set column is read); Parquet holds lists."""
        if self.format == "csv" and delimiters:
            frame = frame.assign(**{column: frame[column].map(delimiter.join)
                                    for column, delimiter in delimiters.items() if column in frame.columns})
        frame = frame.set_axis(["/".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns],
                               axis=1)
        if not self.started:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "csv":
            frame.to_csv(self.path, mode="a" if self.started else "w", header=not self.started, index=False)
        else:
            import pyarrow as pa

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = _pyarrow_parquet().ParquetWriter(self.path, table.schema)
            self.parquet.write_table(table.cast(self.parquet.schema))
        self.started = True

    def close(self):
        if self.parquet is not None:
            self.parquet.close()
