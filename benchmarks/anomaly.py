"""No target: the autoencoder's anomaly score against scikit-learn's IsolationForest, on real tables with planted rows.

An anomaly benchmark needs anomalies whose rows are known. Each table of the quality benchmark's *tune* half (its
check half is not run here) is cut, by a seeded draw, into training rows (80%) and test rows (20%). Both models learn
from the training rows; in the test rows, 5% are changed in one of two ways, and the models score every test row:

- *far*: one number of the row moved by 5 robust standard deviations (1.4826 x the median absolute deviation, or the
  standard deviation where that is 0) of its column: an outlier of one column, which a model of each column alone
  can see;
- *swapped*: a third of the row's columns (at least two) replaced by those of another test row: each value is
  ordinary, their combination is not. Only a model of how the columns go together can see it. (Not on a table of
  fewer than 3 usable columns.)

Every column but text and dates is used (the autoencoder reads text and dates without rebuilding them, and the
IsolationForest has no reading of them: both are left out, so the two see the same columns). The IsolationForest
(scikit-learn's defaults, 200 trees, seeded) reads numbers with their missing values filled by the median and a
missing flag, and categories as ordinal codes (missing as one more). The autoencoder is `Automater(target=None)`
with its defaults. Scores: ROC-AUC and average precision of the planted rows among the test rows, by kind of planting.

Run: python benchmarks/anomaly.py [--datasets a,b] [--max-rows 10000]
Writes benchmarks/results/anomaly.md and anomaly.csv; an interrupted run resumes (tables already in the CSV, with
the same code and settings, are kept).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (puts the repository root first on sys.path)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

import datasets  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 20261202
PLANTED_SHARE = 0.05
KINDS = ("far", "swapped")


def usable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table's columns that both models read as values: all but those the Automater reads as text or dates, or
    leaves out (IDs, constants)."""
    from keras_defaults import Automater

    profiles = Automater(target=None, verbose=0).prepare(df).profiles_
    kept = [name for name, profile in profiles.items() if profile.kind not in ("text", "datetime", "ignore")]
    return df[kept]


def _robust_scale(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna()
    mad = 1.4826 * float(np.median(np.abs(values - values.median()))) if len(values) else 0.0
    return mad if mad > 0 else float(values.std() or 1.0)


def plant(test: pd.DataFrame, kind: str, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """(a copy of `test` with PLANTED_SHARE of its rows changed, a 0/1 array marking them)."""
    changed = test.copy()
    rows = rng.choice(len(test), max(1, int(round(PLANTED_SHARE * len(test)))), replace=False)
    numbers = [c for c in test.columns if pd.api.types.is_numeric_dtype(test[c]) and not pd.api.types.is_bool_dtype(
        test[c]) and test[c].nunique() > 2]
    for row in rows:
        if kind == "far":
            column = numbers[rng.integers(len(numbers))]
            value = changed.iloc[row, changed.columns.get_loc(column)]
            base = test[column].median() if pd.isna(value) else value
            changed.iloc[row, changed.columns.get_loc(column)] = base + rng.choice([-1, 1]) * 5 * _robust_scale(
                test[column])
        else:
            columns = rng.choice(len(test.columns), max(2, len(test.columns) // 3), replace=False)
            donor = (row + 1 + rng.integers(len(test) - 1)) % len(test)
            for column in columns:
                changed.iloc[row, column] = test.iloc[donor, column]
    marked = np.zeros(len(test), dtype=int)
    marked[rows] = 1
    return changed, marked


def isolation_features(train: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Numbers (median-filled, with a missing flag where the training rows have missing values) and ordinal codes of
    the other columns (missing and unseen values as -1), from the training rows' statistics."""
    parts = []
    for column in train.columns:
        numeric = pd.api.types.is_numeric_dtype(train[column]) and not pd.api.types.is_bool_dtype(train[column])
        if numeric:
            values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
            parts.append(values.fillna(pd.to_numeric(train[column], errors="coerce").median()).to_numpy())
            if train[column].isna().any():
                parts.append(values.isna().to_numpy(dtype="float64"))
        else:
            levels = {v: i for i, v in enumerate(pd.unique(train[column].dropna().astype(str)))}
            parts.append(frame[column].astype(str).where(frame[column].notna(), None).map(levels).fillna(-1)
                         .to_numpy(dtype="float64"))
    return np.column_stack(parts)


def run_table(name: str, max_rows: int) -> list[dict]:
    from keras_defaults import Automater

    df, _ = quality.load(name, max_rows)
    df = usable_frame(df).reset_index(drop=True)
    # Numbers as floats, so that a planted value need not be whole (whole-number columns stay whole elsewhere).
    df = df.astype({c: "float64" for c in df.columns
                    if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])})
    rng = np.random.default_rng([SEED, sum(map(ord, name))])
    order = rng.permutation(len(df))
    cut = int(0.8 * len(df))
    train, test = df.iloc[order[:cut]].reset_index(drop=True), df.iloc[order[cut:]].reset_index(drop=True)
    started = time.perf_counter()
    auto = Automater(target=None, seed=0, verbose=0).fit(train)
    auto_seconds = time.perf_counter() - started
    started = time.perf_counter()
    forest = IsolationForest(n_estimators=200, random_state=0).fit(isolation_features(train, train))
    forest_seconds = time.perf_counter() - started
    rows = []
    for kind in KINDS:
        if kind == "swapped" and df.shape[1] < 3:
            continue
        changed, marked = plant(test, kind, np.random.default_rng([SEED, sum(map(ord, name)), KINDS.index(kind)]))
        scores = {"autoencoder": auto.anomaly_score(changed).fillna(0.0).to_numpy(),
                  "isolation_forest": -forest.score_samples(isolation_features(train, changed))}
        for model, score in scores.items():
            rows.append({"dataset": name, "rows": len(df), "columns": df.shape[1], "kind": kind, "model": model,
                         "roc_auc": roc_auc_score(marked, score), "average_precision":
                         average_precision_score(marked, score), "planted": int(marked.sum()),
                         "fit_seconds": auto_seconds if model == "autoencoder" else forest_seconds})
    return rows


def write_report(results: pd.DataFrame, path: Path, command: str) -> None:
    lines = ["# Anomaly scores: the autoencoder against IsolationForest",
             "",
             f"`{command}` (benchmarks/anomaly.py: the protocol is in its docstring). Tune-half tables of the quality "
             f"benchmark; {PLANTED_SHARE:.0%} of each table's test rows planted. ROC-AUC and average precision (AP) "
             f"of the planted rows among the test rows; AP of a random score is about {PLANTED_SHARE:.2f}.",
             ""]
    for kind in KINDS:
        part = results[results["kind"] == kind].pivot_table(index="dataset", columns="model",
                                                             values=["roc_auc", "average_precision"])
        lines += [f"## {kind}", "", "| dataset | AUC autoencoder | AUC isolation forest | AP autoencoder | "
                  "AP isolation forest |", "|---|---:|---:|---:|---:|"]
        for dataset, row in part.iterrows():
            lines.append(f"| {dataset} | {row[('roc_auc', 'autoencoder')]:.3f} | "
                         f"{row[('roc_auc', 'isolation_forest')]:.3f} | "
                         f"{row[('average_precision', 'autoencoder')]:.3f} | "
                         f"{row[('average_precision', 'isolation_forest')]:.3f} |")
        means = part.mean()
        wins = int((part[("roc_auc", "autoencoder")] > part[("roc_auc", "isolation_forest")]).sum())
        lines += [f"| **mean** | **{means[('roc_auc', 'autoencoder')]:.3f}** | "
                  f"**{means[('roc_auc', 'isolation_forest')]:.3f}** | "
                  f"**{means[('average_precision', 'autoencoder')]:.3f}** | "
                  f"**{means[('average_precision', 'isolation_forest')]:.3f}** |", "",
                  f"The autoencoder's AUC is higher on {wins} of {len(part)} tables.", ""]
    seconds = results.drop_duplicates(["dataset", "model"]).groupby("model")["fit_seconds"].median()
    lines += [f"Median fit time: autoencoder {seconds['autoencoder']:.1f} s, isolation forest "
              f"{seconds['isolation_forest']:.2f} s (2-core machine, shared: noisy).", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _version(max_rows: int) -> str:
    """The code and settings the rows were made with: this file, the Automater's settings, the row cap."""
    import hashlib

    from keras_defaults import __version__
    from keras_defaults.defaults import builtin_text

    digest = hashlib.sha256(Path(__file__).read_bytes() + builtin_text().encode("utf-8")).hexdigest()[:12]
    return f"{__version__}-{digest}-{max_rows}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", help="comma-separated tune-half datasets (default: all of them)")
    parser.add_argument("--max-rows", type=int, default=10_000, help="seeded subsample of each table (default 10000)")
    args = parser.parse_args(argv)
    names = datasets.tune_half_names(args.datasets, quality.DATASETS)
    RESULTS.mkdir(exist_ok=True)
    csv = RESULTS / "anomaly.csv"
    version = _version(args.max_rows)
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["dataset", "version"])
    done = done[(done["version"] == version) & done["dataset"].isin(names)]
    for name in names:
        if name in set(done["dataset"]):
            continue
        started = time.perf_counter()
        table = pd.DataFrame(run_table(name, args.max_rows)).assign(version=version)
        done = pd.concat([done, table], ignore_index=True) if len(done) else table
        done.to_csv(csv, index=False, float_format="%.6g")  # after every table: a stopped run resumes
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    results = done
    command = "python benchmarks/anomaly.py" + (f" --datasets {args.datasets}" if args.datasets else "") + (
        f" --max-rows {args.max_rows}" if args.max_rows != 10_000 else "")
    write_report(results, RESULTS / "anomaly.md", command)
    print((RESULTS / "anomaly.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
