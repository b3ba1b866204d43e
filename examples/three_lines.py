"""Workflow 1: fit a DataFrame in three lines.  Run: python examples/three_lines.py"""

from keras_defaults import Automater
from keras_defaults.datasets import load_passengers

passengers = load_passengers()
train_df, test_df = passengers.iloc[:900], passengers.iloc[900:]

auto = Automater(target="survived").fit(train_df)
predictions = auto.predict(test_df)  # a Series named "survived", same index, original labels

print(predictions.head())
print(auto.predict_proba(test_df).head())  # one column per class label
print(auto.evaluate(test_df))
