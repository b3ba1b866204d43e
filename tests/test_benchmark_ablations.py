"""benchmarks/ablations.py: paired timing (`--paired`: the order each fold's variants are fitted in, that they are
fitted back to back in one task and never read from the cache), several seeds a fold (`--seeds`), the check step
(`--check-step`), and what each refuses. No benchmark table is loaded: the fold plan and the fits are stand-ins."""


import pandas as pd
import pytest

from conftest import load_benchmark

ablations = load_benchmark("ablations")


def test_each_fold_turns_the_order_of_the_variants():
    variants = ["default", "a", "b"]
    assert [ablations.fold_order(variants, fold) for fold in range(4)] == [
        ["default", "a", "b"], ["a", "b", "default"], ["b", "default", "a"], ["default", "a", "b"]]


def test_a_paired_task_fits_each_fold_s_variants_back_to_back_and_caches_them(monkeypatch, tmp_path):
    fitted, written = [], []
    folds = 3

    def fold_plan(name, model, n_folds_small, version):
        return [(i, [i], [i + 10], tmp_path / f"{version}-{i}.json") for i in range(folds)]

    def evaluate_fold(model, spec, df, train_idx, test_idx, fold, threads, overrides):
        fitted.append((fold, overrides))
        return ablations.quality.FoldResult(spec.name, spec.task, model, fold, metrics={"fit_s": 1.0})

    monkeypatch.setattr(ablations.quality, "load", lambda name: (None, "fingerprint"))
    monkeypatch.setattr(ablations.quality, "fold_plan", fold_plan)
    monkeypatch.setattr(ablations.quality, "evaluate_fold", evaluate_fold)
    monkeypatch.setattr(ablations.quality, "write_cached", lambda path, result: written.append(path.name))
    monkeypatch.setattr(ablations.baselines, "model_version", lambda model, overrides: f"v{len(overrides or {})}")
    variants = {"default": {}, "wide": {"body": {"units": [512]}}}
    name = next(n for n, spec in ablations.quality.DATASETS.items())
    out = ablations.paired_task(name, variants, None, 1)
    wide = variants["wide"]
    assert fitted == [(0, None), (0, wide), (1, wide), (1, None), (2, None), (2, wide)]
    assert [r.fold for r in out["default"]] == [0, 1, 2] and [r.fold for r in out["wide"]] == [0, 1, 2]
    assert {r.version for r in out["wide"]} == {"v1"}
    assert sorted(written) == sorted(f"v{k}-{i}.json" for k in (0, 1) for i in range(folds))


@pytest.mark.parametrize("arguments", [
    ["--paired", "--variants", "", "--extra", '{"wide": {"body": {"units": [512]}}}'],
    ["--paired", "--variants", "", "--extra", '{"wide": {}}', "--default-from", "earlier.csv"],
])
def test_paired_timing_needs_the_default_fitted_beside_the_variants(arguments):
    with pytest.raises(SystemExit, match="--paired times the variants against the default fitted beside them"):
        ablations.main(arguments)


def _results(dataset, scores, fit_s=1.0, failed=0):
    quality = ablations.quality
    out = [quality.FoldResult(dataset, "regression", "automater", i, metrics={"r2": v, "fit_s": fit_s})
           for i, v in enumerate(scores)]
    out += [quality.FoldResult(dataset, "regression", "automater", len(scores) + i, error="ValueError: x")
            for i in range(failed)]
    return out


def test_a_dataset_s_score_is_the_mean_over_seeds_of_each_seed_s_mean_over_folds():
    by_seed = {0: _results("a", [0.5, 0.7]) + _results("b", [0.1]),
               1: _results("a", [0.7, 0.9], fit_s=3.0, failed=1)}
    row = ablations.seed_average(by_seed, "a", "r2")
    assert row["score"] == pytest.approx(0.7)  # (0.6 + 0.8) / 2
    assert row["seed_sd"] == pytest.approx(pd.Series([0.6, 0.8]).std())
    assert row["fit_s"] == pytest.approx(4.0)  # one seed's folds: (2 + 6) / 2
    assert row["seeds"] == 2 and row["failed"] == 1
    one = ablations.seed_average({0: _results("a", [0.5, 0.7])}, "a", "r2")
    assert one["score"] == pytest.approx(0.6) and one["seed_sd"] == 0.0 and one["seeds"] == 1


def test_every_seed_is_a_run_of_its_own_and_only_seed_0_keeps_the_cached_fits_key(monkeypatch):
    calls = []

    def run_all(names, models, folds, jobs, overrides=None, log=print, seed=None):
        calls.append((models, overrides, seed))
        if models == ["automater"]:
            return _results(names[0], [0.5 + seed / 10])
        return [ablations.quality.FoldResult(names[0], "regression", "hgb", 0, metrics={"r2": 0.5})]

    written = {}
    monkeypatch.setattr(ablations.quality, "run_all", run_all)
    monkeypatch.setattr(ablations, "write", lambda results, *a, **k: written.update(results=results, **k))
    name = next(n for n, half in ablations.datasets.halves().items() if half == "tune")
    ablations.main(["--variants", "default", "--datasets", name, "--seeds", "3", "--out", "x"])
    assert [seed for models, _, seed in calls if models == ["automater"]] == [0, 1, 2]
    row = written["results"].iloc[0]
    assert row["score"] == pytest.approx(0.6) and row["seeds"] == 3 and row["vs_hgb"] == pytest.approx(1.2)
    assert written["check_step"] is False
    version = ablations.baselines.automater_version
    assert version(None, 0) == version(None) != version(None, 1)


@pytest.mark.parametrize("arguments, message", [
    (["--seeds", "0"], "--seeds must be at least 1. Received: --seeds 0"),
    (["--paired", "--variants", "default", "--seeds", "2"], "--paired times one fit a fold"),
    (["--check-step", "--variants", "default"], "--check-step needs --datasets"),
])
def test_seeds_and_the_check_step_refuse_what_they_cannot_run(arguments, message):
    with pytest.raises(SystemExit, match=message):
        ablations.main(arguments)


def test_the_check_step_runs_on_check_half_tables_alone_and_plain_ablations_on_tune_half_tables_alone():
    halves = ablations.datasets.halves()
    tune = next(n for n, half in halves.items() if half == "tune")
    check = next(n for n, half in halves.items() if half == "check")
    with pytest.raises(SystemExit, match=f"--check-step runs on check-half datasets only; not in it: {tune}"):
        ablations.main(["--check-step", "--datasets", f"{check},{tune}", "--out", "x"])
    with pytest.raises(SystemExit, match=f"ablations run on the tune half only; not in it: {check}"):
        ablations.main(["--datasets", check, "--out", "x"])


def test_an_earlier_default_must_have_been_fitted_with_as_many_seeds(tmp_path):
    path = tmp_path / "earlier.csv"
    pd.DataFrame({"dataset": ["a", "b"], "variant": "default", "score": [0.5, 0.6]}).to_csv(path, index=False)
    assert list(ablations.earlier_default(path, ["a", "b"])["seeds"]) == [1, 1]  # a file from before --seeds
    with pytest.raises(SystemExit, match="fitted with 1 seed\\(s\\) a fold, this run with 3: give --seeds 1"):
        ablations.earlier_default(path, ["a"], seeds=3)
    with pytest.raises(SystemExit, match="has no default row for c"):
        ablations.earlier_default(path, ["a", "c"])


def test_another_seed_reaches_the_automater_alone():
    with pytest.raises(ValueError, match="another seed is given to the Automater alone"):
        ablations.quality.run_all(["x"], ["automater", "hgb"], None, 1, seed=1)


def test_a_report_names_its_seeds_and_whether_it_is_a_check_step(tmp_path):
    rows = [{"dataset": d, "task": "regression", "metric": "r2", "variant": v, "score": s, "seeds": 3,
             "seed_sd": 0.01, "fit_s": 2.0, "failed": 0, "hgb": 0.5, "vs_hgb": s / 0.5}
            for d, v, s in [("a", "default", 0.5), ("a", "wide", 0.55), ("b", "default", 0.4), ("b", "wide", 0.38)]]
    ablations.write(pd.DataFrame(rows), {"default": {}, "wide": {"body": {"units": [512]}}}, tmp_path / "r", [], 1.0,
                    check_step=True)
    text = (tmp_path / "r.md").read_text()
    assert text.startswith("# Check step: a variant chosen on the tune half, on check-half datasets")
    assert "seeds 0..2 and the scores averaged over them" in text and "chooses nothing" in text
    assert "seed_sd" in (tmp_path / "r.csv").read_text()
