"""The `keras-defaults` command: the Automater's verbs from a shell, on CSV or Parquet files.

    keras-defaults fit passengers.csv --target survived --out run/
    keras-defaults tune passengers.csv --target survived --time-budget 10m --out tuned/
    keras-defaults predict run/ new_passengers.csv --out predictions.csv --proba
    keras-defaults explain run/
    keras-defaults evaluate run/ held_out.csv
    keras-defaults report run/ held_out.csv --out report.html
    keras-defaults export run/ --out passengers.keras
    keras-defaults defaults > my_defaults.yaml

Bad input (a data file, a config file, a saved run, an option) ends the command with one line on stderr,
`keras-defaults: error: ...`, and a non-zero exit status; a traceback means a bug in keras_defaults.

TensorFlow (and pandas) load only in the verbs that need them, so `--help`, `defaults` and a wrong command line
answer at once; TensorFlow's start-up notices are left out of stderr (see keras_defaults.startup).
"""

import argparse
import contextlib
import importlib.util
import os
import sys
import warnings
from pathlib import Path

from keras_defaults.defaults import COLUMN_KINDS, builtin_text
from keras_defaults.errors import DataError, KerasDefaultsError
from keras_defaults.save_files import CONFIG_FILE, MODEL_FILE, STATE_FILE, TUNING_FILE, is_save_folder
from keras_defaults.startup import import_tensorflow_quietly

PROG = "keras-defaults"
EXIT_BAD_INPUT = 1  # the data, a config file, a saved run or an output path cannot be used
EXIT_USAGE = 2  # the command line itself is wrong (argparse's own status)
EXIT_BROKEN_PIPE = 141  # the reader of the output went away: the status of a program stopped by SIGPIPE
_EPILOG = f"""Exit status: 0 on success, {EXIT_BAD_INPUT} when the data, a config file or a saved run cannot be used
(every failure is one line on stderr; --debug shows the traceback), {EXIT_USAGE} when the command line is wrong,
{EXIT_BROKEN_PIPE} when the reader of the output went away. Run '{PROG} VERB --help' for a verb's options."""
# The verbs that answer without TensorFlow.
_WITHOUT_TENSORFLOW = {"defaults"}


# Errors the user can fix: reported on one line, without a traceback.
def _user_errors():
    import pandas as pd

    errors = [KerasDefaultsError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError]
    if importlib.util.find_spec("pyarrow") is not None:  # optional: only Parquet files need it
        import pyarrow

        errors.append(pyarrow.ArrowException)  # a file named .parquet that is not Parquet
    return tuple(errors)


def _column_type(text):
    column, sep, kind = text.partition("=")
    if not sep or not column or not kind:
        raise argparse.ArgumentTypeError(f"expected COLUMN=KIND with KIND one of {', '.join(COLUMN_KINDS)}; "
                                         f"received {text!r}")
    return column, kind


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number; received {text!r}")
    return value


def _coverage(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a coverage strictly between 0 and 1, e.g. 0.9; received {text!r}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="A DataFrame and a target column in; a well-chosen, trained, exportable Keras model "
        "out, every choice explained and overridable.", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full traceback instead of one line; also show TensorFlow's "
                        "start-up log")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    fit = verbs.add_parser("fit", help="train a model on a CSV or Parquet file and save the run to a directory",
                           description="Infer each column's kind, pick the defaults, train, and save the run "
                           f"(automater.json, model.keras, and {CONFIG_FILE}: the merged configuration; pass it back "
                           "with --config and the same --seed to repeat the run).", epilog=_EPILOG)
    fit.add_argument("data", metavar="DATA", help="training data: a .csv or .parquet file")
    predicted = fit.add_mutually_exclusive_group(required=True)
    predicted.add_argument("--target", "-t", action="append", metavar="COLUMN",
                           help="the column to predict; repeat for several targets (one output head each)")
    predicted.add_argument("--no-target", action="store_true",
                           help="no target: an autoencoder, whose 'predict' writes each row's anomaly score and "
                           "embedding")
    fit.add_argument("--epochs", type=_positive_int, metavar="N", help="most epochs to train (early stopping may "
                     "end sooner)")
    fit.add_argument("--batch-size", type=_positive_int, metavar="N", help="rows per training step")
    _add_run_options(fit)
    fit.set_defaults(run=_fit)

    tune = verbs.add_parser("tune", help="search beyond the defaults within a time budget, keep what beats them "
                            "and save the run to a directory",
                            description="Fit the configuration as given on every row of DATA, then try configurations "
                            "from the search space (search.space in the defaults; KerasTuner, the optional extra "
                            "keras_defaults[tune], proposes them) and judge each on held-out rows of DATA. One that "
                            "beats the given configuration beyond the folds' noise (p < search.significance) is fitted "
                            "on every row in its place. The run is saved as 'fit' saves it, with "
                            f"{TUNING_FILE}: a row per trial.", epilog=_EPILOG)
    tune.add_argument("data", metavar="DATA", help="training data: a .csv or .parquet file")
    tune.add_argument("--target", "-t", action="append", required=True, metavar="COLUMN",
                      help="the column to predict; repeat for several targets (one output head each)")
    tune.add_argument("--time-budget", default="10m", metavar="TIME",
                      help="time for the whole call, both fits included: seconds, or e.g. 90s, 10m, 1h (default: "
                      "10m)")
    tune.add_argument("--max-trials", type=_positive_int, metavar="N",
                      help="the most configurations to try, the defaults included (default: as many as the budget "
                      "allows)")
    tune.add_argument("--objective", metavar="NAME", help="what judges a configuration: auto, loss, roc_auc, "
                      "accuracy, log_loss, r2, rmse, mae or f1_micro (default: search.objective, auto)")
    _add_run_options(tune)
    tune.set_defaults(run=_tune)

    predict = verbs.add_parser("predict", help="predict a CSV or Parquet file with a saved run",
                               description="Write one column of predictions per target (labels as in training, "
                               "numbers in the target's units), in the input's row order.", epilog=_EPILOG)
    predict.add_argument("run_dir", metavar="DIR", help="a directory written by 'fit'")
    predict.add_argument("data", metavar="DATA", help="rows to predict: a .csv or .parquet file")
    predict.add_argument("--out", "-o", required=True, metavar="FILE",
                         help="where to write predictions: .csv or .parquet")
    predict.add_argument("--proba", action="store_true",
                         help="add class probabilities as <target>_proba_<label> columns")
    predict.add_argument("--interval", type=_coverage, metavar="COVERAGE",
                         help="add prediction intervals of this coverage (e.g. 0.9) for regression targets, as "
                              "<target>_lower and <target>_upper columns")
    predict.add_argument("--quantiles", action="store_true",
                         help="add a quantile head's quantiles (loss: quantile) as <target>_q<level> columns, e.g. "
                              "price_q0.05")
    predict.add_argument("--keep", action="append", metavar="COLUMN",
                         help="copy this input column (an ID, say) into the output; repeatable")
    predict.set_defaults(run=_predict)

    explain = verbs.add_parser("explain", help="print what a saved run chose, why, and where each setting came from",
                               epilog=_EPILOG)
    explain.add_argument("run_dir", metavar="DIR", help="a directory written by 'fit'")
    explain.set_defaults(run=_explain)

    evaluate = verbs.add_parser("evaluate", help="print a saved run's metrics on a labelled CSV or Parquet file",
                                description="One line per metric, in the target's units (with several targets: "
                                "<target>/<metric>). DATA must hold the target column(s).", epilog=_EPILOG)
    evaluate.add_argument("run_dir", metavar="DIR", help="a directory written by 'fit'")
    evaluate.add_argument("data", metavar="DATA", help="labelled rows: a .csv or .parquet file, a directory or a glob "
                          "of them")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    evaluate.set_defaults(run=_evaluate)

    report = verbs.add_parser("report", help="write an HTML report of a saved run on a labelled file",
                              description="One self-contained HTML file (images embedded, no network requests): a "
                              "summary, the metrics on DATA, the plots (they need matplotlib: pip install "
                              "'keras_defaults[plots]'), the permutation feature importance, the columns and the "
                              "merged configuration.", epilog=_EPILOG)
    report.add_argument("run_dir", metavar="DIR", help="a directory written by 'fit'")
    report.add_argument("data", metavar="DATA", help="labelled rows the model did not train on: a .csv or .parquet "
                        "file, a directory or a glob of them")
    report.add_argument("--out", "-o", required=True, metavar="FILE", help="the report to write: an .html file")
    report.add_argument("--no-importance", action="store_true",
                        help="leave out the feature importance (the slow part: several predictions per column)")
    report.add_argument("--seed", type=int, default=0, help="random seed of the importance's shuffles (default: 0)")
    report.set_defaults(run=_report)

    export = verbs.add_parser("export", help="write a saved run's model for serving",
                              description="format keras: a compiled .keras file (keras.saving.load_model after "
                              "'import keras_defaults'). format tf_saved_model: a TensorFlow SavedModel directory "
                              "that runs with TensorFlow alone.", epilog=_EPILOG)
    export.add_argument("run_dir", metavar="DIR", help="a directory written by 'fit'")
    export.add_argument("--out", "-o", required=True, metavar="PATH", help="model.keras, or a directory for a "
                        "SavedModel")
    export.add_argument("--format", choices=("keras", "tf_saved_model"),
                        help="default: keras when PATH ends in .keras, tf_saved_model otherwise")
    export.add_argument("--coverage", type=_coverage, default=0.9, metavar="COVERAGE",
                        help="the coverage of the interval bounds a SavedModel returns for regression targets "
                             "(default: 0.9)")
    export.set_defaults(run=_export)

    defaults = verbs.add_parser("defaults", help="print the built-in defaults table (defaults.yaml), with its notes",
                                epilog=_EPILOG)
    defaults.set_defaults(run=_defaults)
    return parser


# ---------------------------------------------------------------------------------------------------- verbs
def _add_run_options(verb):
    """The options 'fit' and 'tune' share: where the run goes, its settings, seed and progress."""
    verb.add_argument("--out", "-o", required=True, metavar="DIR", help="directory to save the run in")
    verb.add_argument("--config", "-c", action="append", metavar="FILE",
                      help="a YAML file of settings that differ from the defaults; repeat to merge several in order")
    verb.add_argument("--column-type", action="append", type=_column_type, metavar="COLUMN=KIND",
                      help=f"force a column's kind ({', '.join(COLUMN_KINDS)}); repeatable")
    verb.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats a run (default: 0)")
    shown = verb.add_mutually_exclusive_group()
    shown.add_argument("--verbose", "-v", action="store_true",
                       help="print Keras's line per training epoch in place of the progress line")
    shown.add_argument("--quiet", "-q", action="store_true",
                       help="print no progress while training (the summary and the explanation still print)")


def _automater(args, targets):
    from keras_defaults.automater import Automater

    column_types = dict(args.column_type) if args.column_type else None
    return Automater(target=targets, config=args.config, column_types=column_types, seed=args.seed,
                     verbose="epoch" if args.verbose else 0 if args.quiet else "auto")


def _check_run_dir(path):
    # Saving replaces the directory whole: refuse to replace one that holds something else than a previous run.
    path = Path(path)
    if path.exists() and not is_save_folder(path):
        raise DataError(f"--out '{path}' exists and is not a directory written by 'fit'; saving would replace it. "
                        f"Choose a new directory.")


def _fit(args):
    from keras_defaults import sources

    _check_run_dir(args.out)
    data = sources.read_table(args.data)
    targets = None if args.no_target else args.target[0] if len(args.target) == 1 else args.target
    auto = _automater(args, targets)
    auto.fit(data, epochs=args.epochs, batch_size=args.batch_size)
    out = auto.save(args.out)
    target_options = "--no-target" if args.no_target else " ".join(f"--target {t}" for t in args.target)
    auto.config_.save(out / CONFIG_FILE, note=f"Repeat the run: {PROG} fit {args.data} {target_options} "
                                               f"--config {out / CONFIG_FILE} --seed {args.seed} --out NEW_DIR")
    history = auto.history_
    epochs = len(history.get("loss", []))
    line = f"Trained on {len(data)} rows for {epochs} epoch(s)"
    if history.get("val_loss"):
        best = min(range(epochs), key=lambda i: history["val_loss"][i])
        line += f"; best validation loss {history['val_loss'][best]:.4g} at epoch {best + 1}"
    if auto.refit_epochs_:
        line += f"; then refitted on all the rows for {auto.refit_epochs_} epoch(s)"
    print(line + ".\n")
    print(auto.explain().to_text())
    print(f"\nSaved the run to {out}/ ({STATE_FILE}, {MODEL_FILE}; {CONFIG_FILE} is the merged configuration).")


def _tune(args):
    from keras_defaults import sources

    _check_run_dir(args.out)
    data = sources.read_table(args.data)
    auto = _automater(args, args.target[0] if len(args.target) == 1 else args.target)
    auto.tune(data, time_budget=args.time_budget, max_trials=args.max_trials, objective=args.objective)
    out = auto.save(args.out)
    target_options = " ".join(f"--target {t}" for t in args.target)
    auto.config_.save(out / CONFIG_FILE, note=f"The configuration 'tune' chose. Repeat its final fit: {PROG} fit "
                                               f"{args.data} {target_options} --config {out / CONFIG_FILE} --seed "
                                               f"{args.seed} --out NEW_DIR")
    auto.tuning_results_.to_csv(out / TUNING_FILE, index=False)
    results = auto.tuning_results_
    completed = results[results["status"] == "completed"]
    best = "none" if auto.best_score_ is None else f"{auto.best_score_:.4g}"
    print(f"\n{len(results)} trial(s), {len(completed)} finished; the chosen configuration scored {best} (the "
          f"configuration as given: {results['score'].iloc[0]:.4g}; a trial replaces it only beyond the folds' "
          f"noise).\n")
    print(auto.explain().to_text())
    print(f"\nSaved the run to {out}/ ({STATE_FILE}, {MODEL_FILE}; {CONFIG_FILE} is the chosen configuration, "
          f"{TUNING_FILE} the trials).")


def _predict(args):
    import pandas as pd

    from keras_defaults import sources
    from keras_defaults.automater import Automater

    writer = sources.PredictionWriter(args.out)  # before the model loads: a wrong name fails fast
    auto = Automater.load(args.run_dir)
    data = sources.read_table(args.data)
    keep = args.keep or []
    missing = [c for c in keep if c not in data.columns]
    if missing:
        raise DataError(f"--keep names column(s) not in '{args.data}': {missing}. Columns: "
                        f"{list(data.columns)[:20]}.")
    if auto.reconstructs:  # an autoencoder: how unusual each row is, and where it lies
        predictions = pd.concat([auto.anomaly_score(data), auto.embed(data)], axis=1)
    else:
        predictions = auto.predict(data)
    columns = {c: data[c] for c in keep}
    named = predictions.to_frame() if isinstance(predictions, pd.Series) else predictions
    if args.proba:
        _add_columns(named, auto, auto.predict_proba(data), lambda target, label: f"{target}_proba_{label}")
    if args.interval is not None:
        _add_columns(named, auto, auto.predict_interval(data, coverage=args.interval),
                     lambda target, side: f"{target}_{side}")
    if args.quantiles:
        _add_columns(named, auto, auto.predict_quantiles(data), lambda target, level: f"{target}_q{level:g}")
    clash = [c for c in named.columns if c in columns]
    if clash:
        raise DataError(f"--keep {clash[0]} would clash with the prediction column of the same name. Keep it under "
                        f"another name, e.g. copy the column in your file first.")
    for name in named.columns:
        columns[name] = named[name]
    output = pd.DataFrame(columns, index=data.index)
    writer.write(output, auto._set_delimiters())
    writer.close()
    what = "anomaly score(s) and embedding(s)" if auto.reconstructs else f"prediction(s) for {', '.join(auto.targets)}"
    print(f"Wrote {len(output)} {what} to {args.out}.")


def _add_columns(named, auto, tables, column_name):
    """Add to `named` every column of `tables` (one target's DataFrame, or {target: DataFrame} for several, as
    predict_proba, predict_interval and predict_quantiles return them), named `column_name(target, column)`."""
    if not isinstance(tables, dict):
        tables = {auto.targets[0]: tables}
    for target, table in tables.items():
        for column in table.columns:
            named[column_name(target, column)] = table[column]


def _explain(args):
    from keras_defaults.automater import Automater

    print(Automater.load(args.run_dir).explain().to_text())


def _evaluate(args):
    import json
    import math

    from keras_defaults.automater import Automater

    metrics = Automater.load(args.run_dir).evaluate(args.data)
    if args.json:
        # NaN (R² of one row, say) is not JSON: null is.
        print(json.dumps({k: None if math.isnan(v) else v for k, v in metrics.items()}))
        return
    width = max(len(name) for name in metrics)
    for name, value in metrics.items():
        print(f"{name:<{width}}  {value:.6g}")


def _report(args):
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):  # before the model loads: a wrong name fails fast
        raise DataError(f"The report is an HTML file: --out must end in .html. Received: '{out}'. Did you mean "
                        f"'{out.with_suffix('.html')}'?")
    from keras_defaults.automater import Automater

    written = Automater.load(args.run_dir).report(out, args.data, importance=not args.no_importance,
                                                   seed=args.seed)
    print(f"Wrote the report to {written}.")


def _export(args):
    out = Path(args.out)
    kind = args.format or ("keras" if out.suffix == ".keras" else "tf_saved_model")
    if kind == "keras" and out.suffix != ".keras":
        raise DataError(f"A Keras model file must end in .keras. Received: --out '{out}'. Did you mean "
                        f"'{out.with_suffix('.keras')}'?")
    from keras_defaults.automater import Automater

    written = Automater.load(args.run_dir).export(out, format=kind, coverage=args.coverage)
    print(f"Exported the model ({kind}) to {written}.")


def _defaults(args):
    sys.stdout.write(builtin_text())


# ---------------------------------------------------------------------------------------------------- entry point
def _one_line(error):
    return " ".join(str(error).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


def main(argv=None):
    """Run the command line; returns the exit status (0 on success)."""
    args = build_parser().parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        if args.verb not in _WITHOUT_TENSORFLOW:
            import_tensorflow_quietly(show_everything=args.debug)
        args.run(args)
        sys.stdout.flush()  # inside the try: a reader that has gone shows here, not at exit
    except BrokenPipeError:
        # The reader closed the pipe (`keras-defaults explain run/ | head -5`): stop quietly, as a program stopped by
        # SIGPIPE does, and send what Python would flush at exit nowhere.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as error:
        if args.debug:
            raise
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001: the command line reports every failure in one line
        if args.debug:
            raise
        print(f"{PROG}: error: {type(error).__name__}: {_one_line(error)[:500]} (run with --debug for the "
              f"traceback)", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        warnings.showwarning = shown
    return 0


def _silence_stdout():
    # A stdout without a file descriptor (in tests, say) has nothing to silence.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
