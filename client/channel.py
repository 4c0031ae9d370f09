"""Channels for the SDK: several targets balanced round-robin, retries on UNAVAILABLE."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence

import grpc

RETRY_SERVICES = ("movierec.v1.ServingService", "movierec.v1.TrainerService")


def service_config(max_attempts: int) -> str:
    """GRPC service config: round_robin, and retries with backoff on UNAVAILABLE."""
    config: dict = {"loadBalancingConfig": [{"round_robin": {}}]}
    if max_attempts > 1:
        config["methodConfig"] = [
            {
                "name": [{"service": name} for name in RETRY_SERVICES],
                "retryPolicy": {
                    "maxAttempts": max_attempts,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    return json.dumps(config)


def channel_target(targets: str | Sequence[str]) -> str:
    """One gRPC target from "host:port", "dns:///name:port", or a list of IP literal
    addresses ("10.0.0.1:50052" or "[::1]:50052"), which are balanced round-robin.

    Raises:
        ValueError: a list that is empty, mixes address families, or names hosts (gRPC
            balances a list of names only through DNS: use "dns:///name:port").
    """
    if isinstance(targets, str):
        return targets
    targets = list(targets)
    if len(targets) == 1:
        return targets[0]
    families = {_family(target) for target in targets}
    if len(families) != 1 or None in families:
        raise ValueError(
            f"a list of targets must be IP literals of one family, got {targets}; "
            "for host names use one 'dns:///name:port' target"
        )
    return f"{families.pop()}:" + ",".join(targets)


def _family(target: str) -> str | None:
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        return None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return f"ipv{address.version}"


def channel_options(max_attempts: int) -> list[tuple[str, object]]:
    """Channel arguments: service config, retries enabled."""
    return [
        ("grpc.service_config", service_config(max_attempts)),
        ("grpc.enable_retries", 1 if max_attempts > 1 else 0),
    ]


def open_channel(targets: str | Sequence[str], max_attempts: int) -> grpc.Channel:
    """An insecure sync channel to the targets."""
    return grpc.insecure_channel(channel_target(targets), options=channel_options(max_attempts))


def open_aio_channel(targets: str | Sequence[str], max_attempts: int) -> grpc.aio.Channel:
    """An insecure asyncio channel to the targets."""
    return grpc.aio.insecure_channel(channel_target(targets), options=channel_options(max_attempts))
