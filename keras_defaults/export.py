"""Writing and reading models: a compiled `.keras` file, and a SavedModel that needs only TensorFlow."""

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from keras_defaults.errors import ConfigError, UnsafeFileError, shown, warn
from keras_defaults.model import signature_name

SIGNATURE_FILE = "keras_defaults_signature.json"


def export_keras(model, path):
    path = Path(path)
    if path.suffix != ".keras":
        raise ConfigError(f"A Keras model file must end in '.keras'. Received: path='{path}'. "
                          f"Did you mean '{path.with_suffix('.keras')}'?")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_leftovers(path)
    # Written beside the target and renamed into place, so an interrupted export never leaves a truncated file there.
    # (Keras saves only to a name ending in .keras.)
    handle, staging = tempfile.mkstemp(prefix=_leftover_prefix(path, "staging"), suffix=".keras", dir=path.parent)
    os.close(handle)
    try:
        model.save(staging)
        follow_umask(staging)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return path


def load_keras(path):
    """Load a `.keras` file in safe mode: a file that asks to run code (a lambda, an unknown class) is refused.

    The archive's config is vetted first, so that the refusal names the object at fault; Keras's safe mode then
    refuses anything the vetting let through.
    """
    vet_archive(path)
    try:
        with warnings.catch_warnings():
            # The exported model is compiled but its optimizer never stepped: there is no state worth a warning.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")  # see model.functional
            return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # noqa: BLE001
        # The archive names only Keras's objects and this package's layers (vet_archive): whatever fails while Keras
        # builds and fills them is the file's doing, and of any type (IndexError for a layer's inputs edited,
        # RuntimeError from a layer's own checks, BadZipFile for a member whose checksum fails, TensorFlow's
        # ResourceExhaustedError for a size that slipped past _check_sizes).
        said = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise UnsafeFileError(f"Refusing to load '{path}': it is not a model this package wrote, or it asks to run "
                              f"arbitrary code, which safe mode forbids. Keras said: {said}") from None


# The largest config.json a model of this package can have (thousands of columns take a few megabytes).
CONFIG_MAX_BYTES = 64 * 2 ** 20

# Modules a saved config may name: Keras's own objects, and the layers this package registers with Keras.
_SAFE_MODULES = ("keras", "keras_defaults.layers")


def vet_archive(path):
    """Refuse a `.keras` archive whose config names an object outside Keras and this package's registered layers
    (a function or class of any other module), or a `Lambda` layer, which carries Python code."""
    try:
        with zipfile.ZipFile(path) as archive:
            declared = archive.getinfo("config.json")
            # Its declared size first: a few megabytes of zip can declare gigabytes of config (a zip bomb).
            if declared.file_size > CONFIG_MAX_BYTES:
                raise UnsafeFileError(f"Refusing to load '{path}': its config.json declares {declared.file_size:,} "
                                      f"bytes, over the {CONFIG_MAX_BYTES:,} a model's config can need.")
            config = json.loads(archive.read("config.json"))
            weights = _weights_elements(path, archive)
    except UnsafeFileError:
        raise
    except FileNotFoundError:
        raise UnsafeFileError(f"Model file not found: '{path}'.") from None
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError, RecursionError, OSError) as error:
        # ValueError: not JSON, or an integer of thousands of digits; RecursionError: nesting thousands deep.
        said = str(error)[:200]
        raise UnsafeFileError(f"Refusing to load '{path}': it is not a .keras archive with a readable config.json and "
                              f"model.weights.h5 ({type(error).__name__}: {said}).") from None
    _check_sizes(path, config, weights)
    for found in _named_objects(config):
        module, name, registered = found.get("module"), found.get("class_name"), found.get("registered_name")
        if module is not None and not isinstance(module, str):
            raise UnsafeFileError(f"Refusing to load '{path}': its config names an object with module {module!r}, "
                                  f"which Keras never writes.")
        if name == "Lambda":
            raise UnsafeFileError(f"Refusing to load '{path}': its config holds a Lambda layer "
                                  f"('{found.get('config', {}).get('name')}'), which runs Python code stored in the "
                                  f"file. This package never writes one.")
        allowed = module is None or module == "keras" or module.startswith("keras.") or (
            module in _SAFE_MODULES and keras.saving.get_registered_object(str(registered)) is not None)
        if not allowed:
            named = f"{module}.{found.get('config') if name == 'function' else name}"
            raise UnsafeFileError(f"Refusing to load '{path}': its config names '{named}', which is neither a Keras "
                                  f"object nor a layer of this package; loading it could run arbitrary code.")


# Config keys that size what a layer allocates when it is built (its weights, or a tensor broadcast to its input).
_SIZE_KEYS = {"units", "input_dim", "output_dim", "members", "levels", "num_tokens", "batch_shape", "shape",
              "input_shape", "output_shape"}
# Of those, the ones that, times the width of the layer's input, give the size of its kernel.
_KERNEL_KEYS = ("units", "input_dim", "output_dim", "levels")
# However small the weights, sizes up to this are allowed (a layer without weights, a one-hot of a few levels).
_SIZE_FLOOR = 2 ** 16


def _weights_elements(path, archive):
    """How many numbers the archive's weights file holds: every variable Keras builds is filled from it, so no
    layer of a model this package wrote is larger. A dataset declared larger than the bytes stored for it (an HDF5
    file made to allocate what it does not carry) is refused."""
    import h5py

    content = archive.read("model.weights.h5")
    try:
        with h5py.File(io.BytesIO(content), "r") as weights:
            datasets = []
            weights.visititems(lambda _, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
            sparse = [d for d in datasets if d.id.get_storage_size() < d.nbytes]
            elements = sum(dataset.size for dataset in datasets)
            if sparse:
                raise UnsafeFileError(f"Refusing to load '{path}': its weights declare {sparse[0].name} of shape "
                                      f"{sparse[0].shape} but store fewer bytes than that holds; Keras never writes "
                                      f"such a file.")
    except UnsafeFileError:
        raise
    except Exception as error:  # h5py raises what the HDF5 library reports, of several types
        raise UnsafeFileError(f"Refusing to load '{path}': its model.weights.h5 is not a readable HDF5 file "
                              f"({type(error).__name__}: {str(error)[:200]}).") from None
    return elements


def _check_sizes(path, config, weights):
    """Refuse a config whose layers would be built far larger than the weights they are filled from: a size edited
    to billions makes Keras allocate gigabytes while building, before it finds that the weights do not fit."""
    budget = max(weights, _SIZE_FLOOR)
    for found in _named_objects(config):
        layer = found.get("config") if isinstance(found.get("config"), dict) else {}
        built = found.get("build_config") if isinstance(found.get("build_config"), dict) else {}
        sizes = {key: value for part in (layer, built) for key, value in part.items() if key in _SIZE_KEYS}
        for key, value in sizes.items():
            for size in (value if isinstance(value, list) else [value]):
                if isinstance(size, (int, float)) and not isinstance(size, bool) and size > budget:
                    raise UnsafeFileError(f"Refusing to load '{path}': layer {shown(layer.get('name'))} has {key} "
                                          f"{shown(value)}, more than the {weights:,} numbers its weights hold in "
                                          f"all; building it could exhaust memory. The file was not written as "
                                          f"saved, or was changed since.")
        width = built.get("input_shape")
        width = width[-1] if isinstance(width, list) and width and isinstance(width[-1], int) else 1
        kernel = width
        for key in _KERNEL_KEYS:
            if isinstance(layer.get(key), int):
                kernel *= layer[key]
        if kernel > budget:
            raise UnsafeFileError(f"Refusing to load '{path}': layer {shown(layer.get('name'))} would be built with "
                                  f"{kernel:,} weights, more than the {weights:,} its weights file holds in all; "
                                  f"building it could exhaust memory. The file was not written as saved, or was "
                                  f"changed since.")


def _named_objects(node):
    """Every serialized object in a Keras config: the mappings that carry a `class_name`."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _named_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _named_objects(value)


def serving_signature(inputs, targets, bounds=None):
    """The SavedModel's inputs (column -> argument name and dtype) and outputs (target -> output names); with
    `bounds` ({"coverage": c, "specs": {target: spec}}, see `NumericalEncoder.interval_spec`), the interval's bounds
    of those targets too; for a quantile head, its quantiles."""
    taken = set()
    arguments = _input_arguments(inputs, taken)
    outputs = {}
    for name, target in targets.items():
        key = signature_name(name, taken)
        outputs[name] = {"prediction": key}
        if target.predicts_classes:
            outputs[name]["probabilities"] = signature_name(f"{key}_probabilities", taken)
            outputs[name]["classes"] = [str(c) for c in target.classes]
        if target.predicts_label_sets:
            # The prediction: the labels reaching the threshold, joined by the delimiter; a probability per label.
            outputs[name]["probabilities"] = signature_name(f"{key}_probabilities", taken)
            outputs[name].update(labels=list(target.classes), delimiter=target.state["delimiter"],
                                 threshold=target.state["threshold"])
        levels = target.encoder.quantile_levels(target.state)
        if levels is not None:
            outputs[name].update(quantiles=signature_name(f"{key}_quantiles", taken), quantile_levels=levels)
        if bounds and name in bounds["specs"]:
            outputs[name].update(lower=signature_name(f"{key}_lower", taken),
                                 upper=signature_name(f"{key}_upper", taken), coverage=bounds["coverage"])
    return {"inputs": arguments, "outputs": outputs}


def _input_arguments(inputs, taken):
    """{column: {"argument": its name in the signature, "dtype": string or float32, and its "format" where the
    served strings have one}}; `taken` collects the names used."""
    arguments = {}
    for column, spec in inputs.items():
        arguments[column] = {"argument": signature_name(column, taken),
                             "dtype": "string" if spec.input_dtype == "string" else "float32"}
        served_format = spec.encoder.served_format_of(spec.state)
        if served_format:
            arguments[column]["format"] = served_format
    return arguments


def _argument_specs(signature):
    return {spec["argument"]: tf.TensorSpec([None], tf.string if spec["dtype"] == "string" else tf.float32,
                                            name=spec["argument"])
            for spec in signature["inputs"].values()}


def _raw_columns(signature, features):
    return {column: features[spec["argument"]] for column, spec in signature["inputs"].items()}


def export_encoder_saved_model(model, inputs, path):
    """An autoencoder's encoder as a SavedModel: `serving_default` takes one 1-D tensor per column (as
    `export_saved_model`'s does) and returns `embedding`, (rows, width). The signature file names them."""
    taken = set()
    arguments = _input_arguments(inputs, taken)
    width = int(model.output["embedding"].shape[-1])
    signature = {"inputs": arguments, "outputs": {"embedding": {"embedding": signature_name("embedding", taken),
                                                                "width": width}}}
    key = signature["outputs"]["embedding"]["embedding"]

    def serve(features):
        return {key: model(_raw_columns(signature, features), training=False)["embedding"]}

    return _write_archive(model, serve, _argument_specs(signature), signature, path)


def export_saved_model(model, inputs, targets, path, bounds=None):
    """A SavedModel whose `serving_default` signature takes one 1-D tensor per column, named as in the signature
    file written beside it, and returns each target's prediction (labels as strings), class probabilities and, for
    the targets in `bounds` (see `serving_signature`), the interval's lower and upper bounds. The decoding is the
    targets' own (`Encoder.probabilities` and `decode_tensor`), run inside the graph."""
    path = Path(path)
    signature = serving_signature(inputs, targets, bounds)
    intervals = (bounds or {}).get("specs", {})
    class_names = {name: tf.constant(out.get("classes", out.get("labels")))
                   for name, out in signature["outputs"].items() if "classes" in out or "labels" in out}

    def serve(features):
        outputs = model(_raw_columns(signature, features), training=False)
        result = {}
        for name, out in signature["outputs"].items():
            encoder = targets[name].encoder
            result[out["prediction"]] = encoder.decode_tensor(outputs[name], class_names.get(name),
                                                              targets[name].state)
            if name in class_names:
                result[out["probabilities"]] = encoder.probabilities(outputs[name])
            if "lower" in out:
                result[out["lower"]], result[out["upper"]] = encoder.interval_tensors(
                    outputs[name], intervals[name], targets[name].state)
            if "quantiles" in out:
                result[out["quantiles"]] = outputs[name]
        return result

    return _write_archive(model, serve, _argument_specs(signature), signature, path)


def _write_archive(model, serve, specs, signature, path):
    """Write `model` as a SavedModel whose `serving_default` runs `serve`, with the signature file beside it."""
    path = Path(path)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=serve, input_signature=[specs])
    # Written to a staging directory beside the target and moved into place once complete.
    staging = staging_dir(path)
    try:
        archive.write_out(str(staging), verbose=False)
        (staging / SIGNATURE_FILE).write_text(json.dumps(signature, indent=1, ensure_ascii=False), encoding="utf-8")
        replace_dir(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def follow_umask(path):
    """Give a path made by `tempfile` (private: 0600 for a file, 0700 for a directory) the mode any file the user
    writes gets, so that a save or an export can be served by another user (a TF Serving container) as the user's
    umask allows."""
    mask = _umask()
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~mask)


def _umask():
    # Read, not set and restored: os.umask would change the process's mask for a moment, under other threads.
    with contextlib.suppress(OSError):  # no /proc (not Linux): set and restore it
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_digest(path):
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2 ** 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------ staging and replacing
# A save or an export is written beside its target, in `.<name>.staging.<host>.<pid>.<random>`, and moved into place;
# a previous one is moved aside into `.<name>.old.<host>.<pid>.<random>` for the moment of the swap. A process killed
# (kill -9, a power cut) before it tidies up leaves these behind, and one killed between the two renames of
# `replace_dir` leaves the previous save only under `.<name>.old.*`: the next save cleans the first, and the next
# save or load restores the second.
#
# Which leftovers are stale: another process may be saving to the same place right now, and its folders must not be
# touched. The name records the host and the process that made it; on this host a folder whose process is gone is
# stale at once (kill -9 then save again cleans up). A process id says nothing about a process on another machine
# sharing the folder (NFS), may have been reused since, and cannot be probed on Windows (os.kill(pid, 0) would send
# Ctrl+C there): such folders, and those of the earlier naming (`.<name>.<random>`, `.<name>.old.<random>`, with no
# owner recorded), are stale once untouched for a day, which no save or export takes.
STALE_AFTER_S = 24 * 3600
_RANDOM = r"[a-z0-9_]{8}"  # tempfile's names


def _host():
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:60] or "host"


def _leftover_prefix(path, role):
    return f".{path.name}.{role}.{_host()}.{os.getpid()}."


def _leftovers(path):
    """(entry, role, host, pid) for every staging or set-aside leftover beside `path`; host and pid are None for
    the earlier naming, which recorded no owner."""
    name = re.escape(path.name)
    tagged = re.compile(rf"\.{name}\.(staging|old)\.([A-Za-z0-9-]+)\.(\d+)\.{_RANDOM}(\.keras)?")
    untagged = re.compile(rf"\.{name}\.(old\.)?{_RANDOM}")
    # The earlier export of a .keras file named its staging file after the stem: .model.<random>.keras
    untagged_export = re.compile(rf"\.{re.escape(path.stem)}\.{_RANDOM}\.keras") if path.suffix == ".keras" else None
    found = []
    with contextlib.suppress(OSError):  # no parent folder: nothing left behind
        for entry in path.parent.iterdir():
            if match := tagged.fullmatch(entry.name):
                found.append((entry, match[1], match[2], int(match[3])))
            elif match := untagged.fullmatch(entry.name):
                found.append((entry, "old" if match[1] else "staging", None, None))
            elif untagged_export is not None and untagged_export.fullmatch(entry.name):
                found.append((entry, "staging", None, None))
    return found


def _owner(host, pid):
    """Whether the process that made a leftover is "running" or "gone", as far as this host can tell; "unknown" for
    another host's, an earlier naming's, or on Windows."""
    if host != _host() or pid is None or os.name == "nt":
        return "unknown"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except OSError:  # PermissionError: it runs, as another user
        return "running"
    return "running"


def _stale(entry, host, pid):
    try:
        untouched = time.time() - entry.lstat().st_mtime
    except OSError:
        return False  # already gone
    return _owner(host, pid) == "gone" or untouched > STALE_AFTER_S


def remove_stale_leftovers(path):
    """Delete the staging and set-aside folders (or files) of saves and exports to `path` whose process was killed
    before it tidied up; those of a save that may still be running are kept."""
    for entry, _, host, pid in _leftovers(path):
        if _stale(entry, host, pid):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()


def recover_set_aside(path):
    """When `path` is missing but a save to it was killed between the two renames of `replace_dir`, move the
    previous save back from where it was set aside (the newest, if several), with a warning. Returns whether it did."""
    if path.exists() or path.is_symlink():
        return False
    # A save of this host still running is between its two renames (a matter of microseconds): leave it alone. One of
    # another host would, in that same instant, fail loudly (its save finds `path` taken) and keep this one: safe.
    aside = [entry for entry, role, host, pid in _leftovers(path)
             if role == "old" and (entry / path.name).is_dir() and _owner(host, pid) != "running"]
    if not aside:
        return False
    entry = max(aside, key=lambda found: found.stat().st_mtime)
    try:
        os.replace(entry / path.name, path)
    except OSError as error:  # a read-only folder, or another process restored it first
        warn(f"'{path}' is missing: a save to it was interrupted, and the previous one is in '{entry / path.name}', "
             f"which could not be moved back ({error}). Move it back by hand: mv '{entry / path.name}' '{path}'.")
        return False
    shutil.rmtree(entry, ignore_errors=True)
    warn(f"'{path}' was missing: a save to it was interrupted while replacing it. The previous save was restored "
         f"from '{entry.name}'.")
    return True


def staging_dir(path):
    """A new, empty folder beside `path` to write a save or an export into, for `replace_dir` to move into place.
    First restores a previous save an interrupted one left aside, and removes the leftovers of killed ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_set_aside(path)
    remove_stale_leftovers(path)
    staging = Path(tempfile.mkdtemp(prefix=_leftover_prefix(path, "staging"), dir=path.parent))
    follow_umask(staging)
    return staging


def replace_dir(staging, path):
    """Move a finished directory into place; a reader never sees a half-written directory under `path`, and an
    existing one is kept if the move fails (or restored by the next save or load, if the process is killed between
    the two renames: see `recover_set_aside`)."""
    if not path.exists():
        os.replace(staging, path)
        return
    old = Path(tempfile.mkdtemp(prefix=_leftover_prefix(path, "old"), dir=path.parent))
    os.replace(path, old / path.name)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(old / path.name, path)
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)
