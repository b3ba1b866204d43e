"""Sets of labels (multi-label): inference, the encoder's input and target sides, and an Automater with a set target
and a set input, from a frame and from files, saved, loaded and exported."""

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from keras_defaults import Automater
from keras_defaults.defaults import Config
from keras_defaults.errors import ConfigError, DataError
from keras_defaults.schema import (IGNORE, SET, guess_delimiter, infer_column, resolve_delimiter, set_labels,
                                   set_strings)

CONFIG = Config.build()


def infer(series, forced=None):
    return infer_column(series, series.name, CONFIG.get("inference"), CONFIG.get("inputs", "boolean"), forced)


def genre_strings(rows, seed=0, delimiter="|"):
    rng = np.random.default_rng(seed)
    genres = ["action", "comedy", "drama", "horror", "romance"]
    return pd.Series([delimiter.join(rng.choice(genres, size=rng.integers(1, 4), replace=False))
                      for _ in range(rows)], name="genres")


# ---------------------------------------------------------------------------------------------------- inference
@pytest.mark.parametrize("delimiter", ["|", ";"])
def test_labels_joined_by_a_delimiter_are_a_set_and_inference_says_so(delimiter):
    profile = infer(genre_strings(300, delimiter=delimiter))
    assert profile.kind == SET and profile.input_dtype == "string"
    assert f"labels joined by {delimiter!r}: 5 distinct labels in " in profile.reason


@pytest.mark.parametrize("values, kind", [
    # Comma-joined labels are not guessed (commas sit inside labels and sentences): force them.
    (list(genre_strings(300, delimiter=","))[:300], "categorical"),
    # Sentences that happen to hold the character: every piece is new, and long.
    ([f"note {i} about the weather | and the sea {i}" for i in range(300)], "text"),
    # Labels that only sometimes hold it, as part of a name: under a tenth of the values.
    (["a|b"] + [f"shop {i % 40}" for i in range(299)], "categorical"),
])
def test_strings_that_are_not_sets_of_labels_keep_their_kind(values, kind):
    assert infer(pd.Series(values, name="c")).kind == kind


@pytest.mark.parametrize("cells", [
    pd.Series([["a", "b"], ["c"], None, []] * 30, dtype=object),
    pd.Series([{"a", "b"}, {"c"}, frozenset()] * 40, dtype=object),
    pd.Series([np.array(["a", "b"]), np.array(["c"]), None] * 40, dtype=object),
    pd.Series([["a", "b"], ["c"], None, []] * 30, dtype=pd.ArrowDtype(pa.list_(pa.string()))),
])
def test_lists_sets_and_arrays_of_labels_are_sets(cells):
    profile = infer(cells.rename("tags"))
    assert profile.kind == SET and "3 distinct labels" in profile.reason
    assert infer(pd.Series([["a"]] * 40, dtype=object, name="tags")).kind == IGNORE  # one set in every row


def test_set_strings_join_each_cells_distinct_labels_sorted():
    cells = pd.Series([["b", "a", "b"], [" c ", None, 2.0], None, "x|y", np.array([3, 1]), []], dtype=object)
    assert set_strings(cells, "|", "tags").tolist() == ["a|b", "2|c", "", "x|y", "1|3", ""]
    with pytest.raises(DataError, match=r"Column 'tags' has the label 'a\|b', which holds the delimiter '\|' that "
                                        r"joins a set's labels for the model. Choose a delimiter its labels lack, "
                                        r"e.g. columns: \{tags: \{delimiter: ';'\}\}"):
        set_strings(pd.Series([["a|b"], ["c"]], dtype=object), "|", "tags")
    assert set_labels(np.array(["a| b", "", "c|", "|"], dtype=object), "|").tolist() == ["a", "b", "c"]


def test_auto_takes_the_delimiter_most_values_hold():
    assert resolve_delimiter("auto", pd.Series(["a;b", "c;d|e", "f;g"])) == ";"
    assert resolve_delimiter("auto", pd.Series(["a", "b"])) == "|"  # single labels
    assert resolve_delimiter("auto", pd.Series([["a,b"], ["c"]], dtype=object)) == "|"
    assert resolve_delimiter(",", pd.Series(["a;b"])) == ","
    assert guess_delimiter(["a", "b"]) is None


# ---------------------------------------------------------------------------------------------------- the encoder
def test_the_vocabulary_keeps_the_most_frequent_labels_and_a_column_entry_sets_the_delimiter():
    from keras_defaults.encoders import ENCODERS

    rows = pd.Series(["b, a", "a", "a, c", "d"] * 10 + ["e"], name="tags")
    profile = infer(rows, forced=SET)
    assert profile.reason == "set by the user (set)"
    settings = {"delimiter": ",", "min_frequency": 2, "max_labels": 3}
    state = ENCODERS[SET].fit_input(rows, profile, settings)
    assert state == {"delimiter": ",", "vocabulary": ["a", "b", "c"]}  # a: 30 rows; b, c, d: 10 each (ties: by label)
    assert ENCODERS[SET].describe(state, settings) == "3 labels + out-of-vocabulary, multi-hot (labels joined by ',')"
    with pytest.raises(ConfigError, match=r"Setting 'columns.tags.delimiter' in .* must be a string of at least one "
                                          r"character other than white space"):
        Automater("y", overrides={"columns": {"tags": {"kind": "set", "delimiter": " "}}}, verbose=0).prepare(
            pd.DataFrame({"tags": rows, "y": np.arange(41.0)}))


# ---------------------------------------------------------------------------------------------------- an Automater
def movie_frame(rows, seed=0):
    """Genres (the target, a set) that follow the inputs, among them a set of tags (lists)."""
    rng = np.random.default_rng(seed)
    score, other = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    tags = [sorted(set(rng.choice(["a", "b", "c", "d"], size=rng.integers(0, 3)).tolist())) for _ in range(rows)]
    genres = ["|".join(g for g, holds in (("action", score[i] > 0.3), ("comedy", other[i] > 0),
                                          ("drama", colour[i] == "red" or "a" in tags[i])) if holds) or "|"
              for i in range(rows)]
    return pd.DataFrame({"score": score, "other": other, "colour": colour, "tags": tags, "genres": genres})


@pytest.fixture(scope="module")
def fitted():
    data = movie_frame(3000)
    auto = Automater("genres", overrides={"training": {"epochs": 30}}, seed=0, verbose=0).fit(data.iloc[:2400])
    return auto, data.iloc[2400:]


def test_a_set_target_predicts_lists_probabilities_per_label_and_set_scores(fitted):
    auto, new = fitted
    predicted = auto.predict(new)
    assert predicted.index.equals(new.index) and all(isinstance(labels, list) for labels in predicted)
    proba = auto.predict_proba(new)
    assert list(proba.columns) == ["action", "comedy", "drama"]
    # The labels of a row are those whose probability reaches the threshold (0.5), in the labels' order.
    expected = [[label for label in proba.columns if proba.loc[row, label] >= 0.5] for row in new.index]
    assert predicted.tolist() == expected
    scores = auto.evaluate(new)
    assert set(scores) == {"f1_micro", "f1_macro", "hamming_loss", "subset_accuracy"}
    assert scores["f1_micro"] > 0.95 and scores["hamming_loss"] < 0.05, scores
    choice = auto.explain().set_index("column")["choice"]
    assert "3 unit(s), sigmoid; loss binary_crossentropy" in choice["genres"]
    assert "3 labels ['action', 'comedy', 'drama'], each predicted when its probability is at least 0.5" in \
        choice["genres"]
    assert choice["tags"] == "4 labels + out-of-vocabulary, multi-hot (labels joined by '|')"
    with pytest.raises(DataError, match=r"predict_interval needs a regression target; \['genres'\] is a "
                                        r"classification or set target"):
        auto.predict_interval(new)


def test_a_set_target_saves_and_exports_its_labels_and_probabilities(fitted, tmp_path):
    import keras
    import tensorflow as tf

    auto, new = fitted
    # Rows with a missing set, an empty one and a label never seen in training: read as no labels, or out of
    # vocabulary, the same way everywhere.
    rows = new.head(40).copy()
    rows["tags"] = rows["tags"].astype(object)
    rows.iloc[0, rows.columns.get_loc("tags")] = None
    rows.iloc[1, rows.columns.get_loc("tags")] = []
    rows.iloc[2, rows.columns.get_loc("tags")] = ["zzz", "a"]
    predicted, proba = auto.predict(rows), auto.predict_proba(rows)
    auto.save(tmp_path / "run")
    loaded = Automater.load(tmp_path / "run")
    assert loaded.predict(rows).tolist() == predicted.tolist()
    pd.testing.assert_frame_equal(loaded.predict_proba(rows), proba)
    model = keras.saving.load_model(auto.export(tmp_path / "model.keras"), safe_mode=True)
    np.testing.assert_allclose(model.predict(auto.inputs(rows), verbose=0)["genres"], proba, rtol=1e-5, atol=1e-6)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    assert signature["inputs"]["tags"]["format"] == "a string per row: its labels joined by '|' (\"\" for none)"
    names = signature["outputs"]["genres"]
    assert names["labels"] == ["action", "comedy", "drama"] and names["delimiter"] == "|"
    assert names["threshold"] == 0.5
    # The SavedModel takes each set as one string, its labels joined by the delimiter (TensorFlow alone).
    feeds = {"score": tf.constant(rows["score"], tf.float32), "other": tf.constant(rows["other"], tf.float32),
             "colour": tf.constant(rows["colour"].tolist()),
             "tags": tf.constant(["|".join(t) if isinstance(t, list) else "" for t in rows["tags"]])}
    out = tf.saved_model.load(str(path)).signatures["serving_default"](
        **{signature["inputs"][column]["argument"]: value for column, value in feeds.items()})
    assert [s.decode() for s in out[names["prediction"]].numpy()] == ["|".join(p) for p in predicted]
    np.testing.assert_allclose(out[names["probabilities"]].numpy(), proba, rtol=1e-5, atol=1e-6)


def test_a_set_target_fits_and_predicts_from_csv_files(tmp_path):
    from keras_defaults.cli import main

    data = movie_frame(800, seed=1).assign(tags=lambda d: d["tags"].map(";".join))
    path = tmp_path / "movies.csv"
    data.to_csv(path, index=False)  # an empty set of tags is an empty cell: a missing value, read as no labels
    auto = Automater("genres", overrides={"training": {"epochs": 3}, "body": {"ensemble": 1}}, seed=0,
                     verbose=0).fit(str(path))
    assert auto.profiles_["tags"].kind == SET and auto.input_states_["tags"]["delimiter"] == ";"
    from_file, from_frame = auto.predict(str(path)), auto.predict(pd.read_csv(path))
    assert from_file.tolist() == from_frame.tolist()
    assert set(auto.evaluate(str(path))) == {"f1_micro", "f1_macro", "hamming_loss", "subset_accuracy"}
    # Files of predictions hold each row's labels joined by the delimiter, as a set column is read.
    auto.predict(str(path), out=tmp_path / "predicted.csv")
    written = pd.read_csv(tmp_path / "predicted.csv", keep_default_na=False)["genres"]
    assert written.tolist() == ["|".join(labels) for labels in from_file]
    auto.save(tmp_path / "run")
    assert main(["predict", str(tmp_path / "run"), str(path), "--out", str(tmp_path / "cli.csv"), "--proba"]) == 0
    cli = pd.read_csv(tmp_path / "cli.csv", keep_default_na=False)
    assert cli["genres"].tolist() == written.tolist()
    assert list(cli.columns) == ["genres", "genres_proba_action", "genres_proba_comedy", "genres_proba_drama"]


def test_the_threshold_decides_which_labels_a_row_gets():
    data = movie_frame(600, seed=2)
    auto = Automater("genres", overrides={"training": {"epochs": 3}, "body": {"ensemble": 1},
                                          "targets": {"set": {"threshold": 0.7}}}, seed=0, verbose=0).fit(data)
    proba = auto.predict_proba(data)
    assert auto.predict(data).tolist() == [[label for label in proba.columns if proba.loc[row, label] >= 0.7]
                                           for row in data.index]
    with pytest.raises(ConfigError, match=r"Setting 'targets.set.threshold' in overrides= argument must be positive"):
        Automater("genres", overrides={"targets": {"set": {"threshold": 0}}}, verbose=0).prepare(data)


@pytest.mark.parametrize("overrides, error, message", [
    ({"targets": {"set": {"loss": "mse"}}}, ConfigError,
     r"Loss 'mse' is for numerical targets, but target 'genres' is set .* Expected one of "
     r"\{'binary_crossentropy', 'binary_focal_crossentropy'\}"),
    ({"targets": {"set": {"loss": "binary_focal_crossentropy"}}}, None, None),
])
def test_a_set_target_takes_the_losses_its_row_lists(overrides, error, message):
    data = movie_frame(100)
    if error is None:
        auto = Automater("genres", overrides=overrides, verbose=0).prepare(data)
        assert auto.targets_["genres"].settings["loss"] == "binary_focal_crossentropy"
        return
    with pytest.raises(error, match=message):
        Automater("genres", overrides=overrides, verbose=0).prepare(data)


def test_what_a_set_target_cannot_do_is_said_with_the_fix(fitted):
    from keras_defaults import plots

    auto, new = fitted
    with pytest.raises(DataError, match=r"Target 'genres' holds no labels in any row"):
        Automater("genres", column_types={"genres": "set"}, verbose=0).prepare(
            movie_frame(60).assign(genres=["|", "||"] * 30))
    with pytest.raises(ConfigError, match=r"class_weight weighs the classes of a classification target, but "
                                          r"\['genres'\] is a set target. Use sample_weight= to weigh rows"):
        Automater("genres", overrides={"training": {"epochs": 1}}, verbose=0).fit(movie_frame(100),
                                                                                    class_weight={"action": 2.0})
    pytest.importorskip("matplotlib")
    with pytest.raises(DataError, match=r"The plots are for classification and regression targets, but target "
                                        r"'genres' is a set of labels \(3 labels\). evaluate\(df\) gives"):
        plots.confusion_matrix(auto, new)


def test_feature_importance_of_a_set_target_is_measured_in_micro_f1(fitted):
    auto, new = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = auto.feature_importance(new, n_repeats=1, max_rows=300, seed=0)
    assert table.attrs["metric"] == "f1_micro"
    # The genres follow score, other, colour and tags (drama: red, or the tag a).
    assert set(table.index) == {"score", "other", "colour", "tags"}
    assert (table["importance"] > 0.01).all(), table
