"""movierec's client SDK: typed sync and asyncio clients returning dataclasses."""

from client.channel import Tls
from client.errors import (
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    MovierecClientError,
    NotFoundError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)
from client.sdk import AsyncServingClient, AsyncTrainerClient, ServingClient, TrainerClient
from client.types import UserFeatures

__all__ = [
    "AsyncServingClient",
    "AsyncTrainerClient",
    "DataLossError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "MovierecClientError",
    "NotFoundError",
    "ResourceExhaustedError",
    "ServingClient",
    "Tls",
    "TrainerClient",
    "UnauthenticatedError",
    "UnavailableError",
    "UserFeatures",
]
