"""Training jobs: a bounded queue, one process per job, events for watchers.

A job process imports TensorFlow; the server process never does. A job publishes only
after asking its manager, which refuses once the job is cancelled, so a cancelled job never
publishes; a crash or cancel kills only the job's process.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
import multiprocessing
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator

from movierec.errors import QueueFull, UnknownJob
from movierec.model_store import ModelStore
from movierec.train_spec import EpochReport, TrainSpec

logger = logging.getLogger(__name__)


class JobState(enum.Enum):
    """Lifecycle of a job; the last three are final."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def final(self) -> bool:
        """True for SUCCEEDED, FAILED and CANCELLED."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclasses.dataclass(frozen=True)
class Job:
    """An immutable view of a job at one moment."""

    job_id: str
    spec: TrainSpec
    state: JobState
    error: str = ""
    version: int = 0
    epochs: tuple[EpochReport, ...] = ()
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """A job after a change, and the epoch that caused it when an epoch ended."""

    job: Job
    epoch: EpochReport | None = None


def _job_main(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """Entry of a job process: trains, asking the parent before publishing."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s job {job_id} %(levelname)s %(message)s"
    )
    try:
        from movierec.training import run_training

        def may_publish() -> bool:
            conn.send(("may_publish",))
            return conn.recv() is True

        result = run_training(
            TrainSpec.from_dict(spec_dict),
            ModelStore(store_root),
            data_dir,
            on_epoch=lambda report: conn.send(("epoch", dataclasses.asdict(report))),
            staging_name=job_id,
            may_publish=may_publish,
            job_id=job_id,
        )
        conn.send(("succeeded", result.version, result.metrics))
    except BaseException as error:  # noqa: BLE001 - report any failure to the parent
        logger.error("job failed: %s", traceback.format_exc())
        try:
            conn.send(("failed", f"{type(error).__name__}: {error}"))
        except OSError:
            pass
    finally:
        conn.close()


class JobManager:
    """Queues, runs, cancels and reports training jobs.

    Args:
        store: Where jobs publish.
        data_dir: Dataset folder passed to jobs (None: MOVIEREC_DATA_DIR, else the cache).
        max_running: Jobs training at once (each uses all cores it can get).
        max_queued: Jobs waiting at most; more is QueueFull.
        max_watchers: Concurrent watch() streams at most; more is QueueFull (each stream
            holds a server thread for as long as its job runs).
        max_history: Finished jobs remembered; the oldest are forgotten beyond it.
        job_target: The function a job process runs (tests substitute one); it gets
            (spec dict, store root, data dir, job id, pipe end).
    """

    def __init__(
        self,
        store: ModelStore,
        data_dir: str | None = None,
        max_running: int = 1,
        max_queued: int = 16,
        max_watchers: int = 12,
        max_history: int = 1000,
        job_target: Callable[..., None] | None = None,
    ):
        self.store = store
        self.job_target = job_target or _job_main
        self.data_dir = data_dir
        self.max_running = max_running
        self.max_queued = max_queued
        self.max_watchers = max_watchers
        self.max_history = max_history
        self._watchers = 0
        self._monitors: list[threading.Thread] = []
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._events: dict[str, list[JobEvent]] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._processes: dict[str, multiprocessing.process.BaseProcess] = {}
        self._publishing: set[str] = set()
        self._context = multiprocessing.get_context("spawn")
        self._closed = False

    def submit(self, spec: TrainSpec) -> Job:
        """Queues a validated spec. Raises QueueFull when max_queued jobs already wait."""
        with self._lock:
            if len(self._queue) >= self.max_queued:
                raise QueueFull(
                    f"{len(self._queue)} jobs are queued already (limit {self.max_queued})"
                )
            job_id = uuid.uuid4().hex[:16]
            job = Job(job_id, spec, JobState.QUEUED, created_at=time.time())
            self._jobs[job_id] = job
            self._events[job_id] = [JobEvent(job)]
            self._queue.append(job_id)
            self._start_waiting()
            return self._jobs[job_id]

    def get(self, job_id: str) -> Job:
        """The job's current state. Raises UnknownJob."""
        with self._lock:
            if job_id not in self._jobs:
                raise UnknownJob(job_id)
            return self._jobs[job_id]

    def list(self) -> list[Job]:
        """Every job this manager has seen, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created_at)

    def running_processes(self) -> int:
        """Job processes alive now (a cancelled job's process counts until it has ended)."""
        with self._lock:
            return len(self._processes)

    def cancel(self, job_id: str) -> Job:
        """Cancels a queued or running job (it publishes nothing); a final job, or one
        already publishing, is returned as it is. Raises UnknownJob.
        """
        with self._lock:
            job = self.get(job_id)
            if job.state.final or job_id in self._publishing:
                return job
            if job_id in self._queue:
                self._queue.remove(job_id)
            self._update(job_id, state=JobState.CANCELLED, finished_at=time.time())
            process = self._processes.get(job_id)
        if process is not None:
            process.terminate()
        return self.get(job_id)

    def watch(
        self, job_id: str, is_active: Callable[[], bool] = lambda: True
    ) -> Iterator[JobEvent]:
        """Yields the job's events from its current state on, ending after a final state
        or when is_active() turns False. Raises UnknownJob.
        """
        with self._lock:
            if job_id not in self._jobs:
                raise UnknownJob(job_id)
            if self._watchers >= self.max_watchers:
                raise QueueFull(
                    f"{self._watchers} job streams are open (limit {self.max_watchers})"
                )
            self._watchers += 1
            events = self._events[job_id]
            position = len(events) - 1
        try:
            while True:
                with self._lock:
                    while position >= len(events) and is_active():
                        self._lock.wait(timeout=0.5)
                    pending = events[position:]
                    position = len(events)
                yield from pending
                if not is_active() or (pending and pending[-1].job.state.final):
                    return
        finally:
            with self._lock:
                self._watchers -= 1

    def close(self, timeout: float = 10.0) -> None:
        """Cancels every job, lets a job that is already publishing finish, and waits for
        every job process and its monitor to end (killing a cancelled process that
        outlives `timeout` seconds)."""
        with self._lock:
            self._closed = True
            ids = [job.job_id for job in self._jobs.values() if not job.state.final]
        for job_id in ids:
            self.cancel(job_id)
        with self._lock:
            processes = dict(self._processes)
            publishing = set(self._publishing)
        for job_id, process in processes.items():
            process.join(None if job_id in publishing else timeout)
            if process.is_alive():
                process.kill()
        for monitor in list(self._monitors):
            monitor.join()

    # Everything below runs with self._lock held or in a job's monitor thread.

    def _update(self, job_id: str, epoch: EpochReport | None = None, **changes) -> None:
        job = dataclasses.replace(self._jobs[job_id], **changes)
        self._jobs[job_id] = job
        self._events[job_id].append(JobEvent(job, epoch))
        self._lock.notify_all()

    def _start_waiting(self) -> None:
        while self._queue and len(self._processes) < self.max_running and not self._closed:
            job_id = self._queue.popleft()
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=self.job_target,
                args=(
                    self._jobs[job_id].spec.to_dict(),
                    str(self.store.root),
                    self.data_dir,
                    job_id,
                    child,
                ),
                name=f"movierec-job-{job_id}",
                daemon=True,
            )
            try:
                process.start()
            except OSError as error:
                logger.exception("cannot start job %s", job_id)
                parent.close()
                self._update(
                    job_id,
                    state=JobState.FAILED,
                    error=f"cannot start the job process: {error}",
                    finished_at=time.time(),
                )
                continue
            finally:
                child.close()
            self._processes[job_id] = process
            self._update(job_id, state=JobState.RUNNING, started_at=time.time())
            monitor = threading.Thread(
                target=self._monitor, args=(job_id, process, parent), daemon=True
            )
            self._monitors = [m for m in self._monitors if m.is_alive()] + [monitor]
            monitor.start()
        self._forget_old_jobs()

    def _forget_old_jobs(self) -> None:
        finished = [
            job
            for job in self._jobs.values()
            if job.state.final and job.job_id not in self._processes  # a monitor still reads it
        ]
        if len(finished) > self.max_history:
            finished.sort(key=lambda job: job.finished_at)
            for job in finished[: len(finished) - self.max_history]:
                del self._jobs[job.job_id]
                del self._events[job.job_id]

    def _monitor(self, job_id: str, process, conn) -> None:
        outcome: tuple = ("failed", "")
        try:
            while True:
                message = conn.recv()
                if message[0] == "epoch":
                    report = EpochReport(**message[1])
                    with self._lock:
                        job = self._jobs[job_id]
                        if not job.state.final:
                            self._update(job_id, epoch=report, epochs=(*job.epochs, report))
                elif message[0] == "may_publish":
                    with self._lock:
                        allowed = not self._jobs[job_id].state.final
                        if allowed:
                            self._publishing.add(job_id)
                    conn.send(allowed)
                else:
                    outcome = message
                    break
        except (EOFError, OSError):
            pass
        process.join()
        conn.close()
        with self._lock:
            self._processes.pop(job_id, None)
            self._publishing.discard(job_id)
            job = self._jobs[job_id]
            now = time.time()
            if outcome[0] == "succeeded":
                self._update(
                    job_id,
                    state=JobState.SUCCEEDED,
                    version=outcome[1],
                    metrics=outcome[2],
                    finished_at=now,
                )
            elif not job.state.final:
                published = self.store.find_version_of_job(job.spec.model_name, job_id)
                if published is not None:  # died after its version was renamed into place
                    version, manifest = published
                    logger.warning(
                        "job %s died after publishing version %d; reporting it SUCCEEDED",
                        job_id,
                        version,
                    )
                    self._update(
                        job_id,
                        state=JobState.SUCCEEDED,
                        version=version,
                        metrics={str(k): float(v) for k, v in manifest.get("metrics", {}).items()},
                        finished_at=now,
                    )
                    outcome = ("succeeded", version, {})
                else:
                    reason = outcome[1] or f"job process exited with code {process.exitcode}"
                    self._update(job_id, state=JobState.FAILED, error=reason, finished_at=now)
            self._start_waiting()
        if outcome[0] != "succeeded":
            staging = self.store.staging_path(job.spec.model_name, job_id)
            shutil.rmtree(staging, ignore_errors=True)
