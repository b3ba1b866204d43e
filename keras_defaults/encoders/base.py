"""What every kind's encoder provides, and how raw column values become model inputs."""

import abc
import dataclasses

import numpy as np
import tensorflow as tf

from keras_defaults.schema import numeric_values, string_values


@dataclasses.dataclass
class EncodedColumn:
    """One input column after its preprocessing layers.

    `dense` is a float tensor (batch, width) ready to be concatenated with the other columns. `index` is an int
    tensor (batch,) of category indices when the column is embedded: the embedding is a trainable layer, so it
    belongs to the network, not to preprocessing (see `Encoder.embedding_shape`).
    """

    dense: object = None
    index: object = None


class Encoder(abc.ABC):
    """One column kind. Subclasses fill in the input side and, if the kind can be predicted, the target side."""

    kind = None
    can_be_target = False

    # -- inputs
    @abc.abstractmethod
    def fit_input(self, series, profile, settings):
        """Statistics of a training column, as a JSON-ready dict."""

    @abc.abstractmethod
    def encode_input(self, raw, state, settings, name):
        """Keras preprocessing layers applied to the raw input tensor `raw`; returns an EncodedColumn."""

    def embedding_shape(self, state):
        """(input_dim, output_dim) of the embedding of an indexed column; only kinds that emit an index have one."""
        raise TypeError(f"A {self.kind} column is not embedded.")

    # -- targets
    def fit_target(self, series, profile, settings):
        raise TypeError(f"A {self.kind} column cannot be a target.")

    def target_array(self, series, state, settings):
        raise TypeError(f"A {self.kind} column cannot be a target.")

    def head(self, features, state, settings, name):
        raise TypeError(f"A {self.kind} column cannot be a target.")


def input_array(series, profile):
    """The raw values of one column in the dtype of its model input: float32 with NaN, or strings."""
    if profile.input_dtype == "float32":
        # Beyond float32's range a value becomes infinite, which the model reads as missing (documented): no warning.
        with np.errstate(over="ignore"):
            return numeric_values(series).astype("float32")
    return string_values(series)


def input_tensor(series, profile):
    """`input_array` as a tensor, since Keras 3 rejects numpy arrays of strings."""
    values = input_array(series, profile)
    if profile.input_dtype == "float32":
        return tf.constant(values, dtype=tf.float32)
    return tf.constant(values.astype(str) if len(values) else np.array([], dtype=str), dtype=tf.string)
