"""What a fit prints: one line per phase (statistics, encoding, training), the training line a single progress line
over epochs.

On a terminal the training line is redrawn in place with a carriage return; elsewhere (a log file, CI) lines are
plain, at most one every `interval_s` seconds, and nothing but text and newlines is written. The Automater decides
what happens and when; this module only formats and prints.
"""

import datetime
import shutil
import sys
import time

import keras

from keras_defaults.errors import ConfigTypeError, expected_one_of

SILENT, PROGRESS, EPOCHS = "silent", "progress", "epochs"
VERBOSE_CHOICES = ("auto", 0, 1, 2, "epoch")
# Seconds between two progress lines when the output is not a terminal: often enough to show a fit is alive, rarely
# enough that a 200-epoch log stays readable.
LOG_INTERVAL_S = 10.0
# Metric names whose value improves upward, for an EarlyStopping in mode "auto" (Keras asks the metric itself).
_UPWARD = ("acc", "auc", "precision", "recall", "r2")


def output_mode(verbose):
    """SILENT (0), PROGRESS ("auto" or 1: phase lines and one progress line) or EPOCHS (2 or "epoch": phase lines
    and Keras's own line per epoch)."""
    # bool is an int: True and False keep meaning 1 and 0, as they do for Keras.
    if isinstance(verbose, str):
        known = verbose in ("auto", "epoch")
    else:
        try:
            known = verbose in (0, 1, 2) and float(verbose).is_integer()
        except (TypeError, ValueError):
            known = False
    if not known:
        raise ConfigTypeError(expected_one_of("verbose", verbose, VERBOSE_CHOICES))
    if verbose == 0:
        return SILENT
    return EPOCHS if verbose in (2, "epoch") else PROGRESS


def is_terminal(stream):
    """Whether `stream` redraws a line on a carriage return: a terminal, or a notebook's output cell."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False
    # A notebook's stdout is no tty, yet its cells honour "\r" as a terminal does.
    return stream is sys.stdout and "ipykernel" in sys.modules


def duration(seconds):
    """0:00:14: whole seconds, as a clock reads."""
    return str(datetime.timedelta(seconds=int(round(max(seconds, 0)))))


def count(number, noun):
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def statistics_line(inputs, ignored, targets, rows, seconds, rebuilds=False):
    """'statistics: 12 columns of 8,000 rows read in 0.4 s (3 numerical, 2 categorical; 1 ignored; target ...)'.
    `inputs`, `ignored` and `targets` map names to specs with a `kind`; with `rebuilds`, the targets are input
    columns an autoencoder rebuilds."""
    kinds = {}
    for spec in inputs.values():
        kinds[spec.kind] = kinds.get(spec.kind, 0) + 1
    parts = [", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda item: -item[1]))
             or "no input column"]
    if ignored:
        parts.append(f"{len(ignored)} left out")
    if rebuilds:
        parts.append(f"no target: an autoencoder rebuilds {count(len(targets), 'column')}")
    else:
        parts.append(", ".join(f"target {name}: {target.kind}" for name, target in targets.items()))
    columns = len(inputs) + len(ignored) + (0 if rebuilds else len(targets))
    return (f"statistics: {count(columns, 'column')} of {count(rows, 'row')} read in {seconds:.1f} s "
            f"({'; '.join(parts)})")


def encoding_line(feeding, rows, width, seconds):
    """'encoding: ...': how the rows reach the network; `feeding` is "cached" or "streamed" (see feeding.py)."""
    if feeding == "cached":
        return (f"encoding: {count(rows, 'row')} into {count(width, 'feature')} in {seconds:.1f} s, kept in memory "
                f"for every epoch")
    return (f"encoding: {count(rows, 'row')} into {count(width, 'feature')}, batch by batch during every epoch (the "
            f"encoded rows exceed training.feature_cache_mb)")


def say(line, stream=None):
    """Print one phase line."""
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


class EpochProgress(keras.callbacks.Callback):
    """One progress line over the epochs of a `fit`:

        training: 12/200 epochs | best val_loss 0.4123 (epoch 9) | stops in 3 without gain | 0:00:14 elapsed,
        ~0:00:40 left

    Args:
        label: what trains, the line's start ("training", "refit on all 8,000 rows").
        monitor, patience, min_delta, mode: the early stopping rule the line counts down to (see
            `from_early_stopping`); without a monitor, the line shows the training loss and runs to the last epoch.
        stream: where to write (default: sys.stdout when the fit starts).
        interval_s: the fewest seconds between two lines when `stream` is not a terminal.
        width: the widest line on a terminal (default: the terminal's width), as a wrapped line cannot be redrawn.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, label="training", monitor=None, patience=None, min_delta=0.0, mode="min", stream=None,
                 interval_s=LOG_INTERVAL_S, width=None, clock=time.monotonic):
        super().__init__()
        self.label, self.monitor, self.patience = label, monitor, patience
        self.min_delta, self.mode = abs(min_delta), mode
        self.stream, self.interval_s, self.width, self.clock = stream, interval_s, width, clock
        self._open = False  # a terminal line drawn and not yet ended by a newline

    @classmethod
    def from_early_stopping(cls, stopping, **kwargs):
        """A progress line that counts down to `stopping` (a keras.callbacks.EarlyStopping): its monitor, patience,
        min_delta and mode."""
        mode = stopping.mode
        if mode not in ("min", "max"):
            name = stopping.monitor.removeprefix("val_")
            mode = "max" if any(word in name for word in _UPWARD) else "min"
        return cls(monitor=stopping.monitor, patience=stopping.patience, min_delta=stopping.min_delta, mode=mode,
                   **kwargs)

    # -------------------------------------------------------------------- Keras's hooks
    def on_train_begin(self, logs=None):
        self.stream = self.stream or sys.stdout
        self.terminal = is_terminal(self.stream)
        self.epochs = (self.params or {}).get("epochs") or 0
        self.started = self.last_line = self.clock()
        self.done, self.best, self.best_epoch, self.wait, self.loss = 0, None, None, 0, None
        self.stopped_early = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.done = epoch + 1
        self.loss = logs.get("loss", self.loss)
        current = logs.get(self.monitor) if self.monitor else None
        if current is not None:
            # Keras's EarlyStopping rule: every epoch adds one to the wait, an improvement (by more than min_delta)
            # sets it back to 0, and training stops once the wait reaches the patience.
            self.wait += 1
            if self.best is None or self._improves(float(current)):
                self.best, self.best_epoch, self.wait = float(current), epoch + 1, 0
        now = self.clock()
        if self.terminal:
            self._draw(self.line())
        elif epoch == 0 or now - self.last_line >= self.interval_s:
            self._print(self.line())
            self.last_line = now

    def on_train_end(self, logs=None):
        # Early stopping ended the fit when its patience ran out before the last epoch (another callback stopping
        # it, or an interruption, is not early stopping).
        self.stopped_early = self.patience_left == 0 and self.done < self.epochs
        final = self.summary()
        if self.terminal:
            self._draw(final)
            self.close()
        else:
            self._print(final)

    def close(self):
        """End a line left open on a terminal (a fit interrupted mid-way), so that what follows starts afresh."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    # -------------------------------------------------------------------- the text
    def _improves(self, value):
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    @property
    def patience_left(self):
        """Epochs without a gain before early stopping ends the fit; None without early stopping."""
        if self.patience is None or self.best is None:
            return None
        return max(self.patience - self.wait, 0)

    @property
    def epochs_left(self):
        """The epochs that may still run: the fewer of those configured and those early stopping allows."""
        left = max(self.epochs - self.done, 0)
        return left if self.patience_left is None else min(left, self.patience_left)

    def _elapsed(self):
        return self.clock() - self.started

    def _result(self):
        if self.best is not None:
            return f"best {self.monitor} {self.best:.4g} (epoch {self.best_epoch})"
        return f"loss {self.loss:.4g}" if self.loss is not None else None

    def line(self):
        """The progress line after the epochs done so far."""
        elapsed = self._elapsed()
        remaining = self.epochs_left * elapsed / self.done if self.done else 0.0
        parts = [f"{self.label}: {self.done}/{count(self.epochs, 'epoch')}", self._result()]
        if self.patience_left is not None:
            parts.append(f"stops in {self.patience_left} without gain")
        parts.append(f"{duration(elapsed)} elapsed, ~{duration(remaining)} left")
        return " | ".join(part for part in parts if part)

    def summary(self):
        """The line that stays once the fit is over."""
        parts = [f"{self.label}: {count(self.done, 'epoch')} in {duration(self._elapsed())}", self._result()]
        if self.stopped_early:
            parts.append(f"stopped early: no gain in the last {count(self.patience, 'epoch')}")
        return " | ".join(part for part in parts if part)

    # -------------------------------------------------------------------- writing
    def _draw(self, text):
        """Redraw the terminal line in place: a carriage return, the text cut to the width, spaces over the rest of
        the previous one."""
        width = self.width or shutil.get_terminal_size(fallback=(100, 24)).columns
        text = text[:max(width - 1, 20)]  # a line that wraps cannot be drawn over
        self.stream.write("\r" + text.ljust(getattr(self, "_drawn", 0)))
        self.stream.flush()
        self._drawn, self._open = len(text), True

    def _print(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()
