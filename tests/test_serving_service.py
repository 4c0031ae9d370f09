"""The serving service over real gRPC on loopback, with hand-made versions (no TensorFlow)."""

import asyncio
import dataclasses
import os
import subprocess
import sys
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from movierec_client import (
    AsyncServingClient,
    InvalidArgumentError,
    NotFoundError,
    ServingClient,
    UnauthenticatedError,
    UnavailableError,
    UserFeatures,
)
from movierec_client.load import LoadSpec, run_load
from movierec_client.v1 import serving_pb2, serving_pb2_grpc
from tests.fakes import publish_fake
from tests.test_registry import corrupt


@pytest.fixture(params=["threads", "aio"])
def served(request, store, start_serving):
    """A server of fake model "m", answering on a thread pool or an asyncio loop (--io)."""
    publish_fake(store, "m")
    server, address = start_serving(store.root, max_k=50, max_batch=3, io=request.param)
    with ServingClient(address, timeout=5) as client:
        yield server, address, client


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_recommend_similar_predict_metrics(served):
    _, _, client = served
    answer = client.recommend("m", 10, k=3)
    assert (answer.model.name, answer.model.version, answer.model.kind) == ("m", 1, "dot")
    assert [i.item_id for i in answer.items] == [102, 101, 103]
    assert answer.items[0].title == "Gamma (1992)" and answer.items[0].genres == ("Drama",)
    assert [i.item_id for i in client.recommend("m", 10, 2, include_seen=True).items] == [100, 102]
    assert [i.item_id for i in client.recommend("m", 10, 3, exclude=[102]).items] == [101, 103]
    assert [i.item_id for i in client.similar_items("m", 100, 2).items] == [102, 104]
    # hand-worked in tests/test_scoring.py: (10,102) 4.2, (20,104) 2.0
    predictions = client.predict("m", [(10, 102), (20, 104)])
    assert predictions.ratings == pytest.approx([4.2, 2.0]) == predictions.scores
    assert (predictions.score_type, predictions.strategy) == ("RATING", "model")
    assert answer.model.objective == "rating" and answer.strategy == "model"
    report = client.metrics("m")
    assert report.metrics.split == "fake/test" and report.metrics.num_ratings == 4
    assert {"rmse", "mae", "ndcg@10"} <= set(report.metrics.values) and report.baseline is None
    assert report.popularity.model.name == "most-popular" and "ndcg@10" in report.popularity.values
    strict = client.metrics("m", k=2, threshold=5.0)
    assert strict.metrics.values["hit_rate@2"] == 1.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.recommend("m", 99, 3), NotFoundError, "unknown user id 99"),
        (lambda c: c.similar_items("m", 555, 3), NotFoundError, "unknown item id 555"),
        (lambda c: c.predict("m", [(10, 555)]), NotFoundError, "unknown item id 555"),
        (lambda c: c.recommend("nope", 10, 3), NotFoundError, "unknown model 'nope'"),
        (lambda c: c.recommend("m", 10, 3, version=7), NotFoundError, "no version 7"),
        (lambda c: c.recommend("m", 10, 0), InvalidArgumentError, "k must be between 1 and 50"),
        (lambda c: c.recommend("m", 10, 51), InvalidArgumentError, "got 51"),
        (lambda c: c.similar_items("m", 100, -1), InvalidArgumentError, "got -1"),
        (lambda c: c.predict("m", []), InvalidArgumentError, "1 to 3 instances, got 0"),
        (lambda c: c.predict("m", [(10, 100)] * 4), InvalidArgumentError, "got 4"),
        (lambda c: c.recommend("../m", 10, 3), InvalidArgumentError, "bad model name"),
        (lambda c: c.metrics("m", k=-2), InvalidArgumentError, "k must be"),
    ],
)
def test_bad_requests_get_their_status_and_a_message(served, call, error, message):
    _, _, client = served
    with pytest.raises(error, match=message):
        call(client)


def test_user_features_for_a_dot_model_get_the_popular_fallback(served):
    _, address, client = served
    answer = client.recommend("m", k=3, features=UserFeatures({"Drama": 5.0}))
    assert answer.strategy == "popular" and "no user tower" in answer.reason
    assert [i.item_id for i in answer.items] == [100, 101]
    fallback = client.predict("m", [(UserFeatures({"Drama": 5.0}), 100), (10, 100)])
    assert fallback.strategy == "popular" and fallback.fallback == (0,)
    with grpc.insecure_channel(address) as channel:
        stub = serving_pb2_grpc.ServingServiceStub(channel)
        request = serving_pb2.RecommendRequest(k=3)
        request.model.name = "m"
        request.user_features.genre_ratings["Westerns"] = 5.0
        with pytest.raises(grpc.RpcError) as caught:
            stub.Recommend(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "genre_ratings['Westerns']: unknown genre" in caught.value.details()


def test_empty_store_is_unavailable_and_not_serving_until_a_version_lands(store, start_serving):
    server, address = start_serving(store.root)
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        check = health_pb2.HealthCheckRequest(service="movierec.v1.ServingService")
        assert health.Check(check).status == health_pb2.HealthCheckResponse.NOT_SERVING
        with ServingClient(address, max_attempts=1) as client:
            with pytest.raises(UnavailableError, match="no model version is loaded yet"):
                client.recommend("m", 10, 3)
            publish_fake(store, "m")
            client.wait_for_version("m", 1, timeout=10)
            assert client.recommend("m", 10, 1).items[0].item_id == 102
        assert health.Check(check).status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(served):
    _, address, _ = served
    with grpc.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (response,) = stub.ServerReflectionInfo(iter([request]))
    names = {s.name for s in response.list_services_response.service}
    assert {"movierec.v1.ServingService", "grpc.health.v1.Health"} <= names


def test_new_version_swaps_in_without_failing_a_request(served, store):
    _, address, client = served
    failures, versions = [], set()
    stop = threading.Event()

    def hammer():
        with ServingClient(address, timeout=5) as own:
            while not stop.is_set():
                try:
                    versions.add(own.recommend("m", 10, 3).model.version)
                except Exception as error:  # noqa: BLE001 - every failure is the finding
                    failures.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for shift in (0.1, 0.2, 0.3):
            publish_fake(store, "m", shift=shift)
            time.sleep(0.3)
        wait_until(lambda: client.recommend("m", 10, 1).model.version == 4)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert 1 in versions and 4 in versions


def test_corrupt_version_is_refused_and_reported(served, store):
    _, _, client = served
    publish_fake(store, "m", shift=0.5)
    corrupt(store, "m", 2)
    wait_until(lambda: client.status("m")[0].versions[0].state == "FAILED")
    (status,) = client.status("m")
    assert status.serving_version == 1
    assert "weights.npz has sha256" in status.versions[0].error
    assert client.recommend("m", 10, 1).model.version == 1


def test_a_request_may_name_a_version_and_compare_metrics(served, store):
    _, _, client = served
    publish_fake(store, "m", shift=0.5)
    client.wait_for_version("m", 2, timeout=10)
    assert client.recommend("m", 10, 1, version=1).model.version == 1
    assert client.recommend("m", 10, 1).model.version == 2
    report = client.metrics("m", baseline_version=1)
    assert report.metrics.model.version == 2 and report.baseline.model.version == 1


@pytest.mark.parametrize("io", ["threads", "aio"])
def test_token_auth(store, start_serving, io):
    publish_fake(store, "m")
    _, address = start_serving(store.root, token="s3cret", io=io)
    with ServingClient(address) as anonymous, ServingClient(address, token="wrong") as wrong:
        for client in (anonymous, wrong):
            with pytest.raises(UnauthenticatedError, match="bearer token"):
                client.recommend("m", 10, 1)
    with ServingClient(address, token="s3cret") as client:
        assert client.recommend("m", 10, 1).model.version == 1
    with grpc.insecure_channel(address) as channel:  # health stays open for probes
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest()).status == 1


def test_client_over_several_targets_survives_losing_one(store, start_serving):
    publish_fake(store, "m")
    first, first_address = start_serving(store.root)
    _, second_address = start_serving(store.root)
    with ServingClient([first_address, second_address]) as client:
        for _ in range(4):
            assert client.recommend("m", 10, 1).items[0].item_id == 102
        first.stop(0)
        for _ in range(6):
            assert client.recommend("m", 10, 1).items[0].item_id == 102


def test_async_client(served):
    _, address, _ = served

    async def scenario():
        async with AsyncServingClient(address, timeout=5) as client:
            answer = await client.recommend("m", 10, k=2)
            similar = await client.similar_items("m", 100, k=1)
            with pytest.raises(NotFoundError, match="unknown user id 99"):
                await client.recommend("m", 99, k=2)
            return answer, similar

    answer, similar = asyncio.run(scenario())
    assert [i.item_id for i in answer.items] == [102, 101]
    assert answer.model.version == 1
    assert similar.items[0].item_id == 102


def test_load_generator_is_bounded_and_reports(served):
    _, address, _ = served
    spec = LoadSpec(
        target=address,
        model="m",
        mix={"recommend": 2, "predict": 1, "similar": 1},
        k=2,
        user_ids=[10, 20, 30, 99],
        item_ids=[100, 101, 102],
        concurrency=3,
        connections=2,
        requests=60,
        duration_s=20,
        warmup_s=0,
    )
    report = run_load(spec)
    assert report.calls == 60
    answered = sum(report.by_method.values())
    assert set(report.by_method) == {"recommend", "predict", "similar"}
    assert answered + report.errors.get("NOT_FOUND", 0) == 60  # user 99 is unknown
    assert report.errors.keys() <= {"NOT_FOUND"}
    assert 0 < report.p50_ms <= report.p99_ms <= report.max_ms
    two = run_load(dataclasses.replace(spec, processes=2, concurrency=4, requests=40))
    assert two.calls == 40 and two.client_cpu_seconds > 0
    with pytest.raises(ValueError, match="duration"):
        run_load(dataclasses.replace(spec, duration_s=0))
    with pytest.raises(ValueError, match="mix methods"):
        run_load(dataclasses.replace(spec, mix={"delete": 1}))


def test_load_generator_counts_errors_when_the_server_goes(store, start_serving):
    publish_fake(store, "m")
    server, address = start_serving(store.root)
    spec = LoadSpec(
        target=address,
        model="m",
        user_ids=[10],
        item_ids=[100],
        concurrency=2,
        duration_s=1.5,
        warmup_s=0,
        timeout_s=1,
    )
    stopper = threading.Timer(0.5, server.stop, args=(0,))
    stopper.start()
    report = run_load(spec)
    stopper.join()
    assert sum(report.by_method.values()) > 0
    assert report.errors.get("UNAVAILABLE", 0) > 0


def test_wait_for_version_needs_a_model(served):
    _, _, client = served
    with pytest.raises(InvalidArgumentError, match="needs a model name"):
        client.wait_for_version("", 1)


def test_ids_outside_int64_are_invalid_argument_not_a_crash(served):
    _, _, client = served
    with pytest.raises(InvalidArgumentError, match="bad request"):
        client.recommend("m", 2**63, 3)
    with pytest.raises(InvalidArgumentError, match="bad request"):
        client.predict("m", [(10, "a")])


def test_target_lists_must_be_ip_literals():
    from movierec_client.channel import channel_target

    assert channel_target(["127.0.0.1:1", "127.0.0.2:2"]) == "ipv4:127.0.0.1:1,127.0.0.2:2"
    assert channel_target(["[::1]:1", "[::1]:2"]) == "ipv6:[::1]:1,[::1]:2"
    assert channel_target("dns:///serving:50052") == "dns:///serving:50052"
    with pytest.raises(ValueError, match="dns:///"):
        channel_target(["localhost:1", "localhost:2"])
    with pytest.raises(ValueError, match="one family"):
        channel_target(["127.0.0.1:1", "[::1]:2"])


def test_watcher_survives_a_bad_manifest_at_start_and_serves_later_versions(store, start_serving):
    publish_fake(store, "m")
    (store.model_path("m") / "2").mkdir()
    (store.model_path("m") / "2" / "manifest.json").write_text("[]")
    _, address = start_serving(store.root)
    with ServingClient(address) as client:
        assert client.recommend("m", 10, 1).model.version == 1
        publish_fake(store, "m", shift=0.5)
        client.wait_for_version("m", 3, timeout=10)
        assert client.status("m")[0].versions[1].state == "FAILED"


@pytest.mark.service
def test_serving_and_client_modules_never_import_tensorflow():
    code = (
        "import sys, serving_service.__main__, trainer_service.server;"
        "import movierec_client.cli, movierec_client.load;"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'));"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_reuse_port_lets_several_processes_share_a_port_only_when_asked(store, start_serving):
    publish_fake(store, "m")
    first, _ = start_serving(store.root, reuse_port=True)
    second, address = start_serving(store.root, reuse_port=True, port=first.port)
    assert second.port == first.port
    with ServingClient(address) as client:
        assert client.recommend("m", 10, 1).items[0].item_id == 102
    with pytest.raises(RuntimeError, match="cannot listen"):
        start_serving(store.root, port=first.port)


@pytest.mark.service
def test_a_serving_process_uses_one_blas_thread_unless_told_otherwise():
    code = "import os, serving_service, numpy; print(os.environ['OPENBLAS_NUM_THREADS'])"
    clean = {k: v for k, v in os.environ.items() if not k.endswith("NUM_THREADS")}
    default = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean
    )
    assert default.stdout.strip() == "1"
    told = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, "OPENBLAS_NUM_THREADS": "4"},
    )
    assert told.stdout.strip() == "4"
