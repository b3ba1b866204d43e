"""Automater.tune: a search beyond the defaults within a time budget (keras_defaults.tuning; KerasTuner's oracles)."""

import builtins
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import FAST, mixed_frame
from keras_defaults import Automater
from keras_defaults import defaults as table
from keras_defaults import tuning
from keras_defaults.cli import main
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError

# The built-in space searches large networks; these tests search a small one, quickly.
SMALL_SPACE = {name: None for name in table.Config.builtin().get("search", "space")}
SMALL_SPACE.update({"optimizer.learning_rate": {"min": 0.001, "max": 0.03, "sampling": "log"},
                    "body.units": {"values": [[16], [8, 8]]}})
QUICK = {**FAST, "training": {"epochs": 3, "batch_size": 64, "early_stopping": {"patience": 1}},
         "search": {"space": SMALL_SPACE, "folds": 2}}


def data(rows=160):
    return mixed_frame(rows).drop(columns=["price", "label"])


@pytest.fixture(scope="module")
def tuned():
    return Automater("binary", overrides=QUICK, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=3)


# ---------------------------------------------------------------------------------------------------- the call
def test_tune_searches_then_fits_the_best_configuration(tuned):
    results = tuned.tuning_results_
    assert list(results.columns) == ["trial", "optimizer.learning_rate", "body.units", "score", "score_std",
                                     "p_value", "epochs", "seconds", "status"]
    assert (results["score_std"] >= 0).all()  # over the 2 folds
    assert np.isnan(results.loc[0, "p_value"]) and results.loc[1:, "p_value"].between(0, 1).all()
    assert list(results["trial"]) == [0, 1, 2]
    assert (results["status"] == "completed").all()
    assert results.loc[0, "optimizer.learning_rate"] == pytest.approx(0.001)  # trial 0: the settings as given
    assert results.loc[0, "body.units"] == "[16]"
    assert results["optimizer.learning_rate"].between(0.001, 0.03).all()
    assert set(results["body.units"]) <= {"[16]", "[8, 8]"}
    # The chosen: the best score among the proposals that beat trial 0 beyond the noise, else trial 0.
    winners = results[results["p_value"] < table.Config.builtin().get("search", "significance")]
    best = winners.loc[winners["score"].idxmax()] if len(winners) else results.loc[0]
    assert tuned.best_score_ == pytest.approx(best["score"])
    # The winner's settings are the model's, with their origin.
    if best["trial"] != 0:
        assert tuned.config_.get("optimizer", "learning_rate") == pytest.approx(best["optimizer.learning_rate"])
        assert tuned.config_.origin("optimizer", "learning_rate") == tuning.TUNING_SOURCE
        assert "tuning" in tuned.explain().to_text()
    assert json.dumps(tuned.config_.get("body", "units")) == best["body.units"]
    # A model like fit's: predicts every row in the user's labels.
    predicted = tuned.predict(data())
    assert set(predicted.unique()) <= {0, 1}


def test_tune_is_repeatable_with_a_seed_and_a_trial_count(tuned):
    again = Automater("binary", overrides=QUICK, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=3)
    columns = ["optimizer.learning_rate", "body.units", "score", "epochs"]
    pd.testing.assert_frame_equal(again.tuning_results_[columns], tuned.tuning_results_[columns])
    np.testing.assert_allclose(again.predict_proba(data()).to_numpy(), tuned.predict_proba(data()).to_numpy(),
                               rtol=1e-5, atol=1e-6)


def test_a_plain_fit_forgets_the_search(tuned):
    auto = Automater("binary", overrides=QUICK, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=1)
    assert len(auto.tuning_results_) == 1
    auto.fit(data())
    assert not hasattr(auto, "tuning_results_") and not hasattr(auto, "best_score_")


def test_a_tuned_model_saves_loads_and_exports(tuned, tmp_path):
    frame = data()
    loaded = Automater.load(tuned.save(tmp_path / "run"))
    np.testing.assert_allclose(loaded.predict_proba(frame).to_numpy(), tuned.predict_proba(frame).to_numpy(),
                               rtol=1e-6)
    assert loaded.config_.data == tuned.config_.data
    assert loaded.config_.origins == tuned.config_.origins
    from keras_defaults.export import load_keras

    exported = load_keras(tuned.export(tmp_path / "model.keras"))
    assert exported is not None


# ---------------------------------------------------------------------------------------------------- the budget
def test_a_budget_too_short_for_one_fit_keeps_the_settings_as_given_fitted_first():
    # The configuration as given is fitted first; its first epoch ends after the deadline: it is stopped there, no
    # trial runs, and the warning says so.
    auto = Automater("binary", overrides=QUICK, seed=0, verbose=0)
    with pytest.warns(UserWarning, match="no trial finished within time_budget.*stopped at the budget"):
        auto.tune(data(), time_budget=0.001)
    assert list(auto.tuning_results_["status"]) == [
        "not run: the fit of the configuration as given took the whole budget"]
    assert auto.best_score_ is None and len(auto.history_["loss"]) == 1 and auto.refit_epochs_ is None
    assert auto.config_.origin("optimizer", "learning_rate") != tuning.TUNING_SOURCE
    assert len(auto.predict(data())) == 160


def test_without_a_convincing_winner_the_model_is_the_plain_fit():
    # No proposal can pass a test this strict: the model is the fit of the configuration as given, made first, and
    # exactly what `fit` makes.
    strict = {**QUICK, "search": {**QUICK["search"], "significance": 1e-12}}
    auto = Automater("binary", overrides=strict, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=2)
    assert auto.best_score_ == auto.tuning_results_.loc[0, "score"]
    plain = Automater("binary", overrides=strict, seed=0, verbose=0).fit(data())
    np.testing.assert_array_equal(auto.predict_proba(data()).to_numpy(), plain.predict_proba(data()).to_numpy())


# A test this lenient lets the best mean score win: with these settings a proposal beats trial 0.
LENIENT = {**QUICK, "search": {**QUICK["search"], "significance": 1.0}}


def test_a_winner_whose_fit_would_not_end_in_time_is_not_fitted(monkeypatch):
    monkeypatch.setattr(Automater, "_final_fit_seconds", staticmethod(lambda *args: 1e9))
    auto = Automater("binary", overrides=LENIENT, seed=0, verbose=0)
    with pytest.warns(UserWarning, match="would not end within time_budget='1h'"):
        auto.tune(data(), time_budget="1h", max_trials=3)
    assert auto.best_score_ == auto.tuning_results_.loc[0, "score"]
    assert auto.config_.origin("optimizer", "learning_rate") != tuning.TUNING_SOURCE


def test_a_winners_fit_cut_short_by_the_budget_gives_back_the_given_fit(monkeypatch):
    real, calls = Automater._fit, []

    def second_fit_cut_short(self, *args, **kwargs):
        calls.append(real(self, *args, **kwargs))
        return len(calls) == 2 or calls[-1]

    monkeypatch.setattr(Automater, "_fit", second_fit_cut_short)
    auto = Automater("binary", overrides=LENIENT, seed=0, verbose=0)
    with pytest.warns(UserWarning, match="was cut short by time_budget"):
        auto.tune(data(), time_budget=None, max_trials=3)
    assert len(calls) == 2 and auto.best_score_ == auto.tuning_results_.loc[0, "score"]
    monkeypatch.undo()
    plain = Automater("binary", overrides=LENIENT, seed=0, verbose=0).fit(data())
    np.testing.assert_array_equal(auto.predict_proba(data()).to_numpy(), plain.predict_proba(data()).to_numpy())


def test_the_clock_keeps_the_final_fit_inside_the_budget(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(tuning.time, "monotonic", lambda: now[0])
    clock = tuning.Clock(60)
    clock.refit_estimate = 20
    assert clock.search_deadline() == 140 and clock.room_for(39) and not clock.room_for(41)
    now[0] = 130.0
    assert clock.left() == 30 and not clock.room_for(11)
    assert tuning.Clock(None).room_for(1e9) and tuning.Clock(None).search_deadline() is None
    # The refit estimate scales what a fold measured to every row, with a margin.
    assert tuning.refit_seconds(2.0, 0.5, 10, 1.5) == pytest.approx(tuning.REFIT_MARGIN * 1.5 * 7.0
                                                                     + tuning.REFIT_FIXED_S)


def test_the_search_stops_when_the_clock_has_no_room(monkeypatch):
    calls = []

    def no_room_after_two_trials(self, seconds):
        calls.append(seconds)
        return len(calls) < 2

    monkeypatch.setattr(tuning.Clock, "room_for", no_room_after_two_trials)
    auto = Automater("binary", overrides=QUICK, seed=0, verbose=0).tune(data(), time_budget="1h")
    assert len(auto.tuning_results_) == 1  # room for trial 0 after the given fit; then the clock said stop


@pytest.mark.parametrize("given, seconds", [(90, 90.0), (1.5, 1.5), ("90s", 90.0), ("10m", 600.0), ("1h", 3600.0),
                                            (" 2.5M ", 150.0), ("45", 45.0), (None, None)])
def test_budgets(given, seconds):
    assert tuning.parse_budget(given) == seconds


@pytest.mark.parametrize("given, error", [("10 minutes", ConfigError), ("1d", ConfigError), (0, ConfigError),
                                          (-5, ConfigError), (float("inf"), ConfigError), (True, ConfigTypeError),
                                          ([10], ConfigTypeError)])
def test_bad_budgets_are_refused(given, error):
    with pytest.raises(error, match="time_budget"):
        tuning.parse_budget(given)


def test_neither_a_budget_nor_a_trial_count_is_refused():
    with pytest.raises(ConfigError, match="time_budget .* max_trials"):
        Automater("binary").tune(data(), time_budget=None)
    with pytest.raises(ConfigTypeError, match="max_trials"):
        Automater("binary").tune(data(), max_trials=0)


# ---------------------------------------------------------------------------------------------------- the space
def test_a_users_yaml_replaces_the_search_space(tmp_path):
    path = tmp_path / "search.yaml"
    space = {name: None for name in SMALL_SPACE}
    space["optimizer.learning_rate"] = {"values": [0.01, 0.002]}
    path.write_text(yaml.safe_dump({"search": {"space": space, "tuner": "random", "folds": 2}}))
    auto = Automater("binary", config=str(path), overrides=FAST, seed=0, verbose=0)
    auto.tune(data(), time_budget=None, max_trials=3)
    results = auto.tuning_results_
    assert list(results.columns[1:-6]) == ["optimizer.learning_rate"]
    assert set(results["optimizer.learning_rate"].iloc[1:]) <= {0.01, 0.002}


def test_target_settings_are_searched_only_for_the_targets_kinds():
    config = table.Config.builtin()
    names = [d.name for d in tuning.space(config, {"boolean"})]
    assert "targets.numerical.loss" not in names and "optimizer.learning_rate" in names
    assert "targets.numerical.loss" in [d.name for d in tuning.space(config, {"numerical"})]


@pytest.mark.parametrize("entry, message", [
    ({"body.unit": {"values": [[8]]}}, "'body.unit', which is not a setting. Did you mean 'body.units'?"),
    ({"body.dropout": {"min": 0.0, "max": 1.5}}, "body.dropout.*fraction"),
    ({"body.units": {"value": [[8]]}}, "Unknown key 'value'.*Did you mean 'values'?"),
    ({"body.units": {"values": []}}, "non-empty list"),
    ({"optimizer.learning_rate": {"min": 0.0, "max": 0.1, "sampling": "log"}}, "log scale"),
    ({"optimizer.learning_rate": {"min": 0.1, "max": 0.01}}, "min < max"),
    ({"optimizer.learning_rate": {"min": 0.01, "max": 0.1, "sampling": "lg"}}, "Did you mean 'log'?"),
    ({"body": {"values": [1]}}, "a section"),
    ({"columns.x": {"values": [1]}}, "cannot search 'columns.x'"),
    ({"body.activation": {"values": ["relu"], "min": 1, "max": 2}}, "both values and a range"),
    ({"body.units": [8, 16]}, "must be a mapping"),
])
def test_a_bad_search_space_is_refused_with_the_fix(entry, message):
    config = table.Config.builtin().merged({"search": {"space": entry}}, "my.yaml")
    with pytest.raises((ConfigError, ConfigTypeError), match=message):
        tuning.space(config, {"boolean"})


def test_an_optimizer_argument_with_a_typo_fails_before_any_trial():
    space = {**SMALL_SPACE, "optimizer.weight_decy": {"values": [0.0, 0.001]}}
    auto = Automater("binary", overrides={**FAST, "search": {"space": space}}, verbose=0)
    with pytest.raises(ConfigError, match="weight_decy.*Did you mean 'weight_decay'"):
        auto.tune(data(), max_trials=2)
    assert not hasattr(auto, "model_")


@pytest.mark.parametrize("section, message", [({"tuner": "hyperbnd"}, "Expected one of"),
                                              ({"objective": "roc_acu"}, "Did you mean 'roc_auc'"),
                                              ({"folds": 1}, "at least 2"), ({"holdout": 0.0}, r"fraction in \(0, 1\)"),
                                              ({"tuners": "random"}, "Did you mean 'tuner'"),
                                              ({"significance": 0}, r"p-value in \(0, 1\]"),
                                              ({"significance": 1.5}, r"p-value in \(0, 1\]")])
def test_bad_search_settings_are_refused(section, message):
    with pytest.raises((ConfigError, ConfigTypeError), match=message):
        Automater("binary", overrides={"search": section}).tune(data(), max_trials=1)


# ---------------------------------------------------------------------------------------------------- judging
def test_objectives_follow_the_targets_kind():
    assert tuning.objective("auto", {"y": "boolean"}) == ("roc_auc", True)
    assert tuning.objective(None, {"y": "categorical"}) == ("accuracy", True)
    assert tuning.objective("auto", {"y": "numerical"}) == ("r2", True)
    assert tuning.objective("auto", {"a": "numerical", "b": "boolean"}) == ("loss", False)
    assert tuning.objective("rmse", {"y": "numerical"}) == ("rmse", False)
    with pytest.raises(ConfigError, match="objective='r2' cannot judge target 'y', a boolean target"):
        tuning.objective("r2", {"y": "boolean"})
    with pytest.raises(ConfigError, match="Did you mean 'log_loss'"):
        tuning.objective("logloss", {"y": "boolean"})


def test_folds_are_cross_validation_on_small_frames_and_a_holdout_on_large_ones():
    settings = tuning.Settings.from_config(table.Config.builtin())
    labels = np.array(["a", "b"] * 300)
    split = tuning.folds(labels, True, settings, 0)
    assert len(split) == 3
    assert sorted(np.concatenate([valid for _, valid in split])) == list(range(600))
    for train, valid in split:  # stratified
        assert set(train) & set(valid) == set()
        assert (labels[valid] == "a").mean() == pytest.approx(0.5, abs=0.01)
    large = dataclasses_replace(settings, cross_validation_max_rows=100)
    (train, valid), = tuning.folds(labels, True, large, 0)
    assert len(valid) == 120 and len(train) == 480


def test_a_holdout_is_scored_in_seeded_parts():
    parts = tuning.holdout_parts(10, 3, seed=0)
    assert [len(part) for part in parts] == [4, 3, 3]
    assert sorted(np.concatenate(parts)) == list(range(10))
    assert all((np.diff(part) > 0).all() for part in parts)
    assert [list(p) for p in tuning.holdout_parts(10, 3, seed=0)] == [list(p) for p in parts]


def test_a_proposal_must_beat_the_given_configuration_beyond_the_folds_noise():
    given = [0.80, 0.82, 0.78]
    # Better on every fold by a steady margin: a small p-value; worse: a large one; the direction follows the
    # objective.
    p_better = tuning.improvement_p_value(given, [0.83, 0.84, 0.82], higher_is_better=True)
    assert p_better < 0.05
    assert tuning.improvement_p_value(given, [0.77, 0.80, 0.74], higher_is_better=True) > 0.9
    assert tuning.improvement_p_value([1.0, 1.2, 0.9], [0.9, 1.1, 0.8], higher_is_better=False) < 1e-9
    # Folds that share training rows: Nadeau and Bengio's correction makes the same differences less convincing.
    corrected = tuning.improvement_p_value(given, [0.83, 0.84, 0.82], True, test_to_train=0.5)
    assert p_better < corrected < 0.5
    # One mean gain from one fold out of three is noise.
    assert tuning.improvement_p_value(given, [0.89, 0.81, 0.77], True, test_to_train=0.5) > 0.1
    assert tuning.improvement_p_value(given, given, True) == 1.0
    assert np.isnan(tuning.improvement_p_value([0.8], [0.9], True))
    assert np.isnan(tuning.improvement_p_value(given, [0.9, float("nan"), 0.9], True))
    assert tuning.beats_the_given(0.05, 0.1) and not tuning.beats_the_given(0.2, 0.1)
    assert tuning.beats_the_given(float("nan"), 0.1)  # no test possible: the mean score decides


def dataclasses_replace(settings, **changes):
    import dataclasses

    return dataclasses.replace(settings, **changes)


def test_a_regression_target_is_tuned_on_r2():
    frame = mixed_frame(160).drop(columns=["label", "binary"])
    auto = Automater("price", overrides=QUICK, seed=0, verbose=0).tune(frame, time_budget=None, max_trials=2)
    assert "targets.numerical.loss" not in auto.tuning_results_.columns  # null in QUICK's space
    assert auto.tuning_results_["score"].notna().all()
    assert (auto.tuning_results_["score"] <= 1).all()


# ---------------------------------------------------------------------------------------------------- refusals
def test_an_autoencoder_is_not_tuned():
    with pytest.raises(DataError, match="tune needs a target"):
        Automater(None).tune(data(), max_trials=1)


def test_files_are_refused(tmp_path):
    path = tmp_path / "rows.csv"
    data().to_csv(path, index=False)
    with pytest.raises(DataError, match="tune needs a DataFrame in memory"):
        Automater("binary", overrides=QUICK).tune(str(path), max_trials=1)


def test_without_keras_tuner_the_error_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_keras_tuner(name, *args, **kwargs):
        if name == "keras_tuner":
            raise ImportError("No module named 'keras_tuner'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_keras_tuner)
    with pytest.raises(ImportError, match=r"keras_defaults\[tune\]"):
        Automater("binary").tune(data(), max_trials=1)


def test_a_failed_tune_leaves_the_automater_as_it_was():
    auto = Automater("binary", overrides=QUICK, seed=0, verbose=0).fit(data())
    before = auto.predict_proba(data()).to_numpy()
    with pytest.raises(DataError):
        auto.tune(data().drop(columns=["binary"]), max_trials=1)
    np.testing.assert_array_equal(auto.predict_proba(data()).to_numpy(), before)


# ---------------------------------------------------------------------------------------------------- progress
def test_progress_shows_trials_best_score_and_time_left(capsys):
    Automater("binary", overrides=QUICK, seed=0).tune(data(), time_budget="30m", max_trials=2)
    out = capsys.readouterr().out
    assert "Tuning on 160 rows: 2 setting(s) searched (bayesian), judged by roc_auc on 2-fold cross-validation" in out
    assert "Trial 0: roc_auc" in out and "Trial 1: roc_auc" in out and "left." in out and "best" in out
    assert "First, the configuration as given is fitted on all rows" in out
    assert "Fitting it on all 160 rows." in out or "its fit on all 160 rows is the model." in out


# ---------------------------------------------------------------------------------------------------- command line
def test_the_command_line_tunes_and_saves_the_trials(tmp_path, capsys):
    data().to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "quick.yaml").write_text(yaml.safe_dump(QUICK))
    status = main(["tune", str(tmp_path / "rows.csv"), "--target", "binary", "--max-trials", "2", "--time-budget",
                   "20m", "--config", str(tmp_path / "quick.yaml"), "--out", str(tmp_path / "run"), "--quiet"])
    assert status == 0
    out = capsys.readouterr().out
    assert "2 trial(s), 2 finished" in out and "tuning_results.csv the trials" in out
    trials = pd.read_csv(tmp_path / "run" / "tuning_results.csv")
    assert list(trials["trial"]) == [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Automater.load(tmp_path / "run").predict(data()).shape == (160,)
    assert main(["tune", str(tmp_path / "rows.csv"), "--target", "binary", "--time-budget", "soon", "--config",
                 str(tmp_path / "quick.yaml"), "--out", str(tmp_path / "run2")]) == 1
    assert "time_budget must be a number of seconds" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- large frames
# One holdout (above search.cross_validation_max_rows), and no refit on every row (above training.refit_max_rows):
# a trial trains as the final fit would, so the best trial's network is the model.
LARGE = {**QUICK, "search": {**QUICK["search"], "cross_validation_max_rows": 100},
         "training": {**QUICK["training"], "refit_max_rows": 100}}


def test_on_a_large_frame_the_best_trials_network_is_the_model():
    lenient = {**LARGE, "search": {**LARGE["search"], "significance": 1.0}}
    auto = Automater("binary", overrides=lenient, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=3)
    results = auto.tuning_results_
    assert (results["status"] == "completed").all() and results["score_std"].isna().all()  # one holdout
    assert auto.refit_epochs_ is None
    best = results.loc[results["score"].idxmax()]
    assert best["trial"] != 0 and results["p_value"].iloc[1:].between(0, 1).all()  # on parts of the holdout
    assert auto.best_score_ == pytest.approx(best["score"])
    assert json.dumps(auto.config_.get("body", "units")) == best["body.units"]
    # Its score on the holdout is the search's: the same network.
    from sklearn.model_selection import train_test_split

    frame = data()
    _, valid = train_test_split(np.arange(len(frame)), test_size=0.2, stratify=frame["binary"].astype(str),
                                random_state=0)
    assert auto.evaluate(frame.iloc[np.sort(valid)])["roc_auc"] == pytest.approx(best["score"], abs=1e-6)


def test_the_quality_benchmarks_settings_hash_leaves_out_the_search_section(tmp_path):
    # No fit reads `search`: changing the space needs no quality rerun (what a search chooses reaches a fit as
    # settings of the other sections).
    from pathlib import Path

    builtin = Path(table.builtin_path())
    edited = tmp_path / "defaults.yaml"
    edited.write_text(builtin.read_text(encoding="utf-8").replace("tuner: bayesian", "tuner: random", 1),
                      encoding="utf-8")
    assert edited.read_text(encoding="utf-8") != builtin.read_text(encoding="utf-8")
    assert table.settings_sha256(edited) == table.settings_sha256()


def test_several_targets_and_a_weight_column_are_tuned_on_the_validation_loss():
    frame = mixed_frame(160).drop(columns=["label"])
    frame["w"] = np.linspace(0.5, 1.5, len(frame))
    auto = Automater(["binary", "price"], overrides=LENIENT, column_types={"w": "weight"}, seed=0, verbose=0)
    auto.tune(frame, time_budget=None, max_trials=2)
    assert auto.tuning_results_["score"].notna().all() and (auto.tuning_results_["score"] > 0).all()
    assert auto.best_score_ == auto.tuning_results_["score"].min()  # a loss: lower is better
    assert "w" not in auto.inputs_ and set(auto.predict(frame).columns) == {"binary", "price"}


def test_a_trial_without_a_score_does_not_end_the_search(monkeypatch, capfd):
    # A diverged trial (NaN) is recorded as failed; the oracle is told it was as bad as the worst trial so far.
    real, folds = Automater._trial_fold, []

    def diverging_second_trial(self, *args):
        result = real(self, *args)
        folds.append(result)
        return {**result, "score": float("nan")} if 3 <= len(folds) <= 4 else result  # trial 1's two folds

    monkeypatch.setattr(Automater, "_trial_fold", diverging_second_trial)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the Gaussian process's ConvergenceWarning is not shown
        auto = Automater("binary", overrides=QUICK, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=3)
    assert "Traceback" not in capfd.readouterr().err  # KerasTuner prints one for a trial it records as failed
    assert list(auto.tuning_results_["status"]) == ["completed", "failed: no finite score", "completed"]
    assert np.isfinite(auto.best_score_)


def test_trials_train_the_width_the_final_fit_on_every_row_has():
    # body.units left to the table and not searched: body.large_data_units applies, in the trials and the model.
    space = {**SMALL_SPACE, "body.units": None}
    settings = {"training": LARGE["training"], "search": {**LARGE["search"], "space": space, "significance": 1.0},
                "body": {"large_data_units": [8], "large_data_min_rows": 100}}
    auto = Automater("binary", overrides=settings, seed=0, verbose=0).tune(data(), time_budget=None, max_trials=2)
    assert auto.refit_epochs_ is None  # the model is a trial's network, trained as the trials were
    widths = [layer.units for layer in auto.network_.layers if layer.name.startswith("body_dense_")]
    assert widths == [8] and auto.config_.get("body", "units") == [8]
    assert "body.large_data_units (160 training rows; from 100)" in auto.config_.origin("body", "units")
