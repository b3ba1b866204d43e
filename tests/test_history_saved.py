"""`history_`, the training curves, and `refit_epochs_` are kept by `save` and restored by `load`; a bad one in the
file is refused."""

import json
import math

import pytest

from keras_defaults import Automater
from keras_defaults.errors import UnsafeFileError


def edit_state(path, change):
    state_file = path / "automater.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    change(state)
    state_file.write_text(json.dumps(state), encoding="utf-8")


def test_load_restores_the_training_curves(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    assert auto.history_ and all(len(values) == 3 for values in auto.history_.values())  # FAST: 3 epochs
    loaded = Automater.load(auto.save(tmp_path / "run"))
    assert loaded.history_ == auto.history_
    # A loaded Automater saves its curves again.
    assert Automater.load(loaded.save(tmp_path / "again")).history_ == auto.history_


def test_curves_of_a_diverged_fit_load(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    edit_state(path, lambda s: s.update(history={"loss": [1.0, float("inf"), float("nan")], "val_loss": [1.0] * 3}))
    loss = Automater.load(path).history_["loss"]
    assert loss[:2] == [1.0, math.inf] and math.isnan(loss[2])


def test_a_save_made_before_curves_were_kept_loads_with_none(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    edit_state(path, lambda s: s.pop("history"))
    assert Automater.load(path).history_ == {}


@pytest.mark.parametrize("history", [
    [0.5, 0.4],                                   # not a mapping
    {"loss": "0.5"},                              # not a list
    {"loss": [0.5, "0.4"]},                       # a string among the values
    {"loss": [0.5, True]},                        # a boolean is not a measured value
    {"loss": [0.5, [0.4]]},                       # nested
    {"loss": [0.5, 0.4], "val_loss": [0.5]},      # curves of different lengths
    {"": [0.5]},                                  # a nameless metric
    {f"m{i}": [] for i in range(1001)},           # more metrics than any fit records
])
def test_a_corrupted_history_is_refused(fitted_binary, tmp_path, history):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    edit_state(path, lambda s: s.update(history=history))
    with pytest.raises(UnsafeFileError, match=r"'history' must (map|be a mapping)"):
        Automater.load(path)


def test_load_restores_how_long_the_refit_ran(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    assert Automater.load(path).refit_epochs_ == auto.refit_epochs_
    edit_state(path, lambda s: s.update(refit_epochs=7))
    assert Automater.load(path).refit_epochs_ == 7
    edit_state(path, lambda s: s.update(refit_epochs=None))  # no refit
    assert Automater.load(path).refit_epochs_ is None
    edit_state(path, lambda s: s.pop("refit_epochs"))  # a save made before it was kept
    assert Automater.load(path).refit_epochs_ is None


@pytest.mark.parametrize("refit_epochs", ["7", 0, -1, 2.5, True, [7]])
def test_a_corrupted_refit_length_is_refused(fitted_binary, tmp_path, refit_epochs):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    edit_state(path, lambda s: s.update(refit_epochs=refit_epochs))
    with pytest.raises(UnsafeFileError, match="'refit_epochs'"):
        Automater.load(path)
