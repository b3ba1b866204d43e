"""Feeding training: the arguments of `network.fit`, from a DataFrame or from data files.

Training data is fed in one of two ways. When the encoded features fit in `training.feature_cache_mb`, the
preprocessing layers run once and training reads the cached arrays, so an epoch costs only the network. Otherwise
(wide text features, many rows, files larger than memory) a `tf.data` pipeline reads rows in chunks, runs the same
preprocessing layers on them in parallel with training, and batches them, every epoch; memory then stays that of a
few chunks.
"""

import functools
import itertools
import math

import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.model_selection import train_test_split

from keras_defaults import frames
from keras_defaults.columns import raw_arrays, raw_tensors
from keras_defaults.errors import ConfigError, DataError
from keras_defaults.model import output_key
from keras_defaults.sources import Files, held_out
from keras_defaults.targets import label_arrays

# Encoded rows the training pipeline holds ahead of the network: pieces being encoded and batches waiting.
PIPELINE_MB = 64
# Rows run through the preprocessing layers at a time when caching their output.
_ENCODE_ROWS = 8192
# Above this many columns the preprocessing layers run eagerly: tracing a graph of thousands of per-column layers
# takes longer than running them (1,000 columns: over a minute to trace, against seconds to run).
_TRACE_MAX_COLUMNS = 200

CACHED, STREAMED = "cached", "streamed"

# tf.data options of a pipeline that only slices tensors held in memory: nothing to tune or rewrite, and an iterator
# over it is made in about 1 ms instead of 10.
_PLAIN = tf.data.Options()
_PLAIN.autotune.enabled = False
_PLAIN.experimental_optimization.apply_default_optimizations = False


class Feeder:
    """Feeds `network.fit` from one dataset: the first fit, then the refit on every row.

    `data` is a DataFrame, or `Files` counted by the statistics pass; `inputs` and `targets` the fitted columns;
    `weights`, per-row weights by target for a DataFrame ({target: array}), or None. `feeding` says how the rows are
    fed: "cached" when the encoded features fit in `training.feature_cache_mb` (encoded once, on the first call of
    `arguments`, and reused by every later one), else "streamed" (encoded batch by batch, every epoch).
    """

    def __init__(self, data, inputs, targets, preprocessor, training, weights=None, validation=None):
        rows = data.rows if isinstance(data, Files) else len(data)
        if isinstance(data, Files) and training.class_weight == "balanced":
            # Weights come from the class counts of an in-memory frame; rows read from files carry none.
            raise ConfigError("training.class_weight: balanced works on a DataFrame in memory, not on data files. "
                              "Use class_weight: none (or auto, which does not weigh file rows), or load the rows.")
        cached = rows * encoded_row_bytes(preprocessor) <= training.feature_cache_mb * 2 ** 20
        if not cached and weights is not None:
            raise ConfigError(f"Weighted rows (training.class_weight: {training.class_weight}, class_weight= or "
                              f"sample_weight=) need the encoded features in memory, but this frame's ({rows} rows) "
                              f"exceed training.feature_cache_mb. Raise that setting, or train without weights.")
        self.data, self.inputs, self.targets, self.preprocessor = data, inputs, targets, preprocessor
        self.weights, self.validation = weights, validation
        self.feeding = CACHED if cached else STREAMED
        self._encoded = None  # (tensors of every row, the first target's value per row), once encoded
        self._validation_encoded = None

    def arguments(self, training, seed):
        """Keyword arguments for `network.fit` with `training`'s batch size and validation split; the validation
        frame, when one was given, replaces the split."""
        if self.feeding == STREAMED:
            arguments = _streamed_arguments(self.data, self.inputs, self.targets, self.preprocessor, training, seed)
        else:
            if self._encoded is None:
                self._encoded = _encode_rows(self.data, self.inputs, self.targets, self.preprocessor, self.weights)
            arrays, split_values = self._encoded
            arguments = _cached_arguments(arrays, split_values, self.targets, training, seed)
        if self.validation is not None:
            arguments.update(self._validation_arguments(training, seed))
        return arguments

    def _validation_arguments(self, training, seed):
        """The given validation frame, fed as the training rows are (unweighted, as Keras's own validation_data)."""
        rows = np.arange(len(self.validation))
        if self.feeding == STREAMED:
            raw, labels = raw_arrays(self.validation, self.inputs), label_arrays(self.validation, self.targets)
            pieces = _frame_pieces(raw, labels, rows, seed, _piece_rows(self.preprocessor, training.batch_size),
                                   shuffle=False)
            return dict(validation_data=_dataset(pieces, self.inputs, self.targets, self.preprocessor,
                                                 training.batch_size, len(rows)))
        if self._validation_encoded is None:
            self._validation_encoded = _encode_rows(self.validation, self.inputs, self.targets,
                                                    self.preprocessor)[0]
        validation, steps = _batches(self._validation_encoded, rows, training.batch_size)
        return dict(validation_data=validation, validation_steps=steps)


def refit_epochs(training, history, rows):
    """How many epochs to train on all `rows` after early stopping, or None for no refit.

    The first fit's validation rows chose the epochs: the best epoch when its weights were restored, else every
    epoch it ran; the refit trains `training.refit_fraction` of them, at least one. No refit without validation
    rows, when `training.refit` is false, or, when it is "auto", above `training.refit_max_rows`.
    """
    losses = history.get("val_loss")
    if not losses or training.refit is False or (training.refit == "auto" and rows > training.refit_max_rows):
        return None
    chosen = int(np.argmin(losses)) + 1 if training.restore_best_weights else len(losses)
    return max(1, math.ceil(training.refit_fraction * chosen))


def split_rows(first_target, values, fraction, seed):
    """(training rows, validation rows or None): a seeded split of `fraction` of the rows, stratified on the first
    target's `values` when it is a classification target whose every class can be on both sides."""
    if frames.validation_rows(len(values), fraction) == 0:
        return np.arange(len(values)), None
    stratify = None
    if first_target.predicts_classes and not first_target.masked:  # an autoencoder's columns: a plain random split
        values = pd.Series(values)
        counts = values.value_counts()
        if counts.min() >= 2 and len(values) * fraction >= len(counts):
            stratify = values.astype(str).to_numpy()
    return train_test_split(np.arange(len(values)), test_size=fraction, stratify=stratify, random_state=seed)


def _encoded_widths(preprocessor):
    """(values, bytes per value) of each encoded feature tensor of one row."""
    for tensor in preprocessor.output.values():
        yield (int(np.prod([d for d in tensor.shape[1:]])) if len(tensor.shape) > 1 else 1,
               np.dtype(tensor.dtype).itemsize)


def encoded_row_bytes(preprocessor):
    """Bytes of one row of encoded features: what caching them costs per row."""
    return sum(width * itemsize for width, itemsize in _encoded_widths(preprocessor))


def encoded_width(preprocessor):
    """How many values encode one row: the width of the features the network reads."""
    return sum(width for width, _ in _encoded_widths(preprocessor))


def _encode_rows(data, inputs, targets, preprocessor, weights=None):
    """(tensors of every row's encoded features, labels and weights, held once; the first target's value per row,
    on which the validation split stratifies)."""
    first = next(iter(targets.values()))
    if isinstance(data, Files):
        x, y = _encode_files(data, inputs, targets, preprocessor)
        labels = y[output_key(first.name)]  # class codes, one per row
        split_values = labels.argmax(axis=1) if labels.ndim > 1 and labels.shape[1] > 1 else labels.reshape(len(labels))
    else:
        x, y = encode(data, inputs, encoder(preprocessor)), label_arrays(data, targets)
        split_values = data[first.name]
    arrays = (_tensors(x), _tensors(y)) + ((_tensors(weights),) if weights is not None else ())
    return arrays, split_values


def _cached_arguments(arrays, split_values, targets, training, seed):
    first = next(iter(targets.values()))
    train_idx, val_idx = split_rows(first, split_values, training.validation_split, seed)
    # Each batch gathers its rows from the tensors of every row.
    train, steps = _batches(arrays, train_idx, training.batch_size, shuffle=True)
    validation, validation_steps = (None, None) if val_idx is None else _batches(arrays, val_idx, training.batch_size)
    # The pipeline shuffles the rows every epoch; Keras cannot shuffle a dataset.
    return dict(x=train, steps_per_epoch=steps, validation_data=validation, validation_steps=validation_steps,
                shuffle=False)


def _batches(arrays, rows, batch_size, shuffle=False):
    """A `tf.data` pipeline of batches of `rows` (shuffled anew every epoch when `shuffle`), repeated without end,
    and the steps that make one epoch. Keras keeps one iterator over the training rows' pipeline for the whole of
    `fit`: with tensors or arrays it would build one an epoch, which costs more than the epoch itself on small data.
    Only the row numbers are shuffled, so no copy of the features is made.

    Rows read in the same order every epoch (the validation rows) are gathered once when their copy is small (at
    most `PIPELINE_MB`), into a pipeline without tf.data's autotuning and graph rewrites. Keras makes a new iterator
    over the validation data every epoch, and making one over an autotuned, rewritten pipeline costs about 10 ms:
    on small tables, validated every epoch, more than the epoch's training. The batches hold the same values."""
    steps = -(-len(rows) // batch_size)
    if not shuffle and _gathered_bytes(arrays, len(rows)) <= PIPELINE_MB * 2 ** 20:
        gathered = tf.nest.map_structure(lambda tensor: tf.gather(tensor, rows), arrays)
        return tf.data.Dataset.from_tensor_slices(gathered).batch(batch_size).repeat().with_options(_PLAIN), steps
    order = tf.data.Dataset.from_tensor_slices(tf.constant(rows, dtype=tf.int64))
    if shuffle:
        order = order.shuffle(len(rows), reshuffle_each_iteration=True)
    batches = order.batch(batch_size).map(
        lambda index: tuple(tf.nest.map_structure(lambda tensor: tf.gather(tensor, index), part) for part in arrays),
        num_parallel_calls=tf.data.AUTOTUNE)
    return batches.repeat().prefetch(tf.data.AUTOTUNE), steps


def _gathered_bytes(arrays, rows):
    """Bytes that a copy of `rows` rows of every tensor in `arrays` (a nest) takes."""
    return sum(rows * int(np.prod(tensor.shape[1:])) * tensor.dtype.size for tensor in tf.nest.flatten(arrays))


def _tensors(arrays):
    return {k: tf.convert_to_tensor(v) for k, v in arrays.items()}


def encoder(preprocessor):
    """The preprocessing layers as one function, raw columns in, encoded features out: traced, unless very wide."""
    run = functools.partial(preprocessor, training=False)
    if len(preprocessor.input) > _TRACE_MAX_COLUMNS:
        return run
    # A partial, not a lambda: TensorFlow counts the traces of every function with the same code together, so a
    # lambda here would warn of "excessive retracing" after a few fits, each of which traces once.
    return tf.function(run, reduce_retracing=True)


def encode(frame, inputs, encode_rows, out=None, start=0, rows=None):
    """The encoded features of a frame, batch by batch, written into `out` (arrays of `rows` rows, allocated when
    None) from row `start`. Keras's `predict` would hold every batch's output and then their concatenation: the
    result three times over, where this holds it once."""
    raw = raw_tensors(frame, inputs)
    for begin in range(0, len(frame), _ENCODE_ROWS):
        encoded = encode_rows({k: v[begin:begin + _ENCODE_ROWS] for k, v in raw.items()})
        if out is None:
            out = {k: np.empty((rows or len(frame),) + tuple(v.shape[1:]), v.dtype.as_numpy_dtype)
                   for k, v in encoded.items()}
        for k, v in encoded.items():
            out[k][start + begin:start + begin + len(v)] = v.numpy()
    return out


def _with_targets(chunk, targets):
    """The rows of a chunk that have a value in every target (an autoencoder's columns, masked, may lack one)."""
    required = [name for name, target in targets.items() if not target.masked]
    return chunk.loc[chunk[required].notna().all(axis=1).to_numpy()]


def _encode_files(files, inputs, targets, preprocessor):
    """Encode every row of the files once, chunk by chunk, into preallocated arrays."""
    x = y = None
    start = 0
    encode_rows = encoder(preprocessor)
    for _, _, chunk in files.chunks(columns=list(inputs) + list(targets)):
        chunk = _with_targets(chunk, targets)
        if not len(chunk):
            continue
        x = encode(chunk, inputs, encode_rows, x, start, files.rows)
        labels = label_arrays(chunk, targets)
        if y is None:
            y = {k: np.empty((files.rows,) + v.shape[1:], v.dtype) for k, v in labels.items()}
        for k, v in labels.items():
            y[k][start:start + len(chunk)] = v
        start += len(chunk)
    if start != files.rows:
        raise DataError(f"The files changed while training read them: {files.rows} rows when counted, {start} now.")
    return x, y


def _streamed_arguments(data, inputs, targets, preprocessor, training, seed):
    batch_size = training.batch_size
    fraction = training.validation_split or 0.0
    piece = _piece_rows(preprocessor, batch_size)
    if isinstance(data, Files):
        parts = {part: (file_pieces(data, inputs, targets, part, fraction, seed, piece),
                        data.part_rows(part, fraction, seed))
                 for part in ("train", "validation")}
    else:
        raw, labels = raw_arrays(data, inputs), label_arrays(data, targets)
        first = next(iter(targets.values()))
        train_idx, val_idx = split_rows(first, data[first.name], fraction, seed)
        val_idx = val_idx if val_idx is not None else np.arange(0)
        parts = {"train": (_frame_pieces(raw, labels, train_idx, seed, piece, shuffle=True), len(train_idx)),
                 "validation": (_frame_pieces(raw, labels, val_idx, seed, piece, shuffle=False), len(val_idx))}
    datasets = {part: _dataset(generate, inputs, targets, preprocessor, batch_size, rows) if rows else None
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


def file_pieces(files, inputs, targets, part, fraction, seed, piece):
    """Rows of the files in pieces; each row belongs to `part` ("train" or "validation") by a seeded coin flip
    that is the same every epoch. Training reads the files in a new order each epoch and shuffles each chunk."""
    epochs = itertools.count()
    columns = list(inputs) + list(targets)
    shuffle = part == "train"

    def generate():
        rng = np.random.default_rng([seed, next(epochs)])
        order = rng.permutation(len(files.paths)) if shuffle else range(len(files.paths))
        for i in order:
            for j, chunk in enumerate(files.file_chunks(i, columns)):
                chunk = _with_targets(chunk, targets)
                if fraction:
                    validation = held_out(seed, i, j, len(chunk), fraction)
                    chunk = chunk.loc[validation if part == "validation" else ~validation]
                if not len(chunk):
                    continue
                raw, labels = raw_arrays(chunk, inputs), label_arrays(chunk, targets)
                rows = rng.permutation(len(chunk)) if shuffle else np.arange(len(chunk))
                for start in range(0, len(rows), piece):
                    take = rows[start:start + piece]
                    yield {k: v[take] for k, v in raw.items()}, {k: v[take] for k, v in labels.items()}

    return generate


def _dataset(generate, inputs, targets, preprocessor, batch_size, rows):
    """raw pieces -> the preprocessing layers (in parallel with training) -> training batches."""
    raw_spec = {name: tf.TensorSpec((None,), tf.string if spec.input_dtype == "string" else tf.float32)
                for name, spec in inputs.items()}
    # The labels' shapes and dtypes, from the labels of no rows.
    no_labels = label_arrays(pd.DataFrame({name: pd.Series([], dtype=object) for name in targets}), targets)
    label_spec = {name: tf.TensorSpec((None,) + array.shape[1:], tf.as_dtype(array.dtype))
                  for name, array in no_labels.items()}
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
