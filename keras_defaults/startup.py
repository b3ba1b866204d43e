"""Importing TensorFlow for the command line and the demo without its start-up notices on stderr.

TensorFlow's C++ libraries print several lines while they load, before they read TF_CPP_MIN_LOG_LEVEL (absl writes
whatever is logged before its initialisation to stderr): that oneDNN is on, that no CUDA driver was found, which CPU
instructions the binary could use, and, on a machine without an NVIDIA GPU, `E0000 ... failed call to cuInit`, which
reads as a failure. None of them is about the user's data or command, and no environment variable hides them all, so
stderr is redirected at the descriptor level while TensorFlow loads, and every line that is not one of these notices
is written back. This module imports nothing heavy: it runs before TensorFlow does.
"""

import contextlib
import glob
import os
import sys
import tempfile

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# TensorFlow's later C++ logging: "2" hides its information and warnings, and still shows its errors.
QUIET_LOG_LEVEL = "2"
# What TensorFlow prints on every start, matched by message rather than by source file (those move between releases).
STARTUP_NOTICES = (
    b"All log messages before absl::InitializeLog() is called are written to STDERR",
    b"oneDNN custom operations are on",
    b"Could not find cuda drivers on your machine",
    b"This TensorFlow binary is optimized to use available CPU instructions",
    b"To enable the following instructions:",
)
# Failing to start CUDA is news only on a machine with an NVIDIA GPU (a driver to fix); elsewhere it is expected.
NO_GPU_NOTICES = (b"failed call to cuInit",)


def import_tensorflow_quietly(show_everything=False):
    """Import TensorFlow, and find its devices, with its start-up notices left out of stderr.

    Every other line TensorFlow prints meanwhile still shows. TensorFlow's own logging level is set to show errors
    only (QUIET_LOG_LEVEL) unless the user has set TF_CPP_MIN_LOG_LEVEL; a level of 0 or 1 there, or
    `show_everything` (the command line's --debug), shows everything TensorFlow prints, notices included.
    """
    if "tensorflow" in sys.modules:
        return  # already loaded: its notices, if any, are already out
    if show_everything or os.environ.get(LOG_LEVEL_VARIABLE) in ("0", "1"):
        filtered = contextlib.nullcontext()
    else:
        os.environ.setdefault(LOG_LEVEL_VARIABLE, QUIET_LOG_LEVEL)
        filtered = notices_left_out(STARTUP_NOTICES + (() if _has_nvidia_gpu() else NO_GPU_NOTICES))
    with filtered:
        import tensorflow as tf

        # Finding the devices is when CUDA starts (and may complain): done here, inside the filter.
        tf.config.list_physical_devices()


@contextlib.contextmanager
def notices_left_out(notices):
    """Within the block, the process's stderr (C++ included) goes to a file; at the end every line that holds none of
    `notices` (bytes) is written back to stderr, in order."""
    saved = _duplicate_stderr()
    if saved is None:  # no stderr descriptor to redirect: nothing can be filtered
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True)
                    if not any(notice in line for notice in notices)]
            if kept:
                os.write(2, b"".join(kept))


def _duplicate_stderr():
    _flush_stderr()
    try:
        return os.dup(2)
    except OSError:
        return None


def _flush_stderr():
    # Python's own buffered writes go out to the descriptor they were meant for before it changes.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()


def _has_nvidia_gpu():
    return os.path.exists("/proc/driver/nvidia/version") or bool(glob.glob("/dev/nvidia[0-9]*"))
