"""movierec's client SDK: typed sync and asyncio clients returning dataclasses.

The names below are imported on first use, so that `movierec serving` (whose entry point,
movierec_client.cli, lives in this package) never loads the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from movierec_client.channel import Tls
    from movierec_client.errors import (
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
    from movierec_client.sdk import (
        AsyncServingClient,
        AsyncTrainerClient,
        ServingClient,
        TrainerClient,
    )
    from movierec_client.types import UserFeatures

_MODULE_OF = {
    "AsyncServingClient": "movierec_client.sdk",
    "AsyncTrainerClient": "movierec_client.sdk",
    "DataLossError": "movierec_client.errors",
    "DeadlineExceededError": "movierec_client.errors",
    "FailedPreconditionError": "movierec_client.errors",
    "InvalidArgumentError": "movierec_client.errors",
    "MovierecClientError": "movierec_client.errors",
    "NotFoundError": "movierec_client.errors",
    "ResourceExhaustedError": "movierec_client.errors",
    "ServingClient": "movierec_client.sdk",
    "Tls": "movierec_client.channel",
    "TrainerClient": "movierec_client.sdk",
    "UnauthenticatedError": "movierec_client.errors",
    "UnavailableError": "movierec_client.errors",
    "UserFeatures": "movierec_client.types",
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
        raise AttributeError(f"module 'movierec_client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
