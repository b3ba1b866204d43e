"""The keras-defaults command line: each verb run as a subprocess on small files, bad input as one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from keras_defaults.cli import EXIT_BAD_INPUT, EXIT_USAGE, main
from keras_defaults.datasets import load_passengers
from keras_defaults.defaults import builtin_text

ROOT = Path(__file__).resolve().parent.parent
TINY = {"body": {"units": [8]}, "training": {"batch_size": 64}}


def start(*args):
    """Start `python -m keras_defaults ARGS` from the repository root, so that this checkout's package runs."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "keras_defaults", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process):
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("keras-defaults: error:")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One fit for the whole module (240 passengers, 2 epochs, a config file, a forced column kind), and the other
    verbs started on its output. Each command pays for importing TensorFlow, so they run side by side."""
    folder = tmp_path_factory.mktemp("cli")
    passengers = load_passengers()
    train = folder / "train.csv"
    passengers.iloc[:240].to_csv(train, index=False)
    new = folder / "new.parquet"
    passengers.iloc[240:270].drop(columns=["survived"]).to_parquet(new, index=False)
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    bad = folder / "bad.yaml"
    bad.write_text("targets:\n  boolean: {loss: binary_crossentropy\n")
    out = folder / "run"
    files = {"folder": folder, "train": train, "new": new, "config": config, "bad": bad, "out": out,
             "predictions": folder / "predictions.csv", "exported": folder / "passengers.keras"}
    independent = {
        "defaults": start("defaults"),
        "bad_fit": start("fit", train, "--target", "survived", "--config", bad, "--out", folder / "never"),
    }
    fitted = finish(start("fit", train, "--target", "survived", "--config", config, "--column-type",
                          "siblings_spouses=numerical", "--epochs", 2, "--out", out))
    after_fit = {
        "predict": start("predict", out, new, "--out", files["predictions"], "--proba", "--keep", "passenger_id"),
        "explain": start("explain", out),
        "export": start("export", out, "--out", files["exported"]),
    }
    results = {"fit": fitted}
    try:
        for name, process in {**independent, **after_fit}.items():
            results[name] = finish(process)
    finally:
        for process in {**independent, **after_fit}.values():
            if process.poll() is None:
                process.kill()
    return {**files, **results}


def test_fit_saves_the_run_and_prints_what_it_chose(run):
    fitted = run["fit"]
    assert fitted.returncode == 0, fitted.stderr
    assert "Traceback" not in fitted.stderr
    assert "Trained on 240 rows for 2 epoch(s)" in fitted.stdout
    assert f"units: '{run['config']}'" in fitted.stdout  # the body row names the file its units came from
    assert "kind: column entry in column_types= argument" in fitted.stdout  # --column-type
    assert "keras-defaults: warning: Left out 1 column(s): 'passenger_id'" in fitted.stderr
    assert sorted(p.name for p in run["out"].iterdir()) == ["automater.json", "config.yaml", "model.keras"]


def test_the_saved_config_is_the_merged_one_and_repeats_the_run(run):
    merged = yaml.safe_load((run["out"] / "config.yaml").read_text())
    assert merged["body"]["units"] == [8] and merged["training"]["epochs"] == 2
    assert merged["columns"]["siblings_spouses"] == {"kind": "numerical"}
    assert f"--config {run['out'] / 'config.yaml'} --seed 0" in (run["out"] / "config.yaml").read_text()


def test_predict_writes_labels_probabilities_and_kept_columns(run):
    predictions, result = run["predictions"], run["predict"]
    assert result.returncode == 0, result.stderr
    assert "Wrote 30 prediction(s) for survived" in result.stdout
    written = pd.read_csv(predictions)
    assert list(written.columns) == ["passenger_id", "survived", "survived_proba_0", "survived_proba_1"]
    new = pd.read_parquet(run["new"])
    assert written["passenger_id"].tolist() == new["passenger_id"].tolist()
    assert set(written["survived"]) <= {0, 1}
    np.testing.assert_allclose(written[["survived_proba_0", "survived_proba_1"]].sum(axis=1), 1.0, atol=1e-6)

    from keras_defaults import Automater

    expected = Automater.load(run["out"]).predict_proba(new)
    np.testing.assert_allclose(written["survived_proba_1"], expected[1], atol=1e-6)


def test_predict_writes_parquet(run):
    predictions = run["folder"] / "predictions.parquet"
    assert main(["predict", str(run["out"]), str(run["train"]), "--out", str(predictions)]) == 0
    written = pd.read_parquet(predictions)
    assert list(written.columns) == ["survived"] and len(written) == 240


def test_explain_prints_every_choice_and_its_source(run):
    result = run["explain"]
    assert result.returncode == 0, result.stderr
    for expected in ("survived", "binary_crossentropy", "optimizer", "adam(learning_rate=0.001)",
                     "epochs: fit() argument", f"'{run['config']}'", "kind: inference"):
        assert expected in result.stdout


def test_export_writes_a_model_keras_loads_in_safe_mode(run):
    exported, result = run["exported"], run["export"]
    assert result.returncode == 0, result.stderr
    assert f"Exported the model (keras) to {exported}" in result.stdout

    import keras

    import keras_defaults  # noqa: F401  (registers the package's layers)

    model = keras.saving.load_model(exported, safe_mode=True)
    assert set(model.output) == {"survived"}


def test_export_to_a_directory_is_a_saved_model(run):
    served = run["folder"] / "serving"
    assert main(["export", str(run["out"]), "--out", str(served)]) == 0
    assert (served / "saved_model.pb").is_file()


def test_defaults_prints_the_table(run):
    result = run["defaults"]
    assert result.returncode == 0, result.stderr
    assert result.stdout == builtin_text()
    assert yaml.safe_load(result.stdout)["targets"]["boolean"]["loss"] == "binary_crossentropy"


def test_help_lists_the_verbs(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for verb in ("fit", "predict", "explain", "export", "defaults", "Exit status"):
        assert verb in shown
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "--column-type COLUMN=KIND" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------- bad input
def test_a_user_error_is_one_line_and_no_traceback_in_a_subprocess(run):
    bad, result = run["bad"], run["bad_fit"]
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr) == [
        f"keras-defaults: error: Malformed YAML in '{bad}', line 3, column 1: expected ',' or '}}', but got "
        f"'<stream end>'."]
    assert not (run["folder"] / "never").exists()


def _fails(capsys, argv, expected, status=EXIT_BAD_INPUT):
    assert main([str(a) for a in argv]) == status
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert len(lines) == 1 and expected in lines[0], err


def test_a_bad_loss_for_the_target_stops_fit_before_training(run, capsys, tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("targets:\n  boolean: {loss: huber}\n")
    _fails(capsys, ["fit", run["train"], "--target", "survived", "--config", config, "--out", tmp_path / "r"],
           "Loss 'huber' is for numerical targets, but target 'survived' is boolean")


def test_an_unknown_setting_suggests_the_close_one(run, capsys, tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("optimiser: {name: adamw}\n")
    _fails(capsys, ["fit", run["train"], "--target", "survived", "--config", config, "--out", tmp_path / "r"],
           f"Unknown setting 'optimiser' in '{config}'. Did you mean 'optimizer'?")


@pytest.mark.parametrize("argv, expected", [
    (["fit", "{folder}/missing.csv", "--target", "survived", "--out", "{folder}/r2"], "Data file not found"),
    (["fit", "{train}", "--target", "survivd", "--out", "{folder}/r2"], "Did you mean 'survived'?"),
    (["fit", "{train}", "--target", "survived", "--column-type", "pclass=categorial", "--out", "{folder}/r2"],
     "Received: kind='categorial'. Did you mean 'categorical'?"),
    (["fit", "{train}", "--target", "survived", "--column-type", "pclas=categorical", "--out", "{folder}/r2"],
     "The column entry in column_types= argument names 'pclas', which is not in the DataFrame. "
     "Did you mean 'pclass'?"),
    (["fit", "{train}", "--target", "survived", "--config", "{folder}/nope.yaml", "--out", "{folder}/r2"],
     "Config file not found"),
    (["fit", "{train}", "--target", "survived", "--out", "{folder}"], "is not a directory written by 'fit'"),
    (["fit", "{folder}/tiny.yaml", "--target", "survived", "--out", "{folder}/r2"], "expected a .csv or .parquet"),
    (["predict", "{out}", "{new}", "--out", "{folder}/p.txt"], "must end in .csv or .parquet"),
    (["predict", "{folder}/nothing", "{new}", "--out", "{folder}/p.csv"], "is not a saved Automater"),
    (["predict", "{out}", "{new}", "--out", "{folder}/p.csv", "--keep", "ticket"], "--keep names column(s)"),
    (["predict", "{out}", "{folder}/fake.parquet", "--out", "{folder}/p.csv"],
     "Could not open Parquet input source '{folder}/fake.parquet': Parquet magic bytes not found"),
    (["explain", "{folder}"], "is not a saved Automater"),
    (["export", "{out}", "--out", "{folder}/m.h5", "--format", "keras"], "must end in .keras"),
])
def test_bad_input_is_one_line_with_the_reason(run, capsys, argv, expected):
    (run["folder"] / "fake.parquet").write_text("passenger_id,age\n1,2\n")
    names = {key: run[key] for key in ("folder", "train", "new", "out")}
    _fails(capsys, [a.format(**names) for a in argv], expected.format(**names))
    assert not (run["folder"] / "r2").exists()


def test_predict_data_lacking_a_column_names_it(run, capsys):
    partial = run["folder"] / "partial.csv"
    pd.read_parquet(run["new"]).drop(columns=["fare"]).to_csv(partial, index=False)
    _fails(capsys, ["predict", run["out"], partial, "--out", run["folder"] / "p.csv"], "['fare']")


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: VERB"),
    (["fit", "data.csv", "--out", "r"], "the following arguments are required: --target/-t"),
    (["fit", "data.csv", "--target", "y", "--out", "r", "--column-type", "pclass"], "expected COLUMN=KIND"),
    (["fit", "data.csv", "--target", "y", "--out", "r", "--epochs", "0"], "expected a positive whole number"),
    (["export", "run", "--out", "m.keras", "--format", "onnx"], "invalid choice: 'onnx'"),
    (["fitt"], "invalid choice: 'fitt'"),
])
def test_a_wrong_command_line_exits_with_usage(capsys, argv, expected):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    assert expected in capsys.readouterr().err


def test_fitting_again_into_the_same_folder_replaces_the_run(run, capsys):
    again = run["folder"] / "again"
    arguments = ["fit", str(run["train"]), "--target", "survived", "--config", str(run["config"]), "--epochs", "1",
                 "--seed", "0", "--out", str(again)]
    assert main(arguments) == 0
    assert main(arguments) == 0, capsys.readouterr().err  # the README's own command, run twice
    assert {p.name for p in again.iterdir()} == {"automater.json", "model.keras", "config.yaml"}
    from keras_defaults import Automater

    auto = Automater.load(again)
    assert auto.save(again) == again  # and from Python into the folder the command line wrote
    (again / "notes.txt").write_text("mine")
    assert main(arguments) == EXIT_BAD_INPUT  # a folder holding anything else is still refused, before training
    assert "not a directory written by 'fit'" in capsys.readouterr().err


class ClosedPipe:
    """A stdout whose reader has gone, as `keras-defaults explain run/ | head -5` leaves it."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["defaults"]) == 141
    assert capsys.readouterr().err == ""


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(run, monkeypatch, capsys):
    from keras_defaults import cli

    def deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr(cli.Automater, "load", deep)
    assert main(["explain", str(run["out"])]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("keras-defaults: error: RecursionError: maximum recursion")
    assert "--debug" in err and "Traceback" not in err
    with pytest.raises(RecursionError):
        main(["--debug", "explain", str(run["out"])])
