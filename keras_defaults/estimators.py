"""scikit-learn estimators: the Automater behind `fit(X, y)`, `predict`, `score`, `get_params` and `set_params`.

`AutomaterClassifier` and `AutomaterRegressor` make the Automater a citizen of scikit-learn: `clone`, `Pipeline`,
`cross_val_score`, `GridSearchCV`, `permutation_importance` and `CalibratedClassifierCV` work on them. `X` is a
DataFrame (its columns keep their kinds: numbers, categories, text, dates) or a 2-D array (its columns are named
x0, x1, ...); `y` holds the target. The Automater inside, `automater_`, explains, saves and exports as usual.
"""

import copy
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from keras_defaults import arrow
from keras_defaults.automater import Automater, all_or_nothing
from keras_defaults.errors import DataError
from keras_defaults.schema import python_value

# Named shortcuts: an estimator parameter, and where in the settings (`defaults.yaml`'s shape) it goes. They make a
# search read like scikit-learn's (`{"learning_rate": [1e-3, 3e-3]}`); `overrides` reaches every other setting.
SHORTCUTS = {
    "epochs": ("training", "epochs"),
    "batch_size": ("training", "batch_size"),
    "learning_rate": ("optimizer", "learning_rate"),
    "units": ("body", "units"),
    "dropout": ("body", "dropout"),
}


class _AutomaterEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, the frame built from X and y, and the fit."""

    # The kind the target is forced to: set by each subclass.
    _target_kind = None

    def __init__(self, *, config=None, column_types=None, overrides=None, seed=None, verbose=0, epochs=None,
                 batch_size=None, learning_rate=None, units=None, dropout=None):
        self.config = config
        self.column_types = column_types
        self.overrides = overrides
        self.seed = seed
        self.verbose = verbose
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.units = units
        self.dropout = dropout

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Missing values are read as missing (a flag and a fill inside the model); strings and categories are
        # columns of their own kinds.
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = self.seed is None
        return tags

    # ------------------------------------------------------------------ the frame
    def _frame(self, X, reset):
        """X as a DataFrame with string column names, checked against the fit's columns when not `reset`."""
        X = arrow.to_pandas(X, "X")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=reset)
            frame = X
        else:
            if hasattr(X, "toarray") or hasattr(X, "tocsr"):
                raise TypeError(f"{type(self).__name__} takes a DataFrame or a dense 2-D array; a sparse matrix "
                                f"would lose which columns are which. Use X.toarray() or a DataFrame.")
            array = np.asarray(X)
            if array.ndim != 2:
                raise ValueError(f"Expected a 2-D array or a DataFrame as X, one row per sample. Received: an array "
                                 f"of shape {array.shape}. Reshape your data: X.reshape(-1, 1) for a single "
                                 f"feature, X.reshape(1, -1) for a single sample.")
            validate_data(self, array, skip_check_array=True, reset=reset)
            frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        if frame.shape[1] == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required "
                             f"by {type(self).__name__}.")
        complex_columns = [c for c in frame.columns if pd.api.types.is_complex_dtype(frame[c])]
        if complex_columns:
            raise ValueError(f"Complex data not supported (columns {complex_columns[:5]}): split the numbers into "
                             f"real and imaginary parts, or take their magnitude.")
        if not all(isinstance(c, str) for c in frame.columns):
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        if reset and len(frame) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples to fit; n_samples={len(frame)}.")
        return frame

    def _target_name(self, y, columns):
        name = y.name if isinstance(y, pd.Series) and isinstance(y.name, str) else "target"
        while name in columns:
            name = f"_{name}"
        return name

    def _settings(self):
        """`overrides` with the named shortcuts set over it; the user's mapping is copied, never changed."""
        merged = copy.deepcopy(self.overrides) if self.overrides else {}
        for parameter, (section, key) in SHORTCUTS.items():
            value = getattr(self, parameter)
            if value is not None:
                merged.setdefault(section, {})[key] = list(value) if isinstance(value, tuple) else value
        return merged or None

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit the Automater on X's columns and y; returns self.

        `sample_weight` weighs the rows; `fit_params` go to `Automater.fit` (callbacks, body, ...). A
        `validation_data=(X_val, y_val)` pair replaces the random validation split.
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        # All or nothing, as the Automater's own fit: a failed or interrupted refit keeps the fitted estimator.
        with all_or_nothing(self):
            self._fit(X, y, sample_weight, fit_params)
        return self

    def _fit(self, X, y, sample_weight, fit_params):
        frame = self._frame(X, reset=True).copy()
        target = self._target_name(y, frame.columns)
        values = self._target_values(y, len(frame))
        frame[target] = values.to_numpy()
        column_types = dict(self.column_types or {})
        column_types[target] = self._kind(values)
        self.automater_ = Automater(target=target, config=self.config, column_types=column_types,
                                    overrides=self._settings(), seed=self.seed, verbose=self.verbose)
        validation = fit_params.pop("validation_data", None)
        if validation is not None:
            X_val, y_val = validation
            validation = self._frame(X_val, reset=False).copy()
            validation[target] = self._target_values(y_val, len(validation)).to_numpy()
        class_weight = getattr(self, "class_weight", None)  # a classifier's parameter
        if sample_weight is not None and not isinstance(sample_weight, str):
            sample_weight = np.asarray(sample_weight)
        self.automater_.fit(frame, sample_weight=sample_weight, class_weight=class_weight,
                            validation_data=validation, **fit_params)
        self._fitted(values)

    def _fitted(self, values):
        """Learned state beyond `automater_`, from y's values: the classifier's classes."""

    def _target_values(self, y, rows):
        array = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
        if array.ndim == 2 and array.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                          "to (n_samples,), for example using ravel().", DataConversionWarning, stacklevel=3)
            array = array.reshape(-1)
        if array.ndim != 1:
            raise ValueError(f"{type(self).__name__} predicts one target; y has shape {array.shape}. Use "
                             f"keras_defaults.Automater(target=[...]) for several targets.")
        if len(array) != rows:
            raise ValueError(f"y must hold one value per row of X: X has {rows} rows, y has {len(array)}.")
        return pd.Series(array)

    @property
    def _target(self):
        return self.automater_.targets[0]

    def _predictions(self, X):
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        return self.automater_.predict(frame)


class AutomaterClassifier(ClassifierMixin, _AutomaterEstimator):
    """The Automater as a scikit-learn classifier: `fit(X, y)`, `predict`, `predict_proba`, `score` (accuracy).

    Parameters are the Automater's (`config`, `column_types`, `overrides`, `seed`, `verbose`), named shortcuts into
    the settings (`epochs`, `batch_size`, `learning_rate`, `units`, `dropout`), and `class_weight` (a mapping from
    labels to weights, or "balanced"). After `fit`: `classes_`, `n_features_in_`, `feature_names_in_` (when X is
    a DataFrame), and `automater_`.
    """

    def __init__(self, *, config=None, column_types=None, overrides=None, seed=None, verbose=0, epochs=None,
                 batch_size=None, learning_rate=None, units=None, dropout=None, class_weight=None):
        super().__init__(config=config, column_types=column_types, overrides=overrides, seed=seed, verbose=verbose,
                         epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, units=units,
                         dropout=dropout)
        self.class_weight = class_weight

    def _kind(self, values):
        # Labels that are not numbers may have gaps (None among strings, which numpy cannot sort): those rows are
        # dropped by the fit, with a warning that counts them, as the regressor's are. A numeric y with NaN or
        # infinity keeps scikit-learn's own error, as its estimators give.
        numeric = pd.api.types.is_numeric_dtype(values.dtype)
        check_classification_targets((values if numeric else values.dropna()).to_numpy())
        if values.nunique(dropna=True) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y to learn from; y has only one "
                             f"class: {values.dropna().iloc[0]!r}.")
        # Two classes get the one-unit sigmoid head; more get softmax. Numbers are classes here, never a scale.
        return "boolean" if values.nunique(dropna=True) == 2 else "categorical"

    def _fitted(self, values):
        self.classes_ = np.unique(values.dropna().to_numpy())

    def predict(self, X):
        """The predicted class labels, as an array with the labels of y."""
        predicted = self._predictions(X)
        by_label = {python_value(label): label for label in self.classes_}
        return np.array([by_label[python_value(v)] for v in predicted], dtype=self.classes_.dtype)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes), in the order of `classes_`."""
        check_is_fitted(self)
        table = self.automater_.predict_proba(self._frame(X, reset=False))
        # By position: indexing a frame with a list of the labels False and True would read it as a mask of rows.
        return table.to_numpy()[:, table.columns.get_indexer([python_value(label) for label in self.classes_])]

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class AutomaterRegressor(RegressorMixin, _AutomaterEstimator):
    """The Automater as a scikit-learn regressor: `fit(X, y)`, `predict` in y's units, `score` (R^2).

    Parameters are those of `AutomaterClassifier` but `class_weight`. After `fit`: `n_features_in_`,
    `feature_names_in_` (when X is a DataFrame), and `automater_`.
    """

    def _kind(self, values):
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().sum() > values.isna().sum():
            raise DataError(f"{type(self).__name__} needs a numeric y; some values are not numbers (e.g. "
                            f"{values[numbers.isna() & values.notna()].iloc[0]!r}). Use AutomaterClassifier for "
                            f"labels.")
        return "numerical"

    def predict(self, X):
        """Predictions in y's units, as a float array."""
        return self._predictions(X).to_numpy(dtype="float64")


__all__ = ["AutomaterClassifier", "AutomaterRegressor"]
