import pytest
import yaml

from keras_defaults.defaults import BUILTIN_SOURCE, Config, builtin_path, column_settings, read_yaml
from keras_defaults.errors import ConfigError, ConfigTypeError


def test_builtin_table_has_the_starting_rows():
    config = Config.builtin()
    assert config.get("targets", "numerical", "activation") == "linear"
    assert config.get("targets", "numerical", "loss") == "mse"
    assert config.get("targets", "boolean", "activation") == "sigmoid"
    assert config.get("targets", "boolean", "loss") == "binary_crossentropy"
    assert config.get("targets", "categorical", "activation") == "softmax"
    assert config.get("targets", "categorical", "loss") == "sparse_categorical_crossentropy"
    assert config.get("optimizer", "name") == "adam"
    assert config.origin("optimizer", "name") == BUILTIN_SOURCE


def test_the_table_is_the_repository_file():
    assert builtin_path().name == "defaults.yaml"
    assert "targets" in yaml.safe_load(builtin_path().read_text())


def test_deep_merge_keeps_siblings_and_records_the_source():
    config = Config.build([("'mine.yaml'", {"targets": {"numerical": {"loss": "huber"}},
                                            "training": {"early_stopping": {"patience": 3}}})])
    assert config.get("targets", "numerical", "loss") == "huber"
    assert config.get("targets", "numerical", "activation") == "linear"
    assert config.get("training", "early_stopping", "patience") == 3
    assert config.get("training", "early_stopping", "restore_best_weights") is True
    assert config.origin("targets", "numerical", "loss") == "'mine.yaml'"
    assert config.origin("targets", "numerical", "activation") == BUILTIN_SOURCE
    assert config.origin("training") == "'mine.yaml'"


def test_later_layers_win():
    config = Config.build([("a", {"training": {"epochs": 5}}), ("b", {"training": {"epochs": 7}})])
    assert config.get("training", "epochs") == 7
    assert config.origin("training", "epochs") == "b"


def test_lists_replace_rather_than_extend():
    config = Config.build([("a", {"body": {"units": [8]}})])
    assert config.get("body", "units") == [8]


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(ConfigError, match=r"Unknown setting 'training.epoch' in 'x.yaml'. Did you mean 'epochs'\?"):
        Config.build([("'x.yaml'", {"training": {"epoch": 3}})])


def test_unknown_section_is_an_error():
    with pytest.raises(ConfigError, match=r"Unknown setting 'optimiser'.*Did you mean 'optimizer'"):
        Config.build([("a", {"optimiser": {"name": "adam"}})])


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigTypeError, match=r"'training.epochs' in a must be a int. Received: str 'ten'"):
        Config.build([("a", {"training": {"epochs": "ten"}})])


def test_a_section_given_a_scalar_is_an_error():
    with pytest.raises(ConfigTypeError, match=r"'training' in a must be a mapping"):
        Config.build([("a", {"training": 5})])


def test_column_entries_merge_and_validate_the_kind():
    config = Config.build([("a", {"columns": {"zip": {"kind": "categorical"}}}),
                           ("b", {"columns": {"zip": {"one_hot_max_levels": 3}}})])
    assert config.column("zip") == {"kind": "categorical", "one_hot_max_levels": 3}
    assert column_settings(config, "zip", "categorical", "input")["one_hot_max_levels"] == 3
    assert config.origin("columns", "zip", "kind") == "a (column 'zip')"
    with pytest.raises(ConfigError, match=r"Expected one of .*Received: kind='categorial'. Did you mean 'categorical'"):
        Config.build([("a", {"columns": {"zip": {"kind": "categorial"}}})])


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  epochs: 3\n  batch_size: [1, 2\n")
    with pytest.raises(ConfigError, match=r"Malformed YAML in '.*bad.yaml', line \d+"):
        read_yaml(path)


def test_yaml_is_read_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("training: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="Malformed YAML"):
        read_yaml(path)


def test_round_trip_through_yaml(tmp_path):
    config = Config.build([("a", {"optimizer": {"name": "adamw", "weight_decay": 0.001}})])
    path = tmp_path / "merged.yaml"
    path.write_text(config.to_yaml())
    again = Config.build([("merged", read_yaml(path))])
    assert again.data == config.data
