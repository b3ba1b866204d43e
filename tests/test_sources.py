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


UNREADABLE = {
    "empty.csv": (b"", "EmptyDataError: No columns to parse"),
    "ragged.csv": (b"x,y\n" + b"1,2\n" * 30 + b"1,2,3\n" + b"4,5\n" * 30, "ParserError: .*Expected 2 fields in line 32"),
    "latin1.csv": ("x,y\n".encode() + "".join(f"caf\xe9 {i},{i}\n" for i in range(40)).encode("latin-1"),
                   "UnicodeDecodeError"),
    "damaged.parquet": (b"PAR1" + b"\0" * 64, "ArrowInvalid"),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_file_is_named_with_the_readers_words_and_the_fix(tmp_path, name):
    # pandas and pyarrow raised their own errors (EmptyDataError, ParserError, UnicodeDecodeError, ArrowInvalid),
    # which named neither the file nor what to do.
    content, said = UNREADABLE[name]
    path = tmp_path / name
    path.write_bytes(content)
    fix = "df.to_parquet" if name.endswith(".parquet") else "pd.read_csv\\(path, sep=';', encoding='latin-1'\\)"
    fmt = "Parquet" if name.endswith(".parquet") else "CSV"
    expected = f"Cannot read '{path}' as {fmt} \\({said}.*{fix}"
    with pytest.raises(DataError, match=expected):
        Automater(target="y", verbose=0).fit(str(path))
    with pytest.raises(DataError, match=expected):
        sources.read_table(path)  # the command line's reader
    if name == "ragged.csv":
        return  # predict reads only the model's columns (usecols), where pandas lets a row's extra field pass
    fitted = Automater(target="y", verbose=0, overrides={"training": {"epochs": 1}}).fit(
        pd.DataFrame({"x": [1.0, 2.0, 3.0] * 20, "y": [0.0, 1.0, 3.0] * 20}))
    with pytest.raises(DataError, match=expected):
        fitted.predict(str(path))


def test_a_file_read_with_the_wrong_delimiter_is_named_with_the_right_one(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("x;y\n" + "".join(f"{i};{i % 7}\n" for i in range(60)))
    with pytest.raises(DataError, match=r"Columns: \['x;y'\]\. Its one column looks like several joined by ';': "
                                        r"read the file with pd.read_csv\(path, sep=';'\)"):
        Automater(target="y", verbose=0).fit(str(path))
