"""How a servicer is registered: every method wrapped once, at registration, with request
parsing that cannot fail as INTERNAL, the bearer-token check, and the mapping of domain
errors to status codes.

Wrapping at registration rather than in a grpc.ServerInterceptor keeps the per-call cost
to one extra Python frame: an interceptor builds new handler objects on every call.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable, Collection
from concurrent import futures

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

from movierec import errors
from service_common.lifecycle import STOPPING_MESSAGE, CallGate
from service_common.telemetry import CallStats

logger = logging.getLogger(__name__)

STATUS_OF = (
    (errors.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.DatasetError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.ModelNotReady, grpc.StatusCode.UNAVAILABLE),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.QueueFull, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.CorruptVersion, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PolicyConflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.IncompatibleVersions, grpc.StatusCode.FAILED_PRECONDITION),
)
"""Domain error class to status code; the first match wins."""


def status_of(error: Exception) -> grpc.StatusCode:
    """Status code for an exception: its domain mapping, else INTERNAL."""
    for error_type, code in STATUS_OF:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.INTERNAL


class _Undecodable:
    """Stands for a request whose bytes do not parse, so that the handler can answer
    INVALID_ARGUMENT (gRPC itself would answer INTERNAL)."""

    def __init__(self, error: Exception):
        self.error = error


def _tolerant(deserialize: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def parse(data: bytes):
        try:
            return deserialize(data)
        except Exception as error:  # noqa: BLE001 - any parse failure is the caller's
            return _Undecodable(error)

    return parse


def _identity(response: bytes) -> bytes:
    return response


class _Guard:
    """Checks one call before its behaviour runs, and maps what it raises."""

    def __init__(self, method: str, token: str | None):
        self.method = method
        self.expected = f"Bearer {token}".encode() if token else None

    def rejection(self, request, context) -> tuple[grpc.StatusCode, str] | None:
        """Why the call must not run (a missing or wrong token, an undecodable request),
        or None."""
        if self.expected is not None:
            presented = b""
            for key, value in context.invocation_metadata() or ():
                if key == "authorization":
                    presented = str(value).encode()
            if not hmac.compare_digest(presented, self.expected):
                return grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token"
        if isinstance(request, _Undecodable):
            return (
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the request does not parse as this method's message: {request.error}",
            )
        return None

    def failure(self, context, error: Exception) -> tuple[grpc.StatusCode, str]:
        """The status a call ends with for what its behaviour raised; re-raises `error`
        when the behaviour had already aborted with its own status."""
        if not isinstance(error, errors.MovierecError) and context.code() is not None:
            raise error
        code = status_of(error)
        if code is grpc.StatusCode.INTERNAL:
            logger.exception("unexpected error in %s", self.method)
            return code, "internal error; the server log has the details"
        return code, str(error)


def _unary(behaviour: Callable, guard: _Guard, gate: CallGate | None) -> Callable:
    def handle(request, context):
        if gate is not None and not gate.enter():
            context.abort(grpc.StatusCode.UNAVAILABLE, STOPPING_MESSAGE)
        try:
            rejected = guard.rejection(request, context)
            if rejected:
                context.abort(*rejected)
            try:
                return behaviour(request, context)
            except Exception as error:  # noqa: BLE001 - mapped, or re-raised if aborted
                context.abort(*guard.failure(context, error))
        finally:
            if gate is not None:
                gate.leave()

    return handle


def _stream(behaviour: Callable, guard: _Guard, gate: CallGate | None) -> Callable:
    def handle(request, context):
        # A stream is not waited for at a stop: its behaviour ends it (a job stream when
        # the job manager closes).
        if gate is not None and not gate.enter(counted=False):
            context.abort(grpc.StatusCode.UNAVAILABLE, STOPPING_MESSAGE)
        rejected = guard.rejection(request, context)
        if rejected:
            context.abort(*rejected)
        try:
            yield from behaviour(request, context)
        except Exception as error:  # noqa: BLE001 - mapped, or re-raised if aborted
            context.abort(*guard.failure(context, error))

    return handle


def _aio_unary(
    behaviour: Callable, guard: _Guard, pool: futures.Executor | None, gate: CallGate | None
) -> Callable:
    """A coroutine handler for grpc.aio servers: the behaviour runs on the event loop's
    thread (fast, CPU-bound calls: no hand-off to another thread), or on `pool`."""

    async def handle(request, context):
        if gate is not None and not await gate.enter_async():
            await context.abort(grpc.StatusCode.UNAVAILABLE, STOPPING_MESSAGE)
        try:
            rejected = guard.rejection(request, context)
            if rejected:
                await context.abort(*rejected)
            try:
                if pool is not None:
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(pool, behaviour, request, context)
                return behaviour(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as error:  # noqa: BLE001 - mapped, or re-raised if aborted
                await context.abort(*guard.failure(context, error))
        finally:
            if gate is not None:
                gate.leave()

    return handle


def _finisher(name: str, calls: CallStats) -> Callable:
    def finish(context, started: float) -> None:
        code = context.code()
        calls.record(name, code.name if code is not None else "OK", time.perf_counter() - started)

    return finish


def _counted(handle: Callable, name: str, calls: CallStats, streaming: bool) -> Callable:
    """`handle` with each call's status code and seconds recorded in `calls`."""
    finish = _finisher(name, calls)

    if streaming:

        def counted_stream(request, context):
            started = time.perf_counter()
            try:
                yield from handle(request, context)
            finally:
                finish(context, started)

        return counted_stream

    def counted(request, context):
        started = time.perf_counter()
        try:
            return handle(request, context)
        finally:
            finish(context, started)

    return counted


def _aio_counted(handle: Callable, name: str, calls: CallStats) -> Callable:
    """A coroutine `handle` with each call's status code and seconds recorded."""
    finish = _finisher(name, calls)

    async def counted(request, context):
        started = time.perf_counter()
        try:
            return await handle(request, context)
        finally:
            finish(context, started)

    return counted


def add_service(
    server: grpc.Server | grpc.aio.Server,
    service: ServiceDescriptor,
    servicer: object,
    token: str | None,
    raw_responses: Collection[str] = (),
    slow_methods: Collection[str] = (),
    slow_pool: futures.ThreadPoolExecutor | None = None,
    calls: CallStats | None = None,
    gate: CallGate | None = None,
) -> None:
    """Registers every method of `service` on `server`, answered by the servicer's method
    of the same name.

    On a grpc.aio server (unary methods only) each call runs on the event loop's thread,
    slow methods on `slow_pool`; on a thread-pool server each runs on the server's
    threads, slow methods on `slow_pool` (through gRPC's experimental per-method pool).

    Args:
        server: The server, thread-pool or asyncio.
        service: The service's descriptor (e.g. serving_pb2.DESCRIPTOR.services_by_name[...]).
        servicer: An object with one method per RPC (plain functions, for both servers).
        token: Bearer token every call must carry, or None.
        raw_responses: Methods whose servicer returns the response already serialized.
        slow_methods: Methods run on `slow_pool`, so that a long computation never holds
            up the others.
        slow_pool: The threads of slow_methods.
        calls: Where each call's status code and duration are counted (Prometheus);
            None counts nothing.
        gate: The server's stop as calls see it (service_common.lifecycle.CallGate):
            once closed, new calls end UNAVAILABLE; None: calls are never held.

    Raises:
        ValueError: a streaming method on an asyncio server.
    """
    asynchronous = isinstance(server, grpc.aio.Server)
    handlers = {}
    for method in service.methods:
        path = f"/{service.full_name}/{method.name}"
        guard = _Guard(path, token)
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        serialize = _identity if method.name in raw_responses else response_class.SerializeToString
        behaviour = getattr(servicer, method.name)
        slow = slow_pool if method.name in slow_methods else None
        if asynchronous:
            if method.server_streaming:
                raise ValueError(f"{path} streams; asyncio servers take unary methods only")
            wrapped = _aio_unary(behaviour, guard, slow, gate)
            if calls is not None:
                wrapped = _aio_counted(wrapped, method.name, calls)
        else:
            wrapped = (_stream if method.server_streaming else _unary)(behaviour, guard, gate)
            if calls is not None:
                wrapped = _counted(wrapped, method.name, calls, method.server_streaming)
            if slow is not None:
                wrapped.experimental_thread_pool = slow  # type: ignore[attr-defined]
        if method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                wrapped,
                request_deserializer=_tolerant(request_class.FromString),
                response_serializer=serialize,
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                wrapped,
                request_deserializer=_tolerant(request_class.FromString),
                response_serializer=serialize,
            )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    server.add_registered_method_handlers(service.full_name, handlers)
