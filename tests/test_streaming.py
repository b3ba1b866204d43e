import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FAST, mixed_frame
from keras_defaults import Automater, streaming
from keras_defaults.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


def overrides(cache_mb=2048, **training):
    return {**FAST, "training": {**FAST["training"], "feature_cache_mb": cache_mb, **training}}


def write_parts(frame, directory, parts=3, fmt="parquet"):
    directory.mkdir(parents=True, exist_ok=True)
    for i, piece in enumerate(np.array_split(np.arange(len(frame)), parts)):
        part = frame.iloc[piece]
        if fmt == "parquet":
            part.to_parquet(directory / f"part{i}.parquet")
        else:
            part.to_csv(directory / f"part{i}.csv", index=False)
    return directory


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks and a sample smaller than the data, so that every code path of the streaming pass runs."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 150)
    monkeypatch.setattr(streaming, "SAMPLE_ROWS", 200)


# ---------------------------------------------------------------------------------------------------- file sources
def test_sources_are_paths_globs_directories_and_lists(tmp_path):
    write_parts(mixed_frame(60), tmp_path / "d", parts=2)
    files = [tmp_path / "d" / "part0.parquet", tmp_path / "d" / "part1.parquet"]
    assert streaming.resolve_files(str(tmp_path / "d" / "*.parquet")).paths == files
    assert streaming.resolve_files(tmp_path / "d").paths == files
    assert streaming.resolve_files([str(f) for f in files]).paths == files
    assert streaming.is_file_source("x.csv") and streaming.is_file_source([Path("a.csv")])
    assert not streaming.is_file_source(pd.DataFrame()) and not streaming.is_file_source([])


def test_bad_sources_say_what_is_wrong(tmp_path):
    with pytest.raises(DataError, match="No file matches"):
        streaming.resolve_files(str(tmp_path / "*.parquet"))
    with pytest.raises(DataError, match="not found"):
        streaming.resolve_files(tmp_path / "missing.csv")
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(DataError, match="expected .csv or .parquet"):
        streaming.resolve_files(tmp_path / "notes.json")
    mixed_frame(10).to_csv(tmp_path / "a.csv", index=False)
    mixed_frame(10).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match="mix formats"):
        streaming.resolve_files([tmp_path / "a.csv", tmp_path / "b.parquet"])


def test_a_file_lacking_a_column_is_named(tmp_path):
    data = mixed_frame(100)
    data.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    data.iloc[50:].drop(columns=["cat"]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv.*\['cat'\]"):
        Automater(target="binary").prepare(str(tmp_path / "*.csv"))
    data.iloc[50:].assign(extra=1.0).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv' has column\(s\) \['extra'\]"):
        Automater(target="binary").prepare(str(tmp_path / "*.csv"))


# ---------------------------------------------------------------------------------------------------- statistics
def test_bounded_counts_keep_every_frequent_value(monkeypatch):
    monkeypatch.setattr(streaming, "COUNTED_VALUES", 50)
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(0, 5, 3000), rng.integers(100, 10_000, 3000)])  # 5 heavy hitters
    rng.shuffle(values)
    running, summarised = None, False
    for chunk in np.array_split(values, 12):
        running, was = streaming._merge_counts(running, pd.Series(chunk).value_counts(sort=False))
        summarised |= was
    exact = pd.Series(values).value_counts()
    assert summarised and len(running) <= 50
    bound = len(values) / 51
    for value in range(5):
        assert exact[value] - bound <= running[value] <= exact[value]


def test_sample_is_uniform_and_bounded(monkeypatch):
    monkeypatch.setattr(streaming, "SAMPLE_ROWS", 500)
    rng = np.random.default_rng(0)
    sample = keys = None
    for start in range(0, 20_000, 700):
        chunk = pd.DataFrame({"row": np.arange(start, min(start + 700, 20_000))})
        sample, keys = streaming._sample_rows(sample, keys, chunk, rng)
    assert len(sample) == 500 and sample["row"].is_unique
    assert 8_000 < sample["row"].mean() < 12_000  # rows from the whole stream, not its start or end


def test_statistics_from_files_match_a_dataframe(tmp_path):
    data = mixed_frame(400)
    write_parts(data, tmp_path / "d")
    from_files = Automater(target="label").prepare(str(tmp_path / "d" / "*.parquet"))
    in_memory = Automater(target="label").prepare(data)
    assert {n: p.kind for n, p in from_files.profiles_.items()} == {n: p.kind for n, p in
                                                                   in_memory.profiles_.items()}
    # Every row is in the sample here, so the statistics are those of the frame.
    assert from_files.input_states_["num"] == pytest.approx(in_memory.input_states_["num"])
    assert from_files.input_states_["cat"] == in_memory.input_states_["cat"]
    assert from_files.input_states_["code"] == in_memory.input_states_["code"]
    assert from_files.targets_["label"].classes == in_memory.targets_["label"].classes


def test_rare_values_outside_the_sample_still_count(tmp_path, small_chunks):
    data = mixed_frame(1200)
    data["cat"] = data["cat"].fillna("a")
    data["num"] = data["num"].fillna(0.0)
    data.loc[1190:, "cat"] = "rare"      # 10 rows: most likely not in a 200-row sample
    data.loc[1195, "num"] = np.nan       # one missing value
    data.loc[1199, "label"] = "unseen"   # a class in one row
    write_parts(data, tmp_path / "d", parts=4, fmt="csv")
    auto = Automater(target="label").prepare(str(tmp_path / "d"))
    assert "rare" in auto.input_states_["cat"]["vocabulary"]
    assert auto.input_states_["num"]["missing_indicator"] is True
    assert "unseen" in auto.targets_["label"].classes
    profile = auto.profiles_["cat"]
    assert profile.rows == 1200 and profile.n_unique == 4 and "sample of 200 of 1,200 rows" in profile.reason


def test_rows_without_a_target_are_dropped_and_counted(tmp_path):
    data = mixed_frame(300)
    data.loc[[5, 150, 299], "binary"] = np.nan
    write_parts(data, tmp_path / "d", fmt="csv")
    with pytest.warns(UserWarning, match="Dropped 3 of 300 rows"):
        auto = Automater(target="binary", overrides=overrides(), seed=0, verbose=0).fit(str(tmp_path / "d"))
    assert auto.profiles_["num"].rows == 297


# ---------------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("cache_mb, feeding", [(2048, "cached"), (0, "streamed")])
def test_fit_predict_evaluate_on_files(tmp_path, small_chunks, cache_mb, feeding):
    data = mixed_frame(900)
    write_parts(data, tmp_path / "d")
    source = str(tmp_path / "d" / "*.parquet")
    auto = Automater(target="label", overrides=overrides(cache_mb), seed=0, verbose=0).fit(source)
    assert auto.feeding_ == feeding
    assert set(auto.history_) >= {"loss", "val_loss"} and len(auto.history_["loss"]) == 3

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
    data = mixed_frame(500)
    auto = Automater(target=["label", "price"], overrides=overrides(0), seed=0, verbose=0).fit(data)
    assert auto.feeding_ == "streamed"
    assert {"label_loss", "price_loss", "val_loss"} <= set(auto.history_)
    scores = auto.evaluate(data)
    assert 0 <= scores["label/accuracy"] <= 1 and np.isfinite(scores["price/rmse"])


def test_streamed_training_learns(tmp_path, small_chunks):
    rng = np.random.default_rng(2)
    colour = rng.choice(["red", "blue", "green"], 1500)
    data = pd.DataFrame({"colour": colour, "size": rng.normal(size=1500),
                         "y": np.where(colour == "red", "yes", "no")})
    write_parts(data, tmp_path / "d", fmt="csv")
    auto = Automater(target="y", overrides=overrides(0, epochs=15), seed=0, verbose=0).fit(str(tmp_path / "d"))
    assert auto.evaluate(str(tmp_path / "d"))["accuracy"] > 0.95


def test_validation_rows_are_the_same_every_epoch_and_disjoint(tmp_path, small_chunks):
    data = mixed_frame(600).assign(row=np.arange(600) + 0.5)  # a number that names its row
    write_parts(data, tmp_path / "d")
    auto = Automater(target="binary")
    files = streaming.prepare_files(auto, str(tmp_path / "d"))

    def rows(part):
        generate = streaming._file_pieces(auto, files, part, 0.25, seed=0, piece=64)
        return [set((np.concatenate([raw["row"] for raw, _ in generate()]) - 0.5).tolist()) for _ in range(2)]

    train, validation = rows("train"), rows("validation")
    assert train[0] == train[1] and validation[0] == validation[1]
    assert not train[0] & validation[0] and len(train[0] | validation[0]) == 600
    assert len(validation[0]) == files.part_rows("validation", 0.25, seed=0)
    assert 100 < len(validation[0]) < 200


# ---------------------------------------------------------------------------------------------------- memory
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
from keras_defaults import Automater, streaming

streaming.CHUNK_ROWS, streaming.SAMPLE_ROWS = 8192, 5000
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
        "shop": rng.choice([f"shop-{i}-" + "x" * 400 for i in range(2000)], rows),
        "note": [" ".join(row) for row in rng.choice(words, (rows, 30))],
        "flag": rng.random(rows) < 0.3,
        "y": np.where(x + rng.normal(size=rows) > 0, "yes", "no"),
    })


def peak_memory(files, out):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = {}
    for script in (MEMORY_SCRIPT, LOAD_SCRIPT):
        done = subprocess.run([sys.executable, "-c", script, ",".join(map(str, files)), str(out)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        result.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return result


def test_training_on_files_larger_than_the_memory_cap(tmp_path):
    """Fitting and predicting 600k rows from files takes little more memory than 100k rows: the extra peak stays
    under a cap of a quarter of the extra data's in-memory size (some 330 MB, four times the cap).

    The cap is measured with the peak resident memory of two identical processes that differ only in how much data
    they read, rather than imposed by the operating system: TensorFlow reserves far more address space than it uses,
    so an address-space limit says nothing about the data. A process that only loads the same data whole must break
    the cap, to show that the measure can fail.
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
