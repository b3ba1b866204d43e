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

import re

import keras

from keras_defaults.encoders import ENCODERS
from keras_defaults.encoders.categorical import loss_name
from keras_defaults.errors import ConfigError, expected_one_of
from keras_defaults.layers import TargetDecoder

FEATURES = "features"


def layer_name(column):
    """Keras layer names may hold any character but '/'."""
    return str(column).replace("/", "_")


def index_key(column):
    return f"{layer_name(column)}__index"


def raw_inputs(profiles):
    """One Keras input per used column, keyed by the column's name; scalars per row, strings or float32."""
    return {
        name: keras.Input(shape=(), dtype="string" if p.input_dtype == "string" else "float32",
                          name=layer_name(name))
        for name, p in profiles.items()
    }


def build_preprocessor(profiles, states, settings):
    """The raw-columns-to-features model, built from statistics already computed with pandas."""
    inputs = raw_inputs(profiles)
    dense, outputs = [], {}
    for name, profile in profiles.items():
        encoded = ENCODERS[profile.kind].encode_input(inputs[name], states[name], settings[name], layer_name(name))
        if encoded.dense is not None:
            dense.append(encoded.dense)
        if encoded.index is not None:
            outputs[index_key(name)] = encoded.index
    if dense:
        outputs[FEATURES] = dense[0] if len(dense) == 1 else keras.layers.Concatenate(name="features")(dense)
    return keras.Model(inputs, outputs, name="preprocessor")


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
            embedded = keras.layers.Embedding(input_dim, output_dim, name=f"{layer_name(name)}_embedding")(inputs[key])
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
                                name=f"{layer_name(name)}_in_user_units")(out)
        served[name] = out
    return keras.Model(inputs, served, name="keras_defaults_model")


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
