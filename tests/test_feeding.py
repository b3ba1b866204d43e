"""Feeding training: cached encoded features or a streamed tf.data pipeline, from frames and files."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from conftest import fast_settings, mixed_frame, write_parts
from keras_defaults import Automater, feeding, summaries

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("cache_mb, feeding", [(2048, "cached"), (0, "streamed")])
def test_fit_predict_evaluate_on_files(tmp_path, small_chunks, cache_mb, feeding):
    data = mixed_frame(900)
    write_parts(data, tmp_path / "d")
    source = str(tmp_path / "d" / "*.parquet")
    auto = Automater(target="label", overrides=fast_settings(cache_mb), seed=0, verbose=0).fit(source)
    assert auto.feeding_ == feeding
    assert set(auto.history_) >= {"loss", "val_loss"} and len(auto.history_["loss"]) == 3
    assert auto.refit_epochs_ == int(np.argmin(auto.history_["val_loss"])) + 1  # then refitted on every file row

    predicted = auto.predict(source)
    assert predicted.index.equals(pd.RangeIndex(900)) and predicted.name == "label"
    pd.testing.assert_series_equal(predicted, auto.predict(data).reset_index(drop=True))
    written = auto.predict(source, out=tmp_path / "out" / "predictions.parquet")
    pd.testing.assert_series_equal(pd.read_parquet(written)["label"], predicted, check_names=False)
    proba = pd.read_csv(auto.predict_proba(source, out=tmp_path / "proba.csv"))
    np.testing.assert_allclose(proba.to_numpy(), auto.predict_proba(data).to_numpy(), atol=1e-6)

    from_files, in_memory = auto.evaluate(source), auto.evaluate(data)
    assert from_files.keys() == in_memory.keys()
    assert from_files == pytest.approx(in_memory, abs=1e-6)


def test_streamed_dataframe_matches_what_was_learned(small_chunks):
    """A frame encoded again each epoch in the pipeline learns what the same frame cached in memory learns: the
    same seed gives the same network, validation rows and epochs; only the order of the rows in a batch differs."""
    data = mixed_frame(700)
    train, held_out = data.iloc[:500], data.iloc[500:]
    fits = {}
    for cache_mb in (0, 2048):
        auto = Automater(target=["label", "price"], overrides=fast_settings(cache_mb, epochs=20, refit=False), seed=0,
                         verbose=0).fit(train)
        fits[auto.feeding_] = auto
    streamed, cached = fits["streamed"], fits["cached"]
    assert {"label_loss", "price_loss", "val_loss"} <= set(streamed.history_) == set(cached.history_)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(streamed.history_[key], cached.history_[key], rtol=0.05, err_msg=key)
    # Both learned (chance is a log-loss of ln 3 = 1.10 and an R² of 0), and learned the same thing.
    scores, in_memory = streamed.evaluate(held_out), cached.evaluate(held_out)
    assert scores["label/log_loss"] < 1.0 and scores["price/r2"] > 0.25, scores
    assert scores == pytest.approx(in_memory, rel=0.1, abs=0.05), (scores, in_memory)
    probabilities = streamed.predict_proba(held_out)["label"].to_numpy()
    np.testing.assert_allclose(probabilities, cached.predict_proba(held_out)["label"].to_numpy(), atol=0.05)
    assert (streamed.predict(held_out)["label"] == cached.predict(held_out)["label"]).mean() >= 0.9


def test_streamed_training_learns(tmp_path, small_chunks):
    rng = np.random.default_rng(2)
    colour = rng.choice(["red", "blue", "green"], 1800)
    data = pd.DataFrame({"colour": colour, "size": rng.normal(size=1800),
                         "y": np.where(colour == "red", "yes", "no")})
    write_parts(data.iloc[:1500], tmp_path / "train", fmt="csv")
    write_parts(data.iloc[1500:], tmp_path / "held_out", parts=1, fmt="csv")
    auto = Automater(target="y", overrides=fast_settings(0, epochs=15), seed=0, verbose=0).fit(str(tmp_path / "train"))
    assert auto.feeding_ == "streamed"
    assert auto.evaluate(str(tmp_path / "held_out"))["accuracy"] > 0.95


def test_validation_rows_are_the_same_every_epoch_and_disjoint(tmp_path, small_chunks):
    data = mixed_frame(600).assign(row=np.arange(600) + 0.5)  # a number that names its row
    write_parts(data, tmp_path / "d")
    auto = Automater(target="binary").prepare(str(tmp_path / "d"))
    files = summaries.summarise(str(tmp_path / "d"), ["binary"], set(), seed=0).files

    def rows(part):
        generate = feeding.file_pieces(files, auto.inputs_, auto.targets_, part, 0.25, seed=0, piece=64)
        return [set((np.concatenate([raw["row"] for raw, _ in generate()]) - 0.5).tolist()) for _ in range(2)]

    train, validation = rows("train"), rows("validation")
    assert train[0] == train[1] and validation[0] == validation[1]
    assert not train[0] & validation[0] and len(train[0] | validation[0]) == 600
    assert len(validation[0]) == files.part_rows("validation", 0.25, seed=0)
    assert 100 < len(validation[0]) < 200


MEMORY_SCRIPT = """
import json, sys, warnings
def peak_mb():
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child started from a large test process would report
    # the parent's peak; VmHWM belongs to the new address space.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import pandas as pd
warnings.simplefilter("ignore")
from keras_defaults import Automater, sources, summaries

sources.CHUNK_ROWS, summaries.SAMPLE_ROWS = 8192, 5000
files, out = sys.argv[1].split(","), sys.argv[2]
settings = {"training": {"epochs": 1, "batch_size": 512, "feature_cache_mb": 0}, "body": {"units": [16]}}
auto = Automater(target="y", overrides=settings, seed=0, verbose=0).fit(files)
auto.predict(files, out=out)
streamed = peak_mb()
frame = pd.read_parquet(files)
print(json.dumps({"streamed": streamed, "data_mb": frame.memory_usage(deep=True).sum() / 2**20, "rows": len(frame),
                  "feeding": auto.feeding_}))
"""

# A process of its own that holds as many bytes as the rows take in pandas: shows that the measure can tell data
# sizes apart.
LOAD_SCRIPT = """
import json, sys
def peak_mb():
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child started from a large test process would report
    # the parent's peak; VmHWM belongs to the new address space.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import numpy as np
import pandas as pd
data_mb = pd.read_parquet(sys.argv[1].split(",")).memory_usage(deep=True).sum() / 2**20
held = np.ones(int(data_mb * 2**20 / 8))
print(json.dumps({"in_memory": peak_mb()}))
"""


def make_table(rows, seed):
    rng = np.random.default_rng(seed)
    words = np.array([f"word{i}" for i in range(300)])
    x = rng.normal(size=rows)
    return pd.DataFrame({
        "a": x, "b": rng.normal(size=rows), "c": rng.exponential(size=rows),
        "city": rng.choice([f"city number {i} " + "of a long name " * 3 for i in range(40)], rows),
        "shop": rng.choice([f"shop-{i}-" + "x" * 800 for i in range(2000)], rows),
        "note": [" ".join(row) for row in rng.choice(words, (rows, 30))],
        "flag": rng.random(rows) < 0.3,
        "y": np.where(x + rng.normal(size=rows) > 0, "yes", "no"),
    })


def peak_memory(files, out):
    """The figures of MEMORY_SCRIPT (its streamed peak the lower of two runs) and of LOAD_SCRIPT, on `files`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}

    def run(script):
        done = subprocess.run([sys.executable, "-c", script, ",".join(map(str, files)), str(out)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    first, second = run(MEMORY_SCRIPT), run(MEMORY_SCRIPT)
    return {**first, "streamed": min(first["streamed"], second["streamed"]), **run(LOAD_SCRIPT)}


def test_training_on_files_larger_than_the_memory_cap(tmp_path):
    """Fitting and predicting 600k rows from files takes little more memory than 100k rows: the extra peak stays
    under a cap of a quarter of the extra data's in-memory size (some 550 MB, four times the cap).

    The cap is measured with the peak resident memory of two identical processes that differ only in how much data
    they read, rather than imposed by the operating system: TensorFlow reserves far more address space than it uses,
    so an address-space limit says nothing about the data. A process that only loads the same data whole must break
    the cap, to show that the measure can fail. The allocators (glibc's, Arrow's) keep some freed memory for a while,
    by timing: the same run's peak varies by some 80 MB, so each streamed figure is the lower of two runs, and the
    rows are wide enough that the cap stands well above that.
    """
    paths = []
    for i in range(12):
        paths.append(tmp_path / f"part{i:02d}.parquet")
        make_table(50_000, i).to_parquet(paths[-1], row_group_size=8192)
    small, big = peak_memory(paths[:2], tmp_path / "small.parquet"), peak_memory(paths, tmp_path / "big.parquet")
    cap = (big["data_mb"] - small["data_mb"]) / 4
    assert big["rows"] == 600_000 and big["feeding"] == "streamed" and cap > 60
    assert big["streamed"] - small["streamed"] < cap, (small, big)
    assert big["in_memory"] - small["in_memory"] > cap, (small, big)
    assert len(pd.read_parquet(tmp_path / "big.parquet")) == 600_000


@pytest.mark.parametrize("refit, max_rows, rows, restore, expected", [
    (True, 0, 5000, True, 2),       # the best epoch (val_loss lowest at the second)
    (True, 0, 5000, False, 4),      # every epoch run, when the last weights are kept
    ("auto", 1000, 1000, True, 2),  # at the limit: refit
    ("auto", 1000, 1001, True, None),
    (False, 10**9, 10, True, None),
])
def test_refit_epochs_come_from_the_validation_curve(refit, max_rows, rows, restore, expected):
    from keras_defaults import defaults

    training = dataclasses.replace(defaults.Training.from_config(defaults.Config.builtin()), refit=refit,
                                   refit_max_rows=max_rows, restore_best_weights=restore)
    history = {"loss": [1.0, 0.8, 0.7, 0.6], "val_loss": [1.0, 0.5, 0.6, 0.7]}
    assert feeding.refit_epochs(training, history, rows) == expected
    assert feeding.refit_epochs(training, {"loss": [1.0]}, rows) is None  # no validation rows: nothing chose


def test_a_refit_trains_a_fresh_network_on_every_row_and_repeats_with_the_seed():
    data = mixed_frame(300).drop(columns=["binary", "label"])
    overrides = {"training": {"epochs": 4, "batch_size": 64, "refit": True}, "body": {"units": [16]}}
    first = Automater(target="price", overrides=overrides, seed=0, verbose=0).fit(data)
    assert first.refit_epochs_ == int(np.argmin(first.history_["val_loss"])) + 1
    again = Automater(target="price", overrides=overrides, seed=0, verbose=0).fit(data)
    np.testing.assert_allclose(again.predict(data), first.predict(data), rtol=1e-5)
    plain = Automater(target="price", overrides={**overrides, "training": {"epochs": 4, "batch_size": 64,
                                                                           "refit": False}}, seed=0, verbose=0).fit(data)
    assert plain.refit_epochs_ is None and not np.allclose(plain.predict(data), first.predict(data))
    assert "a fresh network trained on all the rows" in first.explain().iloc[-1]["choice"]


def test_the_refit_is_a_fresh_network_though_it_reuses_the_first_network_and_its_features():
    # The refit sets the first network back to its initial weights, optimizer state and dropout seeds, and reads
    # the features encoded for the first fit: what it learns must be what a fresh fit on every row learns.
    data = mixed_frame(300).drop(columns=["binary", "label"])
    body = {"units": [16], "dropout": 0.2}
    refitted = Automater(target="price", seed=0, verbose=0, overrides={
        "training": {"epochs": 5, "batch_size": 64, "refit": True}, "body": body}).fit(data)
    assert refitted.refit_epochs_ is not None
    fresh = Automater(target="price", seed=0, verbose=0, overrides={
        "training": {"epochs": refitted.refit_epochs_, "batch_size": 64, "refit": False, "validation_split": 0.0},
        "body": body}).fit(data)
    np.testing.assert_allclose(refitted.predict(data), fresh.predict(data), rtol=1e-6)


@pytest.mark.parametrize("pipeline_mb", [feeding.PIPELINE_MB, 0])  # gathered once; gathered batch by batch
def test_validation_batches_hold_the_rows_in_order_every_pass(monkeypatch, pipeline_mb):
    import tensorflow as tf

    monkeypatch.setattr(feeding, "PIPELINE_MB", pipeline_mb)
    features = np.arange(300, dtype="float32").reshape(100, 3)
    arrays = ({"x": tf.constant(features)}, {"y": tf.constant(np.arange(100, dtype="int64"))})
    rows = np.random.default_rng(0).permutation(100)[:37]
    dataset, steps = feeding._batches(arrays, rows, batch_size=16)
    assert steps == 3
    passes = [list(dataset.take(steps).as_numpy_iterator()) for _ in range(2)]  # Keras iterates anew every epoch
    for batches in passes:
        assert [len(y["y"]) for _, y in batches] == [16, 16, 5]
        np.testing.assert_array_equal(np.concatenate([y["y"] for _, y in batches]), rows)
        np.testing.assert_array_equal(np.concatenate([x["x"] for x, _ in batches]), features[rows])
    # The copy made once is a plain pipeline, quick to iterate anew; the other keeps tf.data's autotuning.
    assert (dataset.options().autotune.enabled is False) is (pipeline_mb > 0)


def test_a_fit_validates_on_the_same_rows_with_either_validation_pipeline(monkeypatch):
    data = mixed_frame(300).drop(columns=["binary", "label"])
    overrides = {"training": {"epochs": 3, "batch_size": 64}, "body": {"units": [16]}}
    once = Automater(target="price", overrides=overrides, seed=0, verbose=0).fit(data)
    monkeypatch.setattr(feeding, "PIPELINE_MB", 0)
    per_batch = Automater(target="price", overrides=overrides, seed=0, verbose=0).fit(data)
    np.testing.assert_allclose(once.history_["val_loss"], per_batch.history_["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(once.predict(data), per_batch.predict(data), rtol=1e-6)


@pytest.mark.parametrize("fraction, expected", [(1.0, 6), (0.25, 2), (0.1, 1), (1.5, 9)])
def test_the_refit_trains_its_fraction_of_the_chosen_epochs(fraction, expected):
    from keras_defaults import defaults

    training = dataclasses.replace(defaults.Training.from_config(defaults.Config.builtin()), refit=True,
                                   refit_fraction=fraction)
    history = {"loss": [1.0] * 8, "val_loss": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.55, 0.6]}  # best at the sixth
    assert feeding.refit_epochs(training, history, 100) == expected


class Weights(keras.callbacks.Callback):
    """The network's weights at the start and the end of each fit it sees (at the end, after early stopping, which
    runs first, has restored its best ones)."""

    def __init__(self):
        super().__init__()
        self.starts, self.ends = [], []

    def on_train_begin(self, logs=None):
        self.starts.append([w.copy() for w in self.model.get_weights()])

    def on_train_end(self, logs=None):
        self.ends.append([w.copy() for w in self.model.get_weights()])


def test_a_refit_from_the_stopped_network_trains_on_from_its_best_weights():
    data = mixed_frame(300).drop(columns=["binary", "label"])
    training = {"epochs": 6, "batch_size": 64, "refit": True, "refit_start": "stopped", "refit_fraction": 0.5}
    seen = Weights()
    auto = Automater(target="price", overrides={"training": training, "body": {"units": [16]}}, seed=0,
                     verbose=0).fit(data, callbacks=[seen])
    best = int(np.argmin(auto.history_["val_loss"])) + 1
    assert auto.refit_epochs_ == max(1, -(-best // 2))
    assert len(seen.starts) == 2
    for kept, start in zip(seen.ends[0], seen.starts[1]):  # the refit starts where early stopping left the network
        np.testing.assert_array_equal(kept, start)
    assert any(not np.array_equal(a, b) for a, b in zip(seen.starts[0], seen.starts[1]))
    assert "the network early stopping kept, trained further on all the rows for 50% of the chosen epochs" in \
        auto.explain().iloc[-1]["choice"]
    again = Automater(target="price", overrides={"training": training, "body": {"units": [16]}}, seed=0,
                      verbose=0).fit(data)
    np.testing.assert_array_equal(again.predict(data), auto.predict(data))
