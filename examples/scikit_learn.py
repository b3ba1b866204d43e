"""The Automater as a scikit-learn estimator: cross-validation, a grid search, a pipeline.

`AutomaterClassifier` and `AutomaterRegressor` take `fit(X, y)`: X a DataFrame (its columns keep their kinds) or a
2-D array. Named shortcuts (`learning_rate`, `epochs`, `batch_size`, `units`, `dropout`) and `overrides` (any setting
of defaults.yaml) are parameters, so a search can range over either. Run: python examples/scikit_learn.py
"""

from sklearn.model_selection import GridSearchCV, cross_val_score

from keras_defaults import AutomaterClassifier
from keras_defaults.datasets import load_passengers

passengers = load_passengers()
X, y = passengers.drop(columns="survived"), passengers["survived"]

# A few epochs and one ensemble member keep the example quick; drop them for the defaults.
quick = dict(seed=0, epochs=15, overrides={"body": {"ensemble": 1}})
print("accuracy by fold:", cross_val_score(AutomaterClassifier(**quick), X, y, cv=3).round(3))

search = GridSearchCV(AutomaterClassifier(**quick), {"learning_rate": [1e-3, 3e-3]}, cv=3, scoring="roc_auc")
search.fit(X, y)
print("best:", search.best_params_, "ROC-AUC", round(search.best_score_, 3))

best = search.best_estimator_
print(best.predict_proba(X.head(3)))  # columns in the order of best.classes_
print(best.automater_.explain().head(8))  # the Automater inside explains, saves and exports as usual
