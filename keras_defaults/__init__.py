"""keras_defaults: a pandas DataFrame and a target column in; a well-chosen, trained, exportable Keras model out.

Importing the package registers its few Keras layers, so `keras.saving.load_model` reads exported models in safe
mode without `custom_objects`: at once when Keras is already imported, otherwise as soon as Keras is.

The package imports TensorFlow only when one of its names is first used (PEP 562), so that the command line's
`--help` and `defaults` answer without loading it.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_defaults.errors import (ConfigError, ConfigTypeError, DataError, KerasDefaultsError,  # noqa: E402
                                   NotFittedError, UnsafeFileError)

__version__ = "0.1.0"

# The public names that need Keras, by the module and attribute they come from.
_LAZY_NAMES = {
    "Automater": ("keras_defaults.automater", "Automater"),
    "AutomaterClassifier": ("keras_defaults.estimators", "AutomaterClassifier"),
    "AutomaterRegressor": ("keras_defaults.estimators", "AutomaterRegressor"),
    "inputs": ("keras_defaults.served", "model_inputs"),
}

__all__ = ["Automater", "AutomaterClassifier", "AutomaterRegressor", "inputs", "ConfigError", "ConfigTypeError",
           "DataError", "KerasDefaultsError", "NotFittedError", "UnsafeFileError", "__version__"]


def __getattr__(name):
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module 'keras_defaults' has no attribute '{name}'")
    module, attribute = _LAZY_NAMES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once: later look-ups are plain attribute reads
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))


class _RegisterLayersWithKeras(importlib.abc.MetaPathFinder):
    """Imports keras_defaults.layers right after Keras finishes loading.

    The README's promise is `import keras, keras_defaults` in either order, then `keras.saving.load_model` in safe
    mode. Importing the layers eagerly would load TensorFlow with the package; a load_model needs Keras anyway, so
    the registration waits for Keras. This finder answers only for "keras": it asks the other finders for it and
    wraps the loader they return, which steps this finder aside once Keras has loaded. (It cannot step aside sooner:
    TensorFlow asks `importlib.util.find_spec("keras")` without importing it.)
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        spec = next((found for found in (finder.find_spec(fullname, path, target) for finder in sys.meta_path
                                         if finder is not self and hasattr(finder, "find_spec"))
                     if found is not None), None)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load_keras = spec.loader.exec_module

        def exec_module(module):
            load_keras(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            importlib.import_module("keras_defaults.layers")

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    from keras_defaults import layers  # noqa: E402,F401  (registers the custom layers)
elif not any(isinstance(finder, _RegisterLayersWithKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterLayersWithKeras())
