"""Implicit feedback served and evaluated: every held-out interaction is relevant, no
rating threshold, no genres where the dataset has none."""

import dataclasses
import math

import grpc
import numpy as np
import pytest

from movierec.errors import InvalidRequest
from movierec.kinds.evaluation import relevant_items
from movierec.kinds.features import UserFeatures
from movierec.serving.dataplane import ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec.store.arrays import save_arrays
from movierec.store.catalog import CATALOG_FILE, relevance_threshold, save_catalog
from movierec.store.model_store import WEIGHTS_FILE
from movierec_client.v1 import serving_pb2, serving_pb2_grpc
from tests.fakes import make_catalog, make_weights


def implicit_catalog():
    """The fake catalogue as implicit feedback without genres: every rating 1 on the
    degenerate scale (1, 1)."""
    catalog = make_catalog()
    return dataclasses.replace(
        catalog,
        rating_scale=np.array([1, 1], dtype=np.float32),
        genre_names=np.zeros(0, dtype=str),
        item_genre_flags=np.zeros((catalog.num_items, 0), dtype=bool),
        item_mean_rating=np.array([1, 1, 1, 0, 0, 1], dtype=np.float32),
        seen_ratings=np.ones_like(catalog.seen_ratings),
        test_ratings=np.ones_like(catalog.test_ratings),
    )


@pytest.fixture
def plane(store):
    def write(folder):
        save_arrays(folder / WEIGHTS_FILE, make_weights())
        save_catalog(folder / CATALOG_FILE, implicit_catalog())

    manifest = {
        "kind": "dot",
        "objective": "retrieval",
        "kind_params": {"embedding_dim": 2, "l2": 0.0, "output": "linear"},
        "split": "plays/random",
        "metrics": {},
    }
    store.publish_version("plays", manifest, write)
    registry = ModelRegistry(store)
    registry.refresh()
    return ServingDataPlane(registry, max_k=3, max_batch=2)


def test_the_relevance_threshold_comes_from_the_catalogue():
    catalog = make_catalog()
    assert relevance_threshold(catalog) == 4.0  # 1 + 0.75 * (5 - 1)
    half_stars = dataclasses.replace(catalog, rating_scale=np.array([0.5, 5], np.float32))
    assert relevance_threshold(half_stars) == 3.875  # so 4 and up, as before
    assert relevance_threshold(implicit_catalog()) == -math.inf
    assert implicit_catalog().implicit and not catalog.implicit


def test_every_held_out_interaction_is_relevant_with_implicit_feedback():
    # explicit: held out 10 -> 101 (4), 20 -> 100 (3), 30 -> 102 (5), 40 -> 100 (3); at
    # 4 and up only users 10 and 30 count. Implicit: all four.
    users, _ = relevant_items(make_catalog())
    assert users.tolist() == [10, 30]
    users, items = relevant_items(implicit_catalog())
    assert users.tolist() == [10, 20, 30, 40]
    assert [i.tolist() for i in items] == [[2], [1], [3], [1]]


def test_metrics_of_an_implicit_version_take_no_threshold(plane):
    evaluation, _, popular = plane.evaluate("plays", 0, k=3)
    assert evaluation.values["ndcg@3"] > 0 and "rmse" not in evaluation.values
    # most-popular ranks 100, 101, 104 (1 rating each), then 102, 103, ties by row,
    # leaving out what a user saw. User 10 (saw 100, 104) gets 101, 102, 103: 101 is its
    # held-out item, a hit; 20 (saw 101) gets 100, 104, 102: hit; 30 gets 100, 101, 104,
    # not its 102; 40 (not in training) gets the fallback 100, 101, 104: hit. 3 of 4.
    assert popular.values["hit_rate@3"] == 0.75
    with pytest.raises(InvalidRequest, match="relevance_threshold does not apply .*implicit"):
        plane.evaluate("plays", 0, threshold=1.0)


def test_genre_requests_are_refused_naming_the_missing_genres(plane):
    with pytest.raises(InvalidRequest, match="dataset has no genres.*no genre cold start"):
        plane.recommend("plays", 0, None, 3, features=UserFeatures({"Drama": 1.0}))
    with pytest.raises(InvalidRequest, match=r"item_ratings\[100\] must be 1: .*implicit"):
        plane.recommend("plays", 0, None, 3, features=UserFeatures(item_ratings={100: 5.0}))


@pytest.mark.service
def test_a_genre_request_on_a_dataset_without_genres_is_invalid_argument(plane, start_serving):
    _, address = start_serving(plane.registry.store.root)
    with grpc.insecure_channel(address) as channel:
        stub = serving_pb2_grpc.ServingServiceStub(channel)
        request = serving_pb2.RecommendRequest(k=3)
        request.model.name = "plays"
        request.user_features.genre_ratings["Drama"] = 1.0
        with pytest.raises(grpc.RpcError) as caught:
            stub.Recommend(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "this model's dataset has no genres" in caught.value.details()
