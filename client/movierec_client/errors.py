"""SDK exceptions, one per gRPC status code a caller may want to handle."""

from __future__ import annotations

import grpc


class MovierecClientError(Exception):
    """A call failed; `code` is the gRPC status name, the message is the server's."""

    code = "UNKNOWN"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgumentError(MovierecClientError):
    """The request was malformed or out of range."""

    code = "INVALID_ARGUMENT"


class NotFoundError(MovierecClientError):
    """A model, version, user, item or job does not exist; the message names it."""

    code = "NOT_FOUND"


class UnavailableError(MovierecClientError):
    """The server is unreachable, or has no model version loaded yet."""

    code = "UNAVAILABLE"


class ResourceExhaustedError(MovierecClientError):
    """The trainer's job queue is full."""

    code = "RESOURCE_EXHAUSTED"


class UnauthenticatedError(MovierecClientError):
    """The token is missing or wrong."""

    code = "UNAUTHENTICATED"


class DeadlineExceededError(MovierecClientError):
    """The call did not finish within its deadline."""

    code = "DEADLINE_EXCEEDED"


class FailedPreconditionError(MovierecClientError):
    """The system is not in a state to do it: a version that cannot be served, or a
    serving policy fixed by a server flag; the message says why."""

    code = "FAILED_PRECONDITION"


class DataLossError(MovierecClientError):
    """Bytes arrived that do not match the checksum announced for them."""

    code = "DATA_LOSS"


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        UnavailableError,
        ResourceExhaustedError,
        UnauthenticatedError,
        DeadlineExceededError,
        FailedPreconditionError,
        DataLossError,
    )
}


def from_rpc_error(error: grpc.RpcError) -> MovierecClientError:
    """The SDK exception for a failed call (works for sync and asyncio errors)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    name = code.name if code is not None else "UNKNOWN"
    message = error.details() if hasattr(error, "details") else str(error)
    return _BY_CODE.get(name, MovierecClientError)(message or name, name)
