"""The three models (preprocessor, network, served) and how they are wired."""

import keras

from conftest import FAST
from keras_defaults import Automater
from keras_defaults.model import layer_name, signature_name


def test_preprocessor_has_no_trainable_weights(fitted_binary):
    auto, _ = fitted_binary
    assert auto.preprocessor_.trainable_weights == []
    assert auto.network_.trainable_weights


def test_served_model_takes_one_raw_input_per_used_column(fitted_binary):
    auto, _ = fitted_binary
    used = {name for name, p in auto.profiles_.items() if p.kind != "ignore"}
    assert set(auto.model.input) == used


def test_names_for_keras_and_for_signatures():
    assert layer_name("age") == "age"
    assert layer_name("a/b").startswith("a_b_") and layer_name("a/b") != layer_name("a b")
    taken = set()
    assert signature_name("price (€)", taken) == "price____"
    assert signature_name("1st", taken) == "c_1st"
    assert signature_name("price (€)", taken) == "price_____2"


def test_build_model_is_compiled_and_untrained(frame):
    auto = Automater(target="binary", overrides=FAST, verbose=0).prepare(frame)
    model = auto.build_model()
    assert isinstance(model, keras.Model) and model.optimizer is not None
    assert int(model.optimizer.iterations.numpy()) == 0
