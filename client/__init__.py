"""movierec's client SDK: typed sync and asyncio clients returning dataclasses.

The names below are imported on first use, so that `movierec serving` (whose entry point,
client.cli, lives in this package) never loads the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_MODULE_OF = {
    "AsyncServingClient": "client.sdk",
    "AsyncTrainerClient": "client.sdk",
    "DataLossError": "client.errors",
    "DeadlineExceededError": "client.errors",
    "FailedPreconditionError": "client.errors",
    "InvalidArgumentError": "client.errors",
    "MovierecClientError": "client.errors",
    "NotFoundError": "client.errors",
    "ResourceExhaustedError": "client.errors",
    "ServingClient": "client.sdk",
    "Tls": "client.channel",
    "TrainerClient": "client.sdk",
    "UnauthenticatedError": "client.errors",
    "UnavailableError": "client.errors",
    "UserFeatures": "client.types",
}

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


def __getattr__(name: str) -> object:
    """Imports an exported name's module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
