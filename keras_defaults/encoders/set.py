"""Sets of labels (multi-label): a multi-hot row over a vocabulary of labels as an input; one sigmoid per label as a
target, predicted as the list of labels whose probability reaches a threshold.

A set column reaches the model as one string per row, its labels joined by the column's delimiter ("action|comedy",
"" for none): cells that are lists, sets or arrays are joined on the way in (`schema.set_strings`), and the exported
models take such strings. The model splits them (`layers.LabelSet`), so that what trains is what serves.
"""

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from keras_defaults.encoders.base import LONGEST_VOCABULARY_ENTRY, EncodedColumn, Encoder, nothing_kept
from keras_defaults.errors import DataError
from keras_defaults.layers import LabelSet
from keras_defaults.schema import resolve_delimiter, set_labels, set_strings
from keras_defaults.state_schema import ListOf, Number, Record, Text

class _Delimiter(Text):
    """A set's delimiter: a string that is not blank (labels are stripped of white space)."""

    expected = "a string with a character other than white space"

    def fits(self, value):
        return isinstance(value, str) and bool(value.strip())


def _label_counts(strings, delimiter, rows=None):
    """How many rows hold each label, most frequent first and ties by label (an order that does not depend on the
    rows'): a Series indexed by label. `rows`: how many rows each string stands for (counts of distinct values)."""
    labels = set_labels(strings, delimiter)
    if rows is None:
        counts = labels.value_counts(sort=False)
    else:
        weights = pd.Series(np.asarray(rows, dtype="int64")).iloc[labels.index.to_numpy()]
        counts = pd.Series(weights.to_numpy(), index=labels.to_numpy()).groupby(level=0).sum()
    counts = counts[[len(label) <= LONGEST_VOCABULARY_ENTRY for label in counts.index]]
    order = sorted(range(len(counts)), key=lambda i: (-int(counts.iloc[i]), str(counts.index[i])))
    return counts.iloc[order]


def _delimiter_and_counts(series, name, settings):
    """A training column's delimiter (the setting, `auto` resolved) and its labels' counts (`_label_counts`)."""
    delimiter = resolve_delimiter(settings["delimiter"], series)
    return delimiter, _label_counts(set_strings(series, delimiter, name), delimiter)


def _multi_hot(strings, delimiter, labels):
    """(rows, len(labels)) float32: 1 where a row's set holds the label. Labels outside `labels` are left out."""
    position = {label: i for i, label in enumerate(labels)}
    pieces = set_labels(strings, delimiter)
    columns = pieces.map(position)
    known = columns.notna().to_numpy()
    out = np.zeros((len(strings), len(labels)), dtype="float32")
    out[pieces.index.to_numpy()[known], columns.to_numpy()[known].astype("int64")] = 1.0
    return out


class SetEncoder(Encoder):
    kind = "set"
    can_be_target = True
    # A target of this kind predicts a set of labels: one probability per label, and the labels that reach the
    # threshold (`predicts_label_sets`); its labels are multi-hot rows, for the losses its table row lists.
    predicts_label_sets = True
    listed_losses_only = True
    reads_as = "labels"
    served_format = "a string per row: its labels joined by the delimiter (\"\" for none)"
    input_state_shape = Record({"delimiter": _Delimiter(), "vocabulary": ListOf(Text(), distinct=True)})
    target_state_shape = Record({"delimiter": _Delimiter(), "classes": ListOf(Text(), min_length=1, distinct=True),
                                 "threshold": Number(positive=True, at_most=1)},
                                [(lambda s: s["threshold"] < 1, "the threshold is below 1")])

    # -- inputs: a multi-hot row over the most frequent labels, and one unit for the others
    def raw_values(self, series, profile, state):
        return set_strings(series, state["delimiter"], profile.name)

    def fit_input(self, series, profile, settings):
        delimiter, counts = _delimiter_and_counts(series, profile.name, settings)
        return self._state(counts, delimiter, settings)

    def _state(self, counts, delimiter, settings):
        kept = counts[counts >= settings["min_frequency"]].index[: settings["max_labels"]]
        return {"delimiter": delimiter, "vocabulary": [str(label) for label in kept]}

    def state_from_summary(self, state, settings, profile, counts, missing, value_range=None):
        # Counts of the column's distinct values over every row (files): each stands for its rows' labels.
        if counts is None:
            return state
        strings = set_strings(pd.Series(list(counts.index), dtype=object), state["delimiter"], profile.name)
        return self._state(_label_counts(strings, state["delimiter"], counts.to_numpy()), state["delimiter"],
                           settings)

    def learned_nothing(self, state, settings, name):
        if state["vocabulary"]:
            return None
        return nothing_kept(name, "set", settings["min_frequency"], strings=True, text_hint=False)

    def encode_input(self, raw, state, settings, name):
        return EncodedColumn(dense=LabelSet(state["vocabulary"], state["delimiter"], name=f"{name}_labels")(raw))

    def describe(self, state, settings):
        return (f"{len(state['vocabulary'])} labels + out-of-vocabulary, multi-hot (labels joined by "
                f"{state['delimiter']!r})")

    def missing_note(self, state):
        return "they are read as the empty set (no labels)"

    def served_format_of(self, state):
        return f"a string per row: its labels joined by {state['delimiter']!r} (\"\" for none)"

    # -- targets: one sigmoid per label seen in training
    def fit_target(self, series, profile, settings):
        delimiter, counts = _delimiter_and_counts(series, profile.name, settings)
        if counts.empty:
            raise DataError(f"Target '{profile.name}' holds no labels in any row: a set target needs some. Check "
                            f"the column, or its delimiter (columns: {{{profile.name}: {{delimiter: ...}}}}).")
        return {"delimiter": delimiter, "classes": sorted(str(label) for label in counts.index),
                "threshold": float(settings["threshold"])}

    def target_array(self, series, state, settings):
        strings = set_strings(series, state["delimiter"], series.name)
        return _multi_hot(strings, state["delimiter"], state["classes"])

    def accuracy_metric(self, settings):
        return keras.metrics.BinaryAccuracy(name="accuracy")

    def head_units(self, state):
        return len(state["classes"])

    def probabilities(self, outputs):
        return outputs  # one sigmoid per label already

    def decode(self, outputs, state):
        chosen = np.asarray(outputs) >= state["threshold"]
        labels = np.asarray(state["classes"], dtype=object)
        out = np.empty(len(chosen), dtype=object)
        for row, mask in enumerate(chosen):
            out[row] = labels[mask].tolist()
        return out

    def decode_tensor(self, outputs, class_names, state):
        chosen = tf.ragged.boolean_mask(tf.broadcast_to(class_names, tf.shape(outputs)),
                                        outputs >= state["threshold"])
        return tf.strings.reduce_join(chosen, axis=-1, separator=state["delimiter"])

    def describe_target(self, state, settings):
        labels = state["classes"]
        return (f", {len(labels)} labels {labels[:6]}{'...' if len(labels) > 6 else ''}, each predicted when its "
                f"probability is at least {state['threshold']:g}")

    def labels_of(self, series, state):
        """The sets of a target column as lists of labels (sorted), as predictions give them."""
        strings = set_strings(series, state["delimiter"], series.name)
        pieces = set_labels(strings, state["delimiter"])
        grouped = pieces.groupby(level=0).agg(lambda labels: sorted(set(labels)))
        out = np.empty(len(strings), dtype=object)
        for row in range(len(strings)):
            out[row] = grouped.get(row, [])
        return out


__all__ = ["SetEncoder"]
