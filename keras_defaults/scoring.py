"""Scores of predictions against the truth, in the user's units: what `evaluate` returns."""

import numpy as np
import pandas as pd
from sklearn import metrics as sk_metrics
from sklearn.preprocessing import MultiLabelBinarizer

from keras_defaults.errors import DataError
from keras_defaults.schema import numeric_values, python_value


def scores(truth, predictions, probabilities, targets):
    """{metric: value} over the rows of `truth` (a DataFrame of the target columns).

    `predictions` is a DataFrame with one column per target, `probabilities` {target: DataFrame} for the
    classification targets, both aligned with `truth`'s rows. With several targets, keys are '<target>/<metric>'.
    """
    results = {}
    for name, target in targets.items():
        if target.predicts_classes:
            found = classification_scores(truth[name], predictions[name], probabilities[name], target.classes,
                                          binary=target.units == 1)
        elif target.predicts_label_sets:
            found = set_scores(target.encoder.labels_of(truth[name], target.state), predictions[name])
        else:
            found = regression_scores(truth[name], predictions[name])
        prefix = "" if len(targets) == 1 else f"{name}/"
        results.update({prefix + k: v for k, v in found.items()})
    return results


def regression_scores(truth, predicted):
    y, p = numeric_values(truth), numeric_values(predicted)  # durations in seconds
    unreadable = ~np.isfinite(y)  # the rows missing a target were left out: these hold something else
    if unreadable.any():
        examples = pd.Series(truth).loc[unreadable].drop_duplicates().head(3).tolist()
        raise DataError(f"Target column '{truth.name}' holds {int(unreadable.sum())} value(s) that are not finite "
                        f"numbers (e.g. {examples}); the model predicts a number, to be scored against numbers. "
                        f"pd.to_numeric(df['{truth.name}'], errors='coerce') shows which; fix or drop those rows.")
    return {"rmse": float(np.sqrt(sk_metrics.mean_squared_error(y, p))),
            "mae": float(sk_metrics.mean_absolute_error(y, p)),
            "r2": float(sk_metrics.r2_score(y, p)) if len(y) > 1 else float("nan")}


def set_scores(truth, predicted):
    """Scores of predicted sets of labels against the true ones (both: a list of labels per row): F1 over every
    (row, label) decision (micro) and the mean of each label's F1 (macro), the Hamming loss (the share of wrong
    (row, label) decisions) and the share of rows whose set is exactly right. Labels only the truth holds (none seen in
    training) count as missed."""
    truth, predicted = list(truth), list(predicted)
    labels = sorted({label for row in truth + predicted for label in row}, key=str)
    binarizer = MultiLabelBinarizer(classes=labels)
    y, p = binarizer.fit_transform(truth), binarizer.transform(predicted)
    return {"f1_micro": float(sk_metrics.f1_score(y, p, average="micro", zero_division=0.0)),
            "f1_macro": float(sk_metrics.f1_score(y, p, average="macro", zero_division=0.0)),
            "hamming_loss": float(sk_metrics.hamming_loss(y, p)),
            "subset_accuracy": float(sk_metrics.accuracy_score(y, p))}


def classification_scores(truth, predicted, proba, classes, binary):
    """Accuracy; log-loss over the rows whose label is a known class; ROC-AUC (one-vs-rest for several classes,
    when every class is present)."""
    labels = [python_value(v) for v in truth]
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([label in index for label in labels])
    found = {"accuracy": float(np.mean([a == b for a, b in zip(labels, predicted.tolist())]))}
    if known.any():
        codes = np.array([index[label] for label, k in zip(labels, known) if k])
        p = np.clip(proba.to_numpy()[known], 1e-7, 1.0)
        p = p / p.sum(axis=1, keepdims=True)  # float32 softmax sums drift from 1 by a few ulps
        found["log_loss"] = float(sk_metrics.log_loss(codes, p, labels=list(range(len(classes)))))
        if len(np.unique(codes)) > 1:
            if binary:
                found["roc_auc"] = float(sk_metrics.roc_auc_score(codes, p[:, 1]))
            elif len(np.unique(codes)) == len(classes):
                found["roc_auc_ovr"] = float(sk_metrics.roc_auc_score(codes, p, multi_class="ovr"))
    return found
