"""Ablations: which value of each default wins, on the TUNE half of the quality benchmark only.

Each variant is the default Automater with a few settings overridden (the same shape as a user's YAML file, merged
over defaults.yaml). The variants run on the tune half's datasets, on the same seeded splits as `quality.py`, and
their fold results go to the same cache (keyed by the overrides too), so an interrupted run resumes. The table
reports each variant's primary score (ROC-AUC, accuracy or R^2) and its ratio to HistGradientBoosting's on the same
splits (run, or read from the cache, alongside).

The check half is never used to choose: naming a check-half dataset is an error. Defaults are chosen on the tune half
and confirmed on the check half by `quality.py`, or, for a change that reaches a few check tables only (a size rule),
by `--check-step`: the variant a round's committed plan chose on the tune half, against the default, on those
check-half tables alone (and nothing of the tune half), with the plan's seeds.

Run: python benchmarks/ablations.py [--variants default,adamw,...] [--extra JSON] [--datasets a,b] [--jobs 2]
A code change that adds an option, off by default, leaves the default's scores as they were but changes the cache
key: `--variants '' --extra ... --default-from results/ablations_roundN.csv` compares with that run's default
instead of fitting it again (rounds 9 and 10 were made so).
`--paired`, for a change judged by its fit time: one worker fits every variant of a dataset fold after fold, the
variants' order turned each fold (A B, then B A, ...), so that each fold's variants are timed back to back beside
the same neighbour, and nothing is read from the cache. Unpaired, each (dataset, variant) is a task of its own, run
beside whatever the other worker runs then: on 2 cores one timing of a fold spreads by +-30% (round 32).
`--seeds N`: each fold fitted with the Automater's seeds 0..N-1 and the scores averaged over them. On a table of a
few hundred rows one seeded fit moves 2-4% between close settings (round 38); the mean of N seeds moves about
1/sqrt(N) of that, and `seed_sd` reports the seeds' spread per dataset.
Writes benchmarks/results/ablations.md and ablations.csv (with the sha256 of defaults.yaml they were made with).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (puts the repository root first on sys.path)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import baselines  # noqa: E402
import datasets  # noqa: E402
import report  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# name -> settings merged over defaults.yaml. "default" is the table as committed. Only overrides of settings that
# exist in defaults.yaml: a candidate that needs new code is not an ablation until the code exists.
VARIANTS = {
    "default": {},
    # optimizer
    "adamw_1e-4": {"optimizer": {"name": "adamw", "weight_decay": 0.0001}},
    "adamw_1e-2": {"optimizer": {"name": "adamw", "weight_decay": 0.01}},
    "lr_3e-4": {"optimizer": {"learning_rate": 0.0003}},
    "lr_3e-3": {"optimizer": {"learning_rate": 0.003}},
    # batch size
    "batch_64": {"training": {"batch_size": 64}},
    "batch_128": {"training": {"batch_size": 128}},
    "batch_512": {"training": {"batch_size": 512}},
    "batch_1024": {"training": {"batch_size": 1024}},
    # width / depth
    "narrow_2x64": {"body": {"units": [64, 64]}},
    "2x128": {"body": {"units": [128, 128]}},
    "2x512": {"body": {"units": [512, 512]}},
    "3x256": {"body": {"units": [256, 256, 256]}},
    "wide_3x512": {"body": {"units": [512, 512, 512]}},
    "1x256": {"body": {"units": [256]}},
    # regularisation
    "dropout_0": {"body": {"dropout": 0.0}},
    "dropout_0.2": {"body": {"dropout": 0.2}},
    "dropout_0.3": {"body": {"dropout": 0.3}},
    "batch_norm": {"body": {"batch_norm": True}},
    "label_smoothing_0.1": {"targets": {
        "boolean": {"loss": {"name": "binary_crossentropy", "label_smoothing": 0.1}},
        "categorical": {"loss": {"name": "categorical_crossentropy", "label_smoothing": 0.1}}}},
    # early stopping
    "patience_5": {"training": {"early_stopping": {"patience": 5}}},
    "patience_30": {"training": {"early_stopping": {"patience": 30}}},
    "val_split_0.1": {"training": {"validation_split": 0.1}},
    # inputs
    "no_smooth_clip": {"inputs": {"numerical": {"smooth_clip": False}}},
    "clip_scale_3": {"inputs": {"numerical": {"clip_scale": 3.0}}},
    "standard_scaling": {"inputs": {"numerical": {"scaling": "standard", "smooth_clip": False}}},
    "one_hot_max_32": {"inputs": {"categorical": {"one_hot_max_levels": 32}}},
    "embedding_max_16": {"inputs": {"categorical": {"embedding_max_dim": 16}}},
    "text_tokens_500": {"inputs": {"text": {"max_tokens": 500}}},
    "text_tokens_20000": {"inputs": {"text": {"max_tokens": 20000}}},
    "text_bigrams": {"inputs": {"text": {"ngrams": 2}}},
    "text_multi_hot": {"inputs": {"text": {"output_mode": "multi_hot"}}},
    "text_sublinear_l2": {"inputs": {"text": {"sublinear_tf": True, "normalize": "l2"}}},
    "text_sublinear_l2_10k": {"inputs": {"text": {"sublinear_tf": True, "normalize": "l2", "max_tokens": 10000}}},
    "ple_16": {"inputs": {"numerical": {"piecewise_linear_bins": 16}}},
    "codes_with_number": {"inputs": {"categorical": {"with_number": True}}},
    "periodic_embedding": {"body": {"numerical_embedding": "periodic"}},
    "reduce_lr_5": {"training": {"reduce_lr_patience": 5}},
    "ensemble_4": {"body": {"ensemble": 4}},
    "ensemble_8": {"body": {"ensemble": 8}},
    "ensemble_16": {"body": {"ensemble": 16}},
    # targets
    "log_target_auto": {"targets": {"numerical": {"log_transform": "auto"}}},
    "huber": {"targets": {"numerical": {"loss": "huber"}}},
    "class_weight_auto": {"training": {"class_weight": "auto"}},
}


def primary_metric(task: str) -> str:
    return quality.METRICS[task][0]


def check_tune_half(names: list[str]) -> None:
    halves = datasets.halves()
    check = [n for n in names if halves.get(n) != "tune"]
    if check:
        raise SystemExit(
            f"ablations run on the tune half only; not in it: {', '.join(check)} (halves: benchmarks/halves.csv). "
            "The check half confirms defaults chosen on the tune half and is never used to choose them.")


def check_check_half(names: list[str]) -> None:
    """--check-step confirms on the check half alone: a tune-half table there would mix the two halves' figures."""
    halves = datasets.halves()
    tune = [n for n in names if halves.get(n) != "check"]
    if tune:
        raise SystemExit(f"--check-step runs on check-half datasets only; not in it: {', '.join(tune)} "
                         "(halves: benchmarks/halves.csv). Name the check tables the round's plan names in --datasets.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variant names")
    parser.add_argument("--extra", help="JSON mapping name -> overrides, run as more variants")
    parser.add_argument("--datasets", help="comma list (default: the whole tune half)")
    parser.add_argument("--folds", type=int, help="folds for datasets under 3,000 rows (default 5, as quality.py)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--default-from", help="an earlier ablations CSV whose `default` rows (same datasets, same "
                        "folds) stand for the default instead of fitting it again: for a change that leaves the "
                        "default's behaviour as it was (the report names the file)")
    parser.add_argument("--paired", action="store_true", help="time the variants of each fold back to back in one "
                        "worker, their order turned each fold, none read from the cache (for fit-time rounds)")
    parser.add_argument("--seeds", type=int, default=1, help="the Automater's seeds 0..N-1 on every fold, scores "
                        "averaged over them (default 1: seed 0, as quality.py)")
    parser.add_argument("--check-step", action="store_true", help="confirm a variant chosen on the tune half on the "
                        "check-half datasets named in --datasets (only those), against the default")
    parser.add_argument("--out", help="output path without extension (default benchmarks/results/ablations; "
                        "required with --check-step)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be at least 1. Received: --seeds {args.seeds}")
    if args.check_step and not (args.datasets and args.out):
        raise SystemExit("--check-step needs --datasets (the check-half tables the round's plan names) and --out (a "
                         "file of its own, e.g. benchmarks/results/ablations_roundN_check).")
    args.out = args.out or str(RESULTS / "ablations")

    variants = {}
    for name in [v for v in args.variants.split(",") if v]:
        if name not in VARIANTS:
            raise SystemExit(f"unknown variant {name!r} (choose from {', '.join(VARIANTS)})")
        variants[name] = VARIANTS[name]
    if args.extra:
        variants.update(json.loads(args.extra))
    if args.default_from and "default" in variants:
        raise SystemExit("--default-from stands for the default: leave 'default' out of --variants.")
    if args.paired and (args.default_from or "default" not in variants):
        raise SystemExit("--paired times the variants against the default fitted beside them, fold by fold: give "
                         "'default' in --variants, and no --default-from.")
    if args.paired and args.seeds > 1:
        raise SystemExit("--paired times one fit a fold (seed 0); --seeds is for scores: run them apart.")
    halves = datasets.halves()
    names = args.datasets.split(",") if args.datasets else [n for n in datasets.DATASETS if halves.get(n) == "tune"]
    unknown = [n for n in names if n not in datasets.DATASETS]
    if unknown:
        raise SystemExit(f"unknown datasets: {', '.join(unknown)}")
    (check_check_half if args.check_step else check_tune_half)(names)
    # Read before anything is fitted, so that a file lacking a dataset fails at once.
    earlier = earlier_default(Path(args.default_from), names, args.seeds) if args.default_from else None
    seeds = [datasets.SEED + k for k in range(args.seeds)]

    started = time.perf_counter()
    log = lambda s: print(s, flush=True)  # noqa: E731
    reference = quality.run_all(names, [baselines.REFERENCE_MODEL], args.folds, args.jobs, log=log)
    rows = []
    paired = run_paired(names, variants, args.folds, args.jobs, log) if args.paired else None
    for variant, overrides in variants.items():
        if paired is not None:
            by_seed = {seeds[0]: paired[variant]}
        else:
            log(f"variant {variant}: {json.dumps(overrides)}")
            by_seed = {}
            for seed in seeds:
                if len(seeds) > 1:
                    log(f"  seed {seed}")
                by_seed[seed] = quality.run_all(names, ["automater"], args.folds, args.jobs,
                                                overrides=overrides or None, log=log, seed=seed)
        for name in names:
            task = datasets.DATASETS[name].task
            metric = primary_metric(task)
            ref = [r.metrics[metric] for r in reference if r.dataset == name and not r.error]
            ref_score = float(np.mean(ref)) if ref else float("nan")
            rows.append({"dataset": name, "task": task, "metric": metric, "variant": variant,
                         **seed_average(by_seed, name, metric), "hgb": ref_score})
            rows[-1]["vs_hgb"] = rows[-1]["score"] / ref_score if ref_score > 0 else float("nan")
    results = pd.DataFrame(rows)
    if earlier is not None:
        results = pd.concat([earlier, results], ignore_index=True)
        variants = {"default": {}, **variants}
    write(results, variants, Path(args.out), argv if argv is not None else sys.argv[1:],
          time.perf_counter() - started, check_step=args.check_step)


def seed_average(by_seed: dict[int, list], name: str, metric: str) -> dict:
    """One dataset's row from its fold results under each seed: the score (the mean over the seeds of each seed's
    mean over the folds), the seeds' spread (standard deviation of their means; 0 for one seed), the fit time of
    one seed's folds (their sum, averaged over the seeds: comparable with a one-seed run) and the failed folds."""
    scores, times, failed = [], [], 0
    for results in by_seed.values():
        ok = [r for r in results if r.dataset == name and not r.error]
        failed += sum(1 for r in results if r.dataset == name and r.error)
        if ok:
            scores.append(float(np.mean([r.metrics[metric] for r in ok])))
            times.append(float(sum(r.metrics.get("fit_s", 0.0) for r in ok)))
    return {"score": float(np.mean(scores)) if scores else float("nan"),
            "seeds": len(by_seed), "seed_sd": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
            "fit_s": float(np.mean(times)) if times else 0.0, "failed": failed}


def fold_order(variants: list[str], fold: int) -> list[str]:
    """The order the variants of fold `fold` are fitted in: turned by one each fold, so that no variant is always
    the first of its fold (the one that runs beside whatever the other worker was doing when the fold began)."""
    turn = fold % len(variants)
    return variants[turn:] + variants[:turn]


def paired_task(name: str, variants: dict, n_folds_small: int | None, threads: int | None) -> dict:
    """{variant: [FoldResult]} for one dataset: fold after fold, each fold's variants back to back (`fold_order`),
    fitted afresh (a cached result's time comes from another run) and written to the cache."""
    spec = quality.DATASETS[name]
    df, _ = quality.load(name)
    versions = {v: baselines.model_version("automater", o or None) for v, o in variants.items()}
    plans = {v: quality.fold_plan(name, "automater", n_folds_small, versions[v]) for v in variants}
    out = {v: [] for v in variants}
    for i, (fold, train_idx, test_idx, _) in enumerate(plans[next(iter(variants))]):
        for variant in fold_order(list(variants), i):
            result = quality.evaluate_fold("automater", spec, df, train_idx, test_idx, fold, threads,
                                           variants[variant] or None)
            result.version = versions[variant]
            quality.write_cached(plans[variant][i][3], result)
            out[variant].append(result)
    return out


def run_paired(names: list[str], variants: dict, n_folds_small: int | None, jobs: int, log=print) -> dict:
    """`paired_task` for every dataset, the costliest first, in `jobs` worker processes: {variant: [FoldResult]}."""
    order = sorted(names, key=lambda n: -quality.task_cost(n, "automater"))
    calls = [(name, {"name": name, "variants": variants, "n_folds_small": n_folds_small}) for name in order]
    out = {v: [] for v in variants}
    for name, found in quality.in_workers(paired_task, calls, jobs):
        if isinstance(found, Exception):  # a worker died (memory?): every variant's failure, as run_all records it
            found = {v: quality.worker_failure(name, "automater", found) for v in variants}
        for variant, results in found.items():
            out[variant] += results
        log(f"  {name:24s} paired: " + ", ".join(
            f"{v} {sum(r.metrics.get('fit_s', 0.0) for r in rs):.1f} s" for v, rs in found.items()))
    return out


def earlier_default(path: Path, names: list[str], seeds: int = 1) -> pd.DataFrame:
    """The `default` rows of an earlier run's CSV for `names`, every one of them there, fitted with as many seeds a
    fold (files from before --seeds have one)."""
    earlier = pd.read_csv(path)
    if "seeds" not in earlier.columns:
        earlier = earlier.assign(seeds=1, seed_sd=0.0)
    rows = earlier[(earlier["variant"] == "default") & earlier["dataset"].isin(names)]
    missing = sorted(set(names) - set(rows["dataset"]))
    if missing:
        raise SystemExit(f"{path} has no default row for {', '.join(missing)}: run the default (--variants default).")
    other = sorted(set(rows["seeds"].astype(int)) - {seeds})
    if other:
        raise SystemExit(f"{path}'s default was fitted with {other[0]} seed(s) a fold, this run with {seeds}: give "
                         f"--seeds {other[0]}, or fit the default again (--variants default).")
    return rows


def against_default(wide: pd.DataFrame) -> pd.DataFrame:
    """Each variant against the default, dataset by dataset: the mean ratio of their scores, how many datasets it
    wins and loses (by more than 0.1%), and a paired Wilcoxon signed-rank test of the ratios against 1."""
    from scipy.stats import wilcoxon

    rows = {}
    for variant in wide.columns:
        ratio = (wide[variant] / wide["default"]).replace([np.inf, -np.inf], np.nan).dropna()
        if variant == "default" or ratio.empty:
            continue
        differs = ratio[(ratio - 1).abs() > 1e-12]
        p = float(wilcoxon(differs - 1).pvalue) if len(differs) >= 2 else float("nan")
        rows[variant] = {"vs_default": float(ratio.mean()), "wins": int((ratio > 1.001).sum()),
                         "losses": int((ratio < 0.999).sum()), "wilcoxon_p": p}
    return pd.DataFrame.from_dict(rows, orient="index")


def seeds_sentence(results: pd.DataFrame) -> str:
    seeds = sorted(set(results["seeds"].astype(int))) if "seeds" in results.columns else [1]
    if seeds == [1]:
        return ""
    return (f"Each fold fitted with the Automater's seeds 0..{seeds[-1] - 1} and the scores averaged over them "
            "(`seed_sd` in the CSV: their spread per dataset). ")


def markdown(frame: pd.DataFrame) -> str:
    header = [frame.index.name or ""] + [str(c) for c in frame.columns]
    rows = [[str(i)] + [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
            for i, row in zip(frame.index, frame.itertuples(index=False))]
    return report.markdown_table(header, rows)


def write(results: pd.DataFrame, variants: dict, out: Path, argv, wall: float, check_step: bool = False) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    prov = report.provenance()
    results.to_csv(out.with_suffix(".csv"), index=False)
    wide = results.pivot(index="dataset", columns="variant", values="score")
    summary = results.groupby("variant").agg(mean_vs_hgb=("vs_hgb", "mean"), min_vs_hgb=("vs_hgb", "min"),
                                             fit_s=("fit_s", "sum"), failed=("failed", "sum"))
    summary["mean_rank"] = wide.rank(axis=1, ascending=False).mean()
    if "default" in wide.columns:
        summary = summary.join(against_default(wide))
        # Fit time against the default's: summed over every fold, and the median of the datasets' own ratios.
        times = results.pivot(index="dataset", columns="variant", values="fit_s")
        summary["time_vs_default"] = times.sum() / times["default"].sum()
        summary["median_dataset_time_vs_default"] = times.div(times["default"], axis=0).median()
    title = ("# Check step: a variant chosen on the tune half, on check-half datasets" if check_step
             else "# Ablations of the defaults (tune half only)")
    lines = [title, "", f"Command: `python benchmarks/ablations.py {' '.join(argv)}`", ""]
    lines += [f"- **{k}**: `{v}`" for k, v in prov.items()]
    lines += [f"- **wall time**: {wall:,.0f} s", "",
              "Scores: ROC-AUC (binary), accuracy (multiclass), R² (regression), mean over the folds of "
              "quality.py's protocol; `vs_hgb` divides by HistGradientBoosting's score on the same splits. "
              + seeds_sentence(results)
              + ("Check-half datasets only: this run confirms a choice made on the tune half, and chooses nothing."
                 if check_step else "Tune-half datasets only; the check half confirms in quality.py."), "",
              "## Variants", ""]
    lines += [f"- `{k}`: `{json.dumps(v)}`" for k, v in variants.items()]
    lines += ["", "## Summary", "", markdown(summary.sort_values("mean_vs_hgb", ascending=False)), "",
              "## Score per dataset", "", markdown(wide), ""]
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
