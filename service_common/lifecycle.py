"""Server lifecycle shared by both services: building, health, graceful stop on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service_common import flags
from service_common.security import ConfigError, check_exposure, check_token

logger = logging.getLogger(__name__)

MAX_RECEIVE_MESSAGE_BYTES = 4 << 20
"""Largest request a service accepts (a larger one is RESOURCE_EXHAUSTED): a Predict batch
at --max-batch 10,000 with user features is far below it."""
MAX_SEND_MESSAGE_BYTES = 16 << 20
"""Largest response a service sends (a page of 1,000 jobs with their epochs fits)."""
STOPPING_MESSAGE = "the server is stopping; nothing was done, retry (another replica)"
"""Details of the UNAVAILABLE a call gets once the server's stop has begun."""
SETTLE_S = 0.2
"""At a stop, how long new calls are held before gRPC's shutdown begins, so that every
call a client has sent by then has reached a handler (gRPC ends a call still queued in
its core at shutdown CANCELLED, grpc/grpc#41785, which a caller cannot safely retry)."""


class CallGate:
    """The stop of a server as its handlers see it (service_common.handlers).

    While open, unary calls run and are counted. Once closed, a call that arrives waits
    until the gate is released and then ends UNAVAILABLE (STOPPING_MESSAGE): holding
    those calls keeps clients that ignore health from sending more until gRPC's shutdown
    has told their connections to go away.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._running = 0
        self.closed = False
        self.released = False

    def enter(self, counted: bool = True) -> bool:
        """In a handler thread, before a call: True to run it (then call leave() after
        when `counted`), False to refuse it (after holding it until release)."""
        with self._changed:
            if not self.closed:
                self._running += counted
                return True
            while not self.released:
                self._changed.wait()
            return False

    async def enter_async(self) -> bool:
        """enter() for a coroutine handler (grpc.aio): holds the call without a thread."""
        with self._changed:
            if not self.closed:
                self._running += 1
                return True
        while not self.released:
            await asyncio.sleep(0.01)
        return False

    def leave(self) -> None:
        """After a counted call that enter() let run."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def close(self, timeout: float) -> None:
        """Holds every new call, then waits up to `timeout` seconds for the calls
        running to finish."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._changed:
            self.closed = True
            while self._running > 0 and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())

    def release(self) -> None:
        """Ends every held call, and every later one, UNAVAILABLE."""
        with self._changed:
            self.closed = self.released = True
            self._changed.notify_all()


def stop_gracefully(
    gate: CallGate, grace: float | None, shutdown: Callable[[float], Callable[[], None]]
) -> None:
    """Stops a server so that no call is lost: calls running finish (within `grace`
    seconds), calls that arrive meanwhile are held for SETTLE_S and then end UNAVAILABLE,
    which a caller may retry, never CANCELLED.

    Args:
        gate: The server's CallGate (given to add_service).
        grace: Seconds calls running get to finish; None or 0: none.
        shutdown: Begins gRPC's shutdown with the seconds of grace left (its listeners
            close, its connections are told to go away) and returns a function that
            waits until the server has stopped.
    """
    started = time.monotonic()
    gate.close(grace or 0.0)
    time.sleep(min(SETTLE_S, grace or 0.0))
    left = max((grace or 0.0) - (time.monotonic() - started), SETTLE_S if grace else 0.0)
    wait = shutdown(left)
    gate.release()
    wait()


def build_server(
    address: str,
    workers: int,
    token: str | None,
    reuse_port: bool = False,
    credentials: grpc.ServerCredentials | None = None,
    allow_plaintext_token: bool = False,
    asynchronous: bool = False,
) -> tuple[grpc.Server | grpc.aio.Server, int]:
    """A gRPC server bound to `address`, with explicit message-size limits; services are
    added with service_common.handlers.add_service (which checks the token and maps
    errors).

    Args:
        address: host:port; port 0 picks a free port.
        workers: Size of the handler thread pool (thread-pool servers).
        token: The bearer token the services will require, or None (checked here: empty
            is an error, and a token in clear text beyond loopback is refused).
        reuse_port: Let several processes listen on one port (SO_REUSEPORT); off by
            default, so a second server on a taken port fails instead of silently sharing.
        credentials: TLS credentials (service_common.security.server_credentials); None
            serves plaintext.
        allow_plaintext_token: Permit a token without TLS on a non-loopback address.
        asynchronous: A grpc.aio server instead of a thread-pool one; call from the
            thread of the event loop that will run it (service_common.aio.EventLoopThread).

    Returns:
        (unstarted server, bound port).

    Raises:
        ConfigError: an empty token, or a token in clear text beyond loopback.
        RuntimeError: the address cannot be bound.
    """
    check_token(token)
    check_exposure(
        address.rpartition(":")[0], token, credentials is not None, allow_plaintext_token
    )
    options = [
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_SEND_MESSAGE_BYTES),
    ]
    server: grpc.Server | grpc.aio.Server
    if asynchronous:
        server = grpc.aio.server(options=options)
    else:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=options)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as error:
        raise RuntimeError(f"cannot listen on {address}: {error}") from error
    if port == 0:
        raise RuntimeError(f"cannot listen on {address}: address in use or not available")
    return server, port


def add_health_and_reflection(
    server: grpc.Server, service_names: Sequence[str]
) -> health.HealthServicer:
    """Registers grpc.health.v1 (every service NOT_SERVING until set) and reflection."""
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *service_names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return health_servicer


async def add_aio_health_and_reflection(
    server: grpc.aio.Server, service_names: Sequence[str]
) -> health.aio.HealthServicer:
    """add_health_and_reflection for a grpc.aio server (run on its event loop)."""
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return health_servicer


def health_status(ok: bool) -> health_pb2.HealthCheckResponse.ServingStatus.ValueType:
    """SERVING or NOT_SERVING."""
    return (
        health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
    )


def set_serving(
    health_servicer: health.HealthServicer, service_names: Sequence[str], ok: bool
) -> None:
    """Marks the overall server and each service SERVING or NOT_SERVING."""
    status = health_status(ok)
    for name in ("", *service_names):
        health_servicer.set(name, status)


async def set_serving_aio(
    health_servicer: health.aio.HealthServicer, service_names: Sequence[str], ok: bool
) -> None:
    """set_serving for the health servicer of a grpc.aio server (run on its event loop)."""
    status = health_status(ok)
    for name in ("", *service_names):
        await health_servicer.set(name, status)


def stop_on_signals() -> threading.Event:
    """Installs SIGTERM and SIGINT handlers that set the returned event. Call it before
    announcing the server, so that a signal sent right after the announcement is not lost."""
    stopping = threading.Event()

    def handle(signum, frame):
        logger.info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stopping


def add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    """The graceful-stop flags both services share (--drain-seconds, --grace-seconds)."""
    parser.add_argument(
        "--drain-seconds",
        type=flags.seconds_or_none,
        default=2.0,
        help="on SIGTERM: seconds of answering while health says NOT_SERVING",
    )
    parser.add_argument(
        "--grace-seconds",
        type=flags.seconds_or_none,
        default=5.0,
        help="then: seconds calls in flight get to finish",
    )


def serve_until_signalled(name: str, create_server, config) -> int:
    """Process entry of a service: builds and starts it, announces
    "<name> listening on host:port" on stdout (tests and scripts wait for that line), serves
    until SIGTERM or SIGINT, then stops gracefully: health turns NOT_SERVING at once, calls
    keep being answered for config.drain_seconds (so that balancers and clients watching
    health move away), then the server stops taking calls and lets those in flight finish
    within config.grace_seconds.

    Args:
        name: Service name for the announcement.
        create_server: create_server(config) -> (server with start/drain/stop, port).
        config: The service's config (with .host, .drain_seconds, .grace_seconds).

    Returns:
        The process exit status: 0; 1 when the address cannot be bound; 2 for a setting
        that cannot work (service_common.security.ConfigError).
    """
    stopping = stop_on_signals()
    try:
        server, port = create_server(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    server.start()
    print(f"{name} listening on {config.host}:{port}", flush=True)
    stopping.wait()
    logger.info(
        "%s: NOT_SERVING, draining for %.1fs, then %.1fs of grace",
        name,
        config.drain_seconds,
        config.grace_seconds,
    )
    server.drain(config.drain_seconds)
    server.stop(config.grace_seconds)
    return 0


def enter_drain(health_servicer: health.HealthServicer, stopping: threading.Event, seconds: float):
    """Turns every health status NOT_SERVING for good, then keeps the server answering for
    `seconds` (or until `stopping` is set)."""
    health_servicer.enter_graceful_shutdown()
    stopping.wait(max(seconds, 0.0))
