#!/usr/bin/env python
"""Quality benchmark: keras_defaults.Automater against hand-built baselines.

Run from the repository root:

    python benchmarks/quality.py                      # full run (all datasets, all models)
    python benchmarks/quality.py --quick              # smoke run: 3 small datasets, 2 folds
    python benchmarks/quality.py --models hgb,keras_mlp --datasets auto,oj
    python benchmarks/quality.py --list               # show datasets and models

Every dataset ships with an installed package (ISLP CSV files, statsmodels.datasets,
scikit-learn's bundled ``load_*``); nothing is downloaded.  ISLP is never imported (its
``__init__`` pulls in torch): its CSV files are read from the package folder.

Outputs (``--out``, default ``benchmarks/results``):
    quality.md         tables per dataset, summary (mean rank, ratio to HistGradientBoosting),
                       run date, library versions, machine
    quality.csv        one row per dataset x model x metric (mean, std over folds)
    quality_folds.csv  raw per-fold results (one row per dataset x model x fold)
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# libgomp (HistGradientBoosting's OpenMP) busy-waits at barriers; on a shared 2-core machine
# with another busy process that made a 0.2 s HGB fit take 6-40 s. Passive waiting keeps the
# default thread count but sleeps instead. Must be set before the OpenMP runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime
import importlib.metadata
import importlib.util
import platform
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, OneHotEncoder, StandardScaler

REPO_ROOT = Path(__file__).resolve().parents[1]
# `python benchmarks/quality.py` puts benchmarks/ on sys.path, not the repository root where
# the keras_defaults package lives.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SEED = 0
MAX_ROWS = 10_000  # bigger datasets are cut to this many rows by a seeded subsample
SMALL_DATASET_ROWS = 2_000  # below this: k-fold CV; at or above: seeded 80/20 split(s)
N_FOLDS = 5
N_REPEATS_LARGE = 1  # 80/20 splits for large datasets (seeds 0, 1, ...)
TEST_SIZE = 0.2
QUICK_DATASETS = ("carseats", "oj", "wine")
QUICK_FOLDS = 2

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
CLASSIFICATION = (BINARY, MULTICLASS)
# Metrics per task; the first is the primary metric (used for ranks and ratios).
METRICS = {
    BINARY: ("roc_auc", "accuracy"),
    MULTICLASS: ("accuracy", "log_loss"),
    REGRESSION: ("r2", "rmse"),
}
LOWER_IS_BETTER = {"log_loss", "rmse", "fit_s", "predict_s"}
TIME_METRICS = ("fit_s", "predict_s")


# --------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetSpec:
    name: str
    loader: Callable[[], pd.DataFrame]
    target: str
    task: str
    source: str
    notes: str  # every choice made on top of the raw data (dtypes, dropped columns, ...)


DATASETS: dict[str, DatasetSpec] = {}

# Columns removed because they leak the target (or are row identifiers). Applied by
# load_dataset() after the loader, so every such choice is listed here and nowhere else.
DROPPED_COLUMNS: dict[str, dict[str, str]] = {
    "wage": {"logwage": "log(wage): the target itself"},
    "bikeshare": {
        "casual": "casual + registered == bikers (target)",
        "registered": "casual + registered == bikers (target)",
    },
    "brain_cancer": {
        "time": "follow-up time is only known with the outcome (survival data: status is "
                "the event indicator at the end of follow-up)",
    },
    "credit_na": {"ID": "row identifier"},
}


def dataset(name: str, *, target: str, task: str, source: str, notes: str):
    """Register a loader returning the raw DataFrame (target column included)."""

    def register(loader: Callable[[], pd.DataFrame]) -> Callable[[], pd.DataFrame]:
        DATASETS[name] = DatasetSpec(name, loader, target, task, source, notes)
        return loader

    return register


def _islp_csv(name: str) -> pd.DataFrame:
    # find_spec locates the installed package without executing ISLP/__init__.py (torch).
    spec = importlib.util.find_spec("ISLP")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ISLP is not installed: pip install ISLP --no-deps")
    return pd.read_csv(Path(spec.submodule_search_locations[0]) / "data" / f"{name}.csv")


def _yes_no_to_bool(s: pd.Series) -> pd.Series:
    return s.map({"Yes": True, "No": False}).astype(bool)


def _inject_missing(df: pd.DataFrame, columns: list[str], frac: float, seed: int) -> pd.DataFrame:
    """Blank out `frac` of the cells of each column, completely at random (seeded)."""
    rng = np.random.default_rng(seed)
    df = df.copy()
    for col in columns:
        mask = rng.random(len(df)) < frac
        df[col] = df[col].mask(mask)
    return df


@dataset("default", target="default", task=BINARY, source="ISLP Default.csv",
         notes="`student` kept as a string column (Yes/No); target is a Yes/No string, ~3% Yes.")
def load_default() -> pd.DataFrame:
    return _islp_csv("Default")


@dataset("oj", target="Purchase", task=BINARY, source="ISLP OJ.csv",
         notes="Target CH/MM string. `Store7` Yes/No -> bool. StoreID/STORE kept as integers "
               "(as shipped); several price columns are deterministic functions of others.")
def load_oj() -> pd.DataFrame:
    df = _islp_csv("OJ")
    df["Store7"] = _yes_no_to_bool(df["Store7"])
    return df


@dataset("caravan", target="Purchase", task=BINARY, source="ISLP Caravan.csv",
         notes="85 integer-coded socio-demographic/product columns kept as shipped; target "
               "Yes/No string, ~6% Yes (imbalanced).")
def load_caravan() -> pd.DataFrame:
    return _islp_csv("Caravan")


@dataset("brain_cancer", target="status", task=BINARY, source="ISLP BrainCancer.csv",
         notes="Tiny (88 rows). Target is the 0/1 integer event indicator. Categorical columns "
               "as category (as ISLP.load_data does); `diagnosis` has 1 real missing value.")
def load_brain_cancer() -> pd.DataFrame:
    df = _islp_csv("BrainCancer")
    for col in ("sex", "diagnosis", "loc", "stereo"):
        df[col] = df[col].astype("category")
    return df


@dataset("wine", target="cultivar", task=MULTICLASS, source="sklearn load_wine",
         notes="13 numeric columns; target mapped to its string class names (class_0..class_2).")
def load_wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine as sk_load_wine

    bunch = sk_load_wine(as_frame=True)
    df = bunch.frame.rename(columns={"target": "cultivar"})
    df["cultivar"] = df["cultivar"].map(dict(enumerate(bunch.target_names))).astype(str)
    return df


_ANES_PID = ["Strong Democrat", "Weak Democrat", "Independent-Democrat",
             "Independent-Independent", "Independent-Republican", "Weak Republican",
             "Strong Republican"]
_ANES_EDUC = ["1-8 grades", "Some high school", "High school graduate", "Some college",
              "College degree", "Master's degree", "PhD"]


@dataset("anes96", target="PID", task=MULTICLASS, source="statsmodels.datasets.anes96",
         notes="7-class party identification, string labels from the codebook. `educ` -> ordered "
               "category (codebook labels), `vote` -> category Clinton/Dole; income code (1-24) "
               "and the 1-7 left-right scales kept numeric; logpopul kept (log of popul).")
def load_anes96() -> pd.DataFrame:
    from statsmodels.datasets import anes96

    df = anes96.load_pandas().data.copy()
    df["PID"] = df["PID"].astype(int).map(dict(enumerate(_ANES_PID)))
    df["educ"] = pd.Categorical(df["educ"].astype(int).map(dict(enumerate(_ANES_EDUC, 1))),
                                categories=_ANES_EDUC, ordered=True)
    df["vote"] = df["vote"].astype(int).map({0: "Clinton", 1: "Dole"}).astype("category")
    return df


@dataset("digits", target="digit", task=MULTICLASS, source="sklearn load_digits",
         notes="8x8 images as 64 numeric columns, 10 integer classes (not tabular-mixed; "
               "checks the many-class path).")
def load_digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits as sk_load_digits

    return sk_load_digits(as_frame=True).frame.rename(columns={"target": "digit"})


@dataset("wage", target="wage", task=REGRESSION, source="ISLP Wage.csv",
         notes="String columns -> category as ISLP.load_data does (`education` ordered).")
def load_wage() -> pd.DataFrame:
    df = _islp_csv("Wage")
    for col in ("maritl", "race", "region", "jobclass", "health", "health_ins"):
        df[col] = df[col].astype("category")
    df["education"] = pd.Categorical(df["education"], ordered=True)
    return df


_MONTHS = ["Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov",
           "Dec"]


@dataset("bikeshare", target="bikers", task=REGRESSION, source="ISLP Bikeshare.csv",
         notes="Hourly counts. As ISLP.load_data: `mnth`, `weathersit`, `hr` -> category; "
               "other integer codes (season, weekday, ...) kept numeric.")
def load_bikeshare() -> pd.DataFrame:
    df = _islp_csv("Bikeshare")
    df["mnth"] = pd.Categorical(df["mnth"], categories=_MONTHS)
    df["weathersit"] = df["weathersit"].astype("category")
    df["hr"] = pd.Categorical(df["hr"], categories=range(24))
    return df


@dataset("hitters", target="Salary", task=REGRESSION, source="ISLP Hitters.csv",
         notes="59 rows with missing Salary (the target) dropped -> 263 rows. Raw Salary "
               "(thousands of dollars, skewed), not log. League/Division/NewLeague category.")
def load_hitters() -> pd.DataFrame:
    df = _islp_csv("Hitters")
    for col in ("League", "Division", "NewLeague"):
        df[col] = df[col].astype("category")
    return df


@dataset("auto", target="mpg", task=REGRESSION, source="ISLP Auto.csv",
         notes="`name` kept as a free-text string column (e.g. 'chevrolet chevelle malibu'; "
               "301 distinct values, the make is the informative token) - the only real "
               "free-text column found offline. `origin` 1/2/3 -> category "
               "American/European/Japanese.")
def load_auto() -> pd.DataFrame:
    df = _islp_csv("Auto")
    df["origin"] = df["origin"].map({1: "American", 2: "European", 3: "Japanese"}).astype(
        "category")
    return df


@dataset("carseats", target="Sales", task=REGRESSION, source="ISLP Carseats.csv",
         notes="`ShelveLoc` -> ordered category Bad<Medium<Good; `Urban`, `US` Yes/No -> bool.")
def load_carseats() -> pd.DataFrame:
    df = _islp_csv("Carseats")
    df["ShelveLoc"] = pd.Categorical(df["ShelveLoc"], categories=["Bad", "Medium", "Good"],
                                     ordered=True)
    df["Urban"] = _yes_no_to_bool(df["Urban"])
    df["US"] = _yes_no_to_bool(df["US"])
    return df


@dataset("college", target="Apps", task=REGRESSION, source="ISLP College.csv",
         notes="ISLR exercise 6.9 (number of applications); heavy-tailed target. `Private` "
               "kept as a Yes/No string.")
def load_college() -> pd.DataFrame:
    return _islp_csv("College")


_CREDIT_NA_COLUMNS = ["Income", "Limit", "Age", "Ethnicity", "Married"]


@dataset("credit_na", target="Balance", task=REGRESSION, source="ISLP Credit.csv",
         notes="SYNTHETIC MISSINGNESS on real data: no offline mixed-type dataset has many "
               "missing feature values, so 10% of the cells of Income, Limit, Age (numeric), "
               "Ethnicity (string) and Married (nullable boolean) are blanked completely at "
               "random (seed 0). `Student` Yes/No -> bool; `Married` -> pandas 'boolean'.")
def load_credit_na() -> pd.DataFrame:
    df = _islp_csv("Credit")
    df["Student"] = _yes_no_to_bool(df["Student"])
    df["Married"] = _yes_no_to_bool(df["Married"]).astype("boolean")
    return _inject_missing(df, _CREDIT_NA_COLUMNS, frac=0.10, seed=SEED)


def load_dataset(spec: DatasetSpec) -> pd.DataFrame:
    df = spec.loader()
    df = df.drop(columns=list(DROPPED_COLUMNS.get(spec.name, {})))
    df = df[df[spec.target].notna()]
    if len(df) > MAX_ROWS:
        df = df.sample(n=MAX_ROWS, random_state=SEED)
    return df


def describe_dataset(spec: DatasetSpec, df: pd.DataFrame) -> dict:
    X = df.drop(columns=[spec.target])
    kinds = column_kinds(X)
    n_bool = sum(pd.api.types.is_bool_dtype(X[c]) for c in X.columns)
    return {
        "rows": len(df),
        "features": X.shape[1],
        "numeric": len(kinds["numeric"]),
        "categorical": len(kinds["categorical"]) - n_bool,
        "bool": n_bool,
        "text": len(kinds["text"]),
        "missing_cells": int(X.isna().sum().sum()),
        "classes": df[spec.target].nunique() if spec.task in CLASSIFICATION else None,
    }


# --------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------

def make_splits(df: pd.DataFrame, target: str, task: str, n_folds: int,
                n_repeats: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Positional (train, test) index pairs. Train indices are shuffled (seeded) so that
    Keras' validation_split (which takes the *last* rows) sees a random sample."""
    y = df[target].to_numpy()
    stratify = task in CLASSIFICATION
    positions = np.arange(len(df))
    if len(df) < SMALL_DATASET_ROWS:
        cv_cls = StratifiedKFold if stratify else KFold
        cv = cv_cls(n_splits=n_folds, shuffle=True, random_state=SEED)
        splits = list(cv.split(positions, y))
    else:
        splits = [
            tuple(train_test_split(positions, test_size=TEST_SIZE, random_state=SEED + r,
                                   stratify=y if stratify else None))
            for r in range(n_repeats)
        ]
    rng = np.random.default_rng(SEED)
    return [(rng.permutation(train), np.sort(test)) for train, test in splits]


# --------------------------------------------------------------------------------------
# Shared preprocessing for the baselines
# --------------------------------------------------------------------------------------

def _is_text_like(s: pd.Series) -> bool:
    """A string column with many distinct values is free text (e.g. Auto `name`)."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return False
    if isinstance(s.dtype, pd.CategoricalDtype):
        return False
    nonnull = s.dropna()
    n_unique = nonnull.nunique()
    return n_unique >= 20 and n_unique >= 0.5 * len(nonnull)


def column_kinds(X: pd.DataFrame) -> dict[str, list[str]]:
    """Split feature columns into numeric / categorical (incl. bool) / text."""
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "text": []}
    for col in X.columns:
        s = X[col]
        if pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            kinds["categorical"].append(col)
        elif pd.api.types.is_numeric_dtype(s):
            kinds["numeric"].append(col)
        elif _is_text_like(s):
            kinds["text"].append(col)
        else:
            kinds["categorical"].append(col)
    return kinds


def _as_str_objects(X: pd.DataFrame) -> np.ndarray:
    """Categorical values as str objects, missing as np.nan (SimpleImputer/OneHotEncoder
    choke on pd.NA and on mixed bool/str values)."""
    return pd.DataFrame(X).astype(object).map(
        lambda v: np.nan if pd.isna(v) else str(v)).to_numpy(dtype=object)


def _fill_text(s: pd.Series) -> np.ndarray:
    return np.array(["" if pd.isna(v) else str(v) for v in s], dtype=object)


def make_onehot_preprocessor(X: pd.DataFrame) -> ColumnTransformer:
    """What a user writes for a neural net: impute, standardise numericals, one-hot
    categoricals, TF-IDF (top 200 word tokens, min_df=2) for free-text columns. Dense output."""
    kinds = column_kinds(X)
    transformers = [
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         kinds["numeric"]),
        ("cat", make_pipeline(FunctionTransformer(_as_str_objects),
                              SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")),
         kinds["categorical"]),
    ]
    for col in kinds["text"]:  # a scalar column name hands TfidfVectorizer a 1-D Series
        transformers.append((f"text_{col}", make_pipeline(
            FunctionTransformer(_fill_text),
            TfidfVectorizer(max_features=200, min_df=2)), col))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def to_categories(X: pd.DataFrame, categories: dict[str, list]) -> pd.DataFrame:
    """Cast the given columns to category dtype with the categories learned at fit time."""
    X = X.copy()
    for col, cats in categories.items():
        values = X[col].astype(object).where(X[col].notna(), None)
        X[col] = pd.Categorical(values, categories=cats)
    return X


# --------------------------------------------------------------------------------------
# Models: each runner is fit(train_df, target, task) -> object with predict/predict_proba
# --------------------------------------------------------------------------------------

class ModelUnavailable(Exception):
    pass


@dataclass
class SklearnModel:
    """A fitted sklearn estimator plus the frame preparation it needs at predict time."""

    estimator: object
    prepare: Callable[[pd.DataFrame], object]

    def predict(self, df: pd.DataFrame) -> pd.Series:
        return pd.Series(self.estimator.predict(self.prepare(df)), index=df.index)

    def predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.estimator.predict_proba(self.prepare(df)), index=df.index,
                            columns=self.estimator.classes_)


def fit_hgb(train: pd.DataFrame, target: str, task: str) -> SklearnModel:
    """HistGradientBoosting with native categorical support, defaults otherwise. String /
    bool columns become category (categories learned on train); free text is dropped (HGB
    has no text support and high cardinality exceeds its 255-bin limit)."""
    X, y = train.drop(columns=[target]), train[target]
    kinds = column_kinds(X)
    features = kinds["numeric"] + kinds["categorical"]
    categories = {c: sorted(X[c].dropna().unique().tolist(), key=str)
                  for c in kinds["categorical"]}

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        return to_categories(df[features], categories)

    cls = HistGradientBoostingRegressor if task == REGRESSION else HistGradientBoostingClassifier
    est = cls(categorical_features="from_dtype", random_state=SEED)
    est.fit(prepare(X), y)
    return SklearnModel(est, prepare)


def fit_sklearn_mlp(train: pd.DataFrame, target: str, task: str) -> SklearnModel:
    X, y = train.drop(columns=[target]), train[target]
    if task == REGRESSION:
        # Standardised target, as for the Keras MLP: with raw targets in the hundreds or
        # thousands (Hitters Salary, College Apps) the default MLPRegressor stops long before
        # converging and scores R^2 < 0, which would make it a straw man.
        head = TransformedTargetRegressor(MLPRegressor(random_state=SEED, early_stopping=True),
                                          transformer=StandardScaler())
    else:
        head = MLPClassifier(random_state=SEED, early_stopping=True)
    est = make_pipeline(make_onehot_preprocessor(X), head)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        est.fit(X, y)
    return SklearnModel(est, lambda df: df[X.columns])


@dataclass
class KerasMLPModel:
    preprocessor: ColumnTransformer
    columns: list[str]
    net: object
    task: str
    classes: np.ndarray | None = None
    y_mean: float = 0.0
    y_std: float = 1.0

    def _raw(self, df: pd.DataFrame) -> np.ndarray:
        X = self.preprocessor.transform(df[self.columns]).astype(np.float32)
        # Eager call, not net.predict(): predict() re-traces a tf.function per fitted model.
        return np.asarray(self.net(X, training=False))

    def predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
        out = self._raw(df)
        if self.task == BINARY:
            out = np.column_stack([1.0 - out[:, 0], out[:, 0]])
        return pd.DataFrame(out, index=df.index, columns=self.classes)

    def predict(self, df: pd.DataFrame) -> pd.Series:
        if self.task == REGRESSION:
            return pd.Series(self._raw(df)[:, 0] * self.y_std + self.y_mean, index=df.index)
        proba = self.predict_proba(df)
        return pd.Series(self.classes[proba.to_numpy().argmax(axis=1)], index=df.index)


def fit_keras_mlp(train: pd.DataFrame, target: str, task: str) -> KerasMLPModel:
    """The Keras MLP a user writes without the library: one-hot + standardise, 2x64 ReLU,
    Adam, early stopping on a 20% validation split, batch 128, up to 200 epochs."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    X, y = train.drop(columns=[target]), train[target]
    prep = make_onehot_preprocessor(X)
    Xt = prep.fit_transform(X).astype(np.float32)
    model = KerasMLPModel(prep, list(X.columns), None, task)
    if task == REGRESSION:
        # A competent user standardises the regression target (and un-scales predictions).
        model.y_mean, model.y_std = float(y.mean()), float(y.std()) or 1.0
        yt = ((y.to_numpy(dtype=float) - model.y_mean) / model.y_std).astype(np.float32)
        head, loss = keras.layers.Dense(1), "mse"
    else:
        enc = LabelEncoder().fit(y)
        model.classes = enc.classes_
        yt = enc.transform(y)
        if task == BINARY:
            head, loss = keras.layers.Dense(1, activation="sigmoid"), "binary_crossentropy"
        else:
            head = keras.layers.Dense(len(enc.classes_), activation="softmax")
            loss = "sparse_categorical_crossentropy"
    net = keras.Sequential([
        keras.Input(shape=(Xt.shape[1],)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        head,
    ])
    net.compile(optimizer=keras.optimizers.Adam(), loss=loss)
    net.fit(Xt, yt, epochs=200, batch_size=128, validation_split=0.2, verbose=0,
            callbacks=[keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)])
    model.net = net
    return model


def fit_automater(train: pd.DataFrame, target: str, task: str):
    """The library under test, defaults only. The task is inferred by the library."""
    from keras_defaults import Automater

    model = Automater(target=target, seed=SEED, verbose=0)
    model.fit(train)  # not relying on fit() returning self
    return model


def _check_automater() -> None:
    try:
        from keras_defaults import Automater  # noqa: F401
    except Exception as exc:  # library not ready yet, or broken import
        raise ModelUnavailable(f"cannot import keras_defaults.Automater: "
                               f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class ModelSpec:
    name: str
    fit: Callable[[pd.DataFrame, str, str], object]
    description: str
    check: Callable[[], None] = lambda: None


MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("automater", fit_automater,
              "`keras_defaults.Automater(target=t, seed=0, verbose=0).fit(train_df)`, nothing "
              "else; predict() for labels/values, predict_proba() for probabilities",
              _check_automater),
    ModelSpec("hgb", fit_hgb,
              "HistGradientBoostingClassifier/Regressor, defaults, random_state=0, "
              "categorical_features='from_dtype' (string/bool columns cast to category with the "
              "training categories); free-text columns dropped"),
    ModelSpec("sklearn_mlp", fit_sklearn_mlp,
              "MLPClassifier/MLPRegressor (defaults, random_state=0, early_stopping=True) behind "
              "the one-hot ColumnTransformer below; regression target standardised "
              "(TransformedTargetRegressor + StandardScaler)"),
    ModelSpec("keras_mlp", fit_keras_mlp,
              "hand-written Keras MLP on the same one-hot ColumnTransformer output (dense "
              "float32): Dense 64 ReLU x 2, sigmoid/softmax/linear head, Adam, batch 128, up to "
              "200 epochs, EarlyStopping(patience=10, restore_best_weights) on validation_split "
              "0.2; regression target standardised"),
]}
REFERENCE_MODEL = "hgb"


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------

@dataclass
class FoldResult:
    dataset: str
    task: str
    model: str
    fold: int
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    contract: list[str] = field(default_factory=list)  # deviations from the predict API


def _align_proba(proba, index: pd.Index, classes: np.ndarray, issues: list[str]) -> np.ndarray:
    """Probabilities as an array with columns in `classes` order; API deviations noted."""
    if not isinstance(proba, pd.DataFrame):
        issues.append(f"predict_proba returned {type(proba).__name__}, not DataFrame")
        proba = pd.DataFrame(np.asarray(proba), index=index, columns=classes[: np.shape(proba)[1]])
    if not proba.index.equals(index):
        issues.append("predict_proba index differs from the input index")
    cols = list(proba.columns)
    labels = classes.tolist()  # plain Python values for readable messages
    if set(cols) != set(classes):
        as_str = {str(c): c for c in cols}
        if set(as_str) >= {str(c) for c in classes}:
            issues.append(f"predict_proba columns {cols[:5]} are not the class labels "
                          f"{labels[:5]} (matched via str)")
            proba = proba.rename(columns={c: k for k in classes for c in cols if str(c) == str(k)})
        else:
            issues.append(f"predict_proba columns {cols[:5]} do not cover the class labels "
                          f"{labels[:5]}")
    arr = proba.reindex(columns=classes).to_numpy(dtype=float)
    arr = np.nan_to_num(arr, nan=0.0)
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-3):
        issues.append("predict_proba rows do not sum to 1")
    return arr


def _check_predict(pred, index: pd.Index, issues: list[str]) -> np.ndarray:
    if not isinstance(pred, pd.Series):
        issues.append(f"predict returned {type(pred).__name__}, not Series")
    elif not pred.index.equals(index):
        issues.append("predict index differs from the input index")
    return np.asarray(pred)


def score(task: str, y_true: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
          classes: np.ndarray | None) -> dict[str, float]:
    if task == REGRESSION:
        pred = pred.astype(float)
        return {"r2": r2_score(y_true, pred), "rmse": root_mean_squared_error(y_true, pred)}
    out = {"accuracy": accuracy_score(y_true, pred)}
    if task == BINARY:
        out["roc_auc"] = roc_auc_score(y_true == classes[1], proba[:, 1])
    else:
        p = np.clip(proba, 1e-15, 1.0)
        out["log_loss"] = log_loss(y_true, p / p.sum(axis=1, keepdims=True), labels=classes)
    return out


def evaluate_fold(model: ModelSpec, spec: DatasetSpec, df: pd.DataFrame, train_idx, test_idx,
                  fold: int) -> FoldResult:
    result = FoldResult(spec.name, spec.task, model.name, fold)
    train, test = df.iloc[train_idx], df.iloc[test_idx]
    X_test, y_test = test.drop(columns=[spec.target]), test[spec.target].to_numpy()
    classes = np.unique(df[spec.target].to_numpy()) if spec.task in CLASSIFICATION else None
    try:
        t0 = time.perf_counter()
        fitted = model.fit(train, spec.target, spec.task)
        t1 = time.perf_counter()
        pred = _check_predict(fitted.predict(X_test), X_test.index, result.contract)
        proba = None
        if spec.task in CLASSIFICATION:
            proba = _align_proba(fitted.predict_proba(X_test), X_test.index, classes,
                                 result.contract)
            unknown = set(pd.unique(pred)) - set(classes)
            if unknown:
                result.contract.append(f"predict returned labels not in the data: "
                                       f"{sorted(map(str, unknown))[:5]}")
        t2 = time.perf_counter()
        result.metrics = score(spec.task, y_test, pred, proba, classes)
        result.metrics.update(fit_s=t1 - t0, predict_s=t2 - t1)
    except Exception as exc:  # one failing model/fold must not stop the benchmark
        result.error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    return result


# --------------------------------------------------------------------------------------
# Aggregation and report
# --------------------------------------------------------------------------------------

def aggregate(results: list[FoldResult]) -> pd.DataFrame:
    """One row per dataset x model x metric with mean/std over successful folds."""
    rows = []
    for r in results:
        for metric, value in r.metrics.items():
            rows.append({"dataset": r.dataset, "task": r.task, "model": r.model,
                         "metric": metric, "value": value})
    if not rows:
        return pd.DataFrame(columns=["dataset", "task", "model", "metric", "mean", "std",
                                     "n_folds", "n_failed"])
    long = pd.DataFrame(rows)
    agg = (long.groupby(["dataset", "task", "model", "metric"], sort=False)["value"]
           .agg(mean="mean", std=lambda v: v.std(ddof=0), n_folds="count").reset_index())
    failed = pd.Series([(r.dataset, r.model) for r in results if r.error]).value_counts()
    agg["n_failed"] = [int(failed.get((d, m), 0)) for d, m in zip(agg.dataset, agg.model)]
    return agg


def primary_table(agg: pd.DataFrame, specs: list[DatasetSpec], models: list[str]) -> pd.DataFrame:
    """Dataset x model table of the primary metric mean (NaN where a model failed)."""
    table = pd.DataFrame(index=[s.name for s in specs], columns=models, dtype=float)
    for s in specs:
        rows = agg[(agg.dataset == s.name) & (agg.metric == METRICS[s.task][0])]
        for _, row in rows.iterrows():
            table.loc[s.name, row.model] = row["mean"]
    return table


def summarize(agg: pd.DataFrame, results: list[FoldResult], specs: list[DatasetSpec],
              models: list[str]) -> pd.DataFrame:
    prim = primary_table(agg, specs, models)
    # Higher is better for every primary metric (AUC, accuracy, R^2). A model without a
    # result on a dataset (failed) gets the worst rank there.
    ranks = prim.rank(axis=1, ascending=False, method="average", na_option="bottom")
    summary = pd.DataFrame(index=models)
    summary["mean_rank"] = ranks.mean()
    summary["datasets_ok"] = prim.notna().sum()
    if REFERENCE_MODEL in models:
        ref = prim[REFERENCE_MODEL]
        ratio = prim.div(ref.where(ref > 0), axis=0)  # R^2 <= 0 for the reference: skipped
        summary[f"primary_vs_{REFERENCE_MODEL}"] = ratio.mean()
    for metric in TIME_METRICS:
        summary[f"total_{metric}"] = [
            sum(r.metrics.get(metric, 0.0) for r in results if r.model == m) for m in models]
    return summary


def _fmt(mean: float, std: float | None = None, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "—"
    if abs(mean) >= 1000:
        text = f"{mean:,.0f}"
    else:
        text = f"{mean:.{digits}f}"
    if std is not None and not np.isnan(std):
        text += f" ± {std:,.0f}" if abs(std) >= 1000 else f" ± {std:.{digits}f}"
    return text


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def environment_info() -> dict[str, str]:
    def version(pkg: str) -> str:
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {affinity} usable cores (nproc), "
                   f"{platform.system()} {platform.release()}",
        "load average (1 min) at report time": f"{os.getloadavg()[0]:.2f}",
        "python": platform.python_version(),
    }
    for pkg in ("keras_defaults", "keras", "tensorflow", "scikit-learn", "pandas", "numpy",
                "statsmodels", "ISLP"):
        info[pkg] = version(pkg)
    if info["keras_defaults"] == "not installed" and (REPO_ROOT / "keras_defaults").is_dir():
        info["keras_defaults"] = f"source tree {REPO_ROOT / 'keras_defaults'}"
    return info


def write_report(out_dir: Path, specs: list[DatasetSpec], descriptions: dict[str, dict],
                 split_desc: dict[str, str], models: list[str], skipped: dict[str, str],
                 results: list[FoldResult], wall_s: float, argv: list[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    agg = aggregate(results)
    agg.to_csv(out_dir / "quality.csv", index=False)
    pd.DataFrame([{"dataset": r.dataset, "task": r.task, "model": r.model, "fold": r.fold,
                   **r.metrics, "error": r.error or ""} for r in results]).to_csv(
        out_dir / "quality_folds.csv", index=False)

    env = environment_info()
    md = ["# keras_defaults quality benchmark", ""]
    md.append("Command: `" + " ".join(["python", "benchmarks/quality.py", *map(shlex.quote, argv)])
              + "`")
    md.append("")
    md += [f"- **{k}**: {v}" for k, v in env.items()]
    md.append(f"- **wall time of the whole run**: {wall_s:,.0f} s ({wall_s / 60:.1f} min)")
    md.append("")
    md.append(f"Protocol: datasets under {SMALL_DATASET_ROWS:,} rows use seeded k-fold CV "
              "(StratifiedKFold for classification, KFold for regression, seed 0); larger ones "
              f"(capped at {MAX_ROWS:,} rows by a seeded subsample) seeded 80/20 split(s); "
              "the split of each dataset is given with its table. All models see the same "
              "splits; models are fit on the training frame (target column included) and "
              "predict on the test frame without the target. Metrics are "
              "mean ± std over folds. Primary metric: ROC-AUC (binary), accuracy "
              "(multiclass), R² (regression).")
    md.append("")
    if skipped:
        md.append("Skipped models:")
        md += [f"- `{m}`: {why}" for m, why in skipped.items()]
        md.append("")

    summary = summarize(agg, results, specs, models)
    md += ["## Summary", ""]
    ratio_col = f"primary_vs_{REFERENCE_MODEL}"
    header = ["model", "mean rank (1 = best)", "datasets without failure"]
    if ratio_col in summary:
        header.append(f"primary / {REFERENCE_MODEL} (mean ratio)")
    header += ["total fit s", "total predict s"]
    rows = []
    for m in models:
        s = summary.loc[m]
        row = [f"`{m}`", _fmt(s.mean_rank, digits=2), f"{int(s.datasets_ok)}/{len(specs)}"]
        if ratio_col in summary:
            row.append(_fmt(s[ratio_col]))
        row += [_fmt(s.total_fit_s, digits=1), _fmt(s.total_predict_s, digits=1)]
        rows.append(row)
    md.append(_markdown_table(header, rows))
    md.append("")
    md.append(f"Total time: {wall_s:,.0f} s wall clock for the whole run "
              f"(fit + predict per model above; the rest is data loading and bookkeeping).")
    md.append("")
    md.append("Ranks are on the primary metric per dataset (ties averaged; a model with no "
              "result on a dataset is ranked last there). The ratio divides each model's "
              "primary score by HistGradientBoosting's on the same dataset and averages over "
              "datasets (datasets where the reference R² ≤ 0 are left out).")
    md.append("")

    prim = primary_table(agg, specs, models)
    md += ["### Primary metric per dataset", ""]
    md.append(_markdown_table(
        ["dataset", "task", "metric", *[f"`{m}`" for m in models]],
        [[s.name, s.task, METRICS[s.task][0],
          *[f"**{_fmt(v)}**" if not np.isnan(v) and v == prim.loc[s.name].max() else _fmt(v)
            for v in prim.loc[s.name]]] for s in specs]))
    md.append("")

    md += ["### Time per dataset (fit + predict, summed over folds, seconds)", ""]
    seconds = {(r.dataset, r.model): 0.0 for r in results}
    for r in results:
        seconds[r.dataset, r.model] += sum(r.metrics.get(k, 0.0) for k in TIME_METRICS)
    md.append(_markdown_table(
        ["dataset", "split", *[f"`{m}`" for m in models]],
        [[s.name, split_desc[s.name], *[_fmt(seconds.get((s.name, m), np.nan), digits=1)
                                        for m in models]] for s in specs]
        + [["**total**", "", *[_fmt(sum(v for (d, m2), v in seconds.items() if m2 == m),
                                    digits=1) for m in models]]]))
    md.append("")

    md += ["## Per dataset", ""]
    for s in specs:
        d = descriptions[s.name]
        md.append(f"### {s.name} — {s.task}, target `{s.target}`")
        md.append("")
        md.append(f"{d['rows']:,} rows, {d['features']} features ({d['numeric']} numeric, "
                  f"{d['categorical']} categorical, {d['bool']} bool, {d['text']} text), "
                  f"{d['missing_cells']} missing feature cells"
                  + (f", {d['classes']} classes" if d["classes"] else "")
                  + f". Split: {split_desc[s.name]}. Source: {s.source}.")
        md.append("")
        metrics = [*METRICS[s.task], *TIME_METRICS]
        rows = []
        for m in models:
            sub = agg[(agg.dataset == s.name) & (agg.model == m)].set_index("metric")
            n_err = sum(1 for r in results if r.dataset == s.name and r.model == m and r.error)
            cells = [_fmt(sub.loc[k, "mean"], sub.loc[k, "std"]) if k in sub.index else "—"
                     for k in metrics]
            rows.append([f"`{m}`" + (f" ({n_err} failed)" if n_err else ""), *cells])
        md.append(_markdown_table(["model", *metrics], rows))
        md.append("")

    md += ["## Datasets", ""]
    md.append(_markdown_table(
        ["dataset", "source", "task", "target", "rows", "features", "missing cells", "notes"],
        [[s.name, s.source, s.task, f"`{s.target}`", f"{descriptions[s.name]['rows']:,}",
          str(descriptions[s.name]["features"]), str(descriptions[s.name]["missing_cells"]),
          s.notes + "".join(f" Dropped `{c}`: {why}." for c, why in
                            DROPPED_COLUMNS.get(s.name, {}).items())]
         for s in specs]))
    md.append("")
    md += ["## Models", ""]
    md += [f"- `{m}`: {MODELS[m].description}." for m in models]
    md.append("- One-hot ColumnTransformer (both MLPs): numeric -> median imputation + "
              "StandardScaler; categorical (category, bool, low-cardinality string) -> "
              "most-frequent imputation + OneHotEncoder(handle_unknown='ignore').")
    md.append("- Free-text columns (string columns with ≥ 20 distinct values making up ≥ half "
              "the rows; in this registry only Auto `name`): TF-IDF for the two MLP "
              "baselines, dropped for HistGradientBoosting. The Automater gets the raw "
              "DataFrame.")
    md.append("")

    errors = [r for r in results if r.error]
    contract = sorted({(r.model, r.dataset, msg) for r in results for msg in r.contract})
    if errors or contract:
        md += ["## Failures and API deviations", ""]
        md += [f"- `{r.model}` on `{r.dataset}` fold {r.fold}: {r.error}" for r in errors]
        md += [f"- `{m}` on `{d}`: {msg}" for m, d, msg in contract]
        md.append("")
    (out_dir / "quality.md").write_text("\n".join(md))


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------

def _parse_list(value: str | None, registry: dict, what: str) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} "
                         f"(choose from {', '.join(registry)})")
    return names


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {', '.join(QUICK_DATASETS)} with {QUICK_FOLDS} folds")
    parser.add_argument("--models", help=f"comma list from: {', '.join(MODELS)}")
    parser.add_argument("--datasets", help=f"comma list from: {', '.join(DATASETS)}")
    parser.add_argument("--folds", type=int, help=f"folds for small datasets "
                                                  f"(default {N_FOLDS}, --quick {QUICK_FOLDS})")
    parser.add_argument("--repeats", type=int, default=N_REPEATS_LARGE,
                        help="seeded 80/20 splits for datasets with >= 2,000 rows")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    parser.add_argument("--list", action="store_true", help="list datasets and models, exit")
    args = parser.parse_args(argv)

    if args.list:
        for s in DATASETS.values():
            print(f"{s.name:14s} {s.task:10s} target={s.target:10s} {s.source}")
        for m in MODELS.values():
            print(f"{m.name:14s} {m.description}")
        return 0

    dataset_names = _parse_list(args.datasets, DATASETS, "datasets") or (
        list(QUICK_DATASETS) if args.quick else list(DATASETS))
    model_names = _parse_list(args.models, MODELS, "models") or list(MODELS)
    n_folds = args.folds or (QUICK_FOLDS if args.quick else N_FOLDS)

    skipped: dict[str, str] = {}
    for name in list(model_names):
        try:
            MODELS[name].check()
        except ModelUnavailable as exc:
            print(f"SKIPPING model {name}: {exc}", file=sys.stderr)
            skipped[name] = str(exc)
            model_names.remove(name)
    if not model_names:
        print("no model left to run", file=sys.stderr)
        return 1

    start = time.perf_counter()
    specs, descriptions, split_desc, results = [], {}, {}, []
    for name in dataset_names:
        spec = DATASETS[name]
        df = load_dataset(spec)
        splits = make_splits(df, spec.target, spec.task, n_folds, args.repeats)
        specs.append(spec)
        descriptions[name] = describe_dataset(spec, df)
        split_desc[name] = (f"{len(splits)}-fold CV" if len(df) < SMALL_DATASET_ROWS
                            else f"{len(splits)} x seeded 80/20")
        print(f"[{name}] {len(df)} rows x {df.shape[1] - 1} features, {spec.task}, "
              f"{split_desc[name]}", flush=True)
        for model_name in model_names:
            t0 = time.perf_counter()
            fold_results = [evaluate_fold(MODELS[model_name], spec, df, tr, te, i)
                            for i, (tr, te) in enumerate(splits)]
            results += fold_results
            primary = METRICS[spec.task][0]
            values = [r.metrics[primary] for r in fold_results if not r.error]
            n_err = sum(bool(r.error) for r in fold_results)
            mean = np.mean(values) if values else float("nan")
            print(f"    {model_name:12s} {primary}={mean:.4f}  {time.perf_counter() - t0:6.1f} s"
                  + (f"  ({n_err} failed)" if n_err else ""), flush=True)
    wall_s = time.perf_counter() - start
    write_report(args.out, specs, descriptions, split_desc, model_names, skipped, results,
                 wall_s, argv)
    print(f"done in {wall_s:.0f} s -> {args.out / 'quality.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
