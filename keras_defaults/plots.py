"""Pictures of what a fitted Automater learned; every function returns a matplotlib `Figure`.

    from keras_defaults import plots
    plots.training_curves(auto)                  # loss and metrics per epoch, the restored best epoch marked
    plots.confusion_matrix(auto, held_out)       # classifiers; also calibration, roc_curve, precision_recall
    plots.predicted_vs_actual(auto, held_out)    # regression; also residuals
    plots.feature_importance(auto.feature_importance(held_out))

matplotlib is an optional extra: `pip install 'keras_defaults[plots]'`. The figures are drawn by scikit-learn's
`*Display` classes where one fits, on a `Figure` of their own rather than pyplot's current one: nothing is shown or
kept open behind the caller's back, and a notebook displays the returned figure as it displays any other. Where no
display is set up (a server, CI), matplotlib itself falls back to its Agg backend, which is all `savefig` needs.

`data` is labelled data: a DataFrame holding the input columns and the target(s), or data files as `evaluate`
takes them (read whole: a plot needs every row's prediction). Rows whose target is missing are left out.
With several targets, `target=` names the one to draw.
"""

import dataclasses
import math

import numpy as np
import pandas as pd

from keras_defaults.errors import DataError, NotFittedError, expected_one_of, shown, warn
from keras_defaults.schema import numeric_values, python_value

INSTALL = "pip install 'keras_defaults[plots]'"
# A bar chart of more columns than this is unreadable; the table holds them all.
MOST_BARS = 20
# One reliability curve per class, for this many classes at most (the most frequent ones).
MOST_CALIBRATION_CLASSES = 8
# Points drawn in a regression scatter: more only hide each other (scikit-learn's own default).
SCATTER_POINTS = 1000


def _figure(width, height):
    """A new Figure outside pyplot's registry: the caller owns it (no figure piles up in a loop or a report)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"keras_defaults.plots needs matplotlib: {INSTALL}") from error
    return Figure(figsize=(width, height), layout="constrained", dpi=100)


# ---------------------------------------------------------------------------------------------------- data
@dataclasses.dataclass
class Scored:
    """One target's truth and predictions on labelled rows: class codes (and probabilities, one column per class)
    for a classification target, numbers in the user's units for a regression one."""

    target: str
    truth: np.ndarray
    predicted: np.ndarray
    probabilities: np.ndarray = None
    classes: list = None

    @property
    def classifies(self):
        return self.classes is not None

    @property
    def binary(self):
        return self.classifies and len(self.classes) == 2


def target_name(auto, target=None):
    """The target to draw: `target`, or the only one."""
    if not hasattr(auto, "targets_"):
        raise NotFittedError("This Automater is not fitted yet. Call fit(df) first, then plot.")
    names = list(auto.targets_)
    if target is None:
        if len(names) > 1:
            raise DataError(f"This Automater predicts {len(names)} targets: {names}. Pass target= to choose the one "
                            f"to plot, e.g. target='{names[0]}'.")
        return names[0]
    if target not in names:
        raise DataError("Unknown target. " + expected_one_of("target", target, names))
    return target


def labelled_frame(auto, data):
    """`data` as a DataFrame: as given, or read from files (the model's input columns and the targets only)."""
    from keras_defaults import arrow, sources

    data = arrow.to_pandas(data, "the labelled data")
    if sources.is_file_source(data):
        files = sources.resolve_files(data)
        parts = [chunk for _, _, chunk in files.chunks(list(auto.inputs_) + list(auto.targets_))]
        return pd.concat(parts, ignore_index=True)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"Expected labelled data: a DataFrame (pandas, polars, or a pyarrow Table) with the input "
                        f"columns and the target(s), or data file paths. Received: {type(data).__name__}.")
    return data


def score(auto, data, targets=None):
    """{target: Scored} on the labelled rows of `data`: the model runs once for all the targets. Set targets have
    no plots here (`evaluate` scores them) and are left out when `targets` is None."""
    targets = [name for name, spec in auto.targets_.items() if not spec.predicts_label_sets] \
        if targets is None else targets
    if not targets:
        return {}
    frame = labelled_frame(auto, data)
    missing = [name for name in targets if name not in frame.columns]
    if missing:
        raise DataError(f"The labelled data lacks target column(s) {missing}: the plots compare predictions with "
                        f"them. Pass rows that hold the target(s), e.g. a held-out part of the training table.")
    frame = frame.loc[frame[targets].notna().all(axis=1).to_numpy()]
    if frame.empty:
        raise DataError(f"No row of the labelled data has a value in target(s) {targets}: there is nothing to plot.")
    predictions = auto.predict(frame)
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_frame()
    specs = auto.targets_
    probabilities = {}
    if any(specs[name].predicts_classes for name in targets):
        probabilities = auto.predict_proba(frame)
        if isinstance(probabilities, pd.DataFrame):
            probabilities = {next(n for n, s in specs.items() if s.predicts_classes): probabilities}
    found = {}
    for name in targets:
        if not specs[name].predicts_classes:
            found[name] = Scored(name, numeric_values(frame[name]).astype("float64"),
                                 numeric_values(predictions[name]).astype("float64"))
            continue
        classes = list(specs[name].classes)
        index = {c: i for i, c in enumerate(classes)}
        labels = [python_value(v) for v in frame[name]]
        known = np.array([label in index for label in labels])
        if not known.all():
            # No row of the model's output stands for such a label: a confusion matrix has no column for it.
            unseen = sorted({label for label, k in zip(labels, known) if not k}, key=str)
            warn(f"{int((~known).sum())} row(s) of target '{name}' hold label(s) no training row has "
                 f"({shown(unseen[:5])}); the plots leave them out (evaluate counts them as errors).")
        truth = np.array([index[label] for label, k in zip(labels, known) if k], dtype="int64")
        predicted = np.array([index[python_value(v)] for v in predictions[name].to_numpy()[known]], dtype="int64")
        found[name] = Scored(name, truth, predicted, probabilities[name].to_numpy(dtype="float64")[known], classes)
        if not len(truth):
            raise DataError(f"No row of the labelled data holds a label of target '{name}' that the model knows "
                            f"({shown(classes)}): there is nothing to plot.")
    return found


def _scored(auto, data, target, want):
    """One target's Scored, checked to be of the kind a plot needs ("classes", "two classes" or "numbers")."""
    name = target_name(auto, target)
    spec = auto.targets_[name]
    if spec.predicts_label_sets:
        raise DataError(f"The plots are for classification and regression targets, but target '{name}' is a set of "
                        f"labels ({len(spec.classes)} labels). evaluate(df) gives its micro and macro F1 and Hamming "
                        f"loss; predict_proba(df), one probability per label.")
    if want == "numbers" and spec.predicts_classes:
        raise DataError(f"This plot is for a regression target, but target '{name}' is {spec.kind} (classes "
                        f"{shown(list(spec.classes)[:5])}). For a classifier, use confusion_matrix, calibration, "
                        f"roc_curve or precision_recall.")
    if want != "numbers" and not spec.predicts_classes:
        raise DataError(f"This plot is for a classification target, but target '{name}' is {spec.kind} (a "
                        f"number). For a regression target, use predicted_vs_actual or residuals.")
    if want == "two classes" and spec.units != 1:
        raise DataError(f"ROC and precision-recall curves are for a binary target, but target '{name}' has "
                        f"{len(spec.classes)} classes. Use confusion_matrix or calibration, which take any number "
                        f"of classes.")
    return score(auto, data, [name])[name]


def _label(value):
    return str(value)


# ---------------------------------------------------------------------------------------------------- training
def best_epoch(auto):
    """The epoch (counted from 1) whose weights early stopping restored: the lowest validation loss, which is what
    fit's EarlyStopping monitors. None when nothing was restored (no validation rows, or restore_best_weights off)."""
    from keras_defaults.defaults import Training

    losses = (getattr(auto, "history_", None) or {}).get("val_loss")
    if not losses or not Training.from_config(auto.config_).restore_best_weights:
        return None
    return int(np.argmin(losses)) + 1


def training_curves(auto, target=None):
    """Loss and metrics per epoch, training against validation, with the restored best epoch marked (the loss alone
    when the fit recorded no metrics: `training.epoch_metrics: false`).

    One panel per quantity Keras recorded (the learning rate left out). With several targets the total loss and
    every target's panels are drawn; `target=` keeps that target's only.
    """
    history = getattr(auto, "history_", None)
    if not history or not history.get("loss"):
        raise DataError("This Automater holds no training history: it was built with build_model() and trained "
                        "outside fit, or loaded from a save made before saves kept it. Fit it with fit(df) to record "
                        "the training curves.")
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    names.sort(key=lambda k: (k != "loss", k))
    if target is not None:
        target = target_name(auto, target)
        if len(auto.targets_) > 1:
            names = [k for k in names if k.startswith(f"{target}_")]
    best = best_epoch(auto)
    figure = _figure(1, 1)  # first: without matplotlib, the error names the extra
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history["loss"]) + 1)
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure.set_size_inches(4.2 * columns, 3.2 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        ax.plot(epochs, history[name], marker="o", markersize=3, label="training")
        if history.get(f"val_{name}"):
            ax.plot(epochs, history[f"val_{name}"], marker="o", markersize=3, label="validation")
        if best is not None:
            ax.axvline(best, color="0.4", linestyle="--", linewidth=1, label=f"best epoch ({best})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend(fontsize="small")
    for ax in axes[len(names):]:
        ax.remove()
    if not history.get("val_loss"):
        note = "no validation rows: nothing was monitored"
    elif best is None:
        note = "the last epoch's weights kept (restore_best_weights is off)"
    else:
        note = f"weights restored from epoch {best} (lowest val_loss)"
    refit = getattr(auto, "refit_epochs_", None)
    if refit:
        note += f"; then refitted on all the rows for {refit} epoch(s)"
    figure.suptitle(f"Training curves: {note}", fontsize="medium")
    return figure


# ---------------------------------------------------------------------------------------------------- classifiers
def confusion_from(scored):
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(scored.classes)
    size = min(3.5 + 0.45 * n, 12)
    figure = _figure(size + 1, size)
    ax = figure.subplots()
    ConfusionMatrixDisplay.from_predictions(scored.truth, scored.predicted, labels=list(range(n)),
                                            display_labels=[_label(c) for c in scored.classes], ax=ax,
                                            colorbar=True, xticks_rotation=45 if n > 4 else "horizontal",
                                            include_values=n <= 30, cmap="Blues")
    ax.set_title(f"Confusion matrix: {scored.target} ({len(scored.truth)} rows)")
    return figure


def confusion_matrix(auto, data, target=None):
    """Counts of each true label (rows) against each predicted label (columns)."""
    return confusion_from(_scored(auto, data, target, "classes"))


def calibration_from(scored, bins=10):
    from sklearn.calibration import CalibrationDisplay

    figure = _figure(5.5, 5)
    ax = figure.subplots()
    if scored.binary:
        shown_classes = [1]
    else:
        # One-vs-rest, a curve per class: the most frequent classes, so that the picture stays readable.
        counts = np.bincount(scored.truth, minlength=len(scored.classes))
        shown_classes = sorted(np.argsort(-counts, kind="stable")[:MOST_CALIBRATION_CLASSES].tolist())
    for i, code in enumerate(shown_classes):
        CalibrationDisplay.from_predictions(scored.truth == code, scored.probabilities[:, code], n_bins=bins,
                                            pos_label=True, name=f"{scored.target} = {_label(scored.classes[code])}",
                                            ax=ax, ref_line=i == 0)
    # scikit-learn's labels name the one-vs-rest pos_label (True): say what the axes hold instead.
    ax.set_xlabel("Mean predicted probability of the class")
    ax.set_ylabel("Fraction of rows in the class")
    ax.set_title(f"Calibration: {scored.target} ({len(scored.truth)} rows, {bins} bins)")
    ax.legend(fontsize="small", loc="upper left")
    return figure


def calibration(auto, data, target=None, bins=10):
    """The reliability diagram: in each bin of predicted probability, the fraction of rows that have the class.
    A binary target draws its second class; more classes draw one curve per class, one against the rest."""
    return calibration_from(_scored(auto, data, target, "classes"), bins)


def _both_classes(scored, what):
    if len(np.unique(scored.truth)) < 2:
        raise DataError(f"A {what} needs rows of both classes of target '{scored.target}'; the labelled data holds "
                        f"only {_label(scored.classes[scored.truth[0]])!r}. Pass more rows, e.g. a larger held-out "
                        f"part.")


def _binary_curve(scored, display, what, title):
    """A scikit-learn curve display of the second class's probability against the truth, on a Figure of its own."""
    _both_classes(scored, what)
    figure = _figure(5.5, 5)
    ax = figure.subplots()
    display.from_predictions(scored.truth, scored.probabilities[:, 1], pos_label=1,
                             name=f"{scored.target} = {_label(scored.classes[1])}", ax=ax, plot_chance_level=True)
    ax.set_title(f"{title}: {scored.target} ({len(scored.truth)} rows)")
    return figure


def roc_from(scored):
    from sklearn.metrics import RocCurveDisplay

    return _binary_curve(scored, RocCurveDisplay, "ROC curve", "ROC curve")


def roc_curve(auto, data, target=None):
    """True against false positive rate as the threshold on the second class's probability moves (binary targets)."""
    return roc_from(_scored(auto, data, target, "two classes"))


def precision_recall_from(scored):
    from sklearn.metrics import PrecisionRecallDisplay

    return _binary_curve(scored, PrecisionRecallDisplay, "precision-recall curve", "Precision-recall")


def precision_recall(auto, data, target=None):
    """Precision against recall of the second class as the threshold moves (binary targets)."""
    return precision_recall_from(_scored(auto, data, target, "two classes"))


# ---------------------------------------------------------------------------------------------------- regression
def _prediction_error(scored, kind, title):
    from sklearn.metrics import PredictionErrorDisplay

    figure = _figure(5.5, 5)
    ax = figure.subplots()
    PredictionErrorDisplay.from_predictions(scored.truth, scored.predicted, kind=kind, subsample=SCATTER_POINTS,
                                            random_state=0, ax=ax, scatter_kwargs={"alpha": 0.5})
    drawn = min(len(scored.truth), SCATTER_POINTS)
    sample = f"{drawn} of {len(scored.truth)} rows" if drawn < len(scored.truth) else f"{drawn} rows"
    ax.set_title(f"{title}: {scored.target} ({sample})")
    return figure


def predicted_vs_actual_from(scored):
    return _prediction_error(scored, "actual_vs_predicted", "Actual against predicted")


def residuals_from(scored):
    return _prediction_error(scored, "residual_vs_predicted", "Residuals against predicted")


def predicted_vs_actual(auto, data, target=None):
    """Each row's actual value against the prediction, the diagonal being perfect (regression targets)."""
    return predicted_vs_actual_from(_scored(auto, data, target, "numbers"))


def residuals(auto, data, target=None):
    """Each row's residual (actual - predicted) against the prediction (regression targets)."""
    return residuals_from(_scored(auto, data, target, "numbers"))


# ---------------------------------------------------------------------------------------------------- importance
def feature_importance(table, top=MOST_BARS):
    """A bar per input column, largest first, its error bar the spread over the repeats: the table that
    `auto.feature_importance(data)` returns (for several targets, pass one target's table)."""
    if isinstance(table, dict):
        raise DataError(f"Expected one target's importance table (a DataFrame). Received: a dict over targets "
                        f"{list(table)}; pass one of them, e.g. table['{next(iter(table), '')}'].")
    if not isinstance(table, pd.DataFrame) or "importance" not in table.columns:
        raise DataError(f"Expected the DataFrame of auto.feature_importance(data), with an 'importance' column "
                        f"(and 'std'). Received: {type(table).__name__}"
                        f"{' with columns ' + str(list(table.columns)) if isinstance(table, pd.DataFrame) else ''}.")
    if table.empty:
        raise DataError("The importance table is empty: the model has no input column to rank.")
    shown_rows = table.sort_values("importance", ascending=False).head(top)
    figure = _figure(6.5, 1.2 + 0.32 * len(shown_rows))
    ax = figure.subplots()
    names = [str(name) for name in shown_rows.index][::-1]  # barh draws bottom-up: the largest goes on top
    values = shown_rows["importance"].to_numpy(dtype="float64")[::-1]
    errors = shown_rows["std"].to_numpy(dtype="float64")[::-1] if "std" in shown_rows else None
    ax.barh(names, values, xerr=errors, color="tab:blue", ecolor="0.3", capsize=2)
    ax.axvline(0, color="0.3", linewidth=0.8)
    metric = table.attrs.get("metric")
    if metric:
        from keras_defaults.importance import LOWER_IS_BETTER

        # An error measure (RMSE) rises when a useful column is shuffled; a score (ROC-AUC, accuracy) drops.
        change = "rise" if metric in LOWER_IS_BETTER else "drop"
        ax.set_xlabel(f"{change} in {metric} when the column is shuffled")
    else:
        ax.set_xlabel("importance")
    more = f" (top {top} of {len(table)})" if len(table) > top else ""
    ax.set_title(f"Permutation feature importance{more}")
    return figure


__all__ = ["training_curves", "confusion_matrix", "calibration", "roc_curve", "precision_recall",
           "predicted_vs_actual", "residuals", "feature_importance", "best_epoch"]
