"""The Automater: a DataFrame and a target name in; a trained, explained, exportable Keras model out.

It is the one orchestrator: it resolves the configuration, has the columns and targets learned, builds and trains
the model, and owns every `*_` attribute. The modules it calls take explicit arguments and return values.
"""

import contextlib
import dataclasses
import inspect
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from keras_defaults import defaults as table
from keras_defaults import arrow, autoencoder, codes, distribute, feeding, frames, importance, intervals, profile_check
from keras_defaults import progress, scoring, tuning
from keras_defaults import sources
from keras_defaults import summaries
from keras_defaults.averaging import weight_average
from keras_defaults.columns import ColumnSpec, learn_inputs, raw_tensors, set_aside_empty
from keras_defaults.encoders import as_tensor
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, NotFittedError, UnsafeFileError
from keras_defaults.errors import expected_one_of, shown, warn
from keras_defaults.export import file_digest, recover_set_aside, replace_dir, staging_dir
from keras_defaults.model import body_for_reconstruction, build_network, build_preprocessor, settings_for_rows
from keras_defaults.model import build_served_model
from keras_defaults.model import check_model_config
from keras_defaults.model import compile_model, functional, make_optimizer, output_key, raw_inputs_like
from keras_defaults.save_files import MODEL_FILE, STATE_FILE, is_save_folder
from keras_defaults.schema import python_value, treats_as_numbers
from keras_defaults.state_file import FORMAT_VERSION, read_state
from keras_defaults.layers import ServedModel
from keras_defaults.targets import TargetSpec, check_balance, check_class_weight, fit_target, present_values
from keras_defaults.targets import row_weights, sample_weights, weight_profile

_PREDICT_BATCH = 8192
# What training learns beyond the columns and targets: a `prepare` that learns new columns drops it, as the model no
# longer matches them.
# What `tune` learns besides a fit's state: a plain `fit` drops it.
_TUNING_STATE = ("tuning_results_", "best_score_")
_TRAINED_STATE = ("network_", "model_", "history_", "refit_epochs_", "feeding_", "loss_scales_") + _TUNING_STATE
# Folds' learned statistics (and their encoded rows) kept at once while tuning: trials whose settings change the
# statistics (a numerical embedding, a target's loss) get their own; the oldest go first.
_TUNING_LEARNERS = 6
# An autoencoder's typical loss per column is measured on at most this many training rows (a seeded sample).
_SCALE_ROWS = 20_000


class Automater:
    """Infer column kinds, pick defaults from `defaults.yaml`, build, train and export a Keras model.

    Args:
        target: the column to predict, or a list of columns (one output head each). None: no target; an
            autoencoder rebuilds each row through a narrow embedding (see `embed` and `anomaly_score`), with a head
            per number, category, boolean and set column, its loss its kind's (`targets` and `autoencoder` in
            `defaults.yaml`).
        config: a YAML file path (or a list of paths, merged in order), or a mapping of settings, deep-merged over
            the built-in `defaults.yaml`.
        column_types: `{column: kind}` to force a column's kind: numerical, categorical, boolean, text, datetime,
            set or ignore.
        overrides: a mapping of settings with the shape of `defaults.yaml`; it takes precedence over files.
        seed: makes a fit repeatable on CPU.
        verbose: what `fit` prints. "auto" or 1: a line per phase (statistics, encoding, training), the training
            line a single progress line over the epochs (plain lines, no "\\r", when stdout is not a terminal); 2 or
            "epoch": the phase lines, then Keras's own line per epoch; 0: nothing.

    After `fit`, learned state lives in attributes ending in `_`: `config_` (the merged settings), `inputs_` and
    `ignored_` (the columns used and set aside, `ColumnSpec`s), `targets_` (`TargetSpec`s), `preprocessor_`,
    `network_`, `model_`, `history_` (the training curves of the fit that early stopping watched) and
    `refit_epochs_` (when the network was then trained on all the rows: for how many epochs; else None). `model`
    is the trained `keras.Model`. An autoencoder's `targets_` are the columns it rebuilds, and `loss_scales_` their
    mean loss on training rows (by which `anomaly_score` divides).
    """

    def __init__(self, target, config=None, column_types=None, overrides=None, seed=None, verbose="auto"):
        self.target = target
        self.config = config
        self.column_types = column_types
        self.overrides = overrides
        self.seed = seed
        self.verbose = verbose

    # ------------------------------------------------------------------ configuration
    @property
    def targets(self):
        """The target columns: [] for an autoencoder (target=None), whose outputs rebuild input columns."""
        if self.target is None:
            return []
        names = [self.target] if isinstance(self.target, str) else list(self.target) if isinstance(
            self.target, (list, tuple)) else []
        if not names or not all(isinstance(n, str) for n in names):
            raise ConfigTypeError(f"target must be a column name, a list of column names, or None (an autoencoder: "
                                  f"no target). Received: {self.target!r}.")
        return names

    @property
    def reconstructs(self):
        """Whether this is an autoencoder (target=None): its heads rebuild the input columns."""
        return self.target is None

    def _one_or_all(self, results):
        """`results` by target (a DataFrame's columns, or a dict): the one target's alone when there is exactly one
        (a Series or one table), else all of them (always so for an autoencoder, which has no target)."""
        return results[self.targets[0]] if len(self.targets) == 1 else results

    def _check_supervised(self, what, instead):
        if self.reconstructs:
            raise DataError(f"{what} needs a target, and this Automater is an autoencoder (target=None). {instead}")

    def _config_layers(self):
        """The user's layers in precedence order: files, then keyword arguments (see defaults.py)."""
        layers = []
        given = self.config if isinstance(self.config, (list, tuple)) else [self.config]
        for source in given:
            if source is None:
                continue
            if isinstance(source, dict):
                layers.append((table.MAPPING_SOURCE, source))
            elif isinstance(source, (str, os.PathLike)):
                layers.append((table.file_source(source), table.read_yaml(source)))
            else:
                raise ConfigTypeError(f"config must be a YAML file path, a list of paths or a mapping. Received: "
                                      f"{type(source).__name__}.")
        if self.overrides:
            layers.append((table.argument_source("overrides="), self.overrides))
        if self.column_types:
            if not isinstance(self.column_types, dict):
                raise ConfigTypeError(f"column_types must map column names to kinds. Received: "
                                      f"{self.column_types!r}.")
            layers.append((table.argument_source("column_types="),
                           {"columns": {c: {"kind": k} for c, k in self.column_types.items()}}))
        return layers

    def _resolve_config(self, extra=None, tuned=None):
        """The merged, validated configuration: built once per `prepare` or `fit`. `tuned`: the settings `tune`
        chose, over the user's layers and under `fit`'s keyword arguments."""
        layers = self._config_layers()
        if tuned:
            layers.append((tuning.TUNING_SOURCE, tuned))
        if extra:
            layers.append((table.argument_source("fit()"), extra))
        return table.Config.build(layers)

    def _check_seed(self):
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))
                                      or not 0 <= self.seed < 2 ** 32):
            raise ConfigTypeError(f"seed must be a whole number from 0 to 2**32 - 1, or None. Received: "
                                  f"{self.seed!r}.")

    @property
    def _seed(self):
        self._check_seed()
        return int(self.seed) if self.seed is not None else 0

    # ------------------------------------------------------------------ learned state, by column
    @property
    def profiles_(self):
        """{column: ColumnProfile} of every column but the targets: kind, evidence, dtype (used ones first)."""
        return {name: spec.profile for name, spec in {**self.inputs_, **self.ignored_}.items()}

    @property
    def input_states_(self):
        """{column: fitted statistics} of the columns the model uses."""
        return {name: spec.state for name, spec in self.inputs_.items()}

    @property
    def input_settings_(self):
        """{column: settings from the defaults table} of the columns the model uses."""
        return {name: spec.settings for name, spec in self.inputs_.items()}

    # ------------------------------------------------------------------ learning
    def prepare(self, df):
        """Learn column kinds and encoder statistics from `df` (or from files, as `fit` reads them) without
        training; returns self. A model trained before is dropped: it does not match the columns learned now."""
        config = self._resolve_config()
        self._check_seed()  # before the data is read, as the settings are
        check_model_config(config)  # before the data is read: a typo fails fast
        with all_or_nothing(self):
            self._learn(arrow.to_pandas(df, "the training data"), config, _weight_column(config, None))
            for name in _TRAINED_STATE:
                vars(self).pop(name, None)
        return self

    def _learn(self, source, config, weight_column=None):
        """Learn kinds and statistics from a DataFrame, or from files in one streaming pass; set `config_`,
        `inputs_`, `ignored_`, `targets_` and `preprocessor_`. Returns the training data: the checked frame, or the
        files with their rows counted."""
        if sources.is_file_source(source):
            if weight_column is not None:
                raise DataError(f"sample_weight='{weight_column}' names a column of a DataFrame in memory; rows read "
                                f"from files are not weighted. Load the rows into a DataFrame to weigh them.")
            categorical = {c for c, e in config.get("columns").items() if e.get("kind") == "categorical"}
            summary = summaries.summarise(source, self.targets, categorical, self._seed)
            _, inputs, ignored, targets = self._learn_frame(summary.sample, config)
            inputs, ignored = summaries.correct_inputs(inputs, ignored, summary)
            targets, data, rows = summaries.correct_targets(targets, summary), summary.files, summary.sample
        else:
            data, inputs, ignored, targets = self._learn_frame(source, config, weight_column)
            rows = data
        inputs, ignored = set_aside_empty(inputs, ignored)
        if self.reconstructs:  # the inputs as they are final; from files, a label outside the sample is not scored
            targets = autoencoder.reconstruction_targets(rows, inputs, config)
            config = body_for_reconstruction(config)
        else:  # the settings by rows were measured on predicted targets; an autoencoder's are fixed
            config = settings_for_rows(config, data.rows if isinstance(data, sources.Files) else len(data))
        self._said = set()  # predict's once-only warnings describe a training profile: a new one starts afresh
        self.config_, self.inputs_, self.ignored_, self.targets_ = config, inputs, ignored, targets
        self.preprocessor_ = build_preprocessor(inputs, numbers=config.get("body", "numerical_embedding") != "none")
        return data

    def _learn_frame(self, df, config, weight_column=None):
        """Check a training frame, then fit its targets and input columns: (frame, inputs, ignored, targets). The
        weight column, when there is one, is set aside: it weighs rows and is not an input."""
        targets = self.targets
        frame = frames.as_frame(df, "the training data")
        frames.check_targets(frame, targets)
        if weight_column is not None:
            frames.check_weight_column(frame, weight_column, targets)
        frame = frames.drop_missing_targets(frame, targets)
        frames.check_rows(frame, targets, config.get("training", "validation_split"))
        unknown = [c for c in config.get("columns") if c not in frame.columns]
        if unknown:
            c = unknown[0]
            raise ConfigError(f"The {config.origin('columns', c)} names '{c}', which is not in the DataFrame."
                              f"{table.did_you_mean(c, frame.columns)} Columns: {list(frame.columns)[:20]}.")
        forced = {c: e["kind"] for c, e in config.get("columns").items() if "kind" in e}
        target_specs = {name: fit_target(frame[name], name, config, forced.get(name)) for name in targets}
        check_balance(frame, target_specs, table.Training.from_config(config))
        frame = frames.non_finite_as_missing(frame, [c for c in frame.columns if c not in targets
                                                     and treats_as_numbers(forced.get(c))])
        inputs, ignored = learn_inputs(frame, config, forced, targets + ([weight_column] if weight_column else []),
                                       codes.target_matrix(frame, target_specs))
        if weight_column is not None:
            ignored[weight_column] = ColumnSpec(weight_column, weight_profile(frame[weight_column], weight_column))
        frames.warn_leaks(frame, targets, list(inputs))
        return frame, inputs, ignored, target_specs

    def _validation_frame(self, df):
        """`fit(validation_data=...)` checked as predict checks a frame, with a value in every target that the
        training rows know."""
        df = arrow.to_pandas(df, "validation_data")
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"Expected a DataFrame (pandas, polars, or a pyarrow Table) as validation_data, with "
                            f"the columns of the training frame, targets included. Received: {type(df).__name__}.")
        frame = frames.as_frame(df, "validation_data", strict=False)
        frames.check_targets(frame, self.targets, "validation_data")
        frame = frames.drop_missing_targets(frame, self.targets)
        self._said = set()
        profile_check.check(frame, self.inputs_, self.ignored_, self.targets, self._said)
        self._check_known_labels(frame, "validation_data")
        return frame

    def _check_known_labels(self, frame, what):
        for name, target in self.targets_.items():
            if target.predicts_classes and not target.masked:  # an autoencoder leaves unknown labels out of its loss
                unknown = sorted({python_value(v) for v in frame[name]} - set(target.classes), key=str)
                if unknown:
                    raise DataError(f"{what}'s target '{name}' holds label(s) {unknown[:5]} that no training row "
                                    f"has; the model cannot predict them. Drop those rows, or train on rows that "
                                    f"have them.")

    def _row_weights(self, df, data, training, sample_weight, class_weight):
        """{target: weight per training row} from sample_weight=, class_weight= and training.class_weight, or None."""
        if isinstance(data, sources.Files):
            if sample_weight is not None or isinstance(class_weight, dict):
                raise DataError("sample_weight= and a class_weight mapping weigh the rows of a DataFrame in memory; "
                                "rows read from files are not weighted. Load the rows into a DataFrame to weigh them.")
            return None
        if isinstance(sample_weight, str):
            rows = row_weights(data[sample_weight], len(data), f"Column '{sample_weight}' (sample_weight=)")
        elif sample_weight is not None:
            # One weight per row of df as given; the rows whose target is missing were dropped from data.
            rows = row_weights(sample_weight, len(df), "sample_weight=")[frames.rows_with_targets(df, self.targets)]
        else:
            rows = None
        given = None if class_weight is None or isinstance(class_weight, str) else check_class_weight(
            class_weight, self.targets_)
        return sample_weights(data, self.targets_, training, rows, given)

    def build_model(self, body=None):
        """The compiled, untrained model: raw columns in, predictions in the user's units out.

        `body`, a callable from the encoded feature tensor to a hidden tensor, replaces the default MLP: a custom
        body between the automatic inputs and heads. Needs `prepare(df)` (or `fit`) first.

        The Automater then predicts, evaluates, explains, saves and exports with this model: train it yourself
        with `model.fit(auto.dataset(df), ...)` (any Keras loop, callbacks or distribution), and `auto.predict`,
        `auto.save` and `auto.export` serve what you trained.
        """
        self._check_prepared()
        self._check_supervised("build_model()", "Its losses read labels that carry a mask of the missing values, "
                               "which fit() builds: train it with fit(df).")
        _check_body(body)
        network, served = self._build(body)
        self.network_, self.model_ = network, served
        self.history_, self.refit_epochs_ = {}, None
        return served

    def inputs(self, df):
        """The model's inputs for the rows of `df`: {column: tensor} of raw values, checked against the training
        profile as `predict` checks them. `auto.model(auto.inputs(df))` is what `predict` runs."""
        self._check_prepared()
        return self._checked_tensors(frames.as_frame(arrow.to_pandas(df, "the data"), "the data", strict=False))

    def dataset(self, df, batch_size=None, shuffle=False, sample_weight=None):
        """A `tf.data.Dataset` of (inputs, labels) batches from the rows of `df`, to train the model of
        `build_model` (or `auto.model`) with your own `model.fit` or training loop.

        Inputs are `inputs(df)`; labels, {target: array}, are what the model outputs: class codes (or one-hot rows)
        for a class target, the target in your units for a number. Rows whose target is missing are dropped, as in
        `fit`. `batch_size` defaults to `training.batch_size`; `shuffle` reshuffles the rows every epoch;
        `sample_weight` (a column name or one weight per row) adds a third element, the rows' weights.
        """
        self._check_prepared()
        self._check_supervised("dataset()", "Its labels carry a mask of the missing values, which fit() builds: "
                               "train it with fit(df), or give a target to train a model of your own.")
        frame = frames.as_frame(arrow.to_pandas(df, "the data"), "the data", strict=False)
        frames.check_targets(frame, self.targets, "dataset")
        if isinstance(sample_weight, str):
            frames.check_weight_column(frame, sample_weight, self.targets)
            weights = row_weights(frame[sample_weight], len(frame), f"Column '{sample_weight}' (sample_weight=)")
        elif sample_weight is not None:
            weights = row_weights(sample_weight, len(frame), "sample_weight=")
        kept = frames.rows_with_targets(frame, self.targets)
        frame = frames.drop_missing_targets(frame, self.targets)
        self._check_known_labels(frame, "the data")
        parts = (self._checked_tensors(frame), {name: target.served_labels(frame[name]) for name, target in
                                      self.targets_.items()})
        if sample_weight is not None:
            parts += (weights[kept],)
        dataset = tf.data.Dataset.from_tensor_slices(parts)
        if shuffle:
            dataset = dataset.shuffle(len(frame), seed=self.seed, reshuffle_each_iteration=True)
        batch_size = batch_size or self.config_.get("training", "batch_size")
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def _build(self, body=None):
        """The network (encoded features -> heads) and the served model (raw columns -> predictions), the served
        one compiled with an optimizer of its own, never stepped. An autoencoder's body is its encoder (`body`, or the
        MLP), the embedding and the decoder."""
        if self.reconstructs:
            body = autoencoder.body(self.config_.get("body"), autoencoder.embedding_width(self.config_, self.targets_),
                                    body)
        network = build_network(self.preprocessor_, self.inputs_, self.targets_, self.config_.get("body"), body)
        served = build_served_model(self.preprocessor_, network, self.targets_)
        compile_model(served, self.targets_, make_optimizer(self.config_.get("optimizer")))
        return network, served

    def _trainable(self, body, strategy, optimizer, epoch_metrics):
        """A fresh network compiled with `optimizer` under `strategy`, and its served model. The network computes the
        targets' metrics on every batch only with `epoch_metrics` (`training.epoch_metrics`): training reads the
        losses alone, and the served model is compiled with the metrics either way."""
        with distribute.scope(strategy):
            network, served = self._build(body)
            compile_model(network, self.targets_, optimizer, metrics=epoch_metrics)
        distribute.prepare_network(network, strategy)
        return network, served

    def fit(self, df, *, epochs=None, batch_size=None, body=None, distribution=None, validation_data=None,
            sample_weight=None, class_weight=None, callbacks=None):
        """Learn kinds and statistics from `df`, then build and train the model; returns self.

        `df` is a DataFrame (pandas, polars or pyarrow; see `arrow`), or data files streamed in chunks: a
        CSV/Parquet path, a glob such as "data/*.parquet", a directory, or a list of those. `distribution`
        ("mirrored" or "multi_worker") trains on several devices or machines; it is `training.distribution` in YAML.

        As in Keras's `fit`:
            validation_data: a DataFrame with the same columns, targets included. Its rows decide when to stop,
                in place of the random split of `df` (`training.validation_split`), and are never trained on: every
                row of `df` trains the network, and there is no refit.
            sample_weight: a column of `df` (by name; it is then not an input) or one weight per row (array-like,
                in `df`'s order): how much each row counts in the loss. Weights multiply the class weights.
            class_weight: a mapping from the target's class labels to weights ({label: weight}; with several
                classification targets, {target: {label: weight}}); a label left out weighs 1. Or "balanced",
                "auto" or "none", as `training.class_weight` in YAML.
            callbacks: Keras callbacks (TensorBoard, CSVLogger, your own), run alongside early stopping in every
                `fit` of the network: the first, and the refit when there is one. Their `model` is the network that
                trains on encoded features; `auto.model` serves raw columns once `fit` returns.
        """
        # All or nothing: the new columns, targets and model replace the old ones only once all of them are learned.
        with all_or_nothing(self):
            self._fit(df, epochs=epochs, batch_size=batch_size, body=body, distribution=distribution,
                      validation_data=validation_data, sample_weight=sample_weight, class_weight=class_weight,
                      callbacks=callbacks)
        return self

    def _fit(self, df, *, epochs, batch_size, body, distribution, validation_data, sample_weight, class_weight,
             callbacks, tuned=None, deadline=None):
        """`fit`'s steps, which set the learned state attribute by attribute (`fit` undoes them if one fails).
        `tuned`: the settings a search chose, and `deadline` (monotonic seconds) the end of its time budget (from
        `tune`). Returns whether the deadline cut the training short."""
        mode = progress.output_mode(self.verbose)  # a wrong value fails before anything runs
        if tuned is None:  # a plain fit: what an earlier search found no longer describes the model
            for name in _TUNING_STATE:
                vars(self).pop(name, None)
        if self.seed is not None:
            keras.utils.set_random_seed(self._seed)
        callbacks = _check_callbacks(callbacks)
        _check_body(body)
        given = (("epochs", epochs), ("batch_size", batch_size), ("distribution", distribution),
                 ("class_weight", class_weight if isinstance(class_weight, str) else None))
        extra = {"training": {k: v for k, v in given if v is not None}}
        if validation_data is not None:
            # The given rows replace the split; no row of df is held out, so no refit is needed to learn from it.
            extra["training"].update(validation_split=0.0, refit=False)
        config = self._resolve_config(extra if extra["training"] else None, tuned)
        training = table.Training.from_config(config)
        if self.reconstructs:
            if class_weight is not None and not (isinstance(class_weight, str) and class_weight == "none"):
                raise ConfigError(f"class_weight weighs a target's classes; an autoencoder (target=None) has no "
                                  f"target. Received: class_weight={class_weight!r}. Use sample_weight= to weigh "
                                  f"rows.")
            autoencoder.check_no_targets_used(config)
            training = dataclasses.replace(training, class_weight="none")
        # Created before anything else runs in TensorFlow, as a multi-worker strategy requires.
        strategy = distribute.strategy(training.distribution)
        with distribute.scope(strategy):
            optimizer = check_model_config(config)  # the network's optimizer, checked before the data is read
        weight_column = _weight_column(config, sample_weight)
        df = arrow.to_pandas(df, "the training data")
        started = time.monotonic()
        data = self._learn(df, config, weight_column)
        # The batch size and the validation split may depend on the rows (training.small_data_batch_size,
        # small_data_validation_split), known only now.
        training = dataclasses.replace(training, batch_size=self.config_.get("training", "batch_size"),
                                       validation_split=self.config_.get("training", "validation_split"))
        rows = data.rows if isinstance(data, sources.Files) else len(data)
        if mode != progress.SILENT:
            progress.say(progress.statistics_line(self.inputs_, self.ignored_, self.targets_, rows,
                                                  time.monotonic() - started, rebuilds=self.reconstructs))
        validation = None if validation_data is None else self._validation_frame(validation_data)
        weights = self._row_weights(df, data, training, weight_column or sample_weight, class_weight)
        feeder = feeding.Feeder(data, self.inputs_, self.targets_, self.preprocessor_, training, weights, validation)
        cut = self._train(feeder, training, body, strategy, optimizer, callbacks, mode, rows, deadline)
        if self.reconstructs:
            self.loss_scales_ = self._measure_loss_scales(df)
        return cut

    def _train(self, feeder, training, body, strategy, optimizer, callbacks, mode, rows, deadline=None):
        """Build a fresh network and train it on `feeder`'s rows: early stopping on its validation rows, then a
        refit on every row when `training` asks for one. Sets `feeding_`, `history_`, the targets' calibration,
        `refit_epochs_`, `network_` and `model_`. The learned columns and targets must be set.

        `deadline` (monotonic seconds; `tune`'s budget): training stops at the end of the epoch during which it
        passes (early stopping's best weights restored), and the refit is left out when it would not end before it.
        Returns whether the deadline cut the training short: stopped it, or left out the refit."""
        network, served = self._trainable(body, strategy, optimizer, training.epoch_metrics)
        initial_state = _variable_values(network)
        self.feeding_ = feeder.feeding
        started = time.monotonic()
        arguments = feeder.arguments(training, self._seed)  # encodes the rows, when they are cached
        if mode != progress.SILENT:
            progress.say(progress.encoding_line(feeder.feeding, rows, feeding.encoded_width(self.preprocessor_),
                                                time.monotonic() - started))
        stopping = []
        if arguments["validation_data"] is not None:
            stopping.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=training.patience,
                                                          restore_best_weights=training.restore_best_weights))
            if training.reduce_lr_patience:
                stopping.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=training.reduce_lr_factor,
                                                                  patience=training.reduce_lr_patience, verbose=0))
        shown = _progress_line(mode, "training", stopping[0] if stopping else None)
        clock = tuning.DeadlineStop(deadline)
        started = time.monotonic()
        history = _fit_network(network, arguments, training.epochs, stopping + callbacks + [clock], shown, mode)
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        epoch_seconds = (time.monotonic() - started) / max(len(self.history_.get("loss", [])), 1)
        # The validation rows' errors, before a refit learns from them: the calibration of prediction intervals.
        calibration = {} if self.reconstructs else intervals.calibrate(
            network, arguments["validation_data"], arguments.get("validation_steps"), self.targets_)
        self.targets_ = {name: dataclasses.replace(target, state={**target.state, "calibration": calibration[name]})
                         if name in calibration else target for name, target in self.targets_.items()}
        self.refit_epochs_ = feeding.refit_epochs(training, self.history_, rows)
        cut = clock.stopped
        if self.refit_epochs_ and deadline is not None and time.monotonic() + epoch_seconds * self.refit_epochs_ / (
                1 - training.validation_split) > deadline:
            if mode != progress.SILENT:
                progress.say(f"No refit on all {rows:,} rows: it would not end within the time budget; the network "
                             f"that early stopping chose is kept.")
            self.refit_epochs_ = None
            cut = True
        if self.refit_epochs_:
            # The validation rows chose the epochs; now the network learns from every row for that many (or the
            # fraction `refit_fraction` of them). A fresh one (`refit_start: fresh`) is the same network set back to
            # its initial state (weights, optimizer, random seeds), which keeps its traced training function: tracing
            # again costs more than the refit on small tables. `stopped` trains on from where early stopping left it.
            if self.seed is not None:
                keras.utils.set_random_seed(self.seed)
            if training.refit_start == "fresh":
                _assign_variable_values(network, initial_state)
            # The features encoded for the first fit, when cached, serve again.
            arguments = feeder.arguments(dataclasses.replace(training, validation_split=0.0), self._seed)
            if mode == progress.EPOCHS:
                epochs = progress.count(self.refit_epochs_, "epoch")
                progress.say(f"Refitting on all {rows:,} rows for {epochs} (the best epoch above).")
            shown = _progress_line(mode, f"refit on all {rows:,} rows")
            # Averaging, when asked for, ends the refit before the user's callbacks end theirs: what they see at
            # the end of training (a checkpoint, say) is the model.
            averaging = weight_average(self.refit_epochs_, training.refit_average)
            _fit_network(network, arguments, self.refit_epochs_, averaging + callbacks, shown, mode)
        self.network_ = network
        self.model_ = served
        return cut

    # ------------------------------------------------------------------ tuning
    def tune(self, df, time_budget="10m", max_trials=None, objective=None):
        """Fit the configuration as given, search beyond it, and keep a configuration that beats it; returns self.

        First the configuration as given (the defaults and your overrides) is fitted on every row of `df`, as `fit`
        would: it is the model unless the search finds better. KerasTuner (the optional extra `keras_defaults[tune]`)
        then proposes settings from `search.space` in `defaults.yaml` (override it in your YAML, as any setting).
        Each configuration, the given one first, is trained on the training rows of the folds (`search.folds`-fold
        cross-validation up to `search.cross_validation_max_rows` rows, else one seeded holdout of `search.holdout`)
        and scored on their held-out rows; each fold's statistics are learned once, not once per trial. A proposal
        replaces the given configuration only when it beats it beyond the folds' noise (a paired test over the folds,
        p below `search.significance`); the best of those is then fitted on every row of `df` as `fit` would.

        Args:
            df: a DataFrame (pandas, polars or pyarrow) with the target column(s). Keep the rows you will evaluate on
                out of it: the search judges on held-out rows of its own.
            time_budget: seconds (a number) or a string such as "90s", "10m" or "1h", for the whole call, both fits
                included: the search stops when the time left is what the winner's fit is expected to take, and a
                winner whose fit would not end in time is not fitted (the given configuration stays). None: no limit
                (then give max_trials).
            max_trials: the most configurations to try, the given one included; None: as many as the budget allows.
                A search is repeatable with a seed and a trial count: how many trials a budget allows depends on the
                machine.
            objective: what a configuration is judged by: "auto" (`search.objective`; ROC-AUC for a boolean target,
                accuracy for a category, R^2 for a number, micro F1 for a set, the validation loss with several
                targets), or "loss", "roc_auc", "accuracy", "log_loss", "r2", "rmse", "mae", "f1_micro".

        Afterwards `config_` is the chosen configuration (`explain()` shows "tuning" as the origin of the settings
        the search set), `tuning_results_` a DataFrame with a row per trial (its settings, mean held-out score and
        its standard deviation over the folds, the p-value that it beats the given configuration, epochs, seconds
        and status), and `best_score_` the chosen configuration's score; the model predicts, explains, saves and
        exports as after `fit`.
        """
        with all_or_nothing(self):
            self._tune(df, time_budget, max_trials, objective)
        return self

    def _tune(self, df, time_budget, max_trials, objective):
        clock = tuning.Clock(tuning.parse_budget(time_budget))
        max_trials = tuning.check_max_trials(max_trials)
        if clock.budget is None and max_trials is None:
            raise ConfigError("tune needs a time_budget (e.g. '10m'), max_trials, or both: with neither the search "
                              "would not end. Received: time_budget=None, max_trials=None.")
        self._check_supervised("tune", "Fit it with fit(df).")
        mode = progress.output_mode(self.verbose)
        config = self._resolve_config()
        check_model_config(config)
        settings = tuning.Settings.from_config(config)
        tuning.import_keras_tuner()  # the optional extra: said before the data is read
        df = arrow.to_pandas(df, "the training data")
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"tune needs a DataFrame in memory (pandas, polars or a pyarrow Table): its folds are "
                            f"rows of it. Received: {type(df).__name__}. Read files into a DataFrame first.")
        if self.seed is not None:
            keras.utils.set_random_seed(self._seed)
        weight_column = _weight_column(config, None)
        frame = frames.as_frame(df, "the training data")
        frames.check_targets(frame, self.targets)
        frame = frames.drop_missing_targets(frame, self.targets)
        forced = {c: e["kind"] for c, e in config.get("columns").items() if "kind" in e}
        specs = {name: fit_target(frame[name], name, config, forced.get(name)) for name in self.targets}
        kinds = {name: spec.kind for name, spec in specs.items()}
        objective_name, higher = tuning.objective(objective if objective is not None else settings.objective, kinds)
        dimensions = tuning.space(config, set(kinds.values()))
        for dimension, values in tuning.each_value(dimensions):  # a typo fails now, not in the middle of the search
            check_model_config(config.merged(values, f"search.space.{dimension.name}"))
        split = tuning.folds(frame[self.targets[0]].to_numpy(), specs[self.targets[0]].predicts_classes, settings,
                              self._seed)
        given_training = table.Training.from_config(config)
        strategy = distribute.strategy(given_training.distribution)
        # On one holdout, a trial trains as the final fit's first fit would (early stopping on a fifth of the rows):
        # where the settings leave out the refit on every row (large frames), the best trial's network is the model.
        holdout = len(split) == 1
        adopt = holdout and not _refits(given_training, len(frame))
        # What a paired test of two configurations compares: the folds' scores, or those of seeded parts of the one
        # holdout (scored by the same network; the validation loss is one number per fold, so it has no parts).
        parts = (tuning.holdout_parts(len(split[0][1]), settings.folds, self._seed)
                 if holdout and objective_name != "loss" else None)
        test_to_train = None if holdout else float(np.mean([len(v) / len(t) for t, v in split]))
        deadline = None if clock.budget is None else clock.started + clock.budget
        learners = {}
        records = []
        best = {}

        def learner_for(fold, trial_config):
            key = (fold, tuning.statistics_key(trial_config))
            if key not in learners:
                if len(learners) >= _TUNING_LEARNERS:
                    learners.pop(next(iter(learners)))
                learners[key] = self._fold_learner(frame, split[fold], trial_config, weight_column, quiet=True)
            return learners[key]

        def shown_values(values):
            return {d.name: (d.value(values[d.name]) if values else _setting_or_none(config, d.path))
                    for d in dimensions}

        def run(values):
            number = len(records)
            trial_config = config.merged(tuning.overrides(dimensions, values), tuning.TUNING_SOURCE) if values else (
                config)
            # The width the final fit on every row will have, so that the trial measures the network it stands for.
            trial_config = settings_for_rows(trial_config, len(frame))
            started = time.monotonic()
            folds_run = []
            for fold in range(len(split)):
                learner = learner_for(fold, trial_config)
                folds_run.append(self._trial_fold(learner, trial_config, strategy, clock.search_deadline(),
                                                  objective_name, parts))
                if folds_run[-1] is None:
                    break
            seconds = time.monotonic() - started
            finished = all(result is not None for result in folds_run)
            score = float(np.mean([r["score"] for r in folds_run])) if finished else float("nan")
            paired = [s for r in folds_run for s in r["part_scores"]] if finished else []
            epochs = int(round(np.mean([r["best_epochs"] for r in folds_run]))) if finished else None
            status = ("completed" if np.isfinite(score) else "failed: no finite score") if finished else (
                "stopped: the time budget ran out")
            spread = float(np.std([r["score"] for r in folds_run])) if finished and len(folds_run) > 1 else float(
                "nan")
            given_scores = records[0]["paired"] if records and np.isfinite(records[0]["score"]) else []
            p_value = (tuning.improvement_p_value(given_scores, paired, higher, test_to_train)
                       if number and given_scores and paired else float("nan"))
            records.append({"trial": number, **shown_values(values), "score": score, "score_std": spread,
                            "p_value": p_value, "epochs": epochs, "seconds": round(seconds, 2), "status": status,
                            "paired": paired})
            # The best is the given configuration until a proposal beats it beyond the noise; then the best mean
            # score of those that do.
            beats = number > 0 and np.isfinite(score) and tuning.beats_the_given(p_value, settings.significance)
            if number == 0 and np.isfinite(score):
                best.update(number=0, score=score)
            elif beats and (not best or (score > best["score"] if higher else score < best["score"])):
                best.update(number=number, score=score, values=values, config=trial_config)
                if adopt:
                    best["state"] = _learned_state(learner)
                    clock.refit_estimate = tuning.REFIT_FIXED_S
                else:
                    clock.refit_estimate = self._final_fit_seconds(trial_config, folds_run, epochs, split,
                                                                   [learner_for(f, trial_config)
                                                                    for f in range(len(split))], len(frame))
                best["fit_seconds"] = clock.refit_estimate
            if mode != progress.SILENT:
                progress.say(tuning.trial_line(records[-1], objective_name, best, clock))
            return score if finished else None

        def fit_every_row(tuned):
            """`fit`'s steps on every row, with the settings a search chose over the given ones; returns whether the
            budget cut the fit short."""
            return self._fit(frame, epochs=None, batch_size=None, body=None, distribution=None, validation_data=None,
                             sample_weight=None, class_weight=None, callbacks=None, tuned=tuned, deadline=deadline)

        def keep_the_given(why):
            warn(f"tune: trial {best['number']} beat the configuration as given, but {why}: the configuration as "
                 f"given stays the model. Give a longer budget.")
            return {"number": 0, "score": records[0]["score"]}

        def should_stop():
            completed = [r["seconds"] for r in records if r["status"] == "completed"]
            expected = float(np.median(completed)) if completed else 0.0
            return not clock.room_for(expected)

        if mode != progress.SILENT:
            progress.say(tuning.start_line(len(frame), split, objective_name, dimensions, settings, clock, max_trials))
        # The configuration as given, fitted first on every row as `fit` fits it: the model unless a trial beats it
        # beyond the folds' noise. Whatever the search finds, the user is left with no less than the defaults.
        started = time.monotonic()
        cut = fit_every_row({})
        given_fit_seconds = time.monotonic() - started
        given_state = dict(vars(self))
        # Until a proposal wins, its fit on every row is expected to take about as long as the given one did (on a
        # large frame its trial's network is the model: no fit).
        clock.refit_estimate = tuning.REFIT_FIXED_S if adopt else (
            tuning.REFIT_MARGIN * given_fit_seconds + tuning.REFIT_FIXED_S)
        # A trial trains on (k-1)/k of the rows k times, without the refit: about k-1 fits of every row.
        trial_expected = given_fit_seconds * max(len(split) - 1, 1)
        if cut or not clock.room_for(trial_expected):
            why = ("the fit of the configuration as given took the whole budget" if cut
                   else "no time left for a trial after the fit of the configuration as given")
            records.append({"trial": 0, **shown_values(None), "score": float("nan"), "score_std": float("nan"),
                            "p_value": float("nan"), "epochs": None, "seconds": 0.0, "status": f"not run: {why}"})
        else:
            run(None)  # the configuration as given on the folds: every other trial is measured against it
            if (max_trials is None or max_trials > 1) and dimensions and not should_stop():
                tuning.run_search(run, dimensions, settings, objective_name, higher,
                                  None if max_trials is None else max_trials - 1, self._seed, should_stop,
                                  [records[0]["score"]])
        learners.clear()  # the folds' encoded rows: freed before the final fit needs the memory
        results = tuning.results_frame(records, dimensions)
        if not best:
            how = ("its fit on every row was stopped at the budget (early stopping's best weights kept, no refit)"
                   if cut else f"it took {given_fit_seconds:.0f} s to fit on every row")
            warn(f"tune: no trial finished within time_budget={time_budget!r}, so nothing was compared: the model is "
                 f"the configuration as given ({how}). Give a longer budget to search.")
        if mode != progress.SILENT:
            progress.say(tuning.final_line(best, records, objective_name, len(frame), settings.significance,
                                           kept="state" in best))
        if best.get("number"):
            if "state" in best:
                vars(self).update(best["state"])
                self._said = set()
            elif clock.left() is not None and clock.left() < best["fit_seconds"]:
                best = keep_the_given(f"its fit on every row (about {best['fit_seconds']:.0f} s) would not end "
                                      f"within time_budget={time_budget!r}")
            elif fit_every_row(tuning.overrides(dimensions, best["values"])):
                self.__dict__ = given_state  # what was validated is the full fit, not one cut short
                best = keep_the_given(f"its fit on every row was cut short by time_budget={time_budget!r}")
        self.tuning_results_ = results
        self.best_score_ = best.get("score")

    @staticmethod
    def _final_fit_seconds(config, folds_run, best_epochs, split, learners, rows):
        """How long the final fit of `config` will take on all `rows`, from its trial: the statistics, the first fit
        until early stopping, and the refit on every row for the best epochs when there is one."""
        training = table.Training.from_config(config)
        epochs_at_fold_size = ((1 - training.validation_split) * np.mean([r["epochs_run"] for r in folds_run])
                               + (best_epochs if _refits(training, rows) else 0))
        return tuning.refit_seconds(np.mean([learner.statistics_seconds_ for learner in learners]),
                                    np.mean([r["epoch_seconds"] for r in folds_run]), epochs_at_fold_size,
                                    rows / np.mean([len(fold[0]) for fold in split]))

    def _fold_learner(self, frame, fold, config, weight_column, quiet):
        """An Automater that learned the statistics of one fold's training rows under `config`, with a feeder of its
        rows and its held-out rows, encoded once and reused by every trial that shares these statistics."""
        train_rows, valid_rows = fold
        train, valid = frame.iloc[train_rows], frame.iloc[valid_rows]
        learner = Automater(self.target, seed=self.seed, verbose=0)
        started = time.monotonic()
        with warnings.catch_warnings():
            if quiet:  # the first fold's statistics said what there is to say about the columns
                warnings.simplefilter("ignore")
            data = learner._learn(train, config, weight_column)
        training = table.Training.from_config(config)
        weights = learner._row_weights(train, data, training, weight_column, None)
        learner.fold_feeder_ = feeding.Feeder(data, learner.inputs_, learner.targets_, learner.preprocessor_,
                                              training, weights, valid)
        learner.fold_validation_ = valid
        learner.statistics_seconds_ = time.monotonic() - started
        return learner

    def _trial_fold(self, learner, config, strategy, deadline, objective_name, parts=None):
        """Train a fresh network with `config`'s settings on a fold's training rows (early stopping on its held-out
        rows) and score it there: {score, part_scores, best_epochs, epochs_run, epoch_seconds}, or None when the
        deadline cut the training short. `parts`: positions in the held-out rows, each scored on its own
        (`part_scores`; else the fold's score)."""
        learner.config_ = config  # the trial's settings over the fold's statistics (they share the same key)
        training = dataclasses.replace(table.Training.from_config(config), validation_split=0.0, refit=False)
        if self.seed is not None:
            keras.utils.set_random_seed(self._seed)
        with distribute.scope(strategy):
            optimizer = check_model_config(config)
        started = time.monotonic()
        valid = learner.fold_validation_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if learner._train(learner.fold_feeder_, training, None, strategy, optimizer, [], progress.SILENT,
                              len(valid), deadline):
                return None
            seconds = time.monotonic() - started
            metrics = {} if objective_name == "loss" else learner.evaluate(valid)
            part_metrics = [learner.evaluate(valid.iloc[rows]) for rows in parts] if parts else [metrics]
        history = learner.history_
        epochs_run = len(history.get("loss", []))
        return {"score": tuning.score(objective_name, metrics, history, self.targets),
                "part_scores": [tuning.score(objective_name, m, history, self.targets) for m in part_metrics],
                "best_epochs": tuning.best_epochs(history, training.restore_best_weights), "epochs_run": epochs_run,
                "epoch_seconds": seconds / max(epochs_run, 1)}

    # ------------------------------------------------------------------ an autoencoder's losses
    def _scores_model(self):
        """Raw columns in, the heads' outputs on the scale the losses see (standardised numbers) out."""
        raw = raw_inputs_like(self.preprocessor_)
        return functional(raw, self.network_(self.preprocessor_(raw)), "keras_defaults_scores")

    def _reconstruction_losses(self, frame, tensors=None, scores_model=None):
        """Each row's loss per rebuilt column (NaN where it has no value to score): a DataFrame."""
        tensors = self._checked_tensors(frame) if tensors is None else tensors
        outputs = _run_in_batches(scores_model or self._scores_model(), tensors, len(frame))
        return autoencoder.per_row_losses(self.targets_, outputs, frame)

    def _measure_loss_scales(self, source):
        """{column: mean loss} over a seeded sample of the training rows: the scale of each column's losses."""
        rng = np.random.default_rng(self._seed)
        sample = importance.sample_rows(self._chunks(source, "the training data", list(self.inputs_)), _SCALE_ROWS,
                                        rng)
        return autoencoder.loss_scales(self._reconstruction_losses(sample))

    # ------------------------------------------------------------------ predicting
    @property
    def model(self):
        """The compiled, trained `keras.Model`: raw columns in, predictions in the user's units out."""
        self._check_fitted()
        return self.model_

    def _check_prepared(self):
        if not hasattr(self, "preprocessor_"):
            raise NotFittedError("This Automater has not learned from data yet. Call fit(df) (or prepare(df)) first.")

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("This Automater is not fitted yet. Call fit(df) first.")

    def _chunks(self, source, what, columns):
        """The frames of a source, each checked and copied: a DataFrame is one, files give chunks."""
        for chunk in sources.frame_chunks(source, columns):
            yield frames.as_frame(chunk, what, strict=False)

    def _checked_tensors(self, frame):
        """{column: tensor} of the raw values of `frame` (a copy of the user's), once it is checked against the
        training profile."""
        if not hasattr(self, "_said"):  # a loaded Automater
            self._said = set()
        profile_check.check(frame, self.inputs_, self.ignored_, self.targets, self._said)
        return raw_tensors(frame, self.inputs_)

    def _outputs(self, frame, model=None):
        """Check `frame` against the training profile, then run the model (`model`, else the served one) once:
        outputs by target (None when the frame has no rows)."""
        tensors = self._checked_tensors(frame)
        return _run_in_batches(model or self.model_, tensors, len(frame)) if len(frame) else None

    def _prediction_frame(self, frame, outputs):
        """One column of predictions per target, in the user's labels and units, with the frame's index."""
        columns = {}
        for name, target in self.targets_.items():
            values = target.predictions(outputs[name] if outputs is not None else np.zeros((0, target.units)))
            columns[name] = pd.Series(values, index=frame.index, name=name).infer_objects()
        return pd.DataFrame(columns, index=frame.index)

    def _probability_tables(self, frame, outputs):
        """{classification or set target: DataFrame of probabilities, one column per class label (set label)}."""
        return {name: pd.DataFrame(target.probabilities(outputs[name]) if outputs is not None
                                   else np.zeros((0, len(target.classes))), index=frame.index,
                                   columns=list(target.classes))
                for name, target in self.targets_.items() if target.has_probabilities}

    def _predict_each(self, source, out, result, model=None):
        """Run `result(frame, outputs)` on every chunk of `source` (outputs: of `model`, else the served model);
        write the results to `out` (.csv or .parquet) as they come, or return them joined."""
        self._check_fitted()
        given, source = source, arrow.to_pandas(source, "the data to predict")
        writer = sources.PredictionWriter(out) if out is not None else None
        parts = []
        try:
            for chunk in self._chunks(source, "the data to predict", list(self.inputs_)):
                part = result(chunk, self._outputs(chunk, model))
                if writer is None:
                    parts.append(part)
                else:
                    writer.write(pd.concat(part, axis=1) if isinstance(part, dict) else part.to_frame()
                                 if isinstance(part, pd.Series) else part, self._set_delimiters())
        finally:
            if writer is not None:
                writer.close()
        if writer is not None:
            return Path(out)
        if not parts:
            raise DataError(f"The files {source!r} hold no rows to predict.")
        if len(parts) == 1:
            return arrow.like(parts[0], given)
        if isinstance(parts[0], dict):
            return {name: pd.concat([part[name] for part in parts]) for name in parts[0]}
        return pd.concat(parts)

    def _set_delimiters(self):
        """{set target: its delimiter}: how a file of predictions joins each row's predicted labels."""
        return {name: target.state["delimiter"] for name, target in self.targets_.items()
                if target.predicts_label_sets}

    def predict(self, df, out=None):
        """Predictions in the user's own labels and units: a Series named after the target, with `df`'s index.

        With several targets, a DataFrame with one column per target. A set target's predictions are lists of
        labels (those whose probability reaches its threshold). `df` may be data files (as in `fit`): they are
        predicted chunk by chunk (a RangeIndex numbers the rows across files, in file order), and with `out` (a
        .csv or .parquet path) written there as they come (a set's labels joined by its delimiter in a CSV file).
        """
        def predictions(frame, outputs):
            table = self._prediction_frame(frame, outputs)
            return self._one_or_all(table)

        return self._predict_each(df, out, predictions)

    def predict_proba(self, df, out=None):
        """Class probabilities: a DataFrame whose columns are the class labels, with `df`'s index. For a set
        target, one column per label: the probability that the row's set holds it (they need not sum to 1).

        With several targets, a dict {target: DataFrame} over the classification and set targets. Files and `out`
        work as in `predict`.
        """
        self._check_fitted()
        if not any(target.has_probabilities for target in self.targets_.values()):
            if self.reconstructs:
                raise DataError(f"predict_proba gives the probabilities of rebuilt categories, booleans and sets; "
                                f"this autoencoder rebuilds only numbers ({list(self.targets_)}). Use predict(df).")
            raise DataError(f"predict_proba needs a classification or set target; {self.targets} is a regression "
                            f"target. Use predict(df).")

        def probabilities(frame, outputs):
            tables = self._probability_tables(frame, outputs)
            return self._one_or_all(tables)

        return self._predict_each(df, out, probabilities)

    def predict_interval(self, df, coverage=0.9, out=None):
        """Prediction intervals of a regression target, in the user's units: a DataFrame with columns `lower` and
        `upper`, with `df`'s index, whose interval holds the truth for a share `coverage` of new rows.

        Split-conformal (see `keras_defaults.intervals`): each interval is the prediction plus or minus a quantile of
        the absolute errors the network made on the validation rows, which it never trained on before they were
        scored. The width is the same for every row; with `distribution: normal` it is that quantile of the errors
        in standard deviations, times each row's predicted standard deviation (and with `calibrate_intervals:
        false`, the normal's own z times it); with `loss: quantile`, a pair of the predicted quantiles, moved out
        or in by how far outside it the validation rows fell (conformalized quantile regression; uncalibrated, the
        pair itself). With several targets, a dict {target: DataFrame} over the regression targets. Files and `out`
        work as in `predict`.
        """
        self._check_fitted()
        self._check_supervised("predict_interval", "Its reconstructions carry no intervals: score how unusual each "
                               "row is with anomaly_score(df).")
        coverage = intervals.check_coverage(coverage)
        regression = {name: target for name, target in self.targets_.items() if not target.has_probabilities}
        if not regression:
            raise DataError(f"predict_interval needs a regression target; {self.targets} is a classification or "
                            f"set target. Use predict_proba(df) for its probabilities.")
        specs = {name: target.encoder.interval_spec(target.state, target.settings, coverage, name)
                 for name, target in regression.items()}

        def bounds(frame, outputs):
            tables = {}
            for name, spec in specs.items():
                target = regression[name]
                lower, upper = target.encoder.interval_bounds(
                    outputs[name] if outputs is not None else np.zeros((0, target.units)), spec, target.state)
                tables[name] = pd.DataFrame({"lower": lower, "upper": upper}, index=frame.index)
            return self._one_or_all(tables)

        return self._predict_each(df, out, bounds)

    def predict_quantiles(self, df, out=None):
        """A quantile head's predictions (loss: quantile), in the user's units: a DataFrame with one column per
        quantile level (e.g. 0.05, 0.5, 0.95), lowest first, with `df`'s index. They never cross: on every row a
        higher level has a value at least as high. With several such targets, a dict {target: DataFrame}. Files and
        `out` work as in `predict`.
        """
        self._check_fitted()
        self._check_supervised("predict_quantiles", "Its numbers are rebuilt as one value each: predict(df).")
        heads = {name: target for name, target in self.targets_.items()
                 if target.encoder.quantile_levels(target.state) is not None}
        if not heads:
            raise DataError(f"predict_quantiles needs a target trained with the quantile loss, and {self.targets} "
                            f"{'has' if len(self.targets_) == 1 else 'have'} none. Fit with targets: {{numerical: "
                            f"{{loss: {{name: quantile, quantiles: [0.05, 0.5, 0.95]}}}}}}; for intervals of any "
                            f"regression target, use predict_interval(df).")

        def quantiles(frame, outputs):
            tables = {name: pd.DataFrame(target.encoder.quantile_values(
                outputs[name] if outputs is not None else np.zeros((0, target.units)), target.state),
                index=frame.index) for name, target in heads.items()}
            return self._one_or_all(tables)

        return self._predict_each(df, out, quantiles)

    def evaluate(self, df):
        """Metrics on labelled data, in the user's units: a dict {metric: value}.

        With several targets, keys are '<target>/<metric>'. `df` may be data files, as in `fit`; memory then holds
        the targets and predictions, not the input columns.

        For an autoencoder, how well each rebuilt column comes back, over the rows that have a value in it:
        '<column>/<metric>' (rmse, mae, r2 for a number; accuracy, log_loss and roc_auc for a category; f1_micro ...
        for a set), '<column>/loss' (its mean loss, the scale of `anomaly_score`), and 'anomaly_score' (the rows'
        mean score: about 1 on rows like the training rows).
        """
        self._check_fitted()
        if self.reconstructs:
            return self._evaluate_reconstruction(arrow.to_pandas(df, "the data to evaluate"))
        truths, predictions, probabilities = [], [], []
        rows = dropped = 0
        df = arrow.to_pandas(df, "the data to evaluate")
        for chunk in self._chunks(df, "the data to evaluate", list(self.inputs_) + self.targets):
            frames.check_targets(chunk, self.targets, "evaluate")
            known = chunk[self.targets].notna().all(axis=1).to_numpy()
            rows, dropped = rows + len(chunk), dropped + int((~known).sum())
            chunk = chunk.loc[known]
            if not len(chunk):
                continue
            outputs = self._outputs(chunk)
            truths.append(chunk[self.targets])
            predictions.append(self._prediction_frame(chunk, outputs))
            probabilities.append(self._probability_tables(chunk, outputs))
        if not truths:
            raise DataError(f"Every row has a missing value in target column(s) {self.targets}: there is nothing to "
                            f"evaluate against. Check that the data holds the targets the model was trained on.")
        if dropped:
            frames.warn_dropped(dropped, rows, self.targets)
        proba = {name: pd.concat([p[name] for p in probabilities]) for name in probabilities[0]}
        return scoring.scores(pd.concat(truths), pd.concat(predictions), proba, self.targets_)

    def _evaluate_reconstruction(self, df):
        """`evaluate` for an autoencoder: each rebuilt column scored against itself, chunk by chunk."""
        truths, predictions, probabilities, losses = [], [], [], []
        scores_model = self._scores_model()
        for chunk in self._chunks(df, "the data to evaluate", list(self.inputs_)):
            if not len(chunk):
                continue
            tensors = self._checked_tensors(chunk)
            served = _run_in_batches(self.model_, tensors, len(chunk))
            truths.append(chunk[list(self.targets_)])
            predictions.append(self._prediction_frame(chunk, served))
            probabilities.append(self._probability_tables(chunk, served))
            losses.append(self._reconstruction_losses(chunk, tensors, scores_model))
        if not truths:
            raise DataError("The data to evaluate holds no rows.")
        truth, predicted, losses = pd.concat(truths), pd.concat(predictions), pd.concat(losses)
        proba = {name: pd.concat([p[name] for p in probabilities]) for name in probabilities[0]}
        results = {}
        for name, target in self.targets_.items():
            present = present_values(target, truth[name])
            if present.any():
                found = scoring.scores(truth.loc[present, [name]], predicted.loc[present, [name]],
                                       {name: proba[name].loc[present]} if name in proba else {}, {name: target})
                results.update({f"{name}/{metric}": value for metric, value in found.items()})
            results[f"{name}/loss"] = float(np.nanmean(losses[name])) if present.any() else float("nan")
        results["anomaly_score"] = float(np.nanmean(autoencoder.anomaly_scores(losses, self.loss_scales_)))
        return results

    # ------------------------------------------------------------------ an autoencoder's embedding and scores
    def _check_reconstructs(self, what):
        if not self.reconstructs:
            raise DataError(f"{what} is an autoencoder's: fit Automater(target=None) to embed rows or score how "
                            f"unusual they are. This one predicts {self.targets}.")

    def _encoder_model(self):
        """Raw columns in, {"embedding": (rows, width)} out: the trained encoder, served as any model is."""
        raw = raw_inputs_like(self.preprocessor_)
        code = autoencoder.embedding_model(self.network_)(self.preprocessor_(raw))
        return functional(raw, {autoencoder.EMBEDDING: code}, "keras_defaults_encoder", ServedModel)

    @property
    def embedding_dim_(self):
        """The width of an autoencoder's embedding."""
        self._check_fitted()
        self._check_reconstructs("embedding_dim_")
        return int(self.network_.get_layer(autoencoder.EMBEDDING).units)

    def embed(self, df, out=None):
        """An autoencoder's embedding of each row: a DataFrame of `embedding_dim_` columns (embedding_0, ...), with
        `df`'s index. Rows alike in every column lie close together: features for another model, for clustering, or
        for finding similar rows. Files and `out` work as in `predict`."""
        self._check_fitted()
        self._check_reconstructs("embed(df)")
        width = self.embedding_dim_
        columns = [f"{autoencoder.EMBEDDING}_{i}" for i in range(width)]

        def embedding(frame, outputs):
            values = outputs[autoencoder.EMBEDDING] if outputs is not None else np.zeros((0, width))
            return pd.DataFrame(np.asarray(values, dtype="float64"), index=frame.index, columns=columns)

        return self._predict_each(df, out, embedding, self._encoder_model())

    def anomaly_score(self, df, per_column=False, out=None):
        """How unusual each row is to an autoencoder: its reconstruction loss, each column's divided by that
        column's mean loss on training rows (`loss_scales_`), averaged over the row's columns that have a value.
        About 1 for a typical training row; the higher, the further the row departs from how the columns went
        together in training. A Series named 'anomaly_score' with `df`'s index (NaN for a row with no rebuilt column
        to score).

        per_column=True gives a DataFrame of each rebuilt column's scaled loss instead: which columns make a row
        unusual. A missing value, or a level no training row had, is not scored (`predict` warns of unseen levels).
        Files and `out` work as in `predict`.
        """
        self._check_fitted()
        self._check_reconstructs("anomaly_score(df)")
        scales = pd.Series(self.loss_scales_)

        def scores(frame, outputs):
            if outputs is None:
                outputs = {output_key(name): np.zeros((0, target.units)) for name, target in self.targets_.items()}
            losses = autoencoder.per_row_losses(self.targets_, outputs, frame)
            return losses / scales if per_column else autoencoder.anomaly_scores(losses, self.loss_scales_)

        return self._predict_each(df, out, scores, self._scores_model())

    def feature_importance(self, df, n_repeats=5, max_rows=10_000, seed=None):
        """Permutation importance of each input column, measured on labelled rows the model did not train on.

        Each column the model uses is shuffled `n_repeats` times (all its encoded parts with it) and the model
        re-scored: the importance is the mean drop of the target's primary metric, in `evaluate`'s units (ROC-AUC
        for a binary target, accuracy for several classes, RMSE for a number, where it is the rise of the error),
        so that positive means the column helps and about zero means the model does not use it.

        Args:
            df: a DataFrame with the input columns and the targets, or data files as in `evaluate`. Rows whose
                target is missing are dropped, as `evaluate` drops them.
            n_repeats: shuffles per column; more give a smaller `std`.
            max_rows: rows measured on: a seeded uniform sample when `df` has more.
            seed: the sample and the shuffles; None uses the Automater's seed. The same seed gives the same table.

        Returns:
            A DataFrame indexed by column (index name "column") with columns `importance` and `std` (over the
            shuffles), highest importance first; `attrs` holds `metric`, `baseline` (the unshuffled score),
            `n_repeats` and `rows`. With several targets, a dict {target: that DataFrame}.
        """
        self._check_fitted()
        self._check_supervised("feature_importance", "anomaly_score(df, per_column=True) shows which columns make "
                               "each row unusual, and evaluate(df) how well each column is rebuilt.")
        importance.check_arguments(n_repeats, max_rows, seed)
        rng = np.random.default_rng(self._seed if seed is None else int(seed))
        what = "the data to measure importance on"
        rows = dropped = 0

        def labelled_chunks():
            nonlocal rows, dropped
            for chunk in self._chunks(arrow.to_pandas(df, what), what, list(self.inputs_) + self.targets):
                frames.check_targets(chunk, self.targets, "feature_importance")
                known = frames.rows_with_targets(chunk, self.targets)
                rows, dropped = rows + len(chunk), dropped + int((~known).sum())
                yield chunk.loc[known]

        sample = importance.sample_rows(labelled_chunks(), int(max_rows), rng)
        if sample is None or not len(sample):
            raise DataError(f"Every row has a missing value in target column(s) {self.targets}: there is nothing to "
                            f"measure importance against. Check that the data holds the targets the model was "
                            f"trained on.")
        if dropped:
            frames.warn_dropped(dropped, rows, self.targets)
        # Labels no training row has are scored as evaluate scores them (wrong; left out of log-loss and AUC).
        raw = self._checked_tensors(sample)  # checked once: the shuffled copies hold the same values

        def score(outputs):
            predicted, probabilities = self._prediction_frame(sample, outputs), self._probability_tables(sample,
                                                                                                          outputs)
            return {name: scoring.scores(sample, predicted, probabilities, {name: target})
                    for name, target in self.targets_.items()}

        tables = importance.permutation_importance(
            raw, lambda inputs: _run_in_batches(self.model_, inputs, int(next(iter(inputs.values())).shape[0])),
            score, int(n_repeats), rng)
        return self._one_or_all(tables)

    # ------------------------------------------------------------------ explaining
    def explain(self):
        """Every choice and why: one row per column (kind, evidence, encoding) and per target and model setting."""
        self._check_prepared()
        from keras_defaults.explain import explanation

        summary = None
        if self.reconstructs:
            summary = {"width": autoencoder.embedding_width(self.config_, self.targets_),
                       "scales": getattr(self, "loss_scales_", None)}
        return explanation(self.config_, self.inputs_, self.ignored_, self.targets_, summary)

    def report(self, path, data, *, importance=True, n_repeats=5, seed=None):
        """Write one self-contained HTML file (images embedded, no network requests) of what the model learned and
        how it does on `data`: a summary, the metrics, the plots (with matplotlib: `keras_defaults[plots]`), the
        permutation feature importance, the explain() table and the merged configuration. Returns its Path.

        `data` is labelled rows the model did not train on: a DataFrame, or data files as `evaluate` takes them.
        `importance=False` leaves out the feature importance, the slow part (`n_repeats` predictions per column).
        """
        self._check_fitted()
        self._check_supervised("report", "Its scores are evaluate(df) and anomaly_score(df); explain() shows every "
                               "choice.")
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigTypeError(f"report(path, data) takes the HTML file's path first, then the labelled rows. "
                                  f"Received: path of type {type(path).__name__}. Call auto.report('report.html', "
                                  f"df).")
        from keras_defaults import report

        return report.write(self, path, data, importance=importance, n_repeats=n_repeats, seed=seed)

    # ------------------------------------------------------------------ saving
    def export(self, path, format="keras", coverage=0.9):
        """Write the trained model for serving.

        format="keras": a compiled `.keras` file; load it with `keras.saving.load_model` (safe mode) after
        `import keras_defaults`. format="tf_saved_model": a TensorFlow SavedModel whose `serving_default`
        signature takes one tensor per column and runs with TensorFlow alone; for a calibrated regression target it
        also returns the bounds of `predict_interval(df, coverage)` (the signature file names them).

        An autoencoder exports its encoder: raw columns in, `embedding` out, as `embed(df)` computes it (save()
        keeps the whole Automater, reconstructions and anomaly scores included).
        """
        self._check_fitted()
        from keras_defaults import export as exporting

        if self.reconstructs and format in ("keras", "tf_saved_model"):
            encoder = self._encoder_model()
            if format == "keras":
                return exporting.export_keras(encoder, path)
            return exporting.export_encoder_saved_model(encoder, self.inputs_, path)
        if format == "keras":
            return exporting.export_keras(self.model_, path)
        if format == "tf_saved_model":
            coverage = intervals.check_coverage(coverage)
            specs = {}
            for name, target in self.targets_.items():
                if target.has_probabilities:
                    continue
                try:
                    specs[name] = target.encoder.interval_spec(target.state, target.settings, coverage, name)
                except DataError as error:  # no intervals at all, or too few rows for this coverage: serve no bounds
                    if "calibration" in target.state:
                        warn(f"The SavedModel returns no interval bounds for target '{name}'. {error}")
            return exporting.export_saved_model(self.model_, self.inputs_, self.targets_, path,
                                                {"coverage": coverage, "specs": specs})
        raise ConfigError("Unknown export format. " + expected_one_of("format", format, ["keras", "tf_saved_model"]))

    def save(self, path):
        """Save to a directory of plain files: automater.json and model.keras. No pickle; nothing runs on load."""
        self._check_fitted()
        path = Path(path)
        state = {
            "format_version": FORMAT_VERSION,
            "keras_defaults_version": _version(),
            "params": {"target": self.target, "seed": self.seed, "verbose": self.verbose,
                       "column_types": self.column_types},
            "config": self.config_.data,
            "origins": [[list(k), v] for k, v in self.config_.origins.items()],
            "inputs": {name: spec.to_dict() for name, spec in {**self.inputs_, **self.ignored_}.items()},
            "targets": {name: t.to_dict() for name, t in self.targets_.items()},
            # The curves of the fit, so that a loaded Automater can still show how it trained.
            "history": self.history_,
            "refit_epochs": self.refit_epochs_,
        }
        if self.reconstructs:
            state["autoencoder"] = autoencoder.as_config(self.targets_, self.embedding_dim_, self.loss_scales_)
        recover_set_aside(path)  # a save killed while replacing this one left the previous one aside
        if path.exists() and not is_save_folder(path):
            # Saving replaces the directory whole: never do that to one holding anything but a previous save.
            raise DataError(f"'{path}' exists and is not a saved Automater; saving there would delete what it holds. "
                            f"Choose a new directory, or remove this one first.")
        staging = staging_dir(path)
        try:
            self.model_.save(staging / MODEL_FILE)
            # The state names the model file it was saved with: a model.keras from another save is refused on load.
            state["model_sha256"] = file_digest(staging / MODEL_FILE)
            (staging / STATE_FILE).write_text(json.dumps(state, indent=1, default=_json_default), encoding="utf-8")
            replace_dir(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path):
        """Load an Automater saved with `save`; it predicts exactly as the saved one did."""
        path = Path(path)
        recover_set_aside(path)  # a save killed while replacing this one left the previous one aside
        state_file, model_file = path / STATE_FILE, path / MODEL_FILE
        if not state_file.is_file() or not model_file.is_file():
            raise UnsafeFileError(f"'{path}' is not a saved Automater: it needs both {STATE_FILE} and {MODEL_FILE}.")
        state = read_state(state_file, inspect.signature(cls).parameters)
        from keras_defaults.export import load_keras, vet_archive

        vet_archive(model_file)  # first: a tampered model is refused naming what it would run
        if "model_sha256" in state and state["model_sha256"] != file_digest(model_file):
            raise UnsafeFileError(f"'{path}': {MODEL_FILE} does not match {STATE_FILE}: it is not the model saved "
                                  f"with it (its digest differs); the two files do not come from the same save.")

        model = load_keras(model_file)
        auto = cls(**state["params"])
        # Over the built-in table, as at fit: a save from before a setting existed gets its default (with its origin).
        builtin = table.Config.builtin()
        saved = {tuple(k): v for k, v in state["origins"]}
        # A built-in leaf under a saved one (a search entry set to null, a loss replaced by a name) is gone.
        kept = {leaf: v for leaf, v in builtin.origins.items()
                if not any(leaf[:n] in saved for n in range(1, len(leaf)))}
        auto.config_ = table.Config(builtin.merged(state["config"], f"'{state_file}'").data, {**kept, **saved})
        columns = {name: ColumnSpec.from_dict(name, entry) for name, entry in state["inputs"].items()}
        # A column with fitted statistics is one the model uses; the model's inputs must be exactly those.
        auto.inputs_ = {name: spec for name, spec in columns.items() if spec.state is not None}
        auto.ignored_ = {name: spec for name, spec in columns.items() if spec.state is None}
        auto.targets_ = {n: TargetSpec.from_dict(t, masked=auto.reconstructs) for n, t in state["targets"].items()}
        auto.history_ = state.get("history", {})  # saves made before the curves were kept have none
        auto.refit_epochs_ = state.get("refit_epochs")
        try:
            auto.preprocessor_ = model.get_layer("preprocessor")
            auto.network_ = model.get_layer("network")
        except ValueError:
            auto.preprocessor_ = auto.network_ = None
        if (auto.preprocessor_ is None or set(model.input) != set(auto.inputs_)
                or set(auto.network_.output) != {output_key(name) for name in auto.targets_}
                or set(auto.targets_) != set(auto.targets if not auto.reconstructs else autoencoder.rebuilt_columns(
                    auto.inputs_))
                or auto.reconstructs and _embedding_width(auto.network_) != state["autoencoder"]["embedding_dim"]):
            raise UnsafeFileError(f"'{path}': {MODEL_FILE} does not match {STATE_FILE} (their columns or targets "
                                  f"differ); the two files do not come from the same save.")
        for name, target in auto.targets_.items():
            width = auto.network_.output[output_key(name)].shape[-1]
            if width != target.units:
                raise UnsafeFileError(f"'{path}': the head of target '{name}' in {MODEL_FILE} has {width} unit(s), "
                                      f"but {STATE_FILE} gives it {target.units} (its classes: "
                                      f"{shown(target.classes)}); the two files do not agree.")
        _check_model_runs(model, auto.inputs_, auto.targets_, path)
        auto.model_ = model
        if auto.reconstructs:
            auto.loss_scales_ = state["autoencoder"]["loss_scales"]
        return auto




@contextlib.contextmanager
def all_or_nothing(owner):
    """Learn everything or nothing: if the block fails or is interrupted (any exception, Ctrl-C included), `owner`
    is put back exactly as it was. Without this, a refit failing after its statistics pass would leave new columns
    beside the old model: predict would fail, and a save would overwrite a good one with a folder that cannot be
    loaded. A first fit that fails leaves an object that says it is not fitted."""
    before = dict(vars(owner))
    try:
        yield
    except BaseException:
        # One assignment: every attribute learned so far goes at once, even if a second Ctrl-C comes.
        owner.__dict__ = before
        raise


def _embedding_width(network):
    """The units of an autoencoder network's embedding layer, or None when it has none."""
    try:
        return int(network.get_layer(autoencoder.EMBEDDING).units)
    except (ValueError, AttributeError, TypeError):
        return None


def _check_model_runs(model, inputs, targets, path):
    """Run a loaded model once, on a row where every column is missing, so that a model whose config was changed in
    a way Keras only notices when it runs (an input width, a layer's inputs) is refused at load rather than failing
    at the first predict. Each head must give one row of its width."""
    missing = {"float32": np.array([np.nan], dtype="float32"), "string": np.array([""])}
    row = {name: as_tensor(missing[spec.input_dtype], spec.input_dtype) for name, spec in inputs.items()}
    try:
        outputs = _run_in_batches(model, row, 1)
    except Exception as error:  # noqa: BLE001 - whatever the model raises, it is the file's doing
        said = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise UnsafeFileError(f"'{path}': the model in {MODEL_FILE} does not run on the columns {STATE_FILE} "
                              f"describes ({type(error).__name__}: {said}); the files were changed since they were "
                              f"saved, or do not come from the same save.") from None
    for name, target in targets.items():
        if outputs.get(name) is None or outputs[name].shape != (1, target.units):
            raise UnsafeFileError(f"'{path}': the model in {MODEL_FILE} outputs "
                                  f"{shown(getattr(outputs.get(name), 'shape', None))} for target '{name}', not one "
                                  f"row of {target.units}; the files were changed since they were saved.")


def _variables(network):
    """Every variable whose value a fit changes: weights, optimizer slots and step, random seed states."""
    return list(network.variables) + list(network.optimizer.variables)


def _variable_values(network):
    return [variable.numpy() for variable in _variables(network)]


def _assign_variable_values(network, values):
    for variable, value in zip(_variables(network), values, strict=True):
        variable.assign(value)


def _refits(training, rows):
    """Whether a fit with `training`'s settings refits a fresh network on all `rows` after early stopping."""
    return training.refit is True or (training.refit == "auto" and rows <= training.refit_max_rows)


# What a fit learns: what `tune` takes over from the trial whose network becomes the model.
_LEARNED = ("config_", "inputs_", "ignored_", "targets_", "preprocessor_", "network_", "model_", "history_",
            "refit_epochs_", "feeding_")


def _learned_state(learner):
    return {name: getattr(learner, name) for name in _LEARNED}


def _setting_or_none(config, path):
    """A setting's value in `config`, or None where the table leaves it unset (an optimizer argument not given)."""
    try:
        return config.get(*path)
    except KeyError:
        return None


def _weight_column(config, sample_weight):
    """The column of row weights: named by `sample_weight=`, or given kind 'weight' in the settings (a YAML column
    entry, or column_types=). None when the rows are not weighted by a column."""
    configured = [c for c, entry in config.get("columns").items() if entry.get("kind") == table.WEIGHT]
    if len(configured) > 1:
        raise ConfigError(f"Columns {configured} are all of kind 'weight' (from "
                          f"{', '.join(config.origin('columns', c, 'kind') for c in configured)}); the rows have one "
                          f"weight each. Keep one.")
    if configured and sample_weight is not None and not (isinstance(sample_weight, str)
                                                         and sample_weight == configured[0]):
        raise ConfigError(f"The rows are weighted twice: by column '{configured[0]}' (kind 'weight', from "
                          f"{config.origin('columns', configured[0], 'kind')}) and by sample_weight=. Give one.")
    if isinstance(sample_weight, str):
        return sample_weight
    return configured[0] if configured else None


def _check_body(body):
    """`body=` as None or a callable (from the encoded features to a hidden tensor), before any data is read."""
    if body is not None and not callable(body):
        raise ConfigTypeError(f"body must be a callable from the encoded feature tensor to a hidden tensor (e.g. "
                              f"lambda x: keras.layers.Dense(64, activation='relu')(x)), or None for the default "
                              f"MLP. Received: body={body!r}. The MLP's sizes are settings: body: {{units: [...]}} in "
                              f"YAML or overrides=.")


def _check_callbacks(callbacks):
    """`fit(callbacks=...)` as a list of Keras callbacks."""
    if callbacks is None:
        return []
    given = [callbacks] if isinstance(callbacks, keras.callbacks.Callback) else callbacks
    if not isinstance(given, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in given):
        raise ConfigTypeError(f"callbacks must be a list of keras.callbacks.Callback instances (e.g. "
                              f"[keras.callbacks.CSVLogger('log.csv')]). Received: {callbacks!r}.")
    return list(given)


def _progress_line(mode, label, stopping=None):
    """The progress line of one `network.fit`, counting down to `stopping` when early stopping watches it; None
    unless `mode` shows it."""
    if mode != progress.PROGRESS:
        return None
    if stopping is None:
        return progress.EpochProgress(label)
    return progress.EpochProgress.from_early_stopping(stopping, label=label)


def _fit_network(network, arguments, epochs, callbacks, shown, mode):
    """`network.fit` with `callbacks`, and the progress line `shown` (or Keras's lines per epoch in mode EPOCHS)."""
    try:
        return network.fit(**arguments, epochs=epochs, callbacks=callbacks + ([shown] if shown else []),
                           verbose=2 if mode == progress.EPOCHS else 0)
    finally:
        if shown is not None:
            shown.close()  # an interrupted fit leaves no half-drawn line before the traceback


def _run_in_batches(model, raw, rows):
    """Run `model` on raw columns, batch by batch, without tracing a graph: a wide frame's thousands of per-column
    layers take far longer to trace and optimise than to run (1,000 columns: over a minute, against a second or
    two), and a narrow one runs as fast eagerly. Returns {output: numpy array}."""
    parts = []
    for start in range(0, rows, _PREDICT_BATCH):
        batch = {name: values[start:start + _PREDICT_BATCH] for name, values in raw.items()}
        parts.append({name: keras.ops.convert_to_numpy(out) for name, out in model(batch, training=False).items()})
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def _version():
    from keras_defaults import __version__

    return __version__


__all__ = ["Automater", "TargetSpec"]
