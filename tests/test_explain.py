"""explain(): every row says where its choices came from: the table, which file, a column entry or an argument."""

import yaml

from keras_defaults import Automater
from keras_defaults.explain import sources


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
    assert rows["body"].source == "units: overrides= argument; other settings: defaults.yaml"
    assert rows["training"].source == f"early_stopping.patience: '{path}'; other settings: defaults.yaml"


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
