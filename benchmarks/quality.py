#!/usr/bin/env python
"""Quality benchmark: keras_defaults.Automater against the baselines a user could write without it.

Run from the repository root:

    python benchmarks/quality.py                         # full run: both halves, all models (about 2 h on 2 cores)
    python benchmarks/quality.py --jobs 2                # two datasets/models at a time, one thread each (about 1 h)
    python benchmarks/quality.py --half tune             # only the tune half (where defaults are chosen)
    python benchmarks/quality.py --quick                 # smoke run: 3 small datasets, 2 folds
    python benchmarks/quality.py --models hgb,lightgbm --datasets auto,oj
    python benchmarks/quality.py --report-only           # rebuild the report from the cache, fit nothing
    python benchmarks/quality.py --jobs 2 --seed-cache benchmarks/results/quality_folds.csv
                                                         # fit only the models changed since the committed run
    python benchmarks/quality.py --list                  # datasets (half, mix tags) and models

The datasets (61 tables from installed packages, nothing downloaded) and their halves are in datasets.py and
halves.csv; the models in baselines.py; the report in report.py.

Every (dataset, model, fold) result is cached in benchmarks/.cache/ under a key made of the dataset's content, the
fold's rows and the model's version (for the Automater: sha256 of defaults.yaml, the overrides and the
keras_defaults source files), so an interrupted run resumes where it stopped and a code or defaults change
recomputes only what it touches.

Outputs (``--out``, default ``benchmarks/results``): quality.md (the report), quality.csv (dataset x model x metric:
mean, std over folds) and quality_folds.csv (one row per dataset x model x fold).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# libgomp (HistGradientBoosting's and LightGBM's OpenMP) busy-waits at barriers; on a shared 2-core machine that
# made a 0.2 s HGB fit take 6-40 s. Passive waiting sleeps instead. Must be set before the OpenMP runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import concurrent.futures
import hashlib
import json
import multiprocessing
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
# `python benchmarks/quality.py` puts benchmarks/ on sys.path, not the repository root where the keras_defaults
# package lives; the root goes first so that this checkout's package is the one imported.
for _p in (str(HERE), str(REPO_ROOT)):
    if _p in sys.path:
        sys.path.remove(_p)
    sys.path.insert(0, _p)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score, root_mean_squared_error  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split  # noqa: E402

import baselines  # noqa: E402
import datasets  # noqa: E402
from datasets import BINARY, CLASSIFICATION, DATASETS, MULTICLASS, REGRESSION, SEED, DatasetSpec  # noqa: E402

# ------------------------------------------------------------------------------------------------------------
# Protocol
# ------------------------------------------------------------------------------------------------------------

MAX_ROWS = 300_000  # larger tables: a seeded subsample of this many rows (240,000 train / 60,000 test)
CV5_BELOW = 3_000  # fewer rows: 5-fold CV
CV3_BELOW = 30_000  # fewer rows: 3-fold CV; at or above: one seeded 80/20 holdout
TEST_SIZE = 0.2
QUICK_DATASETS = ("carseats", "oj", "wine")
QUICK_FOLDS = 2
CACHE_DIR = HERE / ".cache" / "results"

# Metrics per task; the first is the primary metric (ranks, ratios, goals).
METRICS = {
    BINARY: ("roc_auc", "accuracy", "log_loss"),
    MULTICLASS: ("accuracy", "log_loss"),
    REGRESSION: ("r2", "rmse"),
}
TIME_METRICS = ("fit_s", "predict_s")

PROTOCOL = (
    f"Datasets under {CV5_BELOW:,} rows: 5-fold CV; {CV5_BELOW:,} to {CV3_BELOW - 1:,} rows: 3-fold CV; "
    f"{CV3_BELOW:,} rows and more: one seeded 80/20 holdout (random_state=0), after a seeded subsample to "
    f"{MAX_ROWS:,} rows for larger tables (so at most {int(MAX_ROWS * (1 - TEST_SIZE)):,} training rows). CV is "
    "StratifiedKFold for classification, KFold for regression (shuffle, seed 0); the holdout is stratified for "
    "classification. Training rows are shuffled (seeded) so that a validation split taken from the end is a random "
    "sample. Every model sees the same splits; it is fit on the training frame (target column included) and "
    "predicts on the test frame without the target. Metrics are mean ± std over folds (a single holdout has no "
    "spread: no ± is shown).")


def split_label(n_rows: int, n_folds_small: int | None = None) -> str:
    if n_rows < CV5_BELOW:
        return f"{n_folds_small or 5}-fold CV"
    if n_rows < CV3_BELOW:
        return f"{min(3, n_folds_small or 3)}-fold CV"
    return "1 x seeded 80/20"


def make_splits(df: pd.DataFrame, target: str, task: str, n_folds_small: int | None = None):
    """Positional (train, test) index pairs."""
    y = df[target].to_numpy()
    stratify = task in CLASSIFICATION
    positions = np.arange(len(df))
    if len(df) < CV3_BELOW:
        k = (n_folds_small or 5) if len(df) < CV5_BELOW else min(3, n_folds_small or 3)
        cv = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=SEED)
        splits = list(cv.split(positions, y))
    else:
        splits = [tuple(train_test_split(positions, test_size=TEST_SIZE, random_state=SEED,
                                         stratify=y if stratify else None))]
    rng = np.random.default_rng(SEED)
    return [(rng.permutation(train), np.sort(test)) for train, test in splits]


# ------------------------------------------------------------------------------------------------------------
# Results and their cache
# ------------------------------------------------------------------------------------------------------------

@dataclass
class FoldResult:
    dataset: str
    task: str
    model: str
    fold: int
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    contract: list[str] = field(default_factory=list)  # deviations from the predict API
    version: str = ""  # the model's version the result was made with (part of its cache key)
    cached: bool = False


def frame_fingerprint(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    h.update(str(list(zip(df.columns, map(str, df.dtypes)))).encode())
    return h.hexdigest()


def cache_path(dataset: str, model: str, fold: int, data_fp: str, train_idx, test_idx, version: str) -> Path:
    h = hashlib.sha256()
    for part in (dataset, model, str(fold), data_fp, version):
        h.update(part.encode() + b"\0")
    h.update(np.asarray(train_idx, dtype=np.int64).tobytes())
    h.update(np.asarray(test_idx, dtype=np.int64).tobytes())
    return CACHE_DIR / dataset / model / f"fold{fold}-{h.hexdigest()[:24]}.json"


def read_cached(path: Path) -> FoldResult | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return FoldResult(**{k: v for k, v in data.items() if k in FoldResult.__dataclass_fields__}, cached=True)
    except Exception:
        return None


def write_cached(path: Path, result: FoldResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    data = asdict(result)
    data.pop("cached")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


# ------------------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------------------

def _align_proba(proba, index: pd.Index, classes: np.ndarray, issues: list[str]) -> np.ndarray:
    if not isinstance(proba, pd.DataFrame):
        issues.append(f"predict_proba returned {type(proba).__name__}, not DataFrame")
        proba = pd.DataFrame(np.asarray(proba), index=index, columns=classes[: np.shape(proba)[1]])
    if not proba.index.equals(index):
        issues.append("predict_proba index differs from the input index")
    cols = list(proba.columns)
    if set(cols) != set(classes):
        as_str = {str(c): c for c in cols}
        if set(as_str) >= {str(c) for c in classes}:
            issues.append(f"predict_proba columns {cols[:5]} are not the class labels (matched via str)")
            proba = proba.rename(columns={c: k for k in classes for c in cols if str(c) == str(k)})
        else:
            issues.append(f"predict_proba columns {cols[:5]} do not cover the class labels")
    arr = np.nan_to_num(proba.reindex(columns=classes).to_numpy(dtype=float), nan=0.0)
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-3):
        issues.append("predict_proba rows do not sum to 1")
    return arr


def _check_predict(pred, index: pd.Index, issues: list[str]) -> np.ndarray:
    if not isinstance(pred, pd.Series):
        issues.append(f"predict returned {type(pred).__name__}, not Series")
    elif not pred.index.equals(index):
        issues.append("predict index differs from the input index")
    return np.asarray(pred)


def score(task: str, y_true: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
          classes: np.ndarray | None) -> dict[str, float]:
    if task == REGRESSION:
        pred = pred.astype(float)
        return {"r2": r2_score(y_true, pred), "rmse": root_mean_squared_error(y_true, pred)}
    out = {"accuracy": accuracy_score(y_true, pred)}
    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    if task == BINARY:
        out["roc_auc"] = roc_auc_score(y_true == classes[1], proba[:, 1])
    out["log_loss"] = log_loss(y_true, p, labels=classes)
    return out


def evaluate_fold(model_name: str, spec: DatasetSpec, df: pd.DataFrame, train_idx, test_idx, fold: int,
                  threads: int | None, overrides: dict | None = None, fit=None, seed: int | None = None) -> FoldResult:
    """Fit a model on the fold's training rows and score it on its test rows. `fit` (a function with the baselines'
    signature) replaces the registered model's: other benchmarks score their own fits (tuning.py). `seed` (the
    Automater's, for ablations) replaces the benchmark's."""
    result = FoldResult(spec.name, spec.task, model_name, fold)
    train, test = df.iloc[train_idx], df.iloc[test_idx]
    X_test, y_test = test.drop(columns=[spec.target]), test[spec.target].to_numpy()
    classes = np.unique(df[spec.target].to_numpy()) if spec.task in CLASSIFICATION else None
    fit = fit or baselines.MODELS[model_name].fit
    kwargs = {"overrides": overrides} if overrides else {}
    if seed is not None:
        kwargs["seed"] = seed
    try:
        t0 = time.perf_counter()
        fitted = fit(train, spec.target, spec.task, spec.text_columns, threads, **kwargs)
        t1 = time.perf_counter()
        pred = _check_predict(fitted.predict(X_test), X_test.index, result.contract)
        proba = None
        if spec.task in CLASSIFICATION:
            proba = _align_proba(fitted.predict_proba(X_test), X_test.index, classes, result.contract)
            unknown = set(pd.unique(pred)) - set(classes)
            if unknown:
                result.contract.append(f"predict returned labels not in the data: {sorted(map(str, unknown))[:5]}")
        t2 = time.perf_counter()
        result.metrics = score(spec.task, y_test, pred, proba, classes)
        result.metrics.update(fit_s=t1 - t0, predict_s=t2 - t1)
    except Exception as exc:  # one failing model/fold must not stop the benchmark
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        traceback.print_exc(file=sys.stderr)
    return result


# ------------------------------------------------------------------------------------------------------------
# Running (one task = one dataset x one model, all its folds), serially or in worker processes
# ------------------------------------------------------------------------------------------------------------

_LOADED: dict[tuple[str, int], tuple[pd.DataFrame, str]] = {}


def load(name: str, max_rows: int = MAX_ROWS) -> tuple[pd.DataFrame, str]:
    key = (name, max_rows)
    if key not in _LOADED:
        _LOADED.clear()  # one dataset in memory per process
        df = datasets.load_dataset(DATASETS[name], max_rows)
        _LOADED[key] = (df, frame_fingerprint(df))
    return _LOADED[key]


def fold_plan(name: str, model: str, n_folds_small: int | None, version: str, max_rows: int = MAX_ROWS):
    """[(fold, train_idx, test_idx, cache path)] for one dataset and model."""
    df, fp = load(name, max_rows)
    spec = DATASETS[name]
    return [(i, tr, te, cache_path(name, model, i, fp, tr, te, version))
            for i, (tr, te) in enumerate(make_splits(df, spec.target, spec.task, n_folds_small))]


def run_task(name: str, model: str, n_folds_small: int | None, version: str, threads: int | None,
             overrides: dict | None = None, max_rows: int = MAX_ROWS, seed: int | None = None) -> list[FoldResult]:
    spec = DATASETS[name]
    df, _ = load(name, max_rows)
    out = []
    for fold, tr, te, path in fold_plan(name, model, n_folds_small, version, max_rows):
        cached = read_cached(path)
        if cached is not None:
            cached.version = version
            out.append(cached)
            continue
        result = evaluate_fold(model, spec, df, tr, te, fold, threads, overrides, seed=seed)
        result.version = version
        write_cached(path, result)
        out.append(result)
    return out


def _limit_threads(threads: int) -> None:
    """Called in a worker before TensorFlow or an OpenMP library loads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = str(threads)
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except Exception:
        pass


def _worker_init(threads: int) -> None:
    _limit_threads(threads)


def task_cost(name: str, model: str) -> float:
    """A rough cost, to start the longest tasks first."""
    rows = {"birthdays": 250_000, "wvs_bribe": 250_000, "mortgages": 214_144, "us_employment": 72_339,
            "inst_eval": 73_421, "tv16": 44_932, "gss_wages": 37_887, "clemson_temps": 33_143,
            "rodent_weight": 32_283}.get(name, 10_000)
    weight = {"automater": 4.0, "keras_mlp": 3.0, "sklearn_mlp": 1.5, "lightgbm": 0.2, "hgb": 0.2}.get(model, 1.0)
    return rows * weight


def run_all(names: list[str], models: list[str], n_folds_small: int | None, jobs: int,
            overrides: dict | None = None, log=print, seed: int | None = None) -> list[FoldResult]:
    """Every (dataset, model) task, the costliest first, in `jobs` worker processes, read from the cache where it
    holds them. `overrides` and `seed` (ablations) are given to the Automater's fits alone."""
    if seed is not None and seed != SEED and models != ["automater"]:
        raise ValueError("another seed is given to the Automater alone: run it with models=['automater']")
    versions = {m: baselines.model_version(m, overrides if m == "automater" else None,
                                           SEED if seed is None else seed) for m in models}
    tasks = sorted(((n, m) for n in names for m in models), key=lambda t: -task_cost(*t))
    results: list[FoldResult] = []

    def report(name, model, rs):
        seconds = sum(r.metrics.get("fit_s", 0.0) + r.metrics.get("predict_s", 0.0) for r in rs)
        spec = DATASETS[name]
        primary = METRICS[spec.task][0]
        values = [r.metrics[primary] for r in rs if not r.error]
        n_err = sum(bool(r.error) for r in rs)
        n_cached = sum(r.cached for r in rs)
        log(f"  {name:24s} {model:12s} {primary}={np.mean(values) if values else float('nan'):.4f} "
            f"fit+predict {seconds:7.1f} s" + (f"  ({n_cached} cached)" if n_cached else "")
            + (f"  ({n_err} FAILED: {next(r.error for r in rs if r.error)[:200]})" if n_err else ""))

    calls = [((name, model), {"name": name, "model": model, "n_folds_small": n_folds_small,
                              "version": versions[model], "overrides": overrides if model == "automater" else None,
                              "seed": seed if model == "automater" else None})
             for name, model in tasks]
    for (name, model), rs in in_workers(run_task, calls, jobs):
        if isinstance(rs, Exception):  # a worker died (memory?): record it for every fold
            rs = worker_failure(name, model, rs)
        results += rs
        report(name, model, rs)
    return results


def worker_failure(name: str, model: str, error: Exception) -> list[FoldResult]:
    """The results of a (dataset, model) whose worker process died (memory?): one failed fold naming the error."""
    return [FoldResult(name, DATASETS[name].task, model, -1,
                       error=f"worker failed: {type(error).__name__}: {error}")]


def in_workers(function, calls, jobs: int):
    """Yield (key, result) for each (key, keyword arguments) in `calls`, as the calls of `function(**arguments,
    threads=...)` end: in `jobs` spawned worker processes of one thread each (`threads=1`), or with `jobs` <= 1 one
    after another in this process (`threads=None`). A call whose worker died yields its exception as the result."""
    if jobs <= 1:
        for key, arguments in calls:
            yield key, function(**arguments, threads=None)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                                                initargs=(1,)) as pool:
        futures = {pool.submit(function, **arguments, threads=1): key for key, arguments in calls}
        for future in concurrent.futures.as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:
                yield futures[future], exc


def rows_from_workers(function, calls, jobs: int, show) -> list:
    """Every call's rows (`function` returns a list of them) in one list, run by `in_workers`; `show(key, rows)` as
    each call ends. A call that failed ends the run with its key and its error."""
    rows = []
    for key, result in in_workers(function, calls, jobs):
        if isinstance(result, Exception):
            raise SystemExit(f"{key}: {type(result).__name__}: {result}")
        rows += result
        show(key, result)
    return rows


def collect_cached(names: list[str], models: list[str], n_folds_small: int | None,
                   overrides: dict | None = None) -> list[FoldResult]:
    """The results of the current settings found in the cache (missing folds are left out)."""
    versions = {m: baselines.model_version(m, overrides if m == "automater" else None) for m in models}
    out = []
    for name in names:
        for model in models:
            for fold, tr, te, path in fold_plan(name, model, n_folds_small, versions[model]):
                r = read_cached(path)
                if r is not None:
                    r.version = versions[model]
                    out.append(r)
    return out


def seed_cache(folds_csv: Path, names: list[str], models: list[str], n_folds_small: int | None) -> int:
    """Put the fold results of an earlier run (its quality_folds.csv) into the cache, where they still hold.

    A row is used only when its `version` column equals the model's version now (for the Automater that covers
    defaults.yaml and the package source; for a baseline, its harness version) and its dataset and fold are in this
    run's plan; the cache key adds the frame's content and the fold's rows, as for a result computed here. So a
    fresh machine reruns only what changed since the committed report, typically the Automater alone. Rows that
    failed, or that are already cached, are left alone. Returns the number of results written."""
    earlier = pd.read_csv(folds_csv, keep_default_na=False, na_values=[""])
    if "version" not in earlier.columns:
        raise SystemExit(f"{folds_csv} has no `version` column: it predates --seed-cache, so which code made its "
                         "results cannot be checked. Run the models again instead.")
    versions = {m: baselines.model_version(m) for m in models}
    metric_columns = [c for c in earlier.columns
                      if c not in ("dataset", "half", "task", "model", "fold", "error", "version")]
    written = 0
    for (name, model), rows in earlier.groupby(["dataset", "model"], sort=False):
        if name not in names or model not in models:
            continue
        rows = rows[(rows["version"] == versions[model]) & rows["error"].isna()]
        if rows.empty:
            continue
        by_fold = {int(r["fold"]): r for _, r in rows.iterrows()}
        for fold, _tr, _te, path in fold_plan(name, model, n_folds_small, versions[model]):
            row = by_fold.get(fold)
            if row is None or path.exists():
                continue
            metrics = {c: float(row[c]) for c in metric_columns if pd.notna(row[c])}
            write_cached(path, FoldResult(name, DATASETS[name].task, model, fold, metrics=metrics,
                                          version=versions[model]))
            written += 1
    return written


# ------------------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------------------

def _parse_list(value: str | None, registry, what: str) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(registry)})")
    return names


def list_datasets() -> None:
    halves = datasets.halves()
    print(f"{'dataset':24s} {'half':6s} {'task':10s} {'target':18s} tags / source")
    for s in DATASETS.values():
        print(f"{s.name:24s} {halves.get(s.name, '?'):6s} {s.task:10s} {s.target:18s} "
              f"{','.join(s.tags) or '-'} / {s.source}")
    print()
    for m in baselines.MODELS.values():
        print(f"{m.name:12s} {m.description}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {', '.join(QUICK_DATASETS)} with {QUICK_FOLDS} folds")
    parser.add_argument("--models", help=f"comma list from: {', '.join(baselines.MODELS)}")
    parser.add_argument("--datasets", help="comma list of dataset names (see --list)")
    parser.add_argument("--half", choices=("tune", "check", "all"), default="all")
    parser.add_argument("--folds", type=int, help="folds for datasets under 3,000 rows (default 5)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one thread each when > 1)")
    parser.add_argument("--report-only", action="store_true", help="write the report from the cache, fit nothing")
    parser.add_argument("--seed-cache", type=Path, metavar="FOLDS_CSV",
                        help="first fill the cache from an earlier run's quality_folds.csv, for the models whose "
                             "version has not changed since (e.g. benchmarks/results/quality_folds.csv on a fresh "
                             "machine: only what changed is fitted again)")
    parser.add_argument("--out", type=Path, help="report folder (default: benchmarks/results for a run of every "
                                                 "dataset and model, benchmarks/.cache/partial for a subset or "
                                                 "--quick, so that a partial run never replaces the committed report)")
    parser.add_argument("--list", action="store_true", help="list datasets (half, mix tags) and models, exit")
    parser.add_argument("--draw-halves", action="store_true",
                        help="assign datasets missing from halves.csv to a half (seeded draw), exit")
    args = parser.parse_args(argv)

    if args.draw_halves:
        existing = datasets.halves()
        assignment = datasets.draw_halves(list(DATASETS.values()), existing)
        datasets.write_halves(assignment)
        new = {k: v for k, v in assignment.items() if k not in existing}
        print(f"assigned {len(new)} new dataset(s): {new}")
        return 0
    if args.list:
        list_datasets()
        return 0

    halves = datasets.halves()
    missing = [n for n in DATASETS if n not in halves]
    if missing:
        raise SystemExit(f"datasets without a half: {missing}; run --draw-halves first")
    names = _parse_list(args.datasets, DATASETS, "datasets") or (
        list(QUICK_DATASETS) if args.quick else list(DATASETS))
    if args.half != "all":
        names = [n for n in names if halves[n] == args.half]
    models = _parse_list(args.models, baselines.MODELS, "models") or list(baselines.MODELS)
    n_folds_small = args.folds or (QUICK_FOLDS if args.quick else None)
    if args.out is None:
        complete = set(names) == set(DATASETS) and set(models) == set(baselines.MODELS) and n_folds_small is None
        args.out = HERE / "results" if complete else HERE / ".cache" / "partial"

    skipped: dict[str, str] = {}
    for name in list(models):
        try:
            baselines.MODELS[name].check()
        except baselines.ModelUnavailable as exc:
            print(f"SKIPPING model {name}: {exc}", file=sys.stderr)
            skipped[name] = str(exc)
            models.remove(name)
    if not models:
        print("no model left to run", file=sys.stderr)
        return 1

    import report  # noqa: PLC0415  (scipy only needed here)

    if args.seed_cache:
        print(f"{seed_cache(args.seed_cache, names, models, n_folds_small)} fold results put in the cache from "
              f"{args.seed_cache}", flush=True)
    start = time.perf_counter()
    if args.report_only:
        results = collect_cached(names, models, n_folds_small)
        print(f"{len(results)} cached fold results")
    else:
        if args.jobs > 1:
            print(f"{args.jobs} worker processes, 1 thread each", flush=True)
        else:
            print("1 process", flush=True)
        results = run_all(names, models, n_folds_small, args.jobs, log=lambda s: print(s, flush=True))
    wall_s = time.perf_counter() - start
    report.write_report(args.out, names, models, skipped, results, wall_s, argv, n_folds_small,
                        report_only=args.report_only)
    print(f"done in {wall_s:.0f} s -> {args.out / 'quality.md'}", flush=True)
    return 0


if __name__ == "__main__":
    # report.py and ablations.py `import quality`: let them see this module (its constants as loaded at the start
    # of the run), not a second copy read from the file again.
    sys.modules.setdefault("quality", sys.modules["__main__"])
    sys.exit(main())
