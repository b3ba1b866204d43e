#!/usr/bin/env python
"""Which integer columns the codes rule reads as codes, fold by fold, at several `inference.codes_values_per_bin`.

Inference only: no model is fitted and no score is read. For each dataset and each of quality.py's folds, the
training rows' integer candidates (inferred numerical, whole numbers, more than
`inference.integer_categorical_max_unique` values) are measured by `keras_defaults.codes.evidence` as `fit` measures
them, at each k; a row gives the gain less `inference.codes_noise_z` standard errors and whether it clears
`inference.codes_min_gain`. A round uses it to name the tables a change to the rule touches before any fit: on the
tune half, where the change is judged, and on the check half, to name the tables its check step must fit.

    python benchmarks/codes_scan.py --values-per-bin 1,4 --datasets rat_pup_weight,bikeshare --out /tmp/codes_scan
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402
import report  # noqa: E402
from ablations import markdown  # noqa: E402
from datasets import DATASETS  # noqa: E402
from keras_defaults import codes  # noqa: E402
from keras_defaults.defaults import Config  # noqa: E402
from keras_defaults.schema import infer_schema, numeric_values  # noqa: E402
from keras_defaults.targets import fit_target  # noqa: E402


def decisions(frame: pd.DataFrame, target: str, values_per_bin: list[int]) -> list[dict]:
    """A row for each integer candidate of `frame` (training rows) and each k of `values_per_bin`: its distinct
    values, the gain less the noise margin, and whether the rule reads it as codes, with the built-in settings."""
    config = Config.build()
    settings = config.get("inference")
    frame = frame[frame[target].notna()]
    targets = codes.target_matrix(frame, {target: fit_target(frame[target], target, config, None)})
    profiles = infer_schema(frame, settings, config.get("inputs", "boolean"), {}, skip={target})
    rows = []
    for name in codes.candidates(frame, profiles, settings["integer_categorical_max_unique"]):
        values = numeric_values(frame[name])
        distinct = len(np.unique(values[np.isfinite(values)]))
        for k in values_per_bin:
            measured = codes.evidence(values, targets, values_per_bin=k)
            rows.append({"column": name, "values": distinct, "values_per_bin": k,
                         "margin": measured.gain - settings["codes_noise_z"] * measured.spread,
                         "codes": measured.clears(settings["codes_min_gain"], settings["codes_noise_z"])})
    return rows


def dataset_rows(name: str, values_per_bin: list[int], threads: int | None = None) -> list[dict]:
    """`decisions` on every quality.py fold's training rows of dataset `name`. (`threads`: set by the worker's
    start, as in quality.py.)"""
    spec = DATASETS[name]
    df, _ = quality.load(name)
    rows = []
    for fold, (train_idx, _) in enumerate(quality.make_splits(df, spec.target, spec.task)):
        rows += [{"dataset": name, "half": spec.half, "fold": fold, **row}
                 for row in decisions(df.iloc[train_idx], spec.target, values_per_bin)]
    return rows


def changes(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns whose decision at some k differs from the first k's in some fold, indexed by dataset and column:
    their half, distinct values (the most over folds), folds, and how many folds read them as codes at each k."""
    keys = ["dataset", "column"]
    per_fold = rows.pivot_table(index=keys + ["fold"], columns="values_per_bin", values="codes", aggfunc="first")
    per_fold = per_fold.astype(bool)
    differs = per_fold.ne(per_fold[per_fold.columns[0]], axis=0).any(axis=1).groupby(level=keys).any()
    table = rows.groupby(keys).agg(half=("half", "first"), values=("values", "max"), folds=("fold", "nunique"))
    for k in per_fold.columns:
        table[f"codes at k = {k}"] = per_fold[k].groupby(level=keys).sum().astype(int)
    return table[differs.reindex(table.index, fill_value=False)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", help="comma list (default: every dataset of --half)")
    parser.add_argument("--half", choices=["tune", "check"], default="tune")
    parser.add_argument("--values-per-bin", default="1,4", help="comma list of k, the first the reference")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", required=True, help="path prefix: writes PREFIX.csv and PREFIX.md")
    args = parser.parse_args(argv)
    names = args.datasets.split(",") if args.datasets else [n for n, spec in DATASETS.items() if spec.half == args.half]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown datasets: {unknown}")
    values_per_bin = [int(k) for k in args.values_per_bin.split(",")]
    started = time.perf_counter()
    calls = [(name, {"name": name, "values_per_bin": values_per_bin}) for name in names]
    rows = quality.rows_from_workers(dataset_rows, calls, args.jobs, lambda name, result: print(
        f"{name}: {len({row['column'] for row in result})} candidate column(s)", flush=True))
    frame = pd.DataFrame(rows, columns=["dataset", "half", "fold", "column", "values", "values_per_bin", "margin",
                                        "codes"])
    frame.to_csv(f"{args.out}.csv", index=False)
    changed = changes(frame) if len(frame) else pd.DataFrame()
    lines = ["# Integer columns read as codes, by values per smooth bin (inference only)", "",
             f"Command: `python benchmarks/codes_scan.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
             f"({time.perf_counter() - started:,.0f} s). No model fitted, no score read: the codes rule's decision "
             "on each of quality.py's folds' training rows, with the built-in settings but k.", "",
             *[f"- **{key}**: `{value}`" for key, value in report.provenance().items()], "",
             f"## Columns whose decision changes with k ({len(changed)} of "
             f"{len(frame.groupby(['dataset', 'column']))} candidate columns)", "",
             markdown(changed.reset_index().set_index("dataset")) if len(changed) else "None.", ""]
    Path(f"{args.out}.md").write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
