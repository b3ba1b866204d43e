"""Where the statistics pass spends its time: `Automater.prepare` against scikit-learn's `ColumnTransformer.fit`
on the synthetic frame of `speed.py`, in one process.

    python benchmarks/profile_statistics.py                     # 10k and 100k rows, then a profile at 100k
    python benchmarks/profile_statistics.py --sizes 10000,100000,1000000 --repeat 3 --profile 100000 --top 30

Each size: prepare and the ColumnTransformer alternate, `--repeat` times each, and the fastest of each is reported
with their ratio (the issue's goal: at most 0.5). Then cProfile runs one `prepare` at `--profile` rows and prints the
functions with the largest cumulative time. One process measures both sides, so neighbours on a shared machine slow
both alike; `speed.py` runs each in a fresh process, with memory.
"""

import argparse
import cProfile
import pstats
import sys
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
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from keras_defaults import Automater

    Automater(target=TARGET).prepare(synthetic(2000))  # imports and first-call costs, outside the timings
    print(f"{'rows':>10} {'prepare s':>10} {'sklearn s':>10} {'ratio':>6}")
    for rows in [int(s) for s in args.sizes.split(",") if s]:
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


if __name__ == "__main__":
    main()
