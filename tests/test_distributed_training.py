"""Two training workers on loopback (tf.distribute.MultiWorkerMirroredStrategy) give the
model one worker gives; only the chief publishes; a dead worker fails the run; a
terminated worker removes its training rows."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from movierec.store.model_store import ModelStore
from movierec.training.spec import build_train_spec
from trainer_service.job_workers import free_ports

pytestmark = [pytest.mark.slow, pytest.mark.service]


def start_workers(tmp_path, data_dir, spec, count=2, timeout_seconds=60.0):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec.to_dict()))
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(count))
    # TMPDIR: a killed worker's training rows stay in the test's folder.
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "-1",
        "TMPDIR": str(tmp_path),
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "movierec.training.worker", "--spec", str(spec_file)]
            + ["--workers", workers, "--index", str(index), "--store", str(tmp_path / "store")]
            + ["--data-dir", str(data_dir), "--timeout-seconds", str(timeout_seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for index in range(count)
    ]


def spec_for(objective):
    # Three epochs, over which validation improves by 0.02 NDCG@10 or more each: at a
    # near-tie between two epochs (after a fourth, within 0.002), restoring the best
    # weights may pick either epoch on two workers, whose sums round differently.
    return build_train_spec(
        "m",
        kind="dot",
        objective=objective,
        hyperparameters={"epochs": 3, "validation_fraction": 0.05, "patience": 2},
    )


@pytest.mark.parametrize("objective", ["rating", "retrieval"])
def test_two_workers_match_one_and_only_the_chief_publishes(tmp_path, data_dir, objective):
    from movierec.training.job import run_training

    spec = spec_for(objective)
    single = run_training(spec, ModelStore(tmp_path / "single"), data_dir)
    processes = start_workers(tmp_path, data_dir, spec)
    outputs = [p.communicate(timeout=240) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err[-2000:] for _, err in outputs]
    chief, worker = (json.loads(out.strip().splitlines()[-1]) for out, _ in outputs)
    assert chief["version"] == 1 and worker["version"] == 0
    assert ModelStore(tmp_path / "store").list_versions("m") == [1]
    manifest = ModelStore(tmp_path / "store").read_manifest("m", 1)
    assert manifest["workers"] == 2
    assert len(chief["epochs"]) == len(single.epochs)
    if objective == "rating":
        assert chief["metrics"]["rmse"] == pytest.approx(single.metrics["rmse"], abs=0.005)
    assert chief["metrics"]["ndcg@10"] == pytest.approx(single.metrics["ndcg@10"], abs=0.01)


def test_a_dead_worker_fails_the_run_and_nothing_is_published(tmp_path, data_dir):
    spec = build_train_spec("m", kind="dot", objective="rating", hyperparameters={"epochs": 200})
    chief, worker = start_workers(tmp_path, data_dir, spec, timeout_seconds=10.0)
    # Both have joined the cluster once each has written its rows (a fixed wait was too
    # short where importing TensorFlow alone took 12-15 s on a loaded machine).
    deadline = time.monotonic() + 180
    while len(list(tmp_path.glob("movierec-rows-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # and are training
    assert chief.poll() is None and worker.poll() is None
    worker.send_signal(signal.SIGKILL)
    try:
        _, err = chief.communicate(timeout=120)
    finally:
        if chief.poll() is None:
            chief.kill()
        worker.wait()
    assert chief.returncode == 1
    assert "error: worker 0:" in err
    assert ModelStore(tmp_path / "store").list_versions("m") == []
    # The killed worker's rows stay where it wrote them; the failed chief removed its own.
    assert len(list(tmp_path.glob("movierec-rows-*"))) == 1


def test_a_terminated_worker_removes_its_training_rows(tmp_path, data_dir):
    hyperparameters = {"epochs": 200, "patience": 0}  # trains until stopped
    spec = build_train_spec("m", kind="dot", objective="rating", hyperparameters=hyperparameters)
    (worker,) = start_workers(tmp_path, data_dir, spec, count=1)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("movierec-rows-*/rows-*.bin")):
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(2)  # fitting
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 143, err[-2000:]
    assert list(tmp_path.glob("movierec-rows-*")) == []
    assert ModelStore(tmp_path / "store").list_versions("m") == []
