import builtins
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

# Few epochs: the tests check behaviour, not accuracy (the benchmarks measure that).
FAST = {"training": {"epochs": 3, "batch_size": 64}, "body": {"units": [16]}}


def mixed_frame(rows=160, seed=0):
    """Every kind of column, missing values in each, and targets of every type."""
    rng = np.random.default_rng(seed)
    words = ["red fox jumps", "lazy dog sleeps", "quick brown cat", "slow green turtle walks", "big blue whale"]
    x = rng.normal(size=rows)
    frame = pd.DataFrame({
        "num": x,
        "num_int": rng.integers(0, 1000, rows),
        "cat": rng.choice(["a", "b", "c"], rows),
        "code": rng.choice([1, 2, 3, 4], rows),
        "flag": rng.choice([True, False], rows),
        "yesno": rng.choice(["yes", "no"], rows),
        "text": [f"{words[i % 5]} number {i} {words[(i * 7) % 5]}" for i in range(rows)],
        "price": np.round(np.exp(2 + x + rng.normal(scale=0.3, size=rows)), 2),
        "label": np.where(x > 0.5, "high", np.where(x < -0.5, "low", "mid")),
        "binary": (x + rng.normal(scale=0.5, size=rows) > 0).astype(int),
    })
    frame.loc[rng.random(rows) < 0.1, "num"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "cat"] = None
    frame.loc[rng.random(rows) < 0.1, "text"] = None
    frame["flag"] = frame["flag"].astype("boolean")
    frame.loc[rng.random(rows) < 0.1, "flag"] = pd.NA
    frame["code"] = frame["code"].astype("Int64")
    frame.loc[rng.random(rows) < 0.1, "code"] = pd.NA
    return frame


@pytest.fixture
def frame():
    return mixed_frame()


@pytest.fixture(scope="session")
def fitted_binary():
    from keras_defaults import Automater

    data = mixed_frame()
    auto = Automater(target="binary", overrides=FAST, seed=0, verbose=0)
    auto.fit(data.drop(columns=["price", "label"]))
    return auto, data


@pytest.fixture(scope="session")
def fitted_multi():
    """Several targets at once: a multiclass and a regression head."""
    from keras_defaults import Automater

    data = mixed_frame()
    auto = Automater(target=["label", "price"], overrides=FAST, seed=0, verbose=0)
    auto.fit(data.drop(columns=["binary"]))
    return auto, data


def awkward_rows(data):
    """Rows of `mixed_frame` with a NaN, an unseen label or a missing value in each kind of column."""
    rows = data.head(12).copy()
    rows.loc[rows.index[0], "num"] = np.nan
    rows.loc[rows.index[1], "cat"] = "never-seen"
    rows.loc[rows.index[2], "text"] = "words nobody used before"
    rows.loc[rows.index[3], "code"] = pd.NA
    rows.loc[rows.index[4], "flag"] = pd.NA
    rows.loc[rows.index[5], "yesno"] = "perhaps"
    return rows


def load_benchmark(name):
    """The script benchmarks/<name>.py as a module, loaded from its file. A script puts the benchmarks folder first on
    the path to import its neighbours (datasets, report, ...); that is undone once it is loaded, so that they never
    shadow other modules."""
    import importlib.util
    import sys
    from pathlib import Path

    path = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks" /
                                                      f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path
    return module


def fast_settings(cache_mb=2048, **training):
    """FAST, with encoded features cached up to `cache_mb` MiB (0: always streamed) and other training settings."""
    return {**FAST, "training": {**FAST["training"], "feature_cache_mb": cache_mb, **training}}


def write_parts(frame, directory, parts=3, fmt="parquet"):
    """`frame` split into `parts` CSV or Parquet files in `directory`."""
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
    from keras_defaults import sources, summaries

    monkeypatch.setattr(sources, "CHUNK_ROWS", 150)
    monkeypatch.setattr(summaries, "SAMPLE_ROWS", 200)


@pytest.fixture
def without_matplotlib(monkeypatch):
    """Importing matplotlib fails, as where the `plots` extra is not installed."""
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
