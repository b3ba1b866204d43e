#!/usr/bin/env python
"""How far beyond its training range a number should be read as it is, measured on the tune half.

`inputs.numerical.clip_to_training_range` holds every numerical input within the range its training rows spanned.
Round 47 measured it at the range itself; this script measures the range widened by a margin on each side (a
multiple of the range's width: 0 is round 47's hold, and `none` no hold, the default). Training is the same at
every margin (every training value lies in its range: tests/test_model.py), so the default Automater is fitted
once a fold (quality.py's folds, seed 0, as quality.md's run) and each fold's test rows are predicted once per
margin, with the numerical columns held within the widened range before `predict`: what the option does in the
graph after the median fill, read from the fitted columns' own `low` and `high`. Scores come from quality.py's own
`score`; a dataset's score is the mean over its folds.

    python benchmarks/range_margins.py --jobs 2 --datasets wine,auto --margins 0,0.25,1 --out /tmp/margins
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines  # noqa: E402
import datasets  # noqa: E402
import quality  # noqa: E402
import report  # noqa: E402
from ablations import markdown, primary_metric  # noqa: E402
from keras_defaults.encoders.numerical import _held_range  # noqa: E402
from datasets import CLASSIFICATION, DATASETS  # noqa: E402


def held(frame: pd.DataFrame, model, margin: float | None) -> pd.DataFrame:
    """A copy of `frame` with each numerical input of `model` held within its training range widened by `margin`
    times the range's width on each side; `margin` None leaves the frame as it is."""
    if margin is None:
        return frame
    out = frame.copy()
    for name, spec in model.inputs_.items():
        state = spec.state
        if spec.kind != "numerical" or "low" not in state or not pd.api.types.is_numeric_dtype(out[name].dtype):
            continue
        out[name] = out[name].clip(*_held_range(state, {"training_range_margin": margin}))
    return out


def dataset_rows(name: str, margins: list[float | None], threads: int | None) -> list[dict]:
    """One row a margin for dataset `name`: the mean over its folds of the primary score. (`threads`: set by the
    worker's start, as in quality.py.)"""
    spec = DATASETS[name]
    df, _ = quality.load(name)
    classes = np.unique(df[spec.target].to_numpy()) if spec.task in CLASSIFICATION else None
    metric = primary_metric(spec.task)
    scores = {margin: [] for margin in margins}
    for train_idx, test_idx in quality.make_splits(df, spec.target, spec.task):
        train, test = df.iloc[train_idx], df.iloc[test_idx]
        X_test, y_test = test.drop(columns=[spec.target]), test[spec.target].to_numpy()
        model = baselines.fit_automater(train, spec.target, spec.task)
        for margin in margins:
            rows = held(X_test, model, margin)
            proba = None
            if spec.task in CLASSIFICATION:
                proba = model.predict_proba(rows).reindex(columns=classes).to_numpy(dtype=float)
            pred = np.asarray(model.predict(rows))
            scores[margin].append(quality.score(spec.task, y_test, pred, proba, classes)[metric])
    return [{"dataset": name, "task": spec.task, "metric": metric,
             "margin": "none" if margin is None else f"{margin:g}", "score": float(np.mean(scores[margin]))}
            for margin in margins]


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Each margin against no hold: the mean ratio of the scores, tables better and worse (by 0.1%), the largest
    loss."""
    wide = rows.pivot(index="dataset", columns="margin", values="score")
    out = {}
    for margin in wide.columns:
        if margin == "none":
            continue
        ratio = wide[margin] / wide["none"]
        out[margin] = {"x none": ratio.mean(), "better": int((ratio > 1.001).sum()),
                       "worse": int((ratio < 0.999).sum()), "largest loss": f"{ratio.idxmin()} {ratio.min() - 1:+.2%}"}
    return pd.DataFrame(out).T


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", required=True, help="comma list of tune-half datasets")
    parser.add_argument("--margins", default="0,0.1,0.25,0.5,1,2",
                        help="comma list of margins, in widths of the training range (0: the range itself)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", required=True, help="path prefix: writes PREFIX.csv and PREFIX.md")
    args = parser.parse_args(argv)
    names = args.datasets.split(",")
    halves = datasets.halves()
    refused = [n for n in names if halves.get(n) != "tune"]
    if refused:
        parser.error(f"{refused}: not tune-half datasets; a margin is chosen on the tune half only")
    margins = [None] + [float(m) for m in args.margins.split(",")]
    started = time.perf_counter()
    calls = [(name, {"name": name, "margins": margins}) for name in names]
    rows = quality.rows_from_workers(dataset_rows, calls, args.jobs,
                                     lambda name, result: print(pd.DataFrame(result).to_string(index=False),
                                                                flush=True))
    frame = pd.DataFrame(rows)
    frame.to_csv(f"{args.out}.csv", index=False)
    wide = frame.pivot(index="dataset", columns="margin", values="score")
    prov = report.provenance()
    lines = ["# Numbers held within their training range widened by a margin (tune half)", "",
             f"Command: `python benchmarks/range_margins.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             f"({time.perf_counter() - started:,.0f} s). One fit a fold of the default Automater (seed 0); each "
             "margin predicts the same fits' test rows with the numbers held within [low - m w, high + m w] (w = high "
             "- low, each column's training range); `none` holds nothing (the default).", "",
             *[f"- **{key}**: `{value}`" for key, value in prov.items()], "",
             "## Against no hold", "", markdown(summary(frame)), "",
             "## Score per dataset (mean over folds)", "", markdown(wide), ""]
    Path(f"{args.out}.md").write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
