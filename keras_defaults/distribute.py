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

from keras_defaults import compat
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
    compat.average_logs_across_workers()
    return created


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
    """Let `network.fit` run under a multi-worker strategy (see `compat.build_from_local_batch`); other strategies
    need nothing."""
    if isinstance(strategy_or_none, tf.distribute.MultiWorkerMirroredStrategy):
        compat.build_from_local_batch(network, strategy_or_none)
    return network


def scope(strategy_or_none):
    """The strategy's scope, or a scope that does nothing."""
    return contextlib.nullcontext() if strategy_or_none is None else strategy_or_none.scope()


def replicas(strategy_or_none):
    return 1 if strategy_or_none is None else strategy_or_none.num_replicas_in_sync
