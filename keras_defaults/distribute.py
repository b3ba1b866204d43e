"""Training on several devices or machines, with TensorFlow's own `tf.distribute` strategies.

`training.distribution` picks one: null (this process's default device), `mirrored` (every GPU of this machine, or
every logical CPU device when it has none) or `multi_worker` (the machines listed in the `TF_CONFIG` environment
variable, the standard way to describe a TensorFlow cluster). The network is built and compiled in the strategy's
scope; the preprocessing layers have no trainable weights and run before it, so they need no distributing.
"""

import contextlib
import json
import os

import tensorflow as tf

from keras_defaults.errors import ConfigError, expected_one_of, warn

CHOICES = ("mirrored", "multi_worker")

# One strategy per kind and process: TensorFlow allows a single multi-worker strategy per process, and a mirrored
# one is cheap to keep.
_STRATEGIES = {}


def strategy(setting):
    """The `tf.distribute.Strategy` for a `training.distribution` setting, or None for no distribution.

    With `multi_worker`, TensorFlow must not have run anything yet in this process: call
    `keras_defaults.distribute.strategy("multi_worker")` first thing in the program if anything else (data loading
    with TensorFlow, another model) comes before `fit`.
    """
    if setting is None:
        return None
    if setting not in CHOICES:
        raise ConfigError("Unknown training.distribution. " + expected_one_of("distribution", setting, CHOICES)
                          + " Use null to train without distribution.")
    if setting not in _STRATEGIES:
        _STRATEGIES[setting] = _mirrored() if setting == "mirrored" else _multi_worker()
    return _STRATEGIES[setting]


def _mirrored():
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def _multi_worker():
    cluster = cluster_spec()
    if cluster is None:
        warn("training.distribution is 'multi_worker' but TF_CONFIG is not set: training on this machine alone. "
             "Set TF_CONFIG on every machine of the cluster (see 'Scaling out' in the README).")
    try:
        created = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise ConfigError(
            f"The multi-worker strategy could not start ({error}). TensorFlow had already run something in this "
            f"process; create the strategy first thing in the program: "
            f"keras_defaults.distribute.strategy('multi_worker')."
        ) from None
    _average_logs_across_workers()
    return created


def _average_logs_across_workers():
    """Keras 3 (up to at least 3.15) averages a training step's logs across workers with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on their scalar values (keras-team/keras#20585); so
    `fit` cannot run under a multi-worker strategy. Averaging over all replicas (`axis=None`) is what Keras means
    there: every worker then sees the same loss and metrics, and early stopping decides the same on every worker.
    Only the multi-worker case is rerouted; every other reduction is Keras's own.
    """
    from keras.src.backend.tensorflow import trainer

    keras_reduce = trainer.reduce_per_replica
    if getattr(keras_reduce, "keras_defaults_fix", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction == "auto" and trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.keras_defaults_fix = True
    trainer.reduce_per_replica = reduce_per_replica


def cluster_spec():
    """The parsed `TF_CONFIG` ({"cluster": ..., "task": ...}), or None when it is not set; errors name the fix."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({error}). Expected e.g. "
                          f'{{"cluster": {{"worker": ["host1:12345", "host2:12345"]}}, '
                          f'"task": {{"type": "worker", "index": 0}}}}.') from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not isinstance(
            config.get("task"), dict):
        raise ConfigError(f"TF_CONFIG needs a 'cluster' mapping and a 'task' mapping. Received: {text!r}.")
    task = config["task"]
    roles = config["cluster"]
    if task.get("type") not in roles:
        raise ConfigError(f"TF_CONFIG's task type {task.get('type')!r} is not a role of its cluster "
                          f"({sorted(roles)}).")
    if not isinstance(task.get("index"), int) or not 0 <= task["index"] < len(roles[task["type"]]):
        raise ConfigError(f"TF_CONFIG's task index {task.get('index')!r} is not the position of an address in "
                          f"cluster[{task['type']!r}] ({len(roles[task['type']])} addresses).")
    return config


def is_chief():
    """Whether this process is the one that should save the model: the `chief` task, else worker 0, else alone."""
    config = cluster_spec()
    if config is None:
        return True
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def prepare_network(network, strategy_or_none):
    """Let `network.fit` run under a multi-worker strategy.

    Keras 3 (up to at least 3.15) builds a model's metrics before training from one batch that it first averages
    across replicas with `strategy.reduce`, which the multi-worker strategy cannot do for a nested batch (keras-team/
    keras#20585: "Attempt to convert a value ({...PerReplica...}) to a Tensor"). Only the batch's shapes and dtypes
    matter there, so this network builds from the first local replica's batch instead.
    """
    if not isinstance(strategy_or_none, tf.distribute.MultiWorkerMirroredStrategy):
        return network

    def build_from_local_batch(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(_first_replica, next(batches))
                break
        with strategy_or_none.scope():
            network._symbolic_build(data_batch=data_batch)

    network._maybe_symbolic_build = build_from_local_batch
    return network


def _first_replica(value):
    if isinstance(value, tf.distribute.DistributedValues):
        return value.values[0]
    return value


def scope(strategy_or_none):
    """The strategy's scope, or a scope that does nothing."""
    return contextlib.nullcontext() if strategy_or_none is None else strategy_or_none.scope()


def replicas(strategy_or_none):
    return 1 if strategy_or_none is None else strategy_or_none.num_replicas_in_sync
