import numpy as np
import pandas as pd
import pytest

from keras_defaults.defaults import Config
from keras_defaults.errors import DataError
from keras_defaults.schema import IGNORE, infer_column, infer_schema

CONFIG = Config.builtin()
SETTINGS = CONFIG.get("inference")
BOOLEANS = CONFIG.get("inputs", "boolean")


def kind_of(values, name="col", dtype=None, forced=None):
    return infer_column(pd.Series(values, dtype=dtype), name, SETTINGS, BOOLEANS, forced)


def test_floats_are_numerical():
    profile = kind_of(np.linspace(0, 1, 100))
    assert profile.kind == "numerical"
    assert "float64" in profile.reason


@pytest.mark.parametrize("dtype", ["int64", "Int64", "float64", "Float64", "int64[pyarrow]"])
def test_integer_codes_are_categorical(dtype):
    profile = kind_of([1, 2, 3, 1, 2, 3] * 10, dtype=dtype)
    assert profile.kind == "categorical"
    assert profile.input_dtype == "float32"
    assert "integer codes" in profile.reason


def test_many_integers_are_numerical():
    assert kind_of(np.arange(200) % 97 * 3).kind == "numerical"


def test_row_numbers_are_id_like():
    profile = kind_of(np.arange(100) + 1000, name="passenger_id")
    assert profile.kind == IGNORE
    assert "ID-like" in profile.reason


def test_sparse_unique_integers_named_id_are_id_like():
    assert kind_of(np.arange(100) * 37 + 5, name="customer_id").kind == IGNORE
    assert kind_of(np.arange(100) * 37 + 5, name="income").kind == "numerical"


@pytest.mark.parametrize("dtype", [object, "str", "category", "string[pyarrow]"])
def test_short_labels_are_categorical(dtype):
    profile = kind_of(["paris", "rome", "oslo", None] * 20, dtype=dtype)
    assert profile.kind == "categorical"
    assert profile.input_dtype == "string"
    assert profile.missing == 20


def test_numeric_strings_are_numerical():
    profile = kind_of([str(v) for v in np.linspace(0, 9, 60)] + [None])
    assert profile.kind == "numerical"
    assert "numeric strings" in profile.reason
    assert profile.input_dtype == "float32"


@pytest.mark.parametrize("values", [["yes", "no"], ["Y", "N"], ["true", "false"], [0, 1], [True, False],
                                    ["0", "1"], ["male", "female"]])
def test_two_valued_columns_are_boolean(values):
    assert kind_of(values * 20 + [None]).kind == "boolean"


def test_nullable_boolean_dtype():
    assert kind_of([True, False, None] * 10, dtype="boolean").kind == "boolean"


def test_free_text_next_to_short_labels():
    rng = np.random.default_rng(0)
    vocabulary = "the a ship sailed north south into fog storm calm harbour night morning crew".split()
    text = [" ".join(rng.choice(vocabulary, 6)) for _ in range(200)]
    frame = pd.DataFrame({"notes": text, "port": rng.choice(["north", "south", "east"], 200)})
    profiles = infer_schema(frame, SETTINGS, BOOLEANS, {})
    assert profiles["notes"].kind == "text"
    assert "words" in profiles["notes"].reason
    assert profiles["port"].kind == "categorical"


def test_unique_short_strings_are_id_like():
    assert kind_of([f"A{i:05d}" for i in range(100)]).kind == IGNORE


def test_high_cardinality_short_strings_are_categorical():
    values = [f"city{i % 300}" for i in range(1000)]
    assert kind_of(values).kind == "categorical"


def test_constant_and_empty_columns_are_set_aside_with_a_warning():
    frame = pd.DataFrame({"same": ["x"] * 30, "empty": [np.nan] * 30, "ok": np.arange(30) % 7 * 1.5})
    with pytest.warns(UserWarning, match=r"Left out 2 column\(s\).*'same' \(constant.*'empty' \(entirely missing"):
        profiles = infer_schema(frame, SETTINGS, BOOLEANS, {})
    assert profiles["same"].kind == IGNORE and profiles["empty"].kind == IGNORE
    assert profiles["ok"].kind == "numerical"


def test_dates_are_a_kind_of_their_own():
    profile = kind_of(pd.date_range("2020-01-01", periods=40))
    assert profile.kind == "datetime" and profile.reason == "dtype datetime64[us]"


def test_forced_kind_wins_and_says_so():
    profile = kind_of(np.linspace(0, 1, 50), forced="categorical")
    assert profile.kind == "categorical"
    assert profile.reason == "set by the user (categorical)"


def test_forcing_numerical_on_words_is_an_error():
    with pytest.raises(DataError, match=r"Column 'col' was set to kind 'numerical'.*pd.to_numeric"):
        kind_of(["a", "b", "c"] * 5, forced="numerical")


def test_user_ignored_columns_do_not_warn(recwarn):
    frame = pd.DataFrame({"a": np.arange(30) % 7 * 1.0, "b": ["x"] * 30})
    profiles = infer_schema(frame, SETTINGS, BOOLEANS, {"b": "ignore"})
    assert profiles["b"].kind == IGNORE and profiles["b"].forced
    assert not [w for w in recwarn if "Left out" in str(w.message)]


def test_numbers_mixed_with_strings_are_labels_with_a_warning():
    values = pd.Series([1, "a", 2.5, "b", None] * 10, dtype=object)
    with pytest.warns(UserWarning, match=r"Column 'col' mixes types, e.g. numbers and strings.*pd.to_numeric"):
        profile = infer_column(values, "col", SETTINGS, BOOLEANS)
    assert profile.kind == "categorical" and profile.input_dtype == "string"
    assert "mixing types" in profile.reason


def test_numbers_mixed_with_numeric_strings_are_numbers(recwarn):
    profile = kind_of(pd.Series([1, "2", 3.5, "4.25"] * 10 + [None], dtype=object))
    assert profile.kind == "numerical"
    assert not recwarn.list


def test_unused_category_levels_are_not_counted():
    values = pd.Categorical(["a", "b", "a", None] * 10, categories=["a", "b", "c", "d", "e"])
    profile = kind_of(values)
    assert profile.n_unique == 2 and profile.kind == "boolean"


def test_unicode_and_emoji_labels_are_categories():
    profile = kind_of(["café", "🐱", "中文", "naïve"] * 10)
    assert profile.kind == "categorical"
    assert profile.sample == ["café", "🐱", "中文"]


def test_forcing_a_kind_on_an_entirely_missing_column_is_an_error():
    with pytest.raises(DataError, match=r"Column 'col' was set to kind 'categorical' but is entirely missing.*ignore"):
        kind_of([None] * 10, dtype=object, forced="categorical")


def test_forcing_boolean_on_three_values_is_an_error():
    with pytest.raises(DataError, match=r"set to kind 'boolean' but has 3 distinct value\(s\).*'categorical'"):
        kind_of(["a", "b", "c"] * 5, forced="boolean")


def test_a_single_huge_level_is_still_a_category():
    profile = kind_of(["common"] * 990 + [f"rare{i}" for i in range(10)])
    assert profile.kind == "categorical"


def test_mixed_values_count_by_their_string_forms():
    same = pd.Series([1, "1", "a", None] * 10, dtype=object)
    with pytest.warns(UserWarning, match="mixes types"):
        assert infer_column(same, "col", SETTINGS, BOOLEANS).n_unique == 2  # '1' and 'a'
    assert kind_of(pd.Series([1, "1", "1.0", None] * 10, dtype=object)).kind == IGNORE  # one number
    two = pd.Series([0, "", None] * 10, dtype=object)
    with pytest.warns(UserWarning, match="mixes types"):
        profile = infer_column(two, "col", SETTINGS, BOOLEANS)
    assert profile.kind == "boolean" and profile.n_unique == 2


def test_two_values_float32_cannot_separate_are_not_boolean():
    assert kind_of([0.0, 5e-324] * 10).kind == "numerical"
    assert kind_of([0.0, 1e-45] * 10).kind == "numerical"  # 1 / 1e-45 overflows float32
    assert kind_of([0.0, 1e-30] * 10).kind == "boolean"


def test_integer_codes_must_fit_float32_exactly():
    assert kind_of([2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2] * 10).kind == "numerical"
    forced = kind_of([2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2] * 10, forced="categorical")
    assert forced.input_dtype == "string"


# -- the fast paths of the statistics pass learn what the simple ones do
MESSY_STRINGS = ["b", None, "", "a", "b", np.nan, "É long label " * 3, "b", "", "3.0", "a", " ", "😀"]


@pytest.mark.parametrize("dtype", ["str", "string", "string[pyarrow]", "string[python]", "object", "category"])
@pytest.mark.parametrize("values", [MESSY_STRINGS, ["x", "y", "x"], [None, None], [], ["", None, ""], ["only"]])
def test_string_values_and_counts_of_a_string_dtype_match_the_per_value_path(dtype, values):
    from keras_defaults.schema import string_counts, string_values

    series = pd.Series(values, dtype=dtype)
    simple = series.astype(object)  # the per-value path: missing values as "", every other value as itself
    expected = np.array(["" if pd.isna(v) else v for v in simple], dtype=object)
    got = string_values(series)
    assert got.dtype == object and list(got) == list(expected)
    assert all(type(v) is str for v in got)
    counts = string_counts(series)
    assert counts.index.dtype == object and counts.dtype == "int64"
    assert dict(counts) == dict(pd.Series(expected, dtype=object).value_counts())


@pytest.mark.parametrize("values", [
    [1.5, np.nan, 2.5, 1.5], ["b", None, "a", "b", ""], [3, 1, 3, 2], [True, False, None, True], [None, None],
    pd.array(["x", None, "y", "x"], dtype="string"), pd.Categorical(["a", None, "b", "a"], categories=["b", "a", "z"]),
    pd.to_datetime(["2024-01-01", None, "2024-01-02", "2024-01-01"]), ["a", None, "a"],
])
def test_distinct_values_are_counted_as_nunique_counts_them(values):
    from keras_defaults.schema import _sample

    series = pd.Series(values)
    profile = infer_column(series, "col", SETTINGS, BOOLEANS)
    assert profile.n_unique == series.nunique()
    assert profile.sample == _sample(list(pd.unique(series.dropna())))
