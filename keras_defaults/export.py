"""Writing and reading models: a compiled `.keras` file, and a SavedModel that needs only TensorFlow."""

import json
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from keras_defaults.errors import UnsafeFileError
from keras_defaults.model import signature_name
from keras_defaults.schema import IGNORE

SIGNATURE_FILE = "keras_defaults_signature.json"


def export_keras(model, path):
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"A Keras model file must end in '.keras'. Received: path='{path}'. "
                         f"Did you mean '{path.with_suffix('.keras')}'?")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load_keras(path):
    """Load a `.keras` file in safe mode: a file that asks to run code (a lambda, an unknown class) is refused."""
    try:
        with warnings.catch_warnings():
            # The exported model is compiled but its optimizer never stepped: there is no state worth a warning.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, TypeError) as error:
        raise UnsafeFileError(f"Refusing to load '{path}': it is not a model this package wrote, or it asks to run "
                              f"arbitrary code, which safe mode forbids. Keras said: {error}") from None


def serving_signature(auto):
    """The SavedModel's inputs (column -> argument name and dtype) and outputs (target -> output names)."""
    taken = set()
    inputs = {}
    for column, profile in auto.profiles_.items():
        if profile.kind == IGNORE:
            continue
        inputs[column] = {"argument": signature_name(column, taken),
                          "dtype": "string" if profile.input_dtype == "string" else "float32"}
    outputs = {}
    for name, target in auto.targets_.items():
        key = signature_name(name, taken)
        outputs[name] = {"prediction": key}
        if target.kind != "numerical":
            outputs[name]["probabilities"] = signature_name(f"{key}_probabilities", taken)
            outputs[name]["classes"] = [str(c) for c in target.classes]
    return {"inputs": inputs, "outputs": outputs}


def export_saved_model(auto, path):
    """A SavedModel whose `serving_default` signature takes one 1-D tensor per column, named as in the signature
    file written beside it, and returns each target's prediction (labels as strings) and class probabilities."""
    path = Path(path)
    model = auto.model_
    signature = serving_signature(auto)
    specs = {spec["argument"]: tf.TensorSpec([None], tf.string if spec["dtype"] == "string" else tf.float32,
                                             name=spec["argument"])
             for spec in signature["inputs"].values()}
    class_names = {name: tf.constant(out["classes"]) for name, out in signature["outputs"].items()
                   if "classes" in out}

    def serve(features):
        raw = {column: features[spec["argument"]] for column, spec in signature["inputs"].items()}
        outputs = model(raw, training=False)
        result = {}
        for name, out in signature["outputs"].items():
            values = outputs[name]
            if name not in class_names:
                result[out["prediction"]] = tf.reshape(values, [-1])
                continue
            if values.shape[-1] == 1:
                values = tf.concat([1.0 - values, values], axis=-1)
            result[out["probabilities"]] = values
            result[out["prediction"]] = tf.gather(class_names[name], tf.argmax(values, axis=-1))
        return result

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=serve, input_signature=[specs])
    archive.write_out(str(path), verbose=False)
    (path / SIGNATURE_FILE).write_text(json.dumps(signature, indent=1, ensure_ascii=False), encoding="utf-8")
    return path
