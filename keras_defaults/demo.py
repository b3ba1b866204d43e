"""The demo: fit, evaluate, explain and export a model on the shipped passenger table.

Run: python -m keras_defaults.demo [--out DIR] [--verbose auto|0|1|2|epoch]
(TensorFlow's start-up notices are left out; TF_CPP_MIN_LOG_LEVEL=0 shows them.)
"""

import argparse
import time
import warnings
from pathlib import Path

from keras_defaults.startup import import_tensorflow_quietly


def _verbose(value):
    """The Automater's `verbose` values, as written on a command line ("2" is the number 2)."""
    return int(value) if value.isdigit() else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_output", help="where to write the exported model (default: %(default)s)")
    parser.add_argument("--verbose", type=_verbose, default="auto",
                        help="training output: auto (a line per phase and one progress line; the default), 0 (none), "
                             "2 or epoch (Keras's line per epoch)")
    args = parser.parse_args(argv)
    # The package's notes point at the caller's line; the demo's caller is Python's runner, so say only the note.
    warnings.formatwarning = lambda message, category, *_, **__: f"note: {message}\n"

    import_tensorflow_quietly()  # before the imports below load TensorFlow with its notices
    from sklearn.model_selection import train_test_split

    import keras
    from keras_defaults import Automater
    from keras_defaults.datasets import load_passengers

    passengers = load_passengers()
    train, test = train_test_split(passengers, test_size=0.25, random_state=0, stratify=passengers["survived"])
    print(f"Passenger table: {len(passengers)} rows x {passengers.shape[1]} columns; "
          f"training on {len(train)}, holding out {len(test)}.\n")

    started = time.perf_counter()
    auto = Automater(target="survived", seed=0, verbose=args.verbose).fit(train)
    fitted = time.perf_counter() - started

    print("\nWhat was chosen, and why:")
    print(auto.explain().to_text())
    refit = f", then on all the rows for {auto.refit_epochs_}" if auto.refit_epochs_ else ""
    print(f"\nTrained for {len(auto.history_['loss'])} epochs{refit}, in {fitted:.1f} s.")
    print("Held-out metrics:")
    for name, value in auto.evaluate(test).items():
        print(f"  {name:<10} {value:.4f}")

    out = Path(args.out)
    exported = auto.export(out / "passengers.keras")
    served = auto.export(out / "passengers_serving", format="tf_saved_model")
    saved = auto.save(out / "passengers_automater")
    reloaded = keras.saving.load_model(exported)
    print(f"\nExported the compiled model to {exported} (reloaded in safe mode: {reloaded.name}),")
    print(f"a TensorFlow SavedModel to {served}, and the Automater to {saved}.")
    print("\nFirst predictions on held-out rows:")
    preview = test.head(5)[["pclass", "sex", "age", "fare"]].copy()
    preview["predicted"] = auto.predict(test.head(5))
    preview["p(survived=1)"] = auto.predict_proba(test.head(5))[1].round(3)
    preview["actual"] = test.head(5)["survived"]
    print(preview.to_string())


if __name__ == "__main__":
    main()
