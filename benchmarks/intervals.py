"""Regression heads and their prediction intervals: the point head (the default, `distribution: point`) against the
normal head (`distribution: normal`: a mean and a standard deviation per row, Gaussian negative log-likelihood) and
the quantile head (`loss: quantile`: one output per quantile, pinball loss).

For each regression table of a half of the quality benchmark (the tune half decides; the check half is run once to
confirm, never to choose), the quality protocol's seeded folds (5-fold CV under 3,000 rows, 3-fold under 30,000,
else an 80/20 holdout), after a seeded subsample to 30,000 rows. Models:

- `point`: the default Automater. Its intervals are split-conformal: the prediction plus or minus a quantile of the
  validation rows' absolute errors, the same width for every row.
- `normal_b05`, `normal_b0`: `distribution: normal`, its likelihood weighted by sigma^(2 beta) with beta 0.5
  (beta-NLL, Seitzer et al. 2022) or 0 (the plain likelihood): the package's constant `NORMAL_BETA`, set in the
  worker for this run. Two sets of intervals from one fit: `conformal` (normalised split-conformal: the quantile of
  the validation errors in standard deviations, times each row's) and `own` (mean +- z sigma, uncalibrated).
- `quantile`: `loss: {name: quantile, quantiles: QUANTILES}`. `conformal`: conformalized quantile regression on the
  pair of quantiles whose own coverage is nearest; `own`: that pair as predicted (0.1 and 0.9 for 0.8).

Scores per fold, on the held-out rows, in the target's units: R^2 and RMSE of the point prediction (the normal head's
mean); for intervals of coverage 0.8 and 0.9, the share of rows whose truth they hold, their mean width and the
interval score (Gneiting & Raftery 2007: width plus 2 / (1 - coverage) times how far the truth falls outside;
lower is better, and it rewards intervals narrow where rows are predictable), both divided by the standard
deviation of the held-out target so that tables compare. Fit time.

Run: python benchmarks/intervals.py [--group tune|check|all] [--models point,normal_b0,quantile] [--jobs 2]
Writes benchmarks/results/intervals.md and intervals.csv (one row per dataset, model, fold and interval kind). An
interrupted run resumes: rows already in the CSV (same code: the Automater's version) are kept.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (puts the repository root first on sys.path)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import r2_score, root_mean_squared_error  # noqa: E402

import baselines  # noqa: E402
import datasets  # noqa: E402
import report  # noqa: E402
from datasets import REGRESSION  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HALVES = Path(__file__).resolve().parent / "halves.csv"
MAX_ROWS = 30_000
COVERAGES = (0.8, 0.9)
# Tables under 3,000 rows get 3 folds here (quality.py: 5): three fits a fold, and the point is the intervals.
FOLDS_SMALL = 3
NORMAL = {"targets": {"numerical": {"distribution": "normal"}}}
QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
QUANTILE = {"targets": {"numerical": {"loss": {"name": "quantile", "quantiles": QUANTILES}}}}
# model -> (overrides, beta: the normal head's NORMAL_BETA for the fit, None for the other heads)
MODELS = {"point": ({}, None), "normal_b05": (NORMAL, 0.5), "normal_b0": (NORMAL, 0.0), "quantile": (QUANTILE, None)}


def regression_tables(group: str) -> dict[str, str]:
    """{dataset: half} of the quality benchmark's regression tables in `group` (tune, check or all)."""
    halves = pd.read_csv(HALVES, comment="#")
    return {row.dataset: row.half for row in halves.itertuples()
            if quality.DATASETS[row.dataset].task == REGRESSION and group in ("all", row.half)}


def without_calibration(auto):
    """The fitted Automater as if fitted with calibrate_intervals: false: a normal head's intervals are then its
    own, mean +- z sigma. A shallow copy; `auto` is unchanged."""
    other = copy.copy(auto)
    other.targets_ = {name: dataclasses.replace(
        target, state={k: v for k, v in target.state.items() if k != "calibration"},
        settings={**target.settings, "calibrate_intervals": False}) for name, target in auto.targets_.items()}
    return other


def interval_scores(bounds: pd.DataFrame, truth: np.ndarray, coverage: float, spread: float) -> dict:
    lower, upper = bounds["lower"].to_numpy(float), bounds["upper"].to_numpy(float)
    miss = (2.0 / (1.0 - coverage)) * (np.maximum(lower - truth, 0.0) + np.maximum(truth - upper, 0.0))
    tag = f"{round(coverage * 100)}"
    return {f"held_{tag}": float(np.mean((lower <= truth) & (truth <= upper))),
            f"width_{tag}": float(np.mean(upper - lower)) / spread,
            f"score_{tag}": float(np.mean(upper - lower + miss)) / spread}


def run_fold(name: str, model: str, fold: int, half: str, made_by: str) -> list[dict]:
    from keras_defaults.encoders import numerical

    spec = quality.DATASETS[name]
    table = datasets.load_dataset(spec, MAX_ROWS)
    train_idx, test_idx = quality.make_splits(table, spec.target, REGRESSION, FOLDS_SMALL)[fold]
    train, test = table.iloc[train_idx], table.iloc[test_idx]
    overrides, beta = MODELS[model]
    if beta is not None:
        numerical.NORMAL_BETA = beta
    started = time.perf_counter()
    fitted = baselines.fit_automater(train, spec.target, REGRESSION, overrides=overrides or None)
    fit_s = time.perf_counter() - started
    X_test, truth = test.drop(columns=[spec.target]), test[spec.target].to_numpy(float)
    predicted = np.asarray(fitted.predict(X_test), dtype=float)
    spread = float(np.std(truth)) or 1.0
    base = {"dataset": name, "half": half, "model": model, "fold": fold, "rows": len(table), "error": "",
            "r2": r2_score(truth, predicted), "rmse": root_mean_squared_error(truth, predicted), "fit_s": fit_s,
            "version": made_by}
    kinds = {"conformal": fitted}
    if model != "point":
        kinds["own"] = without_calibration(fitted)
    rows = []
    for kind, auto in kinds.items():
        row = {**base, "intervals": kind}
        for coverage in COVERAGES:
            row.update(interval_scores(auto.predict_interval(X_test, coverage=coverage), truth, coverage, spread))
        rows.append(row)
    return rows


def run_fold_or_error(name: str, model: str, fold: int, half: str, made_by: str) -> list[dict]:
    """`run_fold`, or a row that says why it failed: one failing fold must not stop the benchmark. `made_by` is the
    model's version, taken when the run starts (a worker imports the package once: later edits are not what runs)."""
    try:
        return run_fold(name, model, fold, half, made_by)
    except Exception as error:
        return [{"dataset": name, "half": half, "model": model, "fold": fold, "intervals": "",
                 "error": f"{type(error).__name__}: {error}"[:500], "version": made_by}]


def version(model: str) -> str:
    overrides, beta = MODELS[model]
    return baselines.automater_version({**overrides, "normal_beta": beta})


def folds(name: str) -> int:
    spec = quality.DATASETS[name]
    return len(quality.make_splits(datasets.load_dataset(spec, MAX_ROWS), spec.target, REGRESSION, FOLDS_SMALL))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", choices=("tune", "check", "all"), default="tune")
    parser.add_argument("--datasets", help="comma list (default: the group's regression tables)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {list(MODELS)} (point is the "
                        f"reference and always runs)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from the rows already in the CSV, fitting nothing")
    parser.add_argument("--out", default=str(RESULTS / "intervals"), help="output path without extension")
    args = parser.parse_args(argv)
    tables = regression_tables(args.group)
    if args.datasets:
        tables = {name: regression_tables("all")[name] for name in args.datasets.split(",")}
    out = Path(args.out)
    csv_path = out.with_suffix(".csv")
    done = pd.read_csv(csv_path) if csv_path.exists() else pd.DataFrame()
    models = list(dict.fromkeys(["point"] + args.models.split(",")))
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; expected some of {list(MODELS)}")
    versions = {model: version(model) for model in models}
    if len(done):
        # Rows of other tables stay as they are; this run's tables keep the rows their code still makes.
        done = done[done.apply(lambda r: r["dataset"] not in tables or (
            r["version"] == versions.get(r["model"], r["version"]) and not (isinstance(r["error"], str) and r["error"])), axis=1)]
    have = {(r.dataset, r.model, r.fold) for r in done.itertuples() if r.dataset in tables} if len(done) else set()
    tasks = [] if args.report_only else [(n, m, f) for n in tables for f in range(folds(n)) for m in models
                                         if (n, m, f) not in have]
    print(f"{len(tasks)} folds to fit ({len(have)} already in {csv_path})", flush=True)
    rows = done.to_dict("records") if len(done) else []
    started = time.perf_counter()
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    with ProcessPoolExecutor(args.jobs, initializer=quality._worker_init, initargs=(threads,)) as pool:
        futures = {pool.submit(run_fold_or_error, n, m, f, tables[n], versions[m]): (n, m, f) for n, m, f in tasks}
        for future in as_completed(futures):
            for row in future.result():
                rows.append(row)
                if row["error"]:
                    print(f"{row['dataset']:<22} {row['model']:<10} fold {row['fold']}: FAILED {row['error']}",
                          flush=True)
                else:
                    print(f"{row['dataset']:<22} {row['model']:<10} fold {row['fold']} {row['intervals']:<9}: "
                          f"R2 {row['r2']:.4f} held@0.9 {row['held_90']:.3f} width {row['width_90']:.3f} "
                          f"score {row['score_90']:.3f} ({row['fit_s']:.0f} s)", flush=True)
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(csv_path, index=False)
    write(pd.DataFrame(rows), out, argv if argv is not None else sys.argv[1:], time.perf_counter() - started)


VARIANTS = [("point", "conformal"), ("normal_b05", "conformal"), ("normal_b05", "own"), ("normal_b0", "conformal"),
            ("normal_b0", "own"), ("quantile", "conformal"), ("quantile", "own")]


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Means over folds, one row per (half, dataset), one column per (metric, model/intervals)."""
    rows = rows[rows["error"].astype(object).fillna("") == ""].copy()
    rows["variant"] = rows["model"] + "/" + rows["intervals"]
    metrics = ["r2", "fit_s"] + [f"{m}_{round(c * 100)}" for c in COVERAGES for m in ("held", "width", "score")]
    return rows.groupby(["half", "dataset", "variant"])[metrics].mean().unstack("variant")


def write(rows: pd.DataFrame, out: Path, argv, wall: float) -> None:
    from scipy.stats import wilcoxon

    table = summary(rows)
    failed = rows[rows["error"].astype(object).fillna("") != ""]
    names = [f"{model}/{kind}" for model, kind in VARIANTS]
    lines = ["# Regression heads and prediction intervals: point, normal and quantile", "",
             f"Command: `python benchmarks/intervals.py {' '.join(argv)}`", ""]
    lines += [f"- **{k}**: `{v}`" for k, v in report.provenance().items()]
    lines += [f"- **wall time of this run**: {wall:,.0f} s", "",
              "R^2 of the prediction (the normal head's mean); for 90% intervals: held (the share of held-out rows "
              "whose truth the interval holds; 0.90 asked), width and interval score (both / the held-out "
              "target's standard deviation; lower is better), means over the folds. `conformal`: split-conformal "
              "on the validation rows (normalised by the predicted standard deviation for a normal head; "
              "conformalized quantile regression for a quantile head); `own`: uncalibrated, a normal head's mean "
              "+- 1.645 sigma, a quantile head's 0.05 and 0.95 quantiles. The tune half decides; the check half "
              "confirms.",
              ""]
    for half in ("tune", "check"):
        if half not in table.index.get_level_values("half"):
            continue
        part = table.loc[half]
        present = [n for n in names if ("r2", n) in part.columns]
        header = ["dataset"] + [f"R^2 {m}" for m in MODELS] + [
            f"{metric} {n}" for metric in ("held", "score") for n in present]
        body = []
        for name in part.index:
            cells = [name] + [f"{part.loc[name, ('r2', f'{m}/conformal')]:.4f}"
                              if ("r2", f"{m}/conformal") in part.columns else "" for m in MODELS]
            cells += [f"{part.loc[name, (f'{metric}_90', n)]:.3f}" for metric in ("held", "score") for n in present]
            body.append(cells)
        lines += [f"## {half.capitalize()} half", "", report.markdown_table(header, body), ""]
        summary_rows = []
        reference = part[("score_90", "point/conformal")]
        for n in present:
            held = part[("held_90", n)]
            score = part[("score_90", n)] / reference
            width = part[("width_90", n)] / part[("width_90", "point/conformal")]
            r2 = part[("r2", n)] - part[("r2", "point/conformal")]
            differs = (score - 1)[(score - 1).abs() > 1e-12].dropna()
            p = float(wilcoxon(differs).pvalue) if len(differs) >= 2 else float("nan")
            summary_rows.append([n, f"{held.mean():.3f}", f"{held.min():.3f}", f"{width.mean():.3f}",
                                 f"{score.mean():.3f}", f"{int((score < 0.999).sum())} / {int((score > 1.001).sum())}",
                                 f"{p:.3f}", f"{r2.mean():+.4f}",
                                 f"{(part[('fit_s', n)] / part[('fit_s', 'point/conformal')]).mean():.2f}"])
        lines += ["Each variant against point/conformal, table by table (at coverage 0.9):", "",
                  report.markdown_table(["variant", "held (mean)", "held (lowest)", "width ratio",
                                         "interval score ratio", "better / worse", "Wilcoxon p",
                                         "R^2 minus point's", "fit time ratio"], summary_rows), ""]
    if len(failed):
        lines += ["## Failed folds", ""] + [f"- {r.dataset} {r.model} fold {r.fold}: {r.error}"
                                            for r in failed.itertuples()] + [""]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
