import keras
import numpy as np
import pytest

from conftest import FAST
from keras_defaults import Automater
from keras_defaults.averaging import WeightAverage, averaged_epochs, weight_average


@pytest.mark.parametrize("epochs, fraction, expected", [
    (40, 0.25, 10), (40, 0.5, 20), (3, 0.25, 1), (10, 0.01, 1), (7, 0.5, 4), (40, 0.0, 0), (0, 0.5, 0)])
def test_the_averaged_epochs_are_a_rounded_share_of_the_run_and_at_least_one(epochs, fraction, expected):
    assert averaged_epochs(epochs, fraction) == expected


def test_a_single_averaged_epoch_adds_no_callback():
    assert weight_average(3, 0.25) == [] and weight_average(40, 0.0) == []
    [callback] = weight_average(40, 0.25)
    assert isinstance(callback, WeightAverage) and callback.first_epoch == 30


class WeightsPerEpoch(keras.callbacks.Callback):
    """Every run's trainable weights at the end of each of its epochs."""

    def __init__(self):
        super().__init__()
        self.runs = []

    def on_train_begin(self, logs=None):
        self.runs.append([])

    def on_epoch_end(self, epoch, logs=None):
        self.runs[-1].append([v.numpy().copy() for v in self.model.trainable_variables])


def test_the_weights_end_as_their_mean_over_the_last_epochs():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    seen = WeightsPerEpoch()
    model.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[WeightAverage(first_epoch=3), seen])
    [epochs] = seen.runs
    expected = [np.mean([epoch[i] for epoch in epochs[3:]], axis=0) for i in range(len(epochs[0]))]
    for variable, mean, last in zip(model.trainable_variables, expected, epochs[-1]):
        np.testing.assert_allclose(variable.numpy(), mean, rtol=1e-6, atol=1e-7)
        assert not np.allclose(mean, last)  # the epochs moved the weights: the mean is not the last epoch's


def test_the_refit_ends_with_its_weights_averaged_over_its_last_epochs(frame):
    settings = {**FAST, "training": {"epochs": 12, "batch_size": 64, "early_stopping": {"patience": 12},
                                     "refit": True, "refit_average": 0.5}}
    seen = WeightsPerEpoch()
    auto = Automater("binary", seed=0, verbose=0, overrides=settings).fit(frame, callbacks=[seen])
    first, refit = seen.runs
    assert len(refit) == auto.refit_epochs_ and auto.refit_epochs_ >= 2
    averaged = averaged_epochs(auto.refit_epochs_, 0.5)
    expected = [np.mean([epoch[i] for epoch in refit[-averaged:]], axis=0) for i in range(len(refit[0]))]
    for variable, mean in zip(auto.network_.trainable_variables, expected):
        np.testing.assert_allclose(variable.numpy(), mean, rtol=1e-5, atol=1e-6)
    # The served model runs those weights: its predictions are the network's.
    served = auto.predict_proba(frame)
    plain = Automater("binary", seed=0, verbose=0, overrides={**settings, "training": {
        **settings["training"], "refit_average": 0.0}}).fit(frame).predict_proba(frame)
    assert not np.allclose(served, plain)
    assert "averaged over the last 50% of its epochs" in auto.explain().set_index("column").loc["training"].choice
