"""Scores of predictions against the truth, in the user's units: what `evaluate` returns."""

import numpy as np
from sklearn import metrics as sk_metrics

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
        else:
            found = regression_scores(truth[name], predictions[name])
        prefix = "" if len(targets) == 1 else f"{name}/"
        results.update({prefix + k: v for k, v in found.items()})
    return results


def regression_scores(truth, predicted):
    y, p = numeric_values(truth), numeric_values(predicted)  # durations in seconds
    return {"rmse": float(np.sqrt(sk_metrics.mean_squared_error(y, p))),
            "mae": float(sk_metrics.mean_absolute_error(y, p)),
            "r2": float(sk_metrics.r2_score(y, p)) if len(y) > 1 else float("nan")}


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
