"""Sources: DataFrames and CSV/Parquet files, paths, globs, directories and lists of them."""

from pathlib import Path

import pandas as pd
import pytest

from conftest import mixed_frame, write_parts
from keras_defaults import Automater, sources
from keras_defaults.errors import DataError


def test_sources_are_paths_globs_directories_and_lists(tmp_path):
    write_parts(mixed_frame(60), tmp_path / "d", parts=2)
    files = [tmp_path / "d" / "part0.parquet", tmp_path / "d" / "part1.parquet"]
    assert sources.resolve_files(str(tmp_path / "d" / "*.parquet")).paths == files
    assert sources.resolve_files(tmp_path / "d").paths == files
    assert sources.resolve_files([str(f) for f in files]).paths == files
    assert sources.is_file_source("x.csv") and sources.is_file_source([Path("a.csv")])
    assert not sources.is_file_source(pd.DataFrame()) and not sources.is_file_source([])


def test_bad_sources_say_what_is_wrong(tmp_path):
    with pytest.raises(DataError, match="No file matches"):
        sources.resolve_files(str(tmp_path / "*.parquet"))
    with pytest.raises(DataError, match="not found"):
        sources.resolve_files(tmp_path / "missing.csv")
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(DataError, match="expected .csv or .parquet"):
        sources.resolve_files(tmp_path / "notes.json")
    mixed_frame(10).to_csv(tmp_path / "a.csv", index=False)
    mixed_frame(10).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match="mix formats"):
        sources.resolve_files([tmp_path / "a.csv", tmp_path / "b.parquet"])


def test_a_file_lacking_a_column_is_named(tmp_path):
    data = mixed_frame(100)
    data.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    data.iloc[50:].drop(columns=["cat"]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv.*\['cat'\]"):
        Automater(target="binary").prepare(str(tmp_path / "*.csv"))
    data.iloc[50:].assign(extra=1.0).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv' has column\(s\) \['extra'\]"):
        Automater(target="binary").prepare(str(tmp_path / "*.csv"))
