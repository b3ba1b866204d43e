"""keras_defaults.plots: each plot is a Figure whose drawn data match the model's predictions."""


import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk_metrics

pytest.importorskip("matplotlib", reason="the plots need matplotlib: pip install 'keras_defaults[plots]'")
from matplotlib.figure import Figure  # noqa: E402

from conftest import FAST  # noqa: E402

from keras_defaults import DataError, plots  # noqa: E402


@pytest.fixture(scope="module")
def binary(fitted_binary):
    auto, data = fitted_binary
    return auto, data.drop(columns=["price", "label"])


@pytest.fixture(scope="module")
def multi(fitted_multi):
    auto, data = fitted_multi
    return auto, data.drop(columns=["binary"])


def _codes(series, classes):
    return np.array([list(classes).index(v) for v in series])


def test_training_curves_mark_the_restored_epoch(binary):
    auto, _ = binary
    figure = plots.training_curves(auto)
    assert isinstance(figure, Figure)
    panels = {ax.get_title(): ax for ax in figure.axes}
    assert set(panels) == {"loss", "accuracy", "auc"}
    best = int(np.argmin(auto.history_["val_loss"])) + 1
    loss = panels["loss"]
    lines = {line.get_label(): line for line in loss.get_lines()}
    np.testing.assert_allclose(lines["training"].get_ydata(), auto.history_["loss"])
    np.testing.assert_allclose(lines["validation"].get_ydata(), auto.history_["val_loss"])
    marker = lines[f"best epoch ({best})"]
    assert list(marker.get_xdata()) == [best, best]
    assert loss.get_xlabel() == "epoch"
    assert f"restored from epoch {best}" in figure.get_suptitle()


def test_training_curves_without_validation_or_history(fitted_binary):
    from keras_defaults import Automater

    _, data = fitted_binary
    settings = {**FAST, "training": {**FAST["training"], "validation_split": 0.0}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data.drop(columns=["price", "label"]))
    figure = plots.training_curves(auto)
    loss = next(ax for ax in figure.axes if ax.get_title() == "loss")
    assert [line.get_label() for line in loss.get_lines()] == ["training"]  # no validation, no best-epoch line
    assert "no validation rows" in figure.get_suptitle()
    auto.build_model()  # trained outside fit from here: no history
    with pytest.raises(DataError, match="holds no training history"):
        plots.training_curves(auto)


def test_training_curves_without_epoch_metrics_draw_the_loss_alone(fitted_binary):
    from keras_defaults import Automater

    _, data = fitted_binary
    settings = {**FAST, "training": {**FAST["training"], "epoch_metrics": False}}
    auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data.drop(columns=["price", "label"]))
    panels = {ax.get_title(): ax for ax in plots.training_curves(auto).axes}
    assert set(panels) == {"loss"}
    lines = {line.get_label(): line for line in panels["loss"].get_lines()}
    np.testing.assert_allclose(lines["validation"].get_ydata(), auto.history_["val_loss"])


def test_training_curves_of_one_target_among_several(multi):
    auto, _ = multi
    assert {ax.get_title() for ax in plots.training_curves(auto).axes} >= {"loss", "label_loss", "price_loss"}
    titles = {ax.get_title() for ax in plots.training_curves(auto, target="price").axes}
    assert titles and all(t.startswith("price_") for t in titles)


def test_confusion_matrix_counts_are_sklearn_s(binary):
    auto, data = binary
    figure = plots.confusion_matrix(auto, data)
    ax = figure.axes[0]
    classes = auto.targets_["binary"].classes
    expected = sk_metrics.confusion_matrix(_codes(data["binary"], classes),
                                           _codes(auto.predict(data), classes), labels=[0, 1])
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(c) for c in classes]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"


def test_confusion_matrix_of_a_multiclass_target(multi):
    auto, data = multi
    ax = plots.confusion_matrix(auto, data, target="label").axes[0]
    classes = auto.targets_["label"].classes
    expected = sk_metrics.confusion_matrix(_codes(data["label"], classes),
                                           _codes(auto.predict(data)["label"], classes), labels=[0, 1, 2])
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)


def test_calibration_bins_the_positive_class_probability(binary):
    from sklearn.calibration import calibration_curve

    auto, data = binary
    ax = plots.calibration(auto, data, bins=5).axes[0]
    truth = _codes(data["binary"], auto.targets_["binary"].classes)
    fraction, mean = calibration_curve(truth, auto.predict_proba(data)[1], n_bins=5)
    curve = next(line for line in ax.get_lines() if line.get_label().startswith("binary = "))
    np.testing.assert_allclose(curve.get_xdata(), mean)
    np.testing.assert_allclose(curve.get_ydata(), fraction)
    assert ax.get_xlabel().startswith("Mean predicted probability")


def test_calibration_of_several_classes_draws_one_curve_each(multi):
    auto, data = multi
    ax = plots.calibration(auto, data, target="label").axes[0]
    curves = [line.get_label() for line in ax.get_lines() if line.get_label().startswith("label = ")]
    assert curves == [f"label = {c}" for c in auto.targets_["label"].classes]


def test_roc_and_precision_recall_curves(binary):
    auto, data = binary
    truth = _codes(data["binary"], auto.targets_["binary"].classes)
    score = auto.predict_proba(data)[1].to_numpy()
    roc = plots.roc_curve(auto, data).axes[0]
    fpr, tpr, _ = sk_metrics.roc_curve(truth, score)
    curve = roc.get_lines()[0]
    np.testing.assert_allclose(curve.get_xdata()[[0, -1]], [fpr[0], fpr[-1]])
    assert f"AUC = {sk_metrics.roc_auc_score(truth, score):.2f}" in curve.get_label()
    assert any("Chance" in line.get_label() for line in roc.get_lines())
    pr = plots.precision_recall(auto, data).axes[0]
    assert f"AP = {sk_metrics.average_precision_score(truth, score):.2f}" in pr.get_lines()[0].get_label()
    assert pr.get_xlabel().startswith("Recall") and pr.get_ylabel().startswith("Precision")


def test_regression_plots_show_each_row(multi):
    auto, data = multi
    predicted = auto.predict(data)["price"].to_numpy()
    ax = plots.predicted_vs_actual(auto, data, target="price").axes[0]
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(predicted))  # x: predicted; y: actual
    np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(data["price"]))
    ax = plots.residuals(auto, data, target="price").axes[0]
    residual = data["price"].to_numpy() - predicted
    np.testing.assert_allclose(np.sort(ax.collections[0].get_offsets()[:, 1]), np.sort(residual))


def test_rows_with_a_missing_target_are_left_out(binary):
    auto, data = binary
    holed = data.copy()
    holed.loc[holed.index[:10], "binary"] = np.nan
    assert plots.confusion_matrix(auto, holed).axes[0].images[0].get_array().sum() == len(data) - 10


@pytest.mark.parametrize("call, message", [
    (lambda auto, data: plots.confusion_matrix(auto, data),
     "predicts 2 targets: ['label', 'price']. Pass target= to choose"),
    (lambda auto, data: plots.confusion_matrix(auto, data, target="prise"), "Did you mean 'price'?"),
    (lambda auto, data: plots.residuals(auto, data, target="label"), "is for a regression target, but target "
     "'label' is categorical"),
    (lambda auto, data: plots.calibration(auto, data, target="price"), "is for a classification target, but "
     "target 'price' is numerical"),
    (lambda auto, data: plots.roc_curve(auto, data, target="label"), "are for a binary target, but target 'label' "
     "has 3 classes"),
    (lambda auto, data: plots.predicted_vs_actual(auto, data.drop(columns=["price"]), target="price"),
     "lacks target column(s) ['price']"),
])
def test_a_plot_that_does_not_fit_says_why(multi, call, message):
    auto, data = multi
    with pytest.raises(DataError) as raised:
        call(auto, data)
    assert message in str(raised.value)


def test_a_roc_curve_needs_both_classes(binary):
    auto, data = binary
    with pytest.raises(DataError, match="needs rows of both classes"):
        plots.roc_curve(auto, data[data["binary"] == 1])


def test_data_files_are_read_as_evaluate_reads_them(binary, tmp_path):
    auto, data = binary
    data.to_parquet(tmp_path / "held_out.parquet")
    from_file = plots.confusion_matrix(auto, tmp_path / "held_out.parquet").axes[0].images[0].get_array()
    np.testing.assert_array_equal(from_file, plots.confusion_matrix(auto, data).axes[0].images[0].get_array())


def test_feature_importance_bars_largest_on_top():
    table = pd.DataFrame({"importance": [0.2, 0.05, -0.01], "std": [0.01, 0.02, 0.005]},
                         index=pd.Index(["sex", "age", "ticket"], name="column"))
    table.attrs["metric"] = "accuracy"
    ax = plots.feature_importance(table).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ticket", "age", "sex"]  # drawn bottom-up
    np.testing.assert_allclose([bar.get_width() for bar in ax.patches], [-0.01, 0.05, 0.2])
    assert ax.get_xlabel() == "drop in accuracy when the column is shuffled"
    many = pd.DataFrame({"importance": np.arange(30.0), "std": 0.0}, index=[f"c{i}" for i in range(30)])
    ax = plots.feature_importance(many).axes[0]
    assert len(ax.patches) == plots.MOST_BARS and "top 20 of 30" in ax.get_title()
    table.attrs["metric"] = "rmse"  # an error: shuffling a useful column raises it
    assert plots.feature_importance(table).axes[0].get_xlabel() == "rise in rmse when the column is shuffled"
    with pytest.raises(DataError, match="pass one of them"):
        plots.feature_importance({"a": table, "b": table})


def test_without_matplotlib_the_error_names_the_extra(without_matplotlib):
    with pytest.raises(ImportError, match=r"needs matplotlib: pip install 'keras_defaults\[plots\]'"):
        plots.feature_importance(pd.DataFrame({"importance": [1.0]}, index=["a"]))
