"""Pinned tests of every private Keras/TensorFlow use in `keras_defaults.compat`: each fails loudly when a Keras
release moves what the package relies on, so that the tested range in compat and pyproject.toml is kept honest."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_defaults import compat
from keras_defaults.errors import ConfigError


def _vectorizer(output_mode="tf_idf"):
    return keras.layers.TextVectorization(max_tokens=50, output_mode=output_mode)


TEXTS = np.array(["red fox jumps", "the lazy dog", "red dog", "", "über naïve fox fox"])


def test_the_installed_keras_is_one_the_tests_cover():
    # A Keras outside the range runs the public fallbacks; widen TESTED_KERAS (and pyproject.toml) only after the
    # whole suite has passed on the new release.
    assert compat.is_tested(), (keras.version(), compat.TESTED_KERAS)
    assert not compat.is_tested((3, compat.TESTED_KERAS[1][1] + 1)) and not compat.is_tested((2, 15))


def test_fast_adapt_finds_the_text_layer_internals_it_writes():
    layer = _vectorizer()
    assert compat.fast_adapt_available(layer)
    assert callable(layer._preprocess)
    lookup = layer._lookup_layer
    for table in (lookup.token_counts, lookup.token_document_counts):
        assert callable(table.insert) and callable(table.lookup)
    assert isinstance(lookup.num_documents, tf.Variable)


@pytest.mark.parametrize("output_mode", ["tf_idf", "multi_hot"])
def test_the_public_fallback_learns_what_the_fast_path_learns(monkeypatch, output_mode):
    fast = _vectorizer(output_mode)
    compat.adapt(fast, TEXTS)
    monkeypatch.setattr(compat, "is_tested", lambda version=None: False)
    public = _vectorizer(output_mode)
    assert not compat.fast_adapt_available(public)
    compat.adapt(public, TEXTS)
    assert public.get_vocabulary() == fast.get_vocabulary()
    np.testing.assert_allclose(public(tf.constant(TEXTS)).numpy(), fast(tf.constant(TEXTS)).numpy(), rtol=1e-6)


def test_idf_weights_come_through_the_public_saving_hook():
    layer = _vectorizer()
    compat.adapt(layer, TEXTS)
    weights = compat.idf_weights(layer)
    assert len(weights) == len(layer.get_vocabulary())
    np.testing.assert_allclose(weights, layer._lookup_layer.idf_weights_const.numpy(), rtol=1e-7)


def test_the_multi_worker_fixes_find_the_trainer_internals_they_replace():
    trainer = compat._trainer_module()
    assert list(inspect.signature(trainer.reduce_per_replica).parameters) == ["values", "strategy", "reduction"]
    assert list(inspect.signature(trainer._collective_all_reduce_multi_worker).parameters) == ["strategy"]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert list(inspect.signature(model._maybe_symbolic_build).parameters) == ["iterator", "data_batch"]
    assert "data_batch" in inspect.signature(model._symbolic_build).parameters


def test_a_keras_without_those_internals_is_refused_with_the_versions_to_use(monkeypatch):
    class Trainer:  # a trainer module that moved its internals away
        pass

    monkeypatch.setattr(compat, "_trainer_module", lambda: Trainer)
    with pytest.raises(ConfigError, match=r"multi_worker needs Keras 3\.\d+ to 3\.\d+.*lacks \['reduce_per_replica'"):
        compat.average_logs_across_workers()


@pytest.mark.parametrize("ngrams", [None, 2])
def test_the_fast_path_counts_across_batches_as_keras_adapt_does(monkeypatch, ngrams):
    # Batches of 2 rows: a token's term and document counts add up across batches; repeated tokens in one row (and
    # repeated rows) count once per row in the document counts.
    texts = np.array(["fox fox fox", "red fox", "", "red red dog", "dog", "fox fox fox", "the red fox dog"] * 3,
                     dtype=object)

    def layer():
        return keras.layers.TextVectorization(max_tokens=8, output_mode="tf_idf", ngrams=ngrams)

    fast = layer()
    compat.adapt(fast, texts, batch_size=2)
    monkeypatch.setattr(compat, "is_tested", lambda version=None: False)
    public = layer()
    compat.adapt(public, texts)
    assert public.get_vocabulary() == fast.get_vocabulary()
    np.testing.assert_array_equal(compat.idf_weights(public), compat.idf_weights(fast))
