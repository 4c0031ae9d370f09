"""`movierec serving --workers N`: N processes on one port, each reached through its own
connections, supervised."""

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from movierec_client import ServingClient
from tests.fakes import publish_fake

pytestmark = pytest.mark.service

MOVIEREC = [sys.executable, "-m", "movierec_client.cli"]


def children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(line) for line in out.split()}


def workers_reached(address: str, channels: int, calls: int = 40) -> int:
    """How many processes answered: each loaded version 1 at its own moment."""
    with ServingClient(address, channels=channels, timeout=10) as client:
        moments = {client.status("m")[0].versions[0].loaded_at for _ in range(calls)}
    return len(moments)


@pytest.fixture
def group(store):
    publish_fake(store, "m")
    process = subprocess.Popen(
        [
            *MOVIEREC,
            "serving",
            "--workers",
            "2",
            "--port",
            "0",
            "--store",
            str(store.root),
            "--poll-interval",
            "0.2",
            "--drain-seconds",
            "0",
            "--grace-seconds",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    assert "listening on" in line, line
    started = children(process.pid)
    yield process, line.split()[-1]
    # Found while the supervisor lives: after it, they are orphans no longer its children.
    workers = started | children(process.pid)
    if process.poll() is None:
        process.kill()
    process.wait()
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_calls_reach_every_worker_through_several_connections(group):
    _, address = group
    assert workers_reached(address, channels=16) == 2
    assert workers_reached(address, channels=1) == 1, "one connection reaches one process"


def test_a_dead_worker_is_replaced_and_a_stop_ends_them_all(group):
    process, address = group
    first = children(process.pid)
    assert len(first) == 2
    os.kill(min(first), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(children(process.pid) - first) < 1 or len(children(process.pid)) < 2:
        assert time.monotonic() < deadline, "the worker was not restarted"
        time.sleep(0.1)
    with ServingClient(address, channels=4, timeout=10) as client:
        client.wait_for_version("m", 1, timeout=20)
        assert client.recommend("m", 10, 2).model.version == 1
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not children(process.pid)


def test_workers_stop_when_their_supervisor_is_killed(group):
    process, address = group
    workers = children(process.pid)
    assert len(workers) == 2
    process.kill()  # SIGKILL: the supervisor passes nothing on
    process.wait()
    deadline = time.monotonic() + 15
    while [pid for pid in workers if alive(pid)]:
        assert time.monotonic() < deadline, "orphaned workers kept serving"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie left for init to reap counts as gone)."""
    try:
        return "State:\tZ" not in pathlib.Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
