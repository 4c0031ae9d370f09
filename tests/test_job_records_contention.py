"""Job records under contention: another process holding `jobs.sqlite3` locked (SQLite's
BEGIN EXCLUSIVE) at start, during Train and during Cancel, then a restart. No answer is
lost: a change is recorded before it is answered, or refused UNAVAILABLE with the reason;
a locked file is never moved aside; records of another schema stop the start with one
line."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from movierec.errors import Unavailable
from movierec.training.spec import build_train_spec
from service_common.security import ConfigError
from tests.fakes import publish_when_allowed, train_forever
from tests.test_jobs import wait_until
from trainer_service.job_records import _SCHEMA, JobRecords, RecordsLocked
from trainer_service.jobs import JobManager, JobState

HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


@contextlib.contextmanager
def lock_held_by_another_process(path):
    """A second process holds an exclusive SQLite lock on `path` until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        try:
            holder.wait(10)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


def recorded_state(path, job_id):
    """The state the file itself holds for a job (read by a connection of its own)."""
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    finally:
        db.close()
    return row[0] if row else None


def nothing_moved_aside(path):
    return not list(path.parent.glob(f"{path.name}.unreadable-*"))


@pytest.fixture
def records_path(tmp_path):
    return tmp_path / "jobs.sqlite3"


def test_train_and_cancel_under_a_lock_are_refused_and_nothing_answered_is_lost(
    store, records_path
):
    manager = JobManager(store, job_target=train_forever, records=JobRecords(records_path))
    try:
        running = manager.submit(build_train_spec("m")).job_id
        wait_until(lambda: manager.get(running).epochs, what="the job's first epoch")
        with lock_held_by_another_process(records_path):
            started = time.monotonic()
            with pytest.raises(Unavailable, match="cannot record job .*database is locked"):
                manager.submit(build_train_spec("m"))
            assert time.monotonic() - started < 3
            assert [job.job_id for job in manager.list()] == [running]  # nothing queued
            with pytest.raises(Unavailable, match="nothing was changed"):
                manager.cancel(running)
            assert manager.get(running).state is JobState.RUNNING
        assert manager.cancel(running).state is JobState.CANCELLED
        assert recorded_state(records_path, running) == "CANCELLED"
        queued = manager.submit(build_train_spec("m")).job_id
        assert recorded_state(records_path, queued) in ("QUEUED", "RUNNING")
    finally:
        manager.close()
    again = JobManager(store, job_target=train_forever, records=JobRecords(records_path))
    try:
        assert again.get(running).state is JobState.CANCELLED
        assert {job.job_id for job in again.list()} == {running, queued}
    finally:
        again.close()
    assert nothing_moved_aside(records_path)


def test_changes_no_caller_waits_for_are_recorded_once_the_lock_is_gone(store, records_path):
    manager = JobManager(store, job_target=train_forever, records=JobRecords(records_path))
    try:
        job_id = manager.submit(build_train_spec("m")).job_id
        pid_file = store.root / f"{job_id}.pid"
        wait_until(pid_file.exists, what="the job process")
        with lock_held_by_another_process(records_path):
            os.kill(int(pid_file.read_text()), 9)  # the job dies while nobody can record
            wait_until(lambda: manager.get(job_id).state is JobState.FAILED, what="FAILED")
            assert recorded_state(records_path, job_id) == "RUNNING"
            started = time.monotonic()
            assert manager.get(job_id).state is JobState.FAILED  # answers go on meanwhile
            assert time.monotonic() - started < 0.5
        wait_until(lambda: recorded_state(records_path, job_id) == "FAILED", timeout=5)
    finally:
        manager.close()


def test_a_lock_held_at_start_moves_nothing_and_the_history_survives(store, records_path):
    first = JobManager(store, job_target=publish_when_allowed, records=JobRecords(records_path))
    try:
        done = first.submit(build_train_spec("m")).job_id
        wait_until(lambda: first.get(done).state.final, what="the job")
    finally:
        first.close()
    with lock_held_by_another_process(records_path):
        second = JobManager(store, job_target=train_forever, records=JobRecords(records_path))
        try:
            assert second.get(done).state is JobState.SUCCEEDED
            with pytest.raises(Unavailable, match="database is locked"):
                second.submit(build_train_spec("m"))
        finally:
            second.close()
    assert nothing_moved_aside(records_path)
    third = JobManager(store, job_target=train_forever, records=JobRecords(records_path))
    try:
        assert [job.job_id for job in third.list()] == [done]
        assert third.get(done).version == 1
    finally:
        third.close()


def test_records_locked_past_the_start_wait_are_refused_and_not_moved(records_path):
    db = sqlite3.connect(records_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")  # readers wait for a writer, unlike WAL
    db.execute(_SCHEMA)
    db.close()
    with lock_held_by_another_process(records_path):
        started = time.monotonic()
        with pytest.raises(RecordsLocked, match="locked by another process for 0.3s"):
            JobRecords(records_path, open_wait=0.3)
        assert time.monotonic() - started < 3
    assert nothing_moved_aside(records_path)
    JobRecords(records_path).close()  # and it opens once the lock is gone


def _other_columns(db):
    db.execute("CREATE TABLE jobs (job_id TEXT PRIMARY KEY, payload BLOB)")


def _newer_schema(db):
    db.execute(_SCHEMA)
    db.execute("PRAGMA user_version=7")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_other_columns, r"hold a jobs table of columns \(job_id, payload\)"),
        (_newer_schema, "are of schema version 7, this trainer reads version 1"),
    ],
)
def test_records_of_another_schema_are_refused_with_the_reason(records_path, make, reason):
    db = sqlite3.connect(records_path, isolation_level=None)
    make(db)
    db.close()
    before = records_path.read_bytes()
    with pytest.raises(ConfigError, match=reason):
        JobRecords(records_path)
    assert records_path.read_bytes() == before and nothing_moved_aside(records_path)


def test_an_unstamped_table_of_this_schema_is_taken_over(records_path):
    db = sqlite3.connect(records_path, isolation_level=None)
    db.execute(_SCHEMA)
    db.close()
    JobRecords(records_path).close()
    db = sqlite3.connect(records_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()


@pytest.mark.service
def test_a_trainer_refuses_records_of_another_schema_with_one_line(tmp_path, records_path):
    db = sqlite3.connect(records_path, isolation_level=None)
    _other_columns(db)
    db.close()
    result = subprocess.run(
        [sys.executable, "-m", "trainer_service", "--store", str(tmp_path / "store")]
        + ["--port", "0", "--jobs-db", str(records_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert "hold a jobs table of columns (job_id, payload)" in line


@pytest.mark.service
def test_train_under_a_locked_records_file_is_unavailable_with_the_reason(
    store, start_trainer, records_path
):
    from movierec_client.errors import UnavailableError
    from movierec_client.sdk import TrainerClient

    _, address = start_trainer(store.root, jobs_db=str(records_path))
    with TrainerClient(address, max_attempts=1) as client:
        with lock_held_by_another_process(records_path):
            with pytest.raises(UnavailableError, match="cannot record job .*retry later"):
                client.train("m", epochs=1)
        assert client.list_jobs().jobs == ()
