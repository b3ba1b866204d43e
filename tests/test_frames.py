"""The checks on training frames: each bad input gets an error (or a warning) that names the column and the fix."""

import numpy as np
import pandas as pd
import pytest

from keras_defaults import frames
from keras_defaults.errors import DataError


def small(rows=30):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=rows), "y": rng.choice(["a", "b"], rows)})


def test_as_frame_copies_the_users_frame():
    data = small()
    copied = frames.as_frame(data)
    copied.loc[0, "x"] = 99.0
    assert data.loc[0, "x"] != 99.0


@pytest.mark.parametrize("data, match", [
    (pd.Series([1, 2], name="x"), r"Received: a Series named 'x'. For one row, .*df.iloc\[\[i\]\].*series.to_frame\(\)"),
    ([[1, 2]], r"Expected a DataFrame \(pandas, polars, or a pyarrow Table\).* Received: list"),
    (np.zeros((2, 2)), r"Received: ndarray"),
])
def test_only_data_frames_are_accepted(data, match):
    with pytest.raises(DataError, match=match):
        frames.as_frame(data)


def test_duplicate_column_names_are_named():
    data = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(DataError, match=r"more than once: \['a'\]. Rename them"):
        frames.as_frame(data)


@pytest.mark.parametrize("columns", [[0, "b"], [("a", 1), "b"], [1.5, "b"]])
def test_non_string_column_names_are_named_with_the_fix(columns):
    data = pd.DataFrame([[1, 2]], columns=columns)
    with pytest.raises(DataError, match=r"must be strings; these are not: .*df.columns.map\(str\)"):
        frames.as_frame(data)


def test_predict_accepts_any_names_for_columns_it_does_not_use():
    data = pd.DataFrame([[1, 2, 3]], columns=["a", 0, 0])
    assert list(frames.as_frame(data, strict=False).columns) == ["a", 0, 0]


def test_an_empty_frame_is_refused():
    with pytest.raises(DataError, match=r"The DataFrame is empty \(0 rows\)"):
        frames.check_targets(small().iloc[:0], ["y"])


def test_a_missing_target_suggests_the_closest_name():
    with pytest.raises(DataError, match=r"Target column 'Y' is not in the DataFrame. Did you mean 'y'\?"):
        frames.check_targets(small(), ["Y"])


def test_a_target_named_twice_is_refused():
    with pytest.raises(DataError, match=r"Target\(s\) \['y'\] are listed more than once"):
        frames.check_targets(small(), ["y", "x", "y"])


def test_a_target_column_present_twice_is_refused():
    data = pd.DataFrame([[1, 2, 3]], columns=["y", "x", "y"])
    with pytest.raises(DataError, match=r"Target column 'y' appears more than once"):
        frames.check_targets(data, ["y"])


def test_rows_without_a_target_are_dropped_and_counted():
    data = small(10)
    data.loc[[1, 4], "y"] = None
    with pytest.warns(UserWarning, match=r"Dropped 2 of 10 rows whose target \(y\) is missing"):
        kept = frames.drop_missing_targets(data, ["y"])
    assert len(kept) == 8


def test_a_target_missing_everywhere_is_refused():
    data = small(10).assign(y=None)
    with pytest.raises(DataError, match="Every row has a missing value in target"):
        frames.drop_missing_targets(data, ["y"])


def test_one_row_is_too_few_and_the_minimum_is_said():
    with pytest.raises(DataError, match=rf"Too few rows to train: 1 row\(s\).*at least {frames.MIN_ROWS}"):
        frames.check_rows(small(1), ["y"], 0.2)


def test_ten_rows_train_without_a_validation_split_with_a_warning():
    with pytest.warns(UserWarning, match=r"Only 10 rows: too few to hold out a validation set.*without early stopping"):
        frames.check_rows(small(10), ["y"], 0.2)
    assert frames.validation_rows(10, 0.2) == 0


def test_enough_rows_split_silently(recwarn):
    frames.check_rows(small(100), ["y"], 0.2)
    assert not recwarn.list
    assert frames.validation_rows(100, 0.2) == 20
    assert frames.validation_rows(100, 0.0) == 0


def test_infinite_and_float32_overflowing_values_become_missing_with_a_warning():
    data = pd.DataFrame({
        "inf": [1.0, np.inf, -np.inf, 2.0, 3.0],
        "huge": [1e300, 1.0, 2.0, -1e300, 3.0],
        "fine": [1e30, -1e30, 0.0, 1.0, 2.0],
        "strings": ["1", "inf", "2", "3", "4"],
        "labels": ["inf", "a", "b", "c", "d"],
    })
    before = data.copy()
    with pytest.warns(UserWarning, match=r"'inf' \(2\), 'huge' \(2\), 'strings' \(1\) are read as missing"):
        cleaned = frames.non_finite_as_missing(data, list(data.columns))
    assert cleaned["inf"].isna().tolist() == [False, True, True, False, False]
    assert cleaned["huge"].isna().tolist() == [True, False, False, True, False]
    assert cleaned["fine"].notna().all()
    assert cleaned["labels"].tolist() == ["inf", "a", "b", "c", "d"]
    pd.testing.assert_frame_equal(data, before)


def test_finite_frames_pass_through_silently(recwarn):
    data = small()
    assert frames.non_finite_as_missing(data, ["x", "y"]) is data
    assert not recwarn.list


def test_a_regression_target_beyond_float32_is_refused():
    with pytest.raises(DataError, match=r"Target 'price' has values beyond float32's range.*Rescale it"):
        frames.check_target_range(pd.Series([1.0, 1e300, 2.0]), "price")
    frames.check_target_range(pd.Series([1.0, 1e30, np.nan]), "price")


def test_an_input_that_repeats_the_target_is_named():
    data = small().assign(copy=lambda d: d["y"])
    with pytest.warns(UserWarning, match=r"Input column\(s\) \['copy'\] hold exactly the values of target 'y'.*"
                                         r"column_types=\{'copy': 'ignore'\}"):
        frames.warn_leaks(data, ["y"], ["x", "copy"])


def test_a_column_named_like_a_path_protocol_is_still_a_column():
    # A DataFrame has an attribute per column: one named '__fspath__' must not make it look like a file path.
    data = pd.DataFrame({"__fspath__": [1.0, 2.0], "y": ["a", "b"]})
    assert list(frames.as_frame(data).columns) == ["__fspath__", "y"]
