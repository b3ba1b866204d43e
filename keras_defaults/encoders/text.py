"""Free text: a bag of words (TF-IDF by default) over the most frequent tokens. Text cannot be a target."""

import keras
import tensorflow as tf

from keras_defaults.encoders.base import EncodedColumn, Encoder
from keras_defaults.schema import string_values


class TextEncoder(Encoder):
    kind = "text"
    can_be_target = False

    def fit_input(self, series, profile, settings):
        # The vocabulary and IDF weights live in the TextVectorization layer, fitted by its own `adapt`, so the
        # tokenisation that trains the model is the one the exported model runs.
        layer = self._layer(settings, name="probe")
        layer.adapt(tf.constant(string_values(series).astype(str)), batch_size=4096)
        return {"vocabulary": [str(token) for token in layer.get_vocabulary()], "idf_weights": _idf(layer, settings)}

    def _layer(self, settings, name, state=None):
        kwargs = dict(max_tokens=settings["max_tokens"], output_mode=settings["output_mode"],
                      ngrams=settings["ngrams"] if settings["ngrams"] > 1 else None, name=name)
        if state is not None:
            kwargs["vocabulary"] = state["vocabulary"][1:]  # index 0 is the OOV token, added back by the layer
            if state["idf_weights"] is not None:
                kwargs["idf_weights"] = state["idf_weights"][1:]
        return keras.layers.TextVectorization(**kwargs)

    def encode_input(self, raw, state, settings, name):
        return EncodedColumn(dense=self._layer(settings, f"{name}_words", state)(raw))


def _idf(layer, settings):
    if settings["output_mode"] != "tf_idf":
        return None
    # The adapted weights sit on the layer's inner lookup (Keras exposes no public getter for them).
    return [float(w) for w in keras.ops.convert_to_numpy(layer._lookup_layer.idf_weights_const)]
