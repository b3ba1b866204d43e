"""The Automater: a DataFrame and a target name in; a trained, explained, exportable Keras model out."""

import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn import metrics as sk_metrics
from sklearn.model_selection import train_test_split

from keras_defaults import defaults as table
from keras_defaults import distribute, frames, streaming
from keras_defaults.encoders import ENCODERS, input_tensor
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, NotFittedError, UnsafeFileError
from keras_defaults.errors import expected_one_of
from keras_defaults.model import (build_network, build_preprocessor, build_served_model, compile_model,
                                  layer_name)
from keras_defaults.schema import IGNORE, ColumnProfile, infer_column, infer_schema

FORMAT_VERSION = 1
STATE_FILE = "automater.json"
MODEL_FILE = "model.keras"
_PREDICT_BATCH = 8192
_STATE_KEYS = {"format_version", "keras_defaults_version", "params", "config", "origins", "inputs", "targets"}


@dataclasses.dataclass
class TargetSpec:
    """A target column: its profile, kind, fitted state (classes or scale) and head settings."""

    name: str
    kind: str
    profile: ColumnProfile
    state: dict
    settings: dict

    @property
    def classes(self):
        return self.state.get("classes")

    def to_dict(self):
        return {"name": self.name, "kind": self.kind, "profile": self.profile.to_dict(), "state": self.state,
                "settings": self.settings}

    @classmethod
    def from_dict(cls, data):
        return cls(data["name"], data["kind"], ColumnProfile.from_dict(data["profile"]), data["state"],
                   data["settings"])


class Automater:
    """Infer column kinds, pick defaults from `defaults.yaml`, build, train and export a Keras model.

    Args:
        target: the column to predict, or a list of columns (one output head each).
        config: a YAML file path (or a list of paths, merged in order), or a mapping of settings, deep-merged over
            the built-in `defaults.yaml`.
        column_types: `{column: kind}` to force a column's kind: numerical, categorical, boolean, text or ignore.
        overrides: a mapping of settings with the shape of `defaults.yaml`; it takes precedence over files.
        seed: makes a fit repeatable on CPU.
        verbose: Keras's training output: "auto", 0 (silent), 1 (progress bar) or 2 (a line per epoch).

    After `fit`, learned state lives in attributes ending in `_`; `model` is the trained `keras.Model`.
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
        names = [self.target] if isinstance(self.target, str) else list(self.target)
        if not names or not all(isinstance(n, str) for n in names):
            raise ConfigTypeError(f"target must be a column name or a list of column names. Received: "
                                  f"{self.target!r}.")
        return names

    def _config_layers(self):
        layers = []
        sources = self.config if isinstance(self.config, (list, tuple)) else [self.config]
        for source in sources:
            if source is None:
                continue
            if isinstance(source, dict):
                layers.append(("the config mapping", source))
            elif isinstance(source, (str, os.PathLike)):
                layers.append((f"'{source}'", table.read_yaml(source)))
            else:
                raise ConfigTypeError(f"config must be a YAML file path, a list of paths or a mapping. Received: "
                                      f"{type(source).__name__}.")
        if self.overrides:
            layers.append(("overrides= argument", self.overrides))
        if self.column_types:
            if not isinstance(self.column_types, dict):
                raise ConfigTypeError(f"column_types must map column names to kinds. Received: "
                                      f"{self.column_types!r}.")
            layers.append(("column_types= argument", {"columns": {c: {"kind": k} for c, k in
                                                                  self.column_types.items()}}))
        return layers

    def _resolve_config(self, extra=None):
        layers = self._config_layers()
        if extra:
            layers.append(("fit() argument", extra))
        return table.Config.build(layers)

    # ------------------------------------------------------------------ learning
    def prepare(self, df):
        """Learn column kinds and encoder statistics from `df` (or from files, as `fit` reads them) without
        training; returns self."""
        if streaming.is_file_source(df):
            streaming.prepare_files(self, df)
        else:
            self._prepare(df)
        return self

    def _prepare(self, df, extra_config=None):
        config = self._resolve_config(extra_config)
        targets = self.targets
        frame = frames.as_frame(df, "the training data")
        frames.check_targets(frame, targets)
        frame = frames.drop_missing_targets(frame, targets)
        unknown = [c for c in config.get("columns") if c not in frame.columns]
        if unknown:
            c = unknown[0]
            raise ConfigError(f"A column entry names '{c}' (from {config.origin('columns', c)}), which is not in the "
                              f"DataFrame." + table.did_you_mean(c, frame.columns))
        forced = {c: e["kind"] for c, e in config.get("columns").items() if "kind" in e}
        target_specs = {name: self._fit_target(frame[name], name, config, forced.get(name)) for name in targets}
        profiles = infer_schema(frame, config.get("inference"), config.get("inputs", "boolean"), forced,
                                skip=set(targets))
        used = {name: p for name, p in profiles.items() if p.kind != IGNORE}
        if not used:
            raise DataError("No input column is left to learn from: every column other than the target was set "
                            "aside. See the warning above, or force a column's kind with column_types=.")
        settings, states = {}, {}
        for name, profile in used.items():
            table.validate_column_entry(config, name, profile.kind, "input")
            settings[name] = table.column_settings(config, name, profile.kind, "input")
            states[name] = ENCODERS[profile.kind].fit_input(frame[name], profile, settings[name])
        self.config_ = config
        self.profiles_ = profiles
        self.input_settings_ = settings
        self.input_states_ = states
        self.targets_ = target_specs
        self.preprocessor_ = build_preprocessor(used, states, settings)
        return frame

    def _fit_target(self, series, name, config, forced_kind):
        profile = infer_column(series, name, config.get("inference"), config.get("inputs", "boolean"), forced_kind)
        kind = profile.kind
        if profile.n_unique < 2:
            raise DataError(f"Target '{name}' has a single value ({profile.sample}) in every row with a target: a "
                            f"model cannot learn anything from it. Check the column, or drop the rows that make it "
                            f"constant.")
        if kind == "text":
            raise DataError(f"Target '{name}' looks like free text ({profile.reason}); text cannot be predicted. "
                            f"If it holds labels, force it: column_types={{'{name}': 'categorical'}}.")
        if kind == IGNORE:
            # ID-like numbers are still a perfectly good regression target; labels that are all distinct are not.
            if profile.input_dtype == "float32":
                kind = "numerical"
            else:
                raise DataError(f"Target '{name}' has a different value in every row ({profile.reason}); it cannot "
                                f"be learned as classes. Force its kind with column_types= if this is intended.")
        if not ENCODERS[kind].can_be_target:
            raise DataError(f"A {kind} column cannot be a target: '{name}'.")
        profile = dataclasses.replace(profile, kind=kind)
        table.validate_column_entry(config, name, kind, "target")
        settings = table.column_settings(config, name, kind, "target")
        _check_loss_fits(settings, kind, name, config)
        state = ENCODERS[kind].fit_target(series, profile, settings)
        return TargetSpec(name, kind, profile, state, settings)

    def build_model(self, body=None):
        """The compiled, untrained model: raw columns in, predictions in the user's units out.

        `body`, a callable from the encoded feature tensor to a hidden tensor, replaces the default MLP: a custom
        body between the automatic inputs and heads. Needs `prepare(df)` (or `fit`) first.
        """
        self._check_prepared()
        _, served = self._build(body)
        return served

    def _build(self, body=None):
        used = {n: p for n, p in self.profiles_.items() if p.kind != IGNORE}
        network = build_network(self.preprocessor_, used, self.input_states_, self.targets_,
                                self.config_.get("body"), body)
        served = build_served_model(self.preprocessor_, network, self.targets_)
        compile_model(served, self.targets_, self.config_.get("optimizer"))
        return network, served

    def fit(self, df, *, epochs=None, batch_size=None, body=None, distribution=None):
        """Learn kinds and statistics from `df`, then build and train the model; returns self.

        `df` is a DataFrame, or data files streamed in chunks: a CSV/Parquet path, a glob such as
        "data/*.parquet", a directory, or a list of those. `distribution` ("mirrored" or "multi_worker") trains
        on several devices or machines; it is `training.distribution` in YAML.
        """
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        given = (("epochs", epochs), ("batch_size", batch_size), ("distribution", distribution))
        extra = {"training": {k: v for k, v in given if v is not None}}
        extra = extra if extra["training"] else None
        # Created before anything else runs in TensorFlow, as a multi-worker strategy requires.
        strategy = distribute.strategy(self._resolve_config(extra).get("training", "distribution"))
        if streaming.is_file_source(df):
            data = streaming.prepare_files(self, df, extra)
        else:
            data = self._prepare(df, extra)
        training = self.config_.get("training")
        with distribute.scope(strategy):
            network, served = self._build(body)
            compile_model(network, self.targets_, self.config_.get("optimizer"))
        distribute.prepare_network(network, strategy)
        arguments = streaming.fit_arguments(self, data, training)
        callbacks = []
        if arguments["validation_data"] is not None:
            stopping = training["early_stopping"]
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=stopping["patience"],
                                                           restore_best_weights=stopping["restore_best_weights"]))
        history = network.fit(**arguments, epochs=training["epochs"], callbacks=callbacks, verbose=self.verbose)
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        self.network_ = network
        self.model_ = served
        return self

    def _split(self, frame, fraction):
        if not fraction or len(frame) * fraction < 2 or len(frame) - len(frame) * fraction < 2:
            return np.arange(len(frame)), None
        first = self.targets_[self.targets[0]]
        stratify = None
        if first.kind != "numerical":
            counts = frame[first.name].value_counts()
            if counts.min() >= 2 and len(frame) * fraction >= len(counts):
                stratify = frame[first.name].astype(str).to_numpy()
        train_idx, val_idx = train_test_split(np.arange(len(frame)), test_size=fraction, stratify=stratify,
                                              random_state=self.seed if self.seed is not None else 0)
        return train_idx, val_idx

    def _encode(self, frame):
        """Run the preprocessing layers once over the frame; training then reads the cached features."""
        return streaming.encode(self, frame, streaming.encoder(self.preprocessor_))

    def _raw_inputs(self, frame):
        used = {n: p for n, p in self.profiles_.items() if p.kind != IGNORE}
        frames.check_columns_present(frame, list(used))
        return {name: input_tensor(frame[name], profile) for name, profile in used.items()}

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

    def _outputs(self, df):
        self._check_fitted()
        frame = frames.as_frame(df, "the data to predict")
        raw = self._raw_inputs(frame)
        dataset = tf.data.Dataset.from_tensor_slices(raw).batch(_PREDICT_BATCH)
        outputs = self.model_.predict(dataset, verbose=0) if len(frame) else None
        return frame, outputs

    def _probabilities(self, target, output):
        if target.kind == "boolean":
            p = np.asarray(output, dtype="float64").reshape(-1)
            return np.column_stack([1.0 - p, p])
        return np.asarray(output, dtype="float64")

    def predict(self, df, out=None):
        """Predictions in the user's own labels and units: a Series named after the target, with `df`'s index.

        With several targets, a DataFrame with one column per target. `df` may be data files (as in `fit`): they
        are predicted chunk by chunk, and with `out` (a .csv or .parquet path) written there as they come.
        """
        if out is not None or streaming.is_file_source(df):
            self._check_fitted()
            return streaming.predict_files(self, df, out)
        frame, outputs = self._outputs(df)
        columns = {}
        for name, target in self.targets_.items():
            if outputs is None:
                columns[name] = pd.Series([], dtype="float64" if target.kind == "numerical" else object)
                continue
            if target.kind == "numerical":
                values = np.asarray(outputs[name], dtype="float64").reshape(-1)
            else:
                classes = np.array(target.classes, dtype=object)
                values = classes[self._probabilities(target, outputs[name]).argmax(axis=1)]
            columns[name] = pd.Series(values, index=frame.index, name=name).infer_objects()
        if len(columns) == 1:
            return next(iter(columns.values()))
        return pd.DataFrame(columns, index=frame.index)

    def predict_proba(self, df, out=None):
        """Class probabilities: a DataFrame whose columns are the class labels, with `df`'s index.

        With several targets, a dict {target: DataFrame} over the classification targets. Files and `out` work as
        in `predict`.
        """
        if out is not None or streaming.is_file_source(df):
            self._check_fitted()
            return streaming.predict_files(self, df, out, proba=True)
        frame, outputs = self._outputs(df)
        tables = {}
        for name, target in self.targets_.items():
            if target.kind == "numerical":
                continue
            values = self._probabilities(target, outputs[name]) if outputs is not None else np.zeros(
                (0, len(target.classes)))
            tables[name] = pd.DataFrame(values, index=frame.index, columns=list(target.classes))
        if not tables:
            raise DataError(f"predict_proba needs a classification target; {self.targets} is a regression target. "
                            f"Use predict(df).")
        if len(self.targets_) == 1:
            return tables[self.targets[0]]
        return tables

    def evaluate(self, df):
        """Metrics on a labelled frame, in the user's units: a dict {metric: value}.

        With several targets, keys are '<target>/<metric>'. `df` may be data files, as in `fit`.
        """
        self._check_fitted()
        if streaming.is_file_source(df):
            return streaming.evaluate_files(self, df)
        frame = frames.as_frame(df, "the data to evaluate")
        frames.check_targets(frame, self.targets)
        frame = frames.drop_missing_targets(frame, self.targets)
        predictions = self.predict(frame)
        probabilities = None
        results = {}
        for name, target in self.targets_.items():
            truth = frame[name]
            predicted = predictions if isinstance(predictions, pd.Series) else predictions[name]
            if target.kind == "numerical":
                scores = _regression_scores(truth, predicted)
            else:
                if probabilities is None:
                    probabilities = self.predict_proba(frame)
                proba = probabilities if isinstance(probabilities, pd.DataFrame) else probabilities[name]
                scores = _classification_scores(truth, predicted, proba, target)
            prefix = "" if len(self.targets_) == 1 else f"{name}/"
            results.update({prefix + k: v for k, v in scores.items()})
        return results

    # ------------------------------------------------------------------ explaining
    def explain(self):
        """Every choice and why: one row per column (kind, evidence, encoding) and per target and model setting."""
        self._check_prepared()
        from keras_defaults.explain import explanation

        return explanation(self)

    # ------------------------------------------------------------------ saving
    def export(self, path, format="keras"):
        """Write the trained model for serving.

        format="keras": a compiled `.keras` file; load it with `keras.saving.load_model` (safe mode) after
        `import keras_defaults`. format="tf_saved_model": a TensorFlow SavedModel whose `serving_default`
        signature takes one tensor per column and runs with TensorFlow alone.
        """
        self._check_fitted()
        from keras_defaults import export as exporting

        if format == "keras":
            return exporting.export_keras(self.model_, path)
        if format == "tf_saved_model":
            return exporting.export_saved_model(self, path)
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
            "inputs": {name: {"profile": p.to_dict(), "state": self.input_states_.get(name),
                              "settings": self.input_settings_.get(name)} for name, p in self.profiles_.items()},
            "targets": {name: t.to_dict() for name, t in self.targets_.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (staging / STATE_FILE).write_text(json.dumps(state, indent=1, default=_json_default), encoding="utf-8")
            self.model_.save(staging / MODEL_FILE)
            _replace_dir(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path):
        """Load an Automater saved with `save`; it predicts exactly as the saved one did."""
        path = Path(path)
        state_file, model_file = path / STATE_FILE, path / MODEL_FILE
        if not state_file.is_file() or not model_file.is_file():
            raise UnsafeFileError(f"'{path}' is not a saved Automater: it needs both {STATE_FILE} and {MODEL_FILE}.")
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise UnsafeFileError(f"'{state_file}' is not valid JSON ({error}); the save may be corrupt.") from None
        if not isinstance(state, dict) or set(state) != _STATE_KEYS:
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise UnsafeFileError(f"'{state_file}' does not have the keys of a saved Automater "
                                  f"(expected {sorted(_STATE_KEYS)}, found {keys}); refusing to load it.")
        if state["format_version"] != FORMAT_VERSION:
            raise UnsafeFileError(f"'{path}' was saved in format {state['format_version']}; this version reads "
                                  f"format {FORMAT_VERSION}.")
        from keras_defaults.export import load_keras

        model = load_keras(model_file)
        params = state["params"]
        auto = cls(target=params["target"], column_types=params["column_types"], seed=params["seed"],
                   verbose=params["verbose"])
        auto.config_ = table.Config(state["config"], {tuple(k): v for k, v in state["origins"]})
        auto.profiles_ = {n: ColumnProfile.from_dict(e["profile"]) for n, e in state["inputs"].items()}
        auto.input_states_ = {n: e["state"] for n, e in state["inputs"].items() if e["state"] is not None}
        auto.input_settings_ = {n: e["settings"] for n, e in state["inputs"].items() if e["settings"] is not None}
        auto.targets_ = {n: TargetSpec.from_dict(t) for n, t in state["targets"].items()}
        auto.model_ = model
        auto.preprocessor_ = model.get_layer("preprocessor")
        auto.network_ = model.get_layer("network")
        return auto


def _check_loss_fits(settings, kind, name, config):
    """A loss listed for another target kind (and not this one) cannot fit this target."""
    from keras_defaults.encoders.categorical import loss_name

    loss = loss_name(settings["loss"])
    own = set(settings.get("losses", {}))
    if loss in own:
        return
    for other in table.TARGET_KINDS:
        if other != kind and loss in config.get("targets", other).get("losses", {}):
            raise ConfigError(f"Loss '{loss}' is for {other} targets, but target '{name}' is {kind} (from "
                              f"{table.setting_origin(config, name, kind, 'target', 'loss')}). "
                              + expected_one_of("loss", loss, own))
    try:
        keras.losses.get(loss)
    except (ValueError, TypeError):
        raise ConfigError(f"Unknown loss for target '{name}'. " + expected_one_of("loss", loss, own)) from None


def _regression_scores(truth, predicted):
    y = frames_numeric(truth)
    p = predicted.to_numpy(dtype="float64")
    return {"rmse": float(np.sqrt(sk_metrics.mean_squared_error(y, p))),
            "mae": float(sk_metrics.mean_absolute_error(y, p)),
            "r2": float(sk_metrics.r2_score(y, p)) if len(y) > 1 else float("nan")}


def frames_numeric(series):
    from keras_defaults.schema import numeric_values

    return numeric_values(series)


def _classification_scores(truth, predicted, proba, target):
    from keras_defaults.encoders.boolean import _python

    labels = [_python(v) for v in truth]
    index = {c: i for i, c in enumerate(target.classes)}
    known = np.array([label in index for label in labels])
    scores = {"accuracy": float(np.mean([a == b for a, b in zip(labels, predicted.tolist())]))}
    if known.any():
        codes = np.array([index[label] for label, k in zip(labels, known) if k])
        p = np.clip(proba.to_numpy()[known], 1e-7, 1.0)
        p = p / p.sum(axis=1, keepdims=True)  # float32 softmax sums drift from 1 by a few ulps
        scores["log_loss"] = float(sk_metrics.log_loss(codes, p,
                                                       labels=list(range(len(target.classes)))))
        if len(np.unique(codes)) > 1:
            if target.kind == "boolean":
                scores["roc_auc"] = float(sk_metrics.roc_auc_score(codes, p[:, 1]))
            elif len(np.unique(codes)) == len(target.classes):
                scores["roc_auc_ovr"] = float(sk_metrics.roc_auc_score(codes, p, multi_class="ovr"))
    return scores


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def _replace_dir(staging, path):
    """Move a finished save into place; a reader never sees a half-written directory under `path`."""
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(staging, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, path)


def _version():
    from keras_defaults import __version__

    return __version__


__all__ = ["Automater", "TargetSpec", "layer_name", "warnings"]
