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
import inspect
import math
import re
import warnings

import keras

from keras_defaults.defaults import BUILTIN_SOURCE
from keras_defaults.errors import ConfigError, did_you_mean, expected_one_of
from keras_defaults.layers import (EnsembleDense, EnsembleInputs, FusedNumbers, MaskedLoss, MembersLoss,
                                   MembersMetric, SmoothedSparseCategoricalCrossentropy, TakeColumns)
from keras_defaults.layers import (NegativeBinomialNLL, OneHotLookups, PeriodicEmbedding, PinballLoss, ServedModel,
                                   SmoothClip)

FEATURES = "features"
NUMBERS = "numbers"


# Names of the layers that do not belong to one column. A column may bear any of these names, so column names that
# equal one are renamed in the graph (see `layer_name`).
_FIXED_NAMES = {FEATURES, NUMBERS, "all_features", "numbers_clip", "numbers_embedding", "preprocessor", "network",
                "keras_defaults_model", "ensemble_inputs", "embedding", "encoder", "keras_defaults_encoder",
                "fused_numbers", "features_parts", "numbers_parts"}
_FIXED_PATTERN = re.compile(r"(body|encoder|decoder)_(dense|sum|activation|norm|dropout)_\d+")


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


# What TensorFlow accepts in a name scope: Keras names each output's loss and metrics after it ("<output>_loss").
_SCOPE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def output_key(target):
    """The key of a target's output in the network that trains: the target's own name where a TensorFlow name scope
    allows it, else its layer name (`layer_name`). A network with several outputs names each one's loss after its
    key ("mean radius_loss" is refused); the served model keeps the targets' own names."""
    target = str(target)
    return target if _SCOPE_NAME.fullmatch(target) else layer_name(target)


def index_key(column):
    return f"{layer_name(column)}__index"


def raw_inputs(inputs):
    """One Keras input per used column, keyed by the column's name; scalars per row, strings or float32."""
    return {
        name: keras.Input(shape=(), dtype="string" if spec.input_dtype == "string" else "float32",
                          name=input_name(name))
        for name, spec in inputs.items()
    }


def build_preprocessor(inputs, numbers=False):
    """The raw-columns-to-features model, built from the columns' statistics (already computed with pandas).

    Its outputs: `features` (every dense encoding, concatenated in column order), one index tensor per indexed
    (categorical) column and, with `numbers`, the scaled numbers of the numerical columns side by side, for the
    network's numerical embeddings. Numerical and numeric 0/1 columns are preprocessed together by one
    `FusedNumbers` layer (the same arithmetic as their encoders' layers, in a few ops rather than about 30 a column);
    one gather puts their features back in column order.
    """
    tensors = raw_inputs(inputs)
    fused = {name: spec.encoder.fused_number(spec.state, spec.settings) for name, spec in inputs.items()}
    fused = {name: entry for name, entry in fused.items() if entry is not None}
    block = None
    if fused:
        arguments = {key: [entry.get(key) for entry in fused.values()] for key in _FUSED_ARGUMENTS}
        block = FusedNumbers(**arguments, name="fused_numbers")([tensors[name] for name in fused])
    # (tensor, its columns to take, or None for all of them), in column order.
    dense, scalars, outputs = [], [], {}
    position = {name: i for i, name in enumerate(fused)}
    for name, spec in inputs.items():
        if name in fused:
            i = position[name]
            # The value, then its missing flag and its zero flag when it has them (the block's second and third n).
            taken = [i] + [len(fused) + i] * fused[name]["flag"] + [2 * len(fused) + i] * fused[name]["zero"]
            dense.append((block, taken))
            if numbers and fused[name]["number"]:
                scalars.append((block, [i]))
            continue
        encoded = spec.encoder.encode_input(tensors[name], spec.state, spec.settings, layer_prefix(name))
        if encoded.dense is not None:
            dense.append((encoded.dense, None))
        if encoded.index is not None:
            outputs[index_key(name)] = encoded.index
        if numbers and encoded.number is not None:
            scalars.append((encoded.number, None))
    if dense:
        outputs[FEATURES] = _in_column_order(dense, FEATURES)
    if scalars:
        outputs[NUMBERS] = _in_column_order(scalars, NUMBERS)
    return functional(tensors, outputs, "preprocessor")


# `low` and `high` (a column's training range) are optional entries: None where a column is not held to one.
_FUSED_ARGUMENTS = ("fill", "mean", "variance", "scale", "offset", "rescale", "clip", "zero", "low", "high")


def _in_column_order(pieces, name):
    """One (batch, width) tensor of `pieces` side by side: [(tensor, columns taken, or None for all)]. Whole tensors
    are concatenated; columns taken from a shared tensor (the fused numbers) cost one gather over the lot."""
    if all(columns is None for _, columns in pieces):
        tensors = [tensor for tensor, _ in pieces]
        return tensors[0] if len(tensors) == 1 else keras.layers.Concatenate(name=name)(tensors)
    distinct, offsets, indices = [], {}, []
    for tensor, columns in pieces:
        if id(tensor) not in offsets:
            offsets[id(tensor)] = sum(t.shape[-1] for t in distinct)
            distinct.append(tensor)
        taken = range(tensor.shape[-1]) if columns is None else columns
        indices.extend(offsets[id(tensor)] + c for c in taken)
    joined = distinct[0] if len(distinct) == 1 else keras.layers.Concatenate(name=f"{name}_parts")(distinct)
    return TakeColumns(indices, name=name)(joined)


def encoded_inputs(preprocessor):
    """Inputs of the network, matching the preprocessor's outputs."""
    return {key: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=key)
            for key, tensor in preprocessor.output.items()}


def embedded_features(encoded, inputs, body_config, lookups=()):
    """Read the indexed columns (one-hot or embedded, by each column's `index_layer`), embed the numbers when the
    body says so, and concatenate everything into one feature tensor: the keras-pandas 'nubs'. Columns named in
    `lookups` are left out (the default body reads them as lookups, see `build_network`); None if nothing is left.
    """
    parts = [encoded[FEATURES]] if FEATURES in encoded else []
    if NUMBERS in encoded:
        # Periodic features of far-out values are noise: the embedding sees the numbers clipped smoothly (the
        # scaled values themselves still reach the body through `features`).
        numbers = SmoothClip(body_config["periodic_clip"], name="numbers_clip")(encoded[NUMBERS])
        parts.append(PeriodicEmbedding(body_config["periodic_frequencies"], body_config["periodic_sigma"],
                                       body_config["periodic_dim"], name="numbers_embedding")(numbers))
    for name, spec in inputs.items():
        key = index_key(name)
        if key in encoded and name not in lookups:
            parts.append(spec.encoder.index_layer(spec.state, layer_name(name))(encoded[key]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="all_features")(parts)


def body_for_rows(config, rows):
    """`config` with the body's settings that depend on the `rows` training rows resolved: its units
    (`body.large_data_units` from `body.large_data_min_rows` rows up, where set and where `body.units` is the built-in
    value: units the user or a search set are kept), its ensemble's members (`body.small_data_ensemble` below
    `body.small_data_below_rows` rows, where set and where `body.ensemble` is the built-in value), its dropout
    (`body.small_data_dropout` below the same row count, where set and where `body.dropout` is the built-in value)
    and its numerical embedding (`auto`: periodic from `body.numerical_embedding_min_rows` rows up; below, a lighter
    periodic one of `body.small_data_periodic_frequencies` x `body.small_data_periodic_dim` where that is set, the
    sizes only where `body.periodic_frequencies` and `body.periodic_dim` are the built-in values, and none where it is
    null). A new value's origin says which rule chose it, for `explain()`. For predicted targets, where the rules
    were measured."""
    large = config.get("body", "large_data_units")
    threshold = config.get("body", "large_data_min_rows")
    if large is not None and rows >= threshold and config.origin("body", "units") == BUILTIN_SOURCE:
        config = config.merged({"body": {"units": list(large)}},
                               f"body.large_data_units ({rows:,} training rows; from {threshold:,})")
    for key in ("ensemble", "dropout"):
        config = _small_data_value(config, "body", key, rows)
    if config.get("body", "numerical_embedding") != "auto":
        return config
    periodic_from = config.get("body", "numerical_embedding_min_rows")
    by_rows = f"body.numerical_embedding_min_rows ({rows:,} training rows; periodic from {periodic_from:,})"
    if rows >= periodic_from:
        return config.merged({"body": {"numerical_embedding": "periodic"}}, by_rows)
    light_dim = config.get("body", "small_data_periodic_dim")
    if light_dim is None:
        return config.merged({"body": {"numerical_embedding": "none"}}, by_rows)
    light = f"body.small_data_periodic_dim ({rows:,} training rows; below {periodic_from:,})"
    sizes = {key: config.get("body", f"small_data_{key}") for key in ("periodic_frequencies", "periodic_dim")
             if config.origin("body", key) == BUILTIN_SOURCE}
    return config.merged({"body": {"numerical_embedding": "periodic", **sizes}}, light)


def training_for_rows(config, rows):
    """`config` with the training settings that depend on the `rows` training rows resolved: its batch size
    (`training.small_data_batch_size` below `training.small_data_below_rows` rows, where set and where
    `training.batch_size` is the built-in value: a batch size the user, a call or a search set is kept) and its
    validation split (`training.small_data_validation_split` below the same row count, where set and where
    `training.validation_split` is the built-in value). The origin says which rule chose it, for `explain()`. For
    predicted targets, where the rules were measured."""
    for key in ("batch_size", "validation_split"):
        config = _small_data_value(config, "training", key, rows)
    return config


def _small_data_value(config, section, key, rows):
    """`config` with `section.key` replaced by `section.small_data_<key>` below `section.small_data_below_rows`
    training rows, where that is set and where `section.key` is the built-in value (a value the user, a call or a
    search set is kept). The origin names the rule, for `explain()`."""
    value = config.get(section, f"small_data_{key}")
    below = config.get(section, "small_data_below_rows")
    if value is None or rows >= below or config.origin(section, key) != BUILTIN_SOURCE:
        return config
    return config.merged({section: {key: value}},
                         f"{section}.small_data_{key} ({rows:,} training rows; below {below:,})")


def settings_for_rows(config, rows):
    """`config` with every setting that depends on the `rows` training rows resolved: the body's
    (`body_for_rows`) and the training's (`training_for_rows`). The one entry point for a fit of a predicted target
    and for a search's trials, so that both read a new size rule alike."""
    return training_for_rows(body_for_rows(config, rows), rows)


def body_for_reconstruction(config):
    """`config` for an autoencoder: `body.numerical_embedding: auto` is none (the embedding by rows was measured on
    predicted targets); its units are `body.units` and its members `body.ensemble` at any size (see
    `body_for_rows`)."""
    if config.get("body", "numerical_embedding") != "auto":
        return config
    return config.merged({"body": {"numerical_embedding": "none"}},
                         "body.numerical_embedding auto (none for an autoencoder)")


def _glorot_limit(fan_in, units):
    """Glorot-uniform's bound for a dense layer of `units` over `fan_in` inputs: the first layer's, which its one-hot
    lookups share."""
    return math.sqrt(6.0 / (fan_in + units))


def mlp_body(features, body, prefix="body", first_layer_term=None, fan_in=None, linear_path=False,
             per_member=False):
    """The default body: Dense layers of `units`, each followed by optional batch norm and dropout.

    `first_layer_term` is a tensor the first layer adds before its activation (the one-hot columns' lookups, which
    stand for the part of its kernel that reads them); its kernel then starts as Glorot-uniform over `fan_in`
    inputs, all of them, as if the one-hot vectors were among the features.

    With `linear_path` (and at least one layer), the first layer's values before their activation, a linear map of
    every input, are concatenated to the last layer's output, so that the heads read a linear function of the inputs
    beside the MLP's (wide and deep, Cheng et al. 2016).

    With `per_member` (`features` of shape (batch, members, features): an ensemble's), each member has dense layers
    of its own (`EnsembleDense`), each starting as its own Glorot-uniform dense layer would: a deep ensemble trained
    together, in place of members that share the MLP. The one-hot lookups stay shared, scaled per member.
    """
    def dense(inputs, units, name, activation=None, limit=None):
        if per_member:
            limit = limit if limit is not None else _glorot_limit(int(inputs.shape[-1]), units)
            return EnsembleDense(units, activation=activation, kernel_limit=limit, name=name)(inputs)
        initializer = "glorot_uniform" if limit is None else keras.initializers.RandomUniform(-limit, limit)
        return keras.layers.Dense(units, activation=activation, name=name, kernel_initializer=initializer)(inputs)

    x, linear = features, None
    for i, units in enumerate(body["units"]):
        if i == 0 and (first_layer_term is not None or linear_path):
            # The first layer's values before their activation: its lookups' term is added there, and the linear
            # path reads them.
            limit = None if first_layer_term is None else _glorot_limit(fan_in, units)
            x = dense(x, units, f"{prefix}_dense_{i}", limit=limit)
            if first_layer_term is not None:
                x = keras.layers.Add(name=f"{prefix}_sum_{i}")([x, first_layer_term])
            linear = x
            x = keras.layers.Activation(body["activation"], name=f"{prefix}_activation_{i}")(x)
        else:
            x = dense(x, units, f"{prefix}_dense_{i}", activation=body["activation"])
        if body["batch_norm"]:
            x = keras.layers.BatchNormalization(name=f"{prefix}_norm_{i}")(x)
        if body["dropout"]:
            x = keras.layers.Dropout(body["dropout"], name=f"{prefix}_dropout_{i}")(x)
    if linear_path and linear is not None:
        x = keras.layers.Concatenate(name=f"{prefix}_with_linear_path")([x, linear])
    return x


def build_network(preprocessor, inputs, targets, body_config, body=None):
    """Encoded features -> body -> heads. `body`, if given, is a callable tensor -> tensor that replaces the MLP.

    With `body_config["ensemble"]` k > 1 (and the default body), k members share the MLP: each sees the features
    scaled by a vector of its own and has heads of its own (TabM-mini), and the heads output (batch, k, units). With
    `body_config["ensemble_mlp"]` per_member, each member has the MLP's dense layers of its own as well.

    The default body reads the one-hot columns as lookups (`OneHotLookups`, one layer for all of them): the first
    layer's product with a one-hot vector is one row of its kernel, so a column of a thousand levels costs it `units`
    multiplications a row, not a thousand times that. The arithmetic is the layer's own; a custom body gets the
    one-hot vectors.
    """
    encoded = encoded_inputs(preprocessor)
    members = body_config["ensemble"] if body is None else 1
    lookups = {}
    if body is None and body_config["units"]:
        lookups = {name: levels for name, spec in inputs.items()
                   if index_key(name) in encoded and (levels := spec.encoder.one_hot_levels(spec.state))}
    features = embedded_features(encoded, inputs, body_config, lookups)
    if features is None:  # one-hot columns only: the first layer's bias needs a dense input, so read them as such
        lookups = {}
        features = embedded_features(encoded, inputs, body_config)
    fan_in = int(features.shape[-1]) + sum(lookups.values())
    if members > 1:
        features = EnsembleInputs(members, name="ensemble_inputs")(features)
    if body is not None:
        hidden = body(features)
    else:
        term = None
        if lookups:
            first_units = body_config["units"][0]
            term = OneHotLookups(first_units, list(lookups.values()), members, _glorot_limit(fan_in, first_units),
                                 name="one_hot_lookups")([encoded[index_key(name)] for name in lookups])
        hidden = mlp_body(features, body_config, first_layer_term=term, fan_in=fan_in,
                          linear_path=body_config["linear_path"],
                          per_member=members > 1 and body_config["ensemble_mlp"] == "per_member")
    outputs = {}
    for name, target in targets.items():
        outputs[output_key(name)] = _head(hidden, target, members, layer_name(name))
    return keras.Model(encoded, outputs, name="network")


def _head(hidden, target, members, name):
    """One target's output layer(s): `units` with the target's activation, or, where its encoder has a link of its
    own (an ordinal head, a normal head, a quantile head), linear scores that the link turns into the outputs."""
    link = target.encoder.output_link(target.state, name)
    units, activation = ((link.score_units, "linear") if link is not None
                         else (target.units, target.settings["activation"]))
    dense_name = f"{name}__score" if link is not None else name
    head = (keras.layers.Dense(units, activation=activation, name=dense_name) if members == 1 else
            EnsembleDense(units, activation=activation, name=f"{dense_name}__members"))
    outputs = head(hidden)
    return link(outputs) if link is not None else outputs


def build_served_model(preprocessor, network, targets):
    """Raw columns in, predictions in the user's units out (an ensemble's: the mean of its members')."""
    inputs = raw_inputs_like(preprocessor)
    outputs = network(preprocessor(inputs))
    served = {}
    for name, target in targets.items():
        out = outputs[output_key(name)]
        if len(out.shape) == 3:
            out = target.encoder.members_mean(target.state, f"{layer_name(name)}__mean")(out)
        served[name] = target.encoder.serve(out, target.state, layer_name(name))
    return functional(inputs, served, "keras_defaults_model", ServedModel)


def functional(inputs, outputs, name, model_class=keras.Model):
    """A functional model over raw columns. An input is keyed by its column's name, which Keras would like to be the
    input's name too; where a column's name cannot be a layer name (see `input_name`), Keras's warning says only
    that, so it is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        return model_class(inputs, outputs, name=name)


def raw_inputs_like(preprocessor):
    return {key: keras.Input(shape=(), dtype=tensor.dtype, name=tensor.name)
            for key, tensor in preprocessor.input.items()}


# ---------------------------------------------------------------------------------------------------- by name
# Losses, metrics, activations and optimizers are chosen in YAML by the names Keras knows them by, with arguments
# as a mapping: `loss: {name: huber, delta: 0.5}`. Names are resolved here, before any data is touched, so that a
# typo is an error with the valid names rather than a failure halfway through training.

_NOT_NAMES = {"get", "serialize", "deserialize"}
# Optimizers that wrap another optimizer cannot be built from a name and keyword arguments alone.
_WRAPPER_OPTIMIZERS = {"Optimizer", "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap"}
# Metric names that `compile` resolves from the loss and output shape (binary, categorical or sparse accuracy).
_COMPILE_METRICS = {"accuracy", "acc", "crossentropy", "ce"}


def _snake(name):
    """Keras's own rule from class to function names: CategoricalFocalCrossentropy -> categorical_focal_..."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _public(module):
    return {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}


def _classes(module, base, exclude=()):
    return {_snake(name): obj for name, obj in _public(module).items()
            if isinstance(obj, type) and issubclass(obj, base) and obj is not base and name not in exclude}


def _functions(module):
    return sorted(name for name, obj in _public(module).items()
                  if name.islower() and callable(obj) and not isinstance(obj, type) and name not in _NOT_NAMES)


# Losses of this package's own, by the name a setting gives them (Keras's `losses.get` knows only its own).
PACKAGE_LOSSES = {"quantile": PinballLoss, "negative_binomial": NegativeBinomialNLL}


def loss_names():
    return sorted(set(_functions(keras.losses)) | set(PACKAGE_LOSSES))


def metric_names():
    return sorted(set(_classes(keras.metrics, keras.metrics.Metric)) | set(_functions(keras.metrics))
                  | _COMPILE_METRICS)


def activation_names():
    return _functions(keras.activations)


def optimizer_classes():
    """{lower-case name: class} of every optimizer that a name and keyword arguments build."""
    return {name.lower(): obj for name, obj in _public(keras.optimizers).items()
            if isinstance(obj, type) and issubclass(obj, keras.optimizers.Optimizer)
            and name not in _WRAPPER_OPTIMIZERS}


def _split(spec):
    if isinstance(spec, dict):
        return spec["name"], {k: v for k, v in spec.items() if k != "name"}
    return spec, {}


def _accepted(cls):
    """The keyword arguments a class takes: its own, and its bases' while each passes **kwargs on."""
    names = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = list(inspect.signature(klass.__init__).parameters.values())
        names += [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return list(dict.fromkeys(names))


def _build(what, name, cls, args, context, also=()):
    """`cls(**args)`, every argument checked first. `also`: arguments that another class of the same name takes
    (suggested and listed too; such an argument picks that class before this is called)."""
    accepted = list(dict.fromkeys(_accepted(cls) + list(also)))
    for key in args:
        if key not in accepted:
            raise ConfigError(f"Unknown argument '{key}' for {what} '{name}'{context}.{did_you_mean(key, accepted)} "
                              f"Its arguments: {', '.join(accepted)}.")
    try:
        return cls(**args)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{what.capitalize()} '{name}'{context} cannot take the arguments {args}: {error}") from None


def canonical_loss(spec, context="", also=()):
    """The Keras function name of a loss given by any name Keras knows ('mse', 'Huber', 'huber' -> 'huber').

    `also`: more names to suggest when it is unknown (the table's short names, such as mse).
    """
    name, _ = _split(spec)
    if name in PACKAGE_LOSSES:
        return name
    try:
        found = keras.losses.get(name)
    except (ValueError, TypeError):
        found = None
    function = getattr(found, "fn", found)  # a class name resolves to a wrapper around the function
    if not callable(function) or not hasattr(function, "__name__"):
        raise ConfigError(f"Unknown loss{context}. " + expected_one_of("loss", name, set(loss_names()) | set(also)))
    return function.__name__


def keras_loss(spec, context=""):
    """A loss for `compile`: its name, or an instance of its class when the YAML gives arguments."""
    name, args = _split(spec)
    canonical = canonical_loss(spec, context)
    if canonical in PACKAGE_LOSSES:
        return _build("loss", name, PACKAGE_LOSSES[canonical], args, context)
    if not args:
        return canonical
    cls = _classes(keras.losses, keras.losses.Loss).get(canonical)
    also = ()
    if canonical == "sparse_categorical_crossentropy":
        # Keras's own takes no label_smoothing: ours does, on the same integer labels.
        also = ("label_smoothing",)
        if "label_smoothing" in args:
            cls = SmoothedSparseCategoricalCrossentropy
    if cls is None:
        raise ConfigError(f"Loss '{name}'{context} takes no arguments; write it as a name. Received: {args}.")
    return _build("loss", name, cls, args, context, also=also)


def keras_metric(spec, context=""):
    """A metric for `compile`: its name (so that `accuracy` follows the loss), or an instance with arguments."""
    name, args = _split(spec)
    if not args and name in _COMPILE_METRICS:
        return name
    try:
        found = keras.metrics.get(name)
    except (ValueError, TypeError):
        raise ConfigError(f"Unknown metric{context}. " + expected_one_of("metric", name, metric_names())) from None
    if not args:
        return name
    if not isinstance(found, keras.metrics.Metric):
        raise ConfigError(f"Metric '{name}'{context} takes no arguments; write it as a name. Received: {args}.")
    return _build("metric", name, type(found), args, context)


def check_activation(name, context=""):
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        raise ConfigError(f"Unknown activation{context}. "
                          + expected_one_of("activation", name, activation_names())) from None
    return name


def make_optimizer(config, context=""):
    """A Keras optimizer from the `optimizer` section: its name plus any of its keyword arguments."""
    settings = {k: v for k, v in config.items() if k not in ("name", "choices")}
    name = config["name"]
    classes = optimizer_classes()
    cls = classes.get(str(name).lower())
    if cls is None:
        raise ConfigError(f"Unknown optimizer{context}. " + expected_one_of("optimizer.name", name, classes))
    return _build("optimizer", name, cls, settings, context)


def check_model_config(config):
    """Check the settings that do not depend on the data (optimizer, body activation) before reading it; returns
    the optimizer they describe, built."""
    optimizer = make_optimizer(config.get("optimizer"), f" (from {config.origin('optimizer')})")
    check_activation(config.get("body", "activation"), f" for the body (from {config.origin('body', 'activation')})")
    return optimizer


def compile_model(model, targets, optimizer, metrics=True):
    """Compile with `optimizer` and one loss and metric list per head, from the targets' settings; the losses alone
    with `metrics` false.

    A head that outputs an ensemble's members, (batch, members, units), trains each member on the target's loss
    (their mean is the loss), and its metrics read the members' mean prediction.
    """
    losses, compiled = {}, {}
    for target_name, target in targets.items():
        # The network's outputs are keyed by `output_key`; the served model's by the targets' own names.
        name = target_name if target_name in model.output else output_key(target_name)
        loss = target.encoder.head_loss(target.state) or keras_loss(target.settings["loss"])
        if target.masked:  # an autoencoder's column: its missing values do not count
            loss = MaskedLoss(loss)
        found = [target.encoder.compile_metric(spec, keras_metric(spec), target.state)
                 for spec in target.settings["metrics"]]
        if len(model.output[name].shape) == 3:
            loss = MembersLoss(loss)
            found = [MembersMetric(_metric_object(metric, target), name=_split(spec)[0])
                     for metric, spec in zip(found, target.settings["metrics"])]
        losses[name], compiled[name] = loss, found
    model.compile(optimizer=optimizer, loss=losses, metrics=compiled if metrics else None)
    # Built now, so a saved model's optimizer has the variables a loaded one expects, trained or not.
    model.optimizer.build(model.trainable_variables)
    return model


def _metric_object(metric, target):
    """A metric given by name, as the object `compile` would make of it for this target's head."""
    if not isinstance(metric, str):
        return metric
    if metric in ("accuracy", "acc"):
        return target.encoder.accuracy_metric(target.settings)
    if metric in ("crossentropy", "ce"):
        return target.encoder.crossentropy_metric(target.settings)
    return keras.metrics.get(metric)


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
