"""The explanation table: every column's kind and why, every target's head, and where each setting came from."""

import pandas as pd

from keras_defaults.defaults import BUILTIN_SOURCE, column_origins
from keras_defaults.schema import IGNORE

COLUMNS = ["role", "column", "kind", "why", "choice", "source"]


class Explanation(pd.DataFrame):
    """A DataFrame that prints whole: no truncated reasons."""

    @property
    def _constructor(self):
        return Explanation

    def __repr__(self):
        with pd.option_context("display.max_colwidth", 90, "display.width", 250, "display.max_columns", None,
                               "display.max_rows", None):
            return self.to_string(index=False)


def _input_choice(profile, state, settings):
    kind = profile.kind
    if kind == "numerical":
        parts = [f"fill median {state['median']:.4g}", f"{settings['scaling']} scaling"]
        if settings["smooth_clip"]:
            parts.append(f"smooth clip at {settings['clip_scale']:g}")
        if state["missing_indicator"]:
            parts.append("missing flag")
        return ", ".join(parts)
    if kind == "categorical":
        levels = len(state["vocabulary"])
        how = "one-hot" if state["one_hot"] else f"embedding of width {state['embedding_dim']}"
        return f"{levels} levels + out-of-vocabulary bucket, {how}"
    if kind == "boolean":
        flag = ", missing flag" if state.get("missing_indicator") else ""
        return f"0/1 ({state['false_value']!r} -> 0, {state['true_value']!r} -> 1){flag}"
    if kind == "text":
        return f"{settings['output_mode']} over {len(state['vocabulary'])} tokens, {settings['ngrams']}-grams"
    return "left out"


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


def _input_source(config, name, profile):
    if profile.forced:
        kind = config.origin("columns", name, "kind")
    else:
        kind = "inference"
    if profile.kind == IGNORE:
        return f"kind: {kind}"
    return sources(column_origins(config, name, profile.kind, "input"), [("kind", kind)])


def explanation(auto):
    config = auto.config_
    rows = []
    for name, target in auto.targets_.items():
        s = target.settings
        units = 1 if target.kind in ("numerical", "boolean") else len(target.classes)
        extra = ""
        if target.kind == "numerical":
            extra = ", learned as log1p" if target.state["log1p"] else ""
            extra += ", standardised" if s["standardize"] else ""
        else:
            extra = f", classes {target.classes[:6]}{'...' if len(target.classes) > 6 else ''}"
        choice = (f"{units} unit(s), {s['activation']}; loss {_named(s['loss'])}; "
                  f"metrics {[_named(m) for m in s['metrics']]}{extra}")
        kind_source = config.origin("columns", name, "kind") if target.profile.forced else "inference"
        source = sources(column_origins(config, name, target.kind, "target"), [("kind", kind_source)])
        rows.append(["target", name, target.kind, target.profile.reason, choice, source])
    for name, profile in auto.profiles_.items():
        state = auto.input_states_.get(name)
        settings = auto.input_settings_.get(name)
        choice = _input_choice(profile, state, settings) if state is not None else "left out"
        why = f"{profile.reason}; {profile.missing} missing; e.g. {profile.sample}"
        rows.append(["input", name, profile.kind, why, choice, _input_source(config, name, profile)])
    optimizer = config.get("optimizer")
    args = ", ".join(f"{k}={v}" for k, v in optimizer.items() if k not in ("name", "choices"))
    rows.append(["model", "optimizer", "", "", f"{optimizer['name']}({args})",
                 sources(config.origins_under("optimizer"))])
    body = config.get("body")
    rows.append(["model", "body", "", "", f"MLP {body['units']}, {body['activation']}, dropout {body['dropout']}"
                 f"{', batch norm' if body['batch_norm'] else ''}", sources(config.origins_under("body"))])
    training = config.get("training")
    stopping = training["early_stopping"]
    rows.append(["model", "training", "", "", f"up to {training['epochs']} epochs, batch {training['batch_size']}, "
                 f"{training['validation_split']:.0%} validation, early stopping patience {stopping['patience']}"
                 f"{' (best weights restored)' if stopping['restore_best_weights'] else ''}",
                 sources(config.origins_under("training"))])
    return Explanation(rows, columns=COLUMNS)
