"""Labels: a vocabulary with an out-of-vocabulary bucket, one-hot when small, embedded when large; a softmax head."""


import keras
import numpy as np
import pandas as pd

from keras_defaults.encoders.base import (LONGEST_VOCABULARY_ENTRY, EncodedColumn, Encoder, category_dtype_state,
                                          classes_state_shape, loss_name, nothing_kept, restore_category_dtype)
from keras_defaults.errors import ConfigError, DataError, expected_one_of
from keras_defaults.layers import CategoryCodes, CumulativeLogits, FillMissing
from keras_defaults.schema import numeric_values, python_value, string_counts, string_values
from keras_defaults.state_schema import (CLASSES, FINITE, FLAG, SCALE, Either, Integer, ListOf, Nullable,
                                         Record, Text)

# Losses that want one-hot labels instead of integer class indices.
ONE_HOT_LOSSES = {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"}
# Losses that read the head's outputs as class probabilities: the ones an ordinal head can train with.
PROBABILITY_LOSSES = {"sparse_categorical_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy"}


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
    # order), so that predictions come back in that dtype; older saves and other dtypes have neither key. An ordinal
    # head's target has `ordinal` and its starting `thresholds` (older saves lack both: their heads are softmax).
    target_state_shape = classes_state_shape(
        CLASSES, in_category_order=True, more={"ordinal": FLAG, "thresholds": ListOf(FINITE)},
        rules=[(lambda s: ("ordinal" in s) == ("thresholds" in s), "ordinal and thresholds go together"),
               (lambda s: "thresholds" not in s or (len(s["thresholds"]) == len(s["classes"]) - 1 and all(
                   a < b for a, b in zip(s["thresholds"], s["thresholds"][1:]))),
                "the thresholds are one fewer than the classes, and increasing")])

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

    def learned_nothing(self, state, settings, name):
        # Keras's lookup layers refuse an empty vocabulary, and every row would read as the one unseen label.
        if state["vocabulary"]:
            return None
        strings = state["missing_code"] is None
        return nothing_kept(name, "categorical", settings["min_frequency"], strings, text_hint=strings)

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

    def state_from_summary(self, state, settings, profile, counts, missing, value_range=None):
        if counts is None:
            return state
        codes = profile.input_dtype == "float32"
        return self.state_from_counts(_as_model_values(counts, codes, missing), settings, codes=codes,
                                      has_missing=missing > 0)

    # -- targets: class indices in the order of `classes`
    def fit_target(self, series, profile, settings):
        category = _category(series, profile.name, settings)
        if category:
            present = set(python_value(c) for c in pd.unique(series.dropna()))
            state = {"classes": [c for c in category["categories"] if c in present], **category}
        else:
            classes = sorted(pd.unique(series.dropna()), key=lambda v: (str(type(v)), v))
            state = {"classes": [python_value(c) for c in classes]}
        if settings["ordinal"] is True:
            state["ordinal"] = True
            state["thresholds"] = _starting_thresholds(series.value_counts(), state["classes"])
        return state

    def target_settings(self, series, name, settings):
        # `ordinal` resolved (auto: by the dtype), and an ordinal head's loss in place of the softmax head's.
        ordinal = _is_ordinal(series, name, settings, _category(series, name, settings))
        if ordinal and settings["activation"] != "softmax":
            how = "ordinal: auto and an ordered category dtype" if settings["ordinal"] == "auto" else "ordinal: true"
            raise ConfigError(f"Target '{name}' has an ordinal head ({how}), whose probabilities come from ordered "
                              f"thresholds on one score, so the activation '{settings['activation']}' would be "
                              f"unused. Leave activation: softmax, or set ordinal: false to use it.")
        return {**settings, "ordinal": ordinal, **({"loss": settings["ordinal_loss"]} if ordinal else {})}

    def loss_setting(self, settings):
        return "ordinal_loss" if settings["ordinal"] is True else "loss"

    def check_loss(self, loss, given, settings, where):
        if settings["ordinal"] is True:
            _check_ordinal_loss(loss, where)

    def count_target(self, state, counts):
        if state.get("ordinal"):
            return {**state, "thresholds": _starting_thresholds(counts, state["classes"])}
        return state

    def output_link(self, state, name):
        if state.get("ordinal"):
            return CumulativeLogits(len(state["classes"]), state["thresholds"], name=f"{name}__ordinal")
        return None

    def head_description(self, state, settings):
        if state.get("ordinal"):
            return "ordinal (cumulative logits: one score, ordered thresholds)"
        return super().head_description(state, settings)

    def describe_target(self, state, settings):
        described = super().describe_target(state, settings)
        return f"{described}, in this order" if state.get("ordinal") else described

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


def _category(series, name, settings):
    """The category dtype's state of a target: its dtype's, or an ordered one of the labels in `order` (the
    setting), which must name every label the target has."""
    order = settings["order"]
    if order is None:
        return category_dtype_state(series)
    labels = [python_value(v) for v in pd.unique(series.dropna())]
    unlisted = [label for label in labels if label not in order]
    if unlisted:
        raise DataError(f"Target '{name}' has the label {unlisted[0]!r}, which its order setting does not list "
                        f"({len(unlisted)} such label(s)). The order must name every label, lowest first. "
                        + expected_one_of("label", unlisted[0], order))
    return {"categories": list(order), "ordered": True}


def _is_ordinal(series, name, settings, category):
    """Whether a target gets the ordinal head: `ordinal: true`, or `auto` and an ordered category dtype. Its classes
    must have an order to keep: a category dtype's, or that of numbers; strings have only the alphabet's."""
    ordinal = settings["ordinal"]
    if ordinal == "auto":
        return bool(category.get("ordered"))
    if not ordinal:
        return False
    if not category and not all(isinstance(python_value(v), (int, float)) for v in pd.unique(series.dropna())):
        raise DataError(f"Target '{name}' is set to an ordinal head (ordinal: true), but its labels are strings, "
                        f"whose order it cannot know (the alphabet's is seldom meant). Give them their order as an "
                        f"ordered category, e.g. df['{name}'] = pd.Categorical(df['{name}'], categories=[lowest, "
                        f"..., highest], ordered=True) or, in YAML, columns: {{{name}: {{order: [lowest, ..., "
                        f"highest]}}}}; or set ordinal: false.")
    return True


def _starting_thresholds(counts, classes):
    """An ordinal head's first thresholds from the training rows of each class (`counts`: label -> rows): the logits
    of the classes' cumulative shares, P(y <= k), so that it starts by predicting their frequencies (Keras's advice
    for a softmax head's bias, for ordered thresholds)."""
    rows_of = {}
    for label, rows in counts.items():
        rows_of[python_value(label)] = rows_of.get(python_value(label), 0) + int(rows)
    rows = np.array([rows_of.get(c, 0) for c in classes], dtype="float64")
    shares = np.clip(np.cumsum(rows)[:-1] / rows.sum(), 1e-6, 1 - 1e-6)
    thresholds = np.log(shares / (1 - shares))
    # Every class has rows, so the shares rise; a step under 0.01 (a class of few rows in millions) is widened.
    steps = np.maximum(np.diff(thresholds), 0.01)
    return [float(t) for t in thresholds[0] + np.concatenate([[0.0], np.cumsum(steps)])]


def _check_ordinal_loss(loss, where):
    """An ordinal head makes class probabilities of its own: its loss must read probabilities."""
    if loss not in PROBABILITY_LOSSES:
        raise ConfigError(f"An ordinal head outputs class probabilities, but its loss '{loss}'{where} does not read "
                          f"them. Expected one of {sorted(PROBABILITY_LOSSES)} as ordinal_loss, or set ordinal: false "
                          f"for the softmax head.")


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
