"""No target: Automater(target=None) rebuilds each row through a narrow embedding (keras_defaults.autoencoder)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from conftest import FAST, mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError, UnsafeFileError
from keras_defaults.export import SIGNATURE_FILE, load_keras


def planted_frame(rows=2000, seed=0):
    """Seven columns driven by two factors, and 1% of rows where one column breaks its relation with the others
    (a number moved by 2.5 of its standard deviations, or the side of a+b flipped where |a+b| > 1): (frame, their
    rows)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    frame = pd.DataFrame({
        "x1": a, "x2": 2 * a + 0.1 * rng.normal(size=rows), "x3": b, "x4": np.exp(b / 2) + 0.05 * rng.normal(size=rows),
        "x5": a - b + 0.1 * rng.normal(size=rows), "side": np.where(a + b > 0, "hi", "lo"),
        "band": pd.cut(a, [-9, -1, 0, 1, 9], labels=list("pqrs")).astype(str)})
    planted = rng.choice(np.flatnonzero(np.abs(a + b) > 1), rows // 100, replace=False)
    for row, column in zip(planted, rng.choice(["x2", "x4", "x5", "side"], len(planted))):
        if column == "side":
            frame.loc[row, "side"] = "lo" if frame.loc[row, "side"] == "hi" else "hi"
        else:
            frame.loc[row, column] += rng.choice([-1, 1]) * 2.5 * frame[column].std()
    return frame, planted


@pytest.fixture(scope="module")
def planted():
    frame, rows = planted_frame()
    return Automater(target=None, seed=0, verbose=0).fit(frame), frame, rows


def test_planted_anomalies_rank_in_the_top_percent(planted):
    auto, frame, rows = planted
    scores = auto.anomaly_score(frame)
    assert isinstance(scores, pd.Series) and scores.name == "anomaly_score"
    assert scores.index.equals(frame.index)
    top = set(scores.nlargest(len(rows)).index)  # the top 1%
    assert len(top & set(rows)) >= 0.9 * len(rows)
    # 1 is a typical training row: the median row scores about that, a planted one far more.
    assert 0.3 < scores.median() < 1.5
    assert scores.iloc[rows].median() > 10 * scores.median()


def test_the_embedding_width_follows_the_rule_and_the_yaml():
    auto, frame, _ = None, *planted_frame(rows=300)
    fast = {**FAST, "training": {"epochs": 2}}
    auto = Automater(target=None, overrides=fast, verbose=0).fit(frame)
    assert auto.embedding_dim_ == 3  # ceil(sqrt(7 rebuilt columns))
    embedding = auto.embed(frame)
    assert list(embedding.columns) == ["embedding_0", "embedding_1", "embedding_2"]
    assert embedding.index.equals(frame.index) and np.isfinite(embedding.to_numpy()).all()
    wide = Automater(target=None, overrides={**fast, "autoencoder": {"embedding_dim": 5}}, verbose=0).fit(frame)
    assert wide.embed(frame.head(4)).shape == (4, 5)
    with pytest.raises(ConfigError, match="Did you mean 'embedding_dim'"):
        Automater(target=None, overrides={"autoencoder": {"embeding_dim": 5}}).fit(frame)
    with pytest.raises(ConfigError, match="at least 1"):
        Automater(target=None, overrides={"autoencoder": {"embedding_dim": 0}}).fit(frame)


def test_the_encoder_keeps_body_units_and_members_at_any_size():
    # body.large_data_units (round 29) and body.small_data_ensemble (round 38) were chosen on predicted targets; an
    # autoencoder's encoder is neither narrowed nor given more members.
    frame, _ = planted_frame(rows=300)
    settings = {"training": {"epochs": 1, "batch_size": 64},
                "body": {"large_data_units": [8], "large_data_min_rows": 100, "small_data_ensemble": 8,
                         "small_data_below_rows": 10 ** 6}}
    auto = Automater(target=None, overrides=settings, verbose=0).fit(frame)
    widths = [layer.units for layer in auto.network_.layers if layer.name.startswith("encoder_dense_")]
    assert widths == auto.config_.get("body", "units") == [256, 256]
    assert auto.config_.get("body", "ensemble") == 4  # nor given the small-data members (also predicted targets')
    source = auto.explain().set_index("column").loc["body", "source"]
    assert "units: body.large_data_units" not in source and "ensemble: body.small_data_ensemble" not in source


def test_an_autoencoder_keeps_the_built_in_dropout_at_any_size():
    # body.small_data_dropout (round 40) was measured on predicted targets
    frame, _ = planted_frame(rows=300)
    settings = {"training": {"epochs": 1}, "body": {"small_data_dropout": 0.3, "small_data_below_rows": 10 ** 6}}
    auto = Automater(target=None, overrides=settings, verbose=0).fit(frame)
    assert auto.config_.get("body", "dropout") == 0.1
    assert "body.small_data_dropout" not in auto.explain().set_index("column").loc["body", "source"]


def test_an_autoencoder_rebuilds_through_its_layers_alone_with_a_linear_path_set():
    # the heads' linear path is a predicted target's: the decoder's output must come through the embedding
    frame, _ = planted_frame(rows=300)
    auto = Automater(target=None, overrides={"training": {"epochs": 1}, "body": {"linear_path": True}},
                     verbose=0).fit(frame)
    assert not any("linear_path" in layer.name for layer in auto.network_.layers)
    assert "linear path" not in auto.explain().set_index("column").loc["body", "choice"]


def test_an_autoencoder_keeps_the_built_in_batch_size_at_any_size():
    # training.small_data_batch_size (round 39) was measured on predicted targets
    frame, _ = planted_frame(rows=300)
    settings = {"training": {"epochs": 1, "small_data_batch_size": 16, "small_data_validation_split": 0.4,
                             "small_data_below_rows": 10 ** 6}}
    auto = Automater(target=None, overrides=settings, verbose=0).fit(frame)
    assert auto.config_.get("training", "batch_size") == 256
    assert auto.config_.get("training", "validation_split") == 0.2  # nor the small-data split (round 42)
    assert "training.small_data_batch_size" not in auto.explain().set_index("column").loc["training", "source"]


def test_the_encoder_reads_an_auto_embedding_as_none():
    # body.numerical_embedding: auto was measured on predicted targets; an autoencoder keeps its numbers unembedded.
    frame, _ = planted_frame(rows=300)
    settings = {"training": {"epochs": 1, "batch_size": 64},
                "body": {"numerical_embedding": "auto", "numerical_embedding_min_rows": 100}}
    auto = Automater(target=None, overrides=settings, verbose=0).fit(frame)
    assert auto.config_.get("body", "numerical_embedding") == "none"
    assert "numbers_embedding" not in [layer.name for layer in auto.network_.layers]
    assert ("numerical_embedding: body.numerical_embedding auto (none for an autoencoder)"
            in auto.explain().set_index("column").loc["body", "source"])


def test_predict_evaluate_and_explain_speak_of_each_rebuilt_column(planted):
    auto, frame, _ = planted
    rebuilt = auto.predict(frame.head(50))
    assert list(rebuilt.columns) == list(frame.columns)  # every column here is rebuilt, in the user's labels
    assert set(rebuilt["side"]) <= {"hi", "lo"} and set(rebuilt["band"]) <= set("pqrs")
    assert (rebuilt["x2"] - frame["x2"].head(50)).abs().median() < 0.5
    proba = auto.predict_proba(frame.head(5))
    assert set(proba) == {"side", "band"} and list(proba["band"].columns) == list("pqrs")
    scores = auto.evaluate(frame)
    assert scores["x2/r2"] > 0.8 and scores["band/accuracy"] > 0.8 and 0.5 < scores["anomaly_score"] < 1.5
    assert {f"{c}/loss" for c in frame.columns} <= set(scores)
    text = auto.explain().to_text()
    assert "Reconstructed columns (autoencoder)" in text and "mean loss on training rows" in text
    assert "embedding of 3 unit(s)" in text
    explained = auto.explain()
    assert set(explained.loc[explained["role"] == "reconstructed", "column"]) == set(frame.columns)
    per_column = auto.anomaly_score(frame.head(10), per_column=True)
    assert list(per_column.columns) == list(frame.columns) and (per_column >= 0).all().all()


def test_missing_values_and_unseen_levels_are_not_scored():
    frame = mixed_frame(200)
    auto = Automater(target=None, overrides=FAST, verbose=0).fit(frame)
    assert "text" not in auto.targets_ and {"num", "cat", "flag"} <= set(auto.targets_)  # text: read, not rebuilt
    assert len(auto.history_["loss"]) >= 1  # no row was dropped for its missing values: all of them trained
    new = frame.head(3).copy()
    new["num"] = [np.nan, 1.0, 2.0]
    new["cat"] = ["a", "never seen", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_column = auto.anomaly_score(new, per_column=True)
    assert np.isnan(per_column.loc[0, "num"]) and not np.isnan(per_column.loc[1, "num"])
    assert np.isnan(per_column.loc[1, "cat"]) and not np.isnan(per_column.loc[2, "cat"])
    assert auto.anomaly_score(new).notna().all()


def test_set_columns_are_rebuilt_as_labels(capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "tags": np.where(x > 0, "warm|dry", np.where(x < -1, "cold|wet", "cold"))})
    auto = Automater(target=None, overrides=FAST, column_types={"tags": "set"}, verbose=1).fit(frame)
    assert "statistics: 2 columns of 300 rows" in capsys.readouterr().out  # each counted once
    assert auto.targets_["tags"].kind == "set"
    predicted = auto.predict(frame.head(5))
    assert all(isinstance(labels, list) for labels in predicted["tags"])
    assert "tags/f1_micro" in auto.evaluate(frame)


def test_save_load_and_both_exports_serve_the_same_embedding(planted, tmp_path):
    auto, frame, _ = planted
    head = frame.head(64)
    embedding, scores = auto.embed(head), auto.anomaly_score(head)
    loaded = Automater.load(auto.save(tmp_path / "saved"))
    assert loaded.reconstructs and loaded.embedding_dim_ == auto.embedding_dim_
    np.testing.assert_allclose(loaded.embed(head), embedding, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.anomaly_score(head), scores, rtol=1e-5)
    pd.testing.assert_frame_equal(loaded.predict(head), auto.predict(head))

    keras_file = auto.export(tmp_path / "encoder.keras")
    served = load_keras(keras_file)
    np.testing.assert_allclose(served.predict(head, verbose=0)["embedding"], embedding, rtol=1e-5, atol=1e-6)

    folder = auto.export(tmp_path / "encoder", format="tf_saved_model")
    signature = json.loads((folder / SIGNATURE_FILE).read_text())
    assert signature["outputs"] == {"embedding": {"embedding": "embedding", "width": auto.embedding_dim_}}
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    feed = {spec["argument"]: tf.constant(head[column].to_numpy("float32") if spec["dtype"] == "float32"
                                          else head[column].astype(str).to_numpy())
            for column, spec in signature["inputs"].items()}
    np.testing.assert_allclose(serve(**feed)["embedding"].numpy(), embedding, rtol=1e-5, atol=1e-5)


def test_a_changed_save_is_refused(planted, tmp_path):
    auto, _, _ = planted
    folder = auto.save(tmp_path / "saved")
    state_file = folder / "automater.json"
    original = json.loads(state_file.read_text())

    def refused(change, match):
        state = json.loads(json.dumps(original))
        change(state)
        state_file.write_text(json.dumps(state))
        with pytest.raises(UnsafeFileError, match=match):
            Automater.load(folder)

    refused(lambda s: s["autoencoder"]["loss_scales"].update(x1=-1.0), "loss_scales")
    refused(lambda s: s["autoencoder"]["loss_scales"].pop("x1"), "rebuilt columns")
    refused(lambda s: s["autoencoder"].update(embedding_dim=7), "does not match")
    refused(lambda s: s.pop("autoencoder"), "only one of them")
    refused(lambda s: s["params"].update(target="x1"), "only one of them")


def test_from_files_in_and_out(tmp_path):
    frame, _ = planted_frame(rows=400, seed=3)
    frame.loc[::7, "x3"] = np.nan
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    auto = Automater(target=None, overrides=FAST, verbose=0).fit(path)
    assert set(auto.targets_) == set(frame.columns)
    written = auto.anomaly_score(path, out=tmp_path / "scores.parquet")
    from_files = pd.read_parquet(written)["anomaly_score"].to_numpy()
    np.testing.assert_allclose(from_files, auto.anomaly_score(pd.read_csv(path)).to_numpy(), rtol=1e-5)
    assert auto.embed(path).shape == (400, auto.embedding_dim_)
    assert "x3/rmse" in auto.evaluate(path)


def test_what_needs_a_target_says_so(planted):
    auto, frame, _ = planted
    for call, match in [(lambda: auto.predict_interval(frame), "anomaly_score"),
                        (lambda: auto.predict_quantiles(frame), "predict_quantiles needs a target"),
                        (lambda: auto.feature_importance(frame), "per_column=True"),
                        (lambda: auto.dataset(frame), "fit"),
                        (lambda: auto.build_model(), "fit"),
                        (lambda: auto.report("r.html", frame), "explain")]:
        with pytest.raises(DataError, match=match):
            call()
    with pytest.raises(ConfigError, match="sample_weight"):
        Automater(target=None, overrides=FAST, verbose=0).fit(frame, class_weight="balanced")
    supervised = Automater(target="x1", overrides=FAST, verbose=0).fit(frame.head(200))
    for call in (supervised.embed, supervised.anomaly_score):
        with pytest.raises(DataError, match=r"target=None"):
            call(frame.head(3))
    with pytest.raises(ConfigTypeError, match="or None"):
        Automater(target=5).fit(frame)


def test_a_frame_with_nothing_to_rebuild_is_refused():
    frame = pd.DataFrame({"note": [f"words and more words {i}" for i in range(120)],
                          "day": pd.date_range("2020-01-01", periods=120).astype(str)})
    with pytest.raises(ConfigError, match="nothing to reconstruct"):
        Automater(target=None, verbose=0).fit(frame)


def test_a_seed_makes_it_repeatable():
    frame, _ = planted_frame(rows=200, seed=5)
    scores = [Automater(target=None, overrides=FAST, seed=3, verbose=0).fit(frame).anomaly_score(frame)
              for _ in range(2)]
    pd.testing.assert_series_equal(scores[0], scores[1])


def test_every_way_of_feeding_trains_it():
    frame, _ = planted_frame(rows=300, seed=7)
    frame.loc[::5, "x2"] = np.nan
    frame["weight"] = np.linspace(0.5, 2.0, len(frame))
    streamed = Automater(target=None, overrides={**FAST, "training": {"epochs": 2, "feature_cache_mb": 0}},
                         verbose=0).fit(frame.drop(columns="weight"))
    assert streamed.feeding_ == "streamed" and streamed.anomaly_score(frame.drop(columns="weight")).notna().all()
    weighted = Automater(target=None, overrides=FAST, verbose=0).fit(frame, sample_weight="weight")
    assert "weight" in weighted.ignored_ and "weight" not in weighted.targets_
    columns = frame.drop(columns="weight")
    validated = Automater(target=None, overrides=FAST, verbose=0).fit(columns.iloc[:240],
                                                                      validation_data=columns.iloc[240:])
    assert validated.refit_epochs_ is None and "val_loss" in validated.history_
