"""What the `movierec` command prints, against scripted servers on loopback: help for every
flag, --version, user-facing --help, a quiet end on a closed pipe, '-' for a missing value,
float32 values as the decimals they hold, INVALID_ARGUMENT as exit 2, and job progress
drawn once per line with elapsed time, ETA and early stopping."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import subprocess
import sys
from concurrent import futures

import grpc
import pytest

from movierec_client import commands, types
from movierec_client.cli import main
from movierec_client.v1 import (
    common_pb2,
    serving_pb2,
    serving_pb2_grpc,
    trainer_pb2,
    trainer_pb2_grpc,
)
from serving_service.__main__ import add_arguments as serving_arguments
from trainer_service.__main__ import add_arguments as trainer_arguments


def _flags_without_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _flags_without_help(sub, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_flag_and_argument_has_help():
    services = []
    for name, add in (("trainer", trainer_arguments), ("serving", serving_arguments)):
        parser = argparse.ArgumentParser()
        add(parser)
        services += _flags_without_help(parser, f"movierec {name}")
    missing = _flags_without_help(commands.build_parser(), "movierec") + services
    assert missing == [], "flags without help:\n" + "\n".join(missing)


def test_version_and_help_speak_to_a_user(capsys):
    with pytest.raises(SystemExit) as stop:
        commands.build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("movierec-client 0.1.0")
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "Train, serve and query movie recommenders" in text
    assert "Exit status: 0 done, 1 a failed call or job, 2 a bad flag or value" in text
    assert "SDK" not in text and "parsed here" not in text  # no developer docstring


class ScriptedTrainer(trainer_pb2_grpc.TrainerServiceServicer):
    """200 models, a version without ndcg@10; job "j" trained with learning rate 0.005
    (a float field)."""

    def ListModels(self, request, context):
        version = trainer_pb2.VersionInfo(
            version=1, state=trainer_pb2.VersionInfo.READY, kind="dot", metrics={"rmse": 0.93}
        )
        models = [trainer_pb2.ModelInfo(name=f"m{n}", versions=[version]) for n in range(200)]
        return trainer_pb2.ListModelsResponse(models=models)

    def GetJob(self, request, context):
        request = trainer_pb2.TrainRequest(
            model_name="m", hyperparameters=trainer_pb2.Hyperparameters(learning_rate=0.005)
        )
        return trainer_pb2.Job(job_id="j", request=request, state=trainer_pb2.SUCCEEDED)


class ScriptedServing(serving_pb2_grpc.ServingServiceServicer):
    """Recommend refuses k > 10 (INVALID_ARGUMENT) and user 404 (NOT_FOUND); scores are
    float32."""

    def Recommend(self, request, context):
        if request.k > 10:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"k must be 1 to 10, got {request.k}")
        if request.user_id == 404:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown user id 404")
        item = common_pb2.ScoredItem(item_id=50, title="Star Wars (1977)", score=0.3)
        return serving_pb2.RecommendResponse(
            model=common_pb2.ModelVersion(name="m", version=1, kind="dot"), items=[item]
        )


@pytest.fixture(scope="module")
def addresses():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trainer_pb2_grpc.add_TrainerServiceServicer_to_server(ScriptedTrainer(), server)
    serving_pb2_grpc.add_ServingServiceServicer_to_server(ScriptedServing(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_a_closed_pipe_ends_quietly(addresses):
    # `movierec models --json | head -1`: the reader is gone before the output is written
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "movierec_client.cli", "models", "--trainer", addresses]
            + ["--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 141  # as a process that SIGPIPE ended


def test_tables_show_a_dash_for_a_missing_value(addresses, capsys):
    assert main(["models", "--trainer", addresses]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    # model version state kind objective split ndcg@10 rmse mae
    assert row[:4] == ["m0", "1", "READY", "dot"] and row[-3:] == ["-", "0.9300", "-"]
    assert "nan" not in commands._table(("a", "b"), [(float("nan"), None)])


def test_json_carries_the_decimals_a_float32_holds(addresses, capsys):
    assert main(["job", "j", "--trainer", addresses, "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["hyperparameters"]["learning_rate"] == 0.005  # not 0.004999999888241291
    assert main(["recommend", "--serving", addresses, "--model", "m", "--user", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"][0]["score"] == 0.3


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.004999999888241291, 0.005),  # float32(0.005)
        (0.30000001192092896, 0.3),
        (4.0, 4.0),
        (0.1, 0.1),  # a double that is no float32 keeps its digits
        (1733333248.0, 1733333248.0),  # a float32-exact timestamp is left alone
        (1e-45, 1e-45),  # the smallest float32
    ],
)
def test_float32_shortest(value, shown):
    assert commands.float32_shortest(value) == shown


def test_invalid_argument_exits_2_and_other_failures_1(addresses, capsys):
    ask = ["recommend", "--serving", addresses, "--model", "m"]
    assert main([*ask, "--user", "1", "-k", "11"]) == 2
    assert "error: INVALID_ARGUMENT: k must be 1 to 10, got 11" in capsys.readouterr().err
    assert main([*ask, "--user", "404"]) == 1
    assert "error: NOT_FOUND: unknown user id 404" in capsys.readouterr().err


def _job(state: str, epochs: int = 0, started_at: float = 1000.0, total: int = 5) -> types.Job:
    return types.Job(
        job_id="j",
        model_name="m",
        kind="dot",
        dataset="ml-100k",
        split="u1",
        hyperparameters={"epochs": total, "patience": 1},
        state=state,
        error="",
        version=0,
        epochs=tuple(_epoch(n) for n in range(1, epochs + 1)),
        metrics={},
        created_at=990.0,
        started_at=started_at,
        finished_at=0.0,
        objective="retrieval",
    )


def _epoch(n: int) -> types.EpochProgress:
    return types.EpochProgress(epoch=n, loss=0.5, val_rmse=0.0, seconds=3.0, val_ndcg=0.25)


def test_job_progress_draws_each_line_once_with_elapsed_time_eta_and_early_stopping():
    out = io.StringIO()  # not a terminal
    progress = commands.JobProgress(5, out, now=lambda: 1012.0)
    events = [
        types.JobEvent(_job("QUEUED", started_at=0.0), None),
        types.JobEvent(_job("RUNNING"), None),
        types.JobEvent(_job("RUNNING"), None),  # a change the line does not show
        types.JobEvent(_job("RUNNING", 1), _epoch(1)),
        types.JobEvent(_job("RUNNING", 2), _epoch(2)),
        types.JobEvent(_job("SUCCEEDED", 2), None),
    ]
    for event in events:
        progress(event)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["job j: QUEUED", "job j: RUNNING"]
    # 12 s since the job started; 3 epochs left at 3 s each: 9 s
    assert lines[2].startswith("epoch   1/5 [######") and lines[2].endswith("0:12 ETA 0:12")
    assert lines[3].endswith("val_ndcg@10 0.2500 0:12 ETA 0:09")
    assert lines[4] == (
        "early stopping ended training after epoch 2 of 5: val_ndcg@10 had not improved for"
        " 1 epochs (epoch 1's weights kept)"
    )
    assert len(lines) == 5  # SUCCEEDED is the summary's to say
    summary = commands._job_summary(_job("SUCCEEDED", 2))
    assert summary.splitlines()[0] == "job j: SUCCEEDED, early stopping after epoch 2 of 5"


def test_a_job_that_ended_short_without_early_stopping_is_not_said_to_have_stopped_early():
    # ease tries penalties as "epochs" and ends its search on its own: 3 tries, patience 3
    job = dataclasses.replace(_job("SUCCEEDED", 3), hyperparameters={"epochs": 60, "patience": 3})
    assert commands.early_stop(job) == ""
    out = io.StringIO()
    commands.JobProgress(60, out)(types.JobEvent(job, None))
    assert out.getvalue() == ""
    assert commands._job_summary(job).splitlines()[0] == "job j: SUCCEEDED"


def test_job_progress_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = commands.JobProgress(2, out, now=lambda: 1003.0)
    for event in [
        types.JobEvent(_job("RUNNING", 1, total=2), _epoch(1)),
        types.JobEvent(_job("RUNNING", 2, total=2), _epoch(2)),
        types.JobEvent(_job("SUCCEEDED", 2, total=2), None),
    ]:
        progress(event)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") == 2
    assert "ETA 0:03" in text and "epoch   2/2 [" + "#" * 30 + "]" in text
