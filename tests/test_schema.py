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


def test_dates_are_set_aside_and_say_why():
    profile = kind_of(pd.date_range("2020-01-01", periods=40))
    assert profile.kind == IGNORE
    assert "dates" in profile.reason


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
