"""What a fit prints: the progress line driven directly with synthetic epochs (fast), then a few real small fits."""

import io
import re

import keras
import numpy as np
import pytest

from conftest import FAST, mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import ConfigTypeError
from keras_defaults.progress import EpochProgress, encoding_line, output_mode

# Validation losses of a fit whose best epoch is the 5th and that early stopping (patience 3) ends after the 8th.
LOSSES = [0.9, 0.5, 0.45, 0.6, 0.44, 0.5, 0.5, 0.5]


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """Six seconds an epoch."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def drive(stream, losses=LOSSES, epochs=200, patience=3, width=200, **kwargs):
    """Run the progress line over `losses` as Keras would, beside Keras's own EarlyStopping; returns both."""
    clock = Clock()
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, mode="min")
    shown = EpochProgress.from_early_stopping(stopping, stream=stream, clock=clock, width=width, **kwargs)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False  # as fit sets it
    stopping.set_model(model)
    for callback in (stopping, shown):
        callback.set_params({"epochs": epochs, "steps": 10})
        callback.on_train_begin()
    for epoch, loss in enumerate(losses):
        clock.now += 6.0
        logs = {"loss": 1.0 - epoch / 100, "val_loss": loss}
        stopping.on_epoch_end(epoch, logs)
        shown.on_epoch_end(epoch, logs)
        if stopping.model.stop_training:
            break
    shown.on_train_end()
    return shown, stopping


def test_a_terminal_gets_one_line_redrawn_in_place():
    stream = Terminal()
    shown, stopping = drive(stream)
    text = stream.getvalue()
    assert stopping.stopped_epoch == 7  # Keras stopped after the 8th epoch: the line's count agrees
    assert text.count("\n") == 1 and text.endswith("\n") and text.startswith("\r")
    assert text.count("\r") == len(LOSSES) + 1  # each epoch, then the summary
    assert "\x1b" not in text
    frames = text.rstrip("\n").split("\r")[1:]
    assert frames[3].startswith("training: 4/200 epochs | best val_loss 0.45 (epoch 3) | stops in 2 without gain |")
    # 24 s for 4 epochs; early stopping allows 2 more, fewer than the 196 configured: ~12 s left.
    assert frames[3].endswith("0:00:24 elapsed, ~0:00:12 left")
    assert frames[6].startswith("training: 7/200 epochs | best val_loss 0.44 (epoch 5) | stops in 1 without gain")
    final = frames[-1].rstrip()
    assert final == ("training: 8 epochs in 0:00:48 | best val_loss 0.44 (epoch 5) | stopped early: no gain in the "
                     "last 3 epochs")
    assert len(frames[-1]) >= len(frames[-2])  # spaces cover what the longer line before left


def test_a_log_file_gets_plain_lines_at_a_sensible_rate():
    stream = io.StringIO()
    drive(stream, interval_s=10)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    # The first epoch (the fit is alive), then one line per 10 s or more (6 s epochs: every other one), the summary.
    assert [line.split(" | ")[0] for line in lines] == ["training: 1/200 epochs", "training: 3/200 epochs",
                                                        "training: 5/200 epochs", "training: 7/200 epochs",
                                                        "training: 8 epochs in 0:00:48"]
    assert "best val_loss 0.44 (epoch 5)" in lines[-1] and "stopped early" in lines[-1]


def test_without_early_stopping_the_line_runs_to_the_last_epoch():
    stream = io.StringIO()
    shown = EpochProgress("refit on all 8,000 rows", stream=stream, interval_s=0, clock=Clock())
    shown.set_params({"epochs": 3})
    shown.on_train_begin()
    for epoch in range(3):
        shown.clock.now += 2.0
        shown.on_epoch_end(epoch, {"loss": 0.5 - epoch / 10})
    shown.on_train_end()
    lines = stream.getvalue().splitlines()
    assert lines[1] == "refit on all 8,000 rows: 2/3 epochs | loss 0.4 | 0:00:04 elapsed, ~0:00:02 left"
    assert lines[-1] == "refit on all 8,000 rows: 3 epochs in 0:00:06 | loss 0.3"


def test_the_last_epochs_without_stopping_say_no_early_stop():
    stream = io.StringIO()
    drive(stream, losses=[0.9, 0.8, 0.7], epochs=3)
    assert stream.getvalue().splitlines()[-1] == "training: 3 epochs in 0:00:18 | best val_loss 0.7 (epoch 3)"


def test_an_interrupted_line_is_ended_on_close():
    stream = Terminal()
    shown = EpochProgress(stream=stream, width=200)
    shown.set_params({"epochs": 5})
    shown.on_train_begin()
    shown.on_epoch_end(0, {"loss": 1.0})
    shown.close()
    shown.close()
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1


def test_a_terminal_line_is_cut_to_the_width_so_it_never_wraps():
    stream = Terminal()
    drive(stream, width=60)
    assert max(len(frame) for frame in stream.getvalue().rstrip("\n").split("\r")) <= 59


@pytest.mark.parametrize("verbose", ["auto", 0, 1, 2, "epoch", True, False, np.int64(2)])
def test_verbose_takes_keras_values_and_epoch(verbose):
    output_mode(verbose)


@pytest.mark.parametrize("verbose", [5, "loud", None, 1.5, -1])
def test_a_wrong_verbose_is_refused_before_anything_runs(verbose):
    with pytest.raises(ConfigTypeError, match=r"Expected one of \{0, 1, 2, 'auto', 'epoch'\}. Received: verbose="):
        Automater("binary", verbose=verbose).fit(mixed_frame())


@pytest.fixture(scope="module")
def frame():
    return mixed_frame(rows=200)


def _fit(frame, verbose, capsys, **settings):
    capsys.readouterr()
    Automater("binary", seed=0, verbose=verbose, overrides={**FAST, **settings}).fit(frame)
    return capsys.readouterr().out


def test_a_fit_prints_a_line_per_phase(frame, capsys):
    out = _fit(frame, "auto", capsys, training={"epochs": 3, "batch_size": 64, "refit": True})
    lines = out.splitlines()
    assert "Epoch 1/" not in out and "\r" not in out and "\x1b" not in out  # pytest's capture is no terminal
    assert lines[0].startswith("statistics: 10 columns of 200 rows read in ")
    assert "target binary: boolean" in lines[0]
    assert lines[1].startswith("encoding: 200 rows into ") and "kept in memory" in lines[1]
    assert lines[2].startswith("training: 1/3 epochs | best val_loss ")
    assert lines[3].startswith("training: 3 epochs in ")
    # The refit trains a fresh network on every row for the best epoch count: a line of its own, then its summary.
    assert re.fullmatch(r"refit on all 200 rows: [1-3] epochs? in 0:00:\d\d \| loss [\d.]+", lines[-1])
    assert len(lines) == 6


def test_verbose_2_keeps_keras_lines_and_0_prints_nothing(frame, capsys):
    out = _fit(frame, 2, capsys)
    assert "Epoch 1/3" in out and out.startswith("statistics: ") and "training: " not in out
    assert _fit(frame, 0, capsys) == ""


def test_the_encoding_line_says_how_rows_reach_the_network():
    assert encoding_line("cached", 8000, 57, 0.31) == ("encoding: 8,000 rows into 57 features in 0.3 s, kept in "
                                                       "memory for every epoch")
    assert encoding_line("streamed", 1, 1, 0.0) == ("encoding: 1 row into 1 feature, batch by batch during every "
                                                    "epoch (the encoded rows exceed training.feature_cache_mb)")
