"""Where the exported SavedModel's serving time goes, and how fast it serves.

    python benchmarks/profile_serving.py                       # 20k rows of speed.py's frame, results printed
    python benchmarks/profile_serving.py --baseline <commit>   # also the SavedModel as <commit>'s code exports it,
                                                               # timed alternately with this tree's
    python benchmarks/profile_serving.py --variant 'units_128={"body": {"units": [128, 128]}}' \
        --out benchmarks/results/serving_units_128.md          # also an Automater fitted with these settings,
                                                               # timed alternately with the defaults' export

Fits a small Automater (a couple of epochs: the preprocessing, not the network, is what this looks at) on the
synthetic frame of `benchmarks/speed.py`, exports its SavedModel, then:
- in a fresh process that imports TensorFlow alone (keras_defaults never imported), runs `serving_default` as a
  server does: requests of 4,096 rows from tensors decoded beforehand (what TF Serving hands the graph), and the same
  with the conversion of numpy columns to tensors inside the timing (what `speed.py`'s `serve_tf` times); and the
  latency of one-row requests (median and 99th percentile of 200, after warm-ups). With `--baseline`, the two
  exports are timed alternately in the same process, round after round, and the ratios reported;
- in this process, the cost of each part of the graph: each input column's preprocessing alone (rebuilt from its
  statistics, which is all the preprocessing holds), the preprocessor as a whole, and the network on encoded
  features, each a `tf.function` with a fixed input signature, on 4,096 rows and on one.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCH = 4096
LATENCY_CALLS = 200


# ---------------------------------------------------------------------------------------------------- the child
def serve_child(exports, raw_path, rows, rounds):
    """TensorFlow alone: time each SavedModel in `exports`, alternating, `rounds` times. Prints a JSON line."""
    import tensorflow as tf

    with np.load(raw_path) as arrays:  # strings as fixed-width unicode, numbers as float32
        raw = {name: arrays[name][:rows] for name in arrays.files}
    rows = len(next(iter(raw.values())))
    # Tensors as a server decodes them from a request: built once, outside the timing.
    batches = [{name: tf.constant(values[begin:begin + BATCH]) for name, values in raw.items()}
               for begin in range(0, rows, BATCH)]
    singles = [{name: tf.constant(values[i:i + 1]) for name, values in raw.items()} for i in range(LATENCY_CALLS)]
    served = {label: tf.saved_model.load(path).signatures["serving_default"] for label, path in exports.items()}
    # The floor: a signature with the same arguments that does no work (one identity), saved and loaded alike. What
    # it costs is the Python call of a signature, which a server outside Python (TF Serving) does not pay.
    floor = tf.Module()
    floor.serve = tf.function(lambda **columns: {"out": tf.identity(columns[sorted(columns)[0]])},
                              input_signature=None)
    specs = {name: tf.TensorSpec([None], tf.as_dtype(tensor.dtype), name=name)
             for name, tensor in batches[0].items()}
    concrete = floor.serve.get_concrete_function(**specs)
    floor_path = os.path.join(os.path.dirname(raw_path), "floor")
    tf.saved_model.save(floor, floor_path, signatures={"serving_default": concrete})
    served["no-op floor"] = tf.saved_model.load(floor_path).signatures["serving_default"]
    for serve in served.values():  # warm-up
        for request in batches[:2] + singles[:20]:
            serve(**request)
    figures = {label: {"batch": [], "batch_converted": [], "one": [], "one_converted": []} for label in served}
    for _ in range(rounds):
        for label, serve in served.items():
            start = time.perf_counter()
            for request in batches:
                serve(**request)
            figures[label]["batch"].append(rows / (time.perf_counter() - start))
            start = time.perf_counter()
            for begin in range(0, rows, BATCH):
                serve(**{name: tf.constant(values[begin:begin + BATCH]) for name, values in raw.items()})
            figures[label]["batch_converted"].append(rows / (time.perf_counter() - start))
            for request in singles:
                start = time.perf_counter()
                serve(**request)
                figures[label]["one"].append(time.perf_counter() - start)
            for i in range(LATENCY_CALLS):
                start = time.perf_counter()
                serve(**{name: tf.constant(values[i:i + 1]) for name, values in raw.items()})
                figures[label]["one_converted"].append(time.perf_counter() - start)
    # Paired: request by request, each export in turn on the same request, so that both see the same neighbours.
    def paired_times(requests):
        times = {label: [] for label in exports}
        for _ in range(rounds):
            for request in requests:
                for label in exports:
                    start = time.perf_counter()
                    served[label](**request)
                    times[label].append(time.perf_counter() - start)
        return times

    paired, paired_one = paired_times(batches), paired_times(singles)
    result = {}
    for label, found in figures.items():
        result[label] = {
            # The best round of throughput (the others measure the neighbours on a shared machine), and the median.
            "rows_per_s": max(found["batch"]), "rows_per_s_median": float(np.median(found["batch"])),
            "rows_per_s_converted": max(found["batch_converted"]),
            "rows_per_s_converted_median": float(np.median(found["batch_converted"])),
            "latency_ms": 1000 * float(np.median(found["one"])),
            "p99_ms": 1000 * float(np.quantile(found["one"], 0.99)),
            "latency_converted_ms": 1000 * float(np.median(found["one_converted"])),
            "rounds_rows_per_s": [round(r) for r in found["batch"]],
        }
    for label, times in paired.items():
        result[label]["paired_rows_per_s"] = BATCH / float(np.median(times))
        result[label]["paired_ratio_to_first"] = float(np.median(np.array(paired[next(iter(paired))]) / times))
        result[label]["paired_latency_ms"] = 1000 * float(np.median(paired_one[label]))
    for label, serve in served.items():  # the graph's size: ops of the signature and every function it calls
        graph = serve.graph.as_graph_def()
        result[label]["ops"] = len(graph.node) + sum(len(f.node_def) for f in graph.library.function)
    result["imports_package"] = "keras_defaults" in sys.modules
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------------- the parent
def fit_and_export(rows, epochs, work, overrides=None, name="serving"):
    """Fit an Automater on speed.py's frame (`overrides` deep-merged over the short training's settings), save it
    and export its SavedModel to `work / name`; the raw columns go to `work / raw.npz`."""
    import warnings

    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from speed import TARGET, synthetic

    from keras_defaults import Automater
    from keras_defaults.columns import raw_arrays

    frame = synthetic(rows)
    short_training = {"training": {"epochs": epochs, "validation_split": 0.0}}
    # Layered as a user's files are (deep-merged, the later one winning): the variant's settings over the short fit's.
    auto = Automater(target=TARGET, config=[short_training, overrides or {}], seed=0, verbose=0).fit(frame)
    if name == "serving":  # the defaults' Automater: what --baseline exports with another commit's code
        auto.save(work / "automater")
    auto.export(work / name, format="tf_saved_model")
    signature = json.loads((work / name / "keras_defaults_signature.json").read_text())
    raw = raw_arrays(frame, auto.inputs_)
    np.savez(work / "raw.npz", **{signature["inputs"][k]["argument"]: (v.astype(str) if v.dtype == object else v)
                                  for k, v in raw.items()})
    return auto, frame


def export_baseline(commit, work):
    """The SavedModel as `commit`'s code exports the same saved Automater, in a process of its own."""
    code = work / "baseline_code"
    code.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "keras_defaults", "defaults.yaml"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    script = ("import sys; from keras_defaults import Automater; "
              "Automater.load(sys.argv[1]).export(sys.argv[2], format='tf_saved_model')")
    subprocess.run([sys.executable, "-c", script, str(work / "automater"), str(work / "serving_baseline")],
                   env={**os.environ, "PYTHONPATH": str(code), "TF_CPP_MIN_LOG_LEVEL": "3"}, check=True,
                   cwd=code)  # `python -c` puts the working folder first on the path: this tree's package
    return work / "serving_baseline"


def timed(function, arguments, repeats):
    """The fastest of `repeats` calls' seconds (after one warm-up call)."""
    function(arguments)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(arguments)
        best = min(best, time.perf_counter() - start)
    return best


def parse_variant(text):
    """`NAME=JSON` -> (name, settings): an Automater fitted with these settings, exported and timed beside the
    defaults' (e.g. `units_128={"body": {"units": [128, 128]}}`)."""
    name, sep, settings = text.partition("=")
    if not sep or not name.isidentifier():
        raise SystemExit(f"--variant takes NAME=JSON, a name of letters, digits and underscores. Received: {text!r}.")
    try:
        parsed = json.loads(settings)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--variant {name}: the settings are not JSON ({error}). Received: {settings!r}.")
    if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
        raise SystemExit(f"--variant {name}: expected settings by section, e.g. "
                         f"{{\"body\": {{\"units\": [128, 128]}}}}. Received: {settings!r}.")
    return name, parsed


def subgraph_costs(auto, frame):
    """Seconds for 4,096 rows and for one row of each column's preprocessing, the preprocessor, the network and
    the whole served model, each traced once with a fixed input signature."""
    import tensorflow as tf

    from keras_defaults.columns import raw_tensors
    from keras_defaults.model import build_preprocessor

    raw = raw_tensors(frame.iloc[:BATCH], auto.inputs_)
    one = {name: tensor[:1] for name, tensor in raw.items()}

    def spec_of(tensors):
        return {name: tf.TensorSpec([None], tensor.dtype) for name, tensor in tensors.items()}

    def cost(model, names):
        function = tf.function(lambda x: model(x, training=False),
                               input_signature=[spec_of({n: raw[n] for n in names})])
        big = {n: raw[n] for n in names}
        small = {n: one[n] for n in names}
        return timed(function, big, 20), timed(function, small, 100)

    rows = []
    for name, spec in auto.inputs_.items():
        model = build_preprocessor({name: spec})
        rows.append((f"{name} ({spec.kind})", *cost(model, [name])))
    by_kind = {}
    for name, spec in auto.inputs_.items():
        by_kind.setdefault(spec.kind, []).append(name)
    for kind, names in by_kind.items():
        model = build_preprocessor({n: auto.inputs_[n] for n in names})
        rows.append((f"all {kind} columns ({len(names)})", *cost(model, names)))
    rows.append(("preprocessor, all columns", *cost(auto.preprocessor_, list(raw))))
    encoded = auto.preprocessor_(raw)
    encoded_one = {k: v[:1] for k, v in encoded.items()}
    network = auto.network_
    function = tf.function(lambda x: network(x, training=False),
                           input_signature=[{k: tf.TensorSpec([None, *v.shape[1:]], v.dtype)
                                             for k, v in encoded.items()}])
    rows.append(("network on encoded features", timed(function, encoded, 20), timed(function, encoded_one, 100)))
    rows.append(("served model (preprocessor + network)", *cost(auto.model_, list(raw))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds in the serving child")
    parser.add_argument("--baseline", help="a commit whose export to time against this tree's")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="also fit with these settings, export, and time it beside the defaults (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the report to this Markdown file")
    parser.add_argument("--no-subgraphs", action="store_true", help="skip the per-part costs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--exports", help=argparse.SUPPRESS)
    parser.add_argument("--raw", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return serve_child(json.loads(args.exports), args.raw, args.rows, args.rounds)
    variants = dict(parse_variant(text) for text in args.variant)
    work = Path(tempfile.mkdtemp(prefix="profile_serving_"))
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    try:
        auto, frame = fit_and_export(args.rows, args.epochs, work)
        exports = {"this tree": str(work / "serving")}
        fitted = {"this tree": auto}
        for name, settings in variants.items():
            fitted[name], _ = fit_and_export(args.rows, args.epochs, work, settings, f"serving_{name}")
            exports[name] = str(work / f"serving_{name}")
        if args.baseline:
            exports = {"baseline": str(export_baseline(args.baseline, work)), **exports}
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": ""}
        done = subprocess.run([sys.executable, __file__, "--child", "--exports", json.dumps(exports), "--raw",
                               str(work / "raw.npz"), "--rows", str(args.rows), "--rounds", str(args.rounds)],
                              env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-4000:])
        served = json.loads(done.stdout.strip().splitlines()[-1])
        imported = served.pop("imports_package")
        say(f"SavedModel serving_default, TensorFlow alone (keras_defaults imported: {imported}),"
            f" {args.rows:,} rows, best of {args.rounds} alternating rounds (median in brackets):")
        say(f"{'export':12s} {'rows/s, tensors':>22s} {'rows/s, numpy->tensor':>24s} {'1 row ms':>9s} "
            f"{'p99 ms':>7s} {'1 row ms, converted':>20s} {'graph ops':>10s}")
        for label, figures in served.items():
            say(f"{label:12s} {figures['rows_per_s']:>10,.0f} ({figures['rows_per_s_median']:>9,.0f}) "
                f"{figures['rows_per_s_converted']:>11,.0f} ({figures['rows_per_s_converted_median']:>9,.0f}) "
                f"{figures['latency_ms']:9.2f} {figures['p99_ms']:7.2f} {figures['latency_converted_ms']:20.2f} "
                f"{figures['ops']:10,}")
        for name in variants:
            old, new = served["this tree"], served[name]
            say(f"{name} / the defaults: rows/s {new['rows_per_s'] / old['rows_per_s']:.2f} (median "
                f"{new['rows_per_s_median'] / old['rows_per_s_median']:.2f}; paired, request by request "
                f"{new['paired_rows_per_s'] / old['paired_rows_per_s']:.2f}), one-row latency "
                f"{new['latency_ms'] / old['latency_ms']:.2f} (paired {new['paired_latency_ms'] / old['paired_latency_ms']:.2f})")
        if args.baseline and "baseline" in served:
            old, new = served["baseline"], served["this tree"]
            say(f"paired, request by request (median): baseline {old['paired_rows_per_s']:,.0f} rows/s, this tree "
                f"{new['paired_rows_per_s']:,.0f} rows/s; median of the per-request speed-ups "
                f"{new['paired_ratio_to_first']:.2f}; one-row latency, call by call (median): baseline "
                f"{old['paired_latency_ms']:.3f} ms, this tree {new['paired_latency_ms']:.3f} ms")
            say(f"ratios this tree / baseline: rows/s {new['rows_per_s'] / old['rows_per_s']:.2f} "
                f"(median {new['rows_per_s_median'] / old['rows_per_s_median']:.2f}), one-row latency "
                f"{new['latency_ms'] / old['latency_ms']:.2f}")
        print(json.dumps(served))
        if not args.no_subgraphs:
            for name, fitted_auto in fitted.items():
                label = "the defaults" if name == "this tree" else name
                say(f"\nCost of each part ({label}), in this process (tf.function, fixed signature; fastest of "
                    f"repeats):")
                say(f"{'part':48s} {'ms / 4,096 rows':>16s} {'rows/s':>10s} {'ms / 1 row':>11s}")
                for part, big, small in subgraph_costs(fitted_auto, frame):
                    say(f"{part:48s} {1000 * big:16.2f} {BATCH / big:10,.0f} {1000 * small:11.3f}")
        if args.out:
            write_report(args, variants, lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_report(args, variants, lines):
    """The printed report as a Markdown file, with the command, the commit and the machine."""
    import platform

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "keras_defaults", "defaults.yaml"],
                           capture_output=True, text=True).stdout.strip()
    command = "python benchmarks/profile_serving.py " + " ".join(
        [f"--rows {args.rows}", f"--epochs {args.epochs}", f"--rounds {args.rounds}"]
        + [f"--variant '{name}={json.dumps(settings)}'" for name, settings in variants.items()]
        + ([f"--baseline {args.baseline}"] if args.baseline else []) + [f"--out {args.out}"])
    text = (f"# Serving profile\n\nCommand: `{command}`\n\n- **git commit**: `{commit}`"
            f"{' (package files changed since)' if dirty else ''}\n- **machine**: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}\n\nThe defaults' Automater (`this tree`) and each "
            f"variant are fitted for {args.epochs} epochs on {args.rows:,} rows of speed.py's frame and exported; the "
            f"SavedModels are timed alternately in one process that imports TensorFlow alone.\n\n```\n"
            + "\n".join(lines).strip() + "\n```\n")
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
