"""The shapes a saved value may take, declared as tables and checked by one function, `check`.

Each encoder declares the shape of the state it saves next to the code that writes it (`Encoder.input_state_shape`,
`Encoder.target_state_shape`); `state_file.read_state` checks every saved column against its kind's shape, so that
a value `save` never writes (an unknown key, a string where a number belongs, a list of the wrong length) is refused
at load, naming where it is, rather than failing later, somewhere, with an error that says nothing of the file.

A shape is a small object with `check(value, where)` that raises `ShapeMismatch` naming the key path, what it
expected and what it received. This module depends on nothing else in the package, so that the encoders, the
schema and the state reader can all declare shapes with it.
"""

import math

# Integers a model's state can hold (int64, as numpy and TensorFlow store them).
_INT_LIMIT = 2 ** 63


class ShapeMismatch(Exception):
    """A saved value does not have the shape `save` writes: `where` (a key path), and what is wrong with it."""

    def __init__(self, where, problem):
        super().__init__(f"{where} {problem}")
        self.where, self.problem = where, problem


def _received(value):
    from keras_defaults.errors import shown

    return f"Received: {type(value).__name__} {shown(value)}."


class Shape:
    """What a value must be; `expected` says it in a few words for the message."""

    expected = "a value"

    def check(self, value, where):
        if not self.fits(value):
            raise ShapeMismatch(where, f"must be {self.expected}. {_received(value)}")

    def fits(self, value):
        return True


class Anything(Shape):
    """Any JSON value (a field read only to be shown, such as a sample of a column's values)."""

    expected = "any JSON value"


class Boolean(Shape):
    expected = "true or false"

    def fits(self, value):
        return isinstance(value, bool)


class Number(Shape):
    """A finite number (an int or a float, never a bool), optionally within bounds."""

    def __init__(self, at_least=None, at_most=None, positive=False):
        self.at_least, self.at_most, self.positive = at_least, at_most, positive
        bounds = [f"at least {at_least:g}" if at_least is not None else "", f"at most {at_most:g}"
                  if at_most is not None else "", "above 0" if positive else ""]
        self.expected = "a finite number" + "".join(f", {b}" for b in bounds if b)

    def fits(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value) or isinstance(value, int) and abs(value) >= _INT_LIMIT:
            return False
        return not (self.at_least is not None and value < self.at_least or self.at_most is not None
                    and value > self.at_most or self.positive and value <= 0)


class Integer(Number):
    """A whole number that fits in int64 (never a bool, never a float such as 3.0)."""

    def __init__(self, at_least=None):
        super().__init__(at_least=at_least)
        self.expected = "an integer" + (f" of at least {at_least}" if at_least is not None else "")

    def fits(self, value):
        return isinstance(value, int) and super().fits(value)


class Text(Shape):
    """A string, optionally one of a fixed list."""

    def __init__(self, one_of=None):
        self.one_of = tuple(one_of) if one_of is not None else None
        self.expected = f"one of {list(self.one_of)}" if self.one_of is not None else "a string"

    def fits(self, value):
        return isinstance(value, str) and (self.one_of is None or value in self.one_of)


class Either(Shape):
    """A value that fits any one of several shapes."""

    def __init__(self, *shapes):
        self.shapes = shapes
        self.expected = " or ".join(s.expected for s in shapes)

    def check(self, value, where):
        for shape in self.shapes:
            try:
                shape.check(value, where)
                return
            except ShapeMismatch:
                continue
        raise ShapeMismatch(where, f"must be {self.expected}. {_received(value)}")


class Nullable(Either):
    """null, or a value of `shape`."""

    def __init__(self, shape):
        super().__init__(_Null(), shape)
        self.shape = shape

    def check(self, value, where):
        if value is not None:
            try:
                self.shape.check(value, where)
            except ShapeMismatch as mismatch:
                if mismatch.where != where:  # a part of the value: its own reason is the message
                    raise
                # The inner shape's reason, which says more than "must be null or <shape>".
                problem = mismatch.problem.removeprefix("must ")
                raise ShapeMismatch(where, f"must be null, or {problem}") from None


class _Null(Shape):
    expected = "null"

    def fits(self, value):
        return value is None


class ListOf(Shape):
    """A list whose every element fits `element`; optionally of bounded length, distinct, or strictly increasing."""

    def __init__(self, element, min_length=0, max_length=None, distinct=False, increasing=False):
        self.element, self.min_length, self.max_length = element, min_length, max_length
        self.distinct, self.increasing = distinct, increasing
        self.expected = f"a list of {element.expected}"

    def check(self, value, where):
        length = (f"of {self.min_length} to {self.max_length}" if self.max_length is not None else
                  f"of at least {self.min_length}" if self.min_length else "of")
        if not isinstance(value, list):
            raise ShapeMismatch(where, f"must be a list {length} {self.element.expected}. {_received(value)}")
        if len(value) < self.min_length or self.max_length is not None and len(value) > self.max_length:
            raise ShapeMismatch(where, f"must be a list {length} elements; it has {len(value)}.")
        for index, element in enumerate(value):
            self.element.check(element, f"{where}[{index}]")
        # By type and value: 1, 1.0 and True are one value to Python, but three different labels to a user.
        if self.distinct and len({(type(e), e) for e in value}) != len(value):
            raise ShapeMismatch(where, f"must hold distinct values; some repeat. {_received(value)}")
        if self.increasing and any(b <= a for a, b in zip(value, value[1:])):
            raise ShapeMismatch(where, f"must be strictly increasing. {_received(value)}")


class MappingOf(Shape):
    """A mapping of any keys fitting `key` (JSON keys are strings) to values fitting `value`."""

    def __init__(self, key, value):
        self.key, self.value = key, value
        self.expected = f"a mapping of {key.expected} to {value.expected}"

    def check(self, value, where):
        if not isinstance(value, dict):
            raise ShapeMismatch(where, f"must be {self.expected}. {_received(value)}")
        for key, element in value.items():
            self.key.check(key, f"a key of {where}")
            self.value.check(element, f"{where}[{key!r}]")


class Record(Shape):
    """A mapping with exactly the keys of `fields` (those in `optional` may be absent: older saves lack them), each
    fitting its shape; `rules` are (test, requirement) pairs between fields (e.g. two lists of one length), each test
    a function of the mapping that is true when it holds."""

    def __init__(self, fields, rules=(), optional=()):
        self.fields, self.rules, self.optional = dict(fields), tuple(rules), set(optional)
        self.expected = f"a mapping with keys {sorted(self.fields)}"

    def check(self, value, where):
        if not isinstance(value, dict):
            raise ShapeMismatch(where, f"must be {self.expected}. {_received(value)}")
        unexpected = sorted(set(value) - set(self.fields), key=str)
        if unexpected:
            raise ShapeMismatch(where, f"has an unexpected key {unexpected[0]!r}. Expected keys: "
                                       f"{sorted(self.fields)}.")
        absent = sorted(set(self.fields) - self.optional - set(value))
        if absent:
            raise ShapeMismatch(where, f"lacks the key {absent[0]!r}. Expected keys: {sorted(self.fields)}.")
        for key, shape in self.fields.items():
            if key in value:
                shape.check(value[key], f"{where}[{key!r}]")
        for test, requirement in self.rules:
            if not test(value):
                raise ShapeMismatch(where, f"is inconsistent: {requirement}.")


def check(value, shape, where):
    """Raise `ShapeMismatch` unless `value` has `shape`; `where` names the value (a key path) in the message."""
    shape.check(value, where)


# Shapes several encoders share.
FINITE = Number()
SCALE = Number(positive=True)
FLAG = Boolean()
# A class label as a target's classes hold it: a plain JSON scalar.
LABEL = Either(Text(), Integer(), Number(), Boolean())
CLASSES = ListOf(LABEL, min_length=2, distinct=True)
