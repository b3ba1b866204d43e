import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import keras_defaults
from conftest import FAST
from keras_defaults import Automater
from keras_defaults.defaults import (BUILTIN_SOURCE, Config, builtin_path, column_settings, read_yaml,
                                     setting_origin, validate_column_entry)
from keras_defaults.errors import ConfigError, ConfigTypeError


def test_builtin_table_has_the_starting_rows():
    config = Config.builtin()
    assert config.get("targets", "numerical", "activation") == "linear"
    assert config.get("targets", "numerical", "loss") == "mse"
    assert config.get("targets", "boolean", "activation") == "sigmoid"
    assert config.get("targets", "boolean", "loss") == "binary_crossentropy"
    assert config.get("targets", "categorical", "activation") == "softmax"
    assert config.get("targets", "categorical", "loss") == {"name": "sparse_categorical_crossentropy",
                                                            "label_smoothing": 0.1}
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
    with pytest.raises(ConfigTypeError, match=r"'training.epochs' in a must be an int. Received: str 'ten'"):
        Config.build([("a", {"training": {"epochs": "ten"}})])


def test_a_section_given_a_scalar_is_an_error():
    with pytest.raises(ConfigTypeError, match=r"'training' in a must be a mapping"):
        Config.build([("a", {"training": 5})])


def test_column_entries_merge_and_validate_the_kind():
    config = Config.build([("a", {"columns": {"zip": {"kind": "categorical"}}}),
                           ("b", {"columns": {"zip": {"one_hot_max_levels": 3}}})])
    assert config.column("zip") == {"kind": "categorical", "one_hot_max_levels": 3}
    assert column_settings(config, "zip", "categorical", "input")["one_hot_max_levels"] == 3
    assert config.origin("columns", "zip", "kind") == "column entry in a"
    assert config.origin("columns", "zip", "one_hot_max_levels") == "column entry in b"
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


# ---------------------------------------------------------------------------------------------------- values
@pytest.mark.parametrize("setting, value", [
    (("targets", "numerical", "log_transform"), True),
    (("targets", "numerical", "log_transform"), False),
    (("targets", "numerical", "log_transform"), "auto"),
    (("inputs", "categorical", "embedding_dim"), 8),
    (("inputs", "categorical", "embedding_dim"), None),
    (("body", "large_data_units"), [128, 128]),
    (("body", "large_data_units"), []),
    (("body", "large_data_units"), None),
    (("body", "large_data_min_rows"), 0),
    (("body", "linear_path"), True),
    (("body", "ensemble_mlp"), "per_member"),
    (("body", "small_data_ensemble"), 8),
    (("body", "small_data_ensemble"), None),
    (("body", "small_data_below_rows"), 0),
    (("body", "small_data_dropout"), 0.2),
    (("body", "small_data_dropout"), 0),  # an int where a fraction is expected
    (("body", "small_data_dropout"), None),
    (("body", "small_data_periodic_dim"), 4),
    (("body", "small_data_periodic_dim"), None),
    (("body", "small_data_periodic_frequencies"), 16),
    (("training", "small_data_batch_size"), 32),
    (("training", "small_data_batch_size"), None),
    (("training", "small_data_validation_split"), 0.3),
    (("training", "small_data_validation_split"), None),
    (("training", "small_data_below_rows"), 0),
    (("training", "validation_split"), 0),
    (("optimizer", "learning_rate"), 1),  # an int where the table has a float
    (("targets", "numerical", "loss"), {"name": "huber", "delta": 0.5}),
    (("targets", "categorical", "metrics"), ["accuracy", {"name": "top_k_categorical_accuracy", "k": 2}]),
])
def test_values_each_setting_accepts(setting, value):
    mapping = value
    for key in reversed(setting):
        mapping = {key: mapping}
    config = Config.build([("a", mapping)])
    assert config.get(*setting) == value


@pytest.mark.parametrize("setting, value, error, message", [
    (("training", "epochs"), 2.5, ConfigTypeError, r"'training.epochs' in a must be an int. Received: float 2.5"),
    (("training", "epochs"), None, ConfigTypeError, r"'training.epochs' in a must be an int. Received: null"),
    (("training", "epochs"), True, ConfigTypeError, r"must be an int. Received: bool True"),
    (("training", "epochs"), 0, ConfigError, r"'training.epochs' in a must be at least 1. Received: int 0"),
    (("training", "validation_split"), 1.5, ConfigError, r"must be a fraction in \[0, 1\)"),
    (("inputs", "numerical", "zero_indicator_min_share"), 1.0, ConfigError, r"must be a fraction in \[0, 1\)"),
    (("inputs", "numerical", "zero_indicator"), "yes", ConfigTypeError, r"must be a bool"),
    (("inputs", "numerical", "clip_to_training_range"), "yes", ConfigTypeError, r"must be a bool"),
    (("inputs", "numerical", "training_range_margin"), -0.5, ConfigError,
     r"'inputs.numerical.training_range_margin' in a must be at least 0"),
    (("inputs", "numerical", "training_range_margin"), 1e6, ConfigError, r"training_range_margin.*must be at most 1000"),
    (("training", "refit_average"), 1.0, ConfigError, r"'training.refit_average' in a must be a fraction in \[0, 1\)"),
    (("training", "refit_start"), "best", ConfigError, r"'training.refit_start'.*Expected one of .*'fresh', 'stopped'"),
    (("training", "refit_fraction"), 0.0, ConfigError, r"'training.refit_fraction' in a must be positive"),
    (("training", "refit_fraction"), 20.0, ConfigError, r"'training.refit_fraction' in a must be at most 10"),
    (("body", "units"), ["64"], ConfigTypeError, r"'body.units' in a must be a list of ints. Received: list \['64'\]"),
    (("body", "units"), 64, ConfigTypeError, r"'body.units' in a must be a list"),
    (("body", "large_data_units"), 128, ConfigTypeError,
     r"'body.large_data_units' in a must be null or a list of ints, e.g. \[128, 128\]. Received: int 128"),
    (("body", "large_data_units"), [128, "64"], ConfigTypeError, r"must be null or a list of ints"),
    (("body", "large_data_units"), [128, 0], ConfigError, r"'body.large_data_units' in a must be at least 1"),
    (("body", "large_data_min_rows"), -1, ConfigError, r"'body.large_data_min_rows' in a must be at least 0"),
    (("body", "large_data_min_rows"), None, ConfigTypeError, r"must be an int. Received: null"),
    (("body", "linear_path"), "yes", ConfigTypeError, r"'body.linear_path' in a must be a bool. Received: str 'yes'"),
    (("body", "linear_path"), None, ConfigTypeError, r"'body.linear_path' in a must be a bool. Received: null"),
    (("body", "ensemble_mlp"), "per-member", ConfigError,
     r"'body.ensemble_mlp' in a: Expected one of .*'per_member'.*Received: ensemble_mlp='per-member'. Did you mean "
     r"'per_member'\?"),
    (("body", "small_data_ensemble"), 0, ConfigError, r"'body.small_data_ensemble' in a must be at least 1"),
    (("body", "small_data_ensemble"), "8", ConfigTypeError, r"'body.small_data_ensemble' in a must be null or an int"),
    (("body", "small_data_below_rows"), -1, ConfigError, r"'body.small_data_below_rows' in a must be at least 0"),
    (("body", "small_data_dropout"), 1.0, ConfigError,
     r"'body.small_data_dropout' in a must be a fraction in \[0, 1\)"),
    (("body", "small_data_dropout"), "0.2", ConfigTypeError,
     r"'body.small_data_dropout' in a must be null or a number"),
    (("body", "small_data_dropout"), True, ConfigTypeError, r"must be null or a number. Received: bool True"),
    (("body", "small_data_periodic_dim"), 2.5, ConfigTypeError,
     r"'body.small_data_periodic_dim' in a must be null or an int"),
    (("body", "small_data_periodic_frequencies"), None, ConfigTypeError,
     r"'body.small_data_periodic_frequencies' in a must be an int. Received: null"),
    (("training", "small_data_batch_size"), 0, ConfigError, r"'training.small_data_batch_size' in a must be at least 1"),
    (("training", "small_data_batch_size"), 3.5, ConfigTypeError,
     r"'training.small_data_batch_size' in a must be null or an int"),
    (("training", "small_data_below_rows"), -5, ConfigError, r"'training.small_data_below_rows' in a must be at least 0"),
    (("training", "small_data_validation_split"), 1, ConfigError,
     r"'training.small_data_validation_split' in a must be a fraction in \[0, 1\)"),
    (("training", "small_data_validation_split"), "0.3", ConfigTypeError,
     r"'training.small_data_validation_split' in a must be null or a number"),
    (("targets", "numerical", "log_transform"), "sometimes", ConfigError,
     r"Expected one of \{.*'auto'.*\}. Received: log_transform='sometimes'"),
    (("targets", "numerical", "log_transform"), 1, ConfigError, r"Received: log_transform=1"),
    (("inputs", "categorical", "embedding_dim"), "eight", ConfigTypeError, r"must be null or an int"),
    (("inputs", "numerical", "scaling"), "standrd", ConfigError, r"Did you mean 'standard'\?"),
    (("inputs", "text", "output_mode"), "tfidf", ConfigError, r"Received: output_mode='tfidf'. Did you mean 'tf_idf'"),
    (("targets", "numerical", "loss"), 3, ConfigTypeError, r"must be a name or a mapping with a 'name'"),
    (("targets", "numerical", "loss"), {"delta": 0.5}, ConfigTypeError, r"must be a name or a mapping with a 'name'"),
    (("targets", "numerical", "metrics"), "mae", ConfigTypeError, r"must be a list of metrics, e.g. \[mae\]"),
    (("optimizer", "name"), 3, ConfigTypeError, r"'optimizer.name' in a must be a str"),
    (("optimizer", "learning_rate"), -0.1, ConfigError, r"must be positive"),
])
def test_wrong_values_are_errors(setting, value, error, message):
    mapping = value
    for key in reversed(setting):
        mapping = {key: mapping}
    with pytest.raises(error, match=message):
        Config.build([("a", mapping)])


def test_python_values_become_plain_yaml():
    config = Config.build([("a", {"body": {"units": (np.int64(8), 4)}, "training": {"epochs": np.int64(5)}})])
    assert config.get("body", "units") == [8, 4] and type(config.get("body", "units")[0]) is int
    assert yaml.safe_load(config.to_yaml())["training"]["epochs"] == 5
    with pytest.raises(ConfigTypeError, match=r"'targets.numerical.loss' in a must be plain data.*Name Keras objects"):
        Config.build([("a", {"targets": {"numerical": {"loss": object()}}})])


def test_an_empty_section_in_yaml_changes_nothing(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  # epochs: 10\ncolumns:\n")
    config = Config.build([("'mine.yaml'", read_yaml(path))])
    assert config.data == Config.builtin().data


def test_a_loss_is_replaced_whole_not_merged():
    config = Config.build([("a", {"targets": {"numerical": {"loss": {"name": "huber", "delta": 0.5}}}}),
                           ("b", {"targets": {"numerical": {"loss": "mae"}}})])
    assert config.get("targets", "numerical", "loss") == "mae"
    assert config.origin("targets", "numerical", "loss") == "b"


def test_documentation_maps_take_notes():
    config = Config.build([("a", {"targets": {"numerical": {"losses": {"poisson": "counts"}}}})])
    assert config.get("targets", "numerical", "losses")["poisson"] == "counts"


def test_unknown_nested_key_suggests():
    with pytest.raises(ConfigError, match=r"Unknown setting 'training.early_stopping.patiense' in a. "
                                          r"Did you mean 'patience'\?"):
        Config.build([("a", {"training": {"early_stopping": {"patiense": 3}}})])


def test_top_level_list_and_binary_files_are_errors(tmp_path):
    listed = tmp_path / "list.yaml"
    listed.write_text("- training\n")
    with pytest.raises(ConfigError, match=r"must hold a mapping.*Received a list in '.*list.yaml'"):
        read_yaml(listed)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml(binary)
    with pytest.raises(ConfigError, match=r"Config file not found: '.*missing.yaml'"):
        read_yaml(tmp_path / "missing.yaml")


def test_malformed_yaml_reports_the_exact_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  epochs: 3\noptimizer: {name: adam\ninputs: {}\n")
    with pytest.raises(ConfigError, match=r"'.*bad.yaml', line 4, column 7"):
        read_yaml(path)


def test_the_package_never_calls_unsafe_yaml_loading():
    package = Path(keras_defaults.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text()
        assert "yaml.load(" not in text and "yaml.unsafe_load" not in text and "yaml.Loader" not in text, source
        # A loader named anywhere is one of YAML's safe ones.
        assert set(re.findall(r"yaml\.(\w*Loader)\b", text)) <= {"SafeLoader", "CSafeLoader"}, source


def test_yaml_is_read_by_a_safe_loader_that_builds_no_python_objects(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("training: !!python/object/apply:os.system ['echo unsafe']\n")
    with pytest.raises(ConfigError, match=r"Malformed YAML in '.*evil.yaml', line 1.*python/object/apply"):
        read_yaml(path)


# ---------------------------------------------------------------------------------------------------- columns
def test_a_column_entry_beats_its_kinds_section_for_that_column_only():
    config = Config.build([("'a.yaml'", {"inputs": {"text": {"max_tokens": 100}},
                                         "columns": {"notes": {"max_tokens": 7}}})])
    assert column_settings(config, "notes", "text", "input")["max_tokens"] == 7
    assert column_settings(config, "other", "text", "input")["max_tokens"] == 100
    assert setting_origin(config, "notes", "text", "input", "max_tokens") == "column entry in 'a.yaml'"
    assert setting_origin(config, "other", "text", "input", "max_tokens") == "'a.yaml'"


def test_a_keyword_argument_beats_a_column_entry_from_a_file_and_is_recorded():
    config = Config.build([("'a.yaml'", {"columns": {"notes": {"max_tokens": 7}}}),
                           ("overrides= argument", {"inputs": {"text": {"max_tokens": 50}}})])
    assert column_settings(config, "notes", "text", "input")["max_tokens"] == 50
    # Recorded in the entry, so the merged config written to YAML reproduces it.
    assert config.column("notes")["max_tokens"] == 50
    assert setting_origin(config, "notes", "text", "input", "max_tokens") == "overrides= argument"
    again = Config.build([("merged", yaml.safe_load(config.to_yaml()))])
    assert column_settings(again, "notes", "text", "input")["max_tokens"] == 50


def test_a_column_entry_given_as_an_argument_beats_the_arguments_section():
    config = Config.build([("overrides= argument", {"inputs": {"text": {"max_tokens": 50}},
                                                    "columns": {"notes": {"max_tokens": 9}}})])
    assert column_settings(config, "notes", "text", "input")["max_tokens"] == 9
    assert setting_origin(config, "notes", "text", "input", "max_tokens") == "column entry in overrides= argument"


def test_column_entry_keys_and_values_are_checked_once_the_kind_is_known():
    config = Config.build([("'a.yaml'", {"columns": {"notes": {"max_token": 5}}})])
    with pytest.raises(ConfigError, match=r"Unknown setting 'max_token' for input column 'notes' of kind 'text' "
                                          r"\(from column entry in 'a.yaml'\). Did you mean 'max_tokens'\?"):
        validate_column_entry(config, "notes", "text", "input")
    config = Config.build([("'a.yaml'", {"columns": {"notes": {"max_tokens": "many"}}})])
    with pytest.raises(ConfigTypeError, match=r"'columns.notes.max_tokens' in column entry in 'a.yaml' must be an "
                                              r"int. Received: str 'many'"):
        validate_column_entry(config, "notes", "text", "input")
    config = Config.build([("'a.yaml'", {"columns": {"price": {"log_transform": True, "loss": "mae"}}})])
    validate_column_entry(config, "price", "numerical", "target")
    with pytest.raises(ConfigError, match=r"Unknown setting 'log_transform' for input column 'price' of kind "
                                          r"'numerical'"):
        validate_column_entry(config, "price", "numerical", "input")


# ---------------------------------------------------------------------------------------------------- via the Automater
# The same layers as users write them: a YAML file, keyword arguments, and fit's own arguments.
def _write(tmp_path, name, mapping):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(mapping))
    return path


def _inputs(frame):
    return frame.drop(columns=["label", "binary"])


def test_precedence_from_file_to_keyword_arguments(tmp_path, frame):
    first = _write(tmp_path, "first.yaml", {"inputs": {"text": {"max_tokens": 100}}, "training": {"epochs": 9},
                                            "columns": {"cat": {"kind": "text"}}})
    second = _write(tmp_path, "second.yaml", {"training": {"epochs": 11, "batch_size": 32},
                                              "columns": {"text": {"max_tokens": 30}, "num": {"kind": "ignore"}}})
    auto = Automater(target="price", config=[first, second], column_types={"cat": "categorical"},
                     overrides={"training": {"batch_size": 16}}).prepare(_inputs(frame))
    config = auto.config_
    assert config.get("training", "epochs") == 11 and config.origin("training", "epochs") == f"'{second}'"
    assert config.get("training", "batch_size") == 16
    assert config.origin("training", "batch_size") == "overrides= argument"
    assert auto.input_settings_["text"]["max_tokens"] == 30  # a column entry beats its kind's section
    assert auto.profiles_["num"].kind == "ignore"
    assert auto.profiles_["cat"].kind == "categorical"  # column_types= beats the file's column entry
    assert config.origin("columns", "cat", "kind") == "column entry in column_types= argument"


def test_keyword_arguments_beat_every_file_setting(tmp_path, frame):
    path = _write(tmp_path, "mine.yaml", {"columns": {"text": {"max_tokens": 30}}, "training": {"epochs": 50}})
    auto = Automater(target="price", config=path, overrides={"inputs": {"text": {"max_tokens": 12}}})
    auto.prepare(_inputs(frame))
    assert auto.input_settings_["text"]["max_tokens"] == 12
    assert auto.config_.column("text")["max_tokens"] == 12
    assert auto.config_.origin("columns", "text", "max_tokens") == "overrides= argument"


def test_a_mapping_as_config_is_named_in_origins(frame):
    auto = Automater(target="price", config={"targets": {"numerical": {"loss": "mae"}}}).prepare(_inputs(frame))
    assert auto.targets_["price"].settings["loss"] == "mae"
    assert auto.config_.origin("targets", "numerical", "loss") == "config= mapping"


def test_a_column_entry_can_set_a_targets_own_head(frame):
    auto = Automater(target=["price", "num_int"], overrides={"columns": {"price": {"loss": "huber"}}})
    auto.prepare(frame.drop(columns=["label", "binary"]))
    assert auto.targets_["price"].settings["loss"] == "huber"
    assert auto.targets_["num_int"].settings["loss"] == "mse"


@pytest.mark.parametrize("overrides, message", [
    ({"targets": {"numerical": {"loss": "hubber"}}},
     r"Unknown loss for target 'price' \(from overrides= argument\). Expected one of \{.*'huber'.*\}. "
     r"Received: loss='hubber'. Did you mean 'huber'\?"),
    ({"targets": {"numerical": {"loss": {"name": "huber", "delt": 1.0}}}},
     r"Unknown argument 'delt' for loss 'huber' for target 'price'.*Did you mean 'delta'\? Its arguments: delta"),
    ({"targets": {"numerical": {"metrics": ["mae", "rmse"]}}},
     r"Unknown metric for target 'price'.*Expected one of \{.*'root_mean_squared_error'.*Received: metric='rmse'"),
    ({"targets": {"numerical": {"activation": "rellu"}}},
     r"Unknown activation for target 'price'.*Received: activation='rellu'. Did you mean 'relu'\?"),
    ({"body": {"activation": "gelu2"}}, r"Unknown activation for the body.*Did you mean 'gelu'\?"),
    ({"optimizer": {"name": "adamx"}},
     r"Unknown optimizer \(from overrides= argument\). Expected one of \{.*'adamw'.*\}. "
     r"Received: optimizer.name='adamx'. Did you mean 'adamax'\?"),
    ({"optimizer": {"name": "adam", "momentum": 0.9}},
     r"Unknown argument 'momentum' for optimizer 'adam'.*Its arguments: learning_rate"),
    ({"targets": {"numerical": {"loss": "binary_crossentropy"}}},
     r"Loss 'binary_crossentropy' is for boolean targets, but target 'price' is numerical \(loss from overrides= "
     r"argument\). Expected one of \{.*'mse'.*\}"),
    ({"targets": {"numerical": {"loss": "mean_squared_logarithmic_error"}}}, r"Add standardize: false"),
])
def test_bad_keras_choices_fail_before_any_data_is_encoded(frame, overrides, message):
    with pytest.raises(ConfigError, match=message):
        Automater(target="price", overrides=overrides).prepare(_inputs(frame))


@pytest.mark.parametrize("loss, message", [
    ("huber", r"Loss 'huber' is for numerical targets, but target 'label' is categorical"),
    ("kl_divergence", r"Loss 'kl_divergence' is not one its labels can be encoded for, but target 'label' is "
                      r"categorical.*Expected one of \{.*'categorical_focal_crossentropy'"),
    ("binary_crossentropy", r"is for boolean targets, but target 'label' is categorical"),
])
def test_a_loss_that_cannot_fit_a_categorical_target(frame, loss, message):
    with pytest.raises(ConfigError, match=message):
        Automater(target="label", overrides={"targets": {"categorical": {"loss": loss}}}).prepare(frame)


def test_a_loss_named_by_its_class_is_compiled_by_its_function_name(frame):
    auto = Automater(target="label", overrides={"targets": {"categorical": {"loss": "CategoricalCrossentropy"}}})
    auto.prepare(frame)
    assert auto.targets_["label"].settings["loss"] == "categorical_crossentropy"


def test_a_column_entry_for_a_missing_column_suggests_the_close_one(tmp_path, frame):
    path = _write(tmp_path, "mine.yaml", {"columns": {"txt": {"kind": "text"}}})
    with pytest.raises(ConfigError, match=r"The column entry in '.*mine.yaml' names 'txt', which is not in the "
                                          r"DataFrame. Did you mean 'text'\?"):
        Automater(target="price", config=path).prepare(frame)
    with pytest.raises(ConfigError, match=r"The column entry in column_types= argument names 'nope'"):
        Automater(target="price", column_types={"nope": "text"}).prepare(frame)


def test_config_errors_stop_fit_before_training(monkeypatch, tmp_path, frame):
    import keras

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(keras.Model, "fit", no_training)
    bad = _write(tmp_path, "bad.yaml", {"targets": {"numerical": {"loss": "binary_crossentropy"}}})
    with pytest.raises(ConfigError, match="is for boolean targets"):
        Automater(target="price", config=bad).fit(_inputs(frame))
    with pytest.raises(ConfigError, match=r"Unknown setting 'training.epoch' in .*bad2.yaml"):
        Automater(target="price", config=_write(tmp_path, "bad2.yaml", {"training": {"epoch": 2}})).fit(frame)
    with pytest.raises(ConfigTypeError, match=r"'training.epochs' in fit\(\) argument must be an int"):
        Automater(target="price").fit(_inputs(frame), epochs="3")


def test_any_keras_loss_and_optimizer_with_arguments_trains(frame, tmp_path):
    """One tiny fit: a Huber loss with its delta, categorical focal cross-entropy, AdamW with weight decay."""
    overrides = {**FAST, "targets": {"numerical": {"loss": {"name": "huber", "delta": 0.5}, "metrics": ["mae"]},
                                     "categorical": {"loss": "categorical_focal_crossentropy",
                                                     "metrics": ["accuracy", {"name": "top_k_categorical_accuracy",
                                                                              "k": 2}]}},
                 "optimizer": {"name": "adamw", "learning_rate": 0.002, "weight_decay": 0.0001}}
    auto = Automater(target=["price", "label"], overrides=overrides, seed=0, verbose=0)
    auto.fit(frame.drop(columns=["binary"]))
    network = auto.network_
    assert network.optimizer.__class__.__name__ == "AdamW"
    assert float(network.optimizer.weight_decay) == pytest.approx(0.0001)
    losses = network.loss
    # Huber with delta 0.5 on an error of 1: 0.5 * (1 - 0.5 / 2) = 0.375 (with the default delta 1 it is 0.5).
    assert float(losses["price"](np.zeros((1, 1)), np.ones((1, 1)))) == pytest.approx(0.375)
    # The default ensemble trains each member on the loss: the named function, wrapped once.
    assert losses["label"].loss.__name__ == "categorical_focal_crossentropy"
    assert np.all(np.isfinite(auto.history_["loss"]))
    assert any("top_k" in key for key in auto.history_)
    assert set(auto.predict(frame)["label"]) <= {"high", "low", "mid"}
    np.testing.assert_allclose(auto.predict_proba(frame)["label"].sum(axis=1), 1.0, atol=1e-5)
    # Objects built from names and arguments save and load in safe mode like the defaults do.
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.predict(frame), auto.predict(frame))


def test_the_merged_config_written_to_yaml_repeats_the_run(tmp_path, frame):
    data = _inputs(frame)
    mine = _write(tmp_path, "mine.yaml", {"targets": {"numerical": {"loss": "huber"}},
                                          "columns": {"text": {"max_tokens": 40}, "cat": {"kind": "categorical"}}})
    first = Automater(target="price", config=mine, column_types={"code": "numerical"}, seed=0, verbose=0,
                      overrides={**FAST, "inputs": {"text": {"max_tokens": 25}}}).fit(data, epochs=2)
    merged = first.config_.save(tmp_path / "merged.yaml")
    assert merged.read_text().startswith("# keras_defaults: the fully merged configuration")
    second = Automater(target="price", config=merged, seed=0, verbose=0).fit(data)
    assert second.config_.data == first.config_.data
    assert second.input_settings_ == first.input_settings_ and second.profiles_ == first.profiles_
    assert len(second.history_["loss"]) == 2
    np.testing.assert_array_equal(second.predict(data).to_numpy(), first.predict(data).to_numpy())


def test_the_example_file_prepares_the_passenger_table():
    from keras_defaults.datasets import load_passengers

    example = Path(__file__).resolve().parent.parent / "examples" / "my_defaults.yaml"
    passengers = load_passengers()
    auto = Automater(target="survived", config=example).prepare(passengers)
    assert auto.targets_["survived"].settings["loss"] == "binary_focal_crossentropy"
    assert auto.profiles_["passenger_id"].kind == "ignore"
    assert auto.profiles_["siblings_spouses"].kind == "numerical"
    assert auto.input_settings_["notes"]["max_tokens"] == 500
    assert auto.input_settings_["fare"]["scaling"] == "standard"
    assert auto.config_.get("optimizer", "name") == "adamw"
    assert auto.config_.origin("columns", "notes", "max_tokens") == f"column entry in '{example}'"
    regression = Automater(target="fare", config=example).prepare(passengers.dropna(subset=["fare"]))
    assert regression.targets_["fare"].settings["loss"] == {"name": "huber", "delta": 0.5}


@pytest.mark.parametrize("overrides, match", [
    ({"optimizer": {"learning_rate": float("inf")}}, "learning_rate.*must be a finite number"),
    ({"optimizer": {"learning_rate": 1e300}}, "learning_rate.*must be at most 10"),
    ({"training": {"batch_size": 2 ** 70}}, "batch_size.*must be at most 2,147,483,647"),
    ({"training": {"reduce_lr_factor": float("nan")}}, "reduce_lr_factor.*must be a finite number"),
])
def test_non_finite_and_absurd_numbers_are_refused_with_the_range(overrides, match):
    with pytest.raises(ConfigError, match=match):
        Config.build([("overrides= argument", overrides)])


def billion_laughs(levels=8):
    """Each level lists the one before nine times: a few hundred bytes that unfold into 9**levels values."""
    lines = ["optimizer:", "  a0: &a0 [lol]"]
    for level in range(1, levels + 1):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, match", [
    (billion_laughs(), "unfolds into more than 100,000 values"),
    ("optimizer:\n  name: &a [1, *a]\n", "refers to itself"),
    ("a:\n" + "".join("  " * i + " b:\n" for i in range(1, 60)) + "  " * 60 + " c: 1\n", "nests deeper than 50"),
])
def test_yaml_made_to_exhaust_the_reader_is_refused(tmp_path, text, match):
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    assert path.stat().st_size < 4096
    with pytest.raises(ConfigError, match=match):
        read_yaml(path)


def test_a_huge_yaml_file_is_refused_and_messages_quote_values_briefly(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * (2 ** 20) + "\n")
    with pytest.raises(ConfigError, match="over the 1,048,576"):
        read_yaml(path)
    with pytest.raises(ConfigError) as raised:
        Config.build([("overrides= argument", {"training": {"refit": "y" * 10 ** 6}})])
    assert len(str(raised.value)) < 1000
    with pytest.raises(ConfigTypeError) as raised:
        Config.build([("overrides= argument", {"training": {"epochs": list(range(10 ** 6))}})])
    assert len(str(raised.value)) < 1000


def test_a_column_entry_named_by_a_number_is_traced_to_the_users_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("columns:\n  1: {kind: categorical}\n")
    frame = pd.DataFrame({"y": [0, 1] * 10, "x": range(20)})
    with pytest.raises(ConfigError, match=r"column entry in '.*mine.yaml' names '1', which is not in the DataFrame"):
        Automater("y", config=str(path)).prepare(frame)
