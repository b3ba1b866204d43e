"""The models the quality benchmark compares: the Automater with its defaults and the baselines a user could
write without the library. Every model gets the same information: the training frame with the target column,
the registry's list of free-text columns, and nothing else.

Preprocessing shared by the baselines (the Automater gets the raw frame):

* dates: datetime64 columns and string columns of ISO-8601 dates ('2017-03-01', '2017-03-01T06:00:00') become
  year, month, day, day of week, day of year, hour and minute (only the parts that vary in the training frame) plus
  the continuous timestamp (days since 1970-01-01);
* free text (the registry's text columns, plus any string column with >= 20 distinct values making up >= half of
  the rows): TF-IDF over at most 20,000 terms with sublinear tf for the MLPs; the same TF-IDF followed by a
  TruncatedSVD to 64 components for the trees;
* categoricals (category, bool, and the other string columns): native categories for the trees (at most 254 most
  frequent levels for HistGradientBoosting, whose bins stop at 255, the rest merged into one level); most-frequent
  imputation and one-hot for the MLPs;
* numbers: as they are for the trees; median imputation and standardisation for the MLPs.

Each model has a version string: bump it when its code changes, so that cached results are recomputed.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, OneHotEncoder, StandardScaler

from datasets import BINARY, REGRESSION, SEED

REPO_ROOT = Path(__file__).resolve().parents[1]
TFIDF_MAX_FEATURES = 20_000
SVD_COMPONENTS = 64
HGB_MAX_LEVELS = 254
PREPROCESSING_VERSION = "prep-3"  # bump when the shared preprocessing changes

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


# ------------------------------------------------------------------------------------------------------------
# Column kinds
# ------------------------------------------------------------------------------------------------------------

def _is_stringish(s: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)) and not isinstance(
        s.dtype, pd.CategoricalDtype)


def is_iso_date_column(s: pd.Series) -> bool:
    """A string column whose non-missing values (a sample of 200) all look like ISO-8601 dates."""
    if not _is_stringish(s):
        return False
    sample = s.dropna()
    if sample.empty:
        return False
    sample = sample.sample(n=min(200, len(sample)), random_state=0).astype(str)
    return bool(sample.map(lambda v: bool(_ISO_DATE.match(v))).all())


def _is_text_like(s: pd.Series) -> bool:
    if not _is_stringish(s):
        return False
    nonnull = s.dropna()
    n_unique = nonnull.nunique()
    return n_unique >= 20 and n_unique >= 0.5 * len(nonnull)


def column_kinds(X: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Feature columns as numeric / categorical (incl. bool) / date / text."""
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "date": [], "text": []}
    for col in X.columns:
        s = X[col]
        if col in text_columns:
            kinds["text"].append(col)
        elif pd.api.types.is_datetime64_any_dtype(s) or is_iso_date_column(s):
            kinds["date"].append(col)
        elif pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            kinds["categorical"].append(col)
        elif pd.api.types.is_numeric_dtype(s):
            kinds["numeric"].append(col)
        elif _is_text_like(s):
            kinds["text"].append(col)
        else:
            kinds["categorical"].append(col)
    return kinds


# ------------------------------------------------------------------------------------------------------------
# Dates -> parts
# ------------------------------------------------------------------------------------------------------------

DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute")


def _as_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        out = pd.to_datetime(s.astype(object).where(s.notna(), None), format="ISO8601", errors="coerce", utc=True)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


class DateParts:
    """Fit: which parts vary in the training frame. Transform: those parts + the timestamp in days, as floats
    (missing dates -> NaN)."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.parts: dict[str, list[str]] = {}

    def fit(self, X: pd.DataFrame) -> "DateParts":
        for col in self.columns:
            d = _as_datetime(X[col])
            self.parts[col] = [p for p in DATE_PARTS if getattr(d.dt, p).nunique(dropna=True) > 1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.columns:
            d = _as_datetime(X[col])
            for p in self.parts[col]:
                out[f"{col}__{p}"] = getattr(d.dt, p).astype(float)
            ns = d.astype("int64").astype(float)
            out[f"{col}__days"] = np.where(d.isna(), np.nan, ns / 86_400e9)
        return pd.DataFrame(out, index=X.index)

    def output_names(self) -> list[str]:
        return [f"{c}__{p}" for c in self.columns for p in self.parts[c]] + [f"{c}__days" for c in self.columns]


def _fill_text(s) -> np.ndarray:
    return np.array(["" if pd.isna(v) else str(v) for v in s], dtype=object)


def _tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(max_features=TFIDF_MAX_FEATURES, sublinear_tf=True)


# ------------------------------------------------------------------------------------------------------------
# Trees: a frame of numbers + categories
# ------------------------------------------------------------------------------------------------------------

def _as_str_series(s: pd.Series) -> pd.Series:
    return s.astype(object).map(lambda v: None if pd.isna(v) else str(v))


class TreeFrame:
    """Numbers as they are, categoricals as pandas categories (training levels; at most `max_levels` kept),
    dates as parts, text as TF-IDF + TruncatedSVD components."""

    def __init__(self, X: pd.DataFrame, text_columns: tuple[str, ...], max_levels: int | None):
        self.kinds = column_kinds(X, text_columns)
        self.max_levels = max_levels
        self.categories: dict[str, list] = {}
        for c in self.kinds["categorical"]:
            # Levels as strings: category dtypes of mixed or non-string values (ints, bools) trip the encoders.
            counts = _as_str_series(X[c]).value_counts(dropna=True)
            levels = counts.index.tolist()
            if max_levels is not None and len(levels) > max_levels:
                levels = levels[: max_levels - 1] + ["__other__"]
            self.categories[c] = sorted(levels, key=str)
        self.dates = DateParts(self.kinds["date"]).fit(X)
        self.text = {}
        for c in self.kinds["text"]:
            tfidf = _tfidf()
            m = tfidf.fit_transform(_fill_text(X[c]))
            k = max(1, min(SVD_COMPONENTS, m.shape[1] - 1, m.shape[0] - 1))
            svd = TruncatedSVD(n_components=k, random_state=SEED).fit(m)
            self.text[c] = (tfidf, svd)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        parts = [X[self.kinds["numeric"]].astype(float)]
        cats = {}
        for c, levels in self.categories.items():
            values = _as_str_series(X[c])
            if "__other__" in levels:
                known = set(levels)
                values = values.map(lambda v: v if v is None or v in known else "__other__")
            cats[c] = pd.Categorical(values, categories=levels)
        parts.append(pd.DataFrame(cats, index=X.index))
        if self.dates.columns:
            parts.append(self.dates.transform(X))
        for c, (tfidf, svd) in self.text.items():
            z = svd.transform(tfidf.transform(_fill_text(X[c])))
            parts.append(pd.DataFrame(z, index=X.index, columns=[f"{c}__svd{i}" for i in range(z.shape[1])]))
        return pd.concat(parts, axis=1)


@dataclass
class SklearnModel:
    estimator: object
    prepare: Callable[[pd.DataFrame], object]

    def predict(self, df: pd.DataFrame) -> pd.Series:
        return pd.Series(self.estimator.predict(self.prepare(df)), index=df.index)

    def predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.estimator.predict_proba(self.prepare(df)), index=df.index,
                            columns=self.estimator.classes_)


def fit_hgb(train: pd.DataFrame, target: str, task: str, text_columns=(), threads: int | None = None):
    X, y = train.drop(columns=[target]), train[target]
    frame = TreeFrame(X, text_columns, HGB_MAX_LEVELS)
    cls = HistGradientBoostingRegressor if task == REGRESSION else HistGradientBoostingClassifier
    est = cls(categorical_features="from_dtype", random_state=SEED)
    est.fit(frame.transform(X), y)
    return SklearnModel(est, frame.transform)


def fit_lightgbm(train: pd.DataFrame, target: str, task: str, text_columns=(), threads: int | None = None):
    import lightgbm as lgb

    X, y = train.drop(columns=[target]), train[target]
    frame = TreeFrame(X, text_columns, None)
    cls = lgb.LGBMRegressor if task == REGRESSION else lgb.LGBMClassifier
    kwargs = {"random_state": SEED, "verbose": -1}
    if threads:
        kwargs["n_jobs"] = threads
    est = cls(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(frame.transform(X), y)
    return SklearnModel(est, frame.transform)


# ------------------------------------------------------------------------------------------------------------
# MLPs: a sparse matrix (one-hot, TF-IDF, standardised numbers and date parts)
# ------------------------------------------------------------------------------------------------------------

def _as_str_objects(X) -> np.ndarray:
    return pd.DataFrame(X).astype(object).map(lambda v: np.nan if pd.isna(v) else str(v)).to_numpy(dtype=object)


class _DatePartsTransformer:
    """DateParts as a scikit-learn transformer (median-imputed, standardised afterwards)."""

    def __init__(self, columns):
        self.columns = columns

    def fit(self, X, y=None):
        self.parts_ = DateParts(list(self.columns)).fit(X)
        return self

    def transform(self, X):
        return self.parts_.transform(X).to_numpy(dtype=float)

    def get_params(self, deep=True):
        return {"columns": self.columns}

    def set_params(self, **params):
        self.columns = params.get("columns", self.columns)
        return self


def make_onehot_preprocessor(X: pd.DataFrame, text_columns=()) -> ColumnTransformer:
    kinds = column_kinds(X, text_columns)
    transformers = [
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), kinds["numeric"]),
        ("cat", make_pipeline(FunctionTransformer(_as_str_objects), SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), kinds["categorical"]),
    ]
    if kinds["date"]:
        transformers.append(("date", make_pipeline(_DatePartsTransformer(tuple(kinds["date"])),
                                                   SimpleImputer(strategy="median"), StandardScaler()),
                             kinds["date"]))
    for col in kinds["text"]:  # a scalar column name hands TfidfVectorizer a 1-D Series
        transformers.append((f"text_{col}", make_pipeline(FunctionTransformer(_fill_text), _tfidf()), col))
    # Sparse output: one-hot of thousands of levels and 20k TF-IDF terms do not fit densely at 200k rows.
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=1.0)


def _csr32(m) -> sparse.csr_matrix:
    return sparse.csr_matrix(m, dtype=np.float32)


def fit_sklearn_mlp(train: pd.DataFrame, target: str, task: str, text_columns=(), threads: int | None = None):
    X, y = train.drop(columns=[target]), train[target]
    if task == REGRESSION:
        # Standardised target: with raw targets in the thousands the default MLPRegressor stops long before
        # converging (R^2 < 0), which would make it a straw man.
        head = TransformedTargetRegressor(MLPRegressor(random_state=SEED, early_stopping=True),
                                          transformer=StandardScaler())
    else:
        head = MLPClassifier(random_state=SEED, early_stopping=True)
    est = make_pipeline(make_onehot_preprocessor(X, text_columns), FunctionTransformer(_csr32), head)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        est.fit(X, y)
    return SklearnModel(est, lambda df: df[X.columns])


DENSE_LIMIT = 50_000_000  # matrix cells; above this the Keras MLP is fed sparse batches densified per batch


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
        X = _csr32(self.preprocessor.transform(df[self.columns]))
        outs = []
        for start in range(0, X.shape[0], 8192):
            # Eager call, not net.predict(): predict() re-traces a tf.function per fitted model.
            outs.append(np.asarray(self.net(X[start:start + 8192].toarray(), training=False)))
        return np.concatenate(outs)

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


def _sparse_dataset(X: sparse.csr_matrix, y: np.ndarray, batch_size: int, shuffle: bool):
    import tensorflow as tf

    coo = X.tocoo()
    st = tf.sparse.reorder(tf.sparse.SparseTensor(np.column_stack([coo.row, coo.col]).astype(np.int64),
                                                  coo.data.astype(np.float32), coo.shape))
    ds = tf.data.Dataset.from_tensor_slices((st, y))
    if shuffle:
        ds = ds.shuffle(min(X.shape[0], 100_000), seed=SEED, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(lambda a, b: (tf.sparse.to_dense(a), b)).prefetch(2)


def fit_keras_mlp(train: pd.DataFrame, target: str, task: str, text_columns=(), threads: int | None = None):
    """The Keras MLP a user writes without the library: one-hot + standardise, 2x64 ReLU, Adam, early stopping
    (patience 10, best weights) on the last 20% of the (shuffled) training rows, batch 128, up to 200 epochs."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    X, y = train.drop(columns=[target]), train[target]
    prep = make_onehot_preprocessor(X, text_columns)
    Xt = _csr32(prep.fit_transform(X))
    model = KerasMLPModel(prep, list(X.columns), None, task)
    if task == REGRESSION:
        model.y_mean, model.y_std = float(y.mean()), float(y.std()) or 1.0
        yt = ((y.to_numpy(dtype=float) - model.y_mean) / model.y_std).astype(np.float32)
        head, loss = keras.layers.Dense(1), "mse"
    else:
        enc = LabelEncoder().fit(y)
        model.classes = enc.classes_
        yt = enc.transform(y)
        if task == BINARY:
            head, loss = keras.layers.Dense(1, activation="sigmoid"), "binary_crossentropy"
            yt = yt.astype(np.float32)
        else:
            head = keras.layers.Dense(len(enc.classes_), activation="softmax")
            loss = "sparse_categorical_crossentropy"
    net = keras.Sequential([keras.Input(shape=(Xt.shape[1],)), keras.layers.Dense(64, activation="relu"),
                            keras.layers.Dense(64, activation="relu"), head])
    net.compile(optimizer=keras.optimizers.Adam(), loss=loss)
    stop = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    if Xt.shape[0] * Xt.shape[1] <= DENSE_LIMIT:
        net.fit(Xt.toarray(), yt, epochs=200, batch_size=128, validation_split=0.2, verbose=0, callbacks=[stop])
    else:  # the same split as validation_split (the last 20% of the rows), fed sparse
        cut = int(Xt.shape[0] * 0.8)
        net.fit(_sparse_dataset(Xt[:cut], yt[:cut], 128, True), epochs=200, verbose=0, callbacks=[stop],
                validation_data=_sparse_dataset(Xt[cut:], yt[cut:], 1024, False))
    model.net = net
    return model


# ------------------------------------------------------------------------------------------------------------
# The library under test
# ------------------------------------------------------------------------------------------------------------

def fit_automater(train: pd.DataFrame, target: str, task: str, text_columns=(), threads: int | None = None,
                  overrides: dict | None = None, seed: int = SEED):
    """`Automater(target=t, seed=0, verbose=0).fit(train)`: the raw frame, the task and kinds inferred by the
    library. Ablations only: `overrides` are merged over defaults.yaml, and `seed` replaces 0 (several seeds a fold
    average out the luck of one initialisation on a small table)."""
    from keras_defaults import Automater

    kwargs = {"overrides": overrides} if overrides else {}
    model = Automater(target=target, seed=seed, verbose=0, **kwargs)
    model.fit(train)
    return model


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_source_sha256() -> str:
    """A hash of the keras_defaults package's source files (a code change invalidates cached results)."""
    h = hashlib.sha256()
    pkg = REPO_ROOT / "keras_defaults"
    for path in sorted(pkg.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".json", ".csv") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(pkg)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def automater_version(overrides: dict | None = None, seed: int = SEED) -> str:
    # The table's settings, not its bytes: an edited note or comment keeps the cached fits.
    from keras_defaults.defaults import settings_sha256

    parts = {"defaults.yaml settings": settings_sha256(REPO_ROOT / "defaults.yaml"), "overrides": overrides or {},
             "package": package_source_sha256()}
    if seed != SEED:  # named only when it is not the benchmark's seed, so that the fits cached before keep their key
        parts["seed"] = seed
    blob = json.dumps(parts, sort_keys=True)
    return "automater:" + hashlib.sha256(blob.encode()).hexdigest()


class ModelUnavailable(Exception):
    pass


def _check_automater() -> None:
    try:
        from keras_defaults import Automater  # noqa: F401
    except Exception as exc:
        raise ModelUnavailable(f"cannot import keras_defaults.Automater: {type(exc).__name__}: {exc}") from exc


def _check_lightgbm() -> None:
    try:
        import lightgbm  # noqa: F401
    except Exception as exc:
        raise ModelUnavailable(f"cannot import lightgbm (pip install lightgbm): {exc}") from exc


@dataclass(frozen=True)
class ModelSpec:
    name: str
    fit: Callable
    description: str
    version: str  # harness version of this model (Automater: computed from defaults.yaml + package source)
    check: Callable[[], None] = lambda: None


MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("automater", fit_automater,
              "`keras_defaults.Automater(target=t, seed=0, verbose=0).fit(train_df)` on the raw frame, nothing "
              "else; predict() for labels/values, predict_proba() for probabilities", "computed",
              _check_automater),
    ModelSpec("hgb", fit_hgb,
              "HistGradientBoostingClassifier/Regressor, defaults, random_state=0, native categoricals "
              "(categorical_features='from_dtype', at most 254 levels), date parts, text as TF-IDF + SVD(64)",
              f"hgb-1/{PREPROCESSING_VERSION}"),
    ModelSpec("lightgbm", fit_lightgbm,
              "LGBMClassifier/LGBMRegressor, defaults, random_state=0, on the same frame as HGB (pandas "
              "categories, all levels)", f"lightgbm-1/{PREPROCESSING_VERSION}", _check_lightgbm),
    ModelSpec("sklearn_mlp", fit_sklearn_mlp,
              "MLPClassifier/MLPRegressor (defaults: 1x100 ReLU, Adam; random_state=0, early_stopping=True) behind "
              "the one-hot/TF-IDF ColumnTransformer (sparse); regression target standardised",
              f"sklearn_mlp-1/{PREPROCESSING_VERSION}"),
    ModelSpec("keras_mlp", fit_keras_mlp,
              "hand-written Keras MLP on the same ColumnTransformer output: Dense 64 ReLU x 2, sigmoid/softmax/"
              "linear head, Adam, batch 128, up to 200 epochs, EarlyStopping(patience=10, restore_best_weights) on "
              "the last 20% of the shuffled training rows; regression target standardised",
              f"keras_mlp-1/{PREPROCESSING_VERSION}"),
]}
REFERENCE_MODEL = "hgb"


def model_version(name: str, overrides: dict | None = None, seed: int = SEED) -> str:
    if name == "automater":
        return automater_version(overrides, seed)
    return MODELS[name].version
