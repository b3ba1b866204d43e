"""benchmarks/codes_scan.py: the codes rule's decisions at several values per smooth bin, and the columns whose
decision a k changes. No benchmark table is loaded: a synthetic frame holds an identifier with few values (27
litters, numbered so that neighbours drift together) and a quantity (an age the target rises with)."""

import numpy as np
import pandas as pd

from conftest import load_benchmark

codes_scan = load_benchmark("codes_scan")


def litters(rows=320, seed=0):
    rng = np.random.default_rng(seed)
    litter = rng.integers(1, 28, rows)
    age = rng.integers(18, 70, rows)
    level = rng.normal(scale=0.6, size=28) + np.linspace(0, 1, 28)
    weight = level[litter] + 0.03 * (age - 40) + rng.normal(scale=0.5, size=rows)
    return pd.DataFrame({"litter": litter, "age": age, "weight": weight})


def test_decisions_read_the_identifier_as_codes_only_with_fewer_bins():
    frame = litters()
    before = frame.copy()
    rows = codes_scan.decisions(frame, "weight", [1, 4])
    pd.testing.assert_frame_equal(frame, before)
    read = {(row["column"], row["values_per_bin"]): bool(row["codes"]) for row in rows}
    assert read == {("litter", 1): False, ("litter", 4): True, ("age", 1): False, ("age", 4): False}
    assert {row["values"] for row in rows if row["column"] == "litter"} == {27}
    assert all(row["codes"] == (row["margin"] >= 0.01) for row in rows)  # codes_min_gain 0.01


def test_changes_names_only_the_columns_whose_decision_a_k_moves():
    rows = pd.DataFrame([{"dataset": "pups", "half": "tune", "fold": fold, **row}
                         for fold in range(2) for row in codes_scan.decisions(litters(), "weight", [1, 4])])
    table = codes_scan.changes(rows)
    assert list(table.index) == [("pups", "litter")]
    assert table.loc[("pups", "litter"), "codes at k = 1"] == 0
    assert table.loc[("pups", "litter"), "codes at k = 4"] == 2
    assert table.loc[("pups", "litter"), "folds"] == 2
    unchanged = rows[rows["column"] == "age"]
    assert codes_scan.changes(unchanged).empty
