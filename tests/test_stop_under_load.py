"""A stop loses no call: on SIGTERM, after the drain, calls running finish and every other
call ends UNAVAILABLE (retryable), never CANCELLED, even for clients that ignore health."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from movierec.errors import Unavailable
from movierec.store.model_store import ModelStore
from movierec.training.spec import build_train_spec
from movierec_client import ServingClient, TrainerClient
from movierec_client.errors import MovierecClientError
from tests.fakes import publish_fake, train_forever
from tests.test_jobs import wait_until
from trainer_service.job_records import JobRecords
from trainer_service.jobs import JobManager, JobState

CLIENTS = 16
STOPS = 2
"""SIGTERMs per service (each a fresh process under a fresh closed loop)."""


def _start(kind: str, store, data_dir, flags) -> tuple[subprocess.Popen, str]:
    argv = [sys.executable, "-m", f"{kind}_service", "--store", str(store), "--port", "0"]
    argv += ["--drain-seconds", "0.3", "--grace-seconds", "3", *flags]
    if kind == "serving":
        argv += ["--poll-interval", "0.1"]
    env = {**os.environ, "MOVIEREC_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, line
    return process, line.split()[-1]


def _one_stop(kind: str, store, data_dir, flags) -> tuple[collections.Counter, int]:
    """Statuses of a closed loop of CLIENTS callers through one SIGTERM."""
    process, address = _start(kind, store, data_dir, flags)
    make = ServingClient if kind == "serving" else TrainerClient
    try:
        wait_until(lambda: _answers(make, address, kind), timeout=20, what="the first answer")
        codes: collections.Counter = collections.Counter()
        lock = threading.Lock()
        done = threading.Event()

        def closed_loop() -> None:
            with make(address, timeout=5, max_attempts=1) as client:
                while not done.is_set():
                    try:
                        _call(client, kind)
                        code = "OK"
                    except MovierecClientError as error:
                        code = error.code
                    with lock:
                        codes[code] += 1

        threads = [threading.Thread(target=closed_loop) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=30)
        time.sleep(0.2)  # the callers go on against the stopped server a moment
        done.set()
        for thread in threads:
            thread.join(timeout=20)
        return codes, status
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _call(client, kind: str) -> None:
    if kind == "serving":
        client.recommend("m", 10, k=3)
    else:
        client.list_models()


def _answers(make, address: str, kind: str) -> bool:
    try:
        with make(address, timeout=5) as client:
            _call(client, kind)
        return True
    except MovierecClientError:
        return False


@pytest.mark.service
@pytest.mark.parametrize(
    ("kind", "flags"), [("serving", ()), ("serving", ("--io", "aio")), ("trainer", ())]
)
def test_sigterm_under_callers_that_ignore_health_ends_calls_ok_or_unavailable(
    tmp_path, data_dir, kind, flags
):
    store = ModelStore(tmp_path / "store")
    publish_fake(store, "m")
    total: collections.Counter = collections.Counter()
    for _ in range(STOPS):
        codes, status = _one_stop(kind, store.root, data_dir, flags)
        assert status == 0
        assert codes["OK"] > 0, codes
        total.update(codes)
    assert set(total) <= {"OK", "UNAVAILABLE"}, total


@pytest.mark.service
def test_a_call_running_when_the_stop_begins_finishes_and_a_later_one_is_unavailable(
    store, start_serving
):
    publish_fake(store, "m")
    server, address = start_serving(store.root)
    real_status = server.registry.status

    def slow_status(name: str = ""):
        time.sleep(0.6)
        return real_status(name)

    server.registry.status = slow_status  # type: ignore[method-assign]
    outcomes: dict[str, object] = {}

    def running() -> None:
        with ServingClient(address, timeout=10, max_attempts=1) as client:
            outcomes["running"] = client.status("m")[0].serving_version

    with ServingClient(address, timeout=10, max_attempts=1) as late:
        late.recommend("m", 10, k=1)  # connected before the stop
        caller = threading.Thread(target=running)
        caller.start()
        time.sleep(0.2)  # the call is in the handler
        stopper = threading.Thread(target=server.stop, args=(5,))
        stopper.start()
        time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(MovierecClientError) as refused:
            late.recommend("m", 10, k=1)
        assert refused.value.code == "UNAVAILABLE" and "stopping" in refused.value.message
        assert time.monotonic() - started < 3
        caller.join(10)
        stopper.join(10)
    assert outcomes["running"] == 1


def test_a_stream_of_a_queued_job_ends_unavailable_when_the_manager_closes(tmp_path):
    records = JobRecords(tmp_path / "jobs.sqlite3")  # a queued job outlives the manager
    manager = JobManager(ModelStore(tmp_path / "store"), job_target=train_forever, records=records)
    running = manager.submit(build_train_spec("m")).job_id
    queued = manager.submit(build_train_spec("m")).job_id
    wait_until(lambda: manager.get(running).state is JobState.RUNNING, what="RUNNING")
    seen: dict[str, object] = {}

    def watch(job_id: str) -> None:
        try:
            seen[job_id] = [event.job.state for event in manager.watch(job_id)][-1]
        except Unavailable as error:
            seen[job_id] = error

    watchers = [threading.Thread(target=watch, args=(job,)) for job in (running, queued)]
    for thread in watchers:
        thread.start()
    time.sleep(0.3)
    manager.close()
    for thread in watchers:
        thread.join(10)
    assert seen[running] is JobState.FAILED
    assert isinstance(seen[queued], Unavailable) and "stays QUEUED" in str(seen[queued])
