"""Draw the README's pictures into docs/: one PNG per plot and a screenshot of the report, from the shipped passenger
table (a classifier of `survived`, and a regression of `fare`).

    python scripts/make_docs_images.py            # needs matplotlib; the screenshot needs Chromium (installed by
                                                  # scripts/render_report.sh when missing)
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DPI = 80  # small files: the README shows them at about this size


def main():
    from keras_defaults.startup import import_tensorflow_quietly

    import_tensorflow_quietly()
    from sklearn.model_selection import train_test_split

    from keras_defaults import Automater, plots
    from keras_defaults.datasets import load_passengers

    DOCS.mkdir(exist_ok=True)
    passengers = load_passengers()
    train, test = train_test_split(passengers, test_size=0.25, random_state=0, stratify=passengers["survived"])
    survived = Automater(target="survived", seed=0, verbose=0).fit(train)
    fare = Automater(target="fare", seed=0, verbose=0).fit(train.drop(columns=["survived"]))
    pictures = {
        "plot_training_curves": plots.training_curves(survived),
        "plot_confusion_matrix": plots.confusion_matrix(survived, test),
        "plot_calibration": plots.calibration(survived, test),
        "plot_roc_curve": plots.roc_curve(survived, test),
        "plot_precision_recall": plots.precision_recall(survived, test),
        "plot_predicted_vs_actual": plots.predicted_vs_actual(fare, test),
        "plot_residuals": plots.residuals(fare, test),
        "plot_feature_importance": plots.feature_importance(survived.feature_importance(test, seed=0)),
    }
    for name, figure in pictures.items():
        figure.savefig(DOCS / f"{name}.png", dpi=DPI)
        print(f"Wrote docs/{name}.png")
    report = survived.report(DOCS / "report.html", test, seed=0)
    subprocess.run([str(ROOT / "scripts" / "render_report.sh"), str(report), str(DOCS / "report.png"), "1200",
                    "3000"], check=True)
    # 256 colours are plenty for text and flat plots, and cut the screenshot to about a third of its size.
    from PIL import Image  # matplotlib's own dependency

    with Image.open(DOCS / "report.png") as shot:
        shot.convert("RGB").quantize(colors=256).save(DOCS / "report.png", optimize=True)
    # The screenshot is what the README shows; the HTML itself (half a megabyte of base64) stays out of the repository.
    report.unlink()


if __name__ == "__main__":
    sys.exit(main())
