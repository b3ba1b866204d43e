"""The README's snippets run as written.

`test_the_readme_runs_as_written` runs every ```python block of README.md, in the README's order, in one namespace
(as a reader would in one Python session), in a temporary working directory: the files the snippets write (run/,
titanic.keras, serving/, ...) land there. The fixtures are only those the README itself defines: its first block
loads the shipped passenger table and splits it into `train_df`, `val_df` and `test_df`, and a ```yaml block whose
first line is a comment naming a .yaml file (`# my_defaults.yaml: ...`) is written to that file before any snippet
runs, so that `config="my_defaults.yaml"` reads what the README shows. A block the test cannot run (a cluster's
script) is preceded by `<!-- not run: REASON -->`, and the reason is required.

Budget: the snippets keep the README's settings, but every Keras `fit` in this test stops after `EPOCHS` epochs
(the `small_budget` fixture wraps `keras.Model.fit`; no environment variable, nothing else changes). The test checks
that the snippets run, not how well they learn: the benchmarks measure that.
"""

import inspect
import re
import shutil
import warnings
from pathlib import Path

import keras
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EPOCHS = 2

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)
_NOT_RUN = re.compile(r"<!--\s*not run\b(?P<rest>.*?)-->", re.S)
_YAML_FILE = re.compile(r"^#\s*(?P<name>[\w./-]+\.ya?ml)\b")


def blocks(text):
    """(language, code, first line number of the code, reason not to run it or None) for each fenced block."""
    found = []
    for match in _FENCE.finditer(text):
        before = text[:match.start()].rstrip().rsplit("\n", 1)[-1].strip()
        marker = _NOT_RUN.fullmatch(before)
        reason = None
        if marker:
            reason = marker["rest"].strip()
            if not reason.startswith(":") or not reason[1:].strip():
                line = text[:match.start()].count("\n")
                raise AssertionError(f"README.md, line {line}: write why the block is not run: "
                                     f"<!-- not run: REASON -->")
            reason = reason[1:].strip()
        first_line = text[:match.start("code")].count("\n") + 1
        found.append((match["lang"], match["code"], first_line, reason))
    return found


def yaml_files(found):
    """{file name: text} of the YAML blocks that name their file in a first-line comment."""
    files = {}
    for lang, code, _, _ in found:
        named = _YAML_FILE.match(code) if lang == "yaml" else None
        if named:
            files[named["name"]] = code
    return files


def test_the_readme_blocks_are_found_and_every_skipped_one_says_why():
    found = blocks(README.read_text(encoding="utf-8"))
    python = [block for block in found if block[0] == "python"]
    assert len(python) >= 15
    skipped = [(line, reason) for lang, _, line, reason in python if reason is not None]
    assert len(skipped) <= 2, skipped  # rare: a fragment the reader cannot run either
    with pytest.raises(AssertionError, match="write why the block is not run"):
        blocks("<!-- not run -->\n```python\nx = 1\n```\n")
    assert blocks("<!-- not run: a cluster -->\n```python\nx = 1\n```\n") == [("python", "x = 1\n", 3, "a cluster")]


def test_the_readme_shows_examples_my_defaults_yaml_as_it_is():
    files = yaml_files(blocks(README.read_text(encoding="utf-8")))
    assert {"my_defaults.yaml", "examples/my_defaults.yaml"} <= set(files)
    shown = yaml.safe_load(files["examples/my_defaults.yaml"])
    assert shown == yaml.safe_load((ROOT / "examples" / "my_defaults.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def small_budget(monkeypatch):
    """Every Keras fit stops after EPOCHS epochs (counted from its initial_epoch)."""
    fit = keras.Model.fit
    signature = inspect.signature(fit)

    def capped(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        bound.arguments["epochs"] = min(bound.arguments["epochs"], bound.arguments["initial_epoch"] + EPOCHS)
        return fit(*bound.args, **bound.kwargs)

    monkeypatch.setattr(keras.Model, "fit", capped)


def test_the_readme_runs_as_written(tmp_path, monkeypatch, small_budget):
    found = blocks(README.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    for name, text in yaml_files(found).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    namespace = {"__name__": "__readme__"}
    ran = 0
    for lang, code, first_line, reason in found:
        if lang != "python" or reason is not None:
            continue
        # Padded so that a traceback names the README's own line.
        compiled = compile("\n" * (first_line - 1) + code, str(README), "exec")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the package's notes (ID-like column left out, ...)
            exec(compiled, namespace)  # noqa: S102: the README's own code
        ran += 1
    assert ran >= 14
    # What the snippets wrote, where they said.
    for written in ("run/automater.json", "titanic.keras", "serving/saved_model.pb", "model.keras", "merged.yaml",
                    "predictions.parquet", "log.csv"):
        assert (tmp_path / written).exists(), written
    shutil.rmtree(tmp_path / "logs", ignore_errors=True)
