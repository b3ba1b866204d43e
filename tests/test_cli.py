"""The keras-defaults command line: each verb run as a subprocess on small files, bad input as one-line errors."""

import json
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
    """Start `python -m keras_defaults ARGS` from the repository root, so that this checkout's package runs, as a user
    would: without TF_CPP_MIN_LOG_LEVEL (the tests' conftest sets it)."""
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.Popen([sys.executable, "-m", "keras_defaults", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process):
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def unwrapped(text):
    """The report's text with its wrapping undone: one space between words."""
    return " ".join(text.split())


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
    shown = unwrapped(fitted.stdout)
    assert f"units: '{run['config']}'" in shown  # the body row names the file its units came from
    assert "kind: column entry in column_types= argument" in shown  # --column-type
    assert "keras-defaults: warning: Left out 1 column(s): 'passenger_id'" in fitted.stderr
    assert sorted(p.name for p in run["out"].iterdir()) == ["automater.json", "config.yaml", "model.keras"]


def test_fit_shows_progress_as_plain_lines_when_not_on_a_terminal(run):
    out = run["fit"].stdout  # a pipe, as a log file or CI would read it
    lines = out.splitlines()
    assert lines[0].startswith("statistics: 10 columns of 240 rows read in ")
    assert lines[1].startswith("encoding: 240 rows into ")
    assert lines[2].startswith("training: 1/2 epochs | best val_loss ")
    assert any(line.startswith("training: 2 epochs in ") for line in lines)
    assert "Epoch 1/" not in out and "\r" not in out and "\x1b" not in out


@pytest.mark.parametrize("option, shown, hidden", [
    ("--quiet", [], ["statistics: ", "training: ", "Epoch 1/"]),
    ("--verbose", ["statistics: ", "Epoch 1/2"], ["training: "]),
])
def test_fit_quiet_silences_progress_and_verbose_shows_keras_epochs(run, capsys, option, shown, hidden):
    capsys.readouterr()
    argv = ["fit", run["train"], "--target", "survived", "--config", run["config"], "--epochs", 2, option,
            "--out", run["folder"] / f"run{option}"]
    assert main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "Trained on 240 rows for 2 epoch(s)" in out  # the summary prints either way
    assert [text for text in shown if text not in out] == [] and [text for text in hidden if text in out] == [], out


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
    assert result.stderr == ""  # none of TensorFlow's start-up notices
    for expected in ("survived", "binary_crossentropy", "optimizer", "adam(learning_rate=0.001)",
                     "epochs: fit() argument", f"'{run['config']}'", "kind: inference"):
        assert expected in unwrapped(result.stdout)


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


def run_python(code, **env):
    """Start a fresh interpreter on `code` from the repository root, with `env` over the environment (None removes a
    variable); returns the process (see `finish`)."""
    env = {name: value for name, value in {**os.environ, **env}.items() if value is not None}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_help_defaults_and_a_wrong_command_line_answer_without_tensorflow():
    code = """if True:
        import contextlib, io, sys
        from keras_defaults.cli import main
        for argv in (["--help"], ["fit", "--help"], ["defaults"], ["fit"], ["no-such-verb"]):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    main(argv)
                except SystemExit:
                    pass
        print(sorted(name for name in ("tensorflow", "keras", "pandas") if name in sys.modules))
        """
    result = finish(run_python(code))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_package_imports_its_names_when_first_used():
    code = """if True:
        import sys
        import keras_defaults
        print(sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
        print(set(keras_defaults.__all__) <= set(dir(keras_defaults)))
        print(keras_defaults.Automater.__name__, keras_defaults.inputs.__name__, "keras" in sys.modules)
        try:
            keras_defaults.Automator
        except AttributeError as error:
            print(error)
        """
    result = finish(run_python(code))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "True", "Automater model_inputs True",
                                          "module 'keras_defaults' has no attribute 'Automator'"]


@pytest.mark.parametrize("imports", ["import keras_defaults; import keras",
                                     "import keras; import keras_defaults",
                                     "import keras_defaults; import tensorflow; import keras",
                                     "from keras_defaults import cli; import keras"])
def test_the_layers_are_registered_for_load_model_in_either_import_order(run, imports):
    code = f"{imports}; model = keras.saving.load_model({str(run['exported'])!r}, safe_mode=True); print(model.name)"
    result = finish(run_python(code))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_without_keras_defaults_the_layers_are_unknown(run):
    # What the registration is for: Keras alone cannot read the exported model.
    code = f"import keras; keras.saving.load_model({str(run['exported'])!r}, safe_mode=True)"
    result = finish(run_python(code))
    assert result.returncode != 0 and "keras_defaults" in result.stderr


def test_startup_notices_are_left_out_and_every_other_line_kept():
    code = """if True:
        import os, sys
        from keras_defaults.startup import STARTUP_NOTICES, NO_GPU_NOTICES, notices_left_out
        with notices_left_out(STARTUP_NOTICES + NO_GPU_NOTICES):
            os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see...\\n")
            os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\\n")
            os.write(2, b"E0000 some_kernel.cc:1] a real error\\n")
            print("a Python warning", file=sys.stderr)
        print("after", file=sys.stderr)
        """
    result = finish(run_python(code))
    assert result.returncode == 0
    assert result.stderr.splitlines() == ["E0000 some_kernel.cc:1] a real error", "a Python warning", "after"]


def test_the_user_s_log_level_and_debug_show_tensorflow_s_notices():
    # TensorFlow's start-up log on this machine: whatever it holds passes untouched when the user asks for it.
    code = "from keras_defaults.startup import import_tensorflow_quietly as load; load({})"
    quiet = run_python(code.format(""), TF_CPP_MIN_LOG_LEVEL=None)
    chosen = run_python(code.format(""), TF_CPP_MIN_LOG_LEVEL="0")
    debug = run_python(code.format("show_everything=True"), TF_CPP_MIN_LOG_LEVEL=None)
    plain = run_python("import tensorflow as tf; tf.config.list_physical_devices()", TF_CPP_MIN_LOG_LEVEL=None)
    quiet, chosen, debug, plain = (finish(process) for process in (quiet, chosen, debug, plain))
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert _without_times(chosen.stderr) == _without_times(plain.stderr)
    assert _without_times(debug.stderr) == _without_times(plain.stderr)


def _without_times(log):
    # absl's lines carry a timestamp and a thread id: compare the messages.
    return [line.split("] ", 1)[-1] for line in log.splitlines()]


# ---------------------------------------------------------------------------------------------------- bad input
def test_a_user_error_is_one_line_and_no_traceback_in_a_subprocess(run):
    bad, result = run["bad"], run["bad_fit"]
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == error_lines(result.stderr)  # the error, and no start-up notice
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
    (["fit", "data.csv", "--out", "r"], "one of the arguments --target/-t --no-target is required"),
    (["fit", "data.csv", "--target", "y", "--out", "r", "--column-type", "pclass"], "expected COLUMN=KIND"),
    (["fit", "data.csv", "--target", "y", "--out", "r", "--epochs", "0"], "expected a positive whole number"),
    (["export", "run", "--out", "m.keras", "--format", "onnx"], "invalid choice: 'onnx'"),
    (["fitt"], "invalid choice: 'fitt'"),
    (["fit", "d.csv", "--target", "y", "--out", "r", "--quiet", "--verbose"], "not allowed with argument --quiet"),
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
    from keras_defaults import automater

    def deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr(automater.Automater, "load", deep)
    assert main(["explain", str(run["out"])]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("keras-defaults: error: RecursionError: maximum recursion")
    assert "--debug" in err and "Traceback" not in err
    with pytest.raises(RecursionError):
        main(["--debug", "explain", str(run["out"])])


def test_evaluate_prints_a_line_per_metric(run, capsys):
    from keras_defaults import Automater

    held_out = run["folder"] / "held_out.csv"
    load_passengers().iloc[240:300].to_csv(held_out, index=False)
    assert main(["evaluate", str(run["out"]), str(held_out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = Automater.load(run["out"]).evaluate(pd.read_csv(held_out))
    assert [line.split()[0] for line in lines] == list(expected)
    for line in lines:
        name, value = line.split()
        assert float(value) == pytest.approx(expected[name], rel=1e-5)
    assert main(["evaluate", str(run["out"]), str(held_out), "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out) == pytest.approx(expected)


def test_report_writes_one_html_file(run, capsys):
    pytest.importorskip("matplotlib", reason="the report's plots need matplotlib")
    held_out = run["folder"] / "held_out.parquet"
    load_passengers().iloc[240:400].to_parquet(held_out, index=False)
    out = run["folder"] / "report" / "report.html"
    assert main(["report", str(run["out"]), str(held_out), "--out", str(out), "--seed", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"Wrote the report to {out}."
    text = out.read_text(encoding="utf-8")
    for heading in ("Summary", "Metrics", "Plots", "Feature importance", "Columns", "Configuration"):
        assert f"<h2>{heading}</h2>" in text
    # A saved run keeps its training curves: curves, confusion, calibration, ROC, PR, importance.
    assert "holds no training history" not in text
    assert text.count('<img src="data:image/png;base64,') == 6
    assert main(["report", str(run["out"]), str(held_out), "--out", str(out), "--no-importance"]) == 0
    assert "Left out (importance=False)." in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, expected", [
    (["evaluate", "{out}", "{folder}/missing.csv"], "Data file not found"),
    (["evaluate", "{out}", "{new}"], "survived"),  # the rows to predict hold no target
    (["evaluate", "{folder}/nothing", "{train}"], "is not a saved Automater"),
    (["report", "{out}", "{train}", "--out", "{folder}/report.pdf"], "--out must end in .html"),
    (["report", "{out}", "{new}", "--out", "{folder}/r.html"], "lacks column(s) ['survived']"),
])
def test_evaluate_and_report_errors_are_one_line(run, capsys, argv, expected):
    names = {key: run[key] for key in ("folder", "train", "new", "out")}
    _fails(capsys, [a.format(**names) for a in argv], expected)
    assert not (run["folder"] / "r.html").exists()


def test_predict_writes_interval_bounds_for_a_regression_target(run, tmp_path):
    from keras_defaults import Automater

    out = tmp_path / "fares"
    assert main(["fit", str(run["train"]), "--target", "fare", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    predictions = tmp_path / "fares.csv"
    assert main(["predict", str(out), str(run["train"]), "--out", str(predictions), "--interval", "0.8"]) == 0
    written = pd.read_csv(predictions)
    assert list(written.columns) == ["fare", "fare_lower", "fare_upper"]
    expected = Automater.load(out).predict_interval(pd.read_csv(run["train"]), coverage=0.8)
    np.testing.assert_allclose(written["fare_upper"], expected["upper"], rtol=1e-5)
    assert main(["export", str(out), "--out", str(tmp_path / "serving"), "--coverage", "0.8"]) == 0
    signature = json.loads((tmp_path / "serving" / "keras_defaults_signature.json").read_text())
    assert signature["outputs"]["fare"]["coverage"] == 0.8


def test_predict_writes_a_quantile_heads_quantiles(run, tmp_path):
    from keras_defaults import Automater

    config = tmp_path / "quantiles.yaml"
    config.write_text("targets:\n  numerical:\n    loss: {name: quantile, quantiles: [0.1, 0.5, 0.9]}\n")
    out = tmp_path / "fares"
    assert main(["fit", str(run["train"]), "--target", "fare", "--config", str(config), "--epochs", "2", "--quiet",
                 "--out", str(out)]) == 0
    predictions = tmp_path / "fares.csv"
    assert main(["predict", str(out), str(run["train"]), "--out", str(predictions), "--quantiles"]) == 0
    written = pd.read_csv(predictions)
    assert list(written.columns) == ["fare", "fare_q0.1", "fare_q0.5", "fare_q0.9"]
    expected = Automater.load(out).predict_quantiles(pd.read_csv(run["train"]))
    np.testing.assert_allclose(written["fare_q0.9"], expected[0.9], rtol=1e-5)
    np.testing.assert_allclose(written["fare"], written["fare_q0.5"], rtol=1e-6)


def test_no_target_fits_an_autoencoder_whose_predict_writes_scores_and_embeddings(run, capsys):
    out, written = run["folder"] / "autoencoder", run["folder"] / "scores.csv"
    assert main(["fit", str(run["train"]), "--no-target", "--config", str(run["config"]), "--epochs", "2",
                 "--out", str(out), "--quiet"]) == 0
    shown = capsys.readouterr().out
    assert "Reconstructed columns (autoencoder)" in shown and "--no-target" in (out / "config.yaml").read_text()
    # Every column is an input of an autoencoder, 'survived' too: the rows to score have them all.
    assert main(["predict", str(out), str(run["train"]), "--out", str(written), "--keep", "passenger_id"]) == 0
    assert "Wrote 240 anomaly score(s) and embedding(s)" in capsys.readouterr().out
    scores = pd.read_csv(written)
    assert list(scores.columns[:2]) == ["passenger_id", "anomaly_score"]
    assert scores.columns[2].startswith("embedding_") and scores["anomaly_score"].notna().all()
    with pytest.raises(SystemExit):
        main(["fit", str(run["train"]), "--no-target", "--target", "survived", "--out", str(out)])
