"""The explanation table: every column's kind and why, every target's head, and where each setting came from.

`explain()` returns it as a DataFrame, for code; printed, it is a text report that fits 100 columns (`to_text`).
"""

import ast
import re
import textwrap

import pandas as pd

from keras_defaults.defaults import BUILTIN_SOURCE, column_origins

COLUMNS = ["role", "column", "kind", "why", "choice", "source"]
TEXT_WIDTH = 100
# The text report's layout: a column's name, then its kind, then its lines of detail, each in its own band.
_NAME_WIDTH = 22
_KIND_WIDTH = 11
_DETAIL_INDENT = 2 + _NAME_WIDTH + 2 + _KIND_WIDTH + 2
_SECTIONS = {"target": "Targets", "reconstructed": "Reconstructed columns (autoencoder)", "input": "Inputs",
             "model": "Model"}
# A sample value in the report: strings cut to this many characters, numbers to four significant digits.
_SAMPLE_CHARS = 20
_SAMPLE_AT_END = re.compile(r"; e\.g\. (\[.*\])$")


class Explanation(pd.DataFrame):
    """A DataFrame that prints as a readable report: whole reasons, wrapped to 100 columns."""

    @property
    def _constructor(self):
        return Explanation

    def to_text(self, width=TEXT_WIDTH):
        """The report: a block per target, input column and model setting, giving its kind, why, the choice made
        and where each setting came from, wrapped to `width` columns (at least 59), samples shortened.

        Words are never cut, so that names and paths can be copied: only one longer than a line overflows it."""
        if width < _DETAIL_INDENT + 20:
            raise ValueError(f"Expected a width of at least {_DETAIL_INDENT + 20} columns. Received: width={width}")
        lines = []
        for role, title in _SECTIONS.items():
            rows = self[self["role"] == role]
            if rows.empty:
                continue
            lines.append(title)
            for row in rows.itertuples():
                lines += _text_block(row, width)
        return "\n".join(lines)

    def __repr__(self):
        if not set(COLUMNS) <= set(self.columns):  # a selection of columns prints as the DataFrame it is
            with pd.option_context("display.max_colwidth", 90, "display.width", 250, "display.max_columns", None,
                                   "display.max_rows", None):
                return self.to_string(index=False)
        return self.to_text()


def _text_block(row, width):
    name = str(row.column)
    kind = f"{row.kind:<{_KIND_WIDTH}}  "
    lines = []
    if len(name) > _NAME_WIDTH:  # a long name takes a line of its own: names are never cut
        lines.append(f"  {name}")
        head = " " * (2 + _NAME_WIDTH + 2) + kind
    else:
        head = f"  {name:<{_NAME_WIDTH}}  {kind}"
    details = [_short_samples(row.why), f"-> {row.choice}", f"source: {row.source}"]
    for text in filter(None, details):
        lines += textwrap.wrap(text, width, initial_indent=head, subsequent_indent=" " * _DETAIL_INDENT,
                               break_long_words=False, break_on_hyphens=False)
        head = " " * _DETAIL_INDENT
    return lines


def _short_samples(why):
    """`why` with the sample of values at its end shortened: long strings cut, numbers to four digits."""
    found = _SAMPLE_AT_END.search(why)
    if not found:
        return why
    try:
        values = ast.literal_eval(found.group(1))
    except (ValueError, SyntaxError):  # not a list of plain values: shown as it is
        return why
    return f"{why[:found.start()]}; e.g. [{', '.join(_short_value(v) for v in values)}]"


def _short_value(value):
    if isinstance(value, str):
        return repr(value if len(value) <= _SAMPLE_CHARS else value[:_SAMPLE_CHARS - 3].rstrip() + "...")
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _named(spec):
    """A loss or metric as written in YAML: huber, or huber(delta=0.5) when it has arguments."""
    if not isinstance(spec, dict):
        return spec
    args = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return f"{spec['name']}({args})"


def sources(origins, lead=()):
    """One line from {setting: origin}: the settings grouped by where they came from, the built-in table last.

    e.g. "loss, metrics: 'my.yaml'; activation: defaults.yaml". `lead` is (label, origin) pairs put first as they
    are, such as ("kind", "inference").
    """
    parts = [f"{label}: {origin}" for label, origin in lead]
    grouped = {}
    for key, origin in origins.items():
        grouped.setdefault(origin, []).append(key)
    builtin = grouped.pop(BUILTIN_SOURCE, None)
    parts += [f"{', '.join(keys)}: {origin}" for origin, keys in grouped.items()]
    if builtin and parts:
        parts.append(f"{'other settings' if grouped else 'settings'}: {BUILTIN_SOURCE}")
    elif builtin:
        parts.append(BUILTIN_SOURCE)
    return "; ".join(parts)


def _kind_source(config, name, profile):
    return config.origin("columns", name, "kind") if profile.forced else "inference"


def explanation(config, inputs, ignored, targets, autoencoder=None):
    """The table of every choice: a row per target, per input column (used, then set aside) and per model setting.

    For an autoencoder (`autoencoder`: {"width": embedding units, "scales": {column: mean training loss} or None
    before training}), a row per reconstructed column in place of the targets, with its loss on training rows."""
    rows = []
    for name, target in targets.items():
        s = target.settings
        head = target.encoder.head_description(target.state, s)
        source = sources(column_origins(config, name, target.kind, "target"),
                         [("kind", _kind_source(config, name, target.profile))])
        if autoencoder is not None:
            scales = autoencoder["scales"]
            learned = f"; mean loss on training rows {scales[name]:.4g}" if scales else ""
            choice = (f"{target.units} unit(s), {head}; loss {_named(s['loss'])}, missing values left out"
                      f"{learned}{target.encoder.describe_target(target.state, s)}")
            why = f"rebuilt from the embedding: {target.kind} columns are ({target.profile.reason})"
            rows.append(["reconstructed", name, target.kind, why, choice, source])
            continue
        choice = (f"{target.units} unit(s), {head}; loss {_named(s['loss'])}; "
                  f"metrics {[_named(m) for m in s['metrics']]}{target.encoder.describe_target(target.state, s)}")
        rows.append(["target", name, target.kind, target.profile.reason, choice, source])
    for name, spec in {**inputs, **ignored}.items():
        profile = spec.profile
        why = f"{profile.reason}; {profile.missing} missing; e.g. {profile.sample}"
        kind_source = _kind_source(config, name, profile)
        source = (f"kind: {kind_source}" if spec.state is None
                  else sources(column_origins(config, name, profile.kind, "input"), [("kind", kind_source)]))
        rows.append(["input", name, profile.kind, why, spec.describe(), source])
    optimizer = config.get("optimizer")
    args = ", ".join(f"{k}={v}" for k, v in optimizer.items() if k not in ("name", "choices"))
    rows.append(["model", "optimizer", "", "", f"{optimizer['name']}({args})",
                 sources(config.origins_under("optimizer"))])
    body = config.get("body")
    embedding = (f"numbers through periodic embeddings ({body['periodic_frequencies']} frequencies, sigma "
                 f"{body['periodic_sigma']:g}, {body['periodic_dim']} units each), then "
                 if body["numerical_embedding"] == "periodic" else "")
    ensemble = ""
    if body["ensemble"] > 1:
        ensemble = (f", {body['ensemble']} members with dense layers of their own"
                    if body["ensemble_mlp"] == "per_member" and autoencoder is None
                    else f", {body['ensemble']} members sharing it (TabM-mini)")
    mlp = (f"MLP {body['units']}, {body['activation']}, dropout {body['dropout']}"
           f"{', batch norm' if body['batch_norm'] else ''}"
           f"{', a linear path to the heads' if body['linear_path'] and body['units'] and autoencoder is None else ''}")
    if autoencoder is None:
        rows.append(["model", "body", "", "", f"{embedding}{mlp}{ensemble}", sources(config.origins_under("body"))])
    else:
        skipped = [name for name in inputs if name not in targets]
        read_only = f"; read, not rebuilt: {skipped}" if skipped else ""
        how = ("embedding_dim" if config.get("autoencoder", "embedding_dim") is not None
               else f"the square root of the {len(targets)} rebuilt column(s), rounded up, from 2 to 16")
        rows.append(["model", "body", "", "", f"autoencoder: {embedding}encoder {mlp} -> embedding of "
                     f"{autoencoder['width']} unit(s) ({how}) -> decoder MLP {list(reversed(body['units']))}, one "
                     f"head per rebuilt column (a single network: no ensemble){read_only}",
                     sources({**config.origins_under("body"), **config.origins_under("autoencoder")})])
    training = config.get("training")
    stopping = training["early_stopping"]
    rows.append(["model", "training", "", "", f"up to {training['epochs']} epochs, batch {training['batch_size']}, "
                 f"{training['validation_split']:.0%} validation, early stopping patience {stopping['patience']}"
                 f"{' (best weights restored)' if stopping['restore_best_weights'] else ''}"
                 + (f", learning rate x{training['reduce_lr_factor']:g} after {training['reduce_lr_patience']} epochs "
                    f"without improvement" if training["reduce_lr_patience"] else "")
                 + _refit_note(training)
                 + ("" if training["epoch_metrics"] else "; the losses alone recorded per epoch (no metrics)"),
                 sources(config.origins_under("training"))])
    return Explanation(rows, columns=COLUMNS)


def _refit_note(training):
    if training["refit"] is False:
        return ""
    when = f" when the frame has at most {training['refit_max_rows']} rows" if training["refit"] == "auto" else ""
    averaged = (f", its weights averaged over the last {training['refit_average']:.0%} of its epochs"
                if training["refit_average"] else "")
    epochs = ("the chosen epochs" if training["refit_fraction"] == 1
              else f"{training['refit_fraction']:.0%} of the chosen epochs")
    what = ("a fresh network trained" if training["refit_start"] == "fresh"
            else "the network early stopping kept, trained further")
    return f"; then {what} on all the rows for {epochs}{when}{averaged}"
