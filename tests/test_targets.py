"""Row weights: the user's (sample_weight=), by class label (class_weight=), and how they combine."""

import numpy as np
import pandas as pd
import pytest

from conftest import mixed_frame
from keras_defaults import defaults as table
from keras_defaults.errors import ConfigError, ConfigTypeError, DataError
from keras_defaults.targets import check_class_weight, fit_target, row_weights, sample_weights


@pytest.fixture(scope="module")
def targets():
    frame = mixed_frame()
    config = table.Config.build()
    return frame, {name: fit_target(frame[name], name, config, None) for name in ("label", "binary", "price")}


def test_row_weights_are_checked_numbers():
    assert row_weights([1, "2", 0.5], 3, "w").tolist() == [1.0, 2.0, 0.5]
    assert row_weights(pd.Series([1, 2]), 2, "w").dtype == np.float32
    for values, message in [([1, "a"], "not numbers.*'a'"), ([1, None], "missing for 1 row"),
                            ([1, -2], "-2.0.*at least 0"), ([1, np.inf], "finite"), ([0, 0], "zero"),
                            ([1], "1 weight.*2 rows")]:
        with pytest.raises(DataError, match=message):
            row_weights(values, 2, "w")


def test_class_weight_is_keyed_by_labels_or_by_target(targets):
    _, specs = targets
    single = {"label": specs["label"], "price": specs["price"]}
    assert check_class_weight({"high": 2}, single) == {"label": {"high": 2.0}}
    assert check_class_weight({"label": {"low": 3}}, single) == {"label": {"low": 3.0}}
    with pytest.raises(ConfigError, match="Did you mean 'high'"):
        check_class_weight({"hihg": 2}, single)
    with pytest.raises(ConfigError, match="several classification targets"):
        check_class_weight({"high": 2}, specs)
    with pytest.raises(ConfigError, match="finite number"):
        check_class_weight({"high": -1}, single)
    with pytest.raises(ConfigTypeError, match="mapping"):
        check_class_weight([2, 1], single)
    with pytest.raises(ConfigError, match="regression target"):
        check_class_weight({1: 2}, {"price": specs["price"]})


def test_class_weights_and_row_weights_multiply(targets):
    frame, specs = targets
    training = table.Training.from_config(table.Config.build())
    rows = np.linspace(0.5, 1.5, len(frame)).astype("float32")
    weights = sample_weights(frame, specs, training, rows, {"label": {"high": 4.0}, "binary": {1: 2.0}})
    expected_label = np.where(frame["label"] == "high", 4.0, 1.0) * rows
    np.testing.assert_allclose(weights["label"], expected_label, rtol=1e-6)
    np.testing.assert_allclose(weights["binary"], np.where(frame["binary"] == 1, 2.0, 1.0) * rows, rtol=1e-6)
    np.testing.assert_allclose(weights["price"], rows)  # a regression target gets the row weights alone
    assert sample_weights(frame, specs, training) is None  # class_weight: none, no row weights
