"""Every use of private Keras and TensorFlow API, behind one gate.

Keras's public API has no way to do three things this package needs:

- adapt a `TextVectorization` layer fast: Keras's own `adapt` deduplicates each document's tokens in an eager
  per-row loop (about 1 ms a row, 17 minutes for a million rows);
- train under a multi-worker strategy: Keras 3 averages a step's logs across workers with a reduction that fails on
  scalars, and builds the model's metrics from a batch it cannot average (keras-team/keras#20585).

Each use is checked against the Keras versions the tests cover (`TESTED_KERAS`). Inside that range the private path
runs; outside it, the public path runs where there is one (`layer.adapt`), and where there is none the private path
is tried only if every attribute it needs is still there, with a warning, and refused with a clear error otherwise.
`tests/test_compat.py` pins each use: it fails loudly when a Keras release moves what is used here.
"""

import keras
import tensorflow as tf

from keras_defaults.errors import ConfigError, warn

# The Keras releases (major, minor) that the test suite has run against; pyproject.toml pins the same range.
TESTED_KERAS = ((3, 12), (3, 15))


def keras_version():
    """(major, minor) of the installed Keras."""
    major, minor = keras.version().split(".")[:2]
    return int(major), int(minor)


def is_tested(version=None):
    low, high = TESTED_KERAS
    return low <= (version or keras_version()) <= high


def _tested_range():
    (a, b), (c, d) = TESTED_KERAS
    return f"{a}.{b} to {c}.{d}"


def _missing(owner, names):
    return [name for name in names if not hasattr(owner, name)]


# ---------------------------------------------------------------------------------------------------- text
# What the fast adapt reads and writes inside a TextVectorization layer and its inner lookup layer.
TEXT_LAYER_PRIVATE = ("_lookup_layer", "_preprocess")
TEXT_LOOKUP_PRIVATE = ("token_counts", "token_document_counts", "num_documents")


def fast_adapt_available(layer):
    """Whether the private path of `adapt` can run on this layer with this Keras."""
    if not is_tested() or _missing(layer, TEXT_LAYER_PRIVATE):
        return False
    return not _missing(layer._lookup_layer, TEXT_LOOKUP_PRIVATE)


def adapt(layer, values, batch_size=65536):
    """What `layer.adapt(values)` learns (the same vocabulary, order and IDF weights), about 50 times faster.

    The layer's own tokenizer splits a whole batch at once, term and document counts are taken with vectorised
    `unique` ops (a document's tokens are deduplicated as integer (row, term) pairs), and they go into the layer's
    own count tables, so that Keras's `finalize_state` still sorts the vocabulary and computes the IDF weights. The
    batches run eagerly: a `tf.data` map would trace the tokenizer anew for every column. With an untested Keras,
    Keras's own `adapt` runs instead.
    """
    if not fast_adapt_available(layer):
        layer.adapt(tf.constant(values, dtype=tf.string), batch_size=min(batch_size, 4096))
        return
    lookup = layer._lookup_layer
    layer.reset_state()
    for start in range(0, len(values), batch_size):
        batch = tf.constant(values[start:start + batch_size], dtype=tf.string)
        terms, term_counts, documents, document_counts = _token_counts(layer._preprocess(batch))
        lookup.token_counts.insert(terms, term_counts + lookup.token_counts.lookup(terms))
        if lookup.output_mode == "tf_idf":
            lookup.token_document_counts.insert(
                documents, document_counts + lookup.token_document_counts.lookup(documents))
            lookup.num_documents.assign_add(tf.size(batch, out_type=tf.int64))
    if int(lookup.token_counts.size()) == 0:
        # No word at all: the vocabulary stays the out-of-vocabulary token alone (Keras's `finalize_state` fails in
        # tf_idf mode, reading IDF weights it never made).
        return
    layer.finalize_state()


def _token_counts(tokens):
    """(terms, how often each occurs, terms again, in how many rows each occurs) of a batch of tokenized rows."""
    if isinstance(tokens, tf.RaggedTensor):
        tokens = tokens.merge_dims(1, -1) if tokens.shape.rank > 2 else tokens
        flat, rows = tokens.flat_values, tokens.value_rowids()
    else:
        flat = tf.reshape(tokens, [-1])
        rows = tf.repeat(tf.range(tf.shape(tokens, out_type=tf.int64)[0]), tf.shape(tokens)[1])
    terms, term_index, term_counts = tf.unique_with_counts(flat, out_idx=tf.int64)
    # A term's document count: its distinct (row, term) pairs, numbered row * terms + term.
    n_terms = tf.size(terms, out_type=tf.int64)
    pairs, _ = tf.unique(tf.cast(rows, tf.int64) * n_terms + term_index, out_idx=tf.int64)
    document_counts = tf.math.bincount(pairs % n_terms, minlength=n_terms, maxlength=n_terms, dtype=tf.int64)
    return terms, term_counts, terms, document_counts


def idf_weights(layer):
    """The IDF weights an adapted `TextVectorization` layer in tf_idf mode learned, through the public saving hook
    (`save_own_variables`), since Keras has no getter for them."""
    store = {}
    layer.save_own_variables(store)
    return [float(w) for w in store["idf_weights"]]


# ---------------------------------------------------------------------------------------------------- multi-worker
def _trainer_module():
    from keras.src.backend.tensorflow import trainer

    return trainer


TRAINER_PRIVATE = ("reduce_per_replica", "_collective_all_reduce_multi_worker")
MODEL_PRIVATE = ("_symbolic_build", "_maybe_symbolic_build")


def _check_multi_worker_internals(network=None):
    """Refuse (or warn about) a Keras whose internals the multi-worker fixes below may not fit."""
    missing = _missing(_trainer_module(), TRAINER_PRIVATE)
    if network is not None:
        missing += _missing(network, MODEL_PRIVATE)
    if missing:
        raise ConfigError(f"training.distribution: multi_worker needs Keras {_tested_range()} (installed: "
                          f"{keras.version()}, which lacks {missing}). Install a tested Keras, e.g. "
                          f"pip install 'keras>={TESTED_KERAS[0][0]}.{TESTED_KERAS[0][1]},"
                          f"<{TESTED_KERAS[1][0]}.{TESTED_KERAS[1][1] + 1}'.")
    if not is_tested() and network is None:
        warn(f"training.distribution: multi_worker works around Keras internals tested with Keras {_tested_range()}; "
             f"Keras {keras.version()} is untested here.")


def average_logs_across_workers():
    """Keras 3 (up to at least 3.15) averages a training step's logs across workers with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on their scalar values (keras-team/keras#20585); so
    `fit` cannot run under a multi-worker strategy. Averaging over all replicas (`axis=None`) is what Keras means
    there: every worker then sees the same loss and metrics, and early stopping decides the same on every worker.
    Only the multi-worker case is rerouted; every other reduction is Keras's own.
    """
    _check_multi_worker_internals()
    trainer = _trainer_module()
    keras_reduce = trainer.reduce_per_replica
    if getattr(keras_reduce, "keras_defaults_fix", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction == "auto" and trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.keras_defaults_fix = True
    trainer.reduce_per_replica = reduce_per_replica


def build_from_local_batch(network, strategy):
    """Let `network.fit` run under a multi-worker strategy.

    Keras 3 (up to at least 3.15) builds a model's metrics before training from one batch that it first averages
    across replicas with `strategy.reduce`, which the multi-worker strategy cannot do for a nested batch (keras-team/
    keras#20585: "Attempt to convert a value ({...PerReplica...}) to a Tensor"). Only the batch's shapes and dtypes
    matter there, so this network builds from the first local replica's batch instead.
    """
    _check_multi_worker_internals(network)

    def first_replica(value):
        return value.values[0] if isinstance(value, tf.distribute.DistributedValues) else value

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(first_replica, next(batches))
                break
        with strategy.scope():
            network._symbolic_build(data_batch=data_batch)

    network._maybe_symbolic_build = build
    return network
