"""AutomaterClassifier and AutomaterRegressor as scikit-learn estimators: its own checks, and its tools."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.inspection import permutation_importance
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import mixed_frame
from keras_defaults import AutomaterClassifier, AutomaterRegressor

# Small and quick, yet enough to pass the checks that ask for a fitted model to be good (accuracy above 0.83 on
# blobs, R^2 above 0.5): one member, one layer of 32, a larger learning rate.
CHECKED = dict(seed=0, epochs=30, units=[32], learning_rate=1e-2, overrides={"body": {"ensemble": 1}})
FAST = dict(seed=0, epochs=3, batch_size=64, units=[16], overrides={"body": {"ensemble": 1}})

# The checks that cannot apply, and why. parametrize_with_checks marks them xfail (not strict: one may pass).
CANNOT_APPLY = {
    # A weight of 2 is not a repeated row here: the validation split, the shuffled batches and early stopping all
    # see rows, not weights, so no stochastic network meets this check's 1e-7 tolerance (nor do scikit-learn's
    # own MLPs, which take no sample_weight at all).
    "check_sample_weight_equivalence_on_dense_data": "rows and weights differ for the validation split and batches",
    # The model computes in float32, and the matrix products' blocking depends on the batch: a row predicted in a
    # subset differs from the same row in the whole batch by about 1e-7 relative, this check's tolerance.
    "check_methods_subset_invariance": "float32 arithmetic depends on the batch size at the 1e-7 level",
}


@parametrize_with_checks([AutomaterClassifier(**CHECKED), AutomaterRegressor(**CHECKED)],
                         expected_failed_checks=lambda estimator: CANNOT_APPLY)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # our warnings about tiny frames and constant columns are the point of some
        check(estimator)


def frame_and_target(target="label", rows=160):
    frame = mixed_frame(rows)
    return frame.drop(columns=["label", "price", "binary"]), frame[target]


def test_params_are_stored_cloned_and_set():
    estimator = AutomaterClassifier(learning_rate=3e-3, overrides={"body": {"dropout": 0.2}})
    copy = clone(estimator)
    assert copy.get_params()["learning_rate"] == 3e-3 and copy.get_params()["overrides"] == {"body": {"dropout": 0.2}}
    assert copy.set_params(epochs=7) is copy and copy.epochs == 7
    assert "class_weight" not in AutomaterRegressor().get_params()


def test_a_dataframe_keeps_its_kinds_and_names():
    X, y = frame_and_target()
    estimator = AutomaterClassifier(**FAST).fit(X, y)
    assert list(estimator.feature_names_in_) == list(X.columns) and estimator.n_features_in_ == X.shape[1]
    assert list(estimator.classes_) == ["high", "low", "mid"]
    assert estimator.automater_.inputs_["text"].kind == "text"
    assert estimator.automater_.inputs_["cat"].kind == "categorical"
    probabilities = estimator.predict_proba(X)
    assert probabilities.shape == (len(X), 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    # predict_proba's columns follow classes_; predict is their argmax, in y's labels.
    assert list(estimator.predict(X)) == list(estimator.classes_[probabilities.argmax(axis=1)])
    assert 0 <= estimator.score(X, y) <= 1


def test_numbers_are_classes_for_the_classifier_and_a_scale_for_the_regressor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    classifier = AutomaterClassifier(**FAST).fit(X, y)
    assert classifier.automater_.targets_["target"].kind == "categorical"
    assert classifier.predict(X).dtype == y.dtype and set(classifier.classes_) == {0, 1, 2}
    regressor = AutomaterRegressor(**FAST).fit(X, y)
    assert regressor.automater_.targets_["target"].kind == "numerical"
    assert regressor.predict(X).dtype == np.float64
    with pytest.raises(ValueError, match="continuous"):
        AutomaterClassifier(**FAST).fit(X, X[:, 0])


def test_a_search_over_shortcuts_and_over_overrides():
    X, y = frame_and_target()
    grid = GridSearchCV(AutomaterClassifier(**FAST), {"learning_rate": [1e-3, 1e-2]}, cv=2).fit(X, y)
    assert grid.best_params_["learning_rate"] in (1e-3, 1e-2)
    assert grid.best_estimator_.automater_.config_.get("optimizer", "learning_rate") == grid.best_params_[
        "learning_rate"]
    # A shortcut sets the value over the overrides mapping, which is never changed in place.
    overrides = [{"body": {"ensemble": 1}, "optimizer": {"learning_rate": rate}} for rate in (1e-3, 3e-3)]
    kept = [dict(o) for o in overrides]
    fast = {k: v for k, v in FAST.items() if k != "overrides"}
    search = RandomizedSearchCV(AutomaterRegressor(**fast), {"overrides": overrides}, n_iter=2, cv=2, random_state=0)
    X_reg, y_reg = frame_and_target("price")
    search.fit(X_reg, y_reg)
    rates = {est["overrides"]["optimizer"]["learning_rate"] for est in search.cv_results_["params"]}
    assert rates == {1e-3, 3e-3} and overrides == kept


def test_cross_validation_trains_on_the_fold_only_and_on_all_of_it():
    X, y = frame_and_target()
    result = cross_validate(AutomaterClassifier(**FAST), X, y, cv=3, return_estimator=True, return_indices=True)
    for estimator, train, test in zip(result["estimator"], result["indices"]["train"], result["indices"]["test"]):
        automater = estimator.automater_
        # Every row of the fold, and only those, reached the Automater: its validation split is drawn from them,
        # and with the refit every one of them is trained on.
        assert automater.inputs_["num"].profile.rows == len(train)
        assert automater.refit_epochs_ is not None
        seen = set(X.iloc[train]["text"].dropna())
        assert not (set(X.iloc[test]["text"].dropna()) & seen)  # the texts are distinct per row
    assert len(result["test_score"]) == 3
    assert len(cross_val_score(AutomaterRegressor(**FAST), *frame_and_target("price"), cv=2)) == 2


def test_in_a_pipeline_with_permutation_importance_and_calibration():
    X, y = frame_and_target("binary")
    pipeline = make_pipeline(FunctionTransformer(lambda frame: frame.assign(num2=frame["num"] * 2)),
                             AutomaterClassifier(**FAST)).fit(X, y)
    assert "num2" in pipeline[-1].automater_.inputs_
    importance = permutation_importance(pipeline, X, y, n_repeats=2, random_state=0)
    assert importance.importances_mean.shape == (X.shape[1],)
    calibrated = CalibratedClassifierCV(AutomaterClassifier(**FAST), cv=2).fit(X, y)
    probabilities = calibrated.predict_proba(X)
    assert probabilities.shape == (len(X), 2) and np.allclose(probabilities.sum(axis=1), 1)


def test_weights_and_validation_data_reach_the_automater():
    X, y = frame_and_target("binary")
    weights = np.where(y == 1, 3.0, 1.0)
    estimator = AutomaterClassifier(class_weight={1: 2.0}, **FAST)
    estimator.fit(X.iloc[:120], y.iloc[:120], sample_weight=weights[:120], validation_data=(X.iloc[120:], y.iloc[120:]))
    assert estimator.automater_.refit_epochs_ is None  # the given validation rows replaced the split
    assert estimator.automater_.config_.get("training", "validation_split") == 0.0


def test_bad_inputs_are_refused_clearly():
    X, y = frame_and_target()
    with pytest.raises(ValueError, match="requires y"):
        AutomaterClassifier(**FAST).fit(X)
    with pytest.raises(ValueError, match="one value per row"):
        AutomaterClassifier(**FAST).fit(X, y.iloc[:10])
    with pytest.raises(ValueError, match="only one class"):
        AutomaterClassifier(**FAST).fit(X, pd.Series(["a"] * len(X)))
    with pytest.raises(ValueError, match="numeric y"):
        AutomaterRegressor(**FAST).fit(X, y)
    with pytest.raises(TypeError, match="sparse"):
        from scipy import sparse

        AutomaterRegressor(**FAST).fit(sparse.csr_matrix(np.eye(10)), np.arange(10.0))


def test_an_interrupted_refit_keeps_the_fitted_estimator():
    import keras

    class InterruptAtEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch >= 1:
                raise KeyboardInterrupt

    X, y = frame_and_target()
    estimator = AutomaterClassifier(**FAST).fit(X, y)
    before, automater = estimator.predict_proba(X), estimator.automater_
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X.drop(columns=["text"]), y.iloc[::-1].to_numpy(), callbacks=[InterruptAtEpoch()])
    assert estimator.automater_ is automater and estimator.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(estimator.predict_proba(X), before)


def test_boolean_labels_and_labels_with_gaps():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    # Boolean labels: indexing the probability table by [False, True] read it as a mask of rows and failed (or,
    # on two rows, picked rows).
    model = AutomaterClassifier(**FAST).fit(X, X[:, 0] > 0)
    assert model.classes_.tolist() == [False, True] and model.predict(X[:3]).dtype == bool
    table = model.automater_.predict_proba(pd.DataFrame(X[:2], columns=["x0", "x1", "x2"]))
    np.testing.assert_array_equal(model.predict_proba(X[:2]), np.column_stack([table[False], table[True]]))
    # Missing labels: numpy could not sort None among strings; the rows are dropped with a count, as the
    # regressor's are.
    y = np.array(["a", None, "b"] * 40, dtype=object)
    with pytest.warns(UserWarning, match="Dropped 40 of 120 rows whose target"):
        model = AutomaterClassifier(**FAST).fit(X, y)
    assert model.classes_.tolist() == ["a", "b"] and set(model.predict(X)) <= {"a", "b"}
