"""No target: an autoencoder, which learns to rebuild each row from a narrow embedding.

`Automater(target=None)` reads every column the model can use as usual, and reconstructs each one whose kind a head
can predict (numbers, categories, booleans, sets) through a bottleneck: encoder MLP -> `embedding` (a linear layer of
`autoencoder.embedding_dim` units) -> decoder MLP -> one head per reconstructed column. A column's head and loss are
its kind's row in `targets` (the likelihood of its values: MSE on a standardised number, cross-entropy on a category,
binary cross-entropy on a boolean or on each label of a set); a missing value is left out of the loss. Text and date
columns are read but not reconstructed.

This module picks the reconstructed columns, builds the body, and turns the heads' outputs into per-row losses; the
Automater orchestrates.
"""

import math

import keras
import numpy as np
import pandas as pd

from keras_defaults import defaults as table
from keras_defaults.encoders import ENCODERS
from keras_defaults.errors import ConfigError, warn
from keras_defaults.layers import MaskedLoss
from keras_defaults.model import keras_loss, mlp_body, output_key
from keras_defaults.targets import TargetSpec, check_loss_fits

SECTION = "autoencoder"
# The bottleneck's layer: `Automater.embed` reads its output.
EMBEDDING = "embedding"
# The kinds whose columns are reconstructed: those a head can predict.
RECONSTRUCTED_KINDS = tuple(table.TARGET_KINDS)
# The automatic embedding width: the square root of the number of rebuilt columns, rounded up, within these bounds.
# Much narrower than the row, so that the network cannot copy its inputs and must learn how the columns go together:
# a width to spare lets it pass an unusual value straight through. On tables of 7 columns driven by 2 factors,
# planted anomalies in the top 1% of scores: width 2, 100%; 3 (this rule), 93-100%; 4 (half the columns), 70-90%.
MIN_AUTO_WIDTH, MAX_AUTO_WIDTH = 2, 16


def reconstruction_targets(frame, inputs, config):
    """{column: TargetSpec} of the columns the autoencoder rebuilds, each fitted on its present values with its
    kind's head settings (`targets.<kind>`), masked (its missing values do not count), and without metrics (`evaluate`
    scores reconstructions in the user's units)."""
    targets = {}
    for name, spec in inputs.items():
        if spec.kind not in RECONSTRUCTED_KINDS:
            continue
        encoder = ENCODERS[spec.kind]
        series = frame[name][frame[name].notna().to_numpy()]
        origin = config.origin("targets", spec.kind)
        settings = encoder.target_settings(series, name, table.section_settings(config, spec.kind, "target"))
        settings["loss"] = check_loss_fits(settings, spec.kind, name, config)
        settings["metrics"] = []
        state = encoder.fit_target(series, spec.profile, settings)
        if encoder.output_link(state, name) is not None or encoder.head_loss(state) is not None:
            raise ConfigError(f"The autoencoder rebuilds {spec.kind} column '{name}' with its kind's head (targets."
                              f"{spec.kind}, from {origin}), which here is a distribution, quantile or ordinal head; "
                              f"it needs one that predicts a value per row. Set the loss back to a point loss for "
                              f"the autoencoder, e.g. overrides={{'targets': {{'{spec.kind}': "
                              f"{_point_example(spec.kind)}}}}}.")
        targets[name] = TargetSpec(name, spec.kind, spec.profile, state, settings, masked=True)
    if not targets:
        kinds = sorted({spec.kind for spec in inputs.values()})
        raise ConfigError(f"An autoencoder (target=None) rebuilds columns of kinds {list(RECONSTRUCTED_KINDS)}, and "
                          f"this frame's columns are of kinds {kinds}: there is nothing to reconstruct. Give it "
                          f"numbers, categories, booleans or sets, or name a target to predict.")
    return targets


def _point_example(kind):
    return {"numerical": "{'loss': 'mse', 'distribution': 'point'}",
            "categorical": "{'ordinal': False}"}.get(kind, "{'loss': 'binary_crossentropy'}")


def rebuilt_columns(inputs):
    """The input columns an autoencoder rebuilds: those of `RECONSTRUCTED_KINDS`, in input order."""
    return [name for name, spec in inputs.items() if spec.kind in RECONSTRUCTED_KINDS]


def embedding_width(config, targets):
    """`autoencoder.embedding_dim`, or, when null, the square root of the number of rebuilt columns, rounded up,
    from 2 to 16."""
    width = config.get(SECTION, "embedding_dim")
    if width is None:
        return int(np.clip(math.ceil(math.sqrt(len(targets))), MIN_AUTO_WIDTH, MAX_AUTO_WIDTH))
    return int(width)


def body(body_config, width, encoder=None):
    """The autoencoder's body, features -> decoder output: `encoder` (a callable features -> hidden; by default the
    MLP of `body.units`), the `embedding` bottleneck (linear, `width` units), then the decoder, the MLP with the same
    layers in reverse order."""
    decoder_config = {**body_config, "units": list(reversed(body_config["units"]))}

    def build(features):
        hidden = encoder(features) if encoder is not None else mlp_body(features, body_config, prefix="encoder")
        code = keras.layers.Dense(width, name=EMBEDDING)(hidden)
        return mlp_body(code, decoder_config, prefix="decoder")

    return build


def embedding_model(network):
    """The network's encoder alone: encoded features -> the embedding."""
    return keras.Model(network.input, network.get_layer(EMBEDDING).output, name="encoder")


def column_loss(target):
    """The masked loss that trains (and scores) one reconstructed column, as `model.compile_model` compiles it."""
    return MaskedLoss(keras_loss(target.settings["loss"]))


def per_row_losses(targets, outputs, frame):
    """A DataFrame, one column per reconstructed column, of each row's loss (the training loss, on the network's
    outputs, keyed by `model.output_key`); NaN where the row has no value the head can score
    (`targets.present_values`)."""
    columns = {}
    for name, target in targets.items():
        labels = target.labels(frame[name])
        losses = keras.ops.convert_to_numpy(column_loss(target).per_row(labels, outputs[output_key(name)]))
        losses = losses.astype("float64")
        columns[name] = np.where(labels[:, -1] > 0, losses.reshape(-1), np.nan)
    return pd.DataFrame(columns, index=frame.index)


def loss_scales(losses):
    """{column: mean loss over the rows that have a value}: each column's typical reconstruction loss, by which
    `anomaly_scores` divides. A column no row has a value in (or that every row rebuilds exactly) weighs 1."""
    scales = {}
    for name in losses.columns:
        mean = float(np.nanmean(losses[name])) if losses[name].notna().any() else 0.0
        scales[name] = mean if math.isfinite(mean) and mean > 0 else 1.0
    return scales


def anomaly_scores(losses, scales):
    """Each row's mean over its present columns of loss / typical loss: 1 is a typical row, 5 one rebuilt five times
    worse than usual. A row with no column to score has NaN."""
    scaled = losses / pd.Series(scales)
    return scaled.mean(axis=1, skipna=True).rename("anomaly_score")


def check_no_targets_used(config):
    """Settings that weigh classes have nothing to weigh in an autoencoder: warn that they are not used."""
    if table.Training.from_config(config).class_weight != "none":
        warn(f"training.class_weight: {config.get('training', 'class_weight')} (from "
             f"{config.origin('training', 'class_weight')}) weighs a target's classes; an autoencoder (target=None) "
             f"has none, so its rows are not weighted by class.")


def as_config(targets, width, scales):
    """What a save records of an autoencoder beyond its columns: the embedding width and the loss scales."""
    return {"embedding_dim": int(width), "loss_scales": {name: float(scales[name]) for name in targets}}

