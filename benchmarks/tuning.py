"""Tuning: `Automater.tune` with a time budget against the defaults' `fit`, on the quality benchmark's tune half.

For each table of the tune half (the check half is not run here), the quality benchmark's first split (its first
fold, or its 80/20 holdout; same seeds, same rows) gives training and test rows. Side by side in one process:

- **defaults**: `Automater(target, seed=0, verbose=0).fit(train)`, as the quality benchmark fits it;
- **tuned**: `Automater(target, seed=0, verbose=0).tune(train, time_budget=BUDGET)`: the defaults are fitted on all
  the training rows first; KerasTuner proposes settings from `search.space`, each is judged on held-out rows *of the
  training rows* (k-fold or a holdout, by size), and a proposal that beats the defaults there beyond the folds'
  noise (p < `search.significance`) is fitted on all of them. The test rows are never seen by the search.

Both are scored on the test rows with the quality benchmark's metrics (primary: ROC-AUC, accuracy, R^2; log-loss for
classifiers). The tuned fit's wall time is reported against the budget (the issue's goal: within 10%).

Run: python benchmarks/tuning.py [--datasets a,b] [--budget 300] [--jobs 2]
Writes benchmarks/results/tuning.md and tuning.csv; an interrupted run resumes (tables already in the CSV, made with
the same code, settings and budget, are kept). With --jobs 2 two tables run at once, each process on one core: each
search then has half of a 2-core machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (puts the repository root first on sys.path)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import baselines  # noqa: E402
import datasets  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BUDGET_S = 300.0
_SEARCHES: dict[str, object] = {}  # the tuned Automater of the table this process ran last (its trials)


def fit_tuned(train: pd.DataFrame, target: str, task: str, text_columns=(), threads: int | None = None,
              budget: float = BUDGET_S):
    from keras_defaults import Automater

    model = Automater(target=target, seed=baselines.SEED, verbose=0).tune(train, time_budget=budget)
    _SEARCHES["last"] = model
    return model


def run_table(name: str, budget: float, threads: int | None) -> dict:
    spec = quality.DATASETS[name]
    df, _ = quality.load(name)
    train_idx, test_idx = quality.make_splits(df, spec.target, spec.task)[0]
    primary = quality.METRICS[spec.task][0]
    defaults = quality.evaluate_fold("automater", spec, df, train_idx, test_idx, 0, threads)
    tuned = quality.evaluate_fold("tuned", spec, df, train_idx, test_idx, 0, threads,
                                  fit=lambda *args: fit_tuned(*args, budget=budget))
    row = {"dataset": name, "task": spec.task, "rows": len(df), "train_rows": len(train_idx), "metric": primary,
           "defaults": defaults.metrics.get(primary, np.nan), "tuned": tuned.metrics.get(primary, np.nan),
           "defaults_log_loss": defaults.metrics.get("log_loss", np.nan),
           "tuned_log_loss": tuned.metrics.get("log_loss", np.nan),
           "defaults_fit_s": defaults.metrics.get("fit_s", np.nan), "tuned_fit_s": tuned.metrics.get("fit_s", np.nan),
           "budget_s": budget, "error": defaults.error or tuned.error or ""}
    model = _SEARCHES.pop("last", None)
    if model is not None and hasattr(model, "tuning_results_"):
        trials = model.tuning_results_
        completed = trials[trials["status"] == "completed"]
        best = -1
        if len(completed) and model.best_score_ is not None:  # the trial whose configuration is the model
            best = int(completed.loc[(completed["score"] - model.best_score_).abs().idxmin(), "trial"])
        settings = ({c: v for c, v in trials.loc[trials["trial"] == best].iloc[0].items()
                    if c not in ("trial", "score", "score_std", "p_value", "epochs", "seconds", "status")}
                    if best >= 0 else {})
        row.update(trials=len(trials), completed=len(completed), best_trial=best,
                   best_p_value=float(trials.loc[trials["trial"] == best, "p_value"].iloc[0]) if best > 0 else np.nan,
                   validation_defaults=float(trials["score"].iloc[0]),
                   validation_best=np.nan if model.best_score_ is None else model.best_score_,
                   best_settings=json.dumps(settings, default=str))
    return row


def _version(budget: float) -> str:
    """The code and settings the rows were made with: this file, the package's source and table, the budget."""
    digest = hashlib.sha256(Path(__file__).read_bytes() + baselines.package_source_sha256().encode()).hexdigest()
    return f"{digest[:12]}-{budget:g}"


def _run(name: str, budget: float, threads: int | None) -> dict:
    started = time.perf_counter()
    row = run_table(name, budget, threads)
    print(f"{name}: {time.perf_counter() - started:.0f} s (defaults {row['defaults']:.4f}, tuned {row['tuned']:.4f}, "
          f"{row.get('completed', 0)} trials)", flush=True)
    return row


def _chosen(row) -> str:
    """The trial whose configuration is the model, with its p-value against the defaults (trial 0)."""
    trial = row.get("best_trial", -1)
    p_value = row.get("best_p_value", np.nan)
    return f"{trial:.0f}" + (f" (p={p_value:.2g})" if pd.notna(p_value) else "")


def write_report(results: pd.DataFrame, path: Path, command: str, budget: float, commit: str = "") -> None:
    from scipy.stats import wilcoxon

    results = results.sort_values("dataset")
    ok = results[results["error"].fillna("") == ""]
    ratio = ok["tuned"] / ok["defaults"]
    not_worse = int((ok["tuned"] >= ok["defaults"]).sum())
    over = ok["tuned_fit_s"] / ok["budget_s"]
    differs = ok["tuned"] != ok["defaults"]
    p = wilcoxon(ok["tuned"][differs], ok["defaults"][differs]).pvalue if differs.sum() >= 2 else float("nan")
    results = results.astype({c: float for c in ("defaults_log_loss", "tuned_log_loss", "validation_defaults",
                                                  "validation_best") if c in results})
    lines = ["# Tuning: `Automater.tune` within a time budget against the defaults",
             "",
             f"`{command}` (benchmarks/tuning.py: the protocol is in its docstring). Tune-half tables of the quality "
             f"benchmark, its first split of each; budget {budget:g} s per table, the final fit included. The "
             f"search judges on held-out rows of the training rows only; the test rows score both models once."
             + (f" Made at commit `{commit}`." if commit else ""),
             "",
             "| dataset | task | rows | metric | defaults | tuned | tuned / defaults | log-loss defaults | "
             "log-loss tuned | trials (finished) | chosen trial (p) | validation: defaults -> chosen | tuned fit s "
             "(budget use) |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|---|---:|"]
    for _, row in results.iterrows():
        lines.append(
            f"| {row['dataset']} | {row['task']} | {row['rows']:,} | {row['metric']} | {row['defaults']:.4f} | "
            f"{row['tuned']:.4f} | {row['tuned'] / row['defaults']:.3f} | {row['defaults_log_loss']:.4f} | "
            f"{row['tuned_log_loss']:.4f} | {row.get('trials', 0):.0f} ({row.get('completed', 0):.0f}) | "
            f"{_chosen(row)} | {row.get('validation_defaults', np.nan):.4f} -> "
            f"{row.get('validation_best', np.nan):.4f} | {row['tuned_fit_s']:.0f} ({row['tuned_fit_s'] / row['budget_s']:.0%}) |")
    lines += ["",
              "## Summary",
              "",
              "| figure | value |",
              "|---|---|",
              f"| tables | {len(ok)} of {len(results)} without error |",
              f"| mean tuned / defaults (primary) | {ratio.mean():.4f} |",
              f"| tuned at least as good as the defaults | {not_worse} of {len(ok)} |",
              f"| tuned better | {int((ok['tuned'] > ok['defaults']).sum())} of {len(ok)} |",
              f"| worst tuned / defaults | {ratio.min():.4f} ({ok.loc[ratio.idxmin(), 'dataset']}) |",
              f"| Wilcoxon signed-rank p (tables where they differ) | {p:.3f} |",
              f"| searches that kept the defaults (chosen trial 0, or none finished) | "
              f"{int((ok.get('best_trial', -1) <= 0).sum())} |",
              f"| median trials finished | {ok['completed'].median():.0f} |",
              f"| tuned fit time / budget: median, max | {over.median():.2f}, {over.max():.2f} "
              f"({ok.loc[over.idxmax(), 'dataset']}) |",
              f"| within 10% of the budget | {int((over <= 1.10).sum())} of {len(ok)} |",
              ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", help="comma-separated tune-half datasets (default: all of them)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help=f"seconds per table (default {BUDGET_S:g})")
    parser.add_argument("--jobs", type=int, default=1, help="tables run at once, one core each when above 1")
    args = parser.parse_args(argv)
    names = datasets.tune_half_names(args.datasets, quality.DATASETS)
    RESULTS.mkdir(exist_ok=True)
    csv = RESULTS / "tuning.csv"
    version = _version(args.budget)
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["dataset", "version"])
    done = done[(done["version"] == version) & done["dataset"].isin(names)]
    todo = sorted((n for n in names if n not in set(done["dataset"])), key=lambda n: -quality.task_cost(n, "automater"))
    threads = 1 if args.jobs > 1 else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(args.jobs, 1),
                                                mp_context=multiprocessing.get_context("spawn"),
                                                initializer=quality._worker_init if threads else None,
                                                initargs=(threads,) if threads else ()) as pool:
        futures = [pool.submit(_run, name, args.budget, threads) for name in todo]
        for future in concurrent.futures.as_completed(futures):
            row = pd.DataFrame([future.result()]).assign(version=version)
            done = pd.concat([done, row], ignore_index=True) if len(done) else row
            done.to_csv(csv, index=False, float_format="%.6g")  # after every table: a stopped run resumes
    command = "python benchmarks/tuning.py" + (f" --datasets {args.datasets}" if args.datasets else "") + (
        f" --budget {args.budget:g}" if args.budget != BUDGET_S else "") + (
        f" --jobs {args.jobs}" if args.jobs != 1 else "")
    write_report(done, RESULTS / "tuning.md", command, args.budget, _commit())
    print((RESULTS / "tuning.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
