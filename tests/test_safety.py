"""Saved models are safe and faithful: only JSON, YAML and .keras files (no pickle); a tampered file is refused
without running anything; an interrupted save leaves nothing `load` could mistake for a good one; a reloaded model
and a seeded refit predict identically."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import keras_defaults
from conftest import FAST, awkward_rows, mixed_frame
from keras_defaults import Automater, export
from keras_defaults.errors import UnsafeFileError

PICKLE_HEADERS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))


def assert_not_pickle(name, content):
    assert not content.startswith(PICKLE_HEADERS), f"{name} starts like a pickle"


def keras_members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite_config(source, target, change):
    """A copy of the .keras archive `source` whose config.json has been passed through `change`."""
    members = keras_members(source)
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return target


def layers_of(config):
    """The layer entries of the served model's config and of its nested models."""
    found = []
    for layer in config["config"]["layers"]:
        found.append(layer)
        if "layers" in layer.get("config", {}):
            found.extend(layer["config"]["layers"])
    return found


# ---------------------------------------------------------------------------------------------- plain files only
def test_saves_and_exports_hold_only_json_yaml_and_keras_files(fitted_multi, tmp_path):
    auto, _ = fitted_multi
    auto.save(tmp_path / "run")
    auto.export(tmp_path / "model.keras")
    auto.export(tmp_path / "serving", format="tf_saved_model")
    saved_model_own = re.compile(r"(saved_model|fingerprint)\.pb|variables/variables\.(index|data-\d+-of-\d+)")
    for path in tmp_path.rglob("*"):
        if path.is_dir():
            continue
        relative = path.relative_to(tmp_path).as_posix()
        content = path.read_bytes()
        assert_not_pickle(relative, content)
        if relative.startswith("serving/") and saved_model_own.fullmatch(relative.removeprefix("serving/")):
            continue
        assert path.suffix in (".json", ".yaml", ".keras"), relative
        if path.suffix == ".json":
            json.loads(content)
        if path.suffix == ".keras":
            members = keras_members(path)
            assert set(members) == {"config.json", "metadata.json", "model.weights.h5"}, relative
            for name, member in members.items():
                assert_not_pickle(f"{relative}:{name}", member)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["automater.json", "model.keras"]


def test_the_package_never_pickles_or_loads_unsafely():
    package = Path(keras_defaults.__file__).parent
    forbidden = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|_pickle|dill|joblib|cloudpickle|marshal|shelve)\b"
                           r"|allow_pickle\s*=\s*True|safe_mode\s*=\s*False|enable_unsafe_deserialization"
                           r"|yaml\.(unsafe_)?load\(|yaml\.Loader\b", re.MULTILINE)
    offenders = {str(p.relative_to(package)): forbidden.findall(p.read_text(encoding="utf-8"))
                 for p in package.rglob("*.py")}
    assert not {name: found for name, found in offenders.items() if found}


# ---------------------------------------------------------------------------------------------- tampered files
def lambda_model(path):
    inputs = keras.Input(shape=(3,), name="x")
    outputs = keras.layers.Lambda(lambda t: t * 2, name="doubling")(inputs)
    keras.Model(inputs, outputs).save(path)
    return path


def test_a_keras_file_with_a_lambda_layer_is_refused(tmp_path):
    path = lambda_model(tmp_path / "lambda.keras")
    with pytest.raises(UnsafeFileError, match=r"Refusing to load .*a Lambda layer \('doubling'\), which runs Python "
                                              r"code stored in the file"):
        export.load_keras(path)


def test_keras_safe_mode_is_the_second_line_of_defence(tmp_path, monkeypatch):
    path = lambda_model(tmp_path / "lambda.keras")
    monkeypatch.setattr(export, "vet_archive", lambda _: None)
    with pytest.raises(UnsafeFileError, match=r"asks to run arbitrary code, which safe mode forbids. Keras said: "
                                              r"Requested the deserialization of a `Lambda` layer"):
        export.load_keras(path)


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    """A module that leaves a marker file when imported: what a tampered config would make loading run."""
    marker = tmp_path / "code_ran"
    (tmp_path / "kd_evil_payload.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\ndef payload(*args, **kwargs):\n    return args[0]\n"
        f"class Payload:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("kd_evil_payload", None)


def as_function(config):
    dense = next(layer for layer in layers_of(config) if layer["class_name"] == "Dense")
    dense["config"]["activation"] = {"module": "kd_evil_payload", "class_name": "function", "config": "payload",
                                     "registered_name": "function"}


def as_builtin_eval(config):
    dense = next(layer for layer in layers_of(config) if layer["class_name"] == "Dense")
    dense["config"]["activation"] = {"module": "builtins", "class_name": "function", "config": "eval",
                                     "registered_name": "function"}


def as_class(config):
    dense = next(layer for layer in layers_of(config) if layer["class_name"] == "Dense")
    dense.update(module="kd_evil_payload", class_name="Payload", registered_name=None)


def as_unregistered_package_class(config):
    dense = next(layer for layer in layers_of(config) if layer["class_name"] == "Dense")
    dense.update(module="keras_defaults.layers", class_name="Payload", registered_name="keras_defaults>Payload")


@pytest.mark.parametrize("change, named", [
    (as_function, "kd_evil_payload.payload"), (as_builtin_eval, "builtins.eval"), (as_class, "kd_evil_payload.Payload"),
    (as_unregistered_package_class, "keras_defaults.layers.Payload"),
])
def test_a_keras_file_naming_foreign_code_is_refused_and_nothing_runs(fitted_binary, tmp_path, evil_module, change,
                                                                       named):
    auto, _ = fitted_binary
    good = auto.export(tmp_path / "good.keras")
    tampered = rewrite_config(good, tmp_path / "tampered.keras", change)
    with pytest.raises(UnsafeFileError, match=rf"its config names '{re.escape(named)}', which is neither a Keras "
                                              r"object nor a layer of this package"):
        export.load_keras(tampered)
    auto.save(tmp_path / "run")
    shutil.copy(tampered, tmp_path / "run" / "model.keras")
    with pytest.raises(UnsafeFileError, match=re.escape(named)):
        Automater.load(tmp_path / "run")
    assert not evil_module.exists()
    assert "kd_evil_payload" not in sys.modules


def test_a_file_that_is_not_a_keras_archive_is_refused(tmp_path):
    (tmp_path / "fake.keras").write_bytes(b"\x80\x04\x95 not a zip")
    with pytest.raises(UnsafeFileError, match=r"not a \.keras archive with a readable config\.json"):
        export.load_keras(tmp_path / "fake.keras")


def edit_state(path, change):
    state_file = path / "automater.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    change(state)
    state_file.write_text(json.dumps(state), encoding="utf-8")


def first_input(state):
    return next(iter(state["inputs"].values()))


@pytest.mark.parametrize("change, match", [
    (lambda s: s.update(payload="x"), r"the file does not have the keys .*unexpected key\(s\) \['payload'\]"),
    (lambda s: s.pop("targets"), r"the file does not have the keys .*missing key\(s\) \['targets'\]"),
    (lambda s: s["params"].update(__reduce__="os.system"), r"'params' does not have .*\['__reduce__'\]"),
    (lambda s: first_input(s).update(code="print(1)"), r"input 'num' does not have .*\['code'\]"),
    (lambda s: first_input(s)["profile"].update(extra=1), r"the profile of input 'num' .*\['extra'\]"),
    (lambda s: s["targets"]["binary"].update(loader="eval"), r"target 'binary' does not have .*\['loader'\]"),
    (lambda s: s["config"]["training"].update(epoch=3), r"its 'config' is not a valid settings table. Unknown "
                                                        r"setting 'training.epoch'"),
    (lambda s: s.update(origins="everywhere"), r"'origins' must be a list"),
    (lambda s: s["origins"][0].__setitem__(0, [[]]), r"'origins' must be a list of \[setting path, source\], a "
                                                     r"setting path being a list of keys"),
    (lambda s: s.update(format_version=99), r"saved in format 99; this version reads format 1"),
    (lambda s: s.update(inputs=[]), r"'inputs' must be a mapping"),
    (lambda s: s["targets"]["binary"]["state"].update(classes="ny"),
     r"the classes of target 'binary' must be a list of 2 distinct labels, found 'ny'"),
    (lambda s: s["targets"]["binary"]["state"]["classes"].append(2), r"classes of target 'binary' must be a list of 2"),
    (lambda s: s["params"].update(target=123), r"'params.target' must name the saved targets \['binary'\]"),
    (lambda s: s["params"].update(target="other"), r"'params.target' must name the saved targets"),
])
def test_a_saved_state_with_unexpected_content_is_refused(fitted_binary, tmp_path, change, match):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    edit_state(path, change)
    with pytest.raises(UnsafeFileError, match=match):
        Automater.load(path)


def test_a_state_file_that_is_not_json_is_refused(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    (path / "automater.json").write_bytes(b"\x80\x05\x95 pickled?")
    with pytest.raises(UnsafeFileError, match=r"is not valid JSON"):
        Automater.load(path)


def test_files_from_two_different_saves_are_refused(fitted_binary, fitted_multi, tmp_path):
    fitted_binary[0].save(tmp_path / "binary")
    fitted_multi[0].save(tmp_path / "multi")
    shutil.copy(tmp_path / "multi" / "model.keras", tmp_path / "binary" / "model.keras")
    with pytest.raises(UnsafeFileError, match=r"model.keras does not match automater.json"):
        Automater.load(tmp_path / "binary")


# ---------------------------------------------------------------------------------------------- faithful reloads
def test_load_after_save_gives_bit_identical_predictions(fitted_multi, tmp_path):
    auto, data = fitted_multi
    data = data.drop(columns=["binary"])
    rows = pd.concat([data, awkward_rows(data)])
    loaded = Automater.load(auto.save(tmp_path / "run"))
    expected, got = auto.predict(rows), loaded.predict(rows)
    np.testing.assert_array_equal(got["price"].to_numpy(), expected["price"].to_numpy())
    assert got["label"].tolist() == expected["label"].tolist()
    np.testing.assert_array_equal(loaded.predict_proba(rows)["label"].to_numpy(),
                                  auto.predict_proba(rows)["label"].to_numpy())


# ---------------------------------------------------------------------------------------------- interrupted saves
class DiskFull(Exception):
    pass


@pytest.fixture
def failing_model_save(monkeypatch):
    """keras.Model.save writes part of its file, then fails: an interruption in the middle of a save."""
    def save(model, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK\x03\x04 half an archive")
        raise DiskFull("No space left on device")

    monkeypatch.setattr(keras.Model, "save", save)


def leftovers(folder, *keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_an_interrupted_save_leaves_no_directory(fitted_binary, tmp_path, failing_model_save):
    auto, _ = fitted_binary
    with pytest.raises(DiskFull):
        auto.save(tmp_path / "run")
    assert leftovers(tmp_path) == []
    with pytest.raises(UnsafeFileError, match="is not a saved Automater"):
        Automater.load(tmp_path / "run")


def test_an_interrupted_save_over_a_good_one_keeps_the_good_one(fitted_binary, tmp_path, monkeypatch):
    auto, data = fitted_binary
    data = data.drop(columns=["price", "label"])
    path = auto.save(tmp_path / "run")
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def save(model, filepath, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", save)
    with pytest.raises(KeyboardInterrupt):
        auto.save(path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert leftovers(tmp_path, "run") == []
    np.testing.assert_array_equal(Automater.load(path).predict_proba(data).to_numpy(),
                                  auto.predict_proba(data).to_numpy())


def test_a_failed_final_move_restores_the_previous_save(fitted_binary, tmp_path, monkeypatch):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    before = (path / "automater.json").read_bytes()
    real_replace, calls = os.replace, []

    def replace(source, target):
        calls.append(target)
        if len(calls) == 2:  # the finished save moving into place, after the old one moved aside
            raise OSError("interrupted")
        return real_replace(source, target)

    monkeypatch.setattr(export.os, "replace", replace)
    with pytest.raises(OSError, match="interrupted"):
        auto.save(path)
    monkeypatch.undo()
    assert (path / "automater.json").read_bytes() == before
    assert leftovers(tmp_path, "run") == []
    Automater.load(path)


def test_an_interrupted_keras_export_leaves_no_half_written_file(fitted_binary, tmp_path, failing_model_save):
    auto, _ = fitted_binary
    with pytest.raises(DiskFull):
        auto.export(tmp_path / "model.keras")
    assert leftovers(tmp_path) == []


def test_an_interrupted_saved_model_export_leaves_no_directory(fitted_binary, tmp_path, monkeypatch):
    auto, _ = fitted_binary

    def write_out(archive, filepath, *args, **kwargs):
        (Path(filepath) / "variables").mkdir(parents=True)
        (Path(filepath) / "saved_model.pb").write_bytes(b"half")
        raise DiskFull("No space left on device")

    # ExportArchive() builds the backend's own subclass, which is where write_out must be replaced.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", write_out)
    with pytest.raises(DiskFull):
        auto.export(tmp_path / "serving", format="tf_saved_model")
    assert leftovers(tmp_path) == []


def test_a_half_written_directory_is_not_mistaken_for_a_save(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    (path / "model.keras").unlink()
    with pytest.raises(UnsafeFileError, match=r"is not a saved Automater: it needs both automater.json and "
                                              r"model.keras"):
        Automater.load(path)
    (path / "model.keras").write_bytes(b"PK\x03\x04 half an archive")
    with pytest.raises(UnsafeFileError, match=r"not a \.keras archive"):
        Automater.load(path)


# ---------------------------------------------------------------------------------------------- repeatable fits
def test_two_seeded_fits_on_cpu_give_identical_predictions():
    data = mixed_frame(160, seed=3)
    data["city"] = [f"city{i % 40}" for i in range(len(data))]  # embedded, not one-hot
    settings = {**FAST, "body": {"units": [16], "dropout": 0.3}, "inputs": {"categorical": {"one_hot_max_levels": 12}}}

    def run():
        auto = Automater(target=["label", "price"], overrides=settings, seed=7, verbose=0)
        return auto.fit(data.drop(columns=["binary"]))

    first, second = run(), run()
    data = data.drop(columns=["binary"])
    assert first.input_states_["city"]["embedding_dim"]
    pd.testing.assert_frame_equal(first.predict(data), second.predict(data), check_exact=True)
    np.testing.assert_array_equal(first.predict_proba(data)["label"].to_numpy(),
                                  second.predict_proba(data)["label"].to_numpy())
    assert first.history_ == second.history_


def test_save_refuses_to_replace_a_directory_that_is_not_a_save(fitted_binary, tmp_path):
    from keras_defaults.errors import DataError

    auto, _ = fitted_binary
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="exists and is not a saved Automater"):
        auto.save(precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    auto.save(tmp_path / "run")
    auto.save(tmp_path / "run")  # replacing an earlier save is fine


# ---------------------------------------------------------------------------------------------- hostile archives
def test_a_config_that_declares_gigabytes_is_refused_before_it_is_read(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    run = auto.save(tmp_path / "run")
    members = keras_members(run / "model.keras")
    # 65 MiB of spaces after the JSON: still valid JSON, a few kilobytes compressed.
    members["config.json"] = members["config.json"] + b" " * (65 * 2 ** 20)
    with zipfile.ZipFile(run / "model.keras", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    assert (run / "model.keras").stat().st_size < 2 ** 20
    with pytest.raises(UnsafeFileError, match="declares 68,1.*bytes, over the 67,108,864"):
        Automater.load(run)


@pytest.mark.parametrize("member", ["automater.json", "config.json"])
@pytest.mark.parametrize("poison", ["[" * 5000 + "]" * 5000, "1" * 5000])
def test_deep_nesting_and_huge_integers_are_refused(fitted_binary, tmp_path, member, poison):
    auto, _ = fitted_binary
    run = auto.save(tmp_path / "run")
    if member == "automater.json":
        state = (run / "automater.json").read_text()
        (run / "automater.json").write_text(state.replace('"format_version": 1', f'"format_version": {poison}', 1))
    else:
        members = keras_members(run / "model.keras")
        members["config.json"] = members["config.json"].replace(b'"class_name"', f'"x": {poison}, "class_name"'
                                                                .encode(), 1)
        with zipfile.ZipFile(run / "model.keras", "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
    with pytest.raises(UnsafeFileError, match=member.replace(".", r"\.") if member == "automater.json" else
                       "config.json"):
        Automater.load(run)


def test_damaged_weights_are_refused(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    run = auto.save(tmp_path / "run")
    members = keras_members(run / "model.keras")
    with zipfile.ZipFile(run / "model.keras", "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    data = bytearray((run / "model.keras").read_bytes())
    with zipfile.ZipFile(run / "model.keras") as archive:
        info = archive.getinfo("model.weights.h5")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.file_size // 2] ^= 0xFF  # one byte inside the weights: the member's checksum now fails
    (run / "model.keras").write_bytes(bytes(data))
    with pytest.raises(UnsafeFileError, match="model.keras"):
        Automater.load(run)


def test_a_model_from_another_save_with_the_same_columns_is_refused(tmp_path):
    data = mixed_frame(120)
    first = Automater("label", seed=0, verbose=0, overrides=FAST).fit(data)
    second = Automater("label", seed=1, verbose=0, overrides=FAST).fit(data)
    first.save(tmp_path / "first")
    second.save(tmp_path / "second")
    shutil.copy(tmp_path / "second" / "model.keras", tmp_path / "first" / "model.keras")
    with pytest.raises(UnsafeFileError, match="digest differs"):
        Automater.load(tmp_path / "first")
    # A save from before digests were recorded still loads.
    state = json.loads((tmp_path / "second" / "automater.json").read_text())
    del state["model_sha256"]
    (tmp_path / "second" / "automater.json").write_text(json.dumps(state))
    assert Automater.load(tmp_path / "second").predict(data).equals(second.predict(data))


def test_saves_and_exports_follow_the_umask(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    previous = os.umask(0o022)
    try:
        run = auto.save(tmp_path / "run")
        model = auto.export(tmp_path / "model.keras", format="keras")
        served = auto.export(tmp_path / "served", format="tf_saved_model")
    finally:
        os.umask(previous)
    assert oct(run.stat().st_mode & 0o777) == oct(0o755) and oct(served.stat().st_mode & 0o777) == oct(0o755)
    for file in (run / "automater.json", run / "model.keras", model, served / "keras_defaults_signature.json"):
        assert oct(file.stat().st_mode & 0o777) == oct(0o644), file


def test_classes_that_do_not_fit_the_saved_head_are_refused(fitted_multi, tmp_path):
    auto, _ = fitted_multi
    path = auto.save(tmp_path / "run")
    edit_state(path, lambda s: s["targets"]["label"]["state"]["classes"].append("extra"))
    with pytest.raises(UnsafeFileError, match=r"the head of target 'label' in model.keras has 3 unit\(s\), but "
                                              r"automater.json gives it 4"):
        Automater.load(path)


def _state(s, column):
    return s["inputs"][column]["state"]


@pytest.mark.parametrize("change, match", [
    (lambda s: _state(s, "num").update(foo=1),
     r"inputs\['num'\]\['state'\] has an unexpected key 'foo'. Expected keys: \['bin_edges', 'center'"),
    (lambda s: _state(s, "cat").pop("one_hot"), r"inputs\['cat'\]\['state'\] lacks the key 'one_hot'"),
    (lambda s: _state(s, "num").update(median="0.5"),
     r"inputs\['num'\]\['state'\]\['median'\] must be a finite number. Received: str '0.5'"),
    (lambda s: _state(s, "num").update(scale=-1.0), r"\['scale'\] must be a finite number, above 0"),
    (lambda s: _state(s, "num").update(bin_edges=[3.0, 1.0, 2.0]),
     r"\['bin_edges'\] must be null, or be strictly increasing"),
    (lambda s: _state(s, "num").update(quantile_levels={"quantiles": [0.0, 1.0], "levels": [0.5]}),
     r"\[.quantile_levels.\]\[.levels.\] must be a list of at least 2"),
    (lambda s: _state(s, "cat")["vocabulary"].append("b"), r"\['vocabulary'\] must hold distinct values"),
    (lambda s: _state(s, "code").update(missing_code=None),
     r"inputs\['code'\]\['state'\] is inconsistent: a vocabulary of integers goes with an integer missing_code"),
    (lambda s: _state(s, "cat").update(embedding_dim=4), r"an embedding_dim is given exactly when not one_hot"),
    (lambda s: _state(s, "yesno").update(true_value="no"),
     r"inputs\['yesno'\]\['state'\] is inconsistent: false_value and true_value are two different strings"),
    (lambda s: _state(s, "text")["idf_weights"].pop(), r"is inconsistent: one IDF weight per vocabulary entry"),
    (lambda s: _state(s, "text")["vocabulary"].__setitem__(3, 7),
     r"inputs\['text'\]\['state'\]\['vocabulary'\]\[3\] must be a string. Received: int 7"),
    (lambda s: s["inputs"]["num"]["settings"].update(foo=1),
     r"inputs\['num'\]\['settings'\] in '.*automater.json' has an unexpected key 'foo'. Expected keys: "
     r"\['clip_scale'"),
    (lambda s: s["inputs"]["num"]["settings"].pop("scaling"), r"inputs\['num'\]\['settings'\] .* lacks the key"),
    (lambda s: s["inputs"]["num"]["settings"].update(scaling="fancy"),
     r"Setting 'columns.num.scaling' .* Expected one of \{'quantile', 'robust', 'standard'\}"),
    (lambda s: s["inputs"]["num"]["settings"].update(clip_scale=[1]), r"'columns.num.clip_scale' .* must be a float"),
    (lambda s: s["targets"]["price"]["settings"].update(standardize="yes"),
     r"targets\['price'\]\['settings'\]\).* must be a bool"),
    (lambda s: s["targets"]["price"]["state"].update(scale=0), r"targets\['price'\]\['state'\]\['scale'\] must be"),
    (lambda s: s["targets"]["label"]["state"].update(order=[1]),
     r"targets\['label'\]\['state'\] has an unexpected key 'order'"),
    (lambda s: s["targets"]["label"].update(name="price"), r"targets\['label'\]\['name'\] must be 'label'"),
    (lambda s: s["inputs"]["num"]["profile"].update(input_dtype="int8"),
     r"inputs\['num'\]\['profile'\]\['input_dtype'\] must be one of \['float32', 'string'\]"),
    (lambda s: s["inputs"]["num"]["profile"].update(rows=-1), r"\['profile'\]\['rows'\] must be an integer of at "
                                                              r"least 0"),
    (lambda s: s["inputs"]["num"]["profile"].update(name="cat"), r"inputs\['num'\]\['profile'\]\['name'\] must be "
                                                                 r"'num'"),
    (lambda s: s["inputs"]["num"]["profile"].update(kind="ignore"),
     r"input 'num' is of kind 'ignore', which the model never reads, yet it has a fitted state"),
    (lambda s: s["params"].update(seed="zero"), r"params\['seed'\] must be null, or be an integer of at least 0"),
    (lambda s: s["params"].update(column_types={"num": "fancy"}), r"params\['column_types'\]\['num'\] must be one of"),
])
def test_saved_column_state_settings_and_profiles_of_the_wrong_shape_are_refused(fitted_multi, tmp_path, change,
                                                                                 match):
    auto, _ = fitted_multi
    path = auto.save(tmp_path / "run")
    edit_state(path, change)
    with pytest.raises(UnsafeFileError, match=match):
        Automater.load(path)


def test_every_kind_of_saved_state_loads(tmp_path):
    """The declared shapes accept what fitting writes, for every input kind and encoder option that changes its
    state (quantile scaling and bins, codes read as numbers, embeddings, dates, TF-IDF text)."""
    data = mixed_frame(120)
    data["when"] = pd.date_range("2020-01-01", periods=len(data), freq="37h").to_series().to_numpy()
    data.loc[data.index[::9], "when"] = pd.NaT
    options = {**FAST, "inputs": {"numerical": {"scaling": "quantile", "piecewise_linear_bins": 4},
                                  "categorical": {"with_number": True, "one_hot_max_levels": 2}}}
    auto = Automater(["label", "binary"], overrides=options, seed=0, verbose=0).fit(data.drop(columns=["price"]))
    assert {spec.kind for spec in auto.inputs_.values()} == {"numerical", "categorical", "boolean", "text",
                                                             "datetime"}
    loaded = Automater.load(auto.save(tmp_path / "run"))
    assert loaded.predict(data).equals(auto.predict(data))


# ---------------------------------------------------------------------------------------------- killed saves
def finished_pid():
    """The id of a process that has ended, as a save killed with kill -9 leaves in its folders' names."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def leftover(folder, name, role, pid, host=None, files=("model.keras",), suffix="", token="abcd1234"):
    """A folder (or a file, with `suffix`) as a save or export to `folder / name` leaves when killed."""
    entry = folder / f".{name}.{role}.{host or export._host()}.{pid}.{token}{suffix}"
    if suffix:
        entry.write_bytes(b"PK\x03\x04 half an archive")
        return entry
    entry.mkdir()
    for file in files:
        (entry / file).write_bytes(b"half")
    return entry


def days_ago(entry, days):
    stamp = time.time() - days * 86400
    os.utime(entry, (stamp, stamp))
    return entry


def test_stale_staging_folders_of_killed_saves_are_removed_by_the_next_save(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    dead = finished_pid()
    (tmp_path / ".run.x1y2z3w4").mkdir()
    stale = [leftover(tmp_path, "run", "staging", dead),
             leftover(tmp_path, "run", "old", dead, files=()),
             days_ago(leftover(tmp_path, "run", "staging", 4242, host="other-machine"), 2),
             days_ago(leftover(tmp_path, "run", "staging", os.getpid()), 2),  # a reused process id
             days_ago(tmp_path / ".run.x1y2z3w4", 2)]  # the earlier naming, which recorded no process
    live = [leftover(tmp_path, "run", "staging", os.getpid(), token="live5678"),  # a save of a running process
            leftover(tmp_path, "run", "staging", 4242, host="other-machine", token="live5678"),  # another's, recent
            leftover(tmp_path, "other", "staging", dead)]  # a save to another folder
    (tmp_path / ".run.notes").write_text("the user's")
    auto.save(tmp_path / "run")
    assert not any(entry.exists() for entry in stale)
    assert sorted(leftovers(tmp_path, "run")) == sorted([".run.notes"] + [entry.name for entry in live])
    Automater.load(tmp_path / "run")


def test_stale_staging_files_of_killed_keras_exports_are_removed_by_the_next_export(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    stale = [leftover(tmp_path, "model.keras", "staging", finished_pid(), suffix=".keras"),
             days_ago(leftover(tmp_path, "model.keras", "staging", 4242, host="other-machine", suffix=".keras"), 2)]
    earlier = tmp_path / ".model.k3j4h5g6.keras"  # the earlier naming, after the stem
    earlier.write_bytes(b"PK")
    stale.append(days_ago(earlier, 2))
    live = leftover(tmp_path, "model.keras", "staging", os.getpid(), suffix=".keras")
    auto.export(tmp_path / "model.keras")
    assert leftovers(tmp_path, "model.keras") == [live.name] and not any(entry.exists() for entry in stale)


def set_aside(path, pid, host=None):
    """The state a save killed between the two renames of replace_dir leaves: `path` moved into `.<name>.old.*`."""
    aside = leftover(path.parent, path.name, "old", pid, host=host, files=())
    os.replace(path, aside / path.name)
    return aside


def test_a_save_killed_between_the_two_renames_is_restored_by_the_next_load(fitted_binary, tmp_path):
    auto, data = fitted_binary
    path = auto.save(tmp_path / "run")
    before = (path / "automater.json").read_bytes()
    set_aside(path, finished_pid())
    with pytest.warns(UserWarning, match=r"'.*run' was missing: a save to it was interrupted while replacing it. "
                                         r"The previous save was restored"):
        loaded = Automater.load(path)
    assert (path / "automater.json").read_bytes() == before
    assert leftovers(tmp_path, "run") == []
    assert loaded.predict(data).equals(auto.predict(data))


def test_a_save_killed_between_the_two_renames_is_restored_by_the_next_save(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    aside = tmp_path / ".run.old.q9w8e7r6"  # the earlier naming, which recorded no process: restored too
    aside.mkdir()
    os.replace(path, aside / "run")
    (tmp_path / "run.txt").write_text("the user's")
    with pytest.warns(UserWarning, match=r"The previous save was restored from '\.run\.old\.q9w8e7r6'"):
        auto.save(path)
    assert leftovers(tmp_path, "run", "run.txt") == []
    Automater.load(path)


def test_a_save_of_a_running_process_between_its_two_renames_is_left_alone(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    aside = set_aside(path, os.getpid())
    with pytest.raises(UnsafeFileError, match="is not a saved Automater"):
        Automater.load(path)
    assert (aside / "run" / "automater.json").is_file() and not path.exists()


# ---------------------------------------------------------------------------------------------- damaged models
def nested_layer(config, model, name):
    """The config entry of layer `name` inside the nested model `model` ('preprocessor' or 'network')."""
    inner = next(layer for layer in config["config"]["layers"] if layer["config"].get("name") == model)
    return next(layer for layer in inner["config"]["layers"] if layer["config"].get("name") == name)


def tampered_model(auto, tmp_path, change):
    """A save whose model.keras config went through `change`, with no digest in automater.json (as a save made
    before digests were recorded), so that the model reaches Keras."""
    path = auto.save(tmp_path / "run")
    rewrite_config(path / "model.keras", path / "model.keras", change)
    edit_state(path, lambda s: s.pop("model_sha256"))
    return path


@pytest.mark.parametrize("change", [
    lambda c: nested_layer(c, "network", "body_dense_0")["config"].update(units=2 ** 31),
    # Each size allowed alone, but their product (the kernel) far beyond the weights.
    lambda c: nested_layer(c, "network", "body_dense_0")["config"].update(units=60_000),
    lambda c: nested_layer(c, "network", "ensemble_inputs")["build_config"].update(input_shape=[None, 2 ** 31]),
])
def test_a_layer_size_that_would_exhaust_memory_is_refused_before_it_is_built(fitted_binary, tmp_path, change):
    auto, _ = fitted_binary
    path = tampered_model(auto, tmp_path, change)
    with pytest.raises(UnsafeFileError, match=r"more than the [\d,]+ (numbers its weights hold|its weights file "
                                              r"holds) in all; building it could exhaust memory"):
        Automater.load(path)


def test_a_model_keras_fails_to_build_with_any_error_is_refused(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    # Keras raises IndexError for an input that names a node the model does not have.
    path = tampered_model(auto, tmp_path, lambda c: c["config"]["input_layers"].update(num=["num", 7, 0]))
    with pytest.raises(UnsafeFileError, match=r"it is not a model this package wrote.* Keras said"):
        Automater.load(path)


def test_a_model_that_fails_when_it_runs_is_refused_at_load(fitted_binary, tmp_path):
    auto, _ = fitted_binary
    # The gather that orders the features reads a column far past the end.
    path = tampered_model(auto, tmp_path, lambda c: nested_layer(c, "preprocessor", "features")[
        "config"]["indices"].__setitem__(0, 10 ** 6))
    with pytest.raises(UnsafeFileError, match=r"the model in model.keras does not run on the columns automater.json "
                                              r"describes"):
        Automater.load(path)


def test_a_weights_file_that_declares_more_than_it_stores_is_refused(fitted_binary, tmp_path):
    import h5py

    auto, _ = fitted_binary
    path = auto.save(tmp_path / "run")
    members = keras_members(path / "model.keras")
    weights = tmp_path / "weights.h5"
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "a") as store:
        store.create_dataset("layers/huge", shape=(2 ** 40,), dtype="float32")  # declared, never written
    members["model.weights.h5"] = weights.read_bytes()
    with zipfile.ZipFile(path / "model.keras", "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    edit_state(path, lambda s: s.pop("model_sha256"))
    with pytest.raises(UnsafeFileError, match=r"its weights declare /layers/huge of shape \(1099511627776,\) but store "
                                              r"fewer bytes"):
        Automater.load(path)


# Loads a save and saves it again, stopping between the two renames that replace the previous save.
_SAVE_STOPPING_BETWEEN_RENAMES = """
import os, sys, time
from keras_defaults import Automater
auto, real_replace, calls = Automater.load(sys.argv[1]), os.replace, []
def replace(source, target):
    calls.append(target)
    if len(calls) == 2:  # the previous save is set aside; the new one is not yet in place
        print("between", flush=True)
        time.sleep(600)
    return real_replace(source, target)
os.replace = replace
auto.save(sys.argv[1])
"""


@pytest.mark.skipif(os.name == "nt", reason="kill -9 and process ids as on POSIX")
def test_a_save_killed_with_sigkill_between_its_renames_is_restored_and_its_leftovers_cleaned(fitted_binary,
                                                                                               tmp_path):
    auto, data = fitted_binary
    path = auto.save(tmp_path / "run")
    before = (path / "automater.json").read_bytes()
    process = subprocess.Popen([sys.executable, "-c", _SAVE_STOPPING_BETWEEN_RENAMES, str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout.readline().strip() == b"between"
    finally:
        process.kill()  # SIGKILL: nothing tidies up
        process.wait()
        process.stdout.close()
    assert not path.exists() and [role for _, role, _, _ in export._leftovers(path)].count("old") == 1
    with pytest.warns(UserWarning, match="The previous save was restored"):
        loaded = Automater.load(path)
    assert (path / "automater.json").read_bytes() == before
    assert loaded.predict(data).equals(auto.predict(data))
    assert [role for _, role, _, _ in export._leftovers(path)] == ["staging"]
    auto.save(path)  # removes the killed save's staging folder
    assert leftovers(tmp_path, "run") == []
