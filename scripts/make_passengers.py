"""Regenerate keras_defaults/data/passengers.csv: a small, Titanic-like table of mixed column kinds.

The rows are synthetic (no data can be downloaded here), drawn from a fixed-seed process in which survival depends
on class, sex, age, fare and the words of a free-text note, so that every kind of column carries signal.
Run: python scripts/make_passengers.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 1200
OUT = Path(__file__).resolve().parent.parent / "keras_defaults" / "data" / "passengers.csv"

CABIN_WORDS = {
    1: ["travelling with family in a suite", "booked a first class cabin near the deck", "dined at the captain's table"],
    2: ["shared a cabin with a friend", "travelling for work to New York", "second class berth midship"],
    3: ["emigrating with little luggage", "steerage bunk near the engines", "travelling alone to find work"],
}
HOPEFUL = ["helped into a lifeboat early", "woke up to the alarm and went up", "was near the boat deck"]
UNLUCKY = ["was asleep below deck", "went back for belongings", "could not find the stairs"]
ITEMS = ["a violin", "two trunks", "a small dog", "letters home", "a camera", "a hat box", "tools", "a novel",
         "a shawl", "coins", "a map", "nothing"]
WHEN = ["on the first night", "after dinner", "at midnight", "before dawn", "in the evening", "late", "early",
        "that night"]


def make(rows=ROWS, seed=7):
    rng = np.random.default_rng(seed)
    pclass = rng.choice([1, 2, 3], size=rows, p=[0.24, 0.21, 0.55])
    sex = rng.choice(["male", "female"], size=rows, p=[0.64, 0.36])
    age = np.clip(rng.normal(30, 14, rows), 0.4, 80).round(1)
    sibsp = rng.choice([0, 1, 2, 3, 4], size=rows, p=[0.68, 0.23, 0.05, 0.02, 0.02])
    fare = np.round(np.exp(rng.normal(np.array([4.2, 3.0, 2.3])[pclass - 1], 0.5)), 2)
    embarked = rng.choice(["Southampton", "Cherbourg", "Queenstown"], size=rows, p=[0.72, 0.19, 0.09])
    alone = sibsp == 0
    logit = (-0.4 - 0.9 * (pclass - 1) + 2.3 * (sex == "female") - 0.025 * (age - 30)
             + 0.25 * np.log(fare) - 0.3 * sibsp + 0.3 * (embarked == "Cherbourg"))
    lucky = rng.random(rows) < 1 / (1 + np.exp(-logit))
    notes = []
    for c, good in zip(pclass, lucky):
        words = CABIN_WORDS[c][rng.integers(3)]
        story = (HOPEFUL if (good ^ (rng.random() < 0.25)) else UNLUCKY)[rng.integers(3)]
        notes.append(f"{words}, carrying {ITEMS[rng.integers(12)]}; {WHEN[rng.integers(8)]} {story}")
    survived = (rng.random(rows) < 1 / (1 + np.exp(-(logit + 1.5 * (lucky - 0.5))))).astype(int)
    frame = pd.DataFrame({
        "passenger_id": np.arange(1, rows + 1),
        "pclass": pclass,
        "sex": sex,
        "age": age,
        "siblings_spouses": sibsp,
        "fare": fare,
        "embarked": embarked,
        "travelling_alone": np.where(alone, "yes", "no"),
        "notes": notes,
        "survived": survived,
    })
    # Missing values, as in the real table: ages, some ports and some notes are unknown.
    frame.loc[rng.random(rows) < 0.18, "age"] = np.nan
    frame.loc[rng.random(rows) < 0.02, "embarked"] = None
    frame.loc[rng.random(rows) < 0.05, "notes"] = None
    frame.loc[rng.random(rows) < 0.01, "fare"] = np.nan
    return frame


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT}")
