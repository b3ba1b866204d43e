"""One encoder per column kind. Adding a kind is adding a module here and a row in defaults.yaml."""

from keras_defaults.encoders.base import EncodedColumn, Encoder, as_tensor, input_array, input_tensor
from keras_defaults.encoders.boolean import BooleanEncoder
from keras_defaults.encoders.categorical import CategoricalEncoder
from keras_defaults.encoders.datetime import DateTimeEncoder
from keras_defaults.encoders.numerical import NumericalEncoder
from keras_defaults.encoders.set import SetEncoder
from keras_defaults.encoders.text import TextEncoder

ENCODERS = {encoder.kind: encoder for encoder in (NumericalEncoder(), CategoricalEncoder(), BooleanEncoder(),
                                                   TextEncoder(), DateTimeEncoder(), SetEncoder())}

__all__ = ["ENCODERS", "EncodedColumn", "Encoder", "as_tensor", "input_array", "input_tensor"]
