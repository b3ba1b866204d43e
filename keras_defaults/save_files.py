"""The files of a saved run: named here, apart from the Automater that writes them, so that the command line can name
them in its help without loading TensorFlow."""

STATE_FILE = "automater.json"
MODEL_FILE = "model.keras"
# The merged configuration as YAML, which the command line writes beside a save (load does not read it).
CONFIG_FILE = "config.yaml"
# The trials of `keras-defaults tune`, one row each (load does not read it).
TUNING_FILE = "tuning_results.csv"


def is_save_folder(path):
    """A directory holding exactly what `save` writes, and what the command line writes beside it (the
    configuration, a search's trials; an empty one counts too): a run saved again into its own folder replaces it."""
    return path.is_dir() and {p.name for p in path.iterdir()} <= {STATE_FILE, MODEL_FILE, CONFIG_FILE, TUNING_FILE}
