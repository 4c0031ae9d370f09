"""Builds and runs the trainer server: servicer, job manager, health, reflection."""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import sqlite3
import threading

from movierec.store.model_store import ModelStore
from movierec_client.v1 import trainer_pb2
from service_common.flags import port_of_env
from service_common.handlers import add_service
from service_common.lifecycle import (
    CallGate,
    add_health_and_reflection,
    build_server,
    enter_drain,
    set_serving,
    stop_gracefully,
)
from service_common.security import (
    ConfigError,
    resolve_token,
    scrub_token_environment,
    server_credentials,
)
from service_common.telemetry import Telemetry, serve_metrics
from trainer_service.job_records import JobRecords
from trainer_service.jobs import DEFAULT_MAX_JOB_SECONDS, JobManager, JobState
from trainer_service.servicer import TrainerServicer

logger = logging.getLogger(__name__)

UNARY_THREADS = 4
"""Handler threads kept free of WatchJob streams, so Train/GetJob/CancelJob always answer."""

JOBS_DB = pathlib.Path(".trainer") / "jobs.sqlite3"
"""Where the job records are, under the store, unless --jobs-db says otherwise."""

SERVICE_NAME = trainer_pb2.DESCRIPTOR.services_by_name["TrainerService"].full_name


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """Settings of a trainer process (flags fall back to MOVIEREC_* variables).

    Attributes:
        store: Model store root.
        data_dir: Dataset folder; None means MOVIEREC_DATA_DIR, else the cache.
        host: Interface to listen on.
        port: Port; 0 picks a free one.
        max_running: Jobs training at once.
        max_queued: Jobs waiting at most.
        workers: Handler threads; WatchJob streams may hold all but UNARY_THREADS of them.
        token: Bearer token required from clients; None disables auth (an empty one is
            an error).
        tls_cert: PEM certificate chain; with tls_key, the service speaks TLS only.
        tls_key: PEM private key of tls_cert.
        tls_client_ca: PEM CA bundle; clients must then present a certificate it signed.
        allow_plaintext_token: Permit a token without TLS on a non-loopback host.
        drain_seconds: On SIGTERM, seconds of answering while health says NOT_SERVING.
        grace_seconds: Then, seconds calls in flight get to finish.
        max_job_seconds: Wall-clock limit of a job (a request may ask for less).
        jobs_db: SQLite file of the job records; None means <store>/.trainer/jobs.sqlite3.
        metrics_port: Port of the Prometheus endpoint on `host` (0: a free one); None
            serves none.
    """

    store: str = "./model_store"
    data_dir: str | None = None
    host: str = "127.0.0.1"
    port: int = 50051
    max_running: int = 1
    max_queued: int = 16
    workers: int = 16
    token: str | None = None
    drain_seconds: float = 2.0
    grace_seconds: float = 5.0
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    allow_plaintext_token: bool = False
    max_job_seconds: float = DEFAULT_MAX_JOB_SECONDS
    jobs_db: str | None = None
    metrics_port: int | None = None

    @classmethod
    def from_env(cls, **overrides) -> TrainerConfig:
        """Defaults, then MOVIEREC_STORE / MOVIEREC_DATA_DIR / MOVIEREC_TRAINER_PORT, then
        explicit overrides (None values ignored); the token as
        service_common.security.resolve_token finds it (an override `token_file` first).

        Raises:
            ConfigError: an empty or malformed token, an unreadable token file, or a
                port variable that holds no port.
        """
        env = {
            "store": os.environ.get("MOVIEREC_STORE"),
            "data_dir": os.environ.get("MOVIEREC_DATA_DIR"),
            "port": os.environ.get("MOVIEREC_TRAINER_PORT"),
        }
        token_file = overrides.pop("token_file", None)
        given = {k: v for k, v in overrides.items() if v is not None}
        values = {k: v for k, v in env.items() if v is not None} | given
        values["token"] = resolve_token(overrides.get("token"), token_file)
        if isinstance(values.get("port"), str):
            values["port"] = port_of_env("MOVIEREC_TRAINER_PORT", values["port"])
        return cls(**values)


def open_records(path: str | pathlib.Path) -> JobRecords:
    """The job records at `path`.

    Raises:
        ConfigError: records of another schema, or a file that cannot be opened.
        RecordsLocked: another process held the file locked for too long.
    """
    try:
        return JobRecords(path)
    except (OSError, sqlite3.Error) as error:
        raise ConfigError(f"cannot open the job records {path}: {error}") from None


class TrainerServer:
    """A trainer server and its job manager; `start()`, then `stop(grace)`."""

    def __init__(self, config: TrainerConfig):
        self.config = config
        scrub_token_environment()  # job processes must not inherit it
        self.store = ModelStore(config.store)
        self.jobs = JobManager(
            self.store,
            config.data_dir,
            config.max_running,
            config.max_queued,
            max_watchers=max(1, config.workers - UNARY_THREADS),
            records=open_records(config.jobs_db or self.store.root / JOBS_DB),
            max_job_seconds=config.max_job_seconds,
        )
        self.server, self.port = build_server(
            f"{config.host}:{config.port}",
            config.workers,
            config.token,
            credentials=server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca),
            allow_plaintext_token=config.allow_plaintext_token,
        )
        self.telemetry = self._telemetry() if config.metrics_port is not None else None
        self.metrics_port: int | None = None
        self._metrics_server = None
        self.gate = CallGate()
        add_service(
            self.server,
            trainer_pb2.DESCRIPTOR.services_by_name["TrainerService"],
            TrainerServicer(self.jobs, self.store),
            config.token,
            calls=self.telemetry.calls if self.telemetry else None,
            gate=self.gate,
        )
        self.health = add_health_and_reflection(self.server, [SERVICE_NAME])
        self._draining = threading.Event()

    def _telemetry(self) -> Telemetry:
        telemetry = Telemetry("trainer")
        jobs = self.jobs

        def by_state():
            counts = {state.value: 0 for state in JobState}
            for job in jobs.list():
                counts[job.state.value] += 1
            return [({"state": state}, n) for state, n in counts.items()]

        telemetry.add("gauge", "movierec_trainer_jobs", "Jobs remembered, by state", by_state)
        telemetry.add(
            "counter",
            "movierec_trainer_epochs",
            "Epochs reported by jobs",
            lambda: [({}, jobs.epochs_total)],
        )
        return telemetry

    def start(self) -> TrainerServer:
        """Removes staging folders no running job owns, starts answering; health turns
        SERVING."""
        self.jobs.sweep()
        if self.telemetry is not None and self.config.metrics_port is not None:
            self._metrics_server, self.metrics_port = serve_metrics(
                self.telemetry, self.config.host, self.config.metrics_port
            )
        self.server.start()
        set_serving(self.health, [SERVICE_NAME], True)
        logger.info("trainer on %s:%d, store %s", self.config.host, self.port, self.config.store)
        return self

    def drain(self, seconds: float) -> None:
        """Health NOT_SERVING for good, answering on for `seconds` (before stop)."""
        enter_drain(self.health, self._draining, seconds)

    def stop(self, grace: float | None = None) -> None:
        """Lets calls in flight finish within `grace` seconds and ends those that arrive
        meanwhile UNAVAILABLE (service_common.lifecycle.stop_gracefully), stops running
        jobs (queued ones wait in the job records for the next start; their streams end
        UNAVAILABLE), and stops."""
        self._draining.set()
        set_serving(self.health, [SERVICE_NAME], False)

        def shutdown(left: float):
            stopped = self.server.stop(left)

            def wait() -> None:
                self.jobs.close()
                stopped.wait()

            return wait

        stop_gracefully(self.gate, grace, shutdown)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()


def create_server(config: TrainerConfig) -> tuple[TrainerServer, int]:
    """Builds an unstarted trainer server bound to config.host:config.port.

    Returns:
        (server, bound port).
    """
    server = TrainerServer(config)
    return server, server.port
