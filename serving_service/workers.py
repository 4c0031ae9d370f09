"""`movierec serving --workers N`: N serving processes sharing one port, supervised.

The GIL lets one Python process use about one core, so a host serves with one process per
core. Each worker is a whole serving process (its own store watcher, health and threads)
listening on the same port with SO_REUSEPORT; the kernel spreads incoming connections
over them, so clients must open several connections (the SDK's `channels`, `movierec
load --connections`) for the load to reach every worker. The supervisor restarts a worker
that dies, and passes SIGTERM on so that every worker drains and stops gracefully; a
worker whose supervisor is gone (killed with SIGKILL) stops itself the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Waits before restarting a worker that keeps dying (the last repeats)."""
STOP_TIMEOUT_S = 60.0
"""Seconds the workers get to drain and stop before they are killed."""
SUPERVISOR_ENV = "MOVIEREC_SERVING_SUPERVISOR"
"""Set in a worker's environment to its supervisor's pid (see stop_when_orphaned)."""
ORPHAN_CHECK_S = 0.5


def reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """A socket bound to host:port (port 0: a free one) with SO_REUSEPORT, not listening,
    so the port stays ours while the workers bind it too; close it once they have."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reserved.bind((host.strip("[]"), port))
    except OSError as error:
        reserved.close()
        raise RuntimeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return reserved, reserved.getsockname()[1]


class Worker:
    """One serving process of the group."""

    def __init__(self, number: int, argv: list[str]):
        self.number = number
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self.failures = 0

    def start(self) -> None:
        """Starts the process and waits for its "listening on" line.

        Raises:
            RuntimeError: it exited or said something else first.
        """
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serving_service", *self.argv],
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "MOVIEREC_SERVING_WORKER": str(self.number),
                SUPERVISOR_ENV: str(os.getpid()),
            },
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            code = self.process.wait()
            raise RuntimeError(f"worker {self.number} did not start (exit status {code})")
        self.process.stdout.close()


def stop_when_orphaned(supervisor: int) -> None:
    """In a worker: stops it gracefully (SIGTERM to itself: it drains and exits) once its
    supervisor `supervisor` (a pid) is gone, so that a supervisor killed with SIGKILL leaves
    no worker holding the port and serving on."""

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(ORPHAN_CHECK_S)
        logger.warning("the supervisor (pid %d) is gone; stopping", supervisor)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def serve_workers(
    argv: list[str], host: str, port: int, count: int, metrics_port: int | None = None
) -> int:
    """Runs `count` workers of `movierec serving argv` on one port until SIGTERM/SIGINT.

    Args:
        argv: The serving flags, without --workers; each worker gets them with
            --workers 1 --reuse-port --port PORT appended (later flags win).
        host: The interface.
        port: The port; 0 picks a free one.
        count: Worker processes.
        metrics_port: Worker n serves Prometheus metrics on metrics_port + n (0: each
            a free port); None: none.

    Returns:
        The exit status: 0, 1 when the port cannot be had or a worker cannot start.
    """
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        reserved, port = reserve_port(host, port)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    worker_argv = [*argv, "--workers", "1", "--reuse-port", "--port", str(port)]
    workers = [Worker(n, worker_argv + _metrics_flag(metrics_port, n)) for n in range(count)]
    try:
        for worker in workers:
            worker.start()
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        _stop(workers)
        return 1
    finally:
        reserved.close()
    print(f"serving listening on {host}:{port}", flush=True)
    logger.info("%d serving workers on %s:%d", count, host, port)
    while not stopping.wait(0.5):
        for worker in workers:
            _restart_if_dead(worker, stopping)
    _stop(workers)
    return 0


def _metrics_flag(metrics_port: int | None, number: int) -> list[str]:
    if metrics_port is None:
        return []
    return ["--metrics-port", str(metrics_port + number if metrics_port else 0)]


def _restart_if_dead(worker: Worker, stopping: threading.Event) -> None:
    assert worker.process is not None
    code = worker.process.poll()
    if code is None or stopping.is_set():
        return
    wait = RESTART_BACKOFF_S[min(worker.failures, len(RESTART_BACKOFF_S) - 1)]
    worker.failures += 1
    logger.error(
        "serving worker %d exited with status %s; restarting in %.1fs", worker.number, code, wait
    )
    if stopping.wait(wait):
        return
    try:
        worker.start()
    except RuntimeError as error:
        logger.error("%s", error)


def _stop(workers: list[Worker]) -> None:
    """SIGTERM to every worker (each drains and stops with its grace), then waits."""
    alive = [w.process for w in workers if w.process is not None and w.process.poll() is None]
    for process in alive:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in alive:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
