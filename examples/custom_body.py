"""Put your own body between the automatic per-column inputs and the automatic heads.

`prepare` learns column kinds and encoder statistics without training; `build_model(body=...)` wires your layers
between the concatenated encoded features and the output heads, compiled with the table's losses and optimizer.
Run: python examples/custom_body.py
"""

import keras

from keras_defaults import Automater
from keras_defaults.datasets import load_passengers

passengers = load_passengers()
train_df, test_df = passengers.iloc[:900], passengers.iloc[900:]


def residual_body(features):
    """features: the concatenated encoded columns (the keras-pandas "nubs"); returns the tensor the heads read."""
    x = keras.layers.Dense(64, activation="relu")(features)
    y = keras.layers.Dense(64, activation="relu")(x)
    return keras.layers.LayerNormalization()(keras.layers.Add()([x, y]))


auto = Automater(target="survived", seed=0, verbose=0).prepare(train_df)
model = auto.build_model(body=residual_body)  # compiled, untrained: raw columns in, probabilities out
model.summary()

auto.fit(train_df, body=residual_body)  # or train it yourself: the same body, trained by the Automater
print(auto.evaluate(test_df))
