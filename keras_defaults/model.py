"""The Keras model: raw inputs -> preprocessing (fixed statistics) -> body (trainable) -> one head per target.

Three functional models share their layers:
- the *preprocessor* turns a dict of raw columns into encoded features: `{"features": (batch, width)}` plus one
  integer index tensor per embedded column. It has no trainable weights, so training runs it once and caches its
  output;
- the *network* maps encoded features to the heads' outputs on the scale the losses see (standardised regression
  targets); it is what the optimizer trains;
- the *served model* chains the two and decodes regression heads back to the user's units: raw columns in,
  predictions out. It is what `Automater.model` is, what `export` writes, and what `predict` runs.
"""

import hashlib
import re
import warnings

import keras

from keras_defaults.encoders import ENCODERS
from keras_defaults.encoders.categorical import loss_name
from keras_defaults.errors import ConfigError, expected_one_of
from keras_defaults.layers import TargetDecoder

FEATURES = "features"


# Names of the layers that do not belong to one column. A column may bear any of these names, so column names that
# equal one are renamed in the graph (see `layer_name`).
_FIXED_NAMES = {FEATURES, "all_features", "preprocessor", "network", "keras_defaults_model"}
_FIXED_PATTERN = re.compile(r"body_(dense|norm|dropout)_\d+")


def _reserved(name):
    return name in _FIXED_NAMES or _FIXED_PATTERN.fullmatch(name) is not None


def layer_name(column):
    """The base of the Keras names of one column's layers: ASCII letters, digits, '.', '-' and single underscores.

    TensorFlow's name scopes accept only those characters, so any other run of characters becomes one '_', and a
    name that had to change (or that equals a fixed layer name) gets a hash of the original, so that two columns
    never share a base. A base never contains '__', and every per-column layer is named `<base>__<part>`
    (`layer_prefix`), so a column's layers cannot take the name of another column or of its input.
    """
    column = str(column)
    base = re.sub(r"[^A-Za-z0-9.\-]+", "_", column).strip("_")
    if not re.match(r"[A-Za-z0-9]", base):
        base = f"c{base}" if base else "column"
    if base != column or _reserved(base):
        base = f"{base}_{hashlib.sha256(column.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
    return base


def layer_prefix(column):
    """The prefix of one column's layers: with the encoders' '_<part>' suffixes, names of the form <base>__<part>."""
    return f"{layer_name(column)}_"


def input_name(column):
    """The name of a column's raw input: the column's own name where Keras and the other layer names allow it."""
    column = str(column)
    if column and "/" not in column and "__" not in column and not _reserved(column):
        return column
    return layer_name(column)


def index_key(column):
    return f"{layer_name(column)}__index"


def raw_inputs(profiles):
    """One Keras input per used column, keyed by the column's name; scalars per row, strings or float32."""
    return {
        name: keras.Input(shape=(), dtype="string" if p.input_dtype == "string" else "float32",
                          name=input_name(name))
        for name, p in profiles.items()
    }


def build_preprocessor(profiles, states, settings):
    """The raw-columns-to-features model, built from statistics already computed with pandas."""
    inputs = raw_inputs(profiles)
    dense, outputs = [], {}
    for name, profile in profiles.items():
        encoded = ENCODERS[profile.kind].encode_input(inputs[name], states[name], settings[name], layer_prefix(name))
        if encoded.dense is not None:
            dense.append(encoded.dense)
        if encoded.index is not None:
            outputs[index_key(name)] = encoded.index
    if dense:
        outputs[FEATURES] = dense[0] if len(dense) == 1 else keras.layers.Concatenate(name="features")(dense)
    return functional(inputs, outputs, "preprocessor")


def encoded_inputs(preprocessor):
    """Inputs of the network, matching the preprocessor's outputs."""
    return {key: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=key)
            for key, tensor in preprocessor.output.items()}


def embedded_features(inputs, profiles, states):
    """Embed the indexed columns and concatenate everything into one feature tensor: the keras-pandas 'nubs'."""
    parts = [inputs[FEATURES]] if FEATURES in inputs else []
    for name, profile in profiles.items():
        key = index_key(name)
        if key in inputs:
            input_dim, output_dim = ENCODERS[profile.kind].embedding_shape(states[name])
            embedded = keras.layers.Embedding(input_dim, output_dim, name=f"{layer_name(name)}__embedding")(inputs[key])
            parts.append(embedded)
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="all_features")(parts)


def mlp_body(features, body):
    """The default body: Dense layers of `units`, each followed by optional batch norm and dropout."""
    x = features
    for i, units in enumerate(body["units"]):
        x = keras.layers.Dense(units, activation=body["activation"], name=f"body_dense_{i}")(x)
        if body["batch_norm"]:
            x = keras.layers.BatchNormalization(name=f"body_norm_{i}")(x)
        if body["dropout"]:
            x = keras.layers.Dropout(body["dropout"], name=f"body_dropout_{i}")(x)
    return x


def build_network(preprocessor, profiles, states, targets, body_config, body=None):
    """Encoded features -> body -> heads. `body`, if given, is a callable tensor -> tensor that replaces the MLP."""
    inputs = encoded_inputs(preprocessor)
    features = embedded_features(inputs, profiles, states)
    hidden = body(features) if body is not None else mlp_body(features, body_config)
    outputs = {name: ENCODERS[t.kind].head(hidden, t.state, t.settings, layer_name(name)) for name, t in targets.items()}
    return keras.Model(inputs, outputs, name="network")


def build_served_model(preprocessor, network, targets):
    """Raw columns in, predictions in the user's units out."""
    inputs = raw_inputs_like(preprocessor)
    outputs = network(preprocessor(inputs))
    served = {}
    for name, target in targets.items():
        out = outputs[name]
        if target.kind == "numerical":
            out = TargetDecoder(target.state["center"], target.state["scale"], target.state["log1p"],
                                name=f"{layer_name(name)}__in_user_units")(out)
        served[name] = out
    return functional(inputs, served, "keras_defaults_model")


def functional(inputs, outputs, name):
    """A functional model over raw columns. An input is keyed by its column's name, which Keras would like to be the
    input's name too; where a column's name cannot be a layer name (see `input_name`), Keras's warning says only
    that, so it is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        return keras.Model(inputs, outputs, name=name)


def raw_inputs_like(preprocessor):
    return {key: keras.Input(shape=(), dtype=tensor.dtype, name=tensor.name)
            for key, tensor in preprocessor.input.items()}


def make_optimizer(config):
    """A Keras optimizer from the `optimizer` section: its name plus any of its keyword arguments."""
    settings = {k: v for k, v in config.items() if k not in ("name", "choices")}
    name = config["name"]
    try:
        return keras.optimizers.get({"class_name": name, "config": settings})
    except (ValueError, TypeError) as error:
        known = sorted(config.get("choices", {}))
        if "Could not interpret" in str(error) or "Unknown" in str(error) or "could not be" in str(error):
            raise ConfigError("Unknown optimizer. " + expected_one_of("optimizer.name", name, known + [
                "adadelta", "adafactor", "adagrad", "adamax", "ftrl", "lamb", "lion", "nadam"])) from None
        raise ConfigError(f"Optimizer '{name}' does not accept these settings {settings}: {error}") from None


def as_keras_object(spec):
    """A loss or metric from YAML: a name, or a mapping {name: ..., <its arguments>}."""
    if isinstance(spec, dict):
        args = {k: v for k, v in spec.items() if k != "name"}
        return keras.losses.get({"class_name": spec["name"], "config": args}) if args else spec["name"]
    return spec


def compile_model(model, targets, optimizer_config):
    """Compile with one loss and metric list per head, from the targets' settings."""
    losses, metrics = {}, {}
    for name, target in targets.items():
        losses[name] = as_keras_object(target.settings["loss"])
        metrics[name] = [_metric(m, target) for m in target.settings["metrics"]]
    model.compile(optimizer=make_optimizer(optimizer_config), loss=losses, metrics=metrics)
    # Built now, so a saved model's optimizer has the variables a loaded one expects, trained or not.
    model.optimizer.build(model.trainable_variables)
    return model


def _metric(spec, target):
    name = loss_name(spec)
    if target.kind == "boolean" and name == "auc":
        return keras.metrics.AUC(name="auc")
    return as_keras_object(spec)


def signature_name(column, taken):
    """A name valid as a SavedModel signature argument: letters, digits and underscores."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(column)) or "column"
    if not re.match(r"[A-Za-z]", name):
        name = f"c_{name}"
    base, i = name, 1
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    taken.add(name)
    return name
