"""`Automater.feature_importance`: permutation importance per input column, in `evaluate`'s units."""

import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from keras_defaults import Automater
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, NotFittedError
from keras_defaults.importance import sample_rows

# Enough epochs for the planted signal to be learned well; still a second or two on CPU.
PLANTED = {**FAST, "training": {**FAST["training"], "epochs": 15}}
NOISE = ["noise_a", "noise_b", "noise_c"]


def planted_frame(rows, seed, regression=False):
    """One column that decides the target, three of pure noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x_signal": rng.normal(size=rows), **{name: rng.normal(size=rows) for name in NOISE}})
    frame["y"] = 3.0 * frame["x_signal"] if regression else (frame["x_signal"] > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def planted_binary():
    auto = Automater(target="y", overrides=PLANTED, seed=0, verbose=0).fit(planted_frame(800, seed=1))
    return auto, planted_frame(1000, seed=2)


def test_planted_column_ranks_first_and_noise_columns_get_about_zero(planted_binary):
    auto, test = planted_binary
    table = auto.feature_importance(test)
    assert list(table.columns) == ["importance", "std"] and table.index.name == "column"
    assert set(table.index) == {"x_signal", *NOISE}
    assert table.index[0] == "x_signal" and table.loc["x_signal", "importance"] > 0.2
    assert (table.loc[NOISE, "importance"].abs() < 0.02).all(), table
    assert table["importance"].is_monotonic_decreasing
    # The units are evaluate's: the baseline is the ROC-AUC evaluate reports on the same rows.
    assert table.attrs["metric"] == "roc_auc" and table.attrs["rows"] == len(test)
    assert table.attrs["baseline"] == pytest.approx(auto.evaluate(test)["roc_auc"])


def test_regression_importance_is_the_rise_of_rmse_in_target_units():
    auto = Automater(target="y", overrides=PLANTED, seed=0, verbose=0).fit(planted_frame(800, 1, regression=True))
    test = planted_frame(1000, 2, regression=True)
    table = auto.feature_importance(test, n_repeats=3)
    assert table.attrs["metric"] == "rmse"
    assert table.attrs["baseline"] == pytest.approx(auto.evaluate(test)["rmse"])
    # Shuffling the signal loses about all of y's spread (std 3): the error rises by more than 2 of y's units.
    assert table.index[0] == "x_signal" and table.loc["x_signal", "importance"] > 2.0
    assert (table.loc[NOISE, "importance"].abs() < 0.1).all(), table


def test_multi_target_returns_one_table_per_target(fitted_multi):
    auto, data = fitted_multi
    tables = auto.feature_importance(data, n_repeats=2)
    assert isinstance(tables, dict) and list(tables) == ["label", "price"]
    assert tables["label"].attrs["metric"] == "accuracy" and tables["price"].attrs["metric"] == "rmse"
    scores = auto.evaluate(data)
    assert tables["price"].attrs["baseline"] == pytest.approx(scores["price/rmse"])
    assert tables["label"].attrs["baseline"] == pytest.approx(scores["label/accuracy"])
    for table in tables.values():
        assert set(table.index) == set(auto.inputs_) and table["std"].ge(0).all()


def test_same_seed_gives_identical_table_and_another_seed_another(planted_binary):
    auto, test = planted_binary
    first = auto.feature_importance(test, n_repeats=2, seed=7)
    pd.testing.assert_frame_equal(first, auto.feature_importance(test, n_repeats=2, seed=7))
    assert not first.equals(auto.feature_importance(test, n_repeats=2, seed=8))
    # seed=None is the Automater's seed (0).
    pd.testing.assert_frame_equal(auto.feature_importance(test, n_repeats=2),
                                  auto.feature_importance(test, n_repeats=2, seed=0))


def test_max_rows_measures_on_a_sample_of_that_many_rows(planted_binary):
    auto, test = planted_binary
    assert auto.feature_importance(test, n_repeats=1, max_rows=300).attrs["rows"] == 300
    assert auto.feature_importance(test, n_repeats=1, max_rows=5000).attrs["rows"] == len(test)


def test_sample_rows_is_uniform_ordered_and_the_same_from_chunks_as_from_one_frame():
    frame = pd.DataFrame({"v": np.arange(1000)}, index=np.arange(1000) * 2)
    whole = sample_rows([frame], 100, np.random.default_rng(3))
    # Chunks small enough that the running sample is cut down many times on the way.
    chunked = sample_rows((frame.iloc[i:i + 70] for i in range(0, 1000, 70)), 100, np.random.default_rng(3))
    pd.testing.assert_frame_equal(whole, chunked)
    assert len(whole) == 100 and whole["v"].is_unique and whole["v"].is_monotonic_increasing
    assert (whole.index == whole["v"] * 2).all()  # rows kept whole, index with them
    assert whole["v"].mean() == pytest.approx(500, abs=100)  # drawn from all over, not the first rows
    assert sample_rows([], 10, np.random.default_rng(0)) is None


def test_rows_with_a_missing_target_are_dropped_as_evaluate_drops_them(planted_binary):
    auto, test = planted_binary
    test = test.astype({"y": "float64"})
    test.loc[test.index[:10], "y"] = np.nan
    with pytest.warns(UserWarning, match="10"):
        table = auto.feature_importance(test, n_repeats=1)
    assert table.attrs["rows"] == len(test) - 10


def test_files_and_a_loaded_automater_give_the_same_table(planted_binary, tmp_path):
    auto, test = planted_binary
    expected = auto.feature_importance(test, n_repeats=2)
    test.to_parquet(tmp_path / "test.parquet", index=False)
    pd.testing.assert_frame_equal(auto.feature_importance(str(tmp_path / "test.parquet"), n_repeats=2), expected)
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.feature_importance(test, n_repeats=2), expected)


@pytest.mark.parametrize("arguments, error, message", [
    ({"n_repeats": 0}, ConfigError, "n_repeats must be at least 1. Received: n_repeats=0"),
    ({"n_repeats": 2.5}, ConfigTypeError, "n_repeats must be a whole number"),
    ({"n_repeats": True}, ConfigTypeError, "n_repeats must be a whole number"),
    ({"max_rows": 0}, ConfigError, "max_rows must be at least 1"),
    ({"max_rows": "all"}, ConfigTypeError, "max_rows must be a whole number"),
    ({"seed": -1}, ConfigTypeError, "seed must be a whole number from 0"),
])
def test_bad_arguments_say_what_was_expected_and_received(planted_binary, arguments, error, message):
    auto, test = planted_binary
    with pytest.raises(error, match=message):
        auto.feature_importance(test, **arguments)


def test_a_frame_lacking_the_target_or_an_input_column_is_refused_naming_it(planted_binary):
    auto, test = planted_binary
    with pytest.raises(DataError, match="Target column 'y' is not in the DataFrame"):
        auto.feature_importance(test.drop(columns=["y"]))
    with pytest.raises(DataError, match="noise_b"):
        auto.feature_importance(test.drop(columns=["noise_b"]))
    with pytest.raises(NotFittedError, match="fit"):
        Automater(target="y").feature_importance(test)
    with warnings.catch_warnings(), pytest.raises(DataError, match="Every row has a missing value"):
        warnings.simplefilter("ignore")
        auto.feature_importance(test.assign(y=np.nan))
