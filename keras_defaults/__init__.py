"""keras_defaults: a pandas DataFrame and a target column in; a well-chosen, trained, exportable Keras model out.

Importing the package registers its few Keras layers, so `keras.saving.load_model` reads exported models in safe
mode without `custom_objects`.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_defaults import layers  # noqa: E402,F401  (registers the custom layers)
from keras_defaults.automater import Automater  # noqa: E402
from keras_defaults.estimators import AutomaterClassifier, AutomaterRegressor  # noqa: E402
from keras_defaults.served import model_inputs as inputs  # noqa: E402
from keras_defaults.errors import (ConfigError, ConfigTypeError, DataError, KerasDefaultsError,  # noqa: E402
                                   NotFittedError, UnsafeFileError)

__version__ = "0.1.0"

__all__ = ["Automater", "AutomaterClassifier", "AutomaterRegressor", "inputs", "ConfigError", "ConfigTypeError", "DataError", "KerasDefaultsError", "NotFittedError",
           "UnsafeFileError", "__version__"]
