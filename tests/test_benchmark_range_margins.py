"""benchmarks/range_margins.py: how a margin widens a fitted column's training range, that the frame given is left
as it was, and that it measures on the tune half alone. No benchmark table is loaded: the fitted model is a stand-in
with the library's own column states."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import load_benchmark

range_margins = load_benchmark("range_margins")

MODEL = SimpleNamespace(inputs_={
    "x": SimpleNamespace(kind="numerical", state={"low": 0.0, "high": 10.0}),
    "old": SimpleNamespace(kind="numerical", state={}),          # a save from before the range: left alone
    "code": SimpleNamespace(kind="categorical", state={}),
})


@pytest.mark.parametrize("margin, expected", [
    (None, [-50.0, 5.0, 50.0, np.nan]),
    (0.0, [0.0, 5.0, 10.0, np.nan]),
    (0.5, [-5.0, 5.0, 15.0, np.nan]),
])
def test_a_margin_widens_each_numbers_training_range_by_widths_of_it(margin, expected):
    frame = pd.DataFrame({"x": [-50.0, 5.0, 50.0, np.nan], "old": [1e9] * 4, "code": [1e9] * 4})
    before = frame.copy()
    out = range_margins.held(frame, MODEL, margin)
    np.testing.assert_array_equal(out["x"].to_numpy(), expected)
    assert (out["old"] == 1e9).all() and (out["code"] == 1e9).all()
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not changed


def test_margins_are_measured_on_the_tune_half_alone():
    check = next(n for n, half in range_margins.datasets.halves().items() if half == "check")
    with pytest.raises(SystemExit):
        range_margins.main(["--datasets", check, "--out", "/tmp/never"])
