"""`movierec serving --workers N`: N processes on one port, each reached through its own
connections, supervised."""

import os
import signal
import subprocess
import sys
import time

import pytest

from client import ServingClient
from tests.fakes import publish_fake

MOVIEREC = [sys.executable, "-m", "client.cli"]


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
    yield process, line.split()[-1]
    if process.poll() is None:
        process.kill()
        for child in children(process.pid):
            os.kill(child, signal.SIGKILL)
    process.wait()


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
