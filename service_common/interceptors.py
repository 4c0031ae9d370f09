"""Server interceptors: domain errors to status codes in one place, and bearer-token auth."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

import grpc

from movierec import errors

logger = logging.getLogger(__name__)

STATUS_OF = (
    (errors.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.DatasetError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.ModelNotReady, grpc.StatusCode.UNAVAILABLE),
    (errors.QueueFull, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.CorruptVersion, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PolicyConflict, grpc.StatusCode.FAILED_PRECONDITION),
)
"""Domain error class to status code; the first match wins."""

UNAUTHENTICATED_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def status_of(error: Exception) -> grpc.StatusCode:
    """Status code for an exception: its domain mapping, else INTERNAL."""
    for error_type, code in STATUS_OF:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.INTERNAL


def _abort(context: grpc.ServicerContext, method: str, error: Exception) -> None:
    if not isinstance(error, errors.MovierecError) and context.code() is not None:
        raise error  # the handler aborted with its own status already
    code = status_of(error)
    if code is grpc.StatusCode.INTERNAL:
        logger.exception("unexpected error in %s", method)
        context.abort(code, "internal error; the server log has the details")
    context.abort(code, str(error))


class _Undecodable:
    """Stands for a request whose bytes do not parse, so that the handler can answer
    INVALID_ARGUMENT (gRPC itself would answer INTERNAL)."""

    def __init__(self, error: Exception):
        self.error = error


def _tolerant(deserialize: Callable | None) -> Callable | None:
    if deserialize is None:
        return None

    def parse(data: bytes):
        try:
            return deserialize(data)
        except Exception as error:  # noqa: BLE001 - any parse failure is the caller's
            return _Undecodable(error)

    return parse


def _refuse_undecodable(request, context: grpc.ServicerContext) -> None:
    if isinstance(request, _Undecodable):
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request does not parse as this method's message: {request.error}",
        )


def _rebuild(handler: grpc.RpcMethodHandler, wrap: Callable, wrap_stream: Callable):
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary),
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap_stream(handler.unary_stream),
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    return handler


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Turns movierec's domain errors into status codes with their messages; a request
    whose bytes do not parse into INVALID_ARGUMENT; anything else becomes INTERNAL with a
    generic message, logged with its traceback.
    """

    def intercept_service(self, continuation, handler_call_details):
        """Wraps unary-unary and unary-stream behaviours of the next handler."""
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def wrap(behaviour):
            def unary(request, context):
                _refuse_undecodable(request, context)
                try:
                    return behaviour(request, context)
                except Exception as error:  # noqa: BLE001 - mapped, or re-raised if aborted
                    _abort(context, method, error)

            return unary

        def wrap_stream(behaviour):
            def stream(request, context):
                _refuse_undecodable(request, context)
                try:
                    yield from behaviour(request, context)
                except Exception as error:  # noqa: BLE001 - mapped, or re-raised if aborted
                    _abort(context, method, error)

            return stream

        return _rebuild(handler, wrap, wrap_stream)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Refuses calls without `authorization: Bearer <token>` (UNAUTHENTICATED); health
    checks and reflection stay open.

    Args:
        token: The shared secret clients must present.
    """

    def __init__(self, token: str):
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):
        """Passes authorised calls on; answers the rest UNAUTHENTICATED."""
        method = handler_call_details.method
        if method.startswith(UNAUTHENTICATED_METHODS):
            return continuation(handler_call_details)
        metadata = dict(handler_call_details.invocation_metadata or ())
        presented = str(metadata.get("authorization", "")).encode()
        if hmac.compare_digest(presented, self._expected):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None

        def deny(request_or_iterator, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

        def deny_stream(request_or_iterator, context):
            deny(request_or_iterator, context)
            yield  # pragma: no cover - never reached; makes this a generator

        kinds = {
            "unary_unary": (grpc.unary_unary_rpc_method_handler, deny),
            "unary_stream": (grpc.unary_stream_rpc_method_handler, deny_stream),
            "stream_unary": (grpc.stream_unary_rpc_method_handler, deny),
            "stream_stream": (grpc.stream_stream_rpc_method_handler, deny_stream),
        }
        for kind, (make, behaviour) in kinds.items():
            if getattr(handler, kind):
                return make(
                    behaviour,
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return None
