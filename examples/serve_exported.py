"""Workflow 3: export a compiled Keras model and serve it, from plain Keras and from TensorFlow alone.

Run: python examples/serve_exported.py
"""

import json

import keras
import numpy as np
import tensorflow as tf

import keras_defaults  # registers the package's few layers, so safe-mode loading needs no custom_objects
from keras_defaults import Automater
from keras_defaults.datasets import load_passengers

passengers = load_passengers()
auto = Automater(target="survived", seed=0, verbose=0).fit(passengers.iloc[:900])
auto.export("passengers.keras")
auto.export("passengers_serving", format="tf_saved_model")

# 1. Plain Keras: a dict {column: tensor} of raw values. Strings as tf.string ("" for missing), numbers as
#    float32 (NaN for missing). Unseen categories are fine: they go to an out-of-vocabulary bucket.
model = keras.saving.load_model("passengers.keras")  # safe mode
raw_columns = {
    "pclass": tf.constant([1.0, 3.0]),
    "sex": tf.constant(["female", "male"]),
    "age": tf.constant([29.0, np.nan]),
    "siblings_spouses": tf.constant([0.0, 1.0]),
    "fare": tf.constant([80.0, 7.25]),
    "embarked": tf.constant(["Cherbourg", ""]),
    "travelling_alone": tf.constant(["yes", "no"]),
    "notes": tf.constant(["booked a first class cabin near the deck", "steerage bunk near the engines"]),
}
print("P(survived=1) from the .keras file:", model.predict(raw_columns, verbose=0)["survived"].ravel())

# 2. TensorFlow alone (keras_defaults need not be installed where this runs): the serving signature takes one
#    1-D tensor per column; keras_defaults_signature.json beside the model lists argument names and dtypes.
signature = json.load(open("passengers_serving/keras_defaults_signature.json"))
serve = tf.saved_model.load("passengers_serving").signatures["serving_default"]
outputs = serve(**{signature["inputs"][column]["argument"]: tensor for column, tensor in raw_columns.items()})
print("Labels from the SavedModel:", outputs["survived"].numpy(), "probabilities:", outputs["survived_probabilities"].numpy())
