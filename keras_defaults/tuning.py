"""Search beyond the defaults: the `search:` section of the table, read and checked; KerasTuner's oracle proposes the
configurations; the folds they are judged on; the time budget.

`Automater.tune` orchestrates: it learns each fold's statistics once, trains a network per trial and fold, scores it
on the fold's held-out rows, and refits the winner on every row. This module only decides: what the space is, which
rows judge, what a score means, and whether there is time for another trial.
"""

import dataclasses
import datetime
import json
import math
import re
import tempfile
import time
import warnings

import keras
import numpy as np
import pandas as pd
import scipy.stats
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from keras_defaults import defaults as table
from keras_defaults.errors import ConfigError, ConfigTypeError, did_you_mean, expected_one_of, shown

# Where the winning settings come from, as `explain()` and `config_.origin` show them.
TUNING_SOURCE = "tuning"
TUNERS = ("bayesian", "random")
# What a configuration is judged by. Higher is better for these; lower for the others (losses and errors).
OBJECTIVES = ("auto", "loss", "roc_auc", "accuracy", "log_loss", "r2", "rmse", "mae", "f1_micro")
_HIGHER_IS_BETTER = {"roc_auc", "accuracy", "r2", "f1_micro"}
# The objective each kind of target is judged by under "auto": the quality benchmark's primary metrics.
_AUTO_OBJECTIVE = {"boolean": "roc_auc", "categorical": "accuracy", "numerical": "r2", "set": "f1_micro"}
# What each kind of target can be judged by (evaluate's metrics for it, and the validation loss).
_KIND_OBJECTIVES = {"boolean": {"roc_auc", "accuracy", "log_loss"}, "categorical": {"accuracy", "log_loss"},
                    "numerical": {"r2", "rmse", "mae"}, "set": {"f1_micro"}}
_RANGE_KEYS = ("min", "max", "sampling", "step")
_SAMPLINGS = ("linear", "log")
# The settings a fold's statistics (kinds, vocabularies, scales, the targets' encodings) depend on; the others
# (the optimizer, the body but its numerical embedding, training) change only the network and how it trains.
_NETWORK_ONLY = ("optimizer", "body", "training", "search", "autoencoder")
_STATISTICS_READ = {("body", "numerical_embedding"), ("training", "class_weight"), ("training", "imbalance_ratio")}
_BUDGET_UNITS = {"s": 1, "m": 60, "h": 3600}
# Seconds kept back for what follows the search besides the refit's training (building, tracing, the progress line).
REFIT_FIXED_S = 3.0
# How much longer than measured a refit may take (a fresh trace, a larger frame): the search stops earlier by this.
REFIT_MARGIN = 1.25


def import_keras_tuner():
    """KerasTuner, the optional extra `tune` needs."""
    try:
        import keras_tuner
    except ImportError as error:
        raise ImportError("Automater.tune searches with KerasTuner, an optional extra: pip install "
                          "'keras_defaults[tune]' (or pip install keras-tuner).") from error
    return keras_tuner


def parse_budget(value):
    """Seconds from a budget: a number of seconds, or a string such as '90s', '10m', '1.5h'; None for no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigTypeError(f"time_budget must be seconds (a number) or a string such as '90s', '10m' or '1h'. "
                              f"Received: {shown(value)}.")
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*", value.lower())
        if not match:
            raise ConfigError(f"time_budget must be a number of seconds or a string such as '90s', '10m' or '1h' "
                              f"(s, m or h). Received: time_budget={value!r}.")
        seconds = float(match.group(1)) * _BUDGET_UNITS[match.group(2) or "s"]
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"time_budget must be positive and finite. Received: time_budget={value!r}.")
    return seconds


def check_max_trials(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
        raise ConfigTypeError(f"max_trials must be a whole number of at least 1, or None (as many as the time "
                              f"budget allows). Received: max_trials={shown(value)}.")
    return None if value is None else int(value)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The `search` section but its space, read once per `tune`."""

    tuner: str
    initial_trials: int
    folds: int
    cross_validation_max_rows: int
    holdout: float
    objective: str
    significance: float

    @classmethod
    def from_config(cls, config):
        section = config.get("search")
        where = config.origin("search")
        if section["tuner"] not in TUNERS:
            raise ConfigError(f"Setting 'search.tuner' in {config.origin('search', 'tuner')}: "
                              + expected_one_of("tuner", section["tuner"], TUNERS))
        if section["objective"] not in OBJECTIVES:
            raise ConfigError(f"Setting 'search.objective' in {config.origin('search', 'objective')}: "
                              + expected_one_of("objective", section["objective"], OBJECTIVES))
        if section["folds"] < 2:
            raise ConfigError(f"Setting 'search.folds' in {where} must be at least 2 (cross-validation needs two "
                              f"folds). Received: {section['folds']}.")
        if not 0 < section["holdout"] < 1:
            raise ConfigError(f"Setting 'search.holdout' in {where} must be a fraction in (0, 1), e.g. 0.2. "
                              f"Received: {section['holdout']}.")
        if not 0 < section["significance"] <= 1:
            raise ConfigError(f"Setting 'search.significance' in {config.origin('search', 'significance')} must be "
                              f"a p-value in (0, 1], e.g. 0.1 (1: the best mean score wins). Received: "
                              f"{section['significance']}.")
        return cls(tuner=section["tuner"], initial_trials=section["initial_trials"], folds=section["folds"],
                   cross_validation_max_rows=section["cross_validation_max_rows"], holdout=section["holdout"],
                   objective=section["objective"], significance=float(section["significance"]))


# ---------------------------------------------------------------------------------------------------- the space
@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched setting: a list of values to choose from, or a range (min, max; linear or log sampling; a step)."""

    path: tuple
    choices: tuple = None
    low: float = None
    high: float = None
    sampling: str = "linear"
    step: float = None

    @property
    def name(self):
        return ".".join(self.path)

    @property
    def _encoded(self):
        # KerasTuner's choices are numbers, strings or booleans of one type; lists and mappings travel as JSON.
        kinds = {type(c) for c in self.choices}
        return not (len(kinds) == 1 and kinds <= {int, float, str, bool})

    def add_to(self, hyperparameters):
        """Declare this dimension in a KerasTuner `HyperParameters`."""
        if self.choices is not None:
            values = [json.dumps(c) for c in self.choices] if self._encoded else list(self.choices)
            hyperparameters.Choice(self.name, values)
        elif isinstance(self.low, int) and isinstance(self.high, int) and (self.step is None or isinstance(
                self.step, int)):
            hyperparameters.Int(self.name, self.low, self.high, step=self.step, sampling=self.sampling)
        else:
            hyperparameters.Float(self.name, float(self.low), float(self.high), step=self.step,
                                  sampling=self.sampling)

    def value(self, proposed):
        """The setting's value from what KerasTuner proposed."""
        if self.choices is not None and self._encoded:
            return json.loads(proposed)
        return proposed.item() if isinstance(proposed, np.generic) else proposed


def _nested(path, value):
    node = value
    for key in reversed(path):
        node = {key: node}
    return node


def overrides(dimensions, values):
    """A mapping with the shape of `defaults.yaml` that sets each dimension to its value in `values` (by name)."""
    merged = {}
    for dimension in dimensions:
        node = merged
        for key in dimension.path[:-1]:
            node = node.setdefault(key, {})
        node[dimension.path[-1]] = dimension.value(values[dimension.name])
    return merged


def _setting_path(name, builtin, where):
    """The setting a space entry names ('optimizer.learning_rate'), checked against the table."""
    if not isinstance(name, str) or not name:
        raise ConfigTypeError(f"The entries of 'search.space' in {where} are named by a setting's path, e.g. "
                              f"optimizer.learning_rate. Received: {shown(name)}.")
    path = tuple(name.split("."))
    node = builtin
    for depth, key in enumerate(path):
        if path[:depth] == ("optimizer",) and depth == 1:
            return path  # the optimizer's keyword arguments (weight_decay, momentum ...) are free-form
        if path[:1] in (("columns",), ("search",)):
            raise ConfigError(f"'search.space' in {where} cannot search '{name}': it searches the settings of the "
                              f"model and its training (optimizer, body, training, inputs, targets), not "
                              f"{path[0]}.")
        if not isinstance(node, dict) or key not in node or key in table.DOC_KEYS:
            known = [k for k in node if k not in table.DOC_KEYS] if isinstance(node, dict) else []
            prefix = ".".join(path[:depth])
            hint = did_you_mean(".".join(path[:depth] + (key,)), [".".join(path[:depth] + (k,)) for k in known])
            raise ConfigError(f"'search.space' in {where} names '{name}', which is not a setting.{hint} Known "
                              f"settings{' under ' + prefix if prefix else ''}: {', '.join(map(str, known))}.")
        node = node[key]
    if isinstance(node, dict) and path[-1] not in ("loss", "ordinal_loss"):
        raise ConfigError(f"'search.space' in {where} names '{name}', a section; name one of its settings, e.g. "
                          f"{name}.{next(iter(node), '...')}.")
    return path


def _dimension(name, entry, config, where, builtin):
    path = _setting_path(name, builtin, where)
    if not isinstance(entry, dict) or not entry:
        raise ConfigTypeError(f"'search.space.{name}' in {where} must be a mapping: {{values: [...]}} or {{min: ..., "
                              f"max: ..., sampling: log}}. Received: {shown(entry)}.")
    unknown = [k for k in entry if k not in ("values",) + _RANGE_KEYS]
    if unknown:
        raise ConfigError(f"Unknown key '{unknown[0]}' in 'search.space.{name}' in {where}."
                          f"{did_you_mean(unknown[0], ('values',) + _RANGE_KEYS)} Expected values (a list of choices), or min and max "
                          f"(with sampling and step).")
    if "values" in entry:
        if set(entry) != {"values"}:
            raise ConfigError(f"'search.space.{name}' in {where} gives both values and a range ({sorted(entry)}); "
                              f"give one of them.")
        choices = entry["values"]
        if not isinstance(choices, list) or not choices:
            raise ConfigTypeError(f"'search.space.{name}.values' in {where} must be a non-empty list. Received: "
                                  f"{shown(choices)}.")
        dimension = Dimension(path, choices=tuple(choices))
        tried = choices
    else:
        if "min" not in entry or "max" not in entry:
            raise ConfigError(f"'search.space.{name}' in {where} needs both min and max (or a list of values). "
                              f"Received: {shown(entry)}.")
        low, high = entry["min"], entry["max"]
        sampling, step = entry.get("sampling", "linear"), entry.get("step")
        for key, number in (("min", low), ("max", high), ("step", step)):
            if number is not None and (isinstance(number, bool) or not isinstance(number, (int, float))
                                       or not math.isfinite(number)):
                raise ConfigTypeError(f"'search.space.{name}.{key}' in {where} must be a finite number. Received: "
                                      f"{shown(number)}.")
        if sampling not in _SAMPLINGS:
            raise ConfigError(f"'search.space.{name}' in {where}: " + expected_one_of("sampling", sampling,
                                                                                       _SAMPLINGS))
        if not low < high:
            raise ConfigError(f"'search.space.{name}' in {where} needs min < max. Received: min={low}, max={high}.")
        if sampling == "log" and low <= 0:
            raise ConfigError(f"'search.space.{name}' in {where} samples on a log scale, so min must be positive. "
                              f"Received: min={low}.")
        if step is not None and step <= 0:
            raise ConfigError(f"'search.space.{name}.step' in {where} must be positive. Received: {step}.")
        dimension = Dimension(path, low=low, high=high, sampling=sampling, step=step)
        tried = [low, high]
    for value in tried:  # each value must be one the setting takes: the table's own checks say what is wrong
        try:
            config.merged(_nested(path, value), f"search.space.{name} in {where}")
        except (ConfigError, ConfigTypeError) as error:
            raise type(error)(f"'search.space.{name}' in {where} holds a value the setting does not take: "
                              f"{error}") from None
    return dimension


def space(config, target_kinds):
    """The searched dimensions, checked: each names a setting and holds values it takes. Entries set to null are not
    searched, nor those of `targets.<kind>` for a kind no target has (they would change nothing)."""
    entries = config.get("search", "space") or {}
    where = config.origin("search", "space")
    builtin = table.Config.builtin().data  # the settings a path may name (a user's columns are not among them)
    dimensions = []
    for name, entry in entries.items():
        if entry is None:
            continue
        dimension = _dimension(name, entry, config, config.origin("search", "space", name) if (
            "search", "space", name) in config.origins else where, builtin)
        if dimension.path[0] == "targets" and dimension.path[1] not in target_kinds:
            continue
        dimensions.append(dimension)
    return dimensions


def each_value(dimensions):
    """(dimension, overrides) for every value a dimension lists (a range: its ends), the others left as they are:
    what the model's own checks (an optimizer's arguments, a loss's name) see before any trial runs."""
    for dimension in dimensions:
        for value in dimension.choices if dimension.choices is not None else (dimension.low, dimension.high):
            yield dimension, _nested(dimension.path, value)


def hyperparameters(dimensions):
    """The KerasTuner search space of `dimensions`."""
    keras_tuner = import_keras_tuner()
    space_ = keras_tuner.HyperParameters()
    for dimension in dimensions:
        dimension.add_to(space_)
    return space_


def statistics_key(config):
    """What a fold's learned statistics depend on in `config`: trials with equal keys share them."""
    data = {k: v for k, v in config.data.items() if k not in _NETWORK_ONLY}
    data["read"] = {".".join(path): config.get(*path) for path in sorted(_STATISTICS_READ)}
    return json.dumps(data, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------------- judging
def objective(requested, target_kinds):
    """(name, higher is better) of the objective, checked against the targets' kinds."""
    if requested is None:
        requested = "auto"
    if requested not in OBJECTIVES:
        raise ConfigError(expected_one_of("objective", requested, OBJECTIVES))
    kinds = list(target_kinds.values())
    if requested == "auto":
        requested = _AUTO_OBJECTIVE[kinds[0]] if len(kinds) == 1 else "loss"
    if requested != "loss":
        for name, kind in target_kinds.items():
            if requested not in _KIND_OBJECTIVES[kind]:
                fits = sorted(_KIND_OBJECTIVES[kind]) + ["loss"]
                raise ConfigError(f"objective='{requested}' cannot judge target '{name}', a {kind} target. Use one "
                                  f"of {fits}, or 'auto'.")
    return requested, requested in _HIGHER_IS_BETTER


def score(name, metrics, history, target_names):
    """A trial's score on one fold: the validation loss at its best epoch, or the metric from `evaluate` (averaged
    over the targets when there are several)."""
    if name == "loss":
        return float(np.nanmin(history["val_loss"]))
    keys = [name] if len(target_names) == 1 else [f"{t}/{name}" for t in target_names]
    values = [metrics.get(key, float("nan")) for key in keys]
    return float(np.mean(values))


def best_epochs(history, restore_best_weights):
    """The epochs a refit on every row trains for: those early stopping chose on the fold."""
    losses = history.get("val_loss") or history.get("loss", [1])
    return int(np.nanargmin(losses)) + 1 if restore_best_weights else len(losses)


def folds(labels, stratified, settings, seed):
    """[(training rows, validation rows)]: k-fold up to `cross_validation_max_rows` rows, else one holdout; stratified
    on `labels` (the first target) when it is a classification target whose classes allow it."""
    rows = len(labels)
    values = pd.Series(labels).astype(str).to_numpy() if stratified else None
    counts = pd.Series(values).value_counts() if stratified else None
    if rows <= settings.cross_validation_max_rows:
        if stratified and counts.min() >= settings.folds:
            splitter = StratifiedKFold(settings.folds, shuffle=True, random_state=seed)
            return list(splitter.split(np.zeros(rows), values))
        return list(KFold(settings.folds, shuffle=True, random_state=seed).split(np.zeros(rows)))
    stratify = values if stratified and counts.min() >= 2 else None
    train, valid = train_test_split(np.arange(rows), test_size=settings.holdout, stratify=stratify,
                                    random_state=seed)
    return [(np.sort(train), np.sort(valid))]


def holdout_parts(rows, parts, seed):
    """One holdout's rows (positions 0..rows-1) in `parts` seeded parts: a configuration's score on each part is a
    sample of the holdout's noise, which a paired test of two configurations needs."""
    order = np.random.default_rng(seed).permutation(rows)
    return [np.sort(part) for part in np.array_split(order, parts)]


def improvement_p_value(given, proposed, higher_is_better, test_to_train=None):
    """The one-sided p-value that `proposed` scores better than `given`: a paired t-test over their scores on the
    same folds (or parts of one holdout). NaN when it cannot be computed (fewer than two scores, or a missing one).

    `test_to_train`: for k-fold cross-validation, each fold's held-out rows over its training rows. The folds share
    training rows, so their scores are correlated and the plain paired t-test is too eager: the variance is then
    corrected as Nadeau and Bengio (2003, "Inference for the generalization error") advise, by
    (1/k + test_to_train) in place of 1/k. None for parts of one holdout, scored by the same network."""
    differences = np.asarray(proposed, dtype=float) - np.asarray(given, dtype=float)
    if not higher_is_better:
        differences = -differences
    folds_ = len(differences)
    if folds_ < 2 or not np.isfinite(differences).all():
        return float("nan")
    mean, variance = float(differences.mean()), float(differences.var(ddof=1))
    if variance == 0:
        return 0.0 if mean > 0 else 1.0
    statistic = mean / math.sqrt((1 / folds_ + (test_to_train or 0.0)) * variance)
    return float(scipy.stats.t.sf(statistic, folds_ - 1))


def beats_the_given(p_value, significance):
    """Whether a proposal replaces the configuration as given: its improvement is beyond the folds' noise. A
    p-value that cannot be computed (one holdout judged by the validation loss, or a given configuration without a
    score) leaves the choice to the mean score."""
    return not math.isfinite(p_value) or p_value < significance


# ---------------------------------------------------------------------------------------------------- the clock
class Clock:
    """The time budget: when the search must end so that the refit of the best configuration still fits."""

    def __init__(self, budget, started=None):
        self.budget = budget
        self.started = time.monotonic() if started is None else started
        self.refit_estimate = 0.0

    def elapsed(self):
        return time.monotonic() - self.started

    def left(self):
        return None if self.budget is None else self.budget - self.elapsed()

    def search_deadline(self):
        """The monotonic time by which trials must stop (None without a budget)."""
        if self.budget is None:
            return None
        return self.started + self.budget - self.refit_estimate

    def room_for(self, trial_seconds):
        """Whether a trial expected to take `trial_seconds` ends before the search deadline."""
        deadline = self.search_deadline()
        return deadline is None or time.monotonic() + trial_seconds <= deadline


def refit_seconds(statistics_s, epoch_s, epochs, scale):
    """The expected time of the refit on every row: the statistics and the epochs measured on a fold's training rows,
    scaled by how many more rows the refit has."""
    return REFIT_MARGIN * scale * (statistics_s + epoch_s * epochs) + REFIT_FIXED_S


class DeadlineStop(keras.callbacks.Callback):
    """Stops training at the end of the epoch during which `deadline` (monotonic seconds) passed; `stopped` says so."""

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped = True
            self.model.stop_training = True


# ---------------------------------------------------------------------------------------------------- the search
class _SearchOver(Exception):
    """The budget ended a trial: the search is over (raised through KerasTuner as its FatalError)."""


def run_search(run_trial, dimensions, settings, objective_name, higher_is_better, max_trials, seed, should_stop,
               scores):
    """Let KerasTuner's oracle propose configurations until `max_trials` or `should_stop()`. `run_trial(values)`
    trains and judges one proposal: its score, NaN when it has none (it diverged), or None when the budget cut it
    short (which ends the search). `scores`: those of the trials so far (the given configuration's), the worst of
    which stands in for a missing one."""
    keras_tuner = import_keras_tuner()
    from sklearn.exceptions import ConvergenceWarning

    goal = keras_tuner.Objective(objective_name, direction="max" if higher_is_better else "min")
    space_ = hyperparameters(dimensions)
    # KerasTuner's oracles need a trial count; the clock ends a search with none earlier.
    trials = max_trials if max_trials is not None else 100_000
    if settings.tuner == "bayesian":
        oracle = keras_tuner.oracles.BayesianOptimizationOracle(
            objective=goal, max_trials=trials, num_initial_points=settings.initial_trials, hyperparameters=space_,
            seed=seed)
    else:
        oracle = keras_tuner.oracles.RandomSearchOracle(objective=goal, max_trials=trials, hyperparameters=space_,
                                                        seed=seed)
    finite = [v for v in scores if v is not None and math.isfinite(v)]

    class _Tuner(keras_tuner.Tuner):
        """Runs a trial with `run_trial` (ours trains per fold) instead of building a Keras model from a
        hypermodel; the oracle is KerasTuner's."""

        def run_trial(self, trial, *args, **kwargs):
            try:
                value = run_trial(dict(trial.hyperparameters.values))
            except Exception as error:
                # KerasTuner would record it and go on; a bad setting or bad data fails every trial: stop now.
                raise keras_tuner.errors.FatalError(str(error)) from error
            if value is None:
                raise keras_tuner.errors.FatalError("the time budget ran out") from _SearchOver()
            if not math.isfinite(value):
                if not finite:
                    raise keras_tuner.errors.FatalError("no trial has a score") from _SearchOver()
                # A trial that diverged: the oracle learns that this region is no better than the worst seen.
                value = min(finite) if higher_is_better else max(finite)
            finite.append(value)
            return {objective_name: value}

        def pre_create_trial(self):
            if should_stop():
                self.oracle.max_trials = len(self.oracle.trials)  # the oracle's own end: no trial is created

        def save_model(self, trial_id, model, step=0):
            """No model is saved per trial: the best configuration is refitted on every row."""

    with tempfile.TemporaryDirectory(prefix="keras_defaults_tune_") as directory, warnings.catch_warnings():
        # The Gaussian process's fit on a handful of trials often stops at a bound of its kernel: not the user's
        # concern.
        warnings.simplefilter("ignore", ConvergenceWarning)
        tuner = _Tuner(oracle, directory=directory, project_name="search", overwrite=True)
        try:
            tuner.search(verbose=0)
        except keras_tuner.errors.FatalError as error:
            if not isinstance(error.__cause__, _SearchOver):
                raise (error.__cause__ or error) from None


def results_frame(records, dimensions):
    """`tuning_results_`: a row per trial (the given configuration first): its settings, its mean held-out score and
    their standard deviation over the folds (NaN on one holdout), the one-sided p-value that it beats the given
    configuration (`improvement_p_value`), its epochs (early stopping's best, mean over the folds), seconds and
    status."""
    columns = ["trial"] + [d.name for d in dimensions] + ["score", "score_std", "p_value", "epochs", "seconds",
                                                          "status"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for dimension in dimensions:  # lists and mappings shown as their YAML would write them
        frame[dimension.name] = frame[dimension.name].map(
            lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    return frame


# ---------------------------------------------------------------------------------------------------- progress
def _clock_text(clock):
    left = clock.left()
    return "" if left is None else f"; {_duration(max(left, 0))} left"


def _duration(seconds):
    return str(datetime.timedelta(seconds=int(round(seconds))))


def _p_text(p_value, template):
    """`template` with the p-value in it, or nothing when there is none (trial 0, or no test possible)."""
    return template.format(f"{p_value:.2g}") if math.isfinite(p_value) else ""


def start_line(rows, split, objective_name, dimensions, settings, clock, max_trials):
    how = (f"{len(split)}-fold cross-validation" if len(split) > 1
           else f"a {settings.holdout:.0%} holdout ({len(split[0][1]):,} rows)")
    limits = [f"budget {_duration(clock.budget)}"] if clock.budget is not None else []
    limits += [f"at most {max_trials} trial(s)"] if max_trials is not None else []
    return (f"Tuning on {rows:,} rows: {len(dimensions)} setting(s) searched ({settings.tuner}), judged by "
            f"{objective_name} on {how}; {', '.join(limits)}. First, the configuration as given is fitted on all "
            f"rows: it is the model unless a trial beats it beyond the folds' noise (p < {settings.significance:g}).")


def trial_line(record, objective_name, best, clock):
    number = record["trial"]
    if record["status"] != "completed":
        return f"Trial {number}: {record['status']} ({record['seconds']:.0f} s){_clock_text(clock)}."
    best_text = f"best {best['score']:.4g} in trial {best['number']}" if best else "no best yet"
    versus = _p_text(record["p_value"], ", p={} that it beats trial 0")
    return (f"Trial {number}: {objective_name} {record['score']:.4g}{versus} ({best_text}), {record['epochs']} "
            f"epoch(s), {record['seconds']:.0f} s{_clock_text(clock)}.")


def final_line(best, records, objective_name, rows, significance, kept=False):
    completed = sum(r["status"] == "completed" for r in records)
    if not best:
        return f"No trial finished; the configuration as given, fitted on all {rows:,} rows, is the model."
    if best["number"] == 0:
        return (f"{completed} trial(s) finished; none beat the configuration as given ({objective_name} "
                f"{best['score']:.4g}) beyond the folds' noise (p < {significance:g}): its fit on all {rows:,} rows "
                f"is the model.")
    then = ("Its network, trained on the holdout's training rows, is the model." if kept
            else f"Fitting it on all {rows:,} rows.")
    versus = _p_text(records[best["number"]]["p_value"], "; p={}")
    return (f"{completed} trial(s) finished; the best is trial {best['number']} ({objective_name} {best['score']:.4g}"
            f", the configuration as given {records[0]['score']:.4g}{versus}). {then}")
