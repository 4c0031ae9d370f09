"""Every flag of both services and of the client commands, given 0, a negative number, NaN
and an out-of-range value where those are wrong: exit status 2 and one line naming the
flag, never a traceback. Numbers are refused by argparse types (checked in process, on
the real parsers); folders and environment variables before anything starts (checked on
the real entry points, as processes)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from movierec_client.commands import build_parser
from serving_service.__main__ import add_arguments as serving_arguments
from tests.fakes import publish_fake
from trainer_service.__main__ import add_arguments as trainer_arguments

BIG32, BIG64 = str(2**31), str(2**63)
COUNT = ["0", "-1", "nan", BIG32]
"""A count >= 1 of an int32 field."""
SIZE = ["-1", "nan", BIG32]
"""A number >= 0 (0 meaning a default) of an int32 field."""
SECONDS = ["0", "-1", "nan", "inf", "1e8"]
"""A finite interval > 0, at most 1e7 seconds."""
PAUSE = ["-1", "nan", "inf", "1e8"]
"""A finite interval >= 0 (0: none)."""
PORT = ["-1", "nan", "65536", "99999"]
FINITE = ["nan", "inf", "-inf"]
FRACTION = ["-1", "nan", "1", "1.5"]
VERSION = ["0", "-1", "nan", str(10**18)]
ID = ["nan", "1.5", BIG64]

SERVICE_FLAGS = [
    ("trainer", "--port", PORT),
    ("trainer", "--max-running", ["0", "-1", "nan", "1025"]),
    ("trainer", "--max-queued", COUNT),
    ("trainer", "--max-job-seconds", SECONDS),
    ("trainer", "--drain-seconds", PAUSE),
    ("trainer", "--grace-seconds", PAUSE),
    ("trainer", "--metrics-port", PORT),
    ("serving", "--port", PORT),
    ("serving", "--poll-interval", SECONDS),
    ("serving", "--keep-versions", COUNT),
    ("serving", "--ann-min-items", ["-1", "nan", BIG64]),
    ("serving", "--top-lists-max-cells", ["-1", "nan", BIG64]),
    ("serving", "--max-k", COUNT),
    ("serving", "--max-batch", COUNT),
    ("serving", "--workers", ["0", "-1", "nan", "1025"]),
    ("serving", "--threads", ["0", "-1", "nan", "1025"]),
    ("serving", "--drain-seconds", PAUSE),
    ("serving", "--grace-seconds", PAUSE),
    ("serving", "--metrics-port", PORT),
]


def _service_parser(service: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{service}_service")
    (trainer_arguments if service == "trainer" else serving_arguments)(parser)
    return parser


def _refused(parser: argparse.ArgumentParser, argv: list[str], flag: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(argv)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2, argv
    assert f"error: argument {flag}" in error.splitlines()[-1], (argv, error)
    assert "Traceback" not in error


@pytest.mark.parametrize(("service", "flag", "values"), SERVICE_FLAGS)
def test_a_bad_number_for_a_service_flag_exits_2_naming_it(service, flag, values, capsys):
    parser = _service_parser(service)
    for value in values:
        _refused(parser, [flag, value], flag, capsys)


def test_service_flags_at_the_edges_of_their_ranges_are_taken():
    trainer = _service_parser("trainer").parse_args(
        ["--port", "0", "--drain-seconds", "0", "--max-job-seconds", "0.5", "--max-queued", "1"]
    )
    assert (trainer.port, trainer.drain_seconds, trainer.max_job_seconds) == (0, 0.0, 0.5)
    serving = _service_parser("serving").parse_args(
        ["--port", "65535", "--top-lists-max-cells", "0", "--poll-interval", "0.05"]
    )
    assert (serving.port, serving.top_lists_max_cells, serving.poll_interval) == (65535, 0, 0.05)


CLIENT_FLAGS = [
    (["recommend", "--model", "m", "--user", "1"], "--timeout", SECONDS),
    (["train", "--model", "m"], "--seed", ["-1", "nan", BIG64]),
    (["train", "--model", "m"], "--test-fraction", FRACTION),
    (["train", "--model", "m"], "--epochs", COUNT),
    (["train", "--model", "m"], "--embedding-dim", COUNT),
    (["train", "--model", "m"], "--learning-rate", ["0", "-1", "nan", "inf"]),
    (["train", "--model", "m"], "--batch-size", COUNT),
    (["train", "--model", "m"], "--l2", ["-1", "nan", "inf"]),
    (["train", "--model", "m"], "--patience", SIZE),
    (["train", "--model", "m"], "--validation-fraction", FRACTION),
    (["train", "--model", "m"], "--num-negatives", COUNT),
    (["train", "--model", "m"], "--min-positive-rating", FINITE),
    (["train", "--model", "m"], "--workers", ["0", "-1", "nan", "17"]),
    (["train", "--model", "m"], "--layers", ["0", "-1", "nan", BIG32, "64,0"]),
    (["train", "--model", "m"], "--temperature", ["0", "-1", "nan", "inf"]),
    (["train", "--model", "m"], "--num-candidates", COUNT),
    (["train", "--model", "m"], "--time-buckets", COUNT),
    (["train", "--model", "m"], "--max-seconds", SECONDS),
    (["plots", "--model", "m", "--out", "x"], "--version", VERSION),
    (["jobs"], "--limit", SIZE),
    (["recommend", "--model", "m"], "--user", ID),
    (["recommend", "--model", "m", "--user", "1"], "--version", VERSION),
    (["recommend", "--model", "m", "--user", "1"], "-k", COUNT),
    (["recommend", "--model", "m", "--user", "1"], "--exclude", ID),
    (["recommend", "--model", "m", "--user", "1"], "--num-candidates", SIZE),
    (["recommend", "--model", "m", "--user", "1"], "--timestamp", FINITE),
    (["recommend", "--model", "m"], "--genre", ["Action=nan", "Action=inf", "Action=x"]),
    (["recommend", "--model", "m", "--genre", "Action=4"], "--rating-count", SIZE),
    (["recommend", "--model", "m", "--genre", "Action=4"], "--mean-rating", FINITE),
    (["recommend", "--model", "m", "--genre", "Action=4"], "--age", SIZE),
    (["similar", "--model", "m"], "--item", ID),
    (["similar", "--model", "m", "--item", "1"], "-k", COUNT),
    (["predict", "--model", "m", "--user", "1"], "--item", ID),
    (["metrics", "--model", "m"], "-k", SIZE),
    (["metrics", "--model", "m"], "--baseline", VERSION),
    (["metrics", "--model", "m"], "--threshold", FINITE),
    (["metrics", "--model", "m"], "--compare", ["x:0", "x:-1", "x:nan", f"x:{10**18}"]),
    (["load", "--model", "m"], "-k", COUNT),
    (["load", "--model", "m"], "--mix", ["recommend=-1", "recommend=nan", "recommend=0"]),
    (["load", "--model", "m"], "--concurrency", ["0", "-1", "nan", "4097"]),
    (["load", "--model", "m"], "--connections", ["0", "-1", "nan", "4097"]),
    (["load", "--model", "m"], "--processes", ["0", "-1", "nan", "257"]),
    (["load", "--model", "m"], "--duration", SECONDS),
    (["load", "--model", "m"], "--requests", ["-1", "nan", BIG64]),
    (["load", "--model", "m"], "--warmup", PAUSE),
    (["load", "--model", "m", "--items", "1", "2"], "--users", ID),
    (["load", "--model", "m", "--users", "1", "2"], "--items", ID),
    (["synth", "--model", "m"], "--users", COUNT),
    (["synth", "--model", "m"], "--items", COUNT),
    (["synth", "--model", "m"], "--dim", COUNT),
    (["synth", "--model", "m"], "--skew", ["-1", "nan", "inf"]),
    (["synth", "--model", "m"], "--ratings-per-user", COUNT),
    (["synth", "--model", "m"], "--seed", ["-1", "nan", BIG64]),
    (["synth-ratings", "--out", "x"], "--users", COUNT),
    (["synth-ratings", "--out", "x"], "--items", COUNT),
    (["synth-ratings", "--out", "x"], "--ratings", ["0", "-1", "nan", BIG64]),
    (["synth-ratings", "--out", "x"], "--skew", ["-1", "nan", "inf"]),
    (["synth-ratings", "--out", "x"], "--seed", ["-1", "nan", BIG64]),
    (["pin", "--model", "m"], "--version", VERSION),
    (["status", "--model", "m"], "--wait-version", VERSION),
    (["status", "--model", "m"], "--wait-timeout", SECONDS),
]


@pytest.mark.parametrize(
    ("prefix", "flag", "values"), CLIENT_FLAGS, ids=[f"{p[0]} {f}" for p, f, _ in CLIENT_FLAGS]
)
def test_a_bad_number_for_a_client_flag_exits_2_naming_it(prefix, flag, values, capsys):
    parser = build_parser()
    for value in values:
        argv = [*prefix, flag, value]
        if prefix[0] == "load" and flag in ("--users", "--items"):
            argv = [*prefix, flag, "1", value]
        _refused(parser, argv, flag, capsys)


def _run(argv: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, **env},  # PYTHONPATH: this checkout (tests/conftest.py)
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_bad_folders_and_values_stop_each_entry_point_with_one_line(tmp_path):
    publish_fake_store = tmp_path / "store"
    trainer_folder = tmp_path / "blocked" / ".trainer"
    trainer_folder.parent.mkdir()
    trainer_folder.write_text("a file where the records' folder goes")
    cases = [
        (
            ["-m", "trainer_service", "--store", "/dev/null"],
            {},
            "--store /dev/null is not a folder",
        ),
        (
            ["-m", "trainer_service", "--store", str(trainer_folder.parent)],
            {},
            "--store's .trainer folder",
        ),
        (
            ["-m", "trainer_service", "--jobs-db", "/dev/null/x/jobs.sqlite3"],
            {},
            "--jobs-db's folder /dev/null/x cannot be made",
        ),
        (["-m", "trainer_service"], {"MOVIEREC_TRAINER_PORT": "70000"}, "MOVIEREC_TRAINER_PORT"),
        (["-m", "trainer_service", "--max-job-seconds", "nan"], {}, "argument --max-job-seconds"),
        (
            ["-m", "serving_service", "--store", "/dev/null"],
            {},
            "--store /dev/null is not a folder",
        ),
        (["-m", "serving_service", "--poll-interval", "0"], {}, "argument --poll-interval"),
        (["-m", "serving_service", "--port", "99999"], {}, "argument --port"),
        (["-m", "serving_service", "--pin", f"m={10**20}"], {}, "--pin takes MODEL=VERSION"),
        (["-m", "movierec_client.cli", "serving", "--workers", "0"], {}, "argument --workers"),
        (
            ["-m", "movierec_client.cli", "load", "--model", "nope"]
            + ["--users-from-store", str(publish_fake_store)],
            {},
            f"--users-from-store {publish_fake_store}: unknown model 'nope'",
        ),
        (
            ["-m", "movierec_client.cli", "plots", "--model", "m", "--out", "/dev/null/pictures"],
            {},
            "--out /dev/null/pictures: cannot make the folder",
        ),
    ]
    from movierec.store.model_store import ModelStore

    publish_fake(ModelStore(publish_fake_store), "films")
    for argv, env, message in cases:
        result = _run(argv, tmp_path, **env)
        assert result.returncode == 2, (argv, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert "error" in last and message in last, (argv, result.stderr)
    assert trainer_folder.is_file()
