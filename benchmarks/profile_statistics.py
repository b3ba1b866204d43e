"""Where the statistics pass spends its time: `Automater.prepare` against scikit-learn's `ColumnTransformer.fit`
on the synthetic frame of `speed.py`, in one process.

    python benchmarks/profile_statistics.py                     # 10k and 100k rows, then a profile at 100k
    python benchmarks/profile_statistics.py --sizes 10000,100000,1000000 --repeat 3 --profile 100000 --top 30
    python benchmarks/profile_statistics.py --fresh --sizes 10000,100000 --profile 0

Each size: prepare and the ColumnTransformer alternate, `--repeat` times each, and the fastest of each is reported
with their ratio (the issue's goal: at most 0.5). In one process (the default) both run warm: a first `prepare` on a
small frame has paid TensorFlow's and Keras's first-call costs. With `--fresh`, each run is `speed.py`'s own child
process (`--child stats_ours` or `stats_sklearn`), as `speed.md` measures them: cold, first calls included. Then
cProfile runs one warm `prepare` at `--profile` rows and prints the functions with the largest `--sort` time.
Alternating the two sides lets neighbours on a shared machine slow both alike.
"""

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import TARGET, column_transformer, synthetic  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=int, default=100000, help="rows for the profile; 0 for none")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--fresh", action="store_true", help="time each run in a fresh process, as speed.py does")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    how = "each run in a fresh process" if args.fresh else "warm, in this process"
    print(f"{'rows':>10} {'prepare s':>10} {'sklearn s':>10} {'ratio':>6}   ({how})")
    if args.fresh:
        for rows in sizes:
            times = {"stats_ours": [], "stats_sklearn": []}
            with tempfile.TemporaryDirectory() as work:
                for _ in range(args.repeat):
                    for task, seconds in times.items():
                        seconds.append(_child(task, rows, work))
            ours, theirs = min(times["stats_ours"]), min(times["stats_sklearn"])
            print(f"{rows:>10,} {ours:>10.3f} {theirs:>10.3f} {ours / theirs:>6.2f}", flush=True)
        sizes = []
    if not sizes and not args.profile:
        return
    from keras_defaults import Automater

    Automater(target=TARGET).prepare(synthetic(2000))  # imports and first-call costs, outside the timings
    for rows in sizes:
        frame = synthetic(rows)
        inputs = frame.drop(columns=[TARGET])
        ours, theirs = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            Automater(target=TARGET).prepare(frame)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            column_transformer().fit(inputs)
            theirs.append(time.perf_counter() - start)
        print(f"{rows:>10,} {min(ours):>10.3f} {min(theirs):>10.3f} {min(ours) / min(theirs):>6.2f}", flush=True)
    if args.profile:
        frame = synthetic(args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        Automater(target=TARGET).prepare(frame)
        profiler.disable()
        print(f"\ncProfile of Automater.prepare at {args.profile:,} rows, by {args.sort} time:")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


def _child(task, rows, work):
    """Seconds of one `speed.py --child` run."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "speed.py"), "--child", task,
                           "--rows", str(rows), "--work", work], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


if __name__ == "__main__":
    main()
