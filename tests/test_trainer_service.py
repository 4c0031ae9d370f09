"""The trainer service over real gRPC on loopback; jobs train for real in their processes."""

import asyncio
import os
import pathlib
import signal
import time

import grpc
import pytest

from movierec_client import (
    AsyncTrainerClient,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    TrainerClient,
)
from movierec_client.v1 import trainer_pb2, trainer_pb2_grpc
from trainer_service.jobs import job_scratch

SHORT = {"epochs": 2}


@pytest.fixture
def trainer(store, start_trainer):
    server, address = start_trainer(store.root)
    with TrainerClient(address, timeout=10) as client:
        yield server, client


def wait_for(client, job_id, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_job(job_id)
        if predicate(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job stuck in {job.state}")
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"dataset": "ml-7k"}, "unknown dataset 'ml-7k'"),
        ({"kind": "svd"}, "unknown model kind 'svd'"),
        ({"split": "u6"}, "unknown split 'u6'"),
        ({"epochs": -1}, "epochs must be 1 to 1000, got -1"),
        ({"learning_rate": -0.5}, "learning_rate must be > 0"),
        ({"model": "has space"}, "bad model name"),
        ({"objective": "clicks"}, "unknown objective 'clicks'"),
        ({"kind": "dot", "layers": [8]}, "layers need kind 'dot' that has them"),
        ({"kind": "two_tower", "embedding_dim": 8}, "'embedding_dim' does not apply"),
        ({"kind": "two_tower", "layers": [8] * 5}, "layers must hold 1 to 4"),
        ({"num_negatives": 0}, "num_negatives must be 1 to 1000"),
    ],
)
def test_bad_train_requests_are_invalid_at_once(trainer, store, arguments, message):
    _, client = trainer
    model = arguments.pop("model", "m")
    with pytest.raises(InvalidArgumentError, match=message):
        client.train(model, **arguments)
    assert store.list_models() == []


def test_zero_epochs_is_invalid_not_a_default(trainer):
    # proto3 `optional` tells an explicit 0 from an unset field
    _, client = trainer
    with pytest.raises(InvalidArgumentError, match="epochs must be 1 to 1000, got 0"):
        client.train("m", kind="dot", epochs=0)


@pytest.mark.slow
@pytest.mark.service
def test_job_streams_epochs_and_publishes_a_version(trainer, store):
    _, client = trainer
    job = client.train("m", kind="dot", **SHORT, patience=0)
    assert job.state in ("QUEUED", "RUNNING")
    assert (job.kind, job.objective) == ("dot", "retrieval")  # the objective filled in
    assert job.hyperparameters["epochs"] == 2 and job.kind_hyperparameters["l2"] > 0
    events = list(client.watch_job(job.job_id))
    epochs = [e.epoch.epoch for e in events if e.epoch]
    assert epochs == [1, 2]
    final = events[-1].job
    assert final.state == "SUCCEEDED" and final.version == 1
    assert {"ndcg@10", "precision@10", "recall@10", "coverage@10"} <= set(final.metrics)
    assert "rmse" not in final.metrics
    assert len(final.epochs) == 2 and final.epochs[1].val_ndcg > 0
    assert store.list_versions("m") == [1]
    (model,) = client.list_models()
    assert model.name == "m" and model.versions[0].state == "READY"
    assert model.versions[0].metrics == pytest.approx(final.metrics)
    assert model.versions[0].split == "ml-100k/u1"
    assert model.versions[0].objective == "retrieval"


@pytest.mark.service
def test_kind_hyperparameters_travel_in_the_kind_message(trainer):
    server, _ = trainer
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = trainer_pb2_grpc.TrainerServiceStub(channel)
        request = trainer_pb2.TrainRequest(model_name="m", kind="two_tower", objective="rating")
        request.two_tower.layers.extend([16, 8])
        request.hyperparameters.epochs = 1
        job = stub.Train(request)
        assert job.request.WhichOneof("kind_hyperparameters") == "two_tower"
        assert list(job.request.two_tower.layers) == [16, 8]
        assert job.request.two_tower.temperature > 0  # default filled in
        stub.CancelJob(trainer_pb2.CancelJobRequest(job_id=job.job_id))
        wrong = trainer_pb2.TrainRequest(model_name="m", kind="dot")
        wrong.two_tower.layers.append(4)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Train(wrong)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        "two_tower hyperparameters were given for a model of kind 'dot'" in caught.value.details()
    )


@pytest.mark.slow
@pytest.mark.service
def test_cancelled_job_publishes_nothing(trainer, store):
    _, client = trainer
    job = client.train("m", kind="dot", epochs=1000, patience=0)
    wait_for(client, job.job_id, lambda j: len(j.epochs) >= 1)
    scratch = job_scratch(job.job_id)
    assert list(scratch.glob("movierec-rows-*/rows-*.bin"))  # its training rows, on disk
    assert list(scratch.glob("__autograph_generated_file*.py"))  # TensorFlow's, not in /tmp
    cancelled = client.cancel_job(job.job_id)
    assert cancelled.state == "CANCELLED"
    assert client.wait(job.job_id).state == "CANCELLED"
    server, _ = trainer
    deadline = time.monotonic() + 30
    while server.jobs.running_processes():
        assert time.monotonic() < deadline, "the cancelled job's process did not end"
        time.sleep(0.05)
    assert store.list_versions("m") == []
    assert not scratch.exists()  # the killed job's rows are removed
    assert client.cancel_job(job.job_id).state == "CANCELLED"  # idempotent


@pytest.mark.service
def test_failed_job_says_why_and_publishes_nothing(store, start_trainer, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    _, address = start_trainer(store.root, data_dir=str(empty))
    with TrainerClient(address) as client:
        job = client.wait(client.train("m", kind="dot", **SHORT).job_id)
    assert job.state == "FAILED"
    assert "dataset ml-100k not found" in job.error
    assert store.list_versions("m") == []


def test_the_data_dir_flag_comes_before_movierec_data_dir(monkeypatch, tmp_path):
    import argparse

    from trainer_service.__main__ import add_arguments
    from trainer_service.server import TrainerConfig

    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "from-env"))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flag = parser.parse_args(["--data-dir", str(tmp_path / "from-flag")]).data_dir
    assert TrainerConfig.from_env(data_dir=flag).data_dir == str(tmp_path / "from-flag")
    assert TrainerConfig.from_env(data_dir=None).data_dir == str(tmp_path / "from-env")


@pytest.mark.service
def test_full_queue_is_resource_exhausted(store, start_trainer):
    _, address = start_trainer(store.root, max_running=1, max_queued=1)
    with TrainerClient(address) as client:
        running = client.train("m", kind="dot", epochs=1000, patience=0)
        queued = client.train("m", kind="dot", epochs=1000, patience=0)
        assert client.get_job(queued.job_id).state == "QUEUED"
        with pytest.raises(ResourceExhaustedError, match="limit 1"):
            client.train("m", kind="dot", **SHORT)
        assert client.cancel_job(queued.job_id).state == "CANCELLED"
        assert client.cancel_job(running.job_id).state == "CANCELLED"


def test_unknown_job_and_model_are_not_found(trainer):
    _, client = trainer
    with pytest.raises(NotFoundError, match="unknown job id 'nope'"):
        client.get_job("nope")
    with pytest.raises(NotFoundError, match="unknown job id 'nope'"):
        list(client.watch_job("nope"))
    with pytest.raises(NotFoundError, match="unknown model 'ghost'"):
        client.list_models("ghost")


def test_raw_stub_sees_status_codes(trainer, store):
    server, _ = trainer
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = trainer_pb2_grpc.TrainerServiceStub(channel)
        request = trainer_pb2.TrainRequest(model_name="m", kind="dot")
        request.hyperparameters.learning_rate = -1
        with pytest.raises(grpc.RpcError) as caught:
            stub.Train(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.service
def test_watch_streams_are_capped_so_unary_calls_always_answer(store, start_trainer):
    server, address = start_trainer(store.root, workers=5)  # one stream slot, 4 kept free
    with TrainerClient(address, timeout=10) as client:
        job = client.train("m", kind="dot", epochs=1000, patience=0)
        first = client.watch_job(job.job_id)
        assert next(first).job.job_id == job.job_id
        with pytest.raises(ResourceExhaustedError, match="job streams are open .limit 1"):
            next(client.watch_job(job.job_id))
        assert client.get_job(job.job_id).state in ("QUEUED", "RUNNING")
        first.close()
        client.cancel_job(job.job_id)


def test_a_second_trainer_cannot_take_a_used_port(store, start_trainer):
    server, _ = start_trainer(store.root)
    from trainer_service.server import TrainerConfig, create_server

    with pytest.raises(RuntimeError, match="cannot listen"):
        create_server(TrainerConfig(store=str(store.root), port=server.port))


def test_trainer_auth_covers_streams(store, start_trainer):
    from movierec_client import UnauthenticatedError

    _, address = start_trainer(store.root, token="t0ken")
    with TrainerClient(address) as anonymous:
        with pytest.raises(UnauthenticatedError):
            anonymous.list_models()
        with pytest.raises(UnauthenticatedError):
            list(anonymous.watch_job("any"))
    with TrainerClient(address, token="t0ken") as client:
        with pytest.raises(NotFoundError, match="unknown job id 'any'"):
            list(client.watch_job("any"))


@pytest.mark.slow
@pytest.mark.service
def test_async_trainer_client_follows_a_job(trainer, store):
    server, _ = trainer

    async def scenario():
        async with AsyncTrainerClient(f"127.0.0.1:{server.port}") as client:
            job = await client.train("m", kind="dot", epochs=1, patience=0)
            seen = []
            final = await client.wait(job.job_id, seen.append)
            with pytest.raises(InvalidArgumentError, match="bad request"):
                await client.train("m", dropout=0.5)
            return final, seen

    final, seen = asyncio.run(scenario())
    assert final.state == "SUCCEEDED" and final.version == 1
    assert [e.epoch.epoch for e in seen if e.epoch] == [1]
    assert store.list_versions("m") == [1]


def test_list_models_agrees_with_serving_on_versions_that_cannot_answer(trainer, store):
    from tests.test_registry import _bad_versions, _publish_arrays

    _, client = trainer
    bad_arrays, reason = _bad_versions()[0]
    _publish_arrays(store, **bad_arrays)
    (model,) = client.list_models("m")
    assert model.versions[0].state == "CORRUPT" and reason in model.versions[0].error


def _finished(manager, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while not manager.get(job_id).state.final:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    return manager.get(job_id)


@pytest.mark.service
def test_a_job_killed_after_publishing_is_reconciled_as_succeeded(store):
    from movierec.training.spec import build_train_spec
    from tests.fakes import die_before_publishing, publish_then_die
    from trainer_service.jobs import JobManager

    published = JobManager(store, job_target=publish_then_die)
    try:
        job = _finished(published, published.submit(build_train_spec("m")).job_id)
    finally:
        published.close()
    assert job.state.value == "SUCCEEDED" and job.version == 1
    assert job.metrics == {"rmse": 1.5}
    assert store.read_manifest("m", 1)["job_id"] == job.job_id
    died = JobManager(store, job_target=die_before_publishing)
    try:
        failed = _finished(died, died.submit(build_train_spec("m")).job_id)
    finally:
        died.close()
    assert failed.state.value == "FAILED" and "exited with code 9" in failed.error
    assert store.list_versions("m") == [1]


@pytest.mark.service
def test_list_jobs_pages_newest_first_and_filters(store, start_trainer):
    from tests.fakes import publish_when_allowed

    server, address = start_trainer(store.root, max_job_seconds=600)
    server.jobs.job_target = publish_when_allowed  # nothing trains: the listing is tested
    with TrainerClient(address, timeout=10) as client:
        ids = [client.train(name, **SHORT).job_id for name in ("a", "b", "a")]
        for job_id in ids:
            wait_for(client, job_id, lambda job: job.done)
        first = client.list_jobs(page_size=2)
        second = client.list_jobs(page_size=2, page_token=first.next_page_token)
        assert [j.job_id for j in first.jobs + second.jobs] == ids[::-1]
        assert second.next_page_token == ""
        assert [j.job_id for j in client.list_jobs("a").jobs] == [ids[2], ids[0]]
        assert client.list_jobs(states=["FAILED"]).jobs == ()
        assert {j.state for j in client.list_jobs(states=["SUCCEEDED"]).jobs} == {"SUCCEEDED"}
        assert first.jobs[0].max_seconds == 600
        with pytest.raises(InvalidArgumentError, match="page_token 'x' is not one"):
            client.list_jobs(page_token="x")
        with pytest.raises(InvalidArgumentError, match="page_size must be 0 to 1000"):
            client.list_jobs(page_size=5000)
        with pytest.raises(InvalidArgumentError, match="bad model name"):
            client.list_jobs("has space")
        with pytest.raises(InvalidArgumentError, match="unknown job state"):
            client.list_jobs(states=["DONE"])


@pytest.mark.service
def test_a_job_time_limit_is_checked_at_request_time(store, start_trainer):
    _, address = start_trainer(store.root, max_job_seconds=60)
    with TrainerClient(address, timeout=10) as client:
        with pytest.raises(InvalidArgumentError, match="max_seconds must be > 0 and <= 60"):
            client.train("m", kind="dot", max_seconds=3600, **SHORT)
        job = client.train("m", kind="dot", max_seconds=30, epochs=1000, patience=0)
        assert job.max_seconds == 30
        client.cancel_job(job.job_id)
        assert client.list_jobs().jobs[0].job_id == job.job_id


@pytest.mark.service
def test_a_restarted_trainer_answers_for_its_jobs(store, start_trainer):
    from tests.fakes import publish_when_allowed

    first, address = start_trainer(store.root)
    first.jobs.job_target = publish_when_allowed
    with TrainerClient(address, timeout=10) as client:
        job_id = client.train("m", kind="dot", **SHORT).job_id
        wait_for(client, job_id, lambda job: job.done)
    first.stop(0)
    _, address = start_trainer(store.root)
    with TrainerClient(address, timeout=10) as client:
        job = client.get_job(job_id)
        assert job.state == "SUCCEEDED" and job.version == 1
        assert [j.job_id for j in client.list_jobs().jobs] == [job_id]


def _training_workers(job_id: str) -> list[int]:
    """Pids of the extra training workers of a job (their spec file names the job)."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "movierec.training.worker" in command and f"movierec-job-{job_id}/" in command:
            found.append(int(proc.name))
    return found


@pytest.mark.slow
@pytest.mark.service
def test_a_job_on_two_workers_publishes_once_and_leaves_no_worker(trainer, store):
    _, client = trainer
    job = client.wait(client.train("m", kind="dot", epochs=2, patience=0, workers=2).job_id)
    assert job.state == "SUCCEEDED", job.error
    assert [e.epoch for e in job.epochs] == [1, 2]
    assert store.list_versions("m") == [1]
    manifest = store.read_manifest("m", 1)
    assert manifest["workers"] == 2 and manifest["hyperparameters"]["workers"] == 2
    assert _training_workers(job.job_id) == []


@pytest.mark.slow
@pytest.mark.service
def test_a_job_whose_worker_dies_fails_with_the_reason(trainer, store):
    if not pathlib.Path("/proc/self/cmdline").exists():
        pytest.skip("no /proc on this platform")
    _, client = trainer
    job = client.train("m", kind="dot", epochs=1000, patience=0, workers=2)
    wait_for(client, job.job_id, lambda j: len(j.epochs) >= 1, timeout=120)
    (worker,) = _training_workers(job.job_id)
    os.kill(worker, signal.SIGKILL)
    failed = client.wait(job.job_id)
    assert failed.state == "FAILED"
    assert "training worker 1 exited with code -9" in failed.error
    assert store.list_versions("m") == []


@pytest.mark.slow
@pytest.mark.service
def test_a_cancelled_job_on_two_workers_stops_with_its_workers(trainer, store):
    _, client = trainer
    job = client.train("m", kind="dot", epochs=1000, patience=0, workers=2)
    wait_for(client, job.job_id, lambda j: len(j.epochs) >= 1, timeout=120)
    workers = _training_workers(job.job_id)
    assert len(workers) == 1
    assert client.cancel_job(job.job_id).state == "CANCELLED"
    server, _ = trainer
    deadline = time.monotonic() + 30
    # TensorFlow's cluster takes SIGTERM for itself: without it given back, the chief
    # trained on after the cancel (movierec.training.distributed.join_cluster).
    while server.jobs.running_processes() or any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "the cancelled job went on training"
        time.sleep(0.1)
    assert store.list_versions("m") == []
    assert not job_scratch(job.job_id).exists()


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in pathlib.Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_workers_out_of_range_are_invalid(trainer):
    _, client = trainer
    with pytest.raises(InvalidArgumentError, match="workers must be 1 to 16, got 17"):
        client.train("m", workers=17)
