"""The files of a saved run: named here, apart from the Automater that writes them, so that the command line can name
them in its help without loading TensorFlow."""

STATE_FILE = "automater.json"
MODEL_FILE = "model.keras"
# The merged configuration as YAML, which the command line writes beside a save (load does not read it).
CONFIG_FILE = "config.yaml"


def is_save_folder(path):
    """A directory holding exactly what `save` writes, and the command line's configuration beside it (an empty
    one counts too): a run saved again into its own folder replaces it."""
    return path.is_dir() and {p.name for p in path.iterdir()} <= {STATE_FILE, MODEL_FILE, CONFIG_FILE}
