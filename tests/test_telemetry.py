"""Prometheus metrics of both services, and replicas on one store seen through them."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from movierec_client import NotFoundError, ServingClient, TrainerClient
from tests.fakes import publish_fake

MOVIEREC = [sys.executable, "-m", "movierec_client.cli"]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return answer.read().decode()


def sample(text: str, name: str, **labels) -> float:
    """The value of the one sample of `name` whose labels include `labels`."""
    found = []
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            found.append(float(match.group(2)))
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0]


@pytest.mark.parametrize("io", ["threads", "aio"])
def test_serving_metrics_count_calls_by_method_and_code(store, start_serving, io):
    publish_fake(store, "m")
    server, address = start_serving(store.root, metrics_port=0, io=io)
    with ServingClient(address, timeout=5) as client:
        for _ in range(3):
            client.recommend("m", 10, 2)
        with pytest.raises(NotFoundError):
            client.recommend("m", 99999, 2)
    not_found = dict(method="Recommend", code="NOT_FOUND")
    for _ in range(500):  # bounded: the asyncio server sends an aborted call's status
        # before the call's handler returns and counts it
        text = scrape(server.metrics_port)
        if "NOT_FOUND" in text:
            break
        time.sleep(0.01)
    ok = dict(method="Recommend", code="OK", service="serving")
    assert sample(text, "movierec_rpc_requests_total", **ok) == 3
    assert sample(text, "movierec_rpc_requests_total", **not_found) == 1
    assert sample(text, "movierec_rpc_latency_seconds_count", **ok) == 3
    assert sample(text, "movierec_rpc_latency_seconds_bucket", le="+Inf", **ok) == 3
    assert sample(text, "movierec_serving_version", model="m") == 1
    # The hand-made version's 3 users and 5 items, each with its OOV row: 4 + 6 lists of 6
    # entries of 12 bytes, one more for the popular items, and a count of 4 bytes per
    # list: 11 * 6 * 12 + 11 * 4 = 836
    lists = {"model": "m", "version": "1"}
    for _ in range(500):  # ranked on the watcher's thread as it starts; bounded
        text = scrape(server.metrics_port)
        if sample(text, "movierec_serving_top_lists_bytes", **lists):
            break
        time.sleep(0.01)
    assert sample(text, "movierec_serving_top_lists_bytes", **lists) == 836
    assert sample(text, "movierec_serving_load_failures_total") == 0
    assert sample(text, "movierec_serving_swaps_total") >= 1


@pytest.mark.service
def test_trainer_metrics_count_jobs_by_state(store, start_trainer):
    from tests.fakes import train_forever

    server, address = start_trainer(store.root, metrics_port=0)
    server.jobs.job_target = train_forever
    with TrainerClient(address, timeout=10) as client:
        job = client.train("m", kind="dot", epochs=5)
        deadline = time.monotonic() + 30
        while not client.get_job(job.job_id).epochs:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        text = scrape(server.metrics_port)
        client.cancel_job(job.job_id)
    assert sample(text, "movierec_trainer_jobs", state="RUNNING") == 1
    assert sample(text, "movierec_trainer_epochs_total") == 1
    assert sample(text, "movierec_rpc_requests_total", method="Train", code="OK") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.service
def test_three_replicas_on_one_store_serve_a_new_version_and_share_the_calls(store):
    """Three serving processes on one store behind one round-robin client: a new version
    serves everywhere within two poll intervals, and every replica answers calls."""
    publish_fake(store, "m")
    poll = 0.5
    replicas = []
    try:
        for _ in range(3):
            metrics = free_port()
            process = subprocess.Popen(
                [
                    *MOVIEREC,
                    "serving",
                    "--port",
                    "0",
                    "--store",
                    str(store.root),
                    "--poll-interval",
                    str(poll),
                    "--metrics-port",
                    str(metrics),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            line = process.stdout.readline()
            assert "listening on" in line, line
            replicas.append((process, line.split()[-1], metrics))
        publish_fake(store, "m", shift=0.5)
        published = time.monotonic()
        pending = {metrics for _, _, metrics in replicas}
        while pending:
            pending = {m for m in pending if sample(scrape(m), "movierec_serving_version") < 2}
            assert time.monotonic() - published < 2 * poll + 1.0, "not served in time"
            time.sleep(0.05)
        with ServingClient([address for _, address, _ in replicas], timeout=10) as client:
            answers = {client.recommend("m", 10, 2).model.version for _ in range(60)}
        assert answers == {2}
        per_replica = [
            sample(scrape(m), "movierec_rpc_requests_total", method="Recommend", code="OK")
            for _, _, m in replicas
        ]
        assert sum(per_replica) == 60 and min(per_replica) > 0, per_replica
        targets = ",".join(address for _, address, _ in replicas)
        loaded = subprocess.run(
            [
                *MOVIEREC,
                "load",
                "--serving",
                targets,
                "--model",
                "m",
                "--users",
                "10",
                "10",
                "--requests",
                "60",
                "--concurrency",
                "3",
                "--connections",
                "1",
                "--warmup",
                "1",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert loaded.returncode == 0, loaded.stderr
        after = [
            sample(scrape(m), "movierec_rpc_requests_total", method="Recommend", code="OK")
            for _, _, m in replicas
        ]
        grown = [b - a for a, b in zip(per_replica, after, strict=True)]
        assert json.loads(loaded.stdout)["calls"] == 60
        assert sum(grown) >= 60 and min(grown) > 0, grown  # warm-up calls count there too
    finally:
        for process, _, _ in replicas:
            process.kill()
            process.wait()
