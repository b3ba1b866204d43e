"""Labels: a vocabulary with an out-of-vocabulary bucket, one-hot when small, embedded when large; a softmax head."""


import keras
import numpy as np
import pandas as pd

from keras_defaults.encoders.base import (LONGEST_VOCABULARY_ENTRY, EncodedColumn, Encoder, category_dtype_state,
                                          classes_state_shape, loss_name, restore_category_dtype)
from keras_defaults.layers import CategoryCodes, FillMissing
from keras_defaults.schema import numeric_values, python_value, string_counts, string_values
from keras_defaults.state_schema import (CLASSES, FINITE, FLAG, SCALE, Either, Integer, ListOf, Nullable,
                                         Record, Text)

# Losses that want one-hot labels instead of integer class indices.
ONE_HOT_LOSSES = {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"}


def _one_hot(settings):
    """Whether the target's loss wants one-hot labels (its accuracy and cross-entropy follow)."""
    return loss_name(settings["loss"]) in ONE_HOT_LOSSES


def _vocabulary(counts, settings):
    counts = counts[counts >= settings["min_frequency"]]
    # Most frequent first; ties broken by value so that the order does not depend on row order.
    keys = sorted(zip(-counts.to_numpy(), map(str, counts.index), range(len(counts))))
    order = [counts.index[i] for _, _, i in keys]
    return order[: settings["max_levels"]]


def _number(counts):
    """Median, mean and spread of whole-number codes from their counts (code -> rows), for `with_number`."""
    codes, rows = counts.index.to_numpy(dtype="float64"), counts.to_numpy(dtype="float64")
    order = np.argsort(codes)
    cumulative = np.cumsum(rows[order])
    median = float(codes[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    mean = float(np.average(codes, weights=rows))
    spread = float(np.sqrt(np.average((codes - mean) ** 2, weights=rows)))
    return {"median": median, "center": mean, "scale": spread or 1.0}


def embedding_width(levels, settings):
    if settings["embedding_dim"]:
        return int(settings["embedding_dim"])
    return int(min(settings["embedding_max_dim"], max(2, round(1.6 * levels ** 0.56))))


class CategoricalEncoder(Encoder):
    kind = "categorical"
    can_be_target = True
    predicts_classes = True
    # Labels are encoded as class indices or one-hot rows, for the losses listed in the table only.
    listed_losses_only = True
    input_state_shape = Record({
        "vocabulary": ListOf(Either(Text(), Integer()), distinct=True),
        "missing_code": Nullable(Integer()),
        "one_hot": FLAG,
        "embedding_dim": Nullable(Integer(at_least=1)),
        "number": Nullable(Record({"median": FINITE, "center": FINITE, "scale": SCALE})),
    }, [
        # Integer codes (a missing code) have a vocabulary of integers; strings, of strings.
        (lambda s: all(isinstance(v, int) == (s["missing_code"] is not None) for v in s["vocabulary"]),
         "a vocabulary of integers goes with an integer missing_code, one of strings with a null one"),
        (lambda s: (s["embedding_dim"] is None) == s["one_hot"], "an embedding_dim is given exactly when not one_hot"),
    ])
    # A target of pandas' category dtype keeps its categories and whether they are ordered (its classes in their
    # order), so that predictions come back in that dtype; older saves and other dtypes have neither key.
    target_state_shape = classes_state_shape(CLASSES, in_category_order=True)

    def fit_input(self, series, profile, settings):
        if profile.input_dtype == "float32":
            codes = numeric_values(series)
            present = codes[np.isfinite(codes)].astype("int64")
            counts = pd.Series(present).value_counts(sort=False)
            return self.state_from_counts(counts, settings, codes=True, has_missing=len(present) < len(codes))
        return self.state_from_counts(string_counts(series), settings)

    def state_from_counts(self, counts, settings, codes=False, has_missing=False):
        """The state from value counts (a Series: value -> rows): integer `codes` and whether any is missing, or
        strings ("" counts the missing ones). `fit_input` counts a column in memory; the streaming statistics pass
        counts files chunk by chunk.
        """
        if codes:
            vocabulary = [int(v) for v in _vocabulary(counts, settings)]
            missing_code = (max(vocabulary) + 1) if vocabulary else 0
            if missing_code == -1:  # -1 is IntegerLookup's out-of-vocabulary token
                missing_code = 0
            if has_missing:
                vocabulary.append(missing_code)
        else:
            short = counts[[len(str(label)) <= LONGEST_VOCABULARY_ENTRY for label in counts.index]]
            vocabulary = [str(v) for v in _vocabulary(short, settings)]
            missing_code = None
        levels = len(vocabulary) + 1  # plus the out-of-vocabulary bucket
        one_hot = levels <= settings["one_hot_max_levels"]
        return {
            "vocabulary": vocabulary,
            "missing_code": missing_code,
            "one_hot": one_hot,
            "embedding_dim": None if one_hot else embedding_width(levels, settings),
            "number": _number(counts) if codes and settings["with_number"] else None,
        }

    def _lookup(self, state, output_mode, name):
        if state["missing_code"] is not None:
            return keras.layers.IntegerLookup(vocabulary=np.array(state["vocabulary"], dtype="int64"),
                                              num_oov_indices=1, output_mode=output_mode, name=name)
        # An array of Python strings: Keras makes a list into numpy's unicode dtype, which widens every label to the
        # longest one (1,000 labels beside one of 1 MB: 4 GB).
        return keras.layers.StringLookup(vocabulary=np.array(state["vocabulary"], dtype=object), num_oov_indices=1,
                                         output_mode=output_mode, name=name)

    def encode_input(self, raw, state, settings, name):
        values = raw
        if state["missing_code"] is not None:
            values = CategoryCodes(state["missing_code"], name=f"{name}_codes")(raw)
        number = None
        if state.get("number"):
            # The code as a number too (its order), scaled; a missing code reads as the typical one.
            stats = state["number"]
            filled = FillMissing(stats["median"], name=f"{name}_fill")(raw)
            number = keras.layers.Normalization(mean=stats["center"], variance=stats["scale"] ** 2,
                                                name=f"{name}_scale")(filled)
        # One index per row, for one-hot columns too: the network expands it (`index_layer`), so that cached
        # features hold one integer per row rather than a row of up to one_hot_max_levels floats.
        index = self._lookup(state, "int", f"{name}_index")(values)
        return EncodedColumn(dense=number, index=index)

    def one_hot_levels(self, state):
        return len(state["vocabulary"]) + 1 if state["one_hot"] else None

    def index_layer(self, state, name):
        levels = len(state["vocabulary"]) + 1  # index 0 is the out-of-vocabulary bucket
        if state["one_hot"]:
            return keras.layers.CategoryEncoding(levels, output_mode="one_hot", name=f"{name}__one_hot")
        return keras.layers.Embedding(levels, state["embedding_dim"], name=f"{name}__embedding")

    def describe(self, state, settings):
        how = "one-hot" if state["one_hot"] else f"embedding of width {state['embedding_dim']}"
        number = ", and the code as a scaled number" if state.get("number") else ""
        return f"{len(state['vocabulary'])} levels + out-of-vocabulary bucket, {how}{number}"

    def missing_note(self, state):
        return "they are read as a category never seen in training"

    def state_from_summary(self, state, settings, profile, counts, missing):
        if counts is None:
            return state
        codes = profile.input_dtype == "float32"
        return self.state_from_counts(_as_model_values(counts, codes, missing), settings, codes=codes,
                                      has_missing=missing > 0)

    # -- targets: class indices in the order of `classes`
    def fit_target(self, series, profile, settings):
        category = category_dtype_state(series)
        if category:
            present = set(python_value(c) for c in pd.unique(series.dropna()))
            return {"classes": [c for c in category["categories"] if c in present], **category}
        classes = sorted(pd.unique(series.dropna()), key=lambda v: (str(type(v)), v))
        return {"classes": [python_value(c) for c in classes]}

    def decode(self, outputs, state):
        return restore_category_dtype(super().decode(outputs, state), state)

    def target_array(self, series, state, settings):
        index = {c: i for i, c in enumerate(state["classes"])}
        codes = np.array([index[python_value(v)] for v in series], dtype="int32")
        if _one_hot(settings):
            return np.eye(len(state["classes"]), dtype="float32")[codes]
        return codes

    def accuracy_metric(self, settings):
        one_hot = _one_hot(settings)
        return (keras.metrics.CategoricalAccuracy if one_hot else keras.metrics.SparseCategoricalAccuracy)(
            name="accuracy")

    def crossentropy_metric(self, settings):
        one_hot = _one_hot(settings)
        return (keras.metrics.CategoricalCrossentropy if one_hot else keras.metrics.SparseCategoricalCrossentropy)(
            name="crossentropy")

    def head_units(self, state):
        return len(state["classes"])

    def probabilities(self, outputs):
        return outputs  # the softmax head's output already


def _as_model_values(counts, codes, missing):
    """Raw value counts (values as the data held them) as counts of what the model sees: int codes or strings."""
    raw = pd.Series(list(counts.index), dtype=object)
    if codes:
        values = numeric_values(raw)
        keep = np.isfinite(values)
        grouped = pd.Series(counts.to_numpy()[keep]).groupby(values[keep].astype("int64")).sum()
    else:
        grouped = pd.Series(counts.to_numpy()).groupby(string_values(raw)).sum()
        if missing:
            grouped[""] = grouped.get("", 0) + missing  # missing strings are the category ""
    return grouped.astype("int64")


__all__ = ["CategoricalEncoder", "embedding_width", "ONE_HOT_LOSSES", "loss_name"]
