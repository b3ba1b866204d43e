"""The report: one self-contained HTML file of what a fitted Automater learned and how well it does on given data.

`auto.report("report.html", data=held_out)`, or `keras-defaults report RUN_DIR DATA --out report.html`. Sections: a
short summary, the metrics on the data, the plots (`keras_defaults.plots`), the permutation feature importance, the
columns (the `explain()` table) and the merged configuration as YAML.

Self-contained: the images are embedded as base64 PNG, the style is inline, there is no script and no link to
anything outside the file, so it opens offline, mails as one attachment and leaks nothing when viewed. Plain string
templates, every value passed through `html.escape`.
"""

import base64
import datetime
import html
import io
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from keras_defaults.errors import DataError

SECTIONS = {"summary": "Summary", "metrics": "Metrics", "plots": "Plots", "importance": "Feature importance",
            "columns": "Columns", "configuration": "Configuration"}
# Small PNGs: a report of a dozen plots stays a few hundred kilobytes.
DPI = 80

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0 auto;
       max-width: 1100px; padding: 1.5em 2em 4em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.25em; margin-top: 2em; }
h3 { margin: 1.2em 0 0.4em; }
nav a { margin-right: 1em; color: #0969da; text-decoration: none; }
.lead { color: #57606a; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card .value { font-size: 1.5em; font-weight: 600; }
.card .name { color: #57606a; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: 0.9em; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.note { color: #9a6700; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _number(value):
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _table(frame, numbers=()):
    """A DataFrame as an HTML table, its index a first column when it is named; every cell escaped."""
    if frame.index.name is not None:
        frame = frame.reset_index()
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, values):
            numeric = column in numbers or isinstance(value, (float, np.floating))
            text = _number(value) if numeric else ("" if value is None else value)
            cells.append(f'<td class="number">{_e(text)}</td>' if numeric else f"<td>{_e(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def png_data(figure):
    """A Figure as a base64 PNG data URI; the figure is then emptied, its memory given back."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _image(figure, caption):
    return (f'<figure><img src="{png_data(figure)}" alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption>'
            f"</figure>")


def _note(text):
    return f'<p class="note">{_e(text)}</p>'


def _section(key, body):
    return f'<section id="{key}"><h2>{_e(SECTIONS[key])}</h2>\n{body}\n</section>'


# ---------------------------------------------------------------------------------------------------- sections
def _summary(auto, frame, rows, metrics):
    from keras_defaults import __version__
    from keras_defaults.importance import primary_metric
    from keras_defaults.plots import best_epoch

    targets = []
    for name, spec in auto.targets_.items():
        detail = (f"{len(spec.classes)} classes" if spec.predicts_classes else f"{len(spec.classes)} labels"
                  if spec.predicts_label_sets else "regression")
        targets.append(f"{name} ({spec.kind}, {detail})")
    cards = []
    for name in auto.targets_:
        # The primary metric is the one feature importance is measured in: ROC-AUC, accuracy, micro F1 or RMSE.
        prefix = "" if len(auto.targets_) == 1 else f"{name}/"
        scores = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
        primary = primary_metric(scores, name)
        cards.append((prefix + primary, _number(scores[primary])))
    cards.append(("rows evaluated", f"{rows:,}"))
    cards.append(("input columns", f"{len(auto.inputs_)}"))
    history = getattr(auto, "history_", None) or {}
    if history.get("loss"):
        epochs = len(history["loss"])
        best = best_epoch(auto)
        training = f"Trained for {epochs} epoch(s)" + (f", best epoch {best}" if best else "")
        if getattr(auto, "refit_epochs_", None):
            training += f", then refitted on all the rows for {auto.refit_epochs_} epoch(s)"
        training += "."
    else:
        training = "No training history is held (a save made before save kept it, or a model trained outside fit)."
    made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lead = (f"Predicts {'; '.join(targets)} from {len(auto.inputs_)} input column(s). {training} Metrics below are "
            f"on the {rows:,} labelled row(s) given to the report.")
    body = [f'<p>{_e(lead)}</p>', '<div class="cards">']
    body += [f'<div class="card"><div class="value">{_e(v)}</div><div class="name">{_e(k)}</div></div>'
             for k, v in cards]
    body.append("</div>")
    dropped = len(frame) - rows
    if dropped:
        body.append(_note(f"{dropped} row(s) of the data have no value in a target and were left out."))
    body.append(f'<p class="lead">Report made {_e(made)} by keras_defaults {_e(__version__)}.</p>')
    return "\n".join(body)


def _metrics(metrics):
    frame = pd.DataFrame({"metric": list(metrics), "value": [float(v) for v in metrics.values()]})
    return _table(frame, numbers=("value",))


def _plots(auto, frame):
    """Every plot that fits the targets, a note in place of one that cannot be drawn (and of all of them without
    matplotlib: the rest of the report does not need it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from keras_defaults.plots import INSTALL

        return None, _note(f"The plots need matplotlib: {INSTALL}")
    from keras_defaults import plots

    parts = []
    try:
        parts.append(_image(plots.training_curves(auto), "Training curves"))
    except DataError as error:
        parts.append(_note(str(error)))
    scored = plots.score(auto, frame)
    for name in (name for name, spec in auto.targets_.items() if spec.predicts_label_sets):
        parts.append(_note(f"{name}: a set of labels, which these plots do not draw; its F1 scores and Hamming "
                           f"loss are in the summary."))
    for name, one in scored.items():
        if len(auto.targets_) > 1:
            parts.append(f"<h3>{_e(name)}</h3>")
        if one.classifies:
            drawers = [("Confusion matrix", plots.confusion_from), ("Calibration", plots.calibration_from)]
            if one.binary:
                drawers += [("ROC curve", plots.roc_from), ("Precision-recall", plots.precision_recall_from)]
        else:
            drawers = [("Actual against predicted", plots.predicted_vs_actual_from),
                       ("Residuals against predicted", plots.residuals_from)]
        for caption, draw in drawers:
            try:
                parts.append(_image(draw(one), f"{caption}: {name}"))
            except DataError as error:  # e.g. a ROC curve on rows of one class
                parts.append(_note(f"{caption}: {error}"))
    return plots, "\n".join(parts)


def _importance(auto, frame, plots, n_repeats, seed):
    tables = auto.feature_importance(frame, n_repeats=n_repeats, seed=seed)
    if isinstance(tables, pd.DataFrame):
        tables = {auto.targets[0]: tables}
    parts = ["<p>How much the primary metric worsens when one column's values are shuffled across the rows "
             f"({n_repeats} repeats; the spread is their standard deviation). A column near zero adds little that "
             "the others do not already carry.</p>"]
    for name, table in tables.items():
        if len(tables) > 1:
            parts.append(f"<h3>{_e(name)}</h3>")
        if plots is not None:
            parts.append(_image(plots.feature_importance(table), f"Feature importance: {name}"))
        metric = table.attrs.get("metric")
        if metric:
            parts.append(f"<p>Metric: {_e(metric)}.</p>")
        parts.append(_table(table, numbers=("importance", "std")))
    return "\n".join(parts)


def build(auto, data, *, importance=True, n_repeats=5, seed=None, title=None):
    """The report as an HTML string."""
    from keras_defaults.plots import labelled_frame

    auto._check_fitted()
    frame = labelled_frame(auto, data)
    missing = [name for name in auto.targets if name not in frame.columns]
    if missing:
        raise DataError(f"The report's data lacks target column(s) {missing}: its metrics and plots compare "
                        f"predictions with them. Pass labelled rows, e.g. a held-out part of the training table.")
    labelled = frame.loc[frame[auto.targets].notna().all(axis=1).to_numpy()]
    metrics = auto.evaluate(labelled)
    plots, plot_html = _plots(auto, labelled)
    sections = {
        "summary": _summary(auto, frame, len(labelled), metrics),
        "metrics": _metrics(metrics),
        "plots": plot_html,
        "importance": (_importance(auto, labelled, plots, n_repeats, seed) if importance
                       else _note("Left out (importance=False).")),
        "columns": _table(pd.DataFrame(auto.explain())),
        "configuration": "<p>The merged settings: defaults.yaml with the user's files and arguments over it. Pass "
                         "this back as config= (or --config) to repeat the choices.</p>"
                         f"<pre>{_e(auto.config_.to_yaml())}</pre>",
    }
    title = title or f"keras_defaults report: {', '.join(auto.targets)}"
    nav = " ".join(f'<a href="#{key}">{_e(name)}</a>' for key, name in SECTIONS.items())
    body = "\n".join(_section(key, sections[key]) for key in SECTIONS)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{_e(title)}</h1>\n<nav>{nav}</nav>\n{body}\n</body>\n"
            f"</html>\n")


def write(auto, path, data, **options):
    """Write the report to `path` (an .html file); returns its Path."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise DataError(f"The report is an HTML file: its name must end in .html. Received: '{path}'. Did you mean "
                        f"'{path.with_suffix('.html')}'?")
    text = build(auto, data, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)  # a reader never sees half a report
    return path
