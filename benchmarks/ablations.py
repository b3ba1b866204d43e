"""Ablations: which value of each default wins on the quality benchmark's datasets.

Each variant is the default Automater with a few settings overridden (the same shape as a user's YAML file). The
variants run on the same seeded splits as `quality.py`, side by side in one run, and the table reports each
variant's primary score (ROC-AUC, accuracy or R^2) and its ratio to HistGradientBoosting (taken from the committed
`results/quality.csv`). This is how the values in `defaults.yaml` were chosen.

Run: python benchmarks/ablations.py [--variants default,adamw,...] [--datasets a,b] [--folds 3]
Writes benchmarks/results/ablations.md and ablations.csv.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# name -> settings merged over defaults.yaml. "default" is the table as committed.
VARIANTS = {
    "default": {},
    "adam_no_clip": {"inputs": {"numerical": {"smooth_clip": False}}},
    "standard_scaling": {"inputs": {"numerical": {"scaling": "standard", "smooth_clip": False}}},
    "adamw": {"optimizer": {"name": "adamw", "weight_decay": 0.0001}},
    "small_batch": {"training": {"batch_size": 64}},
    "patience_30": {"training": {"early_stopping": {"patience": 30}}},
    "dropout_0": {"body": {"dropout": 0.0}},
    "dropout_0.3": {"body": {"dropout": 0.3}},
    "wide_3x512": {"body": {"units": [512, 512, 512]}},
    "narrow_2x64": {"body": {"units": [64, 64]}},
    "no_log_target": {"targets": {"numerical": {"log_transform": False}}},
    "label_smoothing": {"targets": {"boolean": {"loss": {"name": "binary_crossentropy", "label_smoothing": 0.1}}}},
    "batch_norm": {"body": {"batch_norm": True}},
}


def primary_metric(task):
    return {quality.BINARY: "roc_auc", quality.MULTICLASS: "accuracy", quality.REGRESSION: "r2"}[task]


def run_variant(name, overrides, spec, df, splits):
    from keras_defaults import Automater

    scores, seconds = [], []
    for train_idx, test_idx in splits:
        train, test = df.iloc[train_idx], df.iloc[test_idx]
        started = time.perf_counter()
        auto = Automater(target=spec.target, overrides=overrides or None, seed=quality.SEED, verbose=0).fit(train)
        seconds.append(time.perf_counter() - started)
        x_test, y_test = test.drop(columns=[spec.target]), test[spec.target].to_numpy()
        classes = np.unique(df[spec.target].to_numpy()) if spec.task in quality.CLASSIFICATION else None
        proba = None
        if spec.task in quality.CLASSIFICATION:
            proba = auto.predict_proba(x_test)[list(classes)].to_numpy()
        metrics = quality.score(spec.task, y_test, np.asarray(auto.predict(x_test)), proba, classes)
        scores.append(metrics[primary_metric(spec.task)])
    return float(np.mean(scores)), float(np.sum(seconds))


def reference_scores():
    path = RESULTS / "quality.csv"
    if not path.exists():
        return pd.DataFrame()
    table = pd.read_csv(path)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variant names")
    parser.add_argument("--extra", help="JSON mapping name -> overrides, run as more variants")
    parser.add_argument("--datasets", help="comma list (default: all of quality.py's)")
    parser.add_argument("--folds", type=int, default=3, help="folds for small datasets (default 3)")
    parser.add_argument("--out", default=str(RESULTS / "ablations"), help="output path without extension")
    parser.add_argument("--from-log", help="rebuild the tables from the progress lines of an interrupted run")
    args = parser.parse_args(argv)
    if args.from_log:
        return write(from_log(args.from_log), reference_scores(), Path(args.out), args, float("nan"))

    variants = {name: VARIANTS[name] for name in args.variants.split(",") if name}
    if args.extra:
        variants.update(json.loads(args.extra))
    names = args.datasets.split(",") if args.datasets else list(quality.DATASETS)
    reference = reference_scores()
    rows = []
    started = time.perf_counter()
    for dataset in names:
        spec = quality.DATASETS[dataset]
        df = quality.load_dataset(spec)
        splits = quality.make_splits(df, spec.target, spec.task, args.folds, 1)
        metric = primary_metric(spec.task)
        for variant, overrides in variants.items():
            score, seconds = run_variant(variant, overrides, spec, df, splits)
            rows.append({"dataset": dataset, "task": spec.task, "metric": metric, "variant": variant,
                         "score": score, "fit_s": seconds})
            print(f"{dataset:14s} {variant:18s} {metric}={score:.4f} fit={seconds:.1f}s", flush=True)
    results = pd.DataFrame(rows)
    write(results, reference, Path(args.out), args, time.perf_counter() - started)


def from_log(path):
    """The rows of a run from its progress lines ("dataset variant metric=score fit=Ns")."""
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and "=" in parts[2] and parts[3].startswith("fit="):
            metric, score = parts[2].split("=")
            rows.append({"dataset": parts[0], "task": quality.DATASETS[parts[0]].task, "metric": metric,
                         "variant": parts[1], "score": float(score), "fit_s": float(parts[3][4:-1])})
    return pd.DataFrame(rows)


def markdown(frame):
    header = [frame.index.name or ""] + [str(c) for c in frame.columns]
    rows = [[str(i)] + [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
            for i, row in zip(frame.index, frame.itertuples(index=False))]
    return quality._markdown_table(header, rows)


def write(results, reference, out, args, wall):
    hgb = {}
    if len(reference):
        for _, row in reference[(reference["model"] == "hgb")].iterrows():
            hgb[(row["dataset"], row["metric"])] = row["mean"]
    results["vs_hgb"] = [s / hgb.get((d, m), np.nan) for s, d, m in
                         zip(results["score"], results["dataset"], results["metric"])]
    out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(out.with_suffix(".csv"), index=False)
    wide = results.pivot(index="dataset", columns="variant", values="score")
    summary = results.groupby("variant").agg(mean_vs_hgb=("vs_hgb", "mean"), fit_s=("fit_s", "sum"))
    summary["mean_rank"] = wide.rank(axis=1, ascending=False).mean()
    lines = ["# Ablations of the defaults", "",
             f"Command: `python benchmarks/ablations.py {' '.join(sys.argv[1:])}`  ",
             f"Folds for small datasets: {args.folds}; wall time {wall:.0f} s. Scores: ROC-AUC (binary), accuracy "
             "(multiclass), R^2 (regression); `vs_hgb` divides by HistGradientBoosting's score from "
             "results/quality.csv (5-fold), so compare variants with each other first.", "",
             "## Summary", "", markdown(summary.sort_values("mean_vs_hgb", ascending=False)), "",
             "## Score per dataset", "", markdown(wide), ""]
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
