"""benchmarks/ablations.py's paired timing (`--paired`): the order each fold's variants are fitted in, that they are
fitted back to back in one task and never read from the cache, and what it refuses. No benchmark table is loaded:
the fold plan and the fits are stand-ins."""

import importlib.util
import sys
from pathlib import Path

import pytest

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
_path = list(sys.path)
try:  # the script puts the benchmarks folder first on the path to import its neighbours; undone once loaded
    _SPEC = importlib.util.spec_from_file_location("ablations", _BENCHMARKS / "ablations.py")
    ablations = importlib.util.module_from_spec(_SPEC)
    _SPEC.loader.exec_module(ablations)
finally:
    sys.path[:] = _path


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
