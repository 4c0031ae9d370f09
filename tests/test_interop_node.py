"""A Node.js client built only from the .proto files gets the Python SDK's answers.

Runs interop/node/client.js against a real serving server over the fake model store and
compares its JSON output with what movierec_client.sdk.ServingClient returns for the same calls.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import grpc
import pytest

from movierec.store.model_store import ModelStore
from movierec_client import UserFeatures
from movierec_client.errors import NotFoundError
from movierec_client.sdk import ServingClient
from serving_service.server import ServingConfig, create_server
from tests.fakes import publish_fake, publish_fake_two_tower

pytestmark = pytest.mark.service

NODE_DIR = pathlib.Path(__file__).resolve().parent.parent / "interop" / "node"
NODE = shutil.which("node")

if NODE is None:
    pytest.skip("node is not on PATH", allow_module_level=True)
if not (NODE_DIR / "node_modules").is_dir():
    pytest.skip(
        "interop/node/node_modules is missing (run `npm ci` in interop/node)",
        allow_module_level=True,
    )

MODEL = "fake"
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    publish_fake(ModelStore(store))
    publish_fake_two_tower(ModelStore(store))
    server, bound = create_server(ServingConfig(store=str(store), port=0, poll_interval=0.1))
    server.start()
    try:
        yield bound
    finally:
        server.stop(0)


@pytest.fixture(scope="module")
def sdk(port):
    with ServingClient(f"127.0.0.1:{port}") as client:
        yield client


def node_call(port: int, method: str, request: dict) -> tuple[int, dict]:
    """Runs the Node client; returns (exit status, parsed JSON output)."""
    done = subprocess.run(
        [NODE, str(NODE_DIR / "client.js"), f"127.0.0.1:{port}", method, json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def node_ok(port: int, method: str, request: dict) -> dict:
    status, response = node_call(port, method, request)
    assert status == 0, response
    return response


def assert_same_model(node_model: dict, sdk_model) -> None:
    assert node_model["name"] == sdk_model.name
    assert int(node_model["version"]) == sdk_model.version
    assert node_model["kind"] == sdk_model.kind


def assert_same_items(node_items: list[dict], sdk_items) -> None:
    assert [int(item["item_id"]) for item in node_items] == [item.item_id for item in sdk_items]
    assert [item["title"] for item in node_items] == [item.title for item in sdk_items]
    assert [tuple(item["genres"]) for item in node_items] == [item.genres for item in sdk_items]
    assert [item["year"] for item in node_items] == [item.year for item in sdk_items]
    for node_item, sdk_item in zip(node_items, sdk_items, strict=True):
        assert node_item["score"] == pytest.approx(sdk_item.score, abs=TOLERANCE)


def test_recommend(port, sdk):
    expected = sdk.recommend(MODEL, 10, k=3)
    response = node_ok(port, "Recommend", {"model": {"name": MODEL}, "user_id": 10, "k": 3})
    assert len(expected.items) == 3
    assert_same_model(response["model"], expected.model)
    assert_same_items(response["items"], expected.items)


def test_similar_items(port, sdk):
    expected = sdk.similar_items(MODEL, 100, k=2)
    response = node_ok(port, "SimilarItems", {"model": {"name": MODEL}, "item_id": 100, "k": 2})
    assert len(expected.items) == 2
    assert_same_model(response["model"], expected.model)
    assert_same_items(response["items"], expected.items)


def test_predict(port, sdk):
    pairs = [(10, 100), (20, 101)]
    expected = sdk.predict(MODEL, pairs)
    request = {
        "model": {"name": MODEL},
        "instances": [{"user_id": user, "item_id": item} for user, item in pairs],
    }
    response = node_ok(port, "Predict", request)
    assert_same_model(response["model"], expected.model)
    assert len(response["ratings"]) == len(expected.ratings) == len(pairs)
    assert response["ratings"] == pytest.approx(list(expected.ratings), abs=TOLERANCE)


def test_metrics(port, sdk):
    expected = sdk.metrics(MODEL)
    response = node_ok(port, "Metrics", {"model": {"name": MODEL}})
    assert_same_model(response["model"], expected.model)
    metrics = response["metrics"]
    assert_same_model(metrics["model"], expected.metrics.model)
    assert metrics["split"] == expected.metrics.split
    assert int(metrics["num_ratings"]) == expected.metrics.num_ratings
    assert metrics["values"].keys() == expected.metrics.values.keys()
    for name, value in expected.metrics.values.items():
        assert metrics["values"][name] == pytest.approx(value, abs=TOLERANCE)
    assert expected.baseline is None
    assert response["baseline"] is None


def test_unknown_user_is_not_found(port, sdk):
    with pytest.raises(NotFoundError) as caught:
        sdk.recommend(MODEL, 99, k=3)
    status, response = node_call(
        port, "Recommend", {"model": {"name": MODEL}, "user_id": 99, "k": 3}
    )
    assert status == 1
    assert caught.value.code == "NOT_FOUND"
    assert response["error"]["code"] == grpc.StatusCode.NOT_FOUND.value[0] == 5
    assert response["error"]["details"] == caught.value.message


def test_recommend_for_a_user_described_by_features(port, sdk):
    features = UserFeatures({"Comedy": 5.0, "Action": 1.0}, rating_count=20)
    expected = sdk.recommend("tower", k=3, features=features)
    request = {
        "model": {"name": "tower"},
        "user_features": {"genre_ratings": {"Comedy": 5.0, "Action": 1.0}, "rating_count": 20},
        "k": 3,
    }
    response = node_ok(port, "Recommend", request)
    assert expected.strategy == response["strategy"] == "user_features"
    assert_same_model(response["model"], expected.model)
    assert_same_items(response["items"], expected.items)
