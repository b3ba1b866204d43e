"""The committed quality benchmark must have been made with the current defaults.yaml.

benchmarks/results/quality.md records the sha256 of the settings in the defaults.yaml it was run with (its parsed
values without the cheat-sheet notes: `defaults.settings_sha256`; reports from before record the file's sha256).
When a setting changes, this test fails until the benchmark is run again (`make benchmark-quality`; results are
cached, so only what the change touches is refitted) and the new results are committed. An edited comment or note
changes no setting. Reads two files; needs no benchmark package.
"""

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "results" / "quality.md"


def recorded_hash(text: str, what: str = "sha256") -> str | None:
    match = re.search(rf"defaults\.yaml {what}\*\*: `([0-9a-f]{{64}})`", text)
    return match.group(1) if match else None


def test_report_records_a_defaults_hash():
    assert recorded_hash(REPORT.read_text(encoding="utf-8")), f"{REPORT} records no defaults.yaml sha256"


def added_since(text: str) -> dict:
    """{dotted.path: value} of the settings a report declares as added to defaults.yaml after its run, each at the
    value that reproduces what the run did (e.g. a margin of 0 that takes nothing off)."""
    import yaml

    match = re.search(r"settings added since the run[^*]*\*\*: (.+)", text)
    if not match:
        return {}
    return {path: yaml.safe_load(value) for path, value in re.findall(r"`([\w.]+): ([^`]+)`", match.group(1))}


def without_added(table: dict, added: dict) -> dict:
    """The parsed defaults table with the declared added settings removed; each must hold its declared value."""
    import copy

    table = copy.deepcopy(table)
    for path, value in added.items():
        *parents, key = path.split(".")
        section = table
        for part in parents:
            section = section[part]
        assert section.get(key) == value, f"{path} is {section.get(key)!r}, not the {value!r} the report declares"
        del section[key]
    return table


def test_report_was_made_with_the_current_defaults(tmp_path):
    import yaml

    from keras_defaults.defaults import read_yaml, settings_sha256

    text = REPORT.read_text(encoding="utf-8")
    recorded = recorded_hash(text, "settings sha256")
    if recorded is not None:
        # Settings added after the run at values that reproduce it leave its results standing: the hash is taken
        # of the table without them, and any other change still fails.
        table = tmp_path / "defaults_as_run.yaml"
        table.write_text(yaml.safe_dump(without_added(read_yaml(ROOT / "defaults.yaml"), added_since(text))))
        current, what = settings_sha256(table), "settings sha256"
    else:
        recorded, what = recorded_hash(text), "sha256"
        current = hashlib.sha256((ROOT / "defaults.yaml").read_bytes()).hexdigest()
    assert recorded == current, (
        f"benchmarks/results/quality.md was made with defaults.yaml {what} {recorded}, but defaults.yaml is now "
        f"{current}: run `make benchmark-quality` and commit benchmarks/results/")


def test_the_settings_hash_ignores_comments_and_notes_but_not_settings(tmp_path):
    from keras_defaults.defaults import settings_sha256

    table = (ROOT / "defaults.yaml").read_text(encoding="utf-8")
    base = settings_sha256(ROOT / "defaults.yaml")
    edits = {"comment": table.replace("targets:", "# a new comment\ntargets:", 1),
             "note": table.replace("poisson: \"Counts", "poisson: \"Whole-number counts", 1),
             "setting": table.replace("learning_rate: 0.001", "learning_rate: 0.002", 1)}
    hashes = {}
    for name, text in edits.items():
        assert text != table, name
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
        hashes[name] = settings_sha256(tmp_path / f"{name}.yaml")
    assert hashes["comment"] == base and hashes["note"] == base
    assert hashes["setting"] != base


FOLDS = ROOT / "benchmarks" / "results" / "quality_folds.csv"


def test_every_committed_fold_result_names_the_model_version_that_made_it():
    import csv

    with FOLDS.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and "version" in rows[0], f"{FOLDS} has no version column (quality.py --seed-cache needs it)"
    for row in rows:
        expected_prefix = "automater:" if row["model"] == "automater" else f"{row['model']}-"
        assert row["version"].startswith(expected_prefix), (row["dataset"], row["model"], row["version"])


def test_seed_cache_reuses_only_results_whose_model_version_still_holds(tmp_path, monkeypatch):
    """quality.py --seed-cache: an earlier run's rows fill the cache for unchanged models; stale ones are refit."""
    import sys

    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import baselines
        import quality
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))

    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60.0) % 7})
    spec = quality.DatasetSpec("tiny", lambda: frame, target="y", task="regression", source="test", notes="")
    monkeypatch.setitem(quality.DATASETS, "tiny", spec)
    monkeypatch.setattr(quality, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(quality, "load", lambda name, max_rows=quality.MAX_ROWS: (frame, "fingerprint"))
    hgb_now = baselines.model_version("hgb")
    rows = [{"dataset": "tiny", "half": "tune", "task": "regression", "model": model, "fold": fold,
             "r2": 0.5 + fold / 100, "fit_s": 1.0, "error": "", "version": version}
            for model, version in (("hgb", hgb_now), ("lightgbm", "lightgbm-0/an-older-harness"))
            for fold in range(5)]
    rows[0]["error"] = "ValueError: it failed"  # a failed fold is refit, never reused
    folds_csv = tmp_path / "quality_folds.csv"
    pd.DataFrame(rows).to_csv(folds_csv, index=False)

    written = quality.seed_cache(folds_csv, ["tiny"], ["hgb", "lightgbm"], None)

    assert written == 4
    cached = quality.collect_cached(["tiny"], ["hgb", "lightgbm"], None)
    assert sorted((r.model, r.fold) for r in cached) == [("hgb", fold) for fold in range(1, 5)]
    assert [r.metrics["r2"] for r in sorted(cached, key=lambda r: r.fold)] == [0.51, 0.52, 0.53, 0.54]
    assert all(r.version == hgb_now and r.error is None for r in cached)
    assert quality.seed_cache(folds_csv, ["tiny"], ["hgb", "lightgbm"], None) == 0  # already there

    pd.DataFrame(rows).drop(columns="version").to_csv(folds_csv, index=False)
    with pytest.raises(SystemExit, match="no `version` column"):
        quality.seed_cache(folds_csv, ["tiny"], ["hgb"], None)


def test_a_declared_added_setting_must_hold_its_declared_value():
    table = {"inference": {"codes_noise_z": 2.0, "other": 1}}
    with pytest.raises(AssertionError, match="codes_noise_z is 2.0, not the 0.0"):
        without_added(table, added_since("- **settings added since the run, at the values that reproduce it**: "
                                         "`inference.codes_noise_z: 0.0`"))
    assert without_added({"inference": {"codes_noise_z": 0.0, "other": 1}},
                         {"inference.codes_noise_z": 0.0}) == {"inference": {"other": 1}}


def test_speed_md_reports_fit_time_from_the_committed_results():
    """speed.md's section on fit time against trees is what speed.py computes from the committed quality and
    ablation results today, and its check-half median is the one quality.md reports for the Automater."""
    import sys

    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import speed
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    committed = (ROOT / "benchmarks" / "results" / "speed.md").read_text(encoding="utf-8")
    assert "\n".join(speed.fit_time_section()) in committed, "speed.md is stale: python benchmarks/speed.py " \
        "--from-csv benchmarks/results/speed.csv writes it again from the run's own figures"
    medians, _ = speed.median_fit_time_vs_trees(pd.read_csv(ROOT / "benchmarks" / "results" / "quality_folds.csv"))
    check_summary = REPORT.read_text(encoding="utf-8").split("## Check half: summary")[1]
    reported = re.search(r"\| `automater` \|(?: [^|]+ \|){5} ([0-9.]+) \|", check_summary).group(1)
    assert f"{medians['check']:.1f}" == reported
