"""Rows in batches: CSV and Parquet files read chunk by chunk, and the `tf.data` pipelines that feed training.

Statistics of files come from one streaming pass with bounded memory: exact counts of rows and missing values,
value counts of every column that could be categorical (exact up to `COUNTED_VALUES` distinct values a column, then
Misra-Gries summaries that keep every frequent value), and a uniform sample of `SAMPLE_ROWS` rows from which kinds,
quantiles and text vocabularies are learned, exactly as from a DataFrame.

Training data is fed in one of two ways. When the encoded features fit in `training.feature_cache_mb`, the
preprocessing layers run once and training reads the cached arrays, so an epoch costs only the network. Otherwise
(wide text features, many rows, files larger than memory) a `tf.data` pipeline reads rows in chunks, runs the same
preprocessing layers on them in parallel with training, and batches them, every epoch; memory then stays that of a
few chunks.
"""

import dataclasses
import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_defaults import frames
from keras_defaults.encoders import ENCODERS, input_array
from keras_defaults.errors import ConfigError, DataError, warn
from keras_defaults.schema import IGNORE, numeric_values, string_values

# Rows read from a file at a time.
CHUNK_ROWS = 65_536
# Rows of the uniform sample that kinds, quantiles and text vocabularies are learned from.
SAMPLE_ROWS = 100_000
# Distinct values counted exactly per column before its counts are summarised (at least 10 per vocabulary slot).
COUNTED_VALUES = 20_000
# Encoded rows the training pipeline holds ahead of the network: pieces being encoded and batches waiting.
PIPELINE_MB = 64

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".gz": "csv", ".bz2": "csv", ".zip": "csv",
            ".xz": "csv", ".zst": "csv"}


# ---------------------------------------------------------------------------------------------------- file sources
def is_file_source(data):
    """A path, a glob pattern, a directory, or a list of those: data read from files, not a DataFrame."""
    if isinstance(data, (str, os.PathLike)):
        return True
    return isinstance(data, (list, tuple)) and len(data) > 0 and all(isinstance(d, (str, os.PathLike))
                                                                     for d in data)


@dataclasses.dataclass
class Files:
    """Data files of one format. The statistics pass fills in `rows` and, per file and chunk, the rows that have
    a target (`chunk_rows`), so that training knows how many batches an epoch has without reading the files."""

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
        """Rows of the training or validation part: the same seeded coin flips that `_file_pieces` makes."""
        if not fraction:
            return self.rows if part == "train" else 0
        held_out = sum(int((_coin_flips(seed, i, j, n) < fraction).sum())
                       for i, counts in enumerate(self.chunk_rows) for j, n in enumerate(counts))
        return held_out if part == "validation" else self.rows - held_out


def _coin_flips(seed, file, chunk, rows):
    return np.random.default_rng([seed, int(file), int(chunk)]).random(rows)


def resolve_files(source):
    """The files a source names: a file, a glob pattern, a directory (its CSV/Parquet files), or a list of those."""
    items = source if isinstance(source, (list, tuple)) else [source]
    paths = []
    for item in items:
        text = os.fspath(item)
        if any(c in text for c in "*?["):
            matched = sorted(Path(p) for p in _glob(text))
            if not matched:
                raise DataError(f"No file matches '{text}'. Check the pattern and the working directory "
                                f"({os.getcwd()}).")
        elif Path(text).is_dir():
            matched = sorted(p for p in Path(text).iterdir() if p.is_file() and _format(p) is not None)
            if not matched:
                raise DataError(f"Directory '{text}' holds no .csv or .parquet file.")
        elif Path(text).is_file():
            matched = [Path(text)]
        else:
            raise DataError(f"Data file not found: '{text}'.")
        paths.extend(matched)
    unknown = [p for p in paths if _format(p) is None]
    if unknown:
        raise DataError(f"Cannot read '{unknown[0]}': expected .csv or .parquet files (CSV may be compressed, "
                        f"e.g. .csv.gz).")
    formats = sorted({_format(p) for p in paths})
    if len(formats) > 1:
        raise DataError(f"The files mix formats ({', '.join(formats)}); pass files of one format, e.g. "
                        f"'data/*.parquet'.")
    return Files(paths, formats[0])


def _glob(pattern):
    import glob

    return glob.glob(pattern, recursive=True)


def _format(path):
    return _FORMATS.get(Path(path).suffix.lower())


def _file_chunks(path, fmt, columns, chunk_rows):
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError("Reading Parquet files needs pyarrow: pip install 'keras_defaults[parquet]'.") from None
        file = pq.ParquetFile(path)
        _check_columns(path, file.schema_arrow.names, columns)
        for batch in file.iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
        return
    _check_columns(path, pd.read_csv(path, nrows=0).columns, columns)
    with pd.read_csv(path, chunksize=chunk_rows, usecols=columns) as reader:
        yield from reader


def _check_columns(path, present, columns):
    missing = [c for c in columns or () if c not in set(present)]
    if missing:
        raise DataError(f"File '{path}' lacks column(s) {missing} that the other files (or the model) have. "
                        f"Every file needs the same columns; add them (empty values are read as missing).")


# ---------------------------------------------------------------------------------------------------- statistics
def prepare_files(auto, source, extra_config=None):
    """Learn kinds and encoder statistics from files in one streaming pass; returns the `Files`, rows counted.

    The Automater learns from a uniform sample of the rows as it would from a DataFrame; value counts over all rows
    then replace the sample's vocabularies, classes and missing-value flags.
    """
    files = resolve_files(source)
    files.chunk_size = CHUNK_ROWS
    targets = auto.targets
    seed = auto.seed if auto.seed is not None else 0
    rng = np.random.default_rng(seed)
    config = auto._resolve_config(extra_config)
    forced = {c for c, e in config.get("columns").items() if e.get("kind") == "categorical"}
    columns, sample, keys = None, None, None
    rows = dropped = 0
    missing, counts, summarised, continuous = {}, {}, set(), set()
    for i, _, chunk in files.chunks():
        if columns is None:
            columns = list(chunk.columns)
            frames.as_frame(chunk.iloc[:0], "the training data")  # column names: unique strings
            frames.check_targets(chunk, targets)
        _check_columns(files.paths[i], chunk.columns, columns)
        extra = [c for c in chunk.columns if c not in set(columns)]
        if extra:
            raise DataError(f"File '{files.paths[i]}' has column(s) {extra} that '{files.paths[0]}' lacks. Every "
                            f"file needs the same columns; drop them or add them to every file.")
        known = chunk[targets].notna().all(axis=1).to_numpy()
        dropped += int((~known).sum())
        chunk = chunk.loc[known]
        rows += len(chunk)
        while len(files.chunk_rows) <= i:
            files.chunk_rows.append([])
        files.chunk_rows[i].append(len(chunk))
        for name in columns:
            series = chunk[name]
            missing[name] = missing.get(name, 0) + int(series.isna().sum())
            if name in continuous:
                continue
            if name not in forced and name not in targets and _fractional(series):
                continuous.add(name)  # a column of non-whole numbers is never categorical
                counts.pop(name, None)
                continue
            counts[name], was_summarised = _merge_counts(counts.get(name), series.value_counts(sort=False))
            if was_summarised:
                summarised.add(name)
        sample, keys = _sample_rows(sample, keys, chunk, rng)
    if columns is None or rows == 0:
        raise DataError(f"The files {[str(p) for p in files.paths[:3]]} hold no row with a target value: there is "
                        f"nothing to learn from.")
    if dropped:
        warn(f"Dropped {dropped} of {rows + dropped} rows whose target ({', '.join(targets)}) is missing.")
    files.rows = rows
    auto._prepare(sample.reset_index(drop=True), extra_config)
    _use_full_counts(auto, rows, len(sample), missing, counts, summarised)
    return files


def _fractional(series):
    if not pd.api.types.is_float_dtype(series.dtype):
        return False
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    values = values[np.isfinite(values)]
    return bool(len(values)) and not np.all(values == np.round(values))


def _merge_counts(running, chunk_counts):
    """Add a chunk's value counts; beyond `COUNTED_VALUES` distinct values, keep a Misra-Gries summary.

    The summary subtracts the (k+1)-th largest count from every count and drops those left at zero or below: every
    value seen in more than rows / (k + 1) rows stays, its count low by at most that much (Agarwal et al. 2012,
    "Mergeable summaries").
    """
    merged = chunk_counts if running is None else running.add(chunk_counts, fill_value=0)
    if len(merged) <= COUNTED_VALUES:
        return merged, False
    cut = merged.nlargest(COUNTED_VALUES + 1).iloc[-1]
    return merged[merged > cut] - cut, True


def _sample_rows(sample, keys, chunk, rng):
    """A uniform sample without replacement: the SAMPLE_ROWS rows with the smallest random keys seen so far."""
    chunk_keys = rng.random(len(chunk))
    if sample is not None and len(sample) >= SAMPLE_ROWS:
        threshold = keys.max()
        keep = chunk_keys < threshold
        chunk, chunk_keys = chunk.loc[keep], chunk_keys[keep]
    if sample is None:
        sample, keys = chunk, chunk_keys
    elif len(chunk):
        sample, keys = pd.concat([sample, chunk], ignore_index=True), np.concatenate([keys, chunk_keys])
    if len(sample) > SAMPLE_ROWS:
        order = np.argpartition(keys, SAMPLE_ROWS - 1)[:SAMPLE_ROWS]
        sample, keys = sample.iloc[order].reset_index(drop=True), keys[order]
    return sample, keys


def _use_full_counts(auto, rows, sampled, missing, counts, summarised):
    """Replace what a sample cannot know for sure by what the counts over every row say."""
    for name, profile in auto.profiles_.items():
        profile.rows, profile.missing = rows, missing.get(name, 0)
        if name in counts and name not in summarised:
            profile.n_unique = int(len(counts[name]))
        if sampled < rows and profile.kind != IGNORE and not profile.forced:
            profile.reason += f" (in a uniform sample of {sampled:,} of {rows:,} rows)"
        if profile.kind == IGNORE:
            continue
        kind = ENCODERS[profile.kind]
        state = auto.input_states_[name]
        if "missing_indicator" in state:
            wanted = auto.input_settings_[name].get("missing_indicator", True)
            state["missing_indicator"] = bool(wanted and missing.get(name, 0) > 0)
        if hasattr(kind, "state_from_counts") and name in counts:
            codes = profile.input_dtype == "float32"
            auto.input_states_[name] = kind.state_from_counts(
                _as_model_values(counts[name], codes, missing.get(name, 0)), auto.input_settings_[name],
                codes=codes, has_missing=missing.get(name, 0) > 0)
    for name, target in auto.targets_.items():
        target.profile.rows = rows
        if target.kind == "numerical":
            continue
        if name in summarised:
            raise DataError(f"Target '{name}' has more than {COUNTED_VALUES:,} distinct values; as classes that "
                            f"is too many to learn. If it is a number, force it: column_types={{'{name}': "
                            f"'numerical'}}.")
        distinct = pd.Series(list(counts[name].index), dtype=object)
        target.profile.n_unique = len(distinct)
        if target.kind == "boolean" and len(distinct) != 2:
            raise DataError(f"Target '{name}' looked two-valued in a sample of {sampled:,} rows but has "
                            f"{len(distinct)} distinct values in the files; force its kind: "
                            f"column_types={{'{name}': 'categorical'}}.")
        target.state = ENCODERS[target.kind].fit_target(distinct, target.profile, target.settings)
    used = {n: p for n, p in auto.profiles_.items() if p.kind != IGNORE}
    from keras_defaults.model import build_preprocessor

    auto.preprocessor_ = build_preprocessor(used, auto.input_states_, auto.input_settings_)


def _as_model_values(counts, codes, missing):
    """Raw value counts (values as the files held them) as counts of what the model sees: int codes or strings."""
    raw = pd.Series(list(counts.index), dtype=object)
    if codes:
        values = numeric_values(raw)
        keep = np.isfinite(values)
        grouped = pd.Series(counts.to_numpy()[keep]).groupby(values[keep].astype("int64")).sum()
    else:
        grouped = pd.Series(counts.to_numpy()).groupby(string_values(raw)).sum()
        if missing:
            grouped[""] = grouped.get("", 0) + missing  # missing strings are the category ""
    return grouped.astype("int64")


# ---------------------------------------------------------------------------------------------------- training data
def target_arrays(auto, frame):
    return {name: ENCODERS[t.kind].target_array(frame[name], t.state, t.settings) for name, t in auto.targets_.items()}


def encoded_row_bytes(preprocessor):
    """Bytes of one row of encoded features: what caching them costs per row."""
    total = 0
    for tensor in preprocessor.output.values():
        width = int(np.prod([d for d in tensor.shape[1:]])) if len(tensor.shape) > 1 else 1
        total += width * np.dtype(tensor.dtype).itemsize
    return total


def fit_arguments(auto, data, training, weights=None):
    """Keyword arguments for `network.fit`: cached encoded arrays when they fit `training.feature_cache_mb`,
    `tf.data` pipelines that encode rows as training goes otherwise. `data` is a DataFrame or `Files`;
    `weights`, per-row weights by target for a DataFrame ({target: array}), or None."""
    rows = data.rows if isinstance(data, Files) else len(data)
    cached = rows * encoded_row_bytes(auto.preprocessor_) <= training["feature_cache_mb"] * 2 ** 20
    if isinstance(data, Files) and training["class_weight"] == "balanced":
        # Weights come from the class counts of an in-memory frame; rows read from files carry none.
        raise ConfigError("training.class_weight: balanced works on a DataFrame in memory, not on data files. "
                          "Use class_weight: none (or auto, which does not weigh file rows), or load the rows.")
    auto.feeding_ = "cached" if cached else "streamed"
    if cached:
        return _cached_arguments(auto, data, training, weights)
    if weights is not None:
        raise ConfigError(f"training.class_weight: {training['class_weight']} needs the encoded features in memory, "
                          f"but this frame's ({rows} rows) exceed training.feature_cache_mb. Raise that setting, or "
                          f"use class_weight: none.")
    return _streamed_arguments(auto, data, training)


def _cached_arguments(auto, data, training, weights=None):
    if isinstance(data, Files):
        x, y = _encode_files(auto, data)
        first = y[auto.targets[0]]  # the split stratifies on it: class codes, one per row
        codes = first.argmax(axis=1) if first.ndim > 1 and first.shape[1] > 1 else first.reshape(len(first))
        train_idx, val_idx = auto._split(pd.DataFrame({auto.targets[0]: codes}), training["validation_split"])
    else:
        x, y = auto._encode(data), target_arrays(auto, data)
        train_idx, val_idx = auto._split(data, training["validation_split"])
    validation = None
    if val_idx is not None:
        validation = (_tensors(x, val_idx), _tensors(y, val_idx))
        if weights is not None:
            validation += (_tensors(weights, val_idx),)
            weights = _tensors(weights, train_idx)
        x, y = _tensors(x, train_idx), _tensors(y, train_idx)
    else:
        x, y = _tensors(x), _tensors(y)
        weights = _tensors(weights) if weights is not None else None
    # Tensors, not numpy arrays: Keras slices tensors in place but copies arrays, which would double the cache.
    return dict(x=x, y=y, sample_weight=weights, validation_data=validation, batch_size=training["batch_size"],
                shuffle=True)


def _tensors(arrays, index=None):
    return {k: tf.convert_to_tensor(v if index is None else v[index]) for k, v in arrays.items()}


_ENCODE_ROWS = 8192


# Above this many columns the preprocessing layers run eagerly: tracing a graph of thousands of per-column layers
# takes longer than running them (1,000 columns: over a minute to trace, against seconds to run).
_TRACE_MAX_COLUMNS = 200


def encoder(preprocessor):
    """The preprocessing layers as one function, raw columns in, encoded features out: traced, unless very wide."""
    if len(preprocessor.input) > _TRACE_MAX_COLUMNS:
        return lambda raw: preprocessor(raw, training=False)
    return tf.function(lambda raw: preprocessor(raw, training=False), reduce_retracing=True)


def encode(auto, frame, encode_rows, out=None, start=0, rows=None):
    """The encoded features of a frame, batch by batch, written into `out` (arrays of `rows` rows, allocated when
    None) from row `start`. Keras's `predict` would hold every batch's output and then their concatenation: the
    result three times over, where this holds it once."""
    raw = auto._raw_inputs(frame)
    for begin in range(0, len(frame), _ENCODE_ROWS):
        encoded = encode_rows({k: v[begin:begin + _ENCODE_ROWS] for k, v in raw.items()})
        if out is None:
            out = {k: np.empty((rows or len(frame),) + tuple(v.shape[1:]), v.dtype.as_numpy_dtype)
                   for k, v in encoded.items()}
        for k, v in encoded.items():
            out[k][start + begin:start + begin + len(v)] = v.numpy()
    return out


def _encode_files(auto, files):
    """Encode every row of the files once, chunk by chunk, into preallocated arrays."""
    x = y = None
    start = 0
    encode_rows = encoder(auto.preprocessor_)
    for _, _, chunk in files.chunks(columns=_columns(auto, targets=True)):
        chunk = chunk.loc[chunk[auto.targets].notna().all(axis=1).to_numpy()]
        if not len(chunk):
            continue
        x = encode(auto, chunk, encode_rows, x, start, files.rows)
        labels = target_arrays(auto, chunk)
        if y is None:
            y = {k: np.empty((files.rows,) + v.shape[1:], v.dtype) for k, v in labels.items()}
        for k, v in labels.items():
            y[k][start:start + len(chunk)] = v
        start += len(chunk)
    if start != files.rows:
        raise DataError(f"The files changed while training read them: {files.rows} rows when counted, {start} now.")
    return x, y


def _columns(auto, targets):
    used = [n for n, p in auto.profiles_.items() if p.kind != IGNORE]
    return used + (auto.targets if targets else [])


def _streamed_arguments(auto, data, training):
    seed = auto.seed if auto.seed is not None else 0
    batch_size = training["batch_size"]
    fraction = training["validation_split"] or 0.0
    piece = _piece_rows(auto.preprocessor_, batch_size)
    if isinstance(data, Files):
        parts = {part: (_file_pieces(auto, data, part, fraction, seed, piece), data.part_rows(part, fraction, seed))
                 for part in ("train", "validation")}
    else:
        raw = {name: input_array(data[name], p) for name, p in auto.profiles_.items() if p.kind != IGNORE}
        labels = target_arrays(auto, data)
        train_idx, val_idx = auto._split(data, fraction)
        val_idx = val_idx if val_idx is not None else np.arange(0)
        parts = {"train": (_frame_pieces(raw, labels, train_idx, seed, piece, shuffle=True), len(train_idx)),
                 "validation": (_frame_pieces(raw, labels, val_idx, seed, piece, shuffle=False), len(val_idx))}
    datasets = {part: _dataset(auto, generate, batch_size, rows) if rows else None
                for part, (generate, rows) in parts.items()}
    if datasets["train"] is None:
        raise DataError("Every row went to validation: lower training.validation_split.")
    # The pipeline shuffles (rows within chunks, files between epochs); Keras cannot shuffle a dataset.
    return dict(x=datasets["train"], validation_data=datasets["validation"], shuffle=False)


def _piece_rows(preprocessor, batch_size):
    """Rows encoded at a time: up to 16 batches, and at most an eighth of the pipeline's memory (wide features)."""
    fits = PIPELINE_MB * 2 ** 20 // 8 // max(encoded_row_bytes(preprocessor), 1)
    return batch_size * int(np.clip(fits // batch_size, 1, 16))


def _frame_pieces(raw, labels, index, seed, piece, shuffle):
    epochs = itertools.count()

    def generate():
        order = np.random.default_rng([seed, next(epochs)]).permutation(index) if shuffle else index
        for start in range(0, len(order), piece):
            rows = order[start:start + piece]
            yield {k: v[rows] for k, v in raw.items()}, {k: v[rows] for k, v in labels.items()}

    return generate


def _file_pieces(auto, files, part, fraction, seed, piece):
    """Rows of the files in pieces; each row belongs to `part` ("train" or "validation") by a seeded coin flip
    that is the same every epoch. Training reads the files in a new order each epoch and shuffles each chunk."""
    epochs = itertools.count()
    columns = _columns(auto, targets=True)
    used = {n: p for n, p in auto.profiles_.items() if p.kind != IGNORE}
    shuffle = part == "train"

    def generate():
        rng = np.random.default_rng([seed, next(epochs)])
        order = rng.permutation(len(files.paths)) if shuffle else range(len(files.paths))
        for i in order:
            for j, chunk in enumerate(files.file_chunks(i, columns)):
                chunk = chunk.loc[chunk[auto.targets].notna().all(axis=1).to_numpy()]
                if fraction:
                    held_out = _coin_flips(seed, i, j, len(chunk)) < fraction
                    chunk = chunk.loc[held_out if part == "validation" else ~held_out]
                if not len(chunk):
                    continue
                raw = {name: input_array(chunk[name], p) for name, p in used.items()}
                labels = target_arrays(auto, chunk)
                rows = rng.permutation(len(chunk)) if shuffle else np.arange(len(chunk))
                for start in range(0, len(rows), piece):
                    take = rows[start:start + piece]
                    yield {k: v[take] for k, v in raw.items()}, {k: v[take] for k, v in labels.items()}

    return generate


def _dataset(auto, generate, batch_size, rows):
    """raw pieces -> the preprocessing layers (in parallel with training) -> training batches."""
    raw_spec = {name: tf.TensorSpec((None,), tf.string if p.input_dtype == "string" else tf.float32)
                for name, p in auto.profiles_.items() if p.kind != IGNORE}
    label_spec = {}
    for name, target in auto.targets_.items():
        probe = target.classes[0] if target.kind != "numerical" else target.state["center"]
        array = ENCODERS[target.kind].target_array(pd.Series([probe]), target.state, target.settings)
        label_spec[name] = tf.TensorSpec((None,) + array.shape[1:], tf.as_dtype(array.dtype))
    preprocessor = auto.preprocessor_
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(raw_spec, label_spec))
    dataset = dataset.map(lambda raw, labels: (preprocessor(raw), labels), num_parallel_calls=tf.data.AUTOTUNE)
    # Batches of `batch_size` across piece boundaries; an epoch's length is known, so Keras shows its progress.
    dataset = dataset.rebatch(batch_size).apply(tf.data.experimental.assert_cardinality(-(-rows // batch_size)))
    options = tf.data.Options()
    # Every worker reads the rows and keeps its share: a generator cannot be split by file.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # A look-ahead bounded in bytes, not left to autotuning: memory must not depend on how long training runs.
    batch_bytes = batch_size * max(encoded_row_bytes(preprocessor), 1)
    return dataset.with_options(options).prefetch(int(np.clip(PIPELINE_MB * 2 ** 20 // 2 // batch_bytes, 2, 32)))


# ---------------------------------------------------------------------------------------------------- predicting
def predict_files(auto, source, out=None, proba=False):
    """Predict every row of the files chunk by chunk; write the predictions to `out` (.csv or .parquet) as they
    come, or return them (a RangeIndex numbers the rows across files, in file order)."""
    if isinstance(source, pd.DataFrame) or not is_file_source(source):
        chunks = [frames.as_frame(source, "the data to predict")]
    else:
        chunks = (chunk for _, _, chunk in resolve_files(source).chunks(columns=_columns(auto, targets=False)))
    writer = _Writer(out) if out is not None else None
    parts, offset = [], 0
    try:
        for chunk in chunks:
            result = auto.predict_proba(chunk) if proba else auto.predict(chunk)
            if isinstance(result, dict):
                result = pd.concat(result, axis=1)
            result.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            if writer is None:
                parts.append(result)
            else:
                writer.write(result)
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        return Path(out)
    if not parts:
        raise DataError(f"The files {source!r} hold no rows to predict.")
    return pd.concat(parts)


class _Writer:
    """Appends frames of predictions to one CSV or Parquet file."""

    def __init__(self, path):
        self.path = Path(path)
        self.format = _format(self.path)
        if self.format is None:
            raise DataError(f"Cannot write predictions to '{path}': the name must end in .csv or .parquet.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.parquet = None
        self.started = False

    def write(self, frame):
        frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
        frame = frame.set_axis(["/".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns],
                               axis=1)
        if self.format == "csv":
            frame.to_csv(self.path, mode="a" if self.started else "w", header=not self.started, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, table.schema)
            self.parquet.write_table(table.cast(self.parquet.schema))
        self.started = True

    def close(self):
        if self.parquet is not None:
            self.parquet.close()


def evaluate_files(auto, source):
    """Metrics over every row of the files. Memory holds the targets and predictions, not the input columns."""
    from keras_defaults.automater import _classification_scores, _regression_scores

    files = resolve_files(source)
    truths, predictions, probabilities = [], [], []
    classify = any(t.kind != "numerical" for t in auto.targets_.values())
    for _, _, chunk in files.chunks(columns=_columns(auto, targets=True)):
        chunk = chunk.loc[chunk[auto.targets].notna().all(axis=1).to_numpy()]
        if not len(chunk):
            continue
        truths.append(chunk[auto.targets].reset_index(drop=True))
        predictions.append(_as_frame(auto.predict(chunk), auto.targets))
        if classify:
            proba = auto.predict_proba(chunk)
            probabilities.append(proba if isinstance(proba, dict) else {auto.targets[0]: proba})
    if not truths:
        raise DataError("No row of the files has a target value to evaluate against.")
    truth, predicted = pd.concat(truths, ignore_index=True), pd.concat(predictions, ignore_index=True)
    results = {}
    for name, target in auto.targets_.items():
        if target.kind == "numerical":
            scores = _regression_scores(truth[name], predicted[name])
        else:
            proba = pd.concat([p[name].reset_index(drop=True) for p in probabilities], ignore_index=True)
            scores = _classification_scores(truth[name], predicted[name], proba, target)
        prefix = "" if len(auto.targets_) == 1 else f"{name}/"
        results.update({prefix + k: v for k, v in scores.items()})
    return results


def _as_frame(predictions, targets):
    if isinstance(predictions, pd.Series):
        return predictions.to_frame(targets[0]).reset_index(drop=True)
    return predictions.reset_index(drop=True)
