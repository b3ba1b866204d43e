"""benchmarks/profile_serving.py's `--variant NAME=JSON`: what it accepts, and the messages for what it does not.
Imports the script only (TensorFlow is imported inside its functions)."""

import importlib.util
from pathlib import Path

import pytest

# Loaded from its file, so that the benchmarks folder's modules (datasets, report, ...) never shadow others.
_SPEC = importlib.util.spec_from_file_location(
    "profile_serving", Path(__file__).resolve().parents[1] / "benchmarks" / "profile_serving.py")
profile_serving = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(profile_serving)


def test_a_variant_is_a_name_and_settings_by_section():
    name, settings = profile_serving.parse_variant('units_128={"body": {"units": [128, 128]}}')
    assert name == "units_128"
    assert settings == {"body": {"units": [128, 128]}}


@pytest.mark.parametrize("text, message", [
    ("units_128", "takes NAME=JSON"),
    ('two words={"body": {}}', "takes NAME=JSON"),
    ("units_128={body: 1}", "not JSON"),
    ('units_128={"body": 3}', "settings by section"),
    ('units_128=[1, 2]', "settings by section"),
])
def test_a_malformed_variant_is_refused_with_what_was_received(text, message):
    with pytest.raises(SystemExit, match=message) as refused:
        profile_serving.parse_variant(text)
    assert "Received: " in str(refused.value)
