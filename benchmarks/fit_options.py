"""Fit time: Keras and TensorFlow options that could make a default fit faster on a CPU, side by side in one run.

Issue 17 lists candidates for a default fit's time (a median of about 20-28 x HistGradientBoosting's on the quality
benchmark): XLA compilation (`jit_compile`), several steps per call of the training function
(`steps_per_execution`), and, on CPUs with bfloat16 instructions, Keras's `mixed_bfloat16` policy. None is a setting
of this package, so each variant sets it on every model `compile`s for the whole fit (the default Automater
otherwise); `validation_per_batch` is this package's validation pipeline as it was before it was gathered once.
Each variant fits the first fold of quality.py's splits of a few small TUNE-half tables, in its own process, the
variants in turn table by table so that a noisy neighbour slows all of them alike; the table reports the fit time,
its ratio to the default's, the epochs early stopping ran and the primary score on the fold's test rows.

    python benchmarks/fit_options.py                       # wine, oj, nhefs, default
    python benchmarks/fit_options.py --datasets wine,oj --repeat 2

Writes benchmarks/results/fit_options.md and fit_options.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))  # the benchmarks' modules: quality, ablations, report

VARIANTS = {
    "default": {},
    "jit_compile": {"jit_compile": True},
    "steps_per_execution_4": {"steps_per_execution": 4},
    "mixed_bfloat16": {"policy": "mixed_bfloat16"},
    # Not an option: the validation pipeline as it was before 39cb52a (its batches gathered from the cached features
    # batch by batch, through an autotuned tf.data pipeline, of which Keras makes a new iterator every epoch), to
    # measure what gathering them once into a plain pipeline saves. The same batches: the same fit.
    "validation_per_batch": {"validation": "per_batch"},
}


def child(name: str, variant: str) -> dict:
    """One fit of `variant` on the first fold of `name`, in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import quality  # noqa: E402  (puts the repository root first on sys.path)

    import keras

    from keras_defaults import Automater

    options = dict(VARIANTS[variant])
    if options.pop("validation", None) == "per_batch":
        from keras_defaults import feeding

        feeding._gathered_bytes = lambda arrays, rows: float("inf")  # never small enough to gather once
    if "policy" in options:
        keras.mixed_precision.set_global_policy(options.pop("policy"))
    if options:
        compile_ = keras.Model.compile

        def compile_with_options(self, *args, **kwargs):
            return compile_(self, *args, **{**kwargs, **options})

        keras.Model.compile = compile_with_options
    spec = quality.DATASETS[name]
    df, _ = quality.load(name)
    train, test = quality.make_splits(df, spec.target, spec.task)[0]
    auto = Automater(target=spec.target, seed=0, verbose=0)
    started = time.perf_counter()
    auto.fit(df.iloc[train])
    seconds = time.perf_counter() - started
    metric = quality.METRICS[spec.task][0]
    return {"dataset": name, "variant": variant, "seconds": seconds, "epochs": len(auto.history_["loss"]),
            "refit_epochs": auto.refit_epochs_ or 0, "metric": metric,
            "score": float(auto.evaluate(df.iloc[test])[metric])}


def write_report(frame, out: Path, arguments: str, repeat: int) -> None:
    """fit_options.md from the runs' rows: each table's variants, means over the repeats."""
    mean = frame.groupby(["dataset", "variant", "metric"], sort=False)[
        ["seconds", "epochs", "refit_epochs", "score"]].mean().reset_index("metric")
    import report  # noqa: E402

    command = f"python benchmarks/fit_options.py {arguments}".rstrip()
    lines = ["# Fit time: Keras and TensorFlow options on a CPU", "",
             *[f"- **{key}**: `{value}`" for key, value in report.provenance().items()], "",
             f"Command: `{command}`; {os.cpu_count()} CPU cores. The default Automater on the first fold of "
             f"quality.py's splits of TUNE-half tables, each fit in its own process, the variants in turn; {repeat} "
             "run(s) each (means). 'x default': the variant's fit time over the default's on the same table; the "
             "score is the table's primary metric on the fold's test rows.", "",
             "| dataset | variant | fit (s) | x default | epochs + refit | score |", "|---|---|---:|---:|---:|---:|"]
    for (name, variant), row in mean.iterrows():
        base = mean.loc[(name, "default"), "seconds"] if (name, "default") in mean.index else float("nan")
        lines.append(f"| {name} | {variant} | {row.seconds:.1f} | {row.seconds / base:.2f} | "
                     f"{row.epochs:.0f} + {row.refit_epochs:.0f} | {row.metric} {row.score:.4f} |")
    (out / "fit_options.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="wine,oj,nhefs,default")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, variant = args.child.split(":")
        print(json.dumps(child(name, variant)))
        return
    import ablations  # noqa: E402

    import pandas as pd

    names, variants = args.datasets.split(","), args.variants.split(",")
    ablations.check_tune_half(names)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"Expected variants among {sorted(VARIANTS)}. Received: {unknown}.")
    rows = []
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    for name in names:
        for repeat in range(args.repeat):
            for variant in variants:
                done = subprocess.run([sys.executable, __file__, "--child", f"{name}:{variant}"], env=env,
                                      capture_output=True, text=True, timeout=1800)
                if done.returncode:
                    raise SystemExit(f"{name}:{variant} failed:\n{done.stderr[-3000:]}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append({**row, "repeat": repeat})
                print(f"{name:>10} {variant:>22}  {row['seconds']:7.1f} s  {row['epochs']:>3} + "
                      f"{row['refit_epochs']:>3} epochs  {row['metric']} {row['score']:.4f}", flush=True)
    frame = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "fit_options.csv", index=False)
    write_report(frame, out, " ".join(argv if argv is not None else sys.argv[1:]), args.repeat)
    print(f"\nWrote {out / 'fit_options.md'} and {out / 'fit_options.csv'}")


if __name__ == "__main__":
    main()
