"""The package's exceptions, and the "did you mean" helper every error message uses."""

import difflib
import os
import reprlib
import sys
import warnings


class KerasDefaultsError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(KerasDefaultsError, ValueError):
    """The DataFrame (or a column of it) cannot be used as given."""


class ConfigError(KerasDefaultsError, ValueError):
    """A configuration value (YAML file, column entry or keyword argument) is not valid."""


class ConfigTypeError(KerasDefaultsError, TypeError):
    """A configuration value has the wrong type."""


class NotFittedError(KerasDefaultsError, ValueError):
    """A method that needs a fitted Automater was called before `fit` (or `prepare`)."""


class UnsafeFileError(KerasDefaultsError, ValueError):
    """A saved file asks for something that loading it must never do (run code, unknown keys)."""


def integers_beyond_floats(name):
    """The error for a column of Python integers too large for any float (numpy and pandas raise OverflowError)."""
    return DataError(f"Column '{name}' holds integers beyond the range of a float (e.g. over 1e308), which no model "
                     f"input can carry. If they are identifiers or codes, make them strings (df['{name}'].astype(str));"
                     f" if they are quantities, scale them down.")


def did_you_mean(value, choices):
    """Return " Did you mean 'x'?" for the closest choice, or "" when nothing is close. Case is ignored, so that
    'Age' finds 'age'."""
    folded = {}
    for choice in map(str, choices):
        folded.setdefault(choice.casefold(), choice)
    matches = difflib.get_close_matches(str(value).casefold(), list(folded), n=1, cutoff=0.6)
    return f" Did you mean '{folded[matches[0]]}'?" if matches else ""


# Bounded at every level, so that quoting a value costs little whatever it holds (a long string, a huge list).
_SHORT = reprlib.Repr()  # Python 3.11's takes no arguments
_SHORT.maxstring = _SHORT.maxother = 200
_SHORT.maxlong, _SHORT.maxlevel = 60, 4
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 20


def shown(value):
    """`repr(value)` cut short: a message quotes what it received, not megabytes of it."""
    return _SHORT.repr(value)


def expected_one_of(what, value, choices):
    """A Keras-style message: Expected one of {...}. Received: what='value'. Did you mean ...?"""
    listed = ", ".join(repr(c) for c in sorted(choices, key=str))
    hint = did_you_mean(value, choices) if len(str(value)) <= 200 else ""
    return f"Expected one of {{{listed}}}. Received: {what}={shown(value)}.{hint}"


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn(message, category=UserWarning):
    """Warn, pointing at the user's line that called into the package rather than at the package's own code."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
