"""explain(): every row says where its choices came from: the table, which file, a column entry or an argument."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from keras_defaults import Automater
from keras_defaults.explain import COLUMNS, _short_samples, sources


def _explained(tmp_path, frame):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({
        "targets": {"numerical": {"loss": {"name": "huber", "delta": 0.5}}},
        "optimizer": {"name": "adamw", "weight_decay": 0.0001},
        "training": {"early_stopping": {"patience": 4}},
        "columns": {"text": {"max_tokens": 40}, "num_int": {"kind": "categorical"}},
    }))
    auto = Automater(target="price", config=path, column_types={"cat": "categorical"},
                     overrides={"body": {"units": [8]}, "inputs": {"categorical": {"one_hot_max_levels": 3}}})
    auto.prepare(frame.drop(columns=["label", "binary"]))
    table = auto.explain()
    return path, {row.column: row for row in table.itertuples()}


def test_every_row_has_a_source(tmp_path, frame):
    _, rows = _explained(tmp_path, frame)
    assert all(row.source for row in rows.values())
    assert {"price", "num", "text", "optimizer", "body", "training"} <= set(rows)


def test_target_row_names_the_file_for_the_loss_and_the_table_for_the_rest(tmp_path, frame):
    path, rows = _explained(tmp_path, frame)
    assert "loss huber(delta=0.5)" in rows["price"].choice
    assert rows["price"].source == f"kind: inference; loss: '{path}'; other settings: defaults.yaml"


def test_input_rows_name_inference_column_entries_and_arguments(tmp_path, frame):
    path, rows = _explained(tmp_path, frame)
    assert rows["num"].source == "kind: inference; settings: defaults.yaml"
    assert rows["text"].source == (f"kind: inference; max_tokens: column entry in '{path}'; "
                                   f"other settings: defaults.yaml")
    assert rows["num_int"].source.startswith(f"kind: column entry in '{path}'; one_hot_max_levels: overrides= "
                                             f"argument")
    assert rows["cat"].source.startswith("kind: column entry in column_types= argument")


def test_model_rows_name_each_setting_source(tmp_path, frame):
    path, rows = _explained(tmp_path, frame)
    assert rows["optimizer"].choice == "adamw(learning_rate=0.001, weight_decay=0.0001)"
    assert rows["optimizer"].source == f"name, weight_decay: '{path}'; other settings: defaults.yaml"
    assert re.fullmatch(r"units: overrides= argument; numerical_embedding: body\.numerical_embedding_min_rows "
                        r"\([\d,]+ training rows; periodic from 700\); other settings: defaults\.yaml",
                        rows["body"].source), rows["body"].source
    # the frame's 160 rows are under training.small_data_below_rows (round 39): the batch size says which rule set it
    assert rows["training"].source == (f"early_stopping.patience: '{path}'; batch_size: training.small_data_batch_size "
                                       f"(160 training rows; below 700); other settings: defaults.yaml")


def test_fit_arguments_are_named_in_the_training_row(frame):
    from conftest import FAST

    auto = Automater(target="binary", overrides=FAST, seed=0, verbose=0).fit(frame.drop(columns=["price", "label"]),
                                                                             epochs=1)
    training = auto.explain().set_index("column").loc["training"]
    assert "epochs: fit() argument" in training.source and "batch_size: overrides= argument" in training.source


def test_sources_groups_by_origin():
    assert sources({"a": "defaults.yaml", "b": "defaults.yaml"}) == "defaults.yaml"
    assert sources({"a": "'x.yaml'", "b": "defaults.yaml", "c": "'x.yaml'"}) == (
        "a, c: 'x.yaml'; other settings: defaults.yaml")
    assert sources({"a": "defaults.yaml"}, [("kind", "inference")]) == "kind: inference; settings: defaults.yaml"


# ---------------------------------------------------------------------------------------------------- the text report
LONG_NAME = "passenger_cabin_assignment_as_recorded_by_the_purser_at_departure"
LONG_VALUE = "a remarkably long free-form remark about the passenger's cabin, luggage and travel companions"


def _long_frame(rows=2000):
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    return pd.DataFrame({
        LONG_NAME: rng.choice([f"{LONG_VALUE} #{i}" for i in range(3)], rows),
        "deck": rng.choice(["A", "B", "C"], rows),
        "fare_paid_in_pounds_sterling": np.exp(x),
        "price": x + rng.normal(scale=0.1, size=rows),
    })


def _prepared(frame):
    auto = Automater(target="price", column_types={"deck": "categorical"})
    auto.prepare(frame)
    return auto.explain()


def test_the_text_report_fits_100_columns_and_shortens_samples():
    text = _prepared(_long_frame()).to_text()
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100, "\n".join(line for line in lines if len(line) > 100)
    assert [line for line in lines if not line.startswith(" ")] == ["Targets", "Inputs", "Model"]
    assert f"  {LONG_NAME}" in lines  # a long name on a line of its own, whole
    assert LONG_VALUE[:17] + "..." in text and LONG_VALUE[:30] not in text
    assert "-> adam(learning_rate=0.001)" in text and "source: kind: column entry in column_types= argument" in text


def test_a_share_below_1_percent_is_said_as_a_count():
    table = _prepared(_long_frame())
    why = table.set_index("column").loc[LONG_NAME, "why"]
    assert why.startswith("dtype ") and "3 distinct values in 2,000 rows; 0 missing" in why
    assert "% of rows" not in table.to_text()
    few_rows = _prepared(_long_frame(rows=100)).set_index("column").loc[LONG_NAME, "why"]
    assert "3 distinct values (3% of rows)" in few_rows


def test_explain_stays_a_dataframe_that_prints_as_the_report():
    table = _prepared(_long_frame())
    assert isinstance(table, pd.DataFrame) and list(table.columns) == COLUMNS
    assert table.set_index("column").loc[LONG_NAME, "kind"] == "categorical"
    assert LONG_VALUE[:27] + "..." in table.set_index("column").loc[LONG_NAME, "why"]  # the frame keeps the sample
    assert str(table) == repr(table) == table.to_text()
    assert repr(table[["column", "kind"]]) == table[["column", "kind"]].to_string(index=False)
    with pytest.raises(ValueError, match="width of at least 59"):
        table.to_text(width=40)


def test_numbers_in_samples_are_shown_to_four_digits():
    assert _short_samples("dtype float64, 9 distinct values; 0 missing; e.g. [0.1257302210933933, -3, None]") == (
        "dtype float64, 9 distinct values; 0 missing; e.g. [0.1257, -3, None]")
    assert _short_samples("entirely missing") == "entirely missing"
