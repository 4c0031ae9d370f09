"""Bringing your own data through the command line: import a TSV of play counts with CRLF
line endings and an items file, train it with the CLI's defaults on the trainer service,
and ask serving for metrics and recommendations (the check of issue 23)."""

import json
import signal
import subprocess

import pandas as pd
import pytest

from movierec.data.datasets import load_dataset
from tests.test_cli_end_to_end import run, start_service

pytestmark = [pytest.mark.slow, pytest.mark.service]


@pytest.fixture(scope="module")
def own_data(tmp_path_factory, data_dir):
    """Files as a team would export them (derived from ml-100k here): plays.tsv (user,
    artist, plays; CRLF) and artists.tsv (id, name, url; CRLF)."""
    folder = tmp_path_factory.mktemp("own")
    dataset = load_dataset("ml-100k", data_dir)
    plays = dataset.ratings.rename(
        columns={"user_id": "userID", "item_id": "artistID", "rating": "weight"}
    )
    plays[["userID", "artistID", "weight"]].astype({"weight": int}).to_csv(
        folder / "plays.tsv", sep="\t", index=False, lineterminator="\r\n"
    )
    artists = pd.DataFrame(
        {"id": dataset.items["item_id"], "name": dataset.items["title"], "url": "http://x"}
    )
    artists.to_csv(folder / "artists.tsv", sep="\t", index=False, lineterminator="\r\n")
    return folder


@pytest.fixture(scope="module")
def services(own_data, tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    data = own_data / "data"
    result = run(
        *("dataset", "import", "plays", "--data-dir", str(data)),
        *("--interactions", str(own_data / "plays.tsv"), "--user-column", "userID"),
        *("--item-column", "artistID", "--weight-column", "weight"),
        *("--items", str(own_data / "artists.tsv"), "--items-id-column", "id"),
        *("--title-column", "name"),
    )
    assert "100,000 interactions (implicit, weighted by column 'weight')" in result.stdout
    trainer, trainer_address = start_service("trainer", store, data)
    serving, serving_address = start_service("serving", store, data)
    yield trainer_address, serving_address
    for process in (trainer, serving):
        process.send_signal(signal.SIGTERM)
    for process in (trainer, serving):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        process.stdout.close()


@pytest.fixture(scope="module")
def trained(services):
    """Version 1 of model "own", trained on "plays" with the CLI's defaults, serving."""
    trainer, serving = services
    result = run(
        *("train", "--trainer", trainer, "--model", "own", "--dataset", "plays"),
        *("--split", "random", "--test-fraction", "0.2", "--seed", "1"),
    )
    run("status", "--serving", serving, "--model", "own", "--wait-version", "1")
    return result.stdout


def test_an_imported_implicit_dataset_trains_and_serves_with_the_cli_defaults(services, trained):
    _, serving = services
    assert "SUCCEEDED" in trained and "(ease, retrieval) on plays/random" in trained
    report = json.loads(run("metrics", "--serving", serving, "--model", "own", "--json").stdout)
    assert report["metrics"]["split"] == "plays/random"
    assert report["metrics"]["num_ratings"] == 20_000  # every held-out interaction
    ours, popular = report["metrics"]["values"], report["popularity"]["values"]
    assert ours["ndcg@10"] > 1.5 * popular["ndcg@10"]
    answer = json.loads(
        run("recommend", "--serving", serving, "--model", "own", "--user", "1", "--json").stdout
    )
    assert all(item["title"] and item["genres"] == [] for item in answer["items"])
    assert "Star Wars (1977)" not in [item["title"] for item in answer["items"]]  # user 1 saw it


def test_what_an_implicit_dataset_cannot_do_is_refused_with_the_reason(services, trained):
    trainer, serving = services
    refused = run(
        *("train", "--trainer", trainer, "--model", "r", "--dataset", "plays"),
        *("--objective", "rating"),
        check=False,
    )
    assert refused.returncode == 2  # INVALID_ARGUMENT: a bad value
    assert "INVALID_ARGUMENT" in refused.stderr and "implicit feedback" in refused.stderr
    timed = run(
        *("train", "--trainer", trainer, "--model", "t", "--dataset", "plays", "--split", "last"),
        check=False,
    )
    assert timed.returncode == 2 and "has no timestamps" in timed.stderr
    genres = run(
        *("recommend", "--serving", serving, "--model", "own", "--genre", "Action=1"), check=False
    )
    assert genres.returncode == 2
    assert "INVALID_ARGUMENT" in genres.stderr and "dataset has no genres" in genres.stderr
