"""The few Keras layers that Keras itself lacks; everything else is a built-in preprocessing layer.

Each layer is small, registered under the package's name so that `keras.saving.load_model` finds it in safe mode
once `keras_defaults` is imported, and its `get_config` holds only plain numbers.
"""

import keras
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
        return ops.where(ops.isfinite(values), values, ops.full_like(values, self.fill_value))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "fill_value": self.fill_value}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MissingIndicator(keras.layers.Layer):
    """1.0 where a value is NaN or infinite, 0.0 elsewhere. Input (batch,) or (batch, 1); output (batch, 1)."""

    def call(self, inputs):
        values = ops.reshape(ops.cast(inputs, "float32"), (-1, 1))
        return ops.cast(ops.logical_not(ops.isfinite(values)), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothClip(keras.layers.Layer):
    """x / sqrt(1 + (x / scale)^2): the identity near 0, bounded by +-scale far out, and order-preserving.

    RealMLP-TD's smooth clipping: extreme values stay finite and distinguishable without dominating a layer.
    """

    def __init__(self, scale=3.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        ratio = ops.abs(inputs) / self.scale
        # Two algebraically equal forms, each used where it cannot overflow (|x| up to 1e38 stays finite).
        near = inputs / ops.sqrt(1.0 + ops.square(ops.minimum(ratio, 1.0)))
        far = ops.sign(inputs) * self.scale / ops.sqrt(1.0 + ops.square(1.0 / ops.maximum(ratio, 1.0)))
        return ops.where(ratio <= 1.0, near, far)

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
        values = ops.where(missing, ops.full_like(values, float(self.missing_code)), ops.round(values))
        return ops.cast(values, "int64")

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="int64")

    def get_config(self):
        return {**super().get_config(), "missing_code": self.missing_code}


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
