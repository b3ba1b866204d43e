"""Property: loading a randomly corrupted save gives either a working Automater (it predicts) or `UnsafeFileError`;
never another exception.

One small Automater (every input kind, a multiclass and a regression target) is fitted and saved once; each example
copies the save and damages it: bytes flipped in automater.json or model.keras, a file truncated, a member of the
model.keras archive deleted, swapped with another, truncated or with bytes flipped inside (the archive rewritten, so
its checksums pass), or a value of automater.json or of the archive's config.json replaced (by another type, an
extreme number, a string), deleted, or joined by an extra key. As a save made before digests were recorded (which
still loads), the model's sha256 is sometimes removed from automater.json too, so that damage to model.keras reaches
the Keras loader instead of stopping at the digest.

CI runs a fixed set of 20 examples. To explore, set KD_CORRUPT_EXAMPLES, e.g. to 300: the examples are then random,
and Hypothesis remembers failures in .hypothesis/.
"""

import io
import json
import os
import shutil
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import mixed_frame
from keras_defaults import Automater
from keras_defaults.errors import UnsafeFileError

EXAMPLES = int(os.environ.get("KD_CORRUPT_EXAMPLES", "20"))
TINY = {"training": {"epochs": 1, "batch_size": 32}, "body": {"units": [8], "ensemble": 1}}
FILES = ("automater.json", "model.keras")
MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
# What a JSON value is replaced with: other types, extremes of numbers, strings that name code.
REPLACEMENTS = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 2 ** 31, 2 ** 64, -(2 ** 63) - 1, 1e308, -1e-308, 0.5, "",
                     "x", "__import__('os').system('true')", [], {}, [None], {"x": 1}, [1, 2, 3], ["a", "a"]]),
    st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=3))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    data = mixed_frame(80)
    data["when"] = pd.date_range("2021-03-01", periods=len(data), freq="29h").to_series().to_numpy()
    auto = Automater(["label", "price"], overrides=TINY, seed=0, verbose=0).fit(data.drop(columns=["binary"]))
    path = auto.save(tmp_path_factory.mktemp("saved") / "run")
    return path, data.drop(columns=["binary", "label", "price"]).head(7)


def json_path(draw, document):
    """A key path to a value inside `document`, chosen level by level (each key of a level as likely), so that a
    column's state is reached as often as one of the many entries of 'origins'."""
    path, node = (), document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        path, node = path + (key,), node[key]
        if not (isinstance(node, (dict, list)) and node) or draw(st.integers(0, 3)) == 3:
            return path


def edit_json(draw, document):
    """Replace, delete or add one value somewhere in `document` (a parsed JSON object); returns what was done."""
    path = json_path(draw, document)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent[path[-1]], dict):
        parent[path[-1]][draw(st.sampled_from(["foo", "state", "name", "class_name", ""]))] = draw(REPLACEMENTS)
    else:
        action = "replace"
        parent[path[-1]] = draw(REPLACEMENTS)
    return f"{action} {'/'.join(map(str, path[:3]))}"


def flip(draw, content):
    content = bytearray(content)
    for _ in range(draw(st.integers(1, 4))):
        content[draw(st.integers(0, len(content) - 1))] ^= draw(st.integers(1, 255))
    return bytes(content)


def rewrite_archive(draw, model_file):
    with zipfile.ZipFile(model_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    member = draw(st.sampled_from(MEMBERS))
    # Hypothesis favours the first choices: the JSON edits, which reach the most code, come first.
    action = draw(st.sampled_from(["edit", "flip", "swap", "delete", "truncate"]))
    if action == "delete":
        del members[member]
    elif action == "swap":
        other = draw(st.sampled_from([m for m in MEMBERS if m != member]))
        members[member], members[other] = members[other], members[member]
    elif action == "truncate":
        members[member] = members[member][:draw(st.integers(0, len(members[member]) - 1))]
    elif action == "flip":
        members[member] = flip(draw, members[member])
    else:
        member = draw(st.sampled_from(["config.json", "metadata.json"]))
        document = json.loads(members[member])
        action = edit_json(draw, document)
        members[member] = json.dumps(document).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    model_file.write_bytes(buffer.getvalue())
    return f"model.keras:{member}: {action}"


def damage(draw, run):
    """Damage the save folder `run` in place, one random way; returns what was done."""
    # Weighted towards the edits that keep files readable, which reach further into loading than a parse error.
    kind = draw(st.sampled_from(["state_json"] * 3 + ["archive"] * 3 + ["flip", "truncate"]))
    file = draw(st.sampled_from(FILES))
    model_file, state_file = run / "model.keras", run / "automater.json"
    if kind == "flip":
        (run / file).write_bytes(flip(draw, (run / file).read_bytes()))
        done = f"{file}: flip bytes"
    elif kind == "truncate":
        content = (run / file).read_bytes()
        (run / file).write_bytes(content[:draw(st.integers(0, len(content) - 1))])
        done = f"{file}: truncate"
    elif kind == "state_json":
        state = json.loads(state_file.read_text(encoding="utf-8"))
        done = "automater.json: " + edit_json(draw, state)
        state_file.write_text(json.dumps(state), encoding="utf-8")
    else:
        done = rewrite_archive(draw, model_file)
    damaged_model = kind == "archive" or file == "model.keras" and kind != "state_json"
    if damaged_model and draw(st.booleans()):
        state = json.loads(state_file.read_text(encoding="utf-8"))
        del state["model_sha256"]
        state_file.write_text(json.dumps(state), encoding="utf-8")
        done += " (digest removed)"
    return done


@settings(max_examples=EXAMPLES, deadline=None, derandomize="KD_CORRUPT_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_corrupted_save_loads_and_predicts_or_is_refused_as_unsafe(saved, tmp_path_factory, data):
    source, rows = saved
    run = tmp_path_factory.mktemp("corrupt") / "run"
    shutil.copytree(source, run)
    done = damage(data.draw, run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loaded = Automater.load(run)
        except UnsafeFileError as error:
            assert len(str(error)) > 20
            event(f"refused: {done}"[:60])
            return
        predictions = loaded.predict(rows)
        probabilities = loaded.predict_proba(rows)
        assert len(loaded.explain()) > 0
    event(f"loaded: {done}"[:60])
    assert list(predictions) == ["label", "price"] and len(predictions) == len(rows)
    assert np.isfinite(probabilities["label"].to_numpy()).all()
    shutil.rmtree(run.parent, ignore_errors=True)
