import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_defaults.encoders.text import adapt


@pytest.mark.parametrize("output_mode, ngrams, max_tokens", [
    ("tf_idf", None, 2000), ("tf_idf", 2, 5), ("multi_hot", None, 5), ("count", 2, 2000)])
def test_fast_adapt_learns_what_keras_adapt_learns(output_mode, ngrams, max_tokens):
    rng = np.random.default_rng(0)
    words = np.array(["Red", "fox,", "jumps!", "the", "a", "dog", "über", "naïve", "x-y", "42"])
    texts = np.array([" ".join(rng.choice(words, rng.integers(0, 7))) for _ in range(600)] + ["", "  "])

    def layer():
        return keras.layers.TextVectorization(max_tokens=max_tokens, output_mode=output_mode, ngrams=ngrams)

    reference, fast = layer(), layer()
    reference.adapt(tf.constant(texts), batch_size=128)
    adapt(fast, texts, batch_size=100)  # batches that split the data differently
    assert fast.get_vocabulary() == reference.get_vocabulary()
    if output_mode == "tf_idf":
        np.testing.assert_allclose(fast._lookup_layer.idf_weights_const.numpy(),
                                   reference._lookup_layer.idf_weights_const.numpy(), rtol=1e-6)
    np.testing.assert_allclose(fast(tf.constant(texts[:50])).numpy(), reference(tf.constant(texts[:50])).numpy(),
                               rtol=1e-6)
