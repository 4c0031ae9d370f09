"""Training jobs: a bounded queue, one process per job, events for watchers, a time limit.

A job process imports TensorFlow; the server process never does. A job publishes only
after asking its manager, which refuses once the job is cancelled or out of time, so such a
job never publishes; a crash or cancel kills only the job's process, and a job process ends
itself when the trainer that started it dies. With job records (trainer_service.job_records)
a restarted manager answers for every job it ran, resumes queued ones and reports those that
died with the old process FAILED.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
import math
import multiprocessing
import os
import pathlib
import shutil
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import TYPE_CHECKING

from movierec.errors import InvalidRequest, QueueFull, Unavailable, UnknownJob
from movierec.store.model_store import STALE_STAGING_S, ModelStore
from movierec.training.spec import EpochReport, TrainSpec
from movierec.training.tf_logs import quiet_tensorflow_logs

if TYPE_CHECKING:
    from trainer_service.job_records import JobRecords

logger = logging.getLogger(__name__)

DEFAULT_MAX_JOB_SECONDS = 4 * 3600.0
"""Wall-clock limit of a job unless the trainer or the request sets another."""

SWEEP_INTERVAL_S = 10.0
"""Seconds between checks for jobs past their limit and for stale staging folders."""

PARENT_CHECK_INTERVAL_S = 1.0
"""How often a job process checks that the trainer that started it is still alive."""

WORKER_DEATH_WAIT_S = 2.0
"""How long a failed chief waits to learn whether a worker's death caused its failure."""

UNSAVED_RETRY_S = 1.0
"""Seconds between tries to record changes that could not be recorded when they happened
(records another process held locked)."""

CLOSE_ATTEMPTS = 40
"""Tries of those at close (about 2 s), before the records keep their older states."""

UNSAVED_WAIT_S = 0.05
"""How long such a try waits for the lock (the manager's lock is held meanwhile)."""


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
    max_seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """A job after a change, and the epoch that caused it when an epoch ended."""

    job: Job
    epoch: EpochReport | None = None


def exit_with_parent(interval: float = PARENT_CHECK_INTERVAL_S) -> None:
    """In a job process: ends the process (exit status 70) soon after the trainer that
    started it dies, so that a killed trainer leaves no orphan training on."""
    parent = multiprocessing.parent_process()
    parent_pid = parent.pid if parent is not None else os.getppid()

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(70)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def job_scratch(job_id: str) -> pathlib.Path:
    """The job's scratch folder (its training rows, its workers' files) under $TMPDIR; the
    job removes it, and the manager again when the job ends, killed or not."""
    return pathlib.Path(tempfile.gettempdir()) / f"movierec-job-{job_id}"


def _job_main(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """Entry of a job process: trains, asking the parent before publishing."""
    quiet_tensorflow_logs(f"job {job_id}")  # before anything imports TensorFlow
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s job {job_id} %(levelname)s %(message)s"
    )
    exit_with_parent()
    sending = threading.Lock()  # the workers' watcher may report while training reports

    def send(message: tuple) -> None:
        with sending:
            conn.send(message)

    workers = None
    scratch = job_scratch(job_id)
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        # Every temporary file of the job goes in its scratch folder, removed below:
        # TensorFlow's autograph leaves one source file per converted function, which it
        # removes only at interpreter exit, and a job process ends with os._exit.
        tempfile.tempdir = str(scratch)
        from movierec.training.job import run_training

        def may_publish() -> bool:
            send(("may_publish",))
            return conn.recv() is True

        spec = TrainSpec.from_dict(spec_dict)
        cluster = None
        if spec.hyperparameters.workers > 1:
            from trainer_service.job_workers import JobWorkers

            folder = pathlib.Path(tempfile.mkdtemp(prefix="workers-", dir=scratch))
            workers = JobWorkers(
                spec_dict, store_root, data_dir, spec.hyperparameters.workers, folder
            )
            cluster = workers.cluster

            def worker_died(reason: str) -> None:
                logger.error("job failed: %s", reason)
                send(("failed", reason))
                workers.kill()
                shutil.rmtree(scratch, ignore_errors=True)
                os._exit(1)  # the chief may be blocked in a collective with the dead worker

            workers.watch(worker_died)
        result = run_training(
            spec,
            ModelStore(store_root),
            data_dir,
            on_epoch=lambda report: send(("epoch", dataclasses.asdict(report))),
            staging_name=job_id,
            may_publish=may_publish,
            job_id=job_id,
            cluster=cluster,
            work_dir=scratch,
        )
        if workers is not None:
            workers.finish()
        send(("succeeded", result.version, result.metrics))
    except BaseException as error:  # noqa: BLE001 - report any failure to the parent
        reason = f"{type(error).__name__}: {error}"
        if workers is not None:
            reason = workers.death_reason(wait_s=WORKER_DEATH_WAIT_S) or reason
            workers.kill()
        logger.error("job failed: %s", traceback.format_exc())
        try:
            send(("failed", reason))
        except OSError:
            pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
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
        records: Where jobs persist (None: in memory only). Given records, the manager
            starts from them: queued jobs queue again, running ones are reconciled with
            the store (SUCCEEDED when their version was published, else FAILED). A change
            a caller is answered for (a submitted job, a cancel) is recorded before the
            answer, or refused (Unavailable) and not made; any other change that cannot be
            recorded at once is recorded as soon as the records can be written again.
        max_job_seconds: Wall-clock limit of a running job; a request may ask for less.
            A job past it is stopped and FAILED, and publishes nothing.
        sweep_interval: Seconds between sweeps for jobs past their limit and staging
            folders no running job owns.
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
        records: JobRecords | None = None,
        max_job_seconds: float = DEFAULT_MAX_JOB_SECONDS,
        sweep_interval: float = SWEEP_INTERVAL_S,
    ):
        if not (max_job_seconds > 0 and math.isfinite(max_job_seconds)):
            raise ValueError(f"max_job_seconds must be > 0, got {max_job_seconds}")
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
        self.records = records
        self._unsaved: set[str] = set()
        self.epochs_total = 0
        """Epochs reported by jobs of this manager."""
        self.max_job_seconds = max_job_seconds
        self.sweep_interval = sweep_interval
        with self._lock:
            if records is not None:
                self._recover(records.load())
            self._start_waiting()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        self._sweeper.start()

    def submit(self, spec: TrainSpec, max_seconds: float | None = None) -> Job:
        """Queues a validated spec.

        Args:
            spec: What to train.
            max_seconds: Wall-clock limit of this job once running, > 0 and at most the
                manager's max_job_seconds; None means max_job_seconds.

        Raises:
            InvalidRequest: max_seconds out of range.
            QueueFull: max_queued jobs already wait.
            Unavailable: the job could not be recorded; nothing was queued.
        """
        limit = self.max_job_seconds if max_seconds is None else float(max_seconds)
        if not 0 < limit <= self.max_job_seconds:
            raise InvalidRequest(
                f"max_seconds must be > 0 and <= {self.max_job_seconds:g} (this trainer's"
                f" limit), got {max_seconds}"
            )
        with self._lock:
            if len(self._queue) >= self.max_queued:
                raise QueueFull(
                    f"{len(self._queue)} jobs are queued already (limit {self.max_queued})"
                )
            job_id = uuid.uuid4().hex[:16]
            job = Job(job_id, spec, JobState.QUEUED, created_at=time.time(), max_seconds=limit)
            self._record(job)
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

    def list(self, model_name: str = "", states: Collection[JobState] = ()) -> list[Job]:
        """Jobs this manager remembers (at most max_history finished ones, and every
        unfinished one), newest first; only of `model_name` and in `states` when given."""
        with self._lock:
            jobs = [
                job
                for job in self._jobs.values()
                if (not model_name or job.spec.model_name == model_name)
                and (not states or job.state in states)
            ]
        return sorted(jobs, key=lambda job: (job.created_at, job.job_id), reverse=True)

    def running_processes(self) -> int:
        """Job processes alive now (a cancelled job's process counts until it has ended)."""
        with self._lock:
            return len(self._processes)

    def cancel(self, job_id: str) -> Job:
        """Cancels a queued or running job (it publishes nothing); a final job, or one
        already publishing, is returned as it is.

        Raises:
            UnknownJob: no such job.
            Unavailable: the cancel could not be recorded; the job goes on as it was.
        """
        with self._lock:
            job = self.get(job_id)
            if job.state.final or job_id in self._publishing:
                return job
            self._update(job_id, state=JobState.CANCELLED, finished_at=time.time(), durable=True)
            if job_id in self._queue:
                self._queue.remove(job_id)
            process = self._processes.get(job_id)
        if process is not None:
            process.terminate()
        return self.get(job_id)

    def watch(
        self, job_id: str, is_active: Callable[[], bool] = lambda: True
    ) -> Iterator[JobEvent]:
        """Yields the job's events from its current state on, ending after a final state
        or when is_active() turns False.

        Raises:
            UnknownJob: no such job.
            QueueFull: max_watchers streams are open.
            Unavailable: the manager closed before the job ended (a queued job stays
                queued for the next manager).
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
                    while position >= len(events) and is_active() and not self._closed:
                        self._lock.wait(timeout=0.5)
                    pending = events[position:]
                    position = len(events)
                    closed = self._closed
                yield from pending
                if not is_active() or (pending and pending[-1].job.state.final):
                    return
                if closed and not pending:
                    raise Unavailable(
                        f"the trainer is stopping; job {job_id} stays"
                        f" {events[-1].job.state.value}: watch it again once it is back"
                    )
        finally:
            with self._lock:
                self._watchers -= 1

    def close(self, timeout: float = 10.0) -> None:
        """Stops every running job (FAILED: the trainer stopped) except one already
        publishing, which may finish, and waits for every job process and its monitor to
        end (killing a stopped process that outlives `timeout` seconds). Queued jobs stay
        queued in the records for the next manager; without records they are CANCELLED.
        """
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            now = time.time()
            for job_id in list(self._queue):
                if self.records is None:
                    self._update(
                        job_id,
                        state=JobState.CANCELLED,
                        error="the trainer stopped before the job started",
                        finished_at=now,
                    )
            self._queue.clear()
            processes = dict(self._processes)
            publishing = set(self._publishing)
            for job_id in processes:
                if job_id not in publishing and not self._jobs[job_id].state.final:
                    self._update(
                        job_id,
                        state=JobState.FAILED,
                        error="the trainer stopped while the job was running; nothing was"
                        " published",
                        finished_at=now,
                    )
        for job_id, process in processes.items():
            if job_id not in publishing:
                process.terminate()
        for job_id, process in processes.items():
            process.join(None if job_id in publishing else timeout)
            if process.is_alive():
                process.kill()
        for monitor in list(self._monitors):
            monitor.join()
        self._sweeper.join()
        if self.records is not None:
            with self._lock:
                try:
                    self._save_unsaved(attempts=CLOSE_ATTEMPTS)
                except Unavailable as error:
                    logger.error("%s; the records keep older states of %s", error, self._unsaved)
            self.records.close()

    def sweep(self) -> None:
        """Stops jobs past their time limit (FAILED, nothing published) and removes
        staging folders that no running job of this manager owns: at once when they
        belong to one of its finished jobs, after STALE_STAGING_S when they are unknown
        (another writer may own them)."""
        now = time.time()
        overdue = []
        with self._lock:
            for job_id, process in self._processes.items():
                job = self._jobs[job_id]
                if (
                    job.state is JobState.RUNNING
                    and job_id not in self._publishing
                    and now - job.started_at > job.max_seconds
                ):
                    self._update(
                        job_id,
                        state=JobState.FAILED,
                        error=f"the job ran past its limit of {job.max_seconds:g} seconds and"
                        " was stopped; nothing was published",
                        finished_at=now,
                    )
                    overdue.append(process)
            running = set(self._processes)
            finished = {job_id for job_id, job in self._jobs.items() if job.state.final}
        for process in overdue:
            process.terminate()
        self._remove_staging(running, finished, now)

    def _remove_staging(self, running: set[str], finished: set[str], now: float) -> None:
        for name in self.store.list_model_folders():
            for staging in self.store.model_path(name).glob(".staging-*"):
                owner = staging.name.removeprefix(".staging-")
                if owner in running:
                    continue
                try:
                    stale = owner in finished or now - staging.stat().st_mtime > STALE_STAGING_S
                except OSError:
                    continue
                if stale:
                    logger.warning("removing %s, left by a job that did not publish", staging)
                    shutil.rmtree(staging, ignore_errors=True)

    def _sweep_loop(self) -> None:
        next_sweep = time.monotonic() + self.sweep_interval
        while True:
            with self._lock:
                if self._closed:
                    return
                wait = next_sweep - time.monotonic()
                if self._unsaved:
                    wait = min(wait, UNSAVED_RETRY_S)
                self._lock.wait(max(wait, 0.0))
                if self._closed:
                    return
                try:
                    self._save_unsaved()
                except Unavailable:
                    pass  # tried again after UNSAVED_RETRY_S
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.sweep_interval
                try:
                    self.sweep()
                except Exception:  # noqa: BLE001 - the sweeper must outlive a bad sweep
                    logger.exception("job sweep failed")

    # Everything below runs with self._lock held or in a job's monitor thread.

    def _record(self, job: Job) -> None:
        """Records a change a caller will be answered for. Raises Unavailable."""
        if self.records is None:
            return
        self.records.save(job)
        self._unsaved.discard(job.job_id)
        try:
            self._save_unsaved()  # the records are writable again
        except Unavailable:
            pass

    def _save(self, job: Job) -> None:
        """Records a change no caller waits for, now if the records can be written at
        once, else later (the sweeper retries every UNSAVED_RETRY_S)."""
        if self.records is None:
            return
        if self._unsaved:  # the records were locked a moment ago: no wait under the lock
            self._unsaved.add(job.job_id)
            return
        try:
            self.records.save(job, attempts=1, wait=UNSAVED_WAIT_S)
        except Unavailable as error:
            logger.warning("%s; will retry", error)
            self._unsaved.add(job.job_id)

    def _save_unsaved(self, attempts: int = 1) -> None:
        """Records the changes that could not be recorded when they happened; raises
        Unavailable when they still cannot be."""
        if self.records is None or not self._unsaved:
            return
        for job_id in sorted(self._unsaved):
            job = self._jobs.get(job_id)
            if job is not None:
                self.records.save(job, attempts=attempts, wait=UNSAVED_WAIT_S)
            self._unsaved.discard(job_id)
        logger.info("job records written again")

    def _update(
        self, job_id: str, epoch: EpochReport | None = None, durable: bool = False, **changes
    ) -> None:
        """Applies changes to a job and records them; with `durable`, records them first
        and raises Unavailable (changing nothing) when they cannot be recorded."""
        job = dataclasses.replace(self._jobs[job_id], **changes)
        if durable:
            self._record(job)
        self._jobs[job_id] = job
        self._events[job_id].append(JobEvent(job, epoch))
        if not durable:
            self._save(job)
        self._lock.notify_all()

    def _recover(self, jobs: Iterable[Job]) -> None:
        """Takes over recorded jobs: queued ones queue again in their order, running ones
        died with the previous trainer (reconciled with the store)."""
        now = time.time()
        for job in jobs:
            self._jobs[job.job_id] = job
            self._events[job.job_id] = [JobEvent(job)]
            if job.state is JobState.QUEUED:
                self._queue.append(job.job_id)
            elif job.state is JobState.RUNNING:
                published = self.store.find_version_of_job(job.spec.model_name, job.job_id)
                if published is not None:
                    version, manifest = published
                    self._update(
                        job.job_id,
                        state=JobState.SUCCEEDED,
                        version=version,
                        metrics=_manifest_metrics(manifest),
                        finished_at=now,
                    )
                else:
                    self._update(
                        job.job_id,
                        state=JobState.FAILED,
                        error="the trainer stopped while the job was running; nothing was"
                        " published",
                        finished_at=now,
                    )
        if self._queue:
            logger.info("resuming %d queued jobs", len(self._queue))
        self._forget_old_jobs()

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
            forgotten = [job.job_id for job in finished[: len(finished) - self.max_history]]
            for job_id in forgotten:
                del self._jobs[job_id]
                del self._events[job_id]
                self._unsaved.discard(job_id)
            if self.records is not None:
                try:
                    self.records.delete(forgotten)
                except Unavailable as error:  # they stay in the file until a later start
                    logger.warning("%s", error)

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
                            self.epochs_total += 1
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
        shutil.rmtree(job_scratch(job_id), ignore_errors=True)  # what a killed job left
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
                        metrics=_manifest_metrics(manifest),
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


DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000


def page_of(jobs: list[Job], page_size: int, page_token: str) -> tuple[list[Job], str]:
    """One page of a newest-first job list, after the job `page_token` names; the token of
    the next page names the page's last job, so pages stay put while jobs are added.

    Args:
        jobs: Newest first, as JobManager.list returns them.
        page_size: 0 means DEFAULT_PAGE_SIZE; at most MAX_PAGE_SIZE.
        page_token: "" for the first page, else a next_page_token this function returned.

    Returns:
        (jobs of the page, token of the next page or "" on the last page).

    Raises:
        InvalidRequest: page_size out of range, or a token this function did not make.
    """
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"page_size must be 0 to {MAX_PAGE_SIZE}, got {page_size}")
    size = page_size or DEFAULT_PAGE_SIZE
    start = 0
    if page_token:
        created, _, job_id = page_token.partition("/")
        try:
            after = (float(created), job_id)
        except ValueError:
            raise InvalidRequest(f"page_token {page_token!r} is not one ListJobs gave") from None
        if not job_id or not math.isfinite(after[0]):
            raise InvalidRequest(f"page_token {page_token!r} is not one ListJobs gave")
        start = next(
            (i for i, job in enumerate(jobs) if (job.created_at, job.job_id) < after), len(jobs)
        )
    page = jobs[start : start + size]
    more = start + size < len(jobs)
    return page, f"{page[-1].created_at!r}/{page[-1].job_id}" if more and page else ""


def _manifest_metrics(manifest: dict) -> dict[str, float]:
    return {str(k): float(v) for k, v in manifest.get("metrics", {}).items()}
