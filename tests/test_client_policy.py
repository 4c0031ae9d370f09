"""The SDK's retry and deadline policy, against a scripted server on loopback."""

import threading
import time
from concurrent import futures

import grpc
import pytest

from movierec_client import DeadlineExceededError, ServingClient, UnavailableError
from movierec_client.v1 import serving_pb2, serving_pb2_grpc


class ScriptedServing(serving_pb2_grpc.ServingServiceServicer):
    """Fails GetModelStatus with UNAVAILABLE `failures` times, then answers; Recommend
    sleeps `delay` seconds."""

    def __init__(self, failures: int = 0, delay: float = 0.0):
        self.failures = failures
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    def GetModelStatus(self, request, context):
        with self.lock:
            self.calls += 1
            failing = self.calls <= self.failures
        if failing:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return serving_pb2.GetModelStatusResponse(
            models=[serving_pb2.ModelStatus(name="m", serving_version=1)]
        )

    def Recommend(self, request, context):
        time.sleep(self.delay)
        return serving_pb2.RecommendResponse()


@pytest.fixture
def scripted():
    servers = []

    def start(servicer):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        serving_pb2_grpc.add_ServingServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(0)


def test_unavailable_is_retried_up_to_max_attempts(scripted):
    servicer = ScriptedServing(failures=2)
    with ServingClient(scripted(servicer), max_attempts=3) as client:
        (status,) = client.status()
    assert status.serving_version == 1
    assert servicer.calls == 3  # two failures, then the answer


def test_retries_give_up_after_max_attempts(scripted):
    servicer = ScriptedServing(failures=10)
    with ServingClient(scripted(servicer), max_attempts=2) as client:
        with pytest.raises(UnavailableError, match="warming up"):
            client.status()
    assert servicer.calls == 2


def test_calls_carry_a_deadline(scripted):
    servicer = ScriptedServing(delay=2.0)
    with ServingClient(scripted(servicer), timeout=0.2) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.recommend("m", 1, 1)
    assert time.monotonic() - started < 1.5
