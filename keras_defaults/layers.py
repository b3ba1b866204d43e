"""The few Keras layers that Keras itself lacks (and the ensemble's loss and metric); everything else is a built-in
preprocessing layer.

Each layer is small, registered under the package's name so that `keras.saving.load_model` finds it in safe mode
once `keras_defaults` is imported, and its `get_config` holds only plain numbers. `DateTimeFeatures` reads strings,
which only TensorFlow's string ops can: this package runs on the TensorFlow backend.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

PACKAGE = "keras_defaults"


@keras.saving.register_keras_serializable(package=PACKAGE)
class FillMissing(keras.layers.Layer):
    """Replace NaN and infinities with `fill_value`. Keras has no imputing layer, hence this one.

    Input: a batch of scalars, shape (batch,) or (batch, 1). Output: (batch, 1).
    """

    def __init__(self, fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.fill_value = float(fill_value)

    def call(self, inputs):
        values = ops.reshape(ops.cast(inputs, "float32"), (-1, 1))
        # A scalar, broadcast by the select: no tensor of the batch's shape to build, two ops fewer a column.
        return ops.where(ops.isfinite(values), values, np.float32(self.fill_value))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "fill_value": self.fill_value}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClipToRange(keras.layers.Layer):
    """Hold values within [low, high]: the range a column spanned on the training rows. Input and output (batch, 1).

    A value beyond the training range is read as the nearest end, as a tree reads it, instead of being extrapolated
    by the network. Keras has no clipping layer, hence this one.
    """

    def __init__(self, low, high, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = float(low), float(high)
        if not self.low <= self.high:
            raise ValueError(f"ClipToRange needs low <= high. Received: low={self.low}, high={self.high}.")

    def call(self, inputs):
        return ops.clip(inputs, np.float32(self.low), np.float32(self.high))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MissingIndicator(keras.layers.Layer):
    """1.0 where a value is NaN or infinite, 0.0 elsewhere. Input (batch,) or (batch, 1); output (batch, 1)."""

    def call(self, inputs):
        values = ops.reshape(ops.cast(inputs, "float32"), (-1, 1))
        return ops.cast(ops.logical_not(ops.isfinite(values)), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ZeroIndicator(keras.layers.Layer):
    """1.0 where a value is exactly 0, 0.0 elsewhere (a missing value is not a zero). Input (batch,) or (batch, 1);
    output (batch, 1)."""

    def call(self, inputs):
        values = ops.reshape(ops.cast(inputs, "float32"), (-1, 1))
        return ops.cast(ops.equal(values, 0.0), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


def smooth_clip(inputs, scale):
    """x / sqrt(1 + (x / scale)^2), elementwise; `scale` a number, or an array that broadcasts against `inputs`."""
    ratio = ops.abs(inputs) / scale
    # Two algebraically equal forms, each used where it cannot overflow (|x| up to 1e38 stays finite).
    near = inputs / ops.sqrt(1.0 + ops.square(ops.minimum(ratio, 1.0)))
    far = ops.sign(inputs) * scale / ops.sqrt(1.0 + ops.square(1.0 / ops.maximum(ratio, 1.0)))
    return ops.where(ratio <= 1.0, near, far)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FusedNumbers(keras.layers.Layer):
    """Every numerical and numeric 0/1 column preprocessed at once, one op a step for all of them.

    Per column (lists of one entry a column, in input order): missing and non-finite values become `fill`; a
    number is held within [low, high] where a column has them (`ClipToRange`: its training range), then standardised
    as `keras.layers.Normalization` does, (x - mean) / max(sqrt(variance), epsilon); a
    column with `rescale` set is mapped as `keras.layers.Rescaling` does, x * scale + offset (0/1 columns); then
    smoothly clipped at `clip` where that is above 0 (`SmoothClip`). The output is (batch, 2n): the n values, then n
    missing flags (1.0 where the raw value was missing or not finite); when any column has `zero` set, (batch, 3n),
    with n zero flags after them (1.0 where the raw value was exactly 0, as `ZeroIndicator`). The same arithmetic as
    those per-column layers, element for element, in a few ops where they take about 30 a column: what one-row
    serving waits on.

    Input: a list of n tensors of shape (batch,).
    """

    def __init__(self, fill, mean, variance, scale, offset, rescale, clip, zero=None, low=None, high=None, **kwargs):
        super().__init__(**kwargs)
        self.fill = [float(v) for v in fill]
        self.mean = [float(v) for v in mean]
        self.variance = [float(v) for v in variance]
        self.scale = [float(v) for v in scale]
        self.offset = [float(v) for v in offset]
        self.rescale = [bool(v) for v in rescale]
        self.clip = [float(v) for v in clip]
        # Saves from before zero flags have none.
        self.zero = [False] * len(self.fill) if zero is None else [bool(v) for v in zero]
        # Each column's training range, or None where it is not held to one (saves from before the range have none).
        self.low = [None] * len(self.fill) if low is None else [None if v is None else float(v) for v in low]
        self.high = [None] * len(self.fill) if high is None else [None if v is None else float(v) for v in high]
        lengths = {len(v) for v in (self.fill, self.mean, self.variance, self.scale, self.offset, self.rescale,
                                    self.clip, self.zero, self.low, self.high)}
        if len(lengths) != 1:
            raise ValueError(f"FusedNumbers takes one entry a column in every list; got lengths {sorted(lengths)}.")

    @staticmethod
    def _row(values, dtype="float32"):
        return np.asarray(values, dtype=dtype).reshape(1, -1)

    def call(self, inputs):
        values = ops.stack([ops.cast(t, "float32") for t in inputs], axis=1)
        finite = ops.isfinite(values)
        filled = ops.where(finite, values, self._row(self.fill))
        if any(v is not None for v in self.low + self.high):
            filled = ops.clip(filled, self._row([-np.inf if v is None else v for v in self.low]),
                              self._row([np.inf if v is None else v for v in self.high]))
        rescale = self._row(self.rescale, "bool")
        out = None
        if not all(self.rescale):
            out = ops.divide(ops.subtract(filled, self._row(self.mean)),
                             ops.maximum(ops.sqrt(self._row(self.variance)), keras.backend.epsilon()))
        if any(self.rescale):
            rescaled = filled * self._row(self.scale) + self._row(self.offset)
            out = rescaled if out is None else ops.where(rescale, rescaled, out)
        clip = self._row(self.clip)
        if any(c > 0 for c in self.clip):
            clipped = smooth_clip(out, np.where(clip > 0, clip, np.float32(1.0)))
            out = ops.where(clip > 0, clipped, out)
        blocks = [out, ops.cast(ops.logical_not(finite), "float32")]
        if any(self.zero):
            blocks.append(ops.cast(ops.equal(values, 0.0), "float32"))
        return ops.concatenate(blocks, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], (3 if any(self.zero) else 2) * len(self.fill))

    def get_config(self):
        return {**super().get_config(), "fill": self.fill, "mean": self.mean, "variance": self.variance,
                "scale": self.scale, "offset": self.offset, "rescale": self.rescale, "clip": self.clip,
                "zero": self.zero, "low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TakeColumns(keras.layers.Layer):
    """The columns `indices` of a (batch, width) tensor, in that order: one gather (Keras has no such layer)."""

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, inputs):
        return ops.take(inputs, np.asarray(self.indices, dtype="int32"), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.indices))

    def get_config(self):
        return {**super().get_config(), "indices": self.indices}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothClip(keras.layers.Layer):
    """x / sqrt(1 + (x / scale)^2): the identity near 0, bounded by +-scale far out, and order-preserving.

    RealMLP-TD's smooth clipping: extreme values stay finite and distinguishable without dominating a layer.
    """

    def __init__(self, scale=3.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        return smooth_clip(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CategoryCodes(keras.layers.Layer):
    """Whole-number category codes as int64 for `IntegerLookup`; a missing value becomes `missing_code`."""

    def __init__(self, missing_code=-1, **kwargs):
        super().__init__(**kwargs)
        self.missing_code = int(missing_code)

    def call(self, inputs):
        values = ops.cast(inputs, "float32")
        missing = ops.logical_not(ops.isfinite(values))
        values = ops.where(missing, np.float32(self.missing_code), ops.round(values))
        return ops.cast(values, "int64")

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="int64")

    def get_config(self):
        return {**super().get_config(), "missing_code": self.missing_code}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LabelSet(keras.layers.Layer):
    """A set of labels, one string per row with its labels joined by `delimiter` ("action|comedy"; "" for none), as a
    multi-hot row: 1 for each label of `vocabulary` the row holds, and a first unit for any label outside it. Each
    label is stripped of surrounding white space; empty ones (a trailing delimiter) are dropped, and a label named
    twice counts once. The lookup is Keras's `StringLookup`, on the row's labels.

    Input: (batch,) strings. Output: (batch, len(vocabulary) + 1) float32.
    """

    def __init__(self, vocabulary=(), delimiter="|", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = [str(label) for label in vocabulary]
        self.delimiter = str(delimiter)
        # An array of Python strings: Keras would widen a list's labels to the longest in numpy's unicode dtype.
        self.lookup = keras.layers.StringLookup(vocabulary=np.array(self.vocabulary, dtype=object),
                                                num_oov_indices=1, output_mode="int", name="lookup")

    def build(self, input_shape=None):
        # Nothing to build: the lookup's vocabulary is fixed, and it takes the row's labels, not this input.
        self.built = True

    def call(self, strings):
        labels = tf.strings.strip(tf.strings.split(tf.reshape(strings, [-1]), sep=self.delimiter))
        labels = tf.ragged.boolean_mask(labels, tf.not_equal(labels, ""))
        width = len(self.vocabulary) + 1
        one_hot = tf.one_hot(self.lookup(labels.flat_values), width, dtype="float32")
        counts = tf.math.unsorted_segment_sum(one_hot, labels.value_rowids(), tf.shape(strings)[0])
        return tf.minimum(counts, 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.vocabulary) + 1)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "delimiter": self.delimiter}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TargetDecoder(keras.layers.Layer):
    """Map a regression head's standardised output back to the user's units: y = f(x * scale + center).

    f is exp(.) - 1 when the target was learned as log1p(y), the identity otherwise.
    """

    def __init__(self, center=0.0, scale=1.0, log1p=False, **kwargs):
        super().__init__(**kwargs)
        self.center = float(center)
        self.scale = float(scale)
        self.log1p = bool(log1p)

    def call(self, inputs):
        values = inputs * self.scale + self.center
        return ops.expm1(values) if self.log1p else values

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "center": self.center, "scale": self.scale, "log1p": self.log1p}


# ---------------------------------------------------------------------------------------------------- date-times
_CANONICAL = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}"
# Each step rewrites one accepted form towards YYYY-MM-DDTHH:MM:SS+HH:MM.
_NORMALISE = (
    (r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00"),                                  # a date alone: midnight
    (r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})", r"\1T\2"),                          # a space between date and time
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})([^:\d].*)?$", r"\1:00\2"),              # no seconds
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d+", r"\1"),                    # a fraction of a second
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s+", r"\1"),                      # spaces before the offset
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z$", r"\1+00:00"),                 # Z is UTC
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2})(\d{2})$", r"\1:\2"),     # +HHMM
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2})$", r"\1:00"),            # +HH
    (r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})$", r"\1+00:00"),                  # no offset: read as written
)


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (int64 tensors; H. Hinnant's days_from_civil)."""
    year = year - tf.cast(month <= 2, tf.int64)
    era = tf.math.floordiv(year, 400)
    year_of_era = year - era * 400
    day_of_year = (153 * tf.math.floormod(month + 9, 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _is_leap(year):
    return tf.logical_and(tf.equal(year % 4, 0), tf.logical_or(tf.not_equal(year % 100, 0), tf.equal(year % 400, 0)))


def parse_datetimes(strings):
    """Read ISO-8601 strings (the forms of `schema.ISO_DATETIME`; anything else, "" included, is missing) inside a
    TensorFlow graph.

    Returns a dict of tensors of the strings' shape: `valid` (bool), `seconds` (int64 seconds since 1970-01-01 UTC;
    a string without an offset is read as UTC), and the calendar parts as written (local time): year, month, day,
    day_of_week (Monday 0), day_of_year (1 to 366), hour, minute, plus `days_in_month` and `days_in_year`. The
    values of invalid rows mean nothing: mask them with `valid`.
    """
    text = tf.strings.upper(tf.strings.strip(strings))
    for pattern, rewrite in _NORMALISE:
        text = tf.strings.regex_replace(text, pattern, rewrite)
    well_formed = tf.strings.regex_full_match(text, _CANONICAL)
    text = tf.where(well_formed, text, tf.fill(tf.shape(text), "1970-01-01T00:00:00+00:00"))

    def field(start, length):
        return tf.strings.to_number(tf.strings.substr(text, start, length), tf.int64)

    year, month, day = field(0, 4), field(5, 2), field(8, 2)
    hour, minute, second = field(11, 2), field(14, 2), field(17, 2)
    sign = tf.where(tf.equal(tf.strings.substr(text, 19, 1), "-"), tf.constant(-1, tf.int64), 1)
    offset_minutes = sign * (field(20, 2) * 60 + field(23, 2))
    month_lengths = tf.constant([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], tf.int64)
    leap = _is_leap(year)
    days_in_month = tf.gather(month_lengths, tf.clip_by_value(month - 1, 0, 11)) + tf.cast(
        tf.logical_and(leap, tf.equal(month, 2)), tf.int64)
    valid = well_formed & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month) & (hour <= 23) & (
        minute <= 59) & (second <= 60)
    days = _days_from_civil(year, month, day)
    parts = {
        "year": year, "month": month, "day": day,
        "day_of_week": tf.math.floormod(days + 3, 7),
        "day_of_year": days - _days_from_civil(year, tf.ones_like(month), tf.ones_like(day)) + 1,
        "hour": hour, "minute": minute,
        "days_in_month": days_in_month, "days_in_year": 365 + tf.cast(leap, tf.int64),
        "seconds": days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60,
    }
    parts["valid"] = valid
    return parts


# Where each calendar part starts and how long its cycle is (None: read per row), for the sin/cos of its phase, and
# the range its linear value is scaled from (to about -1..1).
_CYCLES = {"month": (1, 12), "day": (1, None), "day_of_week": (0, 7), "day_of_year": (1, None), "hour": (0, 24),
           "minute": (0, 60)}
_RANGES = {"month": (1, 12), "day": (1, 31), "day_of_week": (0, 6), "day_of_year": (1, 366), "hour": (0, 23),
           "minute": (0, 59)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DateTimeFeatures(keras.layers.Layer):
    """ISO-8601 strings in; the continuous time (scaled), the calendar parts kept, and a missing flag out.

    The time is seconds since 1970-01-01 UTC, as (t - time_center) / time_scale. Each part in `parts` (see
    `defaults.CALENDAR_PARTS`) is a linear value scaled to about -1..1 (the year by `year_center` and
    `year_scale`), and, when `cyclical`, the sine and cosine of its phase in its cycle, so that December sits next
    to January. A missing or
    unreadable value gives zeros, and 1 in the missing flag when `missing_indicator`.

    Input: a batch of strings, shape (batch,). Output: float32 (batch, width).
    """

    def __init__(self, time_center=0.0, time_scale=1.0, parts=(), year_center=0.0, year_scale=1.0, cyclical=True,
                 missing_indicator=False, **kwargs):
        super().__init__(**kwargs)
        self.time_center = float(time_center)
        self.time_scale = float(time_scale)
        self.parts = [str(p) for p in parts]
        self.year_center = float(year_center)
        self.year_scale = float(year_scale)
        self.cyclical = bool(cyclical)
        self.missing_indicator = bool(missing_indicator)

    @property
    def width(self):
        cyclic = sum(1 for part in self.parts if part in _CYCLES) if self.cyclical else 0
        return 1 + len(self.parts) + 2 * cyclic + int(self.missing_indicator)

    def call(self, inputs):
        fields = parse_datetimes(tf.reshape(inputs, [-1]))
        valid = tf.cast(fields["valid"], tf.float64)
        columns = [(tf.cast(fields["seconds"], tf.float64) - self.time_center) / self.time_scale]
        for part in self.parts:
            value = tf.cast(fields[part], tf.float64)
            if part == "year":
                columns.append((value - self.year_center) / self.year_scale)
                continue
            low, high = _RANGES[part]
            columns.append((value - (low + high) / 2) / ((high - low) / 2))
            if self.cyclical:
                start, period = _CYCLES[part]
                length = tf.cast(fields[{"day": "days_in_month", "day_of_year": "days_in_year"}[part]], tf.float64) \
                    if period is None else float(period)
                phase = 2 * np.pi * (value - start) / length
                columns += [tf.sin(phase), tf.cos(phase)]
        features = tf.stack(columns, axis=-1) * valid[:, None]
        if self.missing_indicator:
            features = tf.concat([features, (1.0 - valid)[:, None]], axis=-1)
        return tf.cast(features, "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.width)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.width), dtype="float32")

    def get_config(self):
        return {**super().get_config(), "time_center": self.time_center, "time_scale": self.time_scale,
                "parts": list(self.parts), "year_center": self.year_center, "year_scale": self.year_scale,
                "cyclical": self.cyclical, "missing_indicator": self.missing_indicator}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PiecewiseLinear(keras.layers.Layer):
    """The piecewise-linear encoding of a number over bins (Gorishniy et al. 2022, "On Embeddings for Numerical
    Features in Tabular Deep Learning"): one feature per bin [edges[t], edges[t + 1]], 0 below it, 1 above it,
    linear inside; the first bin extends below the lowest edge and the last above the highest.

    Input: (batch, 1) numbers without missing values. Output: float32 (batch, len(edges) - 1).
    """

    def __init__(self, edges=(0.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.edges = [float(e) for e in edges]

    def call(self, inputs):
        edges = np.asarray(self.edges, dtype="float32")
        left, width = edges[:-1], np.diff(edges)
        ratio = (ops.reshape(ops.cast(inputs, "float32"), (-1, 1)) - left) / width
        bins = len(width)
        low = np.where(np.arange(bins) == 0, -np.inf, 0.0).astype("float32")
        high = np.where(np.arange(bins) == bins - 1, np.inf, 1.0).astype("float32")
        return ops.minimum(ops.maximum(ratio, low), high)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.edges) - 1)

    def get_config(self):
        return {**super().get_config(), "edges": list(self.edges)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class QuantileNormal(keras.layers.Layer):
    """A number as the normal score of its training quantile, as scikit-learn's
    `QuantileTransformer(output_distribution="normal")` computes it: the quantile level, linear between the stored
    (quantile, level) points and the end levels outside them, then the standard normal's inverse CDF, bounded at
    +-5.2 (levels 1e-7 from 0 and 1). Skewed and heavy-tailed columns come out about standard normal.

    Input: (batch, 1) numbers without missing values. Output: float32 (batch, 1).
    """

    def __init__(self, quantiles=(0.0, 1.0), levels=(0.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.quantiles = [float(q) for q in quantiles]
        self.levels = [float(level) for level in levels]

    def call(self, inputs):
        quantiles = np.asarray(self.quantiles, dtype="float32")
        levels = np.asarray(self.levels, dtype="float32")
        values = ops.reshape(ops.cast(inputs, "float32"), (-1,))
        # The segment [quantiles[upper - 1], quantiles[upper]] that holds each value (the first or last outside).
        upper = ops.clip(ops.searchsorted(quantiles, values, side="right"), 1, len(quantiles) - 1)
        low, high = ops.take(quantiles, upper - 1), ops.take(quantiles, upper)
        share = ops.clip((values - low) / (high - low), 0.0, 1.0)
        low_level, high_level = ops.take(levels, upper - 1), ops.take(levels, upper)
        # In float64: float32 cannot hold 1 - 1e-7 evenly, and the two end scores would differ.
        level = ops.clip(ops.cast(low_level + share * (high_level - low_level), "float64"), 1e-7, 1.0 - 1e-7)
        return ops.cast(ops.reshape(np.sqrt(2.0) * ops.erfinv(2.0 * level - 1.0), (-1, 1)), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles), "levels": list(self.levels)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TermWeights(keras.layers.Layer):
    """Weigh a bag of words: term counts in, (1 + log(count) when `sublinear`) times `idf_weights` (when given) out,
    each row scaled to unit length when `l2` (scikit-learn's TfidfVectorizer, on Keras's vocabulary and IDF).

    Input and output: float32 (batch, vocabulary).
    """

    def __init__(self, idf_weights=None, sublinear=False, l2=False, **kwargs):
        super().__init__(**kwargs)
        self.idf_weights = None if idf_weights is None else [float(w) for w in idf_weights]
        self.sublinear = bool(sublinear)
        self.l2 = bool(l2)

    def call(self, inputs):
        weights = ops.cast(inputs, "float32")
        if self.sublinear:
            weights = ops.where(weights > 0, 1.0 + ops.log(ops.maximum(weights, 1.0)), 0.0)
        if self.idf_weights is not None:
            weights = weights * np.asarray(self.idf_weights, dtype="float32")
        if self.l2:
            weights = weights / ops.maximum(ops.sqrt(ops.sum(ops.square(weights), axis=-1, keepdims=True)), 1e-12)
        return weights

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "idf_weights": self.idf_weights, "sublinear": self.sublinear, "l2": self.l2}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PeriodicEmbedding(keras.layers.Layer):
    """Trainable periodic embeddings of numbers, PLR (Gorishniy et al. 2022, "On Embeddings for Numerical Features
    in Tabular Deep Learning"): for each number x_j, the cosines and sines of 2 pi c_jk x_j over `frequencies`
    trainable frequencies c_jk (drawn from N(0, sigma)), then a linear map of its own to `dim` units and a ReLU.

    Input: float32 (batch, numbers). Output: float32 (batch, numbers * dim).
    """

    def __init__(self, frequencies=48, sigma=0.01, dim=24, **kwargs):
        super().__init__(**kwargs)
        self.frequencies = int(frequencies)
        self.sigma = float(sigma)
        self.dim = int(dim)

    def build(self, input_shape):
        numbers, width = int(input_shape[-1]), 2 * self.frequencies
        self.coefficients = self.add_weight(shape=(numbers, self.frequencies), name="frequencies",
                                            initializer=keras.initializers.RandomNormal(stddev=self.sigma))
        bound = 1.0 / np.sqrt(width)
        self.kernel = self.add_weight(shape=(numbers, width, self.dim), name="kernel",
                                      initializer=keras.initializers.RandomUniform(-bound, bound))
        self.bias = self.add_weight(shape=(numbers, self.dim), name="bias",
                                    initializer=keras.initializers.RandomUniform(-bound, bound))

    def call(self, inputs):
        phase = 2 * np.pi * ops.expand_dims(inputs, -1) * self.coefficients
        periodic = ops.concatenate([ops.cos(phase), ops.sin(phase)], axis=-1)
        embedded = ops.relu(ops.einsum("bnf,nfd->bnd", periodic, self.kernel) + self.bias)
        return ops.reshape(embedded, (-1, embedded.shape[1] * self.dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] * self.dim)

    def get_config(self):
        return {**super().get_config(), "frequencies": self.frequencies, "sigma": self.sigma, "dim": self.dim}


# ---------------------------------------------------------------------------------------------------- heads
# The smallest step between an ordinal head's thresholds (in logits): a class between two thresholds this close gets
# about a quarter of it, never 0.
_MIN_THRESHOLD_STEP = 1e-3
# Adam moves each weight by about the learning rate a step, whatever its gradient: a threshold that must travel a few
# logits (as the score sharpens) would take thousands of steps, where the score's dense layer, summing hundreds of
# weights, moves at once. The thresholds are this many times their weights, so that they keep up.
_THRESHOLD_RATE = 30.0


@keras.saving.register_keras_serializable(package=PACKAGE)
class CumulativeLogits(keras.layers.Layer):
    """An ordinal head's class probabilities from one score per row (the cumulative-link, or proportional-odds,
    model): P(y <= k) = sigmoid(t_k - score) for thresholds t_0 < t_1 < ... < t_{classes-2}, and the probability of
    class k is P(y <= k) - P(y <= k - 1). The thresholds are kept in order by construction (the first, then
    positive steps: softplus of free weights), so every probability is at least 0, they sum to 1, P(y > k) falls as
    k rises, and a higher score moves the mass towards the higher classes.

    Input: (..., 1) scores. Output: (..., classes) probabilities, which the categorical cross-entropy losses read
    as a softmax head's. The thresholds start at `thresholds` (classes - 1 increasing numbers: the logits of the
    training classes' cumulative shares, so that a score of 0 predicts their frequencies and training need only
    learn the score), or one unit apart, centred on 0.
    """

    def __init__(self, classes=3, thresholds=None, **kwargs):
        super().__init__(**kwargs)
        self.classes = int(classes)
        if self.classes < 2:
            raise ValueError(f"An ordinal head needs at least 2 classes. Received: classes={classes!r}.")
        if thresholds is None:
            thresholds = np.arange(self.classes - 1) - (self.classes - 2) / 2.0
        thresholds = [float(t) for t in thresholds]
        steps = np.diff(thresholds)
        if len(thresholds) != self.classes - 1 or not np.all(np.isfinite(thresholds)) or np.any(steps <= 0):
            raise ValueError(f"thresholds must be {self.classes - 1} finite, increasing numbers. Received: "
                             f"thresholds={thresholds!r}.")
        self.initial_thresholds = thresholds

    # The linear scores a row it reads (the head's dense layer's units).
    score_units = 1

    def build(self, input_shape):
        first, steps = self.initial_thresholds[0], np.diff(self.initial_thresholds)
        # The weights are the thresholds' parameters divided by _THRESHOLD_RATE (see there).
        self.first = self.add_weight(shape=(1,), name="first_threshold",
                                     initializer=keras.initializers.Constant(first / _THRESHOLD_RATE))
        # The inverse of softplus, so that the steps start as given.
        raw = np.log(np.expm1(np.maximum(steps - _MIN_THRESHOLD_STEP, 1e-4))) / _THRESHOLD_RATE
        self.steps = self.add_weight(shape=(self.classes - 2,), name="threshold_steps",
                                     initializer=keras.initializers.Constant(raw))

    def thresholds(self):
        # Each step is at least _MIN_THRESHOLD_STEP, so that no class's probability is exactly 0 in float32.
        steps = ops.softplus(self.steps * _THRESHOLD_RATE) + _MIN_THRESHOLD_STEP
        first = self.first * _THRESHOLD_RATE
        return ops.concatenate([first, first + ops.cumsum(steps)], axis=0)

    def call(self, scores):
        below = ops.sigmoid(self.thresholds() - scores)  # P(y <= k), k = 0 .. classes - 2; (..., classes - 1)
        zeros, ones = ops.zeros_like(scores), ops.ones_like(scores)
        cumulative = ops.concatenate([zeros, below, ones], axis=-1)
        return cumulative[..., 1:] - cumulative[..., :-1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.classes,)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes, "thresholds": self.initial_thresholds}


# ---------------------------------------------------------------------------------------------------- normal heads
# The smallest standard deviation a normal head predicts, in the learned (standardised) units: a row the network
# fits exactly would otherwise drive it to 0 and the likelihood to infinity.
_MIN_SIGMA = 1e-3


@keras.saving.register_keras_serializable(package=PACKAGE)
class NormalParameters(keras.layers.Layer):
    """A heteroscedastic Gaussian head's parameters from two linear scores per row: the mean (the first score) and
    the standard deviation, softplus of the second plus a floor (positive, and growing linearly rather than
    exponentially, which keeps early steps of the likelihood stable: Seitzer et al. 2022).

    Input: (..., 2) scores. Output: (..., 2), [mean, standard deviation], in the units the loss sees.
    """

    score_units = 2

    def call(self, scores):
        return ops.concatenate([scores[..., :1], ops.softplus(scores[..., 1:]) + _MIN_SIGMA], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class GaussianNLL(keras.losses.Loss):
    """The negative log-likelihood of a normal distribution whose mean and standard deviation are predicted per
    row: log(sigma) + (y - mu)^2 / (2 sigma^2) + log(2 pi) / 2. With a fixed sigma it is the mean squared error, up to
    scale and a constant: MSE is this likelihood with the variance held constant.

    `beta` > 0 weighs each row's term by sigma^(2 beta), held constant in the gradient (beta-NLL, Seitzer et al.
    2022, "On the pitfalls of heteroscedastic uncertainty estimation"): plain NLL (beta 0) lets the network explain
    hard rows away as noise and learn their mean slowly; beta 1 gives the mean MSE's gradient.

    y_true: (batch, 1). y_pred: (batch, 2), [mean, standard deviation] (`NormalParameters`).
    """

    def __init__(self, beta=0.0, **kwargs):
        kwargs.setdefault("name", "gaussian_nll")
        super().__init__(**kwargs)
        self.beta = float(beta)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        mean, sigma = y_pred[..., :1], y_pred[..., 1:2]
        nll = ops.log(sigma) + 0.5 * ops.square((y_true - mean) / sigma) + 0.5 * float(np.log(2 * np.pi))
        if self.beta:
            nll = nll * ops.stop_gradient(ops.power(sigma, 2.0 * self.beta))
        return ops.mean(nll, axis=-1)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package=PACKAGE)
class NormalDecoder(keras.layers.Layer):
    """A normal head's [mean, standard deviation] in the user's units: the mean as `TargetDecoder` maps a value
    (mean * scale + center), the standard deviation times the scale. Output: (batch, 2)."""

    def __init__(self, center=0.0, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.center = float(center)
        self.scale = float(scale)

    def call(self, inputs):
        return ops.concatenate([inputs[..., :1] * self.scale + self.center, inputs[..., 1:2] * self.scale], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "center": self.center, "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class NormalMixture(keras.layers.Layer):
    """An ensemble of normal heads as one normal: its members' equal-weight mixture has the mean of their means and
    the variance mean(sigma_m^2 + mu_m^2) - mu^2, their mean variance plus the spread of their means (the moments
    of the mixture, which `MemberMean` would understate). (batch, members, 2) -> (batch, 2)."""

    def call(self, inputs):
        means, sigmas = inputs[..., 0], inputs[..., 1]
        mean = ops.mean(means, axis=1)
        variance = ops.mean(ops.square(sigmas) + ops.square(means - ops.expand_dims(mean, 1)), axis=1)
        return ops.stack([mean, ops.sqrt(variance)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class OnColumn(keras.metrics.Metric):
    """`metric` of one of a head's outputs: a normal head's mean (the first of [mean, standard deviation]), a
    quantile head's median. The regression metrics (mae, rmse) would otherwise compare the truth with all of them."""

    def __init__(self, metric=None, column=0, **kwargs):
        metric = keras.metrics.get(metric) if not isinstance(metric, keras.metrics.Metric) else metric
        kwargs.setdefault("name", metric.name)
        super().__init__(**kwargs)
        self.metric = metric
        self.column = int(column)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return self.metric.update_state(y_true, y_pred[..., self.column:self.column + 1], sample_weight)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self):
        return {**super().get_config(), "metric": keras.metrics.serialize(self.metric), "column": self.column}


# ---------------------------------------------------------------------------------------------------- count heads
# The smallest dispersion a negative binomial head predicts: the Poisson limit (dispersion 0) makes the likelihood's
# log-gamma terms differences of huge numbers, which float32 cannot resolve.
_MIN_DISPERSION = 1e-3


@keras.saving.register_keras_serializable(package=PACKAGE)
class NegativeBinomialParameters(keras.layers.Layer):
    """A negative binomial head's parameters from two linear scores per row: the mean, exp of the first (the log
    link of a count regression; in units of the training mean, as the target is learned), and the dispersion alpha,
    softplus of the second plus a floor (the variance is mean + alpha mean^2 in the counts' units: alpha 0 is Poisson).

    Input: (..., 2) scores. Output: (..., 2), [mean, dispersion].
    """

    score_units = 2

    def call(self, scores):
        return ops.concatenate([ops.exp(scores[..., :1]), ops.softplus(scores[..., 1:]) + _MIN_DISPERSION], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class NegativeBinomialNLL(keras.losses.Loss):
    """The negative log-likelihood of a negative binomial (NB2) count with mean mu and dispersion alpha, r = 1/alpha:
    lgamma(r) - lgamma(y + r) + lgamma(y + 1) + (r + y) log(1 + alpha mu) - y log(alpha mu). Its variance,
    mu + alpha mu^2, grows faster than the Poisson's (mu): overdispersed counts. As alpha -> 0 it is the Poisson
    likelihood.

    The head learns the counts in units of `count_scale` (the training mean, so that it starts near it): y_true and
    the predicted mean are multiplied back by it here, so that the likelihood is that of the counts themselves.

    y_true: (batch, 1), counts / count_scale. y_pred: (batch, 2), [mean / count_scale, alpha]
    (`NegativeBinomialParameters`).
    """

    def __init__(self, count_scale=1.0, **kwargs):
        kwargs.setdefault("name", "negative_binomial")
        super().__init__(**kwargs)
        self.count_scale = float(count_scale)
        if not np.isfinite(self.count_scale) or self.count_scale <= 0:
            raise ValueError(f"count_scale must be a positive number. Received: count_scale={count_scale!r}.")

    def call(self, y_true, y_pred):
        counts = ops.cast(y_true, y_pred.dtype) * self.count_scale
        mean, alpha = y_pred[..., :1] * self.count_scale, y_pred[..., 1:2]
        r = 1.0 / alpha
        # A smallest positive mean: exp can underflow to 0 far from the data, and log(0) would be -inf.
        alpha_mean = alpha * ops.maximum(mean, 1e-12)
        nll = (tf.math.lgamma(r) - tf.math.lgamma(counts + r) + tf.math.lgamma(counts + 1.0)
               + (r + counts) * ops.log1p(alpha_mean) - counts * ops.log(alpha_mean))
        return ops.mean(nll, axis=-1)

    def get_config(self):
        return {**super().get_config(), "count_scale": self.count_scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class NegativeBinomialDecoder(keras.layers.Layer):
    """A negative binomial head's [mean, dispersion] as the served [mean, standard deviation] in counts: the mean
    times `count_scale`, sqrt(mean + alpha mean^2). Output: (batch, 2)."""

    def __init__(self, count_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.count_scale = float(count_scale)

    def call(self, inputs):
        mean = inputs[..., :1] * self.count_scale
        return ops.concatenate([mean, ops.sqrt(mean + inputs[..., 1:2] * ops.square(mean))], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "count_scale": self.count_scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class NegativeBinomialMixture(keras.layers.Layer):
    """An ensemble of negative binomial heads as one: the mean of the members' means, and the dispersion that gives
    their mixture's variance, mean(mu_m + alpha_m mu_m^2) + spread of the mu_m, i.e. alpha = (mean(alpha_m mu_m^2) +
    var(mu_m)) / mu^2 (the same in any units of the mean). (batch, members, 2) -> (batch, 2), [mean, dispersion]."""

    def call(self, inputs):
        means, alphas = inputs[..., 0], inputs[..., 1]
        mean = ops.mean(means, axis=1)
        excess = ops.mean(alphas * ops.square(means) + ops.square(means - ops.expand_dims(mean, 1)), axis=1)
        return ops.stack([mean, excess / ops.maximum(ops.square(mean), 1e-24)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])


# ---------------------------------------------------------------------------------------------------- quantile heads
def check_quantiles(quantiles):
    """`quantiles` as a list of floats: distinct, increasing, strictly between 0 and 1, and holding 0.5 (the median,
    which is the prediction). Raises ValueError saying what is wrong."""
    example = "e.g. [0.05, 0.5, 0.95]"
    if not isinstance(quantiles, (list, tuple)) or not quantiles or not all(
            isinstance(q, (int, float, np.number)) and not isinstance(q, bool) for q in quantiles):
        raise ValueError(f"quantiles must be a list of numbers strictly between 0 and 1, {example}. Received: "
                         f"quantiles={quantiles!r}.")
    levels = [float(q) for q in quantiles]
    if not all(0.0 < q < 1.0 for q in levels):
        raise ValueError(f"every quantile must be strictly between 0 and 1, {example}. Received: "
                         f"quantiles={quantiles!r}.")
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise ValueError(f"quantiles must be listed from lowest to highest, each once, {example}. Received: "
                         f"quantiles={quantiles!r}.")
    if 0.5 not in levels:
        raise ValueError(f"quantiles must include 0.5: the median is what predict returns, {example}. Received: "
                         f"quantiles={quantiles!r}.")
    return levels


@keras.saving.register_keras_serializable(package=PACKAGE)
class PinballLoss(keras.losses.Loss):
    """The quantile (pinball) loss, one output per quantile: for quantile q and error e = y - prediction,
    max(q e, (q - 1) e), averaged over the quantiles. Its minimiser is the conditional q-quantile (Koenker & Bassett
    1978); 0.5 gives half the mean absolute error.

    y_true: (batch, 1). y_pred: (batch, quantiles), in the order of `quantiles`.
    """

    def __init__(self, quantiles=(0.05, 0.5, 0.95), **kwargs):
        kwargs.setdefault("name", "quantile")
        super().__init__(**kwargs)
        self.quantiles = check_quantiles(quantiles)

    def call(self, y_true, y_pred):
        levels = ops.convert_to_tensor(np.asarray(self.quantiles, dtype="float32"), dtype=y_pred.dtype)
        error = ops.cast(y_true, y_pred.dtype) - y_pred
        return ops.mean(ops.maximum(levels * error, (levels - 1.0) * error), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


@keras.saving.register_keras_serializable(package=PACKAGE)
class QuantileLadder(keras.layers.Layer):
    """A quantile head's outputs, one per quantile, that cannot cross: the median is a free score, and each quantile
    above (below) it is the one before plus (minus) a positive step, softplus of a score of its own. Training with
    the pinball loss then fits every quantile while keeping their order on every row (no crossing quantiles, which
    separately fitted heads give; Chernozhukov et al. 2010 sort them afterwards instead).

    Input: (..., quantiles) scores. Output: (..., quantiles) values, lowest quantile first.
    """

    def __init__(self, quantiles=(0.05, 0.5, 0.95), **kwargs):
        super().__init__(**kwargs)
        self.quantiles = check_quantiles(quantiles)
        # The linear scores a row it reads (the head's dense layer's units).
        self.score_units = len(self.quantiles)

    def call(self, scores):
        middle = self.quantiles.index(0.5)
        median = scores[..., middle:middle + 1]
        up = median + ops.cumsum(ops.softplus(scores[..., middle + 1:]), axis=-1)
        down = median - ops.cumsum(ops.softplus(ops.flip(scores[..., :middle], axis=-1)), axis=-1)
        return ops.concatenate([ops.flip(down, axis=-1), median, up], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


# ---------------------------------------------------------------------------------------------------- ensembles
@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleInputs(keras.layers.Layer):
    """The features, once per member of an ensemble that shares one network (TabM-mini: Gorishniy et al. 2025,
    "TabM: Advancing Tabular Deep Learning with Parameter-Efficient Ensembling"): member m sees x * r_m, where the
    trainable r_m starts as random signs, so that the members differ from the first step.

    Input: (batch, features). Output: (batch, members, features).
    """

    def __init__(self, members=8, **kwargs):
        super().__init__(**kwargs)
        self.members = int(members)

    def build(self, input_shape):
        self.scales = self.add_weight(shape=(self.members, int(input_shape[-1])), name="scales",
                                      initializer=_random_signs)

    def call(self, inputs):
        return ops.expand_dims(inputs, 1) * self.scales

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.members, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "members": self.members}


def _random_signs(shape, dtype=None):
    # Drawn from Keras's global generator, which `keras.utils.set_random_seed` seeds: a seeded fit repeats.
    return ops.where(keras.random.uniform(shape) < 0.5, -1.0, 1.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleDense(keras.layers.Layer):
    """A dense layer of its own for each member: (batch, members, features) -> (batch, members, units).

    `kernel_limit` None: the kernels start Glorot-uniform over the whole (members, features, units) tensor (the
    heads'); a number: uniform in [-kernel_limit, kernel_limit], as each member's own dense layer would start (a
    body's layers, where the limit is Glorot's over that layer's inputs and units).
    """

    def __init__(self, units=1, activation=None, kernel_limit=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_limit = None if kernel_limit is None else float(kernel_limit)

    def build(self, input_shape):
        members, features = int(input_shape[1]), int(input_shape[-1])
        initializer = (keras.initializers.GlorotUniform() if self.kernel_limit is None
                       else keras.initializers.RandomUniform(-self.kernel_limit, self.kernel_limit))
        self.kernel = self.add_weight(shape=(members, features, self.units), name="kernel", initializer=initializer)
        self.bias = self.add_weight(shape=(members, self.units), name="bias", initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.einsum("bmf,mfu->bmu", inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation), "kernel_limit": self.kernel_limit}


@keras.saving.register_keras_serializable(package=PACKAGE)
class OneHotLookups(keras.layers.Layer):
    """What a dense layer adds for its one-hot columns, read as lookups: a one-hot vector times a kernel is the
    kernel's row at the hot index, so each column costs `units` multiplications a row instead of `levels * units`.
    All the columns share one table (each column's rows after the previous columns'), so a row's lookups are one
    gather and their sum one reduction, however many columns there are. With an ensemble's members (TabM-mini:
    member m sees the features times its own scales), member m adds each row times its scale for that level.

    Inputs: a list of (batch,) index tensors, one per column, column i's in [0, levels[i]). Output: (batch, units),
    or (batch, members, units) with `members` > 1. No bias: the dense layer this completes has it. The kernel and
    the scales start as that layer's would (`limit` is its Glorot-uniform limit over all its inputs; the scales are
    random signs, as `EnsembleInputs`').
    """

    def __init__(self, units=1, levels=(1,), members=1, limit=0.05, **kwargs):
        super().__init__(**kwargs)
        self.units, self.members, self.limit = int(units), int(members), float(limit)
        self.levels = [int(n) for n in levels]
        self.offsets = np.cumsum([0, *self.levels[:-1]]).astype("int32")  # where each column's rows start

    def build(self, input_shape):
        rows = sum(self.levels)
        self.kernel = self.add_weight(shape=(rows, self.units), name="kernel",
                                      initializer=keras.initializers.RandomUniform(-self.limit, self.limit))
        if self.members > 1:
            self.scales = self.add_weight(shape=(rows, self.members), name="scales", initializer=_random_signs)

    def call(self, indices):
        rows = ops.stack([ops.cast(index, "int32") for index in indices], axis=1) + self.offsets  # (batch, columns)
        kernel_rows = ops.take(self.kernel, rows, axis=0)  # (batch, columns, units)
        if self.members == 1:
            return ops.sum(kernel_rows, axis=1)
        # Each member's sum over the columns of scale times kernel row: one batched product, which never writes
        # a (batch, columns, members, units) tensor.
        return ops.einsum("bcm,bcu->bmu", ops.take(self.scales, rows, axis=0), kernel_rows)

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        return (batch, self.units) if self.members == 1 else (batch, self.members, self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "levels": self.levels, "members": self.members,
                "limit": self.limit}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MemberMean(keras.layers.Layer):
    """The ensemble's prediction: the mean of its members' (probabilities or values). (batch, members, units) ->
    (batch, units)."""

    def call(self, inputs):
        return ops.mean(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class MembersLoss(keras.losses.Loss):
    """A loss over an ensemble's members: `loss` of each member's prediction, (batch, members, ...), against the
    same target, averaged over the members (TabM trains its members so, not on their mean)."""

    def __init__(self, loss="mse", **kwargs):
        kwargs.setdefault("name", f"members_{getattr(loss, 'name', loss)}")
        super().__init__(**kwargs)
        self.loss = keras.losses.get(loss)

    def call(self, y_true, y_pred):
        members = ops.shape(y_pred)[1]
        flat = ops.reshape(y_pred, (-1,) + tuple(y_pred.shape[2:]))
        repeated = ops.repeat(y_true, members, axis=0)
        per_member = self.loss.call(repeated, flat) if isinstance(self.loss, keras.losses.Loss) else self.loss(
            repeated, flat)
        return ops.mean(ops.reshape(per_member, (-1, members)), axis=1)

    def get_config(self):
        # A loss function by its name: Keras would write a function as a reference to Python code.
        loss = keras.losses.serialize(self.loss) if isinstance(self.loss, keras.losses.Loss) else self.loss.__name__
        return {**super().get_config(), "loss": loss}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedLoss(keras.losses.Loss):
    """An autoencoder's loss for one column: `loss` of each row's reconstruction, counted only where the row has a
    value. The labels carry that as their last column (1: a value, 0: missing or one the head has no output for),
    so that the mask travels with the labels through every way of feeding training (cached, streamed, files)."""

    def __init__(self, loss="mse", **kwargs):
        kwargs.setdefault("name", f"masked_{getattr(loss, 'name', loss)}")
        super().__init__(**kwargs)
        self.loss = keras.losses.get(loss)

    def per_row(self, y_true, y_pred):
        """The loss of each row, 0 where the row has no value (unreduced)."""
        labels, present = y_true[..., :-1], y_true[..., -1]
        loss = self.loss.call(labels, y_pred) if isinstance(self.loss, keras.losses.Loss) else self.loss(
            labels, y_pred)
        return ops.cast(loss, present.dtype) * present

    def call(self, y_true, y_pred):
        return self.per_row(y_true, y_pred)

    def get_config(self):
        # A loss function by its name: Keras would write a function as a reference to Python code.
        loss = keras.losses.serialize(self.loss) if isinstance(self.loss, keras.losses.Loss) else self.loss.__name__
        return {**super().get_config(), "loss": loss}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy with label smoothing on integer class labels.

    Keras's sparse cross-entropy has no `label_smoothing`, and its dense one needs one-hot labels, which for a
    target of many classes is a (rows x classes) array held for the whole fit. This one expands each batch's labels
    to one-hot inside the loss: the same value as `categorical_crossentropy(..., label_smoothing=s)` (the true
    class weighs 1 - s + s / classes, every other s / classes), for the memory of the integer labels."""

    def __init__(self, label_smoothing=0.0, name="sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) or not (
                0.0 <= label_smoothing < 1.0):
            raise ValueError(f"label_smoothing must be a number from 0 (none) up to, not including, 1. "
                             f"Received: label_smoothing={label_smoothing!r}.")
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        classes = ops.shape(y_pred)[-1]
        labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
        return keras.losses.categorical_crossentropy(ops.one_hot(labels, classes, dtype=y_pred.dtype), y_pred,
                                                     label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MembersMetric(keras.metrics.Metric):
    """`metric` of an ensemble's mean prediction, from its members' predictions (batch, members, ...)."""

    def __init__(self, metric=None, **kwargs):
        super().__init__(**kwargs)
        self.metric = keras.metrics.get(metric) if not isinstance(metric, keras.metrics.Metric) else metric

    def update_state(self, y_true, y_pred, sample_weight=None):
        return self.metric.update_state(y_true, ops.mean(y_pred, axis=1), sample_weight)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self):
        return {**super().get_config(), "metric": keras.metrics.serialize(self.metric)}


# ---------------------------------------------------------------------------------------------------- the model
@keras.saving.register_keras_serializable(package=PACKAGE)
class ServedModel(keras.Model):
    """The served model (raw columns in, predictions in the user's units out): a functional model whose `predict`,
    `predict_on_batch` and `evaluate` also take what users hand a model: a DataFrame (pandas, polars, pyarrow),
    `dict(df)`, or a dict of numpy arrays of any dtype (object, str, datetime). Each column is read as its input's
    dtype, as the Automater reads it (see `keras_defaults.served`); tensors pass unchanged."""

    def predict(self, x, *args, **kwargs):
        return super().predict(self._read_columns(x), *args, **kwargs)

    def predict_on_batch(self, x):
        return super().predict_on_batch(self._read_columns(x))

    def evaluate(self, x=None, *args, **kwargs):
        return super().evaluate(self._read_columns(x) if x is not None else x, *args, **kwargs)

    def _read_columns(self, x):
        from keras_defaults.served import model_inputs

        # A dataset or a generator is the caller's to shape; a DataFrame or a dict of columns is read here.
        if isinstance(x, dict) or hasattr(x, "columns") or hasattr(x, "__arrow_c_stream__"):
            return model_inputs(x, self)
        return x
