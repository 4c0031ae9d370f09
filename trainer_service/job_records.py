"""Job records in SQLite, so that a restarted trainer still knows every job it ran.

One row per job, rewritten on every change (state, epoch, result). Only the trainer
process writes; a crash loses at most the change being written (SQLite's journal keeps
the file consistent). A write waits a bounded time for a lock another process holds and
then fails with the reason (movierec.errors.Unavailable), so that a caller is never
answered for a change that was not recorded.
"""

from __future__ import annotations

import json
import logging
import pathlib
import sqlite3
import threading
import time
from collections.abc import Iterable

from movierec.errors import Unavailable
from movierec.training.spec import EpochReport, TrainSpec
from service_common.security import ConfigError
from trainer_service.jobs import Job, JobState

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
COLUMNS = (
    "job_id",
    "model_name",
    "state",
    "spec",
    "error",
    "version",
    "epochs",
    "metrics",
    "created_at",
    "started_at",
    "finished_at",
    "max_seconds",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    model_name TEXT NOT NULL,
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    error TEXT NOT NULL,
    version INTEGER NOT NULL,
    epochs TEXT NOT NULL,
    metrics TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    max_seconds REAL NOT NULL
)
"""

BUSY_TIMEOUT_S = 0.5
"""How long one write waits for a lock another process holds (SQLite's busy timeout)."""
WRITE_ATTEMPTS = 3
"""Tries of a write whose answer a caller waits for, before it fails: about 1.6 s in all,
so that a client's retries of UNAVAILABLE fit in its deadline."""
OPEN_WAIT_S = 10.0
"""How long a starting trainer waits for records another process holds locked."""
_RETRY_PAUSE_S = 0.05
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_CORRUPT = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _code(error: sqlite3.Error) -> int:
    """The primary SQLite result code of an error (-1 when it has none)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else -1


class RecordsLocked(RuntimeError):
    """The records file stayed locked by another process for all of OPEN_WAIT_S."""


class JobRecords:
    """The job table of one SQLite file.

    A file that SQLite reports corrupt ("file is not a database", SQLITE_CORRUPT) is
    renamed aside (`<name>.unreadable-<unix time>`) and a new one started, so a damaged
    file never stops the trainer and is kept for inspection. A file that is only locked
    or cannot be written is never moved: it is waited for, and then refused.

    Args:
        path: The database file; its folder is created when missing.
        open_wait: Seconds to wait at start for a lock another process holds.

    Raises:
        ConfigError: records of another schema (the message says how they differ).
        RecordsLocked: the file stayed locked for `open_wait` seconds.
        OSError, sqlite3.Error: the file cannot be opened or created (say, an unwritable
            folder).
    """

    def __init__(self, path: str | pathlib.Path, open_wait: float = OPEN_WAIT_S):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        deadline = time.monotonic() + open_wait
        while True:
            try:
                self._db = self._open()
                return
            except sqlite3.Error as error:
                if _code(error) in _CORRUPT:
                    self._move_aside(error)
                elif _code(error) in _BUSY and time.monotonic() < deadline:
                    time.sleep(0.1)
                elif _code(error) in _BUSY:
                    raise RecordsLocked(
                        f"job records {self.path} stayed locked by another process for"
                        f" {open_wait:g}s ({error}); nothing was moved"
                    ) from None
                else:
                    raise

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise ConfigError(
                    f"job records {self.path} are of schema version {version}, this trainer"
                    f" reads version {SCHEMA_VERSION}: give --jobs-db another file"
                )
            columns = tuple(row[1] for row in db.execute("PRAGMA table_info(jobs)"))
            if columns and columns != COLUMNS:
                raise ConfigError(
                    f"job records {self.path} hold a jobs table of columns"
                    f" ({', '.join(columns)}), not this trainer's ({', '.join(COLUMNS)}):"
                    " give --jobs-db another file"
                )
            db.execute("PRAGMA synchronous=FULL")  # a recorded answer outlives a power cut
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            if not columns:
                db.execute(_SCHEMA)
            if version != SCHEMA_VERSION:  # 0: new, or the same table unstamped
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM jobs").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, error: sqlite3.Error) -> None:
        stamp = int(time.time())
        aside = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
        logger.error("job records %s are corrupt (%s); moved to %s", self.path, error, aside)
        self.path.rename(aside)
        for suffix in ("-wal", "-shm"):  # they belong to the damaged file
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                companion.rename(aside.with_name(aside.name + suffix))

    def _write(self, sql: str, rows: list[tuple], attempts: int, wait: float, what: str) -> None:
        """Runs one write, retrying while another process holds the lock.

        Raises:
            Unavailable: it could not be written (the reason says why); nothing changed.
        """
        with self._lock:
            for attempt in range(attempts):
                try:
                    self._db.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
                    self._db.executemany(sql, rows)
                    return
                except sqlite3.Error as error:
                    if _code(error) in _BUSY and attempt + 1 < attempts:
                        time.sleep(_RETRY_PAUSE_S)
                        continue
                    raise Unavailable(
                        f"cannot record {what} in {self.path}: {error}; nothing was changed,"
                        " retry later"
                    ) from None

    def save(self, job: Job, attempts: int = WRITE_ATTEMPTS, wait: float = BUSY_TIMEOUT_S) -> None:
        """Inserts or replaces the job's row, durably.

        Args:
            job: The job as it is now.
            attempts: Tries while another process holds the file locked.
            wait: Seconds each try waits for the lock.

        Raises:
            Unavailable: the row could not be written (locked, read-only, disk full).
        """
        row = (
            job.job_id,
            job.spec.model_name,
            job.state.value,
            json.dumps(job.spec.to_dict()),
            job.error,
            job.version,
            json.dumps([vars(epoch) for epoch in job.epochs]),
            json.dumps(job.metrics),
            job.created_at,
            job.started_at,
            job.finished_at,
            job.max_seconds,
        )
        self._write(
            "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row],
            attempts,
            wait,
            f"job {job.job_id}",
        )

    def load(self) -> list[Job]:
        """Every readable job, oldest first; a row that cannot be read (say, of a model
        kind this build lacks) is logged and skipped, and left in the file."""
        jobs = []
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY created_at").fetchall()
        for row in rows:
            try:
                jobs.append(_job_of_row(row))
            except (KeyError, TypeError, ValueError) as error:
                logger.warning("skipping job record %s: %s", row[0], error)
        return jobs

    def delete(self, job_ids: Iterable[str]) -> None:
        """Removes the rows of these jobs.

        Raises:
            Unavailable: they could not be removed.
        """
        self._write(
            "DELETE FROM jobs WHERE job_id = ?",
            [(i,) for i in job_ids],
            1,
            BUSY_TIMEOUT_S,
            "forgotten jobs",
        )

    def close(self) -> None:
        """Closes the file."""
        with self._lock:
            self._db.close()


def _job_of_row(row: tuple) -> Job:
    (job_id, _, state, spec, error, version, epochs, metrics, created, started, finished, limit) = (
        row
    )
    return Job(
        job_id=job_id,
        spec=TrainSpec.from_dict(json.loads(spec)),
        state=JobState(state),
        error=error,
        version=int(version),
        epochs=tuple(EpochReport(**epoch) for epoch in json.loads(epochs)),
        metrics={str(k): float(v) for k, v in json.loads(metrics).items()},
        created_at=float(created),
        started_at=float(started),
        finished_at=float(finished),
        max_seconds=float(limit),
    )
