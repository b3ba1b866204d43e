"""Permutation importance: how much a trained model's score drops when one input column's values are shuffled.

Shuffling the rows of one raw column breaks its link with the target while keeping its values (its distribution,
its missing values), and every encoded part of the column (one-hot, embedding, missing flag, date parts, TF-IDF)
follows, since the model encodes them from the raw column: the importance is that of the column the user gave, not
of one feature the model derived from it. The model's raw inputs are one tensor per column, so permuting that
tensor's rows is permuting the column in the DataFrame, without checking and converting the frame once per copy.

The helpers take explicit arguments and return values; the Automater runs the model and scores its outputs.
"""

import numbers

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_defaults.errors import ConfigError, ConfigTypeError, DataError

# The score importance is measured in, per target: the first of these that `scoring` gives for it. A binary target:
# ROC-AUC, the benchmark's primary metric (benchmarks/quality.py); accuracy when the rows hold one class only (no
# AUC then). Several classes: accuracy, the benchmark's primary metric. Sets of labels: micro F1, over every (row,
# label) decision. Numbers: RMSE, in the target's own units (the benchmark ranks regression by R^2, which has none).
PRIMARY_METRICS = ("roc_auc", "accuracy", "f1_micro", "rmse")
# Scores where lower is better: their importance is permuted minus baseline, so that positive still means "helps".
LOWER_IS_BETTER = {"rmse", "mae", "log_loss", "hamming_loss"}
# Rows of permuted copies run through the model in one call: few large calls, with bounded memory.
STACK_ROWS = 100_000


def check_arguments(n_repeats, max_rows, seed):
    """Raise a Keras-style error for an argument of `feature_importance` that cannot be used."""
    for name, value in (("n_repeats", n_repeats), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigTypeError(f"{name} must be a whole number of at least 1. Received: {name}={value!r} "
                                  f"({type(value).__name__}).")
        if value < 1:
            raise ConfigError(f"{name} must be at least 1. Received: {name}={value!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2 ** 32):
        raise ConfigTypeError(f"seed must be a whole number from 0 to 2**32 - 1, or None (the Automater's seed). "
                              f"Received: seed={seed!r}.")


def sample_rows(chunks, max_rows, rng):
    """At most `max_rows` rows drawn uniformly, without replacement, from the frames `chunks` yields, in their
    original order. Each row gets a random key and the smallest keys are kept, so that files larger than memory are
    sampled holding no more than about twice `max_rows` rows at a time."""
    kept, keys = [], []
    for chunk in chunks:
        kept.append(chunk)
        keys.append(rng.random(len(chunk)))
        if sum(map(len, keys)) > 2 * max_rows:
            kept, keys = _smallest_keys(kept, keys, max_rows)
    if not kept:
        return None
    kept, _ = _smallest_keys(kept, keys, max_rows)
    return kept[0]


def _smallest_keys(frames, keys, max_rows):
    """([one frame of the rows with the `max_rows` smallest keys], [their keys]), rows in their original order."""
    frame, key = pd.concat(frames) if len(frames) > 1 else frames[0], np.concatenate(keys)
    if len(key) > max_rows:
        chosen = np.sort(np.argpartition(key, max_rows - 1)[:max_rows])
        frame, key = frame.iloc[chosen], key[chosen]
    return [frame], [key]


def primary_metric(scores, target):
    """The metric of `scores` (one target's {metric: value}) that importance is measured in."""
    for metric in PRIMARY_METRICS:
        if metric in scores:
            return metric
    raise DataError(f"Target '{target}' has none of the scores {list(PRIMARY_METRICS)} that importance is measured "
                    f"in; its scores: {sorted(scores)}.")


def permutation_importance(raw, run, score, n_repeats, rng, stack_rows=STACK_ROWS):
    """{target: DataFrame} of the importance of every input column of `raw`.

    Args:
        raw: {column: tensor} the model's raw inputs for the rows measured on (one tensor per input column).
        run: the model: {column: tensor} -> {target: numpy array of outputs, one row per input row}.
        score: outputs for the rows of `raw` -> {target: {metric: value}} (`scoring`, in the user's units).
        n_repeats: how many shuffles of each column; their mean drop is the importance, their spread the std.
        rng: a numpy Generator: the shuffles.
        stack_rows: the most rows (copies of the frame together) that one `run` call takes.

    Each table is indexed by column (index name "column") with columns `importance` (the mean drop of the target's
    primary metric, in that metric's units; positive means the column helps) and `std` (over the shuffles), sorted
    by importance, highest first. `attrs` holds `metric`, `baseline` (the unshuffled score), `n_repeats` and `rows`.
    """
    rows = int(next(iter(raw.values())).shape[0])
    baseline = score(run(raw))
    metrics = {target: primary_metric(found, target) for target, found in baseline.items()}
    drops = {target: {column: [] for column in raw} for target in baseline}
    per_call = max(1, min(n_repeats, stack_rows // rows))
    tiled = {}  # {copies: the unshuffled columns repeated `copies` times}, built once per size
    for column in raw:
        for start in range(0, n_repeats, per_call):
            copies = min(per_call, n_repeats - start)
            if copies not in tiled:
                same = np.tile(np.arange(rows), copies)
                tiled[copies] = {name: tf.gather(values, same) for name, values in raw.items()}
            shuffled = np.concatenate([rng.permutation(rows) for _ in range(copies)])
            stacked = {**tiled[copies], column: tf.gather(raw[column], shuffled)}
            outputs = run(stacked)
            for copy in range(copies):
                part = {name: values[copy * rows:(copy + 1) * rows] for name, values in outputs.items()}
                for target, found in score(part).items():
                    metric = metrics[target]
                    drop = found[metric] - baseline[target][metric]
                    drops[target][column].append(drop if metric in LOWER_IS_BETTER else -drop)
    return {target: _table(drops[target], metrics[target], baseline[target][metrics[target]], n_repeats, rows)
            for target in baseline}


def _table(drops, metric, baseline, n_repeats, rows):
    values = np.array([drops[column] for column in drops], dtype="float64").reshape(len(drops), n_repeats)
    table = pd.DataFrame({"importance": values.mean(axis=1), "std": values.std(axis=1)},
                         index=pd.Index(list(drops), name="column"))
    # Stable: columns of equal importance keep the model's input order, so a seed gives one table.
    table = table.sort_values("importance", ascending=False, kind="stable")
    table.attrs.update(metric=metric, baseline=float(baseline), n_repeats=int(n_repeats), rows=int(rows))
    return table
