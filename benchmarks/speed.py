"""Speed and memory of keras_defaults on one machine, against the same work done without it.

    python benchmarks/speed.py                      # 10k, 100k and 1M rows, then 10M rows streamed from files
    python benchmarks/speed.py --quick              # small sizes, a minute or two, results in a temporary folder
    python benchmarks/speed.py --sizes 10000,100000 --stream-rows 0

On synthetic mixed-type frames of 30 columns (numbers, low- and high-cardinality labels, booleans, short text, with
missing values), for each size:
- the statistics pass (kinds, vocabularies, quantiles: `Automater.prepare`) against scikit-learn's
  `ColumnTransformer` fitting the equivalent encoders, given the column kinds by hand;
- the time of an epoch of `Automater.fit` against the same Keras network trained on already-encoded numpy arrays
  (the ratio is the library's overhead), epochs after the first, timed by a Keras callback;
- prediction throughput of `Automater.predict` and of the exported `.keras` model, and the exported SavedModel's
  serving signature run by TensorFlow alone, as a server would (tensors decoded before the timing; also with the
  numpy columns converted inside it): throughput in requests of 4,096 rows and the latency of one-row requests;
- the peak memory of each, as the peak resident set size (`VmHWM`) of a process that does only that measurement.
Then a streaming run: fit and predict on Parquet files of `--stream-rows` rows, with peak memory.

Each measurement runs in a fresh process (`--child`), so that timings and peaks do not leak into one another.
Results: `speed.md` (tables with ratios and goals) and `speed.csv` in `--out` (default `benchmarks/results`).
"""

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TARGET = "target"
EPOCHS = 4
PREDICT_BATCH = 8192
SERVE_BATCH = 4096  # rows per request in the serving throughput
LATENCY_REQUESTS = 200  # one-row requests timed for the latency
STATS_RUNS = 3  # fresh processes for each side of the statistics pass, alternating: the figure is their median
FEEDING_RUNS = 3  # the same for a cached and a streamed fit, at one size
TEXT_WORDS = 200  # distinct words per text column: a short-text vocabulary that stays below max_tokens


# ---------------------------------------------------------------------------------------------------- the data
def synthetic(rows, seed=0):
    """30 input columns of every kind, with missing values, and a binary target that depends on a few of them."""
    rng = np.random.default_rng(seed)
    columns = {}
    for i in range(10):
        values = rng.normal(size=rows) if i % 2 else rng.lognormal(size=rows)
        values[rng.random(rows) < 0.02 + 0.01 * i] = np.nan
        columns[f"num_{i}"] = values
    columns["count_0"] = rng.poisson(30, rows)
    columns["count_1"] = rng.negative_binomial(2, 0.01, rows)
    columns["amount"] = np.round(rng.pareto(2.0, rows) * 100, 2)
    for i in range(6):
        levels = np.array([f"level_{i}_{k}" for k in range(3 + i)], dtype=object)
        values = levels[rng.integers(0, len(levels), rows)]
        values[rng.random(rows) < 0.05] = None
        columns[f"cat_low_{i}"] = values
    for i, n in enumerate([300, 1000, 3000, 20000]):
        levels = np.array([f"item_{i}_{k}" for k in range(n)], dtype=object)
        values = levels[np.minimum(rng.zipf(1.3, rows) - 1, n - 1)]
        values[rng.random(rows) < 0.03] = None
        columns[f"cat_high_{i}"] = values
    columns["code"] = pd.array(rng.integers(1, 6, rows), dtype="Int64")
    columns["flag"] = rng.random(rows) < 0.3
    yes_no = np.where(rng.random(rows) < 0.5, "yes", "no").astype(object)
    yes_no[rng.random(rows) < 0.05] = None
    columns["yes_no"] = yes_no
    opt_in = pd.array(rng.random(rows) < 0.6, dtype="boolean")
    opt_in[rng.random(rows) < 0.05] = pd.NA
    columns["opt_in"] = opt_in
    columns["is_new"] = rng.integers(0, 2, rows)
    words = np.array([f"w{k}" for k in range(TEXT_WORDS)], dtype=object)
    for i in range(2):
        lengths = rng.integers(3, 9, rows)
        tokens = words[np.minimum(rng.zipf(1.5, lengths.sum()) - 1, TEXT_WORDS - 1)]
        values = np.array([" ".join(t) for t in np.split(tokens, np.cumsum(lengths)[:-1])], dtype=object)
        values[rng.random(rows) < 0.05] = None
        columns[f"text_{i}"] = values
    frame = pd.DataFrame(columns)
    score = (np.nan_to_num(frame["num_1"]) + (frame["cat_low_2"] == "level_2_1") + 0.5 * frame["flag"]
             + np.log1p(frame["amount"]) / 5 + rng.normal(size=rows))
    frame[TARGET] = np.where(score > 0.8, "yes", "no")
    return frame


KINDS = {  # what a scikit-learn user would declare by hand
    "numerical": [f"num_{i}" for i in range(10)] + ["count_0", "count_1", "amount"],
    "categorical_low": [f"cat_low_{i}" for i in range(6)] + ["code"],
    "categorical_high": [f"cat_high_{i}" for i in range(4)],
    "boolean": ["flag", "yes_no", "opt_in", "is_new"],
    "text": ["text_0", "text_1"],
}


def column_transformer():
    """The scikit-learn equivalent of the Automater's encoders."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, RobustScaler

    def as_strings():  # labels with missing values, as the encoders below need them
        return FunctionTransformer(lambda frame: frame.astype(object).fillna("").astype(str))

    parts = [
        ("numerical", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), RobustScaler()),
         KINDS["numerical"]),
        ("categorical_low", make_pipeline(as_strings(), OneHotEncoder(handle_unknown="ignore")),
         KINDS["categorical_low"]),
        ("categorical_high", make_pipeline(as_strings(), OrdinalEncoder(handle_unknown="use_encoded_value",
                                                                        unknown_value=-1, max_categories=1000)),
         KINDS["categorical_high"]),
        ("boolean", make_pipeline(as_strings(), OneHotEncoder(handle_unknown="ignore")), KINDS["boolean"]),
    ]
    for column in KINDS["text"]:
        parts.append((column, make_pipeline(as_strings(), FunctionTransformer(np.ravel),
                                            TfidfVectorizer(max_features=2000)), [column]))
    return ColumnTransformer(parts)


# ------------------------------------------------------------------------------------------ fit time vs trees
RESULTS = ROOT / "benchmarks" / "results"
FIT_TIME_GOAL = 10  # issue 17: a default fit's median time on the quality benchmark, x HistGradientBoosting's

# What was tried to fit faster, each measured on the tune half against the defaults of its day: (what, results file,
# the candidate's variant, the variant it is compared with, what was decided). The figures are computed from the
# committed results files; only the decision is written here.
FIT_TIME_CANDIDATES = [
    ("batch of 64 under 3,000 rows", "ablations_round11c.csv", "batch_64", "default", "not kept (within noise)"),
    ("body 2 x 128 instead of 2 x 256", "ablations_round28.csv", "units_128", "default",
     "kept from 3,000 training rows (round 29), not below (wine -1.7%)"),
    ("batch of 32 under 700 rows (3 seeds a fold)", "ablations_round39.csv", "batch_32", "default",
     "kept below 700 training rows (round 39: check half's eight small tables +3.7%)"),
    ("validation split 0.3 under 700 rows (3 seeds a fold)", "ablations_round41.csv", "val_0.3", "default",
     "not kept (round 42: check half's eight small tables -0.7%, nba_wage -5.4%)"),
    ("learning rate 3e-3", "ablations_round30.csv", "lr_3e-3", "default", "not kept (wage -3.7%)"),
    ("learning rate 2e-3", "ablations_round30.csv", "lr_2e-3", "default", "not kept (wage -1.7%)"),
    ("early-stopping patience 10", "ablations_round30.csv", "patience_10", "default", "not kept (saves 6%)"),
    ("2 ensemble members from 3,000 rows", "ablations_round31.csv", "ens2", "default", "not kept (wage -2.8%)"),
    ("body 2 x 64 from 3,000 rows", "ablations_round31.csv", "units_64", "default", "not kept (storms -2.0%)"),
    ("no metrics while training", "ablations_round32.csv", "default", "epoch_metrics_on",
     "not kept: an option (training.epoch_metrics: false), short of 0.95 x the time"),
    ("refit from the stopped network, 1/4 of the epochs", "ablations_round33.csv", "refit_stopped_25", "default",
     "not kept: an option (training.refit_start, refit_fraction; bikeshare -1.5%)"),
    ("refit from the stopped network, 1/2 of the epochs", "ablations_round33.csv", "refit_stopped_50", "default",
     "not kept"),
    ("no dropout", "ablations_round34.csv", "dropout_0", "default", "not kept (wage -1.1%)"),
    ("XLA (jit_compile)", "fit_options.csv", "jit_compile", "default", "not kept (slower on CPU)"),
    ("steps_per_execution 4", "fit_options.csv", "steps_per_execution_4", "default",
     "not kept (changes the training)"),
    ("mixed_bfloat16", "fit_options.csv", "mixed_bfloat16", "default", "not kept (changes early stopping)"),
    ("validation over an autotuned pipeline (before 39cb52a)", "fit_options.csv", "validation_per_batch",
     "default", "replaced by the plain validation pipeline"),
]


def median_fit_time_vs_trees(folds):
    """Each half's median over its tables of the Automater's mean fit time over folds / HistGradientBoosting's, as
    quality.md computes it."""
    mean = folds[folds.model.isin(["automater", "hgb"])].groupby(["half", "dataset", "model"]).fit_s.mean().unstack()
    ratio = mean["automater"] / mean["hgb"]
    return ratio.groupby(level="half").median(), ratio.groupby(level="half").size()


def candidate_figures(frame, variant, baseline):
    """A candidate against its baseline over the tables both have: its total fit time over theirs, the median
    table's time ratio, the mean score ratio, and the table it loses most on."""
    time_column = "fit_s" if "fit_s" in frame else "seconds"
    mean = frame[frame.variant.isin([variant, baseline])].groupby(["dataset", "variant"])[
        [time_column, "score"]].mean().unstack()
    mean = mean.dropna()
    seconds, score = mean[time_column], mean["score"]
    ratio = score[variant] / score[baseline]
    worst = ratio.idxmin()
    return {"tables": len(mean), "time": seconds[variant].sum() / seconds[baseline].sum(),
            "median_time": float((seconds[variant] / seconds[baseline]).median()), "score": float(ratio.mean()),
            "worst": f"{worst} {100 * (ratio[worst] - 1):+.1f}%" if ratio[worst] < 0.9995 else "none"}


def fit_time_section(results=RESULTS):
    """speed.md's lines on fit time against trees, from the committed quality and ablation results."""
    folds = pd.read_csv(results / "quality_folds.csv")
    medians, tables = median_fit_time_vs_trees(folds)
    lines = [
        "",
        "## Fit time against HistGradientBoosting",
        "",
        f"A default fit's median time on the quality benchmark, x HistGradientBoosting's on the same folds (goal: "
        f"at most {FIT_TIME_GOAL} x), from the committed `quality_folds.csv` (its notes say on which machines each "
        f"model was timed), then what was tried to bring it down. Each candidate ran on the tune half (or the "
        f"tables its results file names) against the defaults of its day: its fit time over theirs (all tables "
        f"summed, and the median table), its mean score over theirs, and its largest loss.",
        "",
        "| half | tables | median fit time, x HGB's | goal |",
        "|---|---:|---:|---|",
    ]
    for half in ("check", "tune"):
        lines.append(f"| {half} | {tables[half]} | {medians[half]:.1f} | <= {FIT_TIME_GOAL} "
                     f"{'met' if medians[half] <= FIT_TIME_GOAL else 'missed'} |")
    lines += ["",
              "| candidate | results | tables | fit time x default | median table | score x default | largest loss "
              "| decision |",
              "|---|---|---:|---:|---:|---:|---|---|"]
    for what, file, variant, baseline, decision in FIT_TIME_CANDIDATES:
        found = candidate_figures(pd.read_csv(results / file), variant, baseline)
        page = file.replace(".csv", ".md")
        lines.append(f"| {what} | [{page}]({page}) | {found['tables']} | "
                     f"{found['time']:.2f} | {found['median_time']:.2f} | {found['score']:.4f} | {found['worst']} | "
                     f"{decision} |")
    return lines


# ---------------------------------------------------------------------------------------------------- children
def peak_mb():
    """This process's peak resident memory so far, from `VmHWM` in /proc/self/status (Linux). `ru_maxrss` is not
    used: after an exec it can report the parent's peak (see tests/test_streaming.py)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    raise RuntimeError("speed.py measures memory through /proc/self/status (VmHWM), which needs Linux.")


class EpochTimer:
    """Times every epoch of any `keras.Model.fit` in this process: the Automater's network included."""

    def __init__(self):
        import keras

        self.times = []
        timer = self
        fit = keras.Model.fit

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                timer.times.append(time.perf_counter() - self.start)

        def timed_fit(model, *args, callbacks=None, **kwargs):
            return fit(model, *args, callbacks=[*(callbacks or []), Callback()], **kwargs)

        keras.Model.fit = timed_fit

    def per_epoch(self):
        # The fastest epoch after the first (which also traces the training function): on a shared machine, the
        # others measure the neighbours as much as the code.
        return float(min(self.times[1:] or self.times))


def child(task, rows, work):
    """One measurement; prints a JSON line."""
    import warnings

    warnings.simplefilter("ignore")
    work = Path(work)
    settings = {"training": {"epochs": EPOCHS, "validation_split": 0.0}}
    result = {"task": task, "rows": rows}
    if task in ("stats_ours", "stats_sklearn", "fit_ours", "fit_cached", "fit_streamed", "encode", "predict_ours",
                "predict_keras"):
        frame = synthetic(rows)
        result["frame_mb"] = frame.memory_usage(deep=True).sum() / 2 ** 20
    from keras_defaults import Automater

    result["baseline_mb"] = peak_mb()
    if task == "stats_ours":
        start = time.perf_counter()
        Automater(target=TARGET).prepare(frame)
        result["seconds"] = time.perf_counter() - start
    elif task == "stats_sklearn":
        transformer = column_transformer()
        start = time.perf_counter()
        transformer.fit(frame.drop(columns=[TARGET]))
        result["seconds"] = time.perf_counter() - start
    elif task in ("fit_ours", "fit_cached", "fit_streamed"):
        from keras_defaults import feeding

        timer = EpochTimer()
        if task == "fit_streamed":
            settings["training"]["feature_cache_mb"] = 0
        auto = Automater(target=TARGET, overrides=settings, seed=0, verbose=0)
        start = time.perf_counter()
        auto.fit(frame)
        result.update(seconds=time.perf_counter() - start, epoch=timer.per_epoch(), feeding=auto.feeding_,
                      width=_network_width(auto), row_bytes=feeding.encoded_row_bytes(auto.preprocessor_))
        if task == "fit_ours":
            auto.save(work / "automater")
            auto.export(work / "model.keras")
            auto.export(work / "serving", format="tf_saved_model")
    elif task == "encode":
        from keras_defaults import feeding
        from keras_defaults.model import compile_model, make_optimizer
        from keras_defaults.targets import label_arrays

        auto = Automater(target=TARGET, overrides=settings, seed=0).prepare(frame)
        encode_rows = feeding.encoder(auto.preprocessor_)
        feeding.encode(frame.iloc[:1000], auto.inputs_, encode_rows)  # traces the encoder
        start = time.perf_counter()
        x = feeding.encode(frame, auto.inputs_, encode_rows)
        result["encode_seconds"] = time.perf_counter() - start  # what a streamed epoch does on top of a cached one
        y = label_arrays(frame, auto.targets_)
        network, _ = auto._build()
        compile_model(network, auto.targets_, make_optimizer(auto.config_.get("optimizer")))
        network.save(work / "network.keras")
        np.savez(work / "encoded.npz", **{f"x:{k}": v for k, v in x.items()}, **{f"y:{k}": v for k, v in y.items()})
        # The raw columns as a server receives them (strings as fixed-width unicode, numbers as float32), keyed by
        # the SavedModel's argument names, for `serve_tf`, which must not import this package.
        from keras_defaults.columns import raw_arrays

        signature = json.loads((work / "serving" / "keras_defaults_signature.json").read_text())
        raw = {signature["inputs"][k]["argument"]: (v.astype(str) if v.dtype == object else v)
               for k, v in raw_arrays(frame, auto.inputs_).items()}
        np.savez(work / "raw.npz", **raw)
        # The one-row requests, in a file of their own: the latency child never holds the whole frame.
        np.savez(work / "raw_rows.npz", **{name: values[:LATENCY_REQUESTS] for name, values in raw.items()})
    elif task == "fit_numpy":
        import keras

        timer = EpochTimer()
        network = keras.saving.load_model(work / "network.keras")
        with np.load(work / "encoded.npz") as arrays:
            x = {k[2:]: arrays[k] for k in arrays.files if k.startswith("x:")}
            y = {k[2:]: arrays[k] for k in arrays.files if k.startswith("y:")}
        result["baseline_mb"] = peak_mb()
        start = time.perf_counter()
        network.fit(x, y, epochs=EPOCHS, batch_size=256, shuffle=True, verbose=0)
        result.update(seconds=time.perf_counter() - start, epoch=timer.per_epoch())
    elif task == "predict_ours":
        from keras_defaults.columns import raw_tensors

        auto = Automater.load(work / "automater")
        auto.predict(frame.iloc[:1000])  # traces the predict function
        start = time.perf_counter()
        auto.predict(frame)
        result["seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        raw_tensors(frame, auto.inputs_)  # the part of `predict` that turns the frame's columns into tensors
        result["convert_seconds"] = time.perf_counter() - start
    elif task == "predict_keras":
        import keras

        from keras_defaults.columns import raw_tensors

        auto = Automater.load(work / "automater")
        raw = raw_tensors(frame, auto.inputs_)
        model = keras.saving.load_model(work / "model.keras")
        model.predict({k: v[:1000] for k, v in raw.items()}, batch_size=PREDICT_BATCH, verbose=0)
        start = time.perf_counter()
        model.predict(raw, batch_size=PREDICT_BATCH, verbose=0)
        result["seconds"] = time.perf_counter() - start
    elif task == "write_files":
        parts = max(1, rows // 500_000)
        (work / "files").mkdir(exist_ok=True)
        for i, start in enumerate(range(0, rows, math.ceil(rows / parts))):
            piece = synthetic(min(math.ceil(rows / parts), rows - start), seed=1000 + i)
            piece.to_parquet(work / "files" / f"part{i:03d}.parquet", row_group_size=65536)
        result["files_mb"] = sum(f.stat().st_size for f in (work / "files").iterdir()) / 2 ** 20
        result["frame_mb_estimate"] = synthetic(100_000).memory_usage(deep=True).sum() / 2 ** 20 * rows / 100_000
    elif task == "stream_fit":
        timer = EpochTimer()
        # Streamed at every size: a tenth of the rows would fit the feature cache, and the two peaks would then
        # compare a cache with a stream.
        streamed = {"training": {"epochs": 1, "feature_cache_mb": 0}}
        auto = Automater(target=TARGET, overrides=streamed, seed=0, verbose=0)
        start = time.perf_counter()
        auto.prepare(str(work / "files" / "*.parquet"))
        result["stats_seconds"] = time.perf_counter() - start
        result["files_rows"] = auto.targets_[TARGET].profile.rows
        auto = Automater(target=TARGET, overrides=streamed, seed=0, verbose=0)
        start = time.perf_counter()
        auto.fit(str(work / "files" / "*.parquet"))
        result.update(seconds=time.perf_counter() - start, epoch=timer.times[-1], feeding=auto.feeding_)
        auto.save(work / "streamed")
    elif task == "stream_predict":
        auto = Automater.load(work / "streamed")
        start = time.perf_counter()
        auto.predict(str(work / "files" / "*.parquet"), out=work / "predictions.parquet")
        result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def _saved_signature(work):
    import tensorflow as tf

    return tf.saved_model.load(str(Path(work) / "serving")).signatures["serving_default"]


def _raw_columns(path):
    with np.load(path) as arrays:  # no pickle: strings are fixed-width unicode
        return {name: arrays[name] for name in arrays.files}


def serve_child(rows, work):
    """What a server sees: the exported SavedModel's `serving_default` signature, run by TensorFlow alone (this
    package is never imported), on tensors decoded before the timing, as a server hands the graph a request's
    tensors: throughput in requests of SERVE_BATCH rows; also with the raw numpy columns converted to tensors
    request by request inside the timing."""
    import tensorflow as tf

    result = {"task": "serve_tf", "rows": rows, "baseline_mb": peak_mb()}
    serve = _saved_signature(work)
    raw = _raw_columns(Path(work) / "raw.npz")

    def tensors(begin, end):
        return {name: tf.constant(values[begin:end]) for name, values in raw.items()}

    requests = [tensors(begin, begin + SERVE_BATCH) for begin in range(0, rows, SERVE_BATCH)]
    for request in requests[:1] + requests[-1:]:  # warm-up
        serve(**request)
    start = time.perf_counter()
    for request in requests:
        serve(**request)
    result["seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    for begin in range(0, rows, SERVE_BATCH):
        serve(**tensors(begin, begin + SERVE_BATCH))
    result["converted_seconds"] = time.perf_counter() - start
    result.update(imports_package="keras_defaults" in sys.modules, peak_mb=peak_mb())
    print(json.dumps(result))


def latency_child(rows, work):
    """The latency of one-row requests to the same signature (median and 99th percentile of LATENCY_REQUESTS, after
    20 warm-ups), in a process of its own that holds only those rows, as a server answering single requests does:
    measured after the throughput run, in its process, it came out 0.2-0.3 ms slower at 1,000,000 rows than in a
    fresh one, with the same model. Also: the same with the numpy columns converted inside the timing, and the
    latency of a signature with the same arguments that does no work (the cost of calling a signature from Python,
    which a server outside Python, TF Serving, does not pay)."""
    import tensorflow as tf

    result = {"task": "serve_latency", "rows": rows, "baseline_mb": peak_mb()}
    serve = _saved_signature(work)
    raw = _raw_columns(Path(work) / "raw_rows.npz")

    def tensors(i):
        return {name: tf.constant(values[i:i + 1]) for name, values in raw.items()}

    singles = [tensors(i) for i in range(LATENCY_REQUESTS)]
    for request in singles[:20]:  # warm-up
        serve(**request)

    def latencies(call, count=LATENCY_REQUESTS):
        times = []
        for i in range(count):
            begin = time.perf_counter()
            call(i)
            times.append(time.perf_counter() - begin)
        return times

    times = latencies(lambda i: serve(**singles[i]))
    converted = latencies(lambda i: serve(**tensors(i)))
    floor = tf.Module()
    floor.serve = tf.function(lambda **columns: {"out": tf.identity(columns[sorted(columns)[0]])})
    concrete = floor.serve.get_concrete_function(
        **{name: tf.TensorSpec([None], tensor.dtype, name=name) for name, tensor in singles[0].items()})
    tf.saved_model.save(floor, str(Path(work) / "floor"), signatures={"serving_default": concrete})
    empty = tf.saved_model.load(str(Path(work) / "floor")).signatures["serving_default"]
    latencies(lambda i: empty(**singles[i]), 20)
    floor_times = latencies(lambda i: empty(**singles[i]))
    result.update(latency=float(np.median(times)), p99=float(np.quantile(times, 0.99)),
                  latency_converted=float(np.median(converted)), latency_floor=float(np.median(floor_times)),
                  imports_package="keras_defaults" in sys.modules, peak_mb=peak_mb())
    print(json.dumps(result))


def _network_width(auto):
    """Features the network's first layer reads: the dense encodings, one-hot vectors and embeddings side by side."""
    network = auto.network_
    names = {layer.name for layer in network.layers}
    tensor = (network.get_layer("all_features").output if "all_features" in names
              else auto.preprocessor_.output["features"])
    return int(tensor.shape[-1])


def run_child(task, rows, work, timeout=3600):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", task, "--rows", str(rows), "--work", str(work)],
                          env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{task} on {rows} rows failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {task:15s} {rows:>10,} rows  {time.perf_counter() - started:7.1f}s wall  "
          f"{result.get('seconds', float('nan')):8.3f}s measured  peak {result['peak_mb']:7.0f} MB", flush=True)
    return result


def alternating(tasks, rows, work, runs):
    """{task: its `runs` results}, the tasks run in turn, each in a fresh process, so that a slow spell of a shared
    machine falls on both sides."""
    runs_by_task = {task: [] for task in tasks}
    for _ in range(runs):
        for task, found in runs_by_task.items():
            found.append(run_child(task, rows, work))
    return runs_by_task


def stats_pass(rows, work, runs=STATS_RUNS):
    """Both statistics passes `runs` times, alternating, each in a fresh process: one result per side, its seconds
    the median of its runs (`seconds_runs` holds them all) and `paired_ratios` each run's Automater / scikit-learn.
    At 10,000 rows a pass takes a few tenths of a second, mostly fixed costs, and one timing swung from 0.55 to 1.68
    x scikit-learn between two runs of this benchmark."""
    runs_by_task = alternating(("stats_ours", "stats_sklearn"), rows, work, runs)
    ratios = [ours["seconds"] / theirs["seconds"]
              for ours, theirs in zip(runs_by_task["stats_ours"], runs_by_task["stats_sklearn"])]
    merged = []
    for task, found in runs_by_task.items():
        seconds = [result["seconds"] for result in found]
        merged.append({**found[0], "seconds": float(np.median(seconds)), "seconds_runs": json.dumps(seconds),
                       "peak_mb": float(np.median([result["peak_mb"] for result in found])),
                       "paired_ratios": json.dumps(ratios)})
    return merged


def feeding_pass(rows, work, runs=FEEDING_RUNS):
    """`fit` with its features cached and streamed, `runs` times each, alternating, each in a fresh process: one
    result per side, its epoch the median of its runs and `paired_ratios` each run's streamed / cached epoch. One
    pair's ratio moved between 0.97 and 1.20 across four runs of this benchmark."""
    runs_by_task = alternating(("fit_cached", "fit_streamed"), rows, work, runs)
    ratios = [streamed["epoch"] / cached["epoch"]
              for cached, streamed in zip(runs_by_task["fit_cached"], runs_by_task["fit_streamed"])]
    return [{**found[0], "epoch": float(np.median([result["epoch"] for result in found])),
             "epoch_runs": json.dumps([result["epoch"] for result in found]),
             "peak_mb": float(np.median([result["peak_mb"] for result in found])), "paired_ratios": json.dumps(ratios)}
            for found in runs_by_task.values()]


def stream_pass(stream_rows, timeout=7200):
    """Write the files, then fit and predict on them streamed, each in a fresh process, at a tenth of
    `stream_rows` and at `stream_rows`: the peaks at both sizes show how memory grows with the rows."""
    results = []
    for rows in (stream_rows // 10, stream_rows):
        work = Path(tempfile.mkdtemp(prefix="speed_stream_"))
        try:
            for task in ("write_files", "stream_fit", "stream_predict"):
                results.append(run_child(task, rows, work, timeout=timeout))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return results


# ---------------------------------------------------------------------------------------------------- the report
def measure(sizes, stream_rows, feeding_rows):
    results = []
    for rows in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"speed_{rows}_"))
        try:
            results += stats_pass(rows, work)
            for task in ("fit_ours", "encode", "fit_numpy", "predict_ours", "predict_keras", "serve_tf",
                         "serve_latency"):
                results.append(run_child(task, rows, work))
            if rows == feeding_rows:
                results += feeding_pass(rows, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if stream_rows:
        results += stream_pass(stream_rows)
    return results


def growth(values, sizes):
    """How a figure grows from the first to the last size, as an exponent: 1.0 is linear in rows."""
    if len(sizes) < 2 or not values[0] > 0 or not values[-1] > 0:
        return float("nan")
    return math.log(values[-1] / values[0]) / math.log(sizes[-1] / sizes[0])


def report(results, sizes, out, quick, sources=()):
    frame = pd.DataFrame(results)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "speed.csv", index=False)

    def get(task, rows, key="seconds"):
        found = frame[(frame.task == task) & (frame.rows == rows)]
        return float(found[key].iloc[0]) if len(found) and key in found and pd.notna(found[key].iloc[0]) else np.nan

    lines = [
        "# Speed and memory",
        "",
        f"`python benchmarks/speed.py{' --quick' if quick else ''}` on {platform.machine()}, {os.cpu_count()} "
        f"CPU cores, {platform.python_version()}; "
        f"TensorFlow {_version('tensorflow')}, Keras {_version('keras')}, pandas {_version('pandas')}, "
        f"scikit-learn {_version('sklearn')}. "
        f"Synthetic frames of 30 input columns (13 numerical, 7 low- and 4 high-cardinality categorical, 4 boolean, "
        f"2 short text of {TEXT_WORDS} words, with missing values) and a binary target. Every figure comes from its "
        f"own process; the machine was shared, so single timings carry some noise."
        + (f" Written from the figures of {len(sources)} runs (`--from-csv`; a later run's steps replace an "
           f"earlier one's: here, {', '.join(sorted(set(pd.read_csv(sources[-1]).task)))})."
           if len(sources) > 1 else ""),
        "",
        "## Statistics pass: kinds, vocabularies, quantiles",
        "",
        "`Automater.prepare` (it also infers every column's kind) against scikit-learn's `ColumnTransformer.fit` with "
        "the equivalent encoders, the kinds given by hand (median imputation with missing flags and robust scaling; "
        "one-hot; ordinal with at most 1000 levels; TF-IDF over 2000 words). Goal (issue 17): at most half its time "
        f"(ratio <= 0.5). Each side ran {STATS_RUNS} times, alternating, each run in a fresh process: the times are "
        "their medians, the ratio the ratio of the medians, and 'paired ratios' each run's own, lowest and highest.",
        "",
        "| rows | Automater (s) | scikit-learn (s) | ratio | paired ratios | goal | peak MB Automater | "
        "peak MB scikit-learn |",
        "|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for rows in sizes:
        ours, theirs = get("stats_ours", rows), get("stats_sklearn", rows)
        found = frame[(frame.task == "stats_ours") & (frame.rows == rows)]
        paired = json.loads(found["paired_ratios"].iloc[0]) if len(found) and "paired_ratios" in found else []
        spread = f"{min(paired):.2f} - {max(paired):.2f}" if paired else ""
        lines.append(f"| {rows:,} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} | {spread} | <= 0.5 "
                     f"{'met' if ours <= 0.5 * theirs else 'missed'} | {get('stats_ours', rows, 'peak_mb'):.0f} | "
                     f"{get('stats_sklearn', rows, 'peak_mb'):.0f} |")
    lines += [
        "",
        "## Training: time per epoch",
        "",
        f"`Automater.fit` against the same network (built by the Automater, saved, reloaded) trained by Keras on "
        f"already-encoded numpy arrays: batch size 256, no validation split, {EPOCHS} epochs; the fastest of the "
        f"epochs after the first (which traces the training function), from a Keras callback: on a shared "
        f"machine the slower ones measure the neighbours as much as the code. The ratio is the "
        f"library's overhead per epoch; goal: at most 1.15 from 100k rows up. 'fit total' is the Automater's whole "
        f"`fit` (statistics, encoding once, all epochs); the numpy side's encoding is not timed.",
        "",
        "| rows | features | Automater (s/epoch) | numpy (s/epoch) | ratio | goal | fit total (s) | "
        "peak MB Automater | peak MB numpy |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for rows in sizes:
        ours, theirs = get("fit_ours", rows, "epoch"), get("fit_numpy", rows, "epoch")
        goal = "<= 1.15 " + ("met" if ours / theirs <= 1.15 else "missed") if rows >= 100_000 else "(none)"
        lines.append(f"| {rows:,} | {get('fit_ours', rows, 'width'):.0f} | {ours:.2f} | {theirs:.2f} | "
                     f"{ours / theirs:.2f} | {goal} | {get('fit_ours', rows):.1f} | "
                     f"{get('fit_ours', rows, 'peak_mb'):.0f} | {get('fit_numpy', rows, 'peak_mb'):.0f} |")
    streamed_rows = [r for r in sizes if not np.isnan(get("fit_streamed", r, "epoch"))]
    if streamed_rows:
        rows = streamed_rows[0]
        streamed, cached, numpy_epoch = (get("fit_streamed", rows, "epoch"), get("fit_cached", rows, "epoch"),
                                         get("fit_numpy", rows, "epoch"))
        found = frame[(frame.task == "fit_streamed") & (frame.rows == rows)]
        paired = json.loads(found["paired_ratios"].iloc[0]) if "paired_ratios" in found else []
        encoding = get("encode", rows, "encode_seconds")
        lines += [
            "",
            f"Feeding, at {rows:,} rows: encoded features cached in memory (the default while they fit "
            f"`training.feature_cache_mb`) against re-encoded every epoch in the `tf.data` pipeline (how files "
            f"larger than memory, and frames whose encoded features would not fit, are trained). Each ran "
            f"{FEEDING_RUNS} times, alternating, each in a fresh process: medians, and each pair's own ratio. Goal: a "
            f"streamed epoch at most 1.1 x a cached one. A streamed epoch also runs the preprocessing layers over "
            f"every row, on the same {os.cpu_count()} cores: encoding the {rows:,} rows once took {encoding:.2f} s, "
            f"so a cached epoch plus that encoding is {(cached + encoding) / cached:.2f} x a cached one.",
            "",
            "| feeding | s/epoch | x cached | paired ratios | goal | ratio to numpy | peak MB |",
            "|---|---:|---:|---|---|---:|---:|",
            f"| cached | {cached:.2f} | 1.00 | | | {cached / numpy_epoch:.2f} | "
            f"{get('fit_cached', rows, 'peak_mb'):.0f} |",
            f"| streamed | {streamed:.2f} | {streamed / cached:.2f} | "
            f"{f'{min(paired):.2f} - {max(paired):.2f}' if paired else ''} | <= 1.1 "
            f"{'met' if streamed <= 1.1 * cached else 'missed'} | {streamed / numpy_epoch:.2f} | "
            f"{get('fit_streamed', rows, 'peak_mb'):.0f} |",
        ]
    lines += [
        "",
        "## Prediction and serving",
        "",
        f"Throughput of `Automater.predict` (DataFrame in, labels out; 'of which columns to tensors' is the part "
        f"that turns the frame's columns into tensors, timed alone), of the exported `.keras` model's `predict` on "
        f"raw tensors (batch {PREDICT_BATCH}), and of the exported SavedModel's `serving_default` signature as a "
        f"server runs it: TensorFlow alone in its own process (keras_defaults not imported), requests of "
        f"{SERVE_BATCH:,} rows whose tensors were decoded before the timing, as a server hands them to the graph "
        f"('with conversion': the raw numpy columns converted to tensors request by request inside the timing); "
        f"and the latency of one-row requests to it, in a process of its own that holds only those rows (median "
        f"and 99th percentile of {LATENCY_REQUESTS}, after 20 warm-ups; 'of "
        f"which the Python call' is the median latency of a signature with the same arguments that does no work, "
        f"which a server outside Python does not pay). Goals: the SavedModel at least 100,000 rows/s and faster "
        f"than `Automater.predict`; one row in at most 1 ms.",
        "",
        "| rows | Automater.predict (rows/s) | of which columns to tensors (s) | exported .keras (rows/s) | "
        "SavedModel, TF alone (rows/s) | with conversion (rows/s) | goal >= 100k | x Automater.predict | "
        "one-row latency (ms) | p99 (ms) | of which the Python call (ms) | with conversion (ms) | goal <= 1 ms | "
        "peak MB Automater | peak MB SavedModel |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for rows in sizes:
        ours, served = rows / get("predict_ours", rows), rows / get("serve_tf", rows)
        latency = get("serve_latency", rows, "latency") * 1000
        lines.append(f"| {rows:,} | {ours:,.0f} | {get('predict_ours', rows, 'convert_seconds'):.2f} | "
                     f"{rows / get('predict_keras', rows):,.0f} | {served:,.0f} | "
                     f"{rows / get('serve_tf', rows, 'converted_seconds'):,.0f} | "
                     f"{'met' if served >= 100_000 else 'missed'} | {served / ours:.2f} | {latency:.2f} | "
                     f"{get('serve_latency', rows, 'p99') * 1000:.2f} | "
                     f"{get('serve_latency', rows, 'latency_floor') * 1000:.2f} | "
                     f"{get('serve_latency', rows, 'latency_converted') * 1000:.2f} | "
                     f"{'met' if latency <= 1 else 'missed'} | "
                     f"{get('predict_ours', rows, 'peak_mb'):.0f} | {get('serve_tf', rows, 'peak_mb'):.0f} |")
    figures = [("statistics pass, Automater", "stats_ours", "seconds"),
               ("statistics pass, scikit-learn", "stats_sklearn", "seconds"),
               ("epoch, Automater", "fit_ours", "epoch"), ("epoch, numpy", "fit_numpy", "epoch"),
               ("Automater.predict", "predict_ours", "seconds"), ("exported predict", "predict_keras", "seconds"),
               ("SavedModel serving, TF alone", "serve_tf", "seconds")]
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        before = sizes[-2]
        width = get("fit_ours", last, "width")
        lines += [
            "",
            f"## Growth from {first:,} to {last:,} rows",
            "",
            f"How each figure grows with the rows, as an exponent: 1.0 is linear, below 1 fixed costs still weigh "
            f"on the smaller size. Time from {first:,} to {last:,} rows; memory is the peak above the process's "
            f"peak before the measured step (TensorFlow loaded, the frame built), from {before:,} to {last:,} rows. "
            f"Training memory follows the cached encoded features ({get('fit_ours', last, 'row_bytes') / 1024:.1f} KB a "
            f"row: numbers, text weights and one index per categorical column, which the network expands to "
            f"{width:.0f} features; against about {get('stats_ours', last, 'frame_mb') * 2**20 / last:.0f} bytes "
            f"a row for the frame): the network trains on them, cached or batch by batch.",
            "",
            "| figure | time exponent | memory exponent | peak above baseline, MB (" +
            " / ".join(f"{r:,}" for r in sizes) + " rows) |",
            "|---|---:|---:|---|",
        ]
        for label, task, key in figures:
            values = [get(task, r, key) for r in sizes]
            above = [get(task, r, "peak_mb") - get(task, r, "baseline_mb") for r in sizes]
            lines.append(f"| {label} | {growth(values, sizes):.2f} | {growth(above[-2:], sizes[-2:]):.2f} | "
                         f"{' / '.join(f'{a:.0f}' for a in above)} |")
    stream_sizes = sorted(int(r) for r in frame.loc[frame.task == "stream_fit", "rows"].unique())
    if stream_sizes:
        steps = {rows: {task: frame[(frame.task == task) & (frame.rows == rows)].iloc[0]
                        for task in ("stream_fit", "stream_predict", "write_files")} for rows in stream_sizes}
        largest = steps[stream_sizes[-1]]
        fit, files = largest["stream_fit"], largest["write_files"]
        lines += [
            "",
            "## Data larger than memory: streaming from files",
            "",
            "`Automater(target=...).fit('files/*.parquet')` and `predict('files/*.parquet', out=...)` on "
            + " and ".join(f"{int(steps[r]['stream_fit']['files_rows']):,} rows "
                           f"({int(steps[r]['write_files']['files_mb']):,} MB of Parquet)" for r in stream_sizes)
            + f"; as a pandas DataFrame the largest would take about {files['frame_mb_estimate'] / 1024:.1f} GB. "
            f"One epoch (feeding: {fit['feeding']}); each step in its own process. Goal: a peak of at most 1.5 GB, "
            "flat in the rows.",
            "",
            "| rows | step | time (s) | rows/s | peak MB |",
            "|---:|---|---:|---:|---:|",
        ]
        for rows in stream_sizes:
            fit, predict = steps[rows]["stream_fit"], steps[rows]["stream_predict"]
            read = int(fit["files_rows"])
            lines += [
                f"| {read:,} | statistics pass (one streaming read) | {fit['stats_seconds']:.0f} | "
                f"{read / fit['stats_seconds']:,.0f} | |",
                f"| {read:,} | fit: statistics + 1 epoch | {fit['seconds']:.0f} | | {fit['peak_mb']:.0f} |",
                f"| {read:,} | of which the epoch | {fit['epoch']:.0f} | {read / fit['epoch']:,.0f} | |",
                f"| {read:,} | predict, written in chunks | {predict['seconds']:.0f} | "
                f"{read / predict['seconds']:,.0f} | {predict['peak_mb']:.0f} |",
            ]
        if len(stream_sizes) > 1:
            small, large = (steps[r] for r in (stream_sizes[0], stream_sizes[-1]))
            peaks = {step: (small[step]["peak_mb"], large[step]["peak_mb"]) for step in ("stream_fit", "stream_predict")}
            lines += [
                "",
                f"Peak memory from {stream_sizes[0]:,} to {stream_sizes[-1]:,} rows, as an exponent of the rows (0 is "
                f"flat): fit {growth(peaks['stream_fit'], [stream_sizes[0], stream_sizes[-1]]):.2f} "
                f"({peaks['stream_fit'][0]:.0f} -> {peaks['stream_fit'][1]:.0f} MB), predict "
                f"{growth(peaks['stream_predict'], [stream_sizes[0], stream_sizes[-1]]):.2f} "
                f"({peaks['stream_predict'][0]:.0f} -> {peaks['stream_predict'][1]:.0f} MB); the largest fit's peak "
                f"{'meets' if peaks['stream_fit'][1] <= 1536 else 'misses'} the 1.5 GB goal.",
            ]
    lines += fit_time_section()
    (out / "speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return "absent"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="comma-separated row counts (default 10000,100000,1000000)")
    parser.add_argument("--stream-rows", type=int, default=None, help="rows streamed from files (default 10M)")
    parser.add_argument("--quick", action="store_true", help="small sizes; results in a temporary folder")
    parser.add_argument("--out", default=None, help="folder for speed.md and speed.csv")
    parser.add_argument("--from-csv", nargs="+", default=None,
                        help="write speed.md again from runs' speed.csv files (into --out, default the first one's "
                             "folder); a later file's tasks replace an earlier one's")
    parser.add_argument("--stream-only", action="store_true",
                        help="only the streaming from files; its speed.csv goes to --out, for --from-csv")
    parser.add_argument("--feeding-rows", type=int, default=None,
                        help="the size at which to compare cached and streamed fits (default the second size, or the "
                             "only one; 0: none), so that a run at another size can join a run's CSV")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "serve_tf":
        return serve_child(args.rows, args.work)
    if args.child == "serve_latency":
        return latency_child(args.rows, args.work)
    if args.child:
        return child(args.child, args.rows, args.work)
    if args.from_csv:
        frame = pd.DataFrame()
        for path in args.from_csv:
            later = pd.read_csv(path)
            frame = pd.concat([frame[~frame.task.isin(later.task)] if len(frame) else frame, later])
        sizes = sorted(int(rows) for rows in frame.loc[frame.task == "fit_ours", "rows"].unique())
        return report(frame.to_dict("records"), sizes, Path(args.out or Path(args.from_csv[0]).parent), quick=False,
                      sources=args.from_csv)
    sizes = [int(s) for s in (args.sizes or ("2000,10000" if args.quick else "10000,100000,1000000")).split(",")]
    stream_rows = args.stream_rows if args.stream_rows is not None else (50_000 if args.quick else 10_000_000)
    # A quick run, or the streaming alone, never overwrites the committed results unless --out says so.
    out = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="speed_quick_")) if args.quick or
                                           args.stream_only else ROOT / "benchmarks" / "results")
    if args.stream_only:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(stream_pass(stream_rows)).to_csv(out / "speed.csv", index=False)
        return print(f"Wrote {out / 'speed.csv'}: python benchmarks/speed.py --from-csv RUN.csv {out / 'speed.csv'}")
    feeding_rows = args.feeding_rows if args.feeding_rows is not None else sizes[1] if len(sizes) > 1 else sizes[0]
    report(measure(sizes, stream_rows, feeding_rows), sizes, out, args.quick)
    print(f"\nWrote {out / 'speed.md'} and {out / 'speed.csv'}")


if __name__ == "__main__":
    main()
