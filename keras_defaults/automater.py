"""The Automater: a DataFrame and a target name in; a trained, explained, exportable Keras model out."""

import dataclasses
import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn import metrics as sk_metrics
from sklearn.model_selection import train_test_split

from keras_defaults import defaults as table
from keras_defaults import distribute, frames, profile_check, streaming
from keras_defaults.encoders import ENCODERS, input_tensor
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, NotFittedError, UnsafeFileError
from keras_defaults.errors import expected_one_of, warn
from keras_defaults.export import replace_dir
from keras_defaults.model import (build_network, build_preprocessor, build_served_model, canonical_loss,
                                  check_activation, check_model_config, compile_model, keras_loss, keras_metric)
from keras_defaults.schema import IGNORE, ColumnProfile, infer_column, infer_schema, numeric_values, python_value
from keras_defaults.state_file import FORMAT_VERSION, read_state

STATE_FILE = "automater.json"
MODEL_FILE = "model.keras"
_PREDICT_BATCH = 8192


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
        """The user's layers in precedence order: files, then keyword arguments (see defaults.py)."""
        layers = []
        sources = self.config if isinstance(self.config, (list, tuple)) else [self.config]
        for source in sources:
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

    def _resolve_config(self, extra=None, check=True):
        layers = self._config_layers()
        if extra:
            layers.append((table.argument_source("fit()"), extra))
        config = table.Config.build(layers)
        if check:
            # Builds an optimizer, which starts TensorFlow: a multi-worker strategy must exist before (see fit).
            check_model_config(config)
        return config

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
        self._said = set()  # predict's once-only warnings describe a training profile: a new one starts afresh
        frame = frames.as_frame(df, "the training data")
        frames.check_targets(frame, targets)
        frame = frames.drop_missing_targets(frame, targets)
        frames.check_rows(frame, targets, config.get("training", "validation_split"))
        unknown = [c for c in config.get("columns") if c not in frame.columns]
        if unknown:
            c = unknown[0]
            raise ConfigError(f"The {config.origin('columns', c)} names '{c}', which is not in the DataFrame."
                              f"{table.did_you_mean(c, frame.columns)} Columns: {list(frame.columns)[:20]}.")
        forced = {c: e["kind"] for c, e in config.get("columns").items() if "kind" in e}
        ignored = [t for t in targets if forced.get(t) == IGNORE]
        if ignored:
            raise ConfigError(f"Target column(s) {ignored} are set to kind 'ignore' (from "
                              f"{config.origin('columns', ignored[0], 'kind')}); a target cannot be left out. Remove "
                              f"that entry, or choose another target.")
        target_specs = {name: self._fit_target(frame[name], name, config, forced.get(name)) for name in targets}
        _check_balance(frame, target_specs, config.get("training"))
        frame = frames.non_finite_as_missing(frame, [c for c in frame.columns if c not in targets
                                                     and forced.get(c) not in (IGNORE, "text", "categorical")])
        profiles = infer_schema(frame, config.get("inference"), config.get("inputs", "boolean"), forced,
                                skip=set(targets))
        used = {name: p for name, p in profiles.items() if p.kind != IGNORE}
        if not used:
            raise DataError("No input column is left to learn from: every column other than the target was set "
                            "aside. See the warning above, or force a column's kind with column_types=.")
        frames.warn_leaks(frame, targets, list(used))
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
        if kind not in ("numerical", IGNORE) and profile.n_unique != series.dropna().nunique():
            # Classes are the raw values, but inference read some of them as one (as the model reads inputs).
            raise DataError(f"Target '{name}' holds labels that are one value written in different ways (e.g. 1 and "
                            f"'1', or '0.0' and '-0.0'), which as classes would be confused. Make them uniform, e.g. "
                            f"df['{name}'].astype(str) for labels or pd.to_numeric(df['{name}']) for numbers.")
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
        if kind == "numerical":
            frames.check_target_range(series, name)
        table.validate_column_entry(config, name, kind, "target")
        settings = table.column_settings(config, name, kind, "target")
        settings["loss"] = _check_loss_fits(settings, kind, name, config)
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
        strategy = distribute.strategy(self._resolve_config(extra, check=False).get("training", "distribution"))
        if streaming.is_file_source(df):
            data = streaming.prepare_files(self, df, extra)
        else:
            data = self._prepare(df, extra)
        training = self.config_.get("training")
        with distribute.scope(strategy):
            network, served = self._build(body)
            compile_model(network, self.targets_, self.config_.get("optimizer"))
        distribute.prepare_network(network, strategy)
        weights = None if isinstance(data, streaming.Files) else _sample_weights(data, self.targets_, training)
        arguments = streaming.fit_arguments(self, data, training, weights)
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
        if frames.validation_rows(len(frame), fraction) == 0:
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
        raw = {}
        for name, profile in used.items():
            try:
                raw[name] = input_tensor(frame[name], profile)
            except (TypeError, ValueError) as error:
                wanted = "numbers" if profile.input_dtype == "float32" else "strings"
                raise DataError(f"Column '{name}' cannot be read as {wanted} (dtype {frame[name].dtype}, e.g. "
                                f"{frame[name].head(3).tolist()}): {error}. Convert it to the type it had in "
                                f"training ({profile.dtype}).") from None
        return raw

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

    def _outputs(self, df, what="the data to predict"):
        """Check `df` against the training profile, then run the model once: (the frame, outputs by target)."""
        self._check_fitted()
        frame = frames.as_frame(df, what, strict=False)
        if not hasattr(self, "_said"):  # a loaded Automater
            self._said = set()
        profile_check.check(frame, self.profiles_, self.targets, self.input_states_, self._said)
        outputs = _run_in_batches(self.model_, self._raw_inputs(frame), len(frame)) if len(frame) else None
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
        return self._predictions(*self._outputs(df))

    def _predictions(self, frame, outputs):
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
        return self._probability_tables(*self._outputs(df))

    def _probability_tables(self, frame, outputs):
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
        frame = frames.as_frame(df, "the data to evaluate", strict=False)
        frames.check_targets(frame, self.targets)
        frame, outputs = self._outputs(frames.drop_missing_targets(frame, self.targets), "the data to evaluate")
        predictions = self._predictions(frame, outputs)
        probabilities = None
        results = {}
        for name, target in self.targets_.items():
            truth = frame[name]
            predicted = predictions if isinstance(predictions, pd.Series) else predictions[name]
            if target.kind == "numerical":
                scores = _regression_scores(truth, predicted)
            else:
                if probabilities is None:
                    probabilities = self._probability_tables(frame, outputs)
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
        if path.exists() and not _is_saved_automater(path):
            # Saving replaces the directory whole: never do that to one holding anything but a previous save.
            raise DataError(f"'{path}' exists and is not a saved Automater; saving there would delete what it holds. "
                            f"Choose a new directory, or remove this one first.")
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (staging / STATE_FILE).write_text(json.dumps(state, indent=1, default=_json_default), encoding="utf-8")
            self.model_.save(staging / MODEL_FILE)
            replace_dir(staging, path)
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
        state = read_state(state_file, inspect.signature(cls).parameters)
        from keras_defaults.export import load_keras

        model = load_keras(model_file)
        auto = cls(**state["params"])
        auto.config_ = table.Config(state["config"], {tuple(k): v for k, v in state["origins"]})
        auto.profiles_ = {n: ColumnProfile.from_dict(e["profile"]) for n, e in state["inputs"].items()}
        auto.input_states_ = {n: e["state"] for n, e in state["inputs"].items() if e["state"] is not None}
        auto.input_settings_ = {n: e["settings"] for n, e in state["inputs"].items() if e["settings"] is not None}
        auto.targets_ = {n: TargetSpec.from_dict(t) for n, t in state["targets"].items()}
        used = {n for n, p in auto.profiles_.items() if p.kind != IGNORE}
        try:
            auto.preprocessor_ = model.get_layer("preprocessor")
            auto.network_ = model.get_layer("network")
        except ValueError:
            auto.preprocessor_ = auto.network_ = None
        if (auto.preprocessor_ is None or set(model.input) != used or set(auto.network_.output) != set(auto.targets_)
                or set(auto.targets_) != set(auto.targets)):
            raise UnsafeFileError(f"'{path}': {MODEL_FILE} does not match {STATE_FILE} (their columns or targets "
                                  f"differ); the two files do not come from the same save.")
        auto.model_ = model
        return auto


# Losses that read the target in its own units (logarithms, ratios): meaningless on a standardised target.
_UNSCALED_LOSSES = {"mean_squared_logarithmic_error", "poisson", "mean_absolute_percentage_error"}


def _is_saved_automater(path):
    """A directory holding exactly what `save` writes (an empty one counts too)."""
    return path.is_dir() and {p.name for p in path.iterdir()} <= {STATE_FILE, MODEL_FILE}


def _check_loss_fits(settings, kind, name, config):
    """Check a target's loss, metrics and activation before any data is encoded; returns the loss to compile.

    The loss must be one Keras knows, and not one that `defaults.yaml` lists for another kind of target (binary
    cross-entropy on a regression target, say). A categorical target takes only the losses listed for it, since its
    labels are encoded (integers or one-hot) for those. A class name (Huber) is returned as the function name
    (huber) that the label encoding reads.
    """
    def origin(key):
        return table.setting_origin(config, name, kind, "target", key)

    spec = settings["loss"]
    given = spec["name"] if isinstance(spec, dict) else spec
    where = f" for target '{name}' (from {origin('loss')})"
    documented = {other: list(config.get("targets", other).get("losses", {})) for other in table.TARGET_KINDS}
    loss = canonical_loss(given, where, also=[n for names in documented.values() for n in names])
    keras_loss(spec, where)
    listed = {other: _canonical_names(names) for other, names in documented.items()}
    if loss not in listed[kind]:
        others = [other for other in table.TARGET_KINDS if other != kind and loss in listed[other]]
        if others or kind == "categorical":
            why = f"is for {others[0]} targets" if others else "is not one its labels can be encoded for"
            raise ConfigError(f"Loss '{given}' {why}, but target '{name}' is {kind} (loss from {origin('loss')}). "
                              + expected_one_of("loss", given, config.get("targets", kind).get("losses", {})))
    if kind == "numerical" and loss in _UNSCALED_LOSSES and settings["standardize"]:
        raise ConfigError(f"Loss '{given}'{where} works on the target in its own units, but the target is "
                          f"standardised before training (standardize: true). Add standardize: false next to the "
                          f"loss, e.g. targets: {{numerical: {{loss: {given}, standardize: false}}}}.")
    for metric in settings["metrics"]:
        keras_metric(metric, f" for target '{name}' (from {origin('metrics')})")
    check_activation(settings["activation"], f" for target '{name}' (from {origin('activation')})")
    if given == given.lower():
        return spec
    return {"name": loss, **{k: v for k, v in spec.items() if k != "name"}} if isinstance(spec, dict) else loss


def _canonical_names(losses):
    names = set()
    for listed in losses:
        try:
            names.add(canonical_loss(listed))
        except ConfigError:
            names.add(listed)  # a note on a name Keras does not know: documentation only
    return names


_CLASS_WEIGHTS = ("auto", "balanced", "none")


def _class_counts(frame, target):
    return frame[target.name].astype(object).value_counts()


def _weighted(counts, training):
    """Whether a classification target's rows are weighted: training.class_weight, with `auto` deciding by the
    ratio of its most to its least frequent class."""
    choice = training["class_weight"]
    if choice not in _CLASS_WEIGHTS:
        raise ConfigError("Unknown training.class_weight. " + expected_one_of("class_weight", choice, _CLASS_WEIGHTS))
    if choice == "auto":
        return counts.max() / counts.min() >= training["imbalance_ratio"]
    return choice == "balanced"


def _check_balance(frame, targets, training):
    """Warn about a heavily imbalanced classification target, saying what training does about it."""
    for target in targets.values():
        if target.kind == "numerical":
            continue
        counts = _class_counts(frame, target)
        ratio = counts.max() / counts.min()
        weighted = _weighted(counts, training)
        if ratio < training["imbalance_ratio"]:
            continue
        if weighted:
            done = (f"Rows are weighted so that each class counts equally in the loss (training.class_weight: "
                    f"{training['class_weight']}); 'none' trains on the raw frequencies, which keeps predicted "
                    f"probabilities calibrated.")
        else:
            done = ("Rows are not weighted (training.class_weight: none), which keeps probabilities calibrated and "
                    "accuracy high, but the rare class may seldom be predicted; when its recall matters more, set "
                    "training: {class_weight: balanced}, or use a focal loss (e.g. binary_focal_crossentropy).")
        warn(f"Target '{target.name}' is heavily imbalanced: its rarest class {counts.idxmin()!r} has "
             f"{counts.min()} of {int(counts.sum())} rows, {ratio:.0f} times fewer than the most frequent. {done}")


def _sample_weights(frame, targets, training):
    """Per-row weights by target, {name: array}, or None when no target is weighted (see training.class_weight).

    Balanced weights (scikit-learn's): a row of class c weighs rows / (classes * rows of c), so each class carries the
    same total weight and the mean weight is 1.
    """
    from sklearn.utils.class_weight import compute_sample_weight

    weights = {}
    for name, target in targets.items():
        if target.kind != "numerical" and _weighted(_class_counts(frame, target), training):
            codes = pd.factorize(frame[name].astype(object))[0]
            weights[name] = compute_sample_weight("balanced", codes).astype("float32")
    if not weights:
        return None
    return {name: weights.get(name, np.ones(len(frame), dtype="float32")) for name in targets}


def _run_in_batches(model, raw, rows):
    """Run `model` on raw columns, batch by batch, without tracing a graph: a wide frame's thousands of per-column
    layers take far longer to trace and optimise than to run (1,000 columns: over a minute, against a second or
    two), and a narrow one runs as fast eagerly. Returns {output: numpy array}."""
    parts = []
    for start in range(0, rows, _PREDICT_BATCH):
        batch = {name: values[start:start + _PREDICT_BATCH] for name, values in raw.items()}
        parts.append({name: keras.ops.convert_to_numpy(out) for name, out in model(batch, training=False).items()})
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _regression_scores(truth, predicted):
    y = numeric_values(truth)
    p = predicted.to_numpy(dtype="float64")
    return {"rmse": float(np.sqrt(sk_metrics.mean_squared_error(y, p))),
            "mae": float(sk_metrics.mean_absolute_error(y, p)),
            "r2": float(sk_metrics.r2_score(y, p)) if len(y) > 1 else float("nan")}


def _classification_scores(truth, predicted, proba, target):
    labels = [python_value(v) for v in truth]
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


def _version():
    from keras_defaults import __version__

    return __version__


__all__ = ["Automater", "TargetSpec"]
