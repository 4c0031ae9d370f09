"""Hostile input as a property: generated requests for every RPC of both services get a
deliberate status code, never INTERNAL or UNKNOWN, and the servers stay healthy.

Requests are built from the protobuf descriptors (every field, nested messages, oneofs,
maps, unknown enum values, NaN and infinities, extreme integers, odd strings), biased
towards names and ids the servers know so that the deep paths run too; raw bytes that
do not parse are sent as well. MOVIEREC_FUZZ_EXAMPLES sets how many of each per method
(default 100).
"""

from __future__ import annotations

import os

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movierec_client.v1 import serving_pb2, trainer_pb2
from tests.fakes import die_before_publishing, publish_fake, publish_fake_two_tower

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
}
FUZZ = settings(
    max_examples=int(os.environ.get("MOVIEREC_FUZZ_EXAMPLES", "100")),  # per method and form
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

NAMES = st.one_of(
    st.just("m"),
    st.just("tower"),
    st.sampled_from(["", "ghost", "films\n", "../m", "a" * 65, "m\x00"]),
)
IDS = st.one_of(
    st.sampled_from([0, 1, 2, 3, 10, 11, 12, 100, 101, 103]),
    st.integers(-(2**63), 2**63 - 1),
)
PRESENT = st.integers(0, 3).map(bool)  # most fields set, so that requests get deep
GENRES = st.sampled_from(["Action", "Comedy", "Drama", "", "No-Such-Genre", "action"])
_INTS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy:
    name = field.name
    if field.type == FieldDescriptor.TYPE_STRING:
        if name in ("model_name", "name"):
            return NAMES
        if name in ("job_id", "page_token"):
            return st.one_of(st.text(max_size=20), st.sampled_from(["nan/x", "1e400/x", "0/"]))
        return st.text(max_size=30)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=30)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-3, 50))
    if field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        width = 32 if field.type == FieldDescriptor.TYPE_FLOAT else 64
        typical = st.sampled_from([0.0, 0.2, 1.0, 3.5, 5.0, -1.0, 1e-7, 0.99999])
        return st.one_of(typical, st.floats(width=width))
    low, high = _INTS[field.type]
    if name.endswith("_id") or name.endswith("_ids") or name in ("version", "k"):
        return st.one_of(st.integers(1, 12), IDS).filter(lambda v: low <= v <= high)
    return st.one_of(st.integers(-2, 2000), st.integers(low, high))


def _field_values(field: FieldDescriptor, depth: int) -> st.SearchStrategy:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields
            keys = GENRES if key.type == FieldDescriptor.TYPE_STRING else _scalar(key)
            return st.dictionaries(keys, _scalar(value[1]), max_size=4)
        return messages(field.message_type, depth + 1)
    return _scalar(field)


@st.composite
def messages(draw, descriptor, depth: int = 0):
    """A message of `descriptor` with a random subset of its fields set."""
    message_class = _CLASSES[descriptor.full_name]
    message = message_class()
    if depth > 3:
        return message
    for field in descriptor.fields:
        if not draw(PRESENT):
            continue
        values = _field_values(field, depth)
        if field.is_repeated and not (
            field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry
        ):
            items = draw(st.lists(values, max_size=5))
            target = getattr(message, field.name)
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in items:
                    target.add().CopyFrom(item)
            else:
                target.extend(items)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            value = draw(values)
            if isinstance(value, dict):
                getattr(message, field.name).update(value)
            else:
                getattr(message, field.name).CopyFrom(value)
        else:
            setattr(message, field.name, draw(values))
    return message


def _bases() -> dict[str, object]:
    """A valid request per method input, which generated fields then perturb."""
    from movierec_client.v1 import common_pb2

    model = common_pb2.ModelSpec(name="m")
    return {
        m.DESCRIPTOR.full_name: m
        for m in (
            serving_pb2.RecommendRequest(model=model, user_id=10, k=3),
            serving_pb2.PredictRequest(
                model=model, instances=[serving_pb2.PredictInstance(user_id=10, item_id=100)]
            ),
            serving_pb2.SimilarItemsRequest(model=model, item_id=100, k=3),
            serving_pb2.MetricsRequest(model=model),
            serving_pb2.SetServingVersionRequest(model_name="m", version=2),
            serving_pb2.GetModelStatusRequest(model_name="m"),
            trainer_pb2.TrainRequest(model_name="m"),
            trainer_pb2.ListModelsRequest(model_name="m"),
        )
    }


def requests(descriptor) -> st.SearchStrategy:
    """Generated requests, half of them a valid request with generated fields merged in."""
    base = _bases().get(descriptor.full_name)
    if base is None:
        return messages(descriptor)

    def perturb(fuzz):
        request = type(base)()
        request.CopyFrom(base)
        request.MergeFrom(fuzz)
        return request

    return st.one_of(messages(descriptor), messages(descriptor).map(perturb))


def _classes() -> dict[str, type]:
    found = {}
    for module in (serving_pb2, trainer_pb2):
        for name in dir(module):
            value = getattr(module, name)
            if hasattr(value, "DESCRIPTOR") and hasattr(value.DESCRIPTOR, "fields"):
                found[value.DESCRIPTOR.full_name] = value
    from movierec_client.v1 import common_pb2

    for name in dir(common_pb2):
        value = getattr(common_pb2, name)
        if hasattr(value, "DESCRIPTOR") and hasattr(value.DESCRIPTOR, "fields"):
            found[value.DESCRIPTOR.full_name] = value
    _nested(found)
    return found


def _nested(found: dict[str, type]) -> None:
    for message_class in list(found.values()):
        for nested in message_class.DESCRIPTOR.nested_types:
            if nested.full_name not in found and not nested.GetOptions().map_entry:
                found[nested.full_name] = getattr(message_class, nested.name)


_CLASSES = _classes()


def _methods(module, service: str):
    descriptor = module.DESCRIPTOR.services_by_name[service]
    return [
        (f"/{descriptor.full_name}/{m.name}", m.input_type, m.server_streaming)
        for m in descriptor.methods
    ]


def _call(channel, path, request_bytes: bytes, streaming: bool) -> grpc.StatusCode:
    identity = bytes
    try:
        if streaming:
            call = channel.unary_stream(path, request_serializer=identity)
            for _ in call(request_bytes, timeout=10):
                break
            return grpc.StatusCode.OK
        channel.unary_unary(path, request_serializer=identity)(request_bytes, timeout=10)
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


def _fuzz_method(channel, path: str, input_type, streaming: bool) -> None:
    @FUZZ
    @given(request=requests(input_type))
    def structured(request):
        code = _call(channel, path, request.SerializeToString(), streaming)
        assert code in ALLOWED, f"{path} answered {code} to {request}"

    @FUZZ
    @given(payload=st.binary(max_size=64))
    def raw(payload):
        code = _call(channel, path, payload, streaming)
        assert code in ALLOWED, f"{path} answered {code} to bytes {payload!r}"

    structured()
    raw()


def _fuzz_service(address: str, module, service: str) -> None:
    with grpc.insecure_channel(address) as channel:
        for path, input_type, streaming in _methods(module, service):
            _fuzz_method(channel, path, input_type, streaming)
        health = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_every_serving_rpc_survives_generated_requests(store, start_serving):
    for _ in range(3):
        publish_fake(store, "m")
    publish_fake_two_tower(store, "tower")
    _, address = start_serving(store.root)
    _fuzz_service(address, serving_pb2, "ServingService")
    from movierec_client import ServingClient

    with ServingClient(address, timeout=5) as client:
        assert client.recommend("m", 10, 2).items, "still answers after the fuzz"


@pytest.mark.service
def test_every_trainer_rpc_survives_generated_requests(store, start_trainer):
    publish_fake(store, "m")
    server, address = start_trainer(store.root, max_queued=4)
    server.jobs.job_target = die_before_publishing  # a request that passes trains nothing
    _fuzz_service(address, trainer_pb2, "TrainerService")


@pytest.mark.parametrize("service", ["serving", "trainer"])
def test_a_request_over_the_size_limit_is_resource_exhausted(
    store, start_serving, start_trainer, service
):
    publish_fake(store, "m")
    start = start_serving if service == "serving" else start_trainer
    _, address = start(store.root)
    path = (
        "/movierec.v1.ServingService/Recommend"
        if service == "serving"
        else "/movierec.v1.TrainerService/GetJob"
    )
    options = [("grpc.max_send_message_length", 64 << 20)]
    with grpc.insecure_channel(address, options=options) as channel:
        request = trainer_pb2.GetJobRequest(job_id="x" * (5 << 20))
        code = _call(channel, path, request.SerializeToString(), False)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
