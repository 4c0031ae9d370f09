"""The extra worker processes of a job that trains on several (hyperparameter `workers`):
started by the job's process, which is the chief, on free loopback ports, and watched so
that one that dies fails the job at once (movierec.training.distributed)."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from movierec.training.distributed import Cluster

WATCH_INTERVAL_S = 0.5
STDERR_TAIL_CHARS = 600


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports free on `host` now (bound together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class JobWorkers:
    """Workers 1..count-1 of a job, as `python -m movierec.training.worker` processes.

    Args:
        spec_dict: The job's TrainSpec.to_dict().
        store_root: The store (only the chief publishes into it).
        data_dir: Dataset folder, or None for the workers' environment.
        count: Workers in all, the chief included (>= 2).
        folder: A folder for the spec file, the workers' logs and their scratch files
            (their TMPDIR, so that removing it removes what killed workers leave).
    """

    def __init__(
        self,
        spec_dict: dict,
        store_root: str,
        data_dir: str | None,
        count: int,
        folder: pathlib.Path,
    ):
        addresses = tuple(f"127.0.0.1:{port}" for port in free_ports(count))
        self.cluster = Cluster(addresses, 0)
        spec_file = folder / "spec.json"
        spec_file.write_text(json.dumps(spec_dict))
        self.logs = [folder / f"worker-{index}.log" for index in range(1, count)]
        self.processes = []
        for index, log in enumerate(self.logs, start=1):
            command = [sys.executable, "-m", "movierec.training.worker", "--spec", str(spec_file)]
            command += ["--workers", ",".join(addresses), "--index", str(index)]
            command += ["--store", store_root, "--exit-with-parent"]
            if data_dir:
                command += ["--data-dir", data_dir]
            with open(log, "w") as err:
                env = {**os.environ, "TMPDIR": str(folder)}
                self.processes.append(
                    subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
                )
        self._done = threading.Event()

    def death_reason(self, wait_s: float = 0.0) -> str | None:
        """Why the first worker that exited with an error did so, or None if none has;
        waits up to `wait_s` seconds for one to (a collective that failed in the chief is
        usually the echo of a worker's death that the chief saw first)."""
        deadline = time.monotonic() + wait_s
        while True:
            for index, process in enumerate(self.processes, start=1):
                code = process.poll()
                if code not in (None, 0):
                    tail = self.logs[index - 1].read_text(errors="replace")[-STDERR_TAIL_CHARS:]
                    last = [line for line in tail.splitlines() if line.strip()][-1:] or [""]
                    return f"training worker {index} exited with code {code}: {last[0]}"
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def watch(self, on_death: Callable[[str], None]) -> None:
        """Calls on_death(reason) from a thread as soon as a worker exits with an error
        before finish() is called."""

        def loop() -> None:
            while not self._done.wait(WATCH_INTERVAL_S):
                reason = self.death_reason()
                if reason is not None:
                    on_death(reason)
                    return

        threading.Thread(target=loop, name="job-workers", daemon=True).start()

    def finish(self, timeout: float = 60.0) -> None:
        """Stops watching; waits for the workers to end (they stop with the chief's last
        step), killing those still running after `timeout` seconds."""
        self._done.set()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self) -> None:
        """Ends every worker now."""
        self._done.set()
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            process.wait()
