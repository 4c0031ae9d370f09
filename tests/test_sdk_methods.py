"""The SDK's clients are built from one table of methods per service: every RPC has one
entry, and the sync and asyncio flavours agree on names, signatures and docstrings and
behave alike against a scripted server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from concurrent import futures

import grpc
import pytest

from movierec_client import sdk
from movierec_client.errors import DataLossError, InvalidArgumentError, NotFoundError
from movierec_client.v1 import serving_pb2, serving_pb2_grpc, trainer_pb2, trainer_pb2_grpc

PAIRS = [
    (sdk.ServingClient, sdk.AsyncServingClient, sdk._ServingMethods, serving_pb2, "ServingService"),
    (sdk.TrainerClient, sdk.AsyncTrainerClient, sdk._TrainerMethods, trainer_pb2, "TrainerService"),
]


def _public(cls) -> dict[str, object]:
    return {
        name: inspect.getattr_static(cls, name)
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }


def _shape(method) -> list[tuple[str, object]]:
    return [(p.name, p.kind) for p in inspect.signature(method).parameters.values()]


@pytest.mark.parametrize(("sync", "aio", "table", "module", "service"), PAIRS)
def test_every_rpc_has_one_entry_in_its_table(sync, aio, table, module, service):
    entries = [v for v in vars(table).values() if isinstance(v, sdk._Rpc)]
    rpcs = module.DESCRIPTOR.services_by_name[service].methods_by_name
    assert sorted(e.method for e in entries) == sorted(rpcs)


@pytest.mark.parametrize(("sync", "aio", "table", "module", "service"), PAIRS)
def test_both_flavours_have_the_same_methods_signatures_and_docstrings(
    sync, aio, table, module, service
):
    sync_methods, aio_methods = _public(sync), _public(aio)
    assert sorted(sync_methods) == sorted(aio_methods)
    client, aio_client = sync("127.0.0.1:1"), None

    async def bound_async():
        made = aio("127.0.0.1:1")
        methods = {name: getattr(made, name) for name in aio_methods}
        await made.close()
        return methods

    try:
        aio_client = asyncio.run(bound_async())
        for name in sync_methods:
            one, other = getattr(client, name), aio_client[name]
            assert _shape(one) == _shape(other), name
            assert inspect.getdoc(one) and inspect.getdoc(one) == inspect.getdoc(other), name
            if name in ("close", "wait", "wait_for_version"):
                continue
            entry = vars(table)[name]
            expected = (
                inspect.isasyncgenfunction
                if entry.timeout is None
                else (inspect.iscoroutinefunction)
            )
            assert expected(other), name
            assert not inspect.iscoroutinefunction(one), name
    finally:
        client.close()


class ScriptedTrainer(trainer_pb2_grpc.TrainerServiceServicer):
    """GetJob knows job "j" only; WatchJob streams two events; GetArtifact streams a file
    in two chunks (with a wrong checksum for the name "bad")."""

    def GetJob(self, request, context):
        if request.job_id != "j":
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown job {request.job_id}")
        return trainer_pb2.Job(job_id="j", state=trainer_pb2.SUCCEEDED)

    def WatchJob(self, request, context):
        yield trainer_pb2.JobEvent(job=trainer_pb2.Job(job_id="j", state=trainer_pb2.RUNNING))
        yield trainer_pb2.JobEvent(job=trainer_pb2.Job(job_id="j", state=trainer_pb2.SUCCEEDED))

    def GetArtifact(self, request, context):
        data = b"0123456789"
        digest = hashlib.sha256(b"other" if request.name == "bad" else data).hexdigest()
        head = dict(version=3, name=request.name, content_type="image/png", size=len(data))
        yield trainer_pb2.ArtifactChunk(**head, sha256=digest, data=data[:4])
        yield trainer_pb2.ArtifactChunk(data=data[4:])


@pytest.fixture
def trainer():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trainer_pb2_grpc.add_TrainerServiceServicer_to_server(ScriptedTrainer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_the_sync_client_calls_each_shape_of_rpc(trainer):
    with sdk.TrainerClient(trainer) as client:
        assert client.get_job("j").state == "SUCCEEDED"
        with pytest.raises(NotFoundError, match="unknown job x"):
            client.get_job("x")
        with pytest.raises(InvalidArgumentError):
            client.get_job(7)  # type: ignore[arg-type]  # refused before any call
        assert [e.job.state for e in client.watch_job("j")] == ["RUNNING", "SUCCEEDED"]
        assert client.wait("j").state == "SUCCEEDED"
        artifact = client.get_artifact("m", "loss.png")
        assert (artifact.model, artifact.version, artifact.data) == ("m", 3, b"0123456789")
        with pytest.raises(DataLossError):
            client.get_artifact("m", "bad")


def test_the_asyncio_client_awaits_the_same_table(trainer):
    async def scenario():
        async with sdk.AsyncTrainerClient(trainer) as client:
            assert (await client.get_job("j")).state == "SUCCEEDED"
            with pytest.raises(NotFoundError, match="unknown job x"):
                await client.get_job("x")
            with pytest.raises(InvalidArgumentError):
                await client.get_job(7)  # type: ignore[arg-type]
            states = [e.job.state async for e in client.watch_job("j")]
            assert states == ["RUNNING", "SUCCEEDED"]
            seen = []
            assert (await client.wait("j", seen.append)).state == "SUCCEEDED"
            assert len(seen) == 2
            artifact = await client.get_artifact("m", "loss.png")
            assert artifact.data == b"0123456789"
            with pytest.raises(DataLossError):
                await client.get_artifact("m", "bad")

    asyncio.run(scenario())


def test_a_method_keeps_its_docstring_and_signature_on_the_class_and_the_client():
    assert "Top-k items for a user" in sdk.ServingClient.recommend.__doc__
    params = list(inspect.signature(sdk.ServingClient.recommend).parameters)
    assert params[:4] == ["self", "model", "user_id", "k"]
    client = sdk.ServingClient("127.0.0.1:1")
    try:
        assert client.recommend == client.recommend and client.recommend.__self__ is client
        assert client.recommend.__name__ == "recommend"
    finally:
        client.close()


def test_serving_stub_names_match_the_table():
    # the table's method names are the stub's attributes (a typo would fail every call)
    stub = serving_pb2_grpc.ServingServiceStub(grpc.insecure_channel("127.0.0.1:1"))
    for entry in vars(sdk._ServingMethods).values():
        if isinstance(entry, sdk._Rpc):
            assert hasattr(stub, entry.method)
    assert serving_pb2.GetModelStatusRequest  # the module the table builds from
