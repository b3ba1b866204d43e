"""The three models (preprocessor, network, served) and how they are wired."""

import keras
import numpy as np

from conftest import FAST
from keras_defaults import Automater
from keras_defaults.model import layer_name, network_heads, signature_name


def test_preprocessor_has_no_trainable_weights(fitted_binary):
    auto, _ = fitted_binary
    assert auto.preprocessor_.trainable_weights == []
    assert auto.network_.trainable_weights


def test_served_model_takes_one_raw_input_per_used_column(fitted_binary):
    auto, _ = fitted_binary
    used = {name for name, p in auto.profiles_.items() if p.kind != "ignore"}
    assert set(auto.model.input) == used


def test_ensemble_members_train_side_by_side_and_are_averaged(frame):
    overrides = {**FAST, "body": {"units": [8], "ensemble": 3}}
    auto = Automater(target=["label", "price"], overrides=overrides, seed=0, verbose=0).fit(
        frame.drop(columns=["binary"]))
    network_outputs = set(auto.network_.output)
    assert network_outputs == {f"{t}__member{i}" for t in ("label", "price") for i in range(3)}
    assert {f"{t}__member{i}_loss" for t in ("label", "price") for i in range(3)} <= set(auto.history_)
    # The served label probabilities are the mean of the members' softmax outputs.
    encoded = auto._encode(frame.head(4))
    members = auto.network_.predict(encoded, verbose=0)
    expected = np.mean([members[f"label__member{i}"] for i in range(3)], axis=0)
    np.testing.assert_allclose(auto.predict_proba(frame.head(4))["label"].to_numpy(), expected, atol=1e-6)


def test_network_heads_names():
    targets = {"y": object()}
    assert list(network_heads(targets, 1)) == ["y"]
    assert list(network_heads(targets, 2)) == ["y__member0", "y__member1"]


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
