"""The refit's weights averaged over its last epochs (`training.refit_average`).

At a constant learning rate the weights at the end of a fixed-length run are one draw from where the optimizer
wanders near a minimum; their average over the last epochs is its centre (stochastic weight averaging: Izmailov et
al. 2018, "Averaging Weights Leads to Wider Optima and Better Generalization"). Keras's own moving average
(`optimizer.use_ema`) is not used for this: it starts from the first step's weights without a bias correction, so a
short run keeps much of its weight on the (near random) first steps.
"""

import keras
import numpy as np


def averaged_epochs(epochs, fraction):
    """How many of a run's last `epochs` are averaged: `fraction` of them, rounded, at least one (0: none)."""
    if not fraction or not epochs:
        return 0
    return int(np.clip(round(fraction * epochs), 1, epochs))


def weight_average(epochs, fraction):
    """The callbacks that average a run of `epochs` over its last `fraction` of them: [WeightAverage], or [] when
    that is a single epoch (the last epoch's weights, as without it)."""
    averaged = averaged_epochs(epochs, fraction)
    return [WeightAverage(epochs - averaged)] if averaged > 1 else []


class WeightAverage(keras.callbacks.Callback):
    """Sums the model's trainable weights at the end of every epoch from `first_epoch` (counted from 0), and sets
    them to their mean when training ends. Only trainable weights: random seed states and the optimizer's slots stay
    as the last epoch left them. `averaged` counts the epochs in the mean."""

    def __init__(self, first_epoch):
        super().__init__()
        self.first_epoch = first_epoch
        self.averaged = 0
        self._sums = None

    def on_train_begin(self, logs=None):
        self.averaged, self._sums = 0, None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.first_epoch:
            return
        # float64 sums: a mean of many float32 values keeps its last digits.
        values = [np.asarray(variable.numpy(), dtype=np.float64) for variable in self.model.trainable_variables]
        if self._sums is None:
            self._sums = values
        else:
            for total, value in zip(self._sums, values, strict=True):
                total += value
        self.averaged += 1

    def on_train_end(self, logs=None):
        if self.averaged < 2:
            return
        for variable, total in zip(self.model.trainable_variables, self._sums, strict=True):
            variable.assign((total / self.averaged).astype(variable.dtype))
        self._sums = None
