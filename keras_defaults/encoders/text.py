"""Free text: a bag of words (TF-IDF by default) over the most frequent tokens. Text cannot be a target."""

import keras
import numpy as np

from keras_defaults.compat import adapt, idf_weights
from keras_defaults.encoders.base import LONGEST_VOCABULARY_ENTRY, EncodedColumn, Encoder
from keras_defaults.layers import TermWeights
from keras_defaults.schema import string_values
from keras_defaults.state_schema import ListOf, Nullable, Number, Record, Text


class TextEncoder(Encoder):
    kind = "text"
    can_be_target = False
    # The vocabulary of the TextVectorization layer (its out-of-vocabulary token first), and its IDF weights.
    input_state_shape = Record({
        "vocabulary": ListOf(Text(), min_length=1, distinct=True),
        "idf_weights": Nullable(ListOf(Number(at_least=0))),
    }, [(lambda s: s["idf_weights"] is None or len(s["idf_weights"]) == len(s["vocabulary"]),
         "one IDF weight per vocabulary entry")])

    def fit_input(self, series, profile, settings):
        # The vocabulary and IDF weights live in the TextVectorization layer, fitted by its own `adapt`, so the
        # tokenisation that trains the model is the one the exported model runs.
        layer = self._layer(settings, name="probe")
        # Python strings, as they are: numpy's unicode dtype would widen every value to the longest one.
        adapt(layer, string_values(series))
        vocabulary = [str(token) for token in layer.get_vocabulary()]
        # A column without a word has no IDF weights to read (then `learned_nothing` sets it aside).
        idf = idf_weights(layer) if settings["output_mode"] == "tf_idf" and len(vocabulary) > 1 else None
        # Index 0, the out-of-vocabulary token, stays; an over-long token is read as out of vocabulary.
        kept = [0] + [i for i in range(1, len(vocabulary)) if len(vocabulary[i]) <= LONGEST_VOCABULARY_ENTRY]
        return {"vocabulary": [vocabulary[i] for i in kept],
                "idf_weights": None if idf is None else [idf[i] for i in kept]}

    def learned_nothing(self, state, settings, name):
        # Index 0 is the out-of-vocabulary token: a vocabulary of it alone reads every row alike, and Keras's layer
        # refuses it.
        if len(state["vocabulary"]) > 1:
            return None
        return (f"no word of at most {LONGEST_VOCABULARY_ENTRY:,} characters for a vocabulary: its values are empty "
                f"or runs of characters without a space")

    def _layer(self, settings, name, state=None, output_mode=None):
        kwargs = dict(max_tokens=settings["max_tokens"], output_mode=output_mode or settings["output_mode"],
                      ngrams=settings["ngrams"] if settings["ngrams"] > 1 else None, name=name)
        if state is not None:
            # Index 0 is the OOV token, added back by the layer. An array of Python strings, as Keras would widen a
            # list's tokens to the longest one in numpy's unicode dtype.
            kwargs["vocabulary"] = np.array(state["vocabulary"][1:], dtype=object)
            if kwargs["output_mode"] == "tf_idf":
                kwargs["idf_weights"] = state["idf_weights"][1:]
        return keras.layers.TextVectorization(**kwargs)

    def encode_input(self, raw, state, settings, name):
        mode = settings["output_mode"]
        sublinear = settings["sublinear_tf"] and mode != "multi_hot"
        if not sublinear and settings["normalize"] == "none":
            return EncodedColumn(dense=self._layer(settings, f"{name}_words", state)(raw))
        # Counts, weighed by a layer of ours: Keras's TF-IDF has neither sublinear term frequencies nor a norm.
        words = self._layer(settings, f"{name}_words", state, output_mode="multi_hot" if mode == "multi_hot"
                            else "count")(raw)
        weights = TermWeights(state["idf_weights"] if mode == "tf_idf" else None, sublinear=sublinear,
                              l2=settings["normalize"] == "l2", name=f"{name}_weights")
        return EncodedColumn(dense=weights(words))

    def describe(self, state, settings):
        how = settings["output_mode"] + (" (sublinear tf)" if settings["sublinear_tf"] else "") + (
            ", l2-normalised" if settings["normalize"] == "l2" else "")
        return f"{how} over {len(state['vocabulary'])} tokens, {settings['ngrams']}-grams"

    def missing_note(self, state):
        return "they are read as empty text"

    def not_a_target(self, profile):
        return (f"Target '{profile.name}' looks like free text ({profile.reason}); text cannot be predicted. If it "
                f"holds labels, force it: column_types={{'{profile.name}': 'categorical'}}.")
