"""The `movierec` command line end to end: both services as real processes on loopback."""

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

from movierec.data.datasets import load_dataset
from movierec.data.splits import make_split

pytestmark = pytest.mark.service

MOVIEREC = [sys.executable, "-m", "movierec_client.cli"]


def start_service(kind, store, data_dir, *flags):
    env = {**os.environ, "MOVIEREC_DATA_DIR": str(data_dir)}
    extra = (["--poll-interval", "0.2"] if kind == "serving" else []) + list(flags)
    process = subprocess.Popen(
        [*MOVIEREC, kind, "--port", "0", "--store", str(store), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    line = process.stdout.readline()  # "<kind> listening on 127.0.0.1:<port>"
    if "listening on" not in line:
        process.kill()
        raise AssertionError(f"{kind} did not start: {line!r}")
    return process, line.split()[-1]


def run(*args, check=True):
    result = subprocess.run(
        [*MOVIEREC, *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"movierec {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    return tmp_path_factory.mktemp("cli") / "store"


@pytest.fixture(scope="module")
def services(cli_store, data_dir):
    store = cli_store
    trainer, trainer_address = start_service("trainer", store, data_dir)
    serving, serving_address = start_service("serving", store, data_dir)
    yield trainer, trainer_address, serving, serving_address
    for process in (trainer, serving):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in (trainer, serving):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        process.stdout.close()


@pytest.fixture(scope="module")
def trained(services):
    _, trainer, _, serving = services
    result = run(
        "train",
        "--trainer",
        trainer,
        "--model",
        "demo",
        "--kind",
        "dot",
        "--dataset",
        "ml-100k",
        "--split",
        "u1",
        "--epochs",
        "3",
        "--patience",
        "0",
    )
    assert "SUCCEEDED" in result.stdout and "version 1" in result.stdout
    assert "epoch   3/3" in result.stderr and "val_ndcg@10" in result.stderr  # the progress bar
    run("status", "--serving", serving, "--model", "demo", "--wait-version", "1")
    return serving


@pytest.mark.slow
def test_recommend_json_excludes_the_users_training_ratings(trained, data_dir):
    result = run(
        "recommend", "--serving", trained, "--model", "demo", "--user", "196", "-k", "10", "--json"
    )
    answer = json.loads(result.stdout)
    assert answer["version"] == 1
    assert len(answer["items"]) == 10
    assert set(answer["items"][0]) >= {"item_id", "title", "genres", "score"}
    train = make_split(load_dataset("ml-100k", data_dir), "u1").train
    rated = set(train.loc[train["user_id"] == 196, "item_id"])
    assert not rated & {item["item_id"] for item in answer["items"]}


@pytest.mark.slow
def test_tables_for_similar_predict_metrics_status_models(trained, services):
    _, trainer, _, _ = services
    similar = run("similar", "--serving", trained, "--model", "demo", "--item", "50", "-k", "10")
    assert "model demo version 1 (dot, retrieval)" in similar.stdout
    assert "Star Wars" not in similar.stdout and "cosine" in similar.stdout
    predict = run(
        "predict",
        "--serving",
        trained,
        "--model",
        "demo",
        "--user",
        "196",
        "--item",
        "50",
        "242",
        "--json",
    )
    answer = json.loads(predict.stdout)
    assert answer["score_type"] == "RELEVANCE" and answer["ratings"] == []
    assert len(answer["scores"]) == 2
    metrics = run("metrics", "--serving", trained, "--model", "demo", "--json")
    values = json.loads(metrics.stdout)["metrics"]["values"]
    assert {"ndcg@10", "precision@10", "diversity@10"} <= set(values) and "rmse" not in values
    table = run(
        "metrics", "--serving", trained, "--model", "demo", "--compare", "demo:1", "-k", "5"
    )
    assert "demo v1" in table.stdout and "most-popular" in table.stdout and "ndcg@5" in table.stdout
    assert "AVAILABLE" in run("status", "--serving", trained).stdout
    assert "READY" in run("models", "--trainer", trainer).stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["recommend", "--user", "99999"], "NOT_FOUND", "unknown user id 99999"),
        (["recommend", "--user", "196", "-k", "1001"], "INVALID_ARGUMENT", "k must be between"),
        (["similar", "--item", "77777"], "NOT_FOUND", "unknown item id 77777"),
        (
            ["recommend", "--user", "196", "--version", "9"],
            "NOT_FOUND",
            "model 'demo' has no version 9",
        ),
    ],
)
def test_failed_calls_exit_non_zero_with_status_and_message(trained, args, status, message):
    result = run(*args[:1], "--serving", trained, "--model", "demo", *args[1:], check=False)
    assert result.returncode == (2 if status == "INVALID_ARGUMENT" else 1)  # 2: a bad value
    assert f"error: {status}: {message}" in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_queue_then_follow_a_job(services):
    _, trainer, _, _ = services
    queued = run(
        "train", "--trainer", trainer, "--model", "other", "--epochs", "1", "--no-wait", "--json"
    )
    job_id = json.loads(queued.stdout)["job_id"]
    followed = run("job", job_id, "--trainer", trainer, "--watch")
    assert f"job {job_id}: SUCCEEDED" in followed.stdout
    assert "-> version 1" in followed.stdout
    missing = run("job", "nope", "--trainer", trainer, check=False)
    assert missing.returncode == 1 and "NOT_FOUND: unknown job id 'nope'" in missing.stderr


@pytest.mark.slow
def test_flag_mistakes_exit_2_with_a_message(trained):
    result = run("status", "--serving", trained, "--wait-version", "1", check=False)
    assert result.returncode == 2 and "error: --wait-version needs --model" in result.stderr
    result = run("load", "--serving", trained, "--model", "demo", "--duration", "0", check=False)
    assert result.returncode == 2 and "argument --duration: expected a finite" in result.stderr
    result = run(
        "recommend", "--serving", trained, "--model", "demo", "--user", str(2**64), check=False
    )
    assert result.returncode == 2 and "argument --user: expected an integer" in result.stderr
    result = run("recommend", "--serving", trained, "--model", "demo", "-k", "0", check=False)
    assert result.returncode == 2 and "argument -k: expected an integer from 1" in result.stderr


@pytest.mark.slow
def test_the_readmes_load_line_draws_from_the_served_version_and_meets_no_error(trained):
    # before ListIds it drew items 1..1682, some of which u1's training never saw: NOT_FOUND
    done = run(
        *("load", "--serving", trained, "--model", "demo", "--mix"),
        *("recommend=8,predict=1,similar=1", "--concurrency", "4", "--requests", "300"),
        *("--warmup", "0", "--json"),
    )
    report = json.loads(done.stdout)
    assert report["calls"] == 300 and report["errors"] == {}
    assert set(report["by_method"]) == {"recommend", "predict", "similar"}


@pytest.mark.slow
def test_load_reports_and_fails_when_every_call_fails(trained, cli_store):
    ok = run(
        "load",
        "--serving",
        trained,
        "--model",
        "demo",
        "--users-from-store",  # users and items the version knows, drawn by activity
        str(cli_store),
        "--by-activity",
        "--mix",
        "recommend=3,predict=1",
        "--requests",
        "20",
        "--concurrency",
        "2",
        "--warmup",
        "0",
        "--json",
    )
    report = json.loads(ok.stdout)
    assert report["calls"] == 20 and sum(report["by_method"].values()) == 20
    assert report["errors"] == {}
    failed = run(
        "load",
        "--serving",
        trained,
        "--model",
        "demo",
        "--requests",
        "5",
        "--concurrency",
        "1",
        "--warmup",
        "0",
        "--users",
        "5000",
        "5001",
        "--json",
        check=False,
    )
    assert failed.returncode == 1
    assert "every call failed (NOT_FOUND 5)" in failed.stderr
    assert json.loads(failed.stdout)["p50_ms"] is None  # valid JSON, no NaN


def test_train_with_a_bad_request_exits_non_zero(services):
    _, trainer, _, _ = services
    result = run("train", "--trainer", trainer, "--model", "x", "--epochs", "1001", check=False)
    assert result.returncode == 2
    assert "INVALID_ARGUMENT: epochs must be 1 to 1000, got 1001" in result.stderr


@pytest.mark.slow
def test_recommend_for_a_new_user_by_genre(trained):
    result = run(
        "recommend",
        "--serving",
        trained,
        "--model",
        "demo",
        "--genre",
        "Adventure=5",
        "--genre",
        "Fantasy=4.5",
        "-k",
        "5",
    )
    assert "strategy popular: kind 'dot' has no user tower" in result.stdout
    bad = run(
        "recommend", "--serving", trained, "--model", "demo", "--genre", "Nope=4", check=False
    )
    assert bad.returncode == 2 and "INVALID_ARGUMENT: user_features.genre_ratings" in bad.stderr
    neither = run("recommend", "--serving", trained, "--model", "demo", check=False)
    assert neither.returncode == 2 and "either --user ID or at least one --genre" in neither.stderr


def test_recommend_for_a_new_user_by_rated_films_from_the_default_kind(trained, services):
    _, trainer, _, serving = services
    run("train", "--trainer", trainer, "--model", "films", "--quiet")  # kind ease
    run("status", "--serving", serving, "--model", "films", "--wait-version", "1")
    rated = ("--rated", "50=5", "--rated", "181=4")  # Star Wars, Return of the Jedi
    result = run("recommend", "--serving", serving, "--model", "films", *rated, "--json")
    answer = json.loads(result.stdout)
    ids = [item["item_id"] for item in answer["items"]]
    assert answer["strategy"] == "user_features" and len(ids) == 10
    assert not {50, 181} & set(ids)
    assert 172 in ids  # The Empire Strikes Back
    bad = run("recommend", "--serving", serving, "--model", "films", "--rated", "x=5", check=False)
    assert bad.returncode == 2 and "expected ITEM=RATING with an integer item id" in bad.stderr
    unknown = run(
        "recommend", "--serving", serving, "--model", "films", "--rated", "99999=5", check=False
    )
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr and "99999" in unknown.stderr


@pytest.mark.slow
def test_serving_process_never_loads_tensorflow_or_pandas(trained, services):
    _, _, serving, _ = services
    maps = pathlib.Path(f"/proc/{serving.pid}/maps")
    if not maps.exists():
        pytest.skip("no /proc on this platform")
    loaded = maps.read_text()
    assert "tensorflow" not in loaded and "pandas" not in loaded and "pyarrow" not in loaded


def test_services_stop_cleanly_on_sigterm(tmp_path, data_dir):
    process, _ = start_service("serving", tmp_path / "store", data_dir)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    process.stdout.close()


@pytest.mark.parametrize(
    ("kind", "flags"), [("serving", ()), ("serving", ("--io", "aio")), ("trainer", ())]
)
def test_sigterm_goes_not_serving_then_drains_without_failing_a_call(
    tmp_path, data_dir, kind, flags
):
    import threading
    import time

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from movierec.store.model_store import ModelStore
    from movierec_client import ServingClient, TrainerClient
    from tests.fakes import publish_fake

    publish_fake(ModelStore(tmp_path / "store"), "m")
    process, address = start_service(
        kind, tmp_path / "store", data_dir, "--drain-seconds", "1.5", *flags
    )
    not_serving = threading.Event()
    outcomes = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def call(client):
        if kind == "serving":
            client.recommend("m", 10, k=3)
        else:
            client.list_models()

    def load():
        make = ServingClient if kind == "serving" else TrainerClient
        with make(address, timeout=5, max_attempts=1) as client:
            while not not_serving.is_set():  # a client leaves once health says so
                try:
                    call(client)
                    outcome = "ok"
                except Exception:  # noqa: BLE001 - counted, asserted below
                    outcome = "failed"
                with lock:
                    outcomes[outcome] += 1

    def watch_health():
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status
                if status == health_pb2.HealthCheckResponse.NOT_SERVING:
                    not_serving.set()
                    return
                time.sleep(0.02)

    while outcomes["ok"] == 0 and kind == "serving":  # wait until the version serves
        try:
            with ServingClient(address, timeout=5) as client:
                client.recommend("m", 10, k=3)
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    watcher = threading.Thread(target=watch_health)
    workers = [threading.Thread(target=load) for _ in range(8)]
    for thread in (watcher, *workers):
        thread.start()
    time.sleep(0.5)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    watcher.join(timeout=10)
    assert not_serving.is_set() and time.monotonic() - signalled < 1.0
    for thread in workers:
        thread.join(timeout=10)
    assert process.wait(timeout=20) == 0
    process.stdout.close()
    assert outcomes["ok"] > 50 and outcomes["failed"] == 0, outcomes


@pytest.mark.slow
def test_a_ranking_model_trains_and_reranks_the_retrieval_candidates(trained, services):
    _, trainer, _, serving = services
    result = run(
        "train",
        "--trainer",
        trainer,
        "--model",
        "ranker",
        "--kind",
        "ranking",
        "--candidate-model",
        "demo",
        "--epochs",
        "2",
        "--quiet",
    )
    assert "SUCCEEDED" in result.stdout
    run("status", "--serving", serving, "--model", "ranker", "--wait-version", "1")
    table = run("recommend", "--serving", serving, "--model", "ranker", "--user", "196", "-k", "5")
    assert "model ranker version 1 (ranking, rating)" in table.stdout
    assert "re-ranked the candidates of demo version 1" in table.stdout
    answer = json.loads(
        run(
            *("recommend", "--serving", serving, "--model", "ranker", "--user", "196"),
            *("-k", "5", "--num-candidates", "20", "--json"),
        ).stdout
    )
    first = json.loads(
        run(
            *("recommend", "--serving", serving, "--model", "demo", "--user", "196"),
            *("-k", "20", "--json"),
        ).stdout
    )
    assert answer["candidates_from"]["name"] == "demo"
    assert {i["item_id"] for i in answer["items"]} <= {i["item_id"] for i in first["items"]}
    scores = [i["score"] for i in answer["items"]]
    assert scores == sorted(scores, reverse=True) and 1 < scores[0] < 6


@pytest.mark.slow
def test_plots_writes_the_pictures_of_a_version(trained, services, tmp_path):
    _, trainer, _, _ = services
    out = tmp_path / "pictures"
    result = run("plots", "--trainer", trainer, "--model", "demo", "--out", str(out))
    assert "model demo version 1: 3 pictures" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["item_map.png", "loss.png", "true_vs_predicted.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in out.iterdir())
    missing = run(
        "plots",
        "--trainer",
        trainer,
        "--model",
        "demo",
        "--version",
        "9",
        "--out",
        str(out),
        check=False,
    )
    assert missing.returncode != 0 and "demo has no version 9" in missing.stderr


@pytest.mark.slow
def test_a_context_ranking_model_answers_at_the_time_asked(trained, services):
    _, trainer, _, serving = services
    result = run(
        *("train", "--trainer", trainer, "--model", "timely", "--kind", "ranking_context"),
        *("--candidate-model", "demo", "--epochs", "1", "--quiet"),
    )
    assert "SUCCEEDED" in result.stdout
    run("status", "--serving", serving, "--model", "timely", "--wait-version", "1")

    def predicted(*extra):
        answer = run(
            *("predict", "--serving", serving, "--model", "timely", "--user", "196"),
            *("--item", "50", "242", "--json", *extra),
        )
        return json.loads(answer.stdout)["scores"]

    # ml-100k runs from September 1997 to April 1998; later times are its end
    assert predicted() == predicted("--timestamp", "2000000000")
    assert predicted("--timestamp", "875000000") != predicted()
    bad = run(
        *("predict", "--serving", serving, "--model", "timely", "--user", "196"),
        *("--item", "50", "--timestamp", "nan"),
        check=False,
    )
    assert bad.returncode == 2 and "argument --timestamp: expected a finite" in bad.stderr


@pytest.mark.parametrize(
    ("command", "present", "absent"),
    [
        (
            "serving",
            "serving_service.__main__",
            (
                "movierec_client.sdk",
                "movierec_client.commands",
                "movierec_client.channel",
                "trainer_service",
            ),
        ),
        (
            "trainer",
            "trainer_service.__main__",
            ("movierec_client.sdk", "movierec_client.commands", "serving_service"),
        ),
        (
            "recommend",
            "movierec_client.commands",
            ("serving_service", "trainer_service", "movierec.serving.dataplane", "numpy"),
        ),
    ],
)
def test_a_service_loads_no_client_sdk_and_a_client_command_no_service(command, present, absent):
    code = (
        "import sys\nfrom movierec_client.cli import main\n"
        f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.strip().splitlines()[-1].split())
    assert present in loaded
    assert [name for name in absent if name in loaded] == []
