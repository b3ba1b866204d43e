"""The statistics pass over files: bounded counts, a uniform sample, and what they correct."""

import numpy as np
import pandas as pd
import pytest

from conftest import fast_settings, mixed_frame, write_parts
from keras_defaults import Automater, summaries


def test_bounded_counts_keep_every_frequent_value(monkeypatch):
    monkeypatch.setattr(summaries, "COUNTED_VALUES", 50)
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(0, 5, 3000), rng.integers(100, 10_000, 3000)])  # 5 heavy hitters
    rng.shuffle(values)
    running, summarised = None, False
    for chunk in np.array_split(values, 12):
        running, was = summaries._merge_counts(running, pd.Series(chunk).value_counts(sort=False))
        summarised |= was
    exact = pd.Series(values).value_counts()
    assert summarised and len(running) <= 50
    bound = len(values) / 51
    for value in range(5):
        assert exact[value] - bound <= running[value] <= exact[value]


def test_sample_is_uniform_and_bounded(monkeypatch):
    monkeypatch.setattr(summaries, "SAMPLE_ROWS", 500)
    rng = np.random.default_rng(0)
    sample = keys = None
    for start in range(0, 20_000, 700):
        chunk = pd.DataFrame({"row": np.arange(start, min(start + 700, 20_000))})
        sample, keys = summaries._sample_rows(sample, keys, chunk, rng)
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
    data.loc[1197, "num"] = 1e6          # the largest value: the training range is every row's, not the sample's
    data.loc[1199, "label"] = "unseen"   # a class in one row
    write_parts(data, tmp_path / "d", parts=4, fmt="csv")
    auto = Automater(target="label").prepare(str(tmp_path / "d"))
    assert "rare" in auto.input_states_["cat"]["vocabulary"]
    assert auto.input_states_["num"]["missing_indicator"] is True
    assert auto.input_states_["num"]["high"] == 1e6 and auto.input_states_["num"]["low"] == data["num"].min()
    assert "unseen" in auto.targets_["label"].classes
    profile = auto.profiles_["cat"]
    assert profile.rows == 1200 and profile.n_unique == 4 and "sample of 200 of 1,200 rows" in profile.reason


def test_rows_without_a_target_are_dropped_and_counted(tmp_path):
    data = mixed_frame(300)
    data.loc[[5, 150, 299], "binary"] = np.nan
    write_parts(data, tmp_path / "d", fmt="csv")
    with pytest.warns(UserWarning, match="Dropped 3 of 300 rows"):
        auto = Automater(target="binary", overrides=fast_settings(), seed=0, verbose=0).fit(str(tmp_path / "d"))
    assert auto.profiles_["num"].rows == 297
