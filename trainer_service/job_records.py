"""Job records in SQLite, so that a restarted trainer still knows every job it ran.

One row per job, rewritten on every change (state, epoch, result). Only the trainer
process writes; a crash loses at most the change being written (SQLite's journal keeps
the file consistent).
"""

from __future__ import annotations

import json
import logging
import pathlib
import sqlite3
import time
from collections.abc import Iterable

from movierec.training.spec import EpochReport, TrainSpec
from trainer_service.jobs import Job, JobState

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

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


class JobRecords:
    """The job table of one SQLite file.

    A file that SQLite cannot read is renamed aside (`<name>.unreadable-<unix time>`) and a
    new one started, so a damaged file never stops the trainer and is kept for inspection.

    Args:
        path: The database file; its folder is created when missing.
    """

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as error:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            logger.error("job records %s unreadable (%s); moved to %s", self.path, error, aside)
            self.path.rename(aside)
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM jobs").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def save(self, job: Job) -> None:
        """Inserts or replaces the job's row."""
        self._db.execute(
            "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )

    def load(self) -> list[Job]:
        """Every readable job, oldest first; a row that cannot be read (say, of a model
        kind this build lacks) is logged and skipped, and left in the file."""
        jobs = []
        for row in self._db.execute("SELECT * FROM jobs ORDER BY created_at"):
            try:
                jobs.append(_job_of_row(row))
            except (KeyError, TypeError, ValueError) as error:
                logger.warning("skipping job record %s: %s", row[0], error)
        return jobs

    def delete(self, job_ids: Iterable[str]) -> None:
        """Removes the rows of these jobs."""
        self._db.executemany("DELETE FROM jobs WHERE job_id = ?", [(i,) for i in job_ids])

    def close(self) -> None:
        """Closes the file."""
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
