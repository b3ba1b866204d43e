"""Property: on any DataFrame, fit then predict either works (outputs of the right shape, index and labels, no NaN)
or raises one of this package's ValueError/TypeError subclasses with a message; never another exception.

The frames are random: 8-60 rows, 1-5 input columns of every kind (floats with NaN and infinities, ints, nullable
Int64, bool, nullable boolean, short unicode strings with None, category with unused levels, free text, numeric
strings, numbers mixed with strings), random column names and index, and a target of a random kind.

CI runs a fixed set of 15 examples (about a second each). To explore, set KD_PROPERTY_EXAMPLES, e.g. to 300: the
examples are then random, and Hypothesis remembers failures in .hypothesis/.
"""

import os
import string
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from keras_defaults import Automater
from keras_defaults.errors import KerasDefaultsError

EXAMPLES = int(os.environ.get("KD_PROPERTY_EXAMPLES", "15"))
TINY = {"training": {"epochs": 1, "batch_size": 16}, "body": {"units": [8]}}

LABELS = ["a", "b", "c", "Ελλάδα", "日本", "🐱", "x y", "", " "]
WORDS = ["red", "fox", "jumps", "over", "lazy", "dog", "naïve", "café", "🚀", "the"]
KINDS = ["float", "int", "Int64", "bool", "boolean", "labels", "category", "text", "numeric_strings", "mixed"]


@st.composite
def column(draw, kind, rows, extreme=True):
    """One column of `rows` values of the given kind, some of them missing; `extreme` floats include infinities and
    magnitudes beyond float32 (as inputs they are read as missing; a target holding them is refused, so targets
    mostly get ordinary numbers, to reach the rest of the code as often)."""
    def values(element, missing=True):
        element = st.one_of(st.none(), element) if missing else element
        return draw(st.lists(element, min_size=rows, max_size=rows))

    if kind == "float":
        number = st.floats(allow_nan=True, allow_infinity=True) if extreme else st.one_of(
            st.floats(-1e6, 1e6), st.just(float("nan")))
        return pd.Series(values(number, missing=False), dtype="float64")
    if kind == "int":
        return pd.Series(values(st.integers(-1000, 1000), missing=False), dtype="int64")
    if kind == "Int64":
        return pd.Series(values(st.integers(-5, 5)), dtype="Int64")
    if kind == "bool":
        return pd.Series(values(st.booleans(), missing=False), dtype="bool")
    if kind == "boolean":
        return pd.Series(values(st.booleans()), dtype="boolean")
    if kind == "labels":
        return pd.Series(values(st.sampled_from(LABELS)), dtype=object)
    if kind == "category":
        used = values(st.sampled_from(LABELS[:5]))
        return pd.Series(pd.Categorical(used, categories=LABELS[:5] + ["never", "used"]))
    if kind == "text":
        sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
        return pd.Series(values(sentence), dtype=object)
    if kind == "numeric_strings":
        number = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}")
        return pd.Series(values(number), dtype=object)
    mixed = st.one_of(st.integers(-3, 3), st.floats(-10, 10, allow_nan=False), st.sampled_from(LABELS))
    return pd.Series(values(mixed), dtype=object)


@st.composite
def frames(draw):
    rows = draw(st.integers(8, 60))
    n_inputs = draw(st.integers(1, 5))
    names = draw(st.lists(st.text(alphabet=string.ascii_letters + string.digits + " _/.-é🌍", max_size=10),
                          min_size=n_inputs + 1, max_size=n_inputs + 1, unique=True))
    target, inputs = names[0], names[1:]
    target_kind = draw(st.sampled_from(KINDS))
    data = {name: draw(column(draw(st.sampled_from(KINDS)), rows)) for name in inputs}
    data[target] = draw(column(target_kind, rows, extreme=draw(st.integers(0, 4)) == 0))
    frame = pd.DataFrame(data)
    if draw(st.booleans()):
        frame.index = pd.Index(draw(st.permutations(range(100, 100 + rows))))
    return frame, target, target_kind


@settings(max_examples=EXAMPLES, deadline=None, derandomize="KD_PROPERTY_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames())
def test_fit_then_predict_works_or_raises_a_clear_package_error(case):
    frame, target, _ = case
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the package's own messages about the data
        warnings.simplefilter("error", RuntimeWarning)  # numpy noise reaching the user is a bug
        try:
            auto = Automater(target=target, overrides=TINY, seed=0, verbose=0).fit(frame)
        except KerasDefaultsError as error:
            assert isinstance(error, (ValueError, TypeError)) and len(str(error)) > 20
            event(f"refused: {type(error).__name__}: {str(error)[:40]}")
            return
        event(f"fitted: {auto.targets_[target].kind} target")
        inputs = frame.drop(columns=[target])
        predictions = auto.predict(inputs)
        spec = auto.targets_[target]
        if spec.kind != "numerical":
            probabilities = auto.predict_proba(inputs)
    pd.testing.assert_frame_equal(frame, before)
    assert isinstance(predictions, pd.Series) and predictions.name == target
    assert predictions.index.equals(frame.index)
    present = frame[target].dropna()
    if spec.kind == "numerical":
        assert np.isfinite(predictions.to_numpy(dtype="float64")).all()
        return
    assert predictions.notna().all()
    assert set(predictions) <= set(spec.classes)
    assert len(spec.classes) == present.astype(object).nunique()
    assert list(probabilities.columns) == list(spec.classes)
    assert probabilities.index.equals(frame.index)
    assert np.isfinite(probabilities.to_numpy()).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
