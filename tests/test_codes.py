import json

import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from keras_defaults import Automater, codes
from keras_defaults.errors import ConfigError, ConfigTypeError


def school_frame(rows=3000, schools=150, seed=0, classes=False):
    """A score set by an identifier (`school`: each its own level, unrelated to its neighbours) and by a quantity
    (`age`: the score rises with it), with an integer column unrelated to either (`noise_int`)."""
    rng = np.random.default_rng(seed)
    school = rng.integers(0, schools, rows)
    age = rng.integers(18, 70, rows)
    level = rng.normal(scale=1.0, size=schools)
    score = level[school] + 0.04 * (age - 40) + rng.normal(scale=0.7, size=rows)
    frame = pd.DataFrame({"school": school, "age": age, "noise_int": rng.integers(0, 500, rows), "score": score})
    if classes:
        frame["score"] = np.where(score > 0.5, "high", np.where(score < -0.5, "low", "mid"))
    return frame


def test_an_identifier_is_told_from_a_quantity_by_the_target():
    auto = Automater("score", seed=0, verbose=0).prepare(school_frame())
    school, age, noise = (auto.profiles_[c] for c in ("school", "age", "noise_int"))
    assert school.kind == "categorical" and school.input_dtype == "float32"
    assert "told by the target" in school.reason and "inference.codes_from_target" in school.reason
    assert age.kind == "numerical" and noise.kind == "numerical"
    # Its number stays beside the codes, in case the measure mistook a quantity.
    assert auto.input_settings_["school"]["with_number"] is True
    assert "codes, told by the target" in " ".join(str(auto.explain()).split())


def test_classes_tell_codes_too():
    auto = Automater("score", seed=0, verbose=0).prepare(school_frame(classes=True))
    assert auto.profiles_["school"].kind == "categorical"
    assert auto.profiles_["age"].kind == "numerical"


@pytest.mark.parametrize("config", [
    {"inference": {"codes_from_target": False}},
    {"inference": {"codes_min_gain": 0.9}},
    {"inference": {"codes_noise_z": 1000.0}},  # no gain clears a thousand standard errors
    {"columns": {"school": {"kind": "numerical"}}},
    {"columns": {"school": {"scaling": "standard"}}},  # an entry of its own: the user's kind stands
])
def test_the_setting_a_forced_kind_or_a_column_entry_keeps_the_number(config):
    auto = Automater("score", config=config, seed=0, verbose=0).prepare(school_frame())
    assert auto.profiles_["school"].kind == "numerical"


@pytest.mark.parametrize("setting", [{"codes_min_gain": 1.5}, {"codes_noise_z": -1.0}])
def test_the_settings_are_checked(setting):
    with pytest.raises(ConfigError, match=next(iter(setting))):
        Automater("score", config={"inference": setting}, verbose=0).prepare(school_frame())


def test_the_gains_standard_error_shrinks_with_rows_and_the_margin_takes_it_off():
    frame = school_frame(rows=20_000, schools=150)
    targets = frame[["score"]].to_numpy()
    few, many = (codes.evidence(frame["school"].to_numpy(dtype="float64")[:rows], targets[:rows])
                 for rows in (600, 20_000))
    assert 0 < many.spread < few.spread
    assert many.clears(0.01, 2.0) and many.clears(0.01, 0.0)
    assert not many.clears(0.01, (many.gain - 0.01) / many.spread + 0.1)
    assert codes.CodeEvidence(codes=0.05, smooth=0.0, spread=0.01).clears(0.01, 2.0)
    assert not codes.CodeEvidence(codes=0.05, smooth=0.0, spread=0.03).clears(0.01, 2.0)


def test_codes_told_by_the_target_fit_predict_and_reload(tmp_path):
    frame = school_frame(rows=1200, schools=60)
    auto = Automater("score", overrides=FAST, seed=0, verbose=0).fit(frame)
    assert auto.profiles_["school"].kind == "categorical"
    # A school never seen in training and a missing one are read as unknown codes, not errors.
    new = frame.drop(columns="score").head(5).astype({"school": "float64"})
    new.loc[new.index[0], "school"] = 10_000
    new.loc[new.index[1], "school"] = np.nan
    predicted = auto.predict(new)
    assert np.isfinite(predicted.to_numpy(dtype="float64")).all()
    loaded = Automater.load(auto.save(tmp_path / "run"))
    assert loaded.profiles_["school"].kind == "categorical"
    pd.testing.assert_series_equal(loaded.predict(new), predicted)
    # The SavedModel takes the raw numbers and serves what predict gives.
    import tensorflow as tf

    from keras_defaults.encoders import input_tensor

    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    assert signature["inputs"]["school"]["dtype"] == "float32"
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(**{spec["argument"]: input_tensor(new[c], auto.profiles_[c])
                   for c, spec in signature["inputs"].items()})
    np.testing.assert_allclose(out[signature["outputs"]["score"]["prediction"]].numpy().reshape(-1),
                               predicted.to_numpy(), rtol=1e-5)


def test_evidence_per_value_against_bins():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 100, 5000).astype("float64")
    steps = rng.normal(size=100)
    coded = codes.evidence(keys, (steps[keys.astype(int)] + rng.normal(scale=0.5, size=5000))[:, None])
    smooth = codes.evidence(keys, (keys / 50 + rng.normal(scale=0.5, size=5000))[:, None])
    assert coded.codes > 0.6 and coded.smooth < 0.2 and coded.gain > 0.5
    assert smooth.codes > 0.5 and smooth.gain < 0.01


def test_evidence_leaves_out_missing_rows_and_needs_variance():
    values = np.array([1.0, 2.0, np.nan, 4.0] * 50)
    assert codes.evidence(values, np.ones((200, 1))) == codes.CodeEvidence(0.0, 0.0)  # a constant target
    assert codes.evidence(values[:6], np.arange(6.0)[:, None]) == codes.CodeEvidence(0.0, 0.0)  # too few rows
    targets = np.arange(200.0)[:, None]
    targets[3] = np.nan
    measured = codes.evidence(values, targets)
    assert np.isfinite(measured.codes) and np.isfinite(measured.smooth)


def test_a_negative_smooth_score_does_not_make_codes_better():
    assert codes.CodeEvidence(codes=0.005, smooth=-0.02).gain == pytest.approx(0.005)
    assert codes.CodeEvidence(codes=-0.01, smooth=-0.03).gain == pytest.approx(-0.01)


def test_candidates_are_unforced_whole_number_columns_with_many_values():
    frame = school_frame(rows=400)
    frame["fraction"] = frame["age"] + 0.5
    frame["duration"] = pd.to_timedelta(frame["age"], unit="s")
    frame["few"] = frame["school"] % 5
    auto = Automater("score", config={"inference": {"codes_from_target": False}}, verbose=0)
    auto.prepare(frame)
    found = codes.candidates(frame, auto.profiles_, integer_max_unique=10)
    assert set(found) == {"school", "age", "noise_int"}


def test_target_matrix_standardises_numbers_and_spreads_classes():
    frame = school_frame(rows=500, classes=True)
    frame["amount"] = np.arange(500.0)
    auto = Automater(["score", "amount"], verbose=0).prepare(frame)
    matrix = codes.target_matrix(frame, auto.targets_)
    assert matrix.shape == (500, 4)  # three classes as 0/1 columns, then the number
    np.testing.assert_allclose(matrix[:, :3].sum(axis=1), 1.0)
    assert matrix[:, 3].mean() == pytest.approx(0.0) and matrix[:, 3].std() == pytest.approx(1.0)
    assert codes.target_matrix(frame, {}) is None


def test_codes_are_told_from_files_as_from_a_frame(tmp_path):
    frame = school_frame(rows=2000, schools=80)
    (tmp_path / "d").mkdir()
    frame.iloc[:1000].to_parquet(tmp_path / "d" / "a.parquet")
    frame.iloc[1000:].to_parquet(tmp_path / "d" / "b.parquet")
    from_files = Automater("score", seed=0, verbose=0).prepare(str(tmp_path / "d" / "*.parquet"))
    in_memory = Automater("score", seed=0, verbose=0).prepare(frame)
    assert {n: p.kind for n, p in from_files.profiles_.items()} == {n: p.kind for n, p in
                                                                   in_memory.profiles_.items()}
    assert from_files.input_states_["school"]["vocabulary"] == in_memory.input_states_["school"]["vocabulary"]


def test_the_smooth_alternative_has_fewer_bins_than_the_values():
    assert codes.smooth_bins(27, 1) == codes.SMOOTH_BINS  # 1: the rule before round 49
    assert codes.smooth_bins(27, 4) == 6
    assert codes.smooth_bins(5_000, 4) == codes.SMOOTH_BINS
    assert codes.smooth_bins(5, 4) == 2


def litter_frame(litters=27, rows=320, seed=2):
    """Pups' weights set by their litter, an identifier numbered 1..27 whose neighbours are unrelated, and slowly
    drifting with it, as litters numbered by treatment are: few values, so twenty bins are nearly the codes."""
    rng = np.random.default_rng(seed)
    litter = rng.integers(1, litters + 1, rows)
    level = rng.normal(scale=0.6, size=litters + 1) + np.linspace(0, 1, litters + 1)
    return pd.DataFrame({"litter": litter, "weight": level[litter] + rng.normal(scale=0.5, size=rows)})


def test_fewer_bins_tell_an_identifier_with_few_values():
    frame = litter_frame()
    targets = frame[["weight"]].to_numpy()
    values = frame["litter"].to_numpy(dtype="float64")
    twenty, six = (codes.evidence(values, targets, values_per_bin=k) for k in (1, 4))
    assert six.smooth < twenty.smooth and six.codes == twenty.codes
    assert six.clears(0.01, 2.0) and not twenty.clears(0.01, 2.0)
    kinds = [Automater("weight", config={"inference": {"codes_values_per_bin": k}}, seed=0, verbose=0)
             .prepare(frame).profiles_["litter"].kind for k in (1, 4)]
    assert kinds == ["numerical", "categorical"]


@pytest.mark.parametrize("value", [0, 2.5])
def test_values_per_bin_is_checked(value):
    with pytest.raises((ConfigError, ConfigTypeError), match="codes_values_per_bin"):
        Automater("weight", config={"inference": {"codes_values_per_bin": value}}, verbose=0).prepare(litter_frame())
