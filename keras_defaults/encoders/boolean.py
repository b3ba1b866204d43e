"""Two-valued columns: 0/1 plus a missing flag as input; a sigmoid head as target."""

import keras
import numpy as np
import pandas as pd
from keras import ops

from keras_defaults.encoders.base import (EncodedColumn, Encoder, category_dtype_state, classes_state_shape,
                                          input_array, restore_category_dtype)
from keras_defaults.errors import DataError
from keras_defaults.layers import FillMissing, MissingIndicator
from keras_defaults.schema import boolean_sides, numeric_values, python_value, string_values
from keras_defaults.state_schema import FINITE, FLAG, LABEL, Either, ListOf, Record, Text

# A boolean target's settings have no true/false value lists, so the target side reads them from here.
_TARGET_SIDES = {"true_values": ["1", "true", "t", "yes", "y", "on", "positive", "pos"],
                 "false_values": ["0", "false", "f", "no", "n", "off", "negative", "neg"]}


def _truth_words(series, profile):
    """For a column trained on booleans (True/False) that now holds strings: 1.0 where a value is a word for true
    ("True", "yes", ...: the built-in lists of inputs.boolean), 0.0 for false, NaN otherwise. None when the column
    now holds numbers or booleans, or was trained on anything else (0/1, 3/7, strings), where words mean nothing."""
    if profile.dtype not in ("bool", "boolean", "bool[pyarrow]") or pd.api.types.is_numeric_dtype(series.dtype) \
            or pd.api.types.is_bool_dtype(series.dtype):
        return None
    lowered = pd.Series(string_values(series), dtype=object).str.strip().str.lower()
    words = {**dict.fromkeys(_TARGET_SIDES["true_values"], 1.0), **dict.fromkeys(_TARGET_SIDES["false_values"], 0.0)}
    return lowered.map(words).to_numpy(dtype="float64")


def _with_words(series, profile, words):
    """The column read as numbers, with `_truth_words`' 1 and 0 where a value is not a number."""
    values = input_array(series, profile)
    return np.where(np.isnan(values), words, values).astype("float32")


class BooleanEncoder(Encoder):
    kind = "boolean"
    can_be_target = True
    predicts_classes = True

    input_state_shape = Record({"false_value": Either(Text(), FINITE), "true_value": Either(Text(), FINITE),
                                "missing_indicator": FLAG}, [
        (lambda s: isinstance(s["false_value"], str) == isinstance(s["true_value"], str) and s["false_value"] !=
         s["true_value"], "false_value and true_value are two different strings, or two different numbers")])
    target_state_shape = classes_state_shape(ListOf(LABEL, min_length=2, max_length=2, distinct=True),
                                             in_category_order=False)

    def raw_values(self, series, profile, state):
        words = _truth_words(series, profile)
        return input_array(series, profile) if words is None else _with_words(series, profile, words)

    def count_unreadable(self, series, profile):
        words = _truth_words(series, profile)
        if words is None:
            return super().count_unreadable(series, profile)
        # Words for true and false read as 1 and 0 in a column trained on booleans: not unreadable.
        try:
            read = _with_words(series, profile, words)
        except (TypeError, ValueError):  # values that are not even strings of numbers: only the words read
            read = words
        return int((series.notna().to_numpy() & np.isnan(read)).sum())

    def fit_input(self, series, profile, settings):
        if profile.input_dtype == "float32":
            values = numeric_values(series)
            present = values[np.isfinite(values)]
            false_value, true_value = boolean_sides(present, settings)
            state = {"false_value": float(false_value), "true_value": float(true_value)}
        else:
            # Present values by their string forms (an empty string is one, though missing values read as "" too).
            values = string_values(series)[series.notna().to_numpy()]
            false_value, true_value = boolean_sides(values, settings)
            state = {"false_value": str(false_value), "true_value": str(true_value)}
        state["missing_indicator"] = bool(series.isna().any())
        return state

    def encode_input(self, raw, state, settings, name):
        if isinstance(state["false_value"], str):
            # Column 0 of the one-hot is "neither value": missing or unseen.
            lookup = keras.layers.StringLookup(vocabulary=[state["false_value"], state["true_value"]],
                                               num_oov_indices=1, output_mode="one_hot", name=f"{name}_one_hot")
            return EncodedColumn(dense=lookup(raw))
        span = state["true_value"] - state["false_value"]
        unit = keras.layers.Rescaling(scale=1.0 / span, offset=-state["false_value"] / span,
                                      name=f"{name}_to_01")(FillMissing(state["false_value"], name=f"{name}_fill")(raw))
        if state["missing_indicator"]:
            flag = MissingIndicator(name=f"{name}_missing")(raw)
            unit = keras.layers.Concatenate(name=f"{name}_with_flag")([unit, flag])
        return EncodedColumn(dense=unit)

    def fused_number(self, state, settings):
        if isinstance(state["false_value"], str):
            return None
        span = state["true_value"] - state["false_value"]
        return {"fill": state["false_value"], "mean": 0.0, "variance": 1.0, "scale": 1.0 / span,
                "offset": -state["false_value"] / span, "rescale": True, "clip": 0.0,
                "flag": state["missing_indicator"], "zero": False, "number": False}

    def describe(self, state, settings):
        flag = ", missing flag" if state.get("missing_indicator") else ""
        return f"0/1 ({state['false_value']!r} -> 0, {state['true_value']!r} -> 1){flag}"

    def missing_note(self, state):
        if isinstance(state.get("false_value"), str):
            return "they are read as neither of its two values"
        return f"they are read as {state.get('false_value')!r}, the column's first value"

    # -- targets: classes [false_label, true_label]; the head predicts P(true_label)
    def fit_target(self, series, profile, settings):
        sides = boolean_sides(series.dropna().to_numpy(), _TARGET_SIDES)
        if sides is None:
            # Inference saw two values in the rows it read; the whole data (files counted in full) has more.
            raise DataError(f"Target '{profile.name}' looked two-valued in a sample of rows but has "
                            f"{series.dropna().nunique()} distinct values in the data; force its kind: "
                            f"column_types={{'{profile.name}': 'categorical'}}.")
        false_label, true_label = sides
        # A category dtype is kept for the predictions; which label is "true" does not follow its order.
        return {"classes": [python_value(false_label), python_value(true_label)], **category_dtype_state(series)}

    def decode(self, outputs, state):
        return restore_category_dtype(super().decode(outputs, state), state)

    def target_array(self, series, state, settings):
        true_label = state["classes"][1]
        return np.array([python_value(v) == true_label for v in series], dtype="float32").reshape(-1, 1)

    def accuracy_metric(self, settings):
        return keras.metrics.BinaryAccuracy(name="accuracy")

    def compile_metric(self, spec, metric, state):
        # An instance named "auc", so that every compiled model logs it as auc and val_auc.
        return keras.metrics.AUC(name="auc") if spec == "auc" else metric

    def probabilities(self, outputs):
        p = ops.reshape(outputs, (-1, 1))
        return ops.concatenate([1.0 - p, p], axis=-1)
