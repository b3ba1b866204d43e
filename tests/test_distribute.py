import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FAST, mixed_frame
from keras_defaults import Automater, distribute
from keras_defaults.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def run_python(code, *args, env=None, timeout=300):
    """Start a Python process on this checkout; TensorFlow's devices and cluster are set per process. A process that
    crashes prints every thread's Python stack (faulthandler), so that a failure says where."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), "TF_CPP_MIN_LOG_LEVEL": "3",
                   "CUDA_VISIBLE_DEVICES": "", "PYTHONFAULTHANDLER": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def communicate(process, timeout=300):
    """A started process's (return code, stdout, stderr); the test fails if it runs past `timeout` seconds."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"timed out after {timeout}s: {err[-3000:]}")
    return process.returncode, out, err


def result_of(code, out, err):
    """The JSON line a process printed last, once it has exited cleanly."""
    assert code == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def finish(process, timeout=300):
    return result_of(*communicate(process, timeout))


def test_an_unknown_distribution_is_refused_before_training():
    with pytest.raises(ConfigError, match=r"Received: distribution='mirrorred'. Did you mean 'mirrored'\?"):
        Automater(target="binary", overrides=FAST).fit(mixed_frame(), distribution="mirrorred")


def test_tf_config_is_checked(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster_spec() is None and distribute.is_chief()
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert not distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {**cluster, "chief": ["127.0.0.1:3"]},
                                                "task": {"type": "chief", "index": 0}}))
    assert distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 2}}))
    with pytest.raises(ConfigError, match="task index 2"):
        distribute.cluster_spec()
    monkeypatch.setenv("TF_CONFIG", "{cluster: nope}")
    with pytest.raises(ConfigError, match="not valid JSON"):
        distribute.cluster_spec()


MIRRORED = """
import json, sys, tempfile
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from conftest import FAST, mixed_frame
from keras_defaults import Automater

data = mixed_frame(300).drop(columns=["price"])
result = {}
for cache_mb in (2048, 0):
    settings = {**FAST, "training": {**FAST["training"], "feature_cache_mb": cache_mb}}
    auto = Automater(target=["label", "binary"], overrides=settings, seed=0, verbose=0).fit(data, distribution="mirrored")
    saved = tempfile.mkdtemp()
    auto.save(saved)
    before, after = auto.predict_proba(data), Automater.load(saved).predict_proba(data)
    result[auto.feeding_] = {
        "replicas": auto.network_.distribute_strategy.num_replicas_in_sync,
        "devices": list(auto.network_.distribute_strategy.extended.worker_devices),
        "epochs": len(auto.history_["loss"]),
        "reload_gap": max(float(np.abs(before[k].to_numpy() - after[k].to_numpy()).max()) for k in before),
    }
print(json.dumps(result))
"""


def test_mirrored_training_on_two_logical_cpus():
    result = finish(run_python(MIRRORED))
    for feeding in ("cached", "streamed"):
        assert result[feeding]["replicas"] == 2
        assert [d.split("/")[-1] for d in result[feeding]["devices"]] == ["device:CPU:0", "device:CPU:1"]
        assert result[feeding]["epochs"] == 3 and result[feeding]["reload_gap"] < 1e-6


WORKER = """
import json, os, sys
from conftest import FAST, mixed_frame
from keras_defaults import Automater, distribute

out, cache_mb = sys.argv[1], int(sys.argv[2])
settings = {**FAST, "training": {**FAST["training"], "feature_cache_mb": cache_mb}}
data = mixed_frame(400).drop(columns=["price", "label"])
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
if index == 1:
    # This worker's copy of the data has the targets of neighbouring rows swapped: the same class counts, so the
    # same statistics and split sizes, but other labels, so that two separate runs would learn two models.
    data["binary"] = data["binary"].to_numpy().reshape(-1, 2)[:, ::-1].reshape(-1)
auto = Automater(target="binary", overrides=settings, seed=0, verbose=0).fit(data, distribution="multi_worker")
auto.predict_proba(data).to_csv(os.path.join(out, f"worker{index}.csv"))
if distribute.is_chief():
    auto.save(os.path.join(out, "model"))
print(json.dumps({"replicas": auto.network_.distribute_strategy.num_replicas_in_sync, "chief": distribute.is_chief(),
                  "feeding": auto.feeding_, "history": auto.history_}))
"""


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train_two_workers(folder, cache_mb):
    """Run WORKER as the two workers of a cluster on loopback, writing to `folder`: their (code, stdout, stderr)."""
    folder.mkdir()
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [run_python(WORKER, folder, cache_mb,
                          env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
               for i in range(2)]
    return [communicate(worker) for worker in workers]


@pytest.mark.parametrize("cache_mb", [2048, 0], ids=["cached", "streamed"])
def test_two_workers_train_one_model(tmp_path, cache_mb):
    outcomes = train_two_workers(tmp_path / "first", cache_mb)
    # A worker of this test died of a segmentation fault (native code: no Python error) in 2 of about 16 runs of the
    # whole suite on a busy 2-core machine (2026-12-04), and in none of 20 pairs run alone; the cause is not known.
    # A worker killed by a signal is reported, with the stacks faulthandler printed, and the pair is trained once
    # more in fresh processes on fresh ports; any other failure, or a second crash, fails the test.
    crashed = [f"worker {i}: signal {-code}\n{err[-2000:]}" for i, (code, _, err) in enumerate(outcomes) if code < 0]
    folder = tmp_path / "first"
    if crashed:
        warnings.warn("A multi-worker training process crashed; trained again. " + "\n".join(crashed))
        folder = tmp_path / "again"
        outcomes = train_two_workers(folder, cache_mb)
    results = [result_of(*outcome) for outcome in outcomes]
    assert [r["replicas"] for r in results] == [2, 2] and [r["chief"] for r in results] == [True, False]
    assert results[0]["feeding"] == ("cached" if cache_mb else "streamed")
    # One model: the same logs (averaged across workers) and the same weights on both, though each worker read other
    # labels (see WORKER): only gradients averaged across the workers make their weights equal.
    assert results[0]["history"] == results[1]["history"] and len(results[0]["history"]["loss"]) == 3
    first, second = (pd.read_csv(folder / f"worker{i}.csv", index_col=0) for i in range(2))
    pd.testing.assert_frame_equal(first, second)
    # The chief's save loads and predicts like any other.
    data = mixed_frame(400).drop(columns=["price", "label"])
    loaded = Automater.load(folder / "model")
    np.testing.assert_allclose(loaded.predict_proba(data).to_numpy(), first.to_numpy(), atol=1e-6)
    assert set(loaded.predict(data)) <= {0, 1}
