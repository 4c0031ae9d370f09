"""Channels for the SDK: several targets balanced round-robin, retries on UNAVAILABLE,
TLS and mutual TLS, explicit message-size limits."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import pathlib
from collections.abc import Sequence

import grpc

RETRY_SERVICES = ("movierec.v1.ServingService", "movierec.v1.TrainerService")
MAX_SEND_MESSAGE_BYTES = 4 << 20
"""Largest request the SDK sends: the services' receive limit."""
MAX_RECEIVE_MESSAGE_BYTES = 16 << 20
"""Largest response the SDK accepts: the services' send limit."""


@dataclasses.dataclass(frozen=True)
class Tls:
    """How a client speaks TLS.

    Attributes:
        ca: PEM bundle of the CAs that may sign the server's certificate; None means the
            system's roots.
        cert: PEM client certificate chain, for servers that require one (mutual TLS).
        key: PEM private key of cert.
        server_name: The name to check the server's certificate against, when it differs
            from the target's host (e.g. connecting by IP address).
    """

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        """GRPC channel credentials of these files.

        Raises:
            ValueError: cert without key (or the reverse), or a file that cannot be read.
        """
        if bool(self.cert) != bool(self.key):
            raise ValueError("a TLS client certificate and its key go together")
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "TLS CA"),
            private_key=_read(self.key, "TLS key"),
            certificate_chain=_read(self.cert, "TLS certificate"),
        )


def _read(path: str | None, what: str) -> bytes | None:
    if not path:
        return None
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read {what} {path}: {error.strerror or error}") from None


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


def channel_options(
    max_attempts: int, tls: Tls | None = None, separate: bool = False
) -> list[tuple[str, object]]:
    """Channel arguments: service config, retries, message-size limits, TLS name override;
    `separate` gives the channel its own connections (gRPC otherwise shares one
    connection among channels of equal arguments)."""
    options: list[tuple[str, object]] = [
        ("grpc.service_config", service_config(max_attempts)),
        ("grpc.enable_retries", 1 if max_attempts > 1 else 0),
        ("grpc.max_send_message_length", MAX_SEND_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
    ]
    if tls is not None and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    if separate:
        options.append(("grpc.use_local_subchannel_pool", 1))
    return options


def open_channel(
    targets: str | Sequence[str], max_attempts: int, tls: Tls | None = None, separate: bool = False
) -> grpc.Channel:
    """A sync channel to the targets: TLS when `tls`, else plaintext; its own connections
    when `separate`."""
    target, options = channel_target(targets), channel_options(max_attempts, tls, separate)
    if tls is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, tls.credentials(), options=options)


def open_aio_channel(
    targets: str | Sequence[str], max_attempts: int, tls: Tls | None = None, separate: bool = False
) -> grpc.aio.Channel:
    """An asyncio channel to the targets: TLS when `tls`, else plaintext; its own
    connections when `separate`."""
    target, options = channel_target(targets), channel_options(max_attempts, tls, separate)
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, tls.credentials(), options=options)
