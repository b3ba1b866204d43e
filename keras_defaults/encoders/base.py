"""What every kind's encoder provides, and how raw column values become model inputs.

An encoder answers for its kind everywhere the kind matters: the statistics it learns, the Keras layers that encode
an input, how it describes itself in `explain()`, how it reads a missing value at predict, and, for kinds that can be
predicted, the target's labels, head, loss checks and the decoding of the head's outputs back to the user's labels
and units. Code outside `encoders/` asks the encoder; it does not branch on the kind.
"""

import abc
import dataclasses

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import ops

from keras_defaults.layers import MemberMean
from keras_defaults.schema import numeric_values, python_value, string_values
from keras_defaults.state_schema import FLAG, LABEL, ListOf, Record

# The longest label or token kept in a vocabulary, in characters. Keras rebuilds a saved lookup layer from a list,
# which it widens to the longest entry in numpy's unicode dtype: one 1 MB label among 800 costs 3 GB on load. Longer
# entries (a pasted document in a label column, a run of characters without a space in text) are read as unseen.
LONGEST_VOCABULARY_ENTRY = 1_000


def nothing_kept(name, kind, min_frequency, strings, text_hint):
    """Why the vocabulary of column `name` of `kind` (of labels that are `strings`, else integer codes) came out
    empty, and the fix where there is one: a reason for the warning that sets the column aside. `text_hint`: whether
    long labels may be read as text instead."""
    length = f" and at most {LONGEST_VOCABULARY_ENTRY:,} characters long" if strings else ""
    reason = (f"no label kept for a vocabulary, which takes labels in at least inputs.{kind}.min_frequency "
              f"({min_frequency}) rows{length}")
    if min_frequency > 1:
        return f"{reason}; lower its min_frequency: columns: {{{name}: {{min_frequency: 1}}}}"
    if text_hint:  # then every label is too long (at min_frequency 1 a column of codes always keeps one)
        return f"{reason}; if its values are long text, read them as words: column_types={{'{name}': 'text'}}"
    return reason


@dataclasses.dataclass
class EncodedColumn:
    """One input column after its preprocessing layers.

    `dense` is a float tensor (batch, width) ready to be concatenated with the other columns. `index` is an int
    tensor (batch,) of category indices, which the network reads through the encoder's `index_layer` (a trainable
    embedding belongs to the network, not to preprocessing; a one-hot vector is expanded there too, so that cached
    features hold one integer per row). `number` is a float tensor
    (batch, 1) of the scaled number a numerical column is, for the network's numerical embeddings when the body has
    them (`body.numerical_embedding`).
    """

    dense: object = None
    index: object = None
    number: object = None


class Encoder(abc.ABC):
    """One column kind. Subclasses fill in the input side and, if the kind can be predicted, the target side."""

    kind = None
    can_be_target = False
    # A target of this kind is one of a fixed list of classes (state["classes"]); its head outputs probabilities.
    predicts_classes = False
    # A target of this kind is a set of labels (state["classes"]): one probability per label, and the labels that
    # reach a threshold.
    predicts_label_sets = False
    # A target of this kind trains only with the losses its table row lists (its labels are encoded for those).
    listed_losses_only = False

    # How the served model takes this kind's values, for the SavedModel's signature file (None: as `input_dtype`).
    served_format = None
    # What a value must read as, for warnings about values that do not.
    reads_as = "numbers"
    # The shapes (`state_schema`) of the state `fit_input` and `fit_target` return: loading refuses any other.
    input_state_shape = None
    target_state_shape = None

    def served_format_of(self, state):
        """How the served model takes a column of this kind, for the signature file (None: as its dtype)."""
        return self.served_format

    # -- inputs
    def raw_values(self, series, profile, state):
        """The column's values as the model takes them (a numpy array: float32 with NaN, or strings)."""
        return input_array(series, profile)

    def count_unreadable(self, series, profile):
        """How many present values of a column at predict cannot be read as the model reads this column (and so
        are read as missing)."""
        if profile.input_dtype != "float32" or pd.api.types.is_numeric_dtype(series.dtype) \
                or pd.api.types.is_bool_dtype(series.dtype):
            return 0
        try:
            parsed = numeric_values(series)
        except (TypeError, ValueError):
            return int(series.notna().sum())
        return int((series.notna().to_numpy() & np.isnan(parsed)).sum())

    def unreadable_note(self, name):
        """What happens to unreadable values, and how the user finds them."""
        return (f"do not read as {self.reads_as} and are treated as missing. Convert it with "
                f"pd.to_numeric(df['{name}'], errors='coerce') to see which")

    @abc.abstractmethod
    def fit_input(self, series, profile, settings):
        """Statistics of a training column, as a JSON-ready dict."""

    def learned_nothing(self, state, settings, name):
        """Why the fitted input column `name` gives the model nothing to learn from, and what would (for the warning
        that sets it aside), or None when it does."""
        return None

    @abc.abstractmethod
    def encode_input(self, raw, state, settings, name):
        """Keras preprocessing layers applied to the raw input tensor `raw`; returns an EncodedColumn."""

    @abc.abstractmethod
    def describe(self, state, settings):
        """How an input column of this kind is encoded, in a few words for `explain()`."""

    @abc.abstractmethod
    def missing_note(self, state):
        """How the model reads a missing value of this column, for the warning at predict."""

    def fused_number(self, state, settings):
        """The column's preprocessing as one column of `FusedNumbers` (a dict of its per-column entries: fill,
        mean, variance, scale, offset, rescale, clip; `flag` and `zero`: whether its missing flag and its zero flag
        are features; `number`: whether the value is the column's `EncodedColumn.number`), or None when
        `encode_input` builds it. The preprocessor fuses such columns into one layer; their features are the ones
        `encode_input` would give."""
        return None

    def one_hot_levels(self, state):
        """The width of the one-hot vector `index_layer` expands the index to, or None when it is not one-hot."""
        return None

    def index_layer(self, state, name):
        """The network's layer that reads an indexed column's index (`EncodedColumn.index`): an embedding, or a
        one-hot expansion. Only kinds that emit an index have one."""
        raise TypeError(f"A {self.kind} column has no index.")

    def state_from_summary(self, state, settings, profile, counts, missing, value_range=None):
        """The state learned from a sample of rows, corrected by what counts over every row say: `counts` are the
        column's value counts over all rows (None when they were not kept), `missing` its missing values and
        `value_range` the (min, max) of its finite values over all rows (None when it is not stored as numbers)."""
        if "missing_indicator" in state:
            state = {**state, "missing_indicator": bool(settings.get("missing_indicator", True) and missing > 0)}
        return state

    # -- targets
    def not_a_target(self, profile):
        """Why a column of a kind that cannot be predicted is refused as a target, and what to do instead."""
        return f"A {self.kind} column cannot be a target: '{profile.name}'."

    def check_target(self, series, name):
        """Refuse target values that this kind cannot learn, before any setting is read."""

    def target_settings(self, series, name, settings):
        """The head's settings for this target's data, where a setting depends on it (an ordinal head, for ordered
        labels, trains on its own loss); called before the loss is checked. Returns new settings."""
        return settings

    def loss_setting(self, settings):
        """The name of the setting the head's loss came from, for messages that say where to change it."""
        return "loss"

    def fit_target(self, series, profile, settings):
        raise TypeError(f"A {self.kind} column cannot be a target.")

    def count_target(self, state, counts):
        """A target's state fitted on a sample, given its class counts over every row (`counts`: label -> rows, as
        the data holds the labels): what depends on how often each class occurs is taken from them."""
        return state

    def check_loss(self, loss, given, settings, where):
        """Refuse a loss that the table lists for this kind but that cannot work with these settings."""

    def target_array(self, series, state, settings):
        raise TypeError(f"A {self.kind} column cannot be a target.")

    def accuracy_metric(self, settings):
        """The object `compile` makes of the metric name "accuracy" for this kind's head."""
        return keras.metrics.Accuracy(name="accuracy")

    def crossentropy_metric(self, settings):
        """The object `compile` makes of the metric name "crossentropy" for this kind's head."""
        return keras.metrics.BinaryCrossentropy(name="crossentropy")

    def served_target_array(self, series, state, settings):
        """The labels as the served model outputs them: class codes (or one-hot rows) for classes, as training."""
        return self.target_array(series, state, settings)

    def serve(self, output, state, name):
        """The head's output as the served model returns it (in the user's units)."""
        return output

    def compile_metric(self, spec, metric, state):
        """The metric `compile` gets for a setting `spec` of this target; `metric` is the generic one."""
        return metric

    def probabilities(self, outputs):
        """Class probabilities (batch, classes) from the served model's output; any backend tensor or array."""
        raise TypeError(f"A {self.kind} target has no class probabilities.")

    def decode(self, outputs, state):
        """Predictions in the user's labels and units, a numpy array, from the served model's output."""
        if self.predicts_classes:
            index = ops.convert_to_numpy(ops.argmax(self.probabilities(outputs), axis=-1))
            return np.array(state["classes"], dtype=object)[index]
        return np.asarray(outputs, dtype="float64").reshape(-1)

    def decode_tensor(self, outputs, class_names, state):
        """`decode` inside a TensorFlow graph (the SavedModel's signature): labels as strings, `class_names`."""
        if self.predicts_classes:
            return tf.gather(class_names, tf.argmax(self.probabilities(outputs), axis=-1))
        return tf.reshape(outputs, [-1])

    def head_units(self, state):
        """Units of the target's output (the served model's, before `serve`)."""
        return 1

    def output_link(self, state, name):
        """A layer of this target's own that turns one linear score per row into its outputs (an ordinal head's
        class probabilities), or None: the head is then a dense layer of `head_units` with the target's activation.
        """
        return None

    def members_mean(self, state, name):
        """The layer that makes an ensemble's members' outputs, (batch, members, units), one prediction (batch,
        units), as the served model returns it: their mean, unless the head's outputs combine otherwise."""
        return MemberMean(name=name)

    def quantile_levels(self, state):
        """The levels of the quantiles a quantile head predicts, lowest first, or None for any other head."""
        return None

    def head_loss(self, state):
        """The loss this target's head trains with when its state decides it (a normal head's likelihood), or None:
        the `loss` setting's."""
        return None

    def head_description(self, state, settings):
        """How the head makes its outputs, in a few words for `explain()` (after its units)."""
        return str(settings["activation"])

    def describe_target(self, state, settings):
        """What the head predicts, in a few words for `explain()` (after the loss and metrics)."""
        if self.predicts_classes:
            classes = state["classes"]
            return f", classes {classes[:6]}{'...' if len(classes) > 6 else ''}"
        return ""


def input_array(series, profile):
    """The raw values of one column in the dtype of its model input: float32 with NaN, or strings."""
    if profile.input_dtype == "float32":
        # Beyond float32's range a value becomes infinite, which the model reads as missing (documented): no warning.
        with np.errstate(over="ignore"):
            return numeric_values(series).astype("float32")
    return string_values(series)


def input_tensor(series, profile):
    """`input_array` as a tensor, since Keras 3 rejects numpy arrays of strings."""
    return as_tensor(input_array(series, profile), profile.input_dtype)


def as_tensor(values, input_dtype):
    """Raw values as a model input tensor: float32, or strings."""
    if input_dtype == "float32":
        return tf.constant(values, dtype=tf.float32)
    return string_tensor(values)


def string_tensor(values):
    """A tf.string tensor of an array of Python strings. Never through numpy's fixed-width unicode dtype: that
    widens every value to the longest at 4 bytes a character, so one 1 MB value in 800 rows would take 3.2 GB."""
    return tf.constant(np.asarray(values, dtype=object), dtype=tf.string)


def loss_name(loss):
    """The name of a target's loss setting: a name, or a mapping {name: ..., arguments}."""
    return loss["name"] if isinstance(loss, dict) else loss


# ---------------------------------------------------------------------------------------------------- category targets
def category_dtype_state(series):
    """{"categories": [...], "ordered": bool} of a target of pandas' category dtype, so that its predictions come back
    in that dtype; {} for other dtypes, or categories a save cannot hold (JSON scalars only: not intervals)."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return {}
    categories = [python_value(c) for c in series.cat.categories]
    if not all(isinstance(c, (str, int, float, bool)) for c in categories):
        return {}
    return {"categories": categories, "ordered": bool(series.cat.ordered)}


def restore_category_dtype(labels, state):
    """Predicted labels (an object array) in the target's category dtype, when it had one."""
    if "categories" in state:
        return pd.Categorical(labels, categories=state["categories"], ordered=state["ordered"])
    return labels


def classes_state_shape(classes, in_category_order, more=None, rules=()):
    """The saved state of a classification target: its classes, and the category dtype's keys when it had one
    (optional: older saves lack them). `in_category_order`: the classes follow the categories' order. `more`: the
    kind's own optional keys, {key: shape}, and `rules` (test, requirement) pairs about them."""
    def consistent(state):
        if "categories" not in state:
            return True
        categories, classes = state["categories"], state["classes"]
        return all(c in categories for c in classes) and (
            not in_category_order or [c for c in categories if c in classes] == classes)

    return Record({"classes": classes, "categories": ListOf(LABEL, distinct=True), "ordered": FLAG, **(more or {})},
                  [(lambda s: ("categories" in s) == ("ordered" in s), "categories and ordered go together"),
                   (consistent, "the classes are categories" + (", in the categories' order" if in_category_order
                                                                else "")), *rules],
                  optional=("categories", "ordered", *(more or {})))

