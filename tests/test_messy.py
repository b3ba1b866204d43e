"""Messy DataFrames at fit and at predict: a clear error naming the column and the fix, or a documented, warned
behaviour; never an obscure crash, never NaN predictions, never a change to the user's frame."""

import json
import time
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import FAST, mixed_frame, write_parts
from keras_defaults import Automater
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError
from keras_defaults.profile_check import compare

# Behaviour, not accuracy: the smallest training that runs every code path.
TINY = {"training": {"epochs": 2, "batch_size": 64}, "body": {"units": [8]}}


def fit(target, data, **kwargs):
    kwargs.setdefault("overrides", TINY)
    return Automater(target=target, seed=0, verbose=0, **kwargs).fit(data)


def messy_frame(rows=120, seed=0):
    """Every kind of column, plus unicode names and labels, a category dtype with unused levels, and values that
    are infinite, beyond float32, or of mixed types."""
    rng = np.random.default_rng(seed)
    frame = mixed_frame(rows, seed).drop(columns=["price", "label"])
    frame["pays 🌍"] = rng.choice(["France", "Ελλάδα", "日本", "🇧🇷"], rows)
    frame["size"] = pd.Categorical(rng.choice(["S", "M", "L"], rows), categories=["XS", "S", "M", "L", "XL"])
    frame["wild"] = rng.normal(size=rows)
    frame.loc[frame.index[:3], "wild"] = [np.inf, -np.inf, 1e300]
    frame["mixed"] = pd.Series(rng.choice([1, 2, "n/a", "unknown", 3.5], rows).tolist(), dtype=object)
    return frame


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A model fitted on the messy frame, saved: each test loads its own copy, so once-only warnings start afresh."""
    data = messy_frame()
    path = tmp_path_factory.mktemp("messy") / "run"
    quiet(fit, "binary", data).save(path)
    return path, data


def fresh(saved):
    path, data = saved
    return Automater.load(path), data.copy()


def assert_valid_predictions(auto, rows):
    predictions = auto.predict(rows)
    assert predictions.index.equals(rows.index)
    assert set(predictions) <= set(auto.targets_["binary"].classes)
    probabilities = auto.predict_proba(rows)
    assert np.isfinite(probabilities.to_numpy()).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


# ---------------------------------------------------------------------------------------------- at fit
def test_empty_frame_is_refused():
    with pytest.raises(DataError, match=r"The DataFrame is empty \(0 rows\): fit needs rows"):
        Automater(target="binary").fit(mixed_frame().iloc[:0])


def test_an_empty_frame_to_evaluate_is_refused_naming_evaluate(fitted_binary):
    auto, data = fitted_binary
    with pytest.raises(DataError, match=r"The DataFrame is empty \(0 rows\): evaluate needs rows with a value"):
        auto.evaluate(data.iloc[:0])


def test_missing_target_suggests_close_names(frame):
    with pytest.raises(DataError, match=r"Target column 'Binary' is not in the DataFrame. Did you mean 'binary'\?"):
        Automater(target="Binary").fit(frame)


@pytest.mark.parametrize("values, match", [
    ([np.nan] * 160, "Every row has a missing value in target"),
    ([1.0, np.nan] * 80, r"Target 'binary' has a single value \(\[1\.0\]\)"),
    (pd.Categorical(["a"] * 160, categories=["a", "b", "c"]), r"Target 'binary' has a single value \(\['a'\]\)"),
])
def test_target_all_missing_or_one_class_is_refused(frame, values, match):
    frame["binary"] = values
    with pytest.raises(DataError, match=match):
        quiet(Automater(target="binary").prepare, frame)


def test_target_listed_twice_is_refused(frame):
    with pytest.raises(DataError, match=r"Target\(s\) \['binary'\] are listed more than once"):
        Automater(target=["binary", "binary"]).prepare(frame)


def test_target_set_aside_as_an_input_is_refused(frame):
    with pytest.raises(ConfigError, match=r"Target column\(s\) \['binary'\] are set to kind 'ignore'.*column_types="):
        Automater(target="binary", column_types={"binary": "ignore"}).prepare(frame)


def test_input_that_repeats_the_target_is_named(frame):
    frame["answer"] = frame["binary"]
    with pytest.warns(UserWarning, match=r"Input column\(s\) \['answer'\] hold exactly the values of target"):
        Automater(target="binary").prepare(frame)


def test_duplicate_column_names_are_refused(frame):
    frame.columns = [*frame.columns[:-1], "num"]
    with pytest.raises(DataError, match=r"more than once: \['num'\]"):
        Automater(target="label").fit(frame)


def test_non_string_column_names_are_refused(frame):
    frame[7] = 1.0
    with pytest.raises(DataError, match=r"Column names must be strings; these are not: \[7\]"):
        Automater(target="binary").fit(frame)


def test_infinities_in_an_input_are_read_as_missing_with_a_warning():
    data = mixed_frame(100).drop(columns=["price", "label"])
    data.loc[data.index[:4], "num"] = [np.inf, -np.inf, np.inf, 5.0]
    with pytest.warns(UserWarning, match=r"column\(s\) 'num' \(3\) are read as missing"):
        auto = fit("binary", data)
    assert auto.input_states_["num"]["missing_indicator"]
    assert np.isfinite(auto.input_states_["num"]["median"])
    assert_valid_predictions(auto, data)


def test_infinities_in_a_regression_target_are_refused(frame):
    frame.loc[frame.index[0], "price"] = np.inf
    with pytest.raises(DataError, match=r"Target 'price' has infinite values \(1 row\(s\)\). Remove those rows"):
        Automater(target="price").prepare(frame)


def test_entirely_missing_constant_and_id_like_columns_are_left_out_with_a_warning(frame):
    frame["nothing"] = np.nan
    frame["same"] = "x"
    frame["row_id"] = np.arange(len(frame)) + 1000
    with pytest.warns(UserWarning, match=r"Left out 3 column\(s\): 'nothing' \(entirely missing\); 'same' \(constant"
                                         r".*'row_id' \(.*ID-like"):
        auto = Automater(target="binary").prepare(frame)
    assert {auto.profiles_[c].kind for c in ("nothing", "same", "row_id")} == {"ignore"}
    assert not {"nothing", "same", "row_id"} & set(auto.preprocessor_.input)


def test_a_category_with_a_single_huge_level_trains():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=300), "y": rng.choice(["a", "b"], 300),
                         "city": ["Paris"] * 294 + [f"town{i}" for i in range(6)]})
    auto = fit("y", data)
    assert auto.profiles_["city"].kind == "categorical"
    assert auto.input_states_["city"]["vocabulary"][0] == "Paris"
    predictions = auto.predict(data)
    assert len(predictions) == 300 and set(predictions) <= {"a", "b"}


def test_numbers_and_strings_in_one_column_are_labels_with_a_warning():
    data = mixed_frame(100).drop(columns=["price", "label"])
    data["mixed"] = pd.Series([1, "n/a", 2.5, "unknown"] * 25, dtype=object)
    with pytest.warns(UserWarning, match=r"Column 'mixed' mixes types"):
        auto = fit("binary", data)
    assert auto.profiles_["mixed"].kind == "categorical"
    assert set(auto.input_states_["mixed"]["vocabulary"]) == {"1", "n/a", "2.5", "unknown"}
    rows = data.head(4).assign(mixed=pd.Series([1.0, "1", "new", None], index=data.index[:4], dtype=object))
    with pytest.warns(UserWarning, match=r"Column 'mixed' had no missing values in training"):
        assert_valid_predictions(auto, rows)


def test_one_row_is_too_few_to_train(frame):
    with pytest.raises(DataError, match=r"Too few rows to train: 1 row\(s\).*at least 2"):
        Automater(target="binary").fit(frame.head(1))


def test_ten_rows_train_without_a_validation_split_with_a_warning(frame):
    data = frame.drop(columns=["price", "label"]).head(10)
    with pytest.warns(UserWarning, match=r"Only 10 rows: too few to hold out a validation set"):
        auto = fit("binary", data)
    assert "val_loss" not in auto.history_
    assert_valid_predictions(auto, data)


def test_a_thousand_columns_train_and_predict_in_reasonable_time():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(60, 1000)), columns=[f"c{i}" for i in range(1000)])
    data["y"] = np.where(data["c0"] > 0, "up", "down")
    start = time.perf_counter()
    auto = quiet(fit, "y", data)
    predictions = auto.predict(data)
    elapsed = time.perf_counter() - start
    assert len(predictions) == 60 and set(predictions) <= {"up", "down"}
    # About 15 s here; a traced graph of 1,000 per-column layers took over two minutes.
    assert elapsed < 120, elapsed


def test_very_long_text_trains_and_predicts():
    rng = np.random.default_rng(0)
    words = np.array("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split())
    text = [" ".join(rng.choice(words, 18_000)) for _ in range(40)]  # about 100,000 characters each
    assert min(map(len, text)) > 90_000
    data = pd.DataFrame({"notes": text, "x": rng.normal(size=40), "y": rng.choice(["a", "b"], 40)})
    auto = quiet(fit, "y", data, column_types={"notes": "text"})
    assert auto.profiles_["notes"].kind == "text"
    assert np.isfinite(auto.predict_proba(data).to_numpy()).all()


def test_unicode_and_emoji_in_names_and_categories_survive_save_and_export(tmp_path):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({
        "âge du capitaine": rng.normal(40, 10, 120),
        "pays 🌍": rng.choice(["France", "Ελλάδα", "日本", "🇧🇷"], 120),
        "a/b": rng.normal(size=120),
        "résultat ✅": rng.choice(["oui 👍", "non 👎"], 120),
    })
    auto = fit("résultat ✅", data)
    predictions = auto.predict(data)
    assert predictions.name == "résultat ✅" and set(predictions) <= {"oui 👍", "non 👎"}
    assert "France" in auto.input_states_["pays 🌍"]["vocabulary"]
    assert "pays 🌍" in auto.model.input  # the raw input keeps the column's name
    auto.save(tmp_path / "run")
    np.testing.assert_array_equal(Automater.load(tmp_path / "run").predict_proba(data).to_numpy(),
                                  auto.predict_proba(data).to_numpy())
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text(encoding="utf-8"))
    arguments = [spec["argument"] for spec in signature["inputs"].values()]
    assert all(name.isascii() and name.replace("_", "").isalnum() for name in arguments)
    assert len(set(arguments)) == len(arguments)


def test_column_names_that_clash_with_layer_names_train():
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    names = ["num", "num_fill", "num__fill", "num_missing", "features", "preprocessor", "network",
             "body_dense_0", "", " ", "a b", "a_b", "_x"]
    data = pd.DataFrame({name: x + i for i, name in enumerate(names)})
    data.loc[data.index[:5], "num"] = np.nan
    data["y"] = np.where(x > 0, "up", "down")
    auto = fit("y", data)
    assert set(auto.model.input) == set(names)
    assert_valid = auto.predict_proba(data)
    assert np.isfinite(assert_valid.to_numpy()).all()


def test_category_dtype_unused_levels_do_not_inflate_vocabularies():
    rng = np.random.default_rng(0)
    levels = ["XS", "S", "M", "L", "XL", "XXL"]
    data = pd.DataFrame({
        "size": pd.Categorical(rng.choice(["S", "M", "L"], 100), categories=levels),
        "x": rng.normal(size=100),
        "grade": pd.Categorical(rng.choice(["A", "B", "C"], 100), categories=["A", "B", "C", "D", "E"]),
    })
    auto = fit("grade", data)
    assert sorted(auto.input_states_["size"]["vocabulary"]) == ["L", "M", "S"]
    assert auto.targets_["grade"].classes == ["A", "B", "C"]
    assert list(auto.predict_proba(data).columns) == ["A", "B", "C"]


def test_extreme_numeric_ranges_never_give_nan_predictions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    data = pd.DataFrame({
        "astronomical": x * 1e300,       # beyond float32: read as missing
        "huge_spread": x * 1e30,         # within float32, but its variance is not
        "tiny": x * 1e-30,
        "signal": x,
        "y": np.where(x > 0, "up", "down"),
    })
    with pytest.warns(UserWarning) as said:
        auto = fit("y", data)
    messages = " | ".join(str(w.message) for w in said)
    assert "'astronomical' (120) are read as missing" in messages
    assert "Left out 1 column(s): 'astronomical' (entirely missing)" in messages  # nothing finite is left in it
    assert np.isfinite(auto.input_states_["huge_spread"]["scale"])
    assert_valid = auto.predict_proba(data.assign(huge_spread=-3e38, tiny=1e-45))
    assert np.isfinite(assert_valid.to_numpy()).all()


def test_a_regression_target_beyond_float32_is_refused():
    data = pd.DataFrame({"x": np.arange(30.0), "y": np.linspace(1, 2, 30) * 1e300})
    with pytest.raises(DataError, match=r"Target 'y' has values beyond float32's range"):
        Automater(target="y").prepare(data)


def imbalanced(rows=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "noise": rng.normal(size=rows), "y": np.where(x > 1.7, "rare", "common")})


def test_heavy_class_imbalance_is_warned_and_can_be_weighted():
    data = imbalanced()
    settings = {"training": {"epochs": 15, "batch_size": 64}, "body": {"units": [8]}}
    with pytest.warns(UserWarning, match=r"Target 'y' is heavily imbalanced: its rarest class 'rare' has \d+ of 300 "
                                         r"rows.*Rows are not weighted.*class_weight: balanced"):
        unweighted = fit("y", data, overrides=settings)
    with pytest.warns(UserWarning, match=r"Rows are weighted so that each class counts equally"):
        balanced = fit("y", data, overrides={**settings, "training": {**settings["training"],
                                                                      "class_weight": "auto"}})
    rare = data["y"] == "rare"
    # Weighting makes the rare class count: the model gives it more probability, where it belongs.
    assert balanced.predict_proba(data)["rare"][rare].mean() > unweighted.predict_proba(data)["rare"][rare].mean()
    assert (balanced.predict(data)[rare] == "rare").mean() >= (unweighted.predict(data)[rare] == "rare").mean()


def test_balanced_classes_are_not_weighted_or_warned(recwarn):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=60), "y": rng.choice(["a", "b"], 60)})
    Automater(target="y").prepare(data)
    assert not [w for w in recwarn if "imbalanced" in str(w.message)]


def test_an_unknown_class_weight_is_refused():
    with pytest.raises(ConfigError, match=r"Received: class_weight='balance'. Did you mean 'balanced'\?"):
        quiet(Automater(target="y", overrides={"training": {"class_weight": "balance"}}).prepare, imbalanced())


# ---------------------------------------------------------------------------------------------- at predict
def test_missing_columns_are_listed(saved):
    auto, data = fresh(saved)
    with pytest.raises(DataError, match=r"lacks 2 column\(s\) the model was trained on: \['num', 'pays 🌍'\].*"
                                        r"\('num': Did you mean 'Num'\?\)"):
        auto.predict(data.drop(columns=["pays 🌍"]).rename(columns={"num": "Num"}))


def test_extra_columns_are_ignored_and_said_once(saved, recwarn):
    auto, data = fresh(saved)
    rows = data.assign(comment="hello", score=1.0)
    expected = auto.predict_proba(data)
    pd.testing.assert_frame_equal(auto.predict_proba(rows), expected)
    auto.predict(rows)
    said = [w for w in recwarn if "Ignoring 2 column(s) the model was not trained on: ['comment', 'score']"
            in str(w.message)]
    assert len(said) == 1


def test_target_column_at_predict_is_neither_needed_nor_extra(saved, recwarn):
    auto, data = fresh(saved)
    auto.predict(data.drop(columns=["binary"]))
    auto.predict(data)
    assert not [w for w in recwarn if "Ignoring" in str(w.message)]


def test_numbers_arriving_as_strings_are_read_as_numbers(saved, recwarn):
    auto, data = fresh(saved)
    as_text = data.assign(num=data["num"].map(lambda v: None if pd.isna(v) else repr(float(v))),
                          num_int=data["num_int"].astype(str))
    np.testing.assert_allclose(auto.predict_proba(as_text).to_numpy(), auto.predict_proba(data).to_numpy(),
                               atol=1e-6)
    assert not [w for w in recwarn if "arrives as" in str(w.message)]


def test_strings_that_are_not_numbers_are_counted_and_read_as_missing(saved):
    auto, data = fresh(saved)
    rows = data.head(10).assign(num_int=["12", "abc", "7", "?", "", "3", "4", "5", "6", "8"])
    with pytest.warns(UserWarning, match=r"Column 'num_int' is read as numbers \(training dtype int64\), but 3 of "
                                         r"10 value\(s\) here \(dtype (object|str)\) do not read as numbers"):
        assert_valid_predictions(auto, rows)


def test_unseen_categories_are_accepted(saved, recwarn):
    auto, data = fresh(saved)
    rows = data.head(6).copy()
    rows["pays 🌍"] = ["Atlantis", "🏴‍☠️", "France", "日本", "", "Ελλάδα"]
    rows["size"] = pd.Categorical(["XXL", "S", "M", "L", "XS", "S"])
    rows["mixed"] = ["brand new", 99, 1, "n/a", "?", 2]
    assert_valid_predictions(auto, rows)
    assert not recwarn.list


def test_missing_values_where_training_had_none_are_filled_and_said_once(saved):
    auto, data = fresh(saved)
    rows = data.head(20).copy()
    assert auto.profiles_["num_int"].missing == 0
    rows["num_int"] = np.nan
    with pytest.warns(UserWarning, match=r"Column 'num_int' had no missing values in training, but 20 of 20 row\(s\)"
                                         r" here are missing: they are filled with the training median"):
        assert_valid_predictions(auto, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto.predict(rows)


def test_column_order_and_the_callers_index_are_kept(saved):
    auto, data = fresh(saved)
    expected = auto.predict_proba(data).to_numpy()
    for index in (pd.Index([f"row {i}" for i in range(len(data))]), pd.Index([7] * len(data)),
                  pd.date_range("2024-01-01", periods=len(data)), pd.RangeIndex(1000, 1000 + len(data))):
        shuffled = data[data.columns[::-1]].set_axis(index)
        assert auto.predict(shuffled).index.equals(index)
        probabilities = auto.predict_proba(shuffled)
        assert probabilities.index.equals(index)
        np.testing.assert_array_equal(probabilities.to_numpy(), expected)


def test_the_schema_check_reads_the_profile_saved_with_the_model(saved):
    auto, data = fresh(saved)
    rows = data.head(5).drop(columns=["cat"]).assign(extra=1, num_int=["1", "x", "3", "4", "5"])
    rows.loc[rows.index[0], "pays 🌍"] = None
    differences = compare(rows, auto.profiles_, auto.targets)
    assert differences.missing == ["cat"]
    assert differences.extra == ["extra"]
    assert differences.unreadable == {"num_int": ("int64", str(rows["num_int"].dtype), 1)}
    assert differences.newly_missing == {"pays 🌍": 1}
    assert differences.duplicated == []


def test_a_column_needed_twice_is_refused(saved):
    auto, data = fresh(saved)
    rows = pd.concat([data, data[["num"]]], axis=1)
    with pytest.raises(DataError, match=r"Column\(s\) \['num'\] appear more than once"):
        auto.predict(rows)


def test_values_that_are_neither_strings_nor_numbers_are_read_as_missing_with_a_warning(saved):
    auto, data = fresh(saved)
    rows = data.head(3).assign(num=[{"a": 1}, {"b": 2}, {"c": 3}])
    with pytest.warns(UserWarning, match=r"Column 'num' is read as numbers \(training dtype float64\), but 3 of 3 "
                                         r"value\(s\) here \(dtype object\) do not read as numbers and are treated "
                                         r"as missing\. Convert it with pd\.to_numeric"):
        probabilities = auto.predict_proba(rows)
    quiet(assert_valid_predictions, auto, rows)
    # Treated as missing: the very predictions of the same rows with the values missing.
    missing = quiet(auto.predict_proba, data.head(3).assign(num=np.nan))
    pd.testing.assert_frame_equal(probabilities, missing)


# ---------------------------------------------------------------------------------------------- never in place
@pytest.mark.parametrize("method", ["prepare", "fit", "predict", "predict_proba", "evaluate"])
def test_no_public_method_modifies_the_users_frame(saved, method):
    auto, data = fresh(saved)
    before = data.copy()
    dtypes = data.dtypes.copy()
    if method in ("prepare", "fit"):
        auto = Automater(target="binary", overrides=TINY, seed=0, verbose=0)
    quiet(getattr(auto, method), data)
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    pd.testing.assert_series_equal(data.dtypes, dtypes)


@pytest.mark.parametrize("labels", [[1, "1", "a"], ["0.0", "-0.0", "1.0"]])
def test_a_target_whose_labels_are_one_value_written_differently_is_refused(labels):
    data = pd.DataFrame({"x": np.arange(30.0), "y": pd.Series(labels * 10, dtype=object)})
    with pytest.raises(DataError, match=r"Target 'y' holds labels that are one value written in different ways.*"
                                        r"astype\(str\)"):
        quiet(Automater(target="y").prepare, data)


def test_numeric_strings_written_differently_are_one_regression_target():
    values = [f"{v:.1f}" for v in np.linspace(-5, 5, 40)] + ["-0.0", "0.0"]
    auto = quiet(Automater(target="y").prepare, pd.DataFrame({"x": np.linspace(0, 1, 42) ** 2, "y": values}))
    assert auto.targets_["y"].kind == "numerical"


def clear_error_frames():
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"x": rng.normal(size=40), "y": [0, 1] * 20})
    return {
        "a 0/1 target with an infinity": (base.assign(y=[0.0, 1.0] * 19 + [np.inf, 1.0]), DataError,
                                           r"Target 'y' has infinite values \(1 row"),
        "complex numbers": (base.assign(x=base["x"] + 1j), DataError, r"Column 'x' holds complex numbers"),
        "integers beyond floats": (base.assign(z=pd.Series([10 ** 400 + i for i in range(40)], dtype=object)),
                                   DataError, r"Column 'z' holds integers beyond the range of a float"),
        "Python dicts": (base.assign(meta=pd.Series([{"a": 1}, {"a": 2, "b": 3}] * 20, dtype=object)), DataError,
                         r"Column 'meta' holds mappings.*pd\.json_normalize\(df\['meta'\]\.tolist\(\)\)"),
        "Arrow records": (base.assign(meta=pd.Series([{"a": 1}, {"a": 2}] * 20,
                                                     dtype=pd.ArrowDtype(pa.struct([("a", pa.int64())])))),
                          DataError, r"Column 'meta' holds records \(struct<a: int64>\)"),
        # Once read as a number, whose every value was missing: "has infinite values".
        "a target of distinct labels": (pd.DataFrame({"x": np.arange(120.0), "y": [f"A{i}" for i in range(120)]}),
                                        DataError,
                                        r"Target 'y' has a different value in every row \(.*ID-like"),
    }


@pytest.mark.parametrize("tags, held", [
    (pd.Series([["a", "b"], ["c"], None, []] * 10, dtype=pd.ArrowDtype(pa.list_(pa.string()))),
     r"lists \(list<item: string>\)"),
    (pd.Series([["a", "b"], ["c"], None, "d"] * 10, dtype=object), r"lists \(dtype object, e\.g\. \['a', 'b'\]\)"),
    (pd.Series([{"a"}, {"b", "c"}] * 20, dtype=object), r"sets \(dtype object, e\.g\. \{'a'\}\)"),
])
def test_lists_forced_to_a_kind_that_cannot_read_them_are_refused_naming_the_set_kind(tags, held):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=40), "y": [0, 1] * 20, "tags": tags})
    with pytest.raises(DataError, match=rf"Column 'tags' holds {held}, which kind 'text' cannot read\. Cells of "
                                        r"several labels are kind 'set' \(column_types=\{'tags': 'set'\}, or no "
                                        r"forced kind: inferred\); for a text column, join them into one string per "
                                        r"row \(e\.g\. df\['tags'\].*\.str\.join\(' '\)\).*'ignore'"):
        Automater("y", column_types={"tags": "text"}, overrides=FAST, verbose=0).fit(data)


@pytest.mark.parametrize("case", list(clear_error_frames()))
def test_obscure_inputs_get_an_error_naming_the_column(case):
    data, error, match = clear_error_frames()[case]
    with pytest.raises(error, match=match):
        Automater("y", overrides=FAST, verbose=0).fit(data)


@pytest.mark.parametrize("target", [123, ["y", 4], [], 1.5])
def test_a_target_that_is_not_column_names_is_refused(target):
    # None is no target: an autoencoder (tests/test_autoencoder.py).
    with pytest.raises(ConfigTypeError, match="target must be a column name, a list of column names, or None"):
        Automater(target, overrides=FAST).fit(pd.DataFrame({"x": [1.0, 2.0] * 10, "y": [0, 1] * 10}))


@pytest.mark.parametrize("kind", ["categorical", "text"])
def test_one_long_string_costs_its_own_length_not_rows_times_it(kind, tmp_path):
    # 400 rows beside one value of 250,000 characters (twice): numpy's unicode dtype would widen every row to it,
    # 400 MB a copy at 4 bytes a character. Python strings cost the value once. The value is too long for a
    # vocabulary (Keras widens a saved one to its longest entry on load): it is read as unseen, and the saved
    # Automater loads at the cost of its own size.
    import tracemalloc

    from keras_defaults.encoders.base import LONGEST_VOCABULARY_ENTRY

    rng = np.random.default_rng(0)
    words = np.array(["red", "green", "blue", "amber", "violet"])
    notes = [" ".join(rng.choice(words, 4)) + f" w{i % 50}" for i in range(400)]
    notes[3] = notes[7] = "x" * 250_000
    data = pd.DataFrame({"note": notes, "x": rng.normal(size=400), "y": rng.normal(size=400)})
    tracemalloc.start()
    try:
        auto = quiet(fit, "y", data, column_types={"note": kind})
        predictions = auto.predict(data)
        auto.save(tmp_path / "run")
        loaded = Automater.load(tmp_path / "run")
        reloaded = loaded.predict(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert auto.profiles_["note"].kind == kind
    assert predictions.notna().all()
    np.testing.assert_allclose(reloaded, predictions, rtol=1e-6)
    assert peak < 200e6, f"fit, predict, save and load traced {peak / 1e6:.0f} MB"
    vocabulary = auto.input_states_["note"]["vocabulary"]
    assert max(map(len, vocabulary)) <= LONGEST_VOCABULARY_ENTRY
    unseen = data.iloc[[3]].assign(note="zzz" if kind == "categorical" else "zzz qqq")
    np.testing.assert_allclose(auto.predict(data.iloc[[3]]), auto.predict(unseen), rtol=1e-6)


def test_list_columns_train_as_sets_or_left_out_from_a_frame_and_from_parquet(tmp_path):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=120), "y": rng.normal(size=120),
                         "tags": pd.Series([["a", "b"], ["c"], None] * 40, dtype=pd.ArrowDtype(pa.list_(pa.string()))),
                         "more": pd.Series([["a", "b"], ["c"], None] * 40, dtype=object)})
    left_out = {"tags": "ignore", "more": "ignore"}
    auto = quiet(fit, "y", data, column_types=left_out)
    assert list(auto.inputs_) == ["x"] and auto.predict(data).notna().all()
    # Pandas writes the Arrow list dtype into the file's metadata as a name it cannot read back: read anyway.
    path = tmp_path / "rows.parquet"
    data.to_parquet(path)
    auto = quiet(fit, "y", str(path), column_types=left_out)
    assert auto.predict(str(path)).notna().all()
    # Not left out, they are sets of labels, read from the file as from the frame.
    from_file, from_frame = quiet(fit, "y", str(path)), quiet(fit, "y", data)
    assert from_file.profiles_["tags"].kind == from_frame.profiles_["more"].kind == "set"
    assert from_file.input_states_["tags"]["vocabulary"] == ["a", "b", "c"]
    np.testing.assert_allclose(from_file.predict(str(path)), from_file.predict(data), rtol=1e-5)


def test_distinct_whole_numbers_beyond_float_precision_are_labels_not_constant():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=120), "y": rng.normal(size=120),
                         "code": pd.Series([2 ** 70 + i % 3 for i in range(120)], dtype=object),
                         "serial": pd.Series([2 ** 70 + i for i in range(120)], dtype=object)})
    with pytest.warns(UserWarning, match=r"Column 'code' holds whole numbers too large for a float to tell apart "
                                         r"\(e\.g\. 1180591620717411303424\): as numbers, its 3 distinct values "
                                         r"would read as 1\. It is read as labels"):
        auto = fit("y", data)
    assert auto.profiles_["code"].kind == "categorical"
    assert sorted(auto.input_states_["code"]["vocabulary"]) == [str(2 ** 70 + i) for i in range(3)]
    assert auto.profiles_["serial"].kind == "ignore"
    assert "ID-like" in auto.profiles_["serial"].reason and "constant" not in auto.profiles_["serial"].reason
    assert auto.predict(data.head(5)).notna().all()


@pytest.mark.parametrize("case", ["long labels", "rare labels", "rare codes", "rare set labels", "empty sets",
                                  "long words", "no words"])
def test_a_column_whose_vocabulary_keeps_nothing_is_set_aside_with_its_fix(case, tmp_path):
    # Keras's lookup layers refuse an empty vocabulary (and its TF-IDF adapt fails on a column without a word): such
    # a column gave a raw ValueError or AttributeError from Keras. It gives the model nothing (every row would read
    # alike), so it is set aside, as a constant column is, and the warning says why and the fix where there is one.
    rng = np.random.default_rng(0)
    rows = 200
    data = pd.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})
    long_labels = rng.choice([f"shop-{i}-" + "x" * 1_200 for i in range(8)], rows)  # no space to split them at
    rare_overrides = {**TINY, "columns": {"c": {"min_frequency": 2}}}
    column, kind, overrides, said = {
        "long labels": (long_labels, None, TINY, "no label kept for a vocabulary, which takes labels in at least "
                        "inputs.categorical.min_frequency (1) rows and at most 1,000 characters long; if its values "
                        "are long text, read them as words: column_types={'c': 'text'}"),
        "rare labels": ([f"v{i}" for i in range(rows)], "categorical", rare_overrides,
                        "inputs.categorical.min_frequency (2) rows and at most 1,000 characters long; lower its "
                        "min_frequency: columns: {c: {min_frequency: 1}}"),
        "rare codes": (np.arange(rows), "categorical", rare_overrides,
                       "inputs.categorical.min_frequency (2) rows; lower its min_frequency"),
        "rare set labels": ([f"v{i}" for i in range(rows)], "set", rare_overrides,
                            "inputs.set.min_frequency (2) rows and at most 1,000 characters long; lower its"),
        "empty sets": ([[] for _ in range(rows)], "set", TINY,
                       "inputs.set.min_frequency (1) rows and at most 1,000 characters long"),
        "long words": ([label + " " + label for label in long_labels], "text", TINY,
                       "no word of at most 1,000 characters for a vocabulary"),
        "no words": (["", "  ", "!?"] * (rows // 3) + [""] * (rows % 3), "text", TINY,
                     "no word of at most 1,000 characters for a vocabulary"),
    }[case]
    data["c"] = column
    with pytest.warns(UserWarning, match="give the model nothing to learn from") as caught:
        auto = fit("y", data, column_types={"c": kind} if kind else {}, overrides=overrides)
    message = next(str(w.message) for w in caught if "nothing to learn" in str(w.message))
    assert "nothing to learn from: 'c' (" in message and said in message, message
    assert ("read them as words" in message) == (case == "long labels")  # the one case that text would help
    assert list(auto.inputs_) == ["x"] and list(auto.ignored_) == ["c"]
    assert auto.profiles_["c"].kind == "ignore"
    assert said.split(";")[0] in auto.explain().set_index("column").loc["c", "why"]
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_series_equal(loaded.predict(data), auto.predict(data))


def test_a_column_of_only_over_long_labels_in_files_is_set_aside(tmp_path, small_chunks):
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"x": rng.normal(size=600), "y": rng.normal(size=600),
                         "c": rng.choice([f"shop-{i}-" + "x" * 1_200 for i in range(8)], 600)})
    write_parts(data, tmp_path / "d")
    with pytest.warns(UserWarning, match="'c' \\(no label kept for a vocabulary"):
        auto = fit("y", str(tmp_path / "d"))
    assert list(auto.inputs_) == ["x"] and "c" in auto.ignored_
    assert auto.predict(str(tmp_path / "d")).notna().all()


def test_only_columns_without_a_vocabulary_is_no_column_to_learn_from():
    data = pd.DataFrame({"c": [f"v{i}" for i in range(60)], "y": np.arange(60.0)})
    with pytest.raises(DataError, match="No input column is left to learn from"):
        quiet(fit, "y", data, column_types={"c": "categorical"},
              overrides={**TINY, "columns": {"c": {"min_frequency": 2}}})


def test_complex_numbers_at_predict_are_refused_as_at_fit():
    # At predict they were cast to their real part, with numpy's ComplexWarning at most.
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=60), "y": rng.normal(size=60)})
    auto = quiet(fit, "y", data)
    with pytest.raises(DataError, match=r"Column 'x' holds complex numbers.*df\['x_real'\] = df\['x'\]\.real"):
        auto.predict(data.assign(x=data["x"] + 1j))
