"""Builds and runs the serving server: servicer, store watcher, health, reflection."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from concurrent import futures

from movierec.kinds.ann import DEFAULT_MIN_ITEMS
from movierec.serving.dataplane import ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec.serving.top_lists import DEFAULT_MAX_CELLS
from movierec.store.model_store import ModelStore
from movierec_client.v1 import serving_pb2
from service_common.aio import EventLoopThread
from service_common.flags import port_of_env
from service_common.handlers import add_service
from service_common.lifecycle import (
    CallGate,
    add_aio_health_and_reflection,
    add_health_and_reflection,
    build_server,
    enter_drain,
    set_serving,
    set_serving_aio,
    stop_gracefully,
)
from service_common.security import resolve_token, server_credentials
from service_common.telemetry import Telemetry, serve_metrics
from serving_service.servicer import ServingServicer

logger = logging.getLogger(__name__)

SERVICE_NAME = serving_pb2.DESCRIPTOR.services_by_name["ServingService"].full_name
WATCHER_STOP_S = 2.0
"""Seconds a stop waits for the store watcher to finish its poll."""


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """Settings of a serving process (flags fall back to MOVIEREC_* variables).

    Attributes:
        store: Model store root.
        host: Interface to listen on.
        port: Port; 0 picks a free one.
        poll_interval: Seconds between store polls.
        keep_versions: Newest good versions kept loaded per model (besides a pinned one).
        pins: (model, version) pairs this process serves by default whatever the store's
            policy says (--pin).
        ann_min_items: Catalogues of at least this many items answer Recommend and
            SimilarItems from an approximate index (movierec.kinds.ann).
        top_lists_max_cells: Versions with users x items (items x items for SimilarItems)
            up to this answer from top lists (movierec.serving.top_lists), ranked on the store
            watcher's thread once the version serves; 0: none.
        max_k: Largest k accepted.
        max_batch: Largest Predict batch.
        io: "threads" answers on a grpc thread pool of `threads` threads; "aio" on a
            grpc.aio event loop, each fast call (Predict, Recommend, SimilarItems,
            GetModelStatus) run on the loop's thread. Which is faster depends on the host
            and the load: bench/serving.py compares them (bench/RESULTS.md).
        threads: Handler threads of the fast methods when io is "threads". Few is
            fastest: more threads only contend for the GIL (bench/RESULTS.md).
        slow_threads: Threads of Metrics, SetServingVersion and ListIds, which may compute or load
            for long, so that they never hold up the fast methods.
        token: Bearer token required from clients; None disables auth (an empty one is
            an error).
        tls_cert: PEM certificate chain; with tls_key, the service speaks TLS only.
        tls_key: PEM private key of tls_cert.
        tls_client_ca: PEM CA bundle; clients must then present a certificate it signed.
        allow_plaintext_token: Permit a token without TLS on a non-loopback host.
        metrics_port: Port of the Prometheus endpoint on `host` (0: a free one); None
            serves none.
        reuse_port: Share the port with other serving processes (SO_REUSEPORT), to use
            every core of a host despite the GIL.
        drain_seconds: On SIGTERM, seconds of answering while health says NOT_SERVING.
        grace_seconds: Then, seconds calls in flight get to finish.
    """

    store: str = "./model_store"
    host: str = "127.0.0.1"
    port: int = 50052
    poll_interval: float = 2.0
    keep_versions: int = 2
    pins: tuple[tuple[str, int], ...] = ()
    ann_min_items: int = DEFAULT_MIN_ITEMS
    top_lists_max_cells: int = DEFAULT_MAX_CELLS
    max_k: int = 1000
    max_batch: int = 10_000
    io: str = "threads"
    threads: int = 2
    slow_threads: int = 4
    token: str | None = None
    reuse_port: bool = False
    drain_seconds: float = 2.0
    grace_seconds: float = 5.0
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    allow_plaintext_token: bool = False
    metrics_port: int | None = None

    @classmethod
    def from_env(cls, **overrides) -> ServingConfig:
        """Defaults, then MOVIEREC_STORE / MOVIEREC_SERVING_PORT, then explicit overrides
        (None values ignored); the token as service_common.security.resolve_token finds it
        (an override `token_file` first).

        Raises:
            ConfigError: an empty or malformed token, an unreadable token file, or a
                port variable that holds no port.
        """
        env = {
            "store": os.environ.get("MOVIEREC_STORE"),
            "port": os.environ.get("MOVIEREC_SERVING_PORT"),
        }
        token_file = overrides.pop("token_file", None)
        given = {k: v for k, v in overrides.items() if v is not None}
        values = {k: v for k, v in env.items() if v is not None} | given
        values["token"] = resolve_token(overrides.get("token"), token_file)
        if isinstance(values.get("port"), str):
            values["port"] = port_of_env("MOVIEREC_SERVING_PORT", values["port"])
        return cls(**values)


class ServingServer:
    """A running serving server and the thread polling its store.

    Use `create_server(config)`, then `start()`; `stop(grace)` ends both.
    """

    def __init__(self, config: ServingConfig):
        self.config = config
        self.registry = ModelRegistry(
            ModelStore(config.store),
            config.keep_versions,
            dict(config.pins),
            config.ann_min_items,
            config.top_lists_max_cells,
        )
        plane = ServingDataPlane(self.registry, config.max_k, config.max_batch)
        self.telemetry = self._telemetry() if config.metrics_port is not None else None
        self._slow_pool = futures.ThreadPoolExecutor(
            max_workers=config.slow_threads, thread_name_prefix="slow-rpc"
        )
        self._loop = EventLoopThread("grpc-aio") if config.io == "aio" else None
        self.gate = CallGate()
        if self._loop is not None:
            try:
                self.server, self.port, self.health = self._loop.call(self._build_aio(plane))
            except BaseException:
                self._loop.close()
                self._slow_pool.shutdown(wait=False)
                raise
        else:
            self.server, self.port = self._bind(asynchronous=False)
            self._add_service(self.server, plane)
            self.health = add_health_and_reflection(self.server, [SERVICE_NAME])
        self.metrics_port: int | None = None
        self._metrics_server = None
        self._stopping = threading.Event()
        self._draining = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="store-watcher", daemon=True)

    def _add_service(self, server, plane: ServingDataPlane) -> None:
        add_service(
            server,
            serving_pb2.DESCRIPTOR.services_by_name["ServingService"],
            ServingServicer(plane),
            self.config.token,
            raw_responses=ServingServicer.RAW_RESPONSES,
            slow_methods=ServingServicer.SLOW_METHODS,
            slow_pool=self._slow_pool,
            calls=self.telemetry.calls if self.telemetry else None,
            gate=self.gate,
        )

    def _bind(self, asynchronous: bool):
        config = self.config
        return build_server(
            f"{config.host}:{config.port}",
            config.threads,
            config.token,
            config.reuse_port,
            server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca),
            config.allow_plaintext_token,
            asynchronous=asynchronous,
        )

    async def _build_aio(self, plane: ServingDataPlane):
        server, port = self._bind(asynchronous=True)  # on the loop's thread, as grpc.aio needs
        self._add_service(server, plane)
        return server, port, await add_aio_health_and_reflection(server, [SERVICE_NAME])

    def _telemetry(self) -> Telemetry:
        telemetry = Telemetry("serving")
        registry = self.registry
        telemetry.add(
            "gauge",
            "movierec_serving_version",
            "Version answering requests that name none (0: none loaded)",
            lambda: [({"model": s.name}, s.serving_version) for s in registry.status()],
        )
        telemetry.add(
            "gauge",
            "movierec_serving_loaded_versions",
            "Versions loaded",
            lambda: [
                ({"model": s.name}, sum(v.state == "AVAILABLE" for v in s.versions))
                for s in registry.status()
            ],
        )
        telemetry.add(
            "gauge",
            "movierec_serving_top_lists_bytes",
            "Memory of the top lists a loaded version answers from (0: it answers per call)",
            lambda: [
                (
                    {"model": entry.name, "version": str(entry.version)},
                    sum(
                        lists.nbytes
                        for lists in (
                            entry.scorer.top_lists,
                            entry.scorer.similar_lists,
                            entry.scorer.popular_list,
                        )
                        if lists is not None
                    ),
                )
                for entry in registry.loaded()
            ],
        )
        telemetry.add(
            "counter",
            "movierec_serving_load_failures",
            "Versions refused at load",
            lambda: [({}, registry.load_failures)],
        )
        telemetry.add(
            "counter",
            "movierec_serving_swaps",
            "Store polls that changed what is loaded or served",
            lambda: [({}, registry.swaps)],
        )
        telemetry.add(
            "counter",
            "movierec_serving_swap_seconds",
            "Seconds spent in those polls (verify, load, probe)",
            lambda: [({}, registry.swap_seconds)],
        )
        return telemetry

    def poll_once(self) -> None:
        """Refreshes the registry from the store and updates health."""
        try:
            self.registry.refresh()
        except Exception:  # noqa: BLE001 - the watcher must outlive any bad poll
            logger.exception("cannot refresh from the model store at %s", self.config.store)
        serving = self.registry.is_serving()
        if self._loop is not None:
            self._loop.call(set_serving_aio(self.health, [SERVICE_NAME], serving))
        else:
            set_serving(self.health, [SERVICE_NAME], serving)

    def _watch(self) -> None:
        self._build_top_lists()
        while not self._stopping.wait(self.config.poll_interval):
            self.poll_once()
            self._build_top_lists()

    def _build_top_lists(self) -> None:
        try:
            self.registry.build_top_lists()
        except Exception:  # noqa: BLE001 - the watcher must outlive any failure; calls are
            # answered per call without lists
            logger.exception("cannot rank top lists")

    def start(self) -> ServingServer:
        """Loads what the store holds, then starts answering and watching."""
        self.poll_once()
        if self.telemetry is not None and self.config.metrics_port is not None:
            self._metrics_server, self.metrics_port = serve_metrics(
                self.telemetry, self.config.host, self.config.metrics_port
            )
        if self._loop is not None:
            self._loop.call(self.server.start())
        else:
            self.server.start()
        self._watcher.start()
        logger.info("serving on %s:%d from %s", self.config.host, self.port, self.config.store)
        return self

    def drain(self, seconds: float) -> None:
        """Health NOT_SERVING for good, answering on for `seconds` (before stop)."""
        if self._loop is not None:
            self._loop.call(self.health.enter_graceful_shutdown())
            self._draining.wait(max(seconds, 0.0))
        else:
            enter_drain(self.health, self._draining, seconds)

    def stop(self, grace: float | None = None) -> None:
        """Stops watching, lets calls in flight finish within `grace` seconds and ends
        those that arrive meanwhile UNAVAILABLE (service_common.lifecycle.stop_gracefully),
        stops."""
        if self._loop is not None and self._loop.loop.is_closed():
            return  # stopped already
        self._draining.set()
        self._stopping.set()
        stop_gracefully(self.gate, grace, self._shutdown)
        self._slow_pool.shutdown(wait=False)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        if self._watcher.is_alive():
            self._watcher.join(WATCHER_STOP_S)  # a daemon: a poll stuck on the store
            if self._watcher.is_alive():  # (a hung network filesystem) never holds a stop
                logger.warning("stopping while the store watcher is still busy")
        if self._loop is not None:
            self._loop.close()

    def _shutdown(self, grace: float) -> Callable[[], None]:
        """Begins gRPC's shutdown; returns the wait for its end."""
        if self._loop is None:
            return self.server.stop(grace).wait
        loop = self._loop

        async def begin() -> asyncio.Future:
            stopping = asyncio.ensure_future(self.server.stop(grace))
            await asyncio.sleep(0)  # grpc.aio's stop begins the core's shutdown at once
            return stopping

        stopping = loop.call(begin())
        return lambda: loop.call(asyncio.wait_for(stopping, None))


def create_server(config: ServingConfig) -> tuple[ServingServer, int]:
    """Builds an unstarted serving server bound to config.host:config.port.

    Returns:
        (server, bound port).
    """
    server = ServingServer(config)
    return server, server.port
