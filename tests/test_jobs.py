"""The job manager without a server: records that outlive the trainer, time limits, sweeps.

Job processes here run the fakes of tests/fakes.py, so nothing trains.
"""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from movierec.errors import InvalidRequest
from movierec.training.spec import build_train_spec
from tests.fakes import publish_when_allowed, train_forever
from trainer_service.job_records import JobRecords
from trainer_service.jobs import JobManager, JobState

pytestmark = pytest.mark.service

REPO = pathlib.Path(__file__).parents[1]


def wait_until(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = pathlib.Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.fixture
def records_path(tmp_path):
    return tmp_path / "jobs.sqlite3"


def test_jobs_outlive_the_manager_in_their_records(store, records_path):
    first = JobManager(store, job_target=publish_when_allowed, records=JobRecords(records_path))
    try:
        job_id = first.submit(build_train_spec("m")).job_id
        wait_until(lambda: first.get(job_id).state.final, what="the job")
    finally:
        first.close()
    again = JobManager(store, job_target=publish_when_allowed, records=JobRecords(records_path))
    try:
        job = again.get(job_id)
        assert job.state is JobState.SUCCEEDED and job.version == 1
        assert job.metrics == {"rmse": 1.25} and job.spec.model_name == "m"
        assert job.max_seconds == again.max_job_seconds and job.finished_at > 0
        assert [j.job_id for j in again.list(model_name="m")] == [job_id]
        assert again.list(model_name="other") == [] and again.list(states={JobState.FAILED}) == []
    finally:
        again.close()


def test_a_killed_trainer_leaves_no_orphan_and_its_jobs_are_answered_after_restart(
    store, records_path
):
    """SIGKILL of a trainer holding a running and a queued job: its job process ends by
    itself; the next manager reports the running job FAILED with the reason and runs the
    queued one."""
    script = textwrap.dedent(
        f"""
        import time
        from movierec.store.model_store import ModelStore
        from movierec.training.spec import build_train_spec
        from tests.fakes import train_forever
        from trainer_service.job_records import JobRecords
        from trainer_service.jobs import JobManager
        manager = JobManager(ModelStore({str(store.root)!r}), job_target=train_forever,
                             records=JobRecords({str(records_path)!r}))
        running = manager.submit(build_train_spec("m")).job_id
        queued = manager.submit(build_train_spec("m")).job_id
        while not manager.get(running).epochs:
            time.sleep(0.05)
        print(running, queued, flush=True)
        time.sleep(600)
        """
    )
    trainer = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        running, queued = trainer.stdout.readline().split()
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()
    job_pid = int((store.root / f"{running}.pid").read_text())
    wait_until(lambda: not alive(job_pid), what="the orphaned job process to end")

    manager = JobManager(store, job_target=publish_when_allowed, records=JobRecords(records_path))
    try:
        died = manager.get(running)
        assert died.state is JobState.FAILED
        assert "trainer stopped while the job was running" in died.error
        assert len(died.epochs) == 1, "progress recorded before the crash is kept"
        wait_until(lambda: manager.get(queued).state.final, what="the resumed job")
        assert manager.get(queued).state is JobState.SUCCEEDED
        assert store.list_versions("m") == [1]
    finally:
        manager.close()


def test_a_graceful_stop_fails_the_running_job_and_keeps_the_queued_one(store, records_path):
    first = JobManager(store, job_target=train_forever, records=JobRecords(records_path))
    try:
        running = first.submit(build_train_spec("m")).job_id
        queued = first.submit(build_train_spec("m")).job_id
        wait_until(lambda: first.get(running).epochs, what="the first epoch")
    finally:
        first.close()
    assert first.get(running).state is JobState.FAILED
    assert first.get(queued).state is JobState.QUEUED
    again = JobManager(store, job_target=publish_when_allowed, records=JobRecords(records_path))
    try:
        wait_until(lambda: again.get(queued).state.final, what="the resumed job")
        assert again.get(queued).state is JobState.SUCCEEDED
        assert again.get(running).state is JobState.FAILED
    finally:
        again.close()


def test_without_records_a_stop_cancels_queued_jobs(store):
    manager = JobManager(store, job_target=train_forever)
    try:
        manager.submit(build_train_spec("m"))
        queued = manager.submit(build_train_spec("m")).job_id
    finally:
        manager.close()
    assert manager.get(queued).state is JobState.CANCELLED
    assert "stopped before the job started" in manager.get(queued).error


def test_a_job_past_its_time_limit_is_stopped_and_publishes_nothing(store):
    manager = JobManager(store, job_target=train_forever, max_job_seconds=60, sweep_interval=0.05)
    try:
        job_id = manager.submit(build_train_spec("m"), max_seconds=0.3).job_id
        wait_until(lambda: manager.get(job_id).state.final, what="the limit")
        job = manager.get(job_id)
        assert job.state is JobState.FAILED and "past its limit of 0.3 seconds" in job.error
        wait_until(lambda: manager.running_processes() == 0, what="the process to end")
        assert store.list_versions("m") == []
    finally:
        manager.close()


@pytest.mark.parametrize("limit", [0, -1, 61, float("nan"), float("inf")])
def test_a_time_limit_beyond_the_trainers_is_refused(store, limit):
    manager = JobManager(store, job_target=train_forever, max_job_seconds=60)
    try:
        with pytest.raises(InvalidRequest, match="max_seconds must be > 0 and <= 60"):
            manager.submit(build_train_spec("m"), max_seconds=limit)
        assert manager.list() == []
    finally:
        manager.close()


def test_sweeps_remove_staging_no_running_job_owns(store):
    manager = JobManager(store, job_target=publish_when_allowed)
    try:
        finished = manager.submit(build_train_spec("m")).job_id
        wait_until(lambda: manager.get(finished).state.final, what="the job")
        left_by_job = store.staging_path("m", finished)
        unknown_fresh = store.staging_path("m", "someone-else")
        unknown_old = store.staging_path("m", "long-dead")
        for folder in (left_by_job, unknown_fresh, unknown_old):
            folder.mkdir()
        old = time.time() - 7200
        os.utime(unknown_old, (old, old))
        manager.sweep()
        assert not left_by_job.exists() and not unknown_old.exists()
        assert unknown_fresh.exists(), "another writer may still be at work"
    finally:
        manager.close()


def test_an_unreadable_records_file_is_kept_aside_and_a_new_one_started(store, records_path):
    records_path.write_bytes(b"not a database at all" * 100)
    records = JobRecords(records_path)
    try:
        assert records.load() == []
        aside = list(records_path.parent.glob("jobs.sqlite3.unreadable-*"))
        assert len(aside) == 1 and aside[0].read_bytes().startswith(b"not a database")
    finally:
        records.close()
