"""Responses encoded from arrays, and sliced from encoded top lists, parse to exactly the
messages protobuf would build."""

import gc
import weakref

import numpy as np
import pytest

from movierec.data.synthetic import SynthSpec, publish_synthetic
from movierec.kinds.versions import VersionInfo, load_version
from movierec.serving.dataplane import ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec_client.v1 import common_pb2, serving_pb2
from serving_service import encoding
from serving_service.encoding import ItemEncoder, predict_response, varint
from serving_service.servicer import ServingServicer, features_of, version_pb
from tests.fakes import publish_fake


@pytest.mark.parametrize("value", [1, 127, 128, 300, 2**31, 2**63 - 1])
def test_varints_match_protobuf(value):
    message = common_pb2.ModelVersion(version=value)
    assert message.SerializeToString() == b"\x10" + varint(value)


def test_encoded_responses_equal_the_built_ones(store):
    publish_fake(store, "m")
    loaded = load_version(store, "m", 1)
    encoder = ItemEncoder(loaded.info, loaded.scorer.index)
    rows = np.array([3, 1, 2], dtype=np.int64)
    scores = np.array([4.25, 0.0, -1.5], dtype=np.float32)
    model = common_pb2.ModelVersion(name="m", version=1, kind="dot", objective="rating")
    items = [
        common_pb2.ScoredItem(
            item_id=i.item_id, title=i.title, genres=i.genres, year=i.year, score=i.score
        )
        for i in loaded.scorer.index.scored_items(rows, scores)
    ]
    built = serving_pb2.RecommendResponse(
        model=model, items=items, strategy="popular", reason="why ünïcode"
    )
    for _ in range(2):  # the second time from the cache
        encoded = encoder.recommend_response(rows, scores, "popular", "why ünïcode")
        assert serving_pb2.RecommendResponse.FromString(encoded) == built
    similar = encoder.similar_items_response(rows, scores)
    assert serving_pb2.SimilarItemsResponse.FromString(similar) == (
        serving_pb2.SimilarItemsResponse(model=model, items=items)
    )
    empty = encoder.recommend_response(rows[:0], scores[:0], "model", "")
    assert serving_pb2.RecommendResponse.FromString(empty) == serving_pb2.RecommendResponse(
        model=model, strategy="model"
    )


@pytest.mark.parametrize(
    ("is_rating", "strategy", "fallback"),
    [(True, "model", ()), (False, "popular", (0, 2, 300)), (True, "", ())],
)
def test_encoded_predict_responses_equal_the_built_ones(is_rating, strategy, fallback):
    info = VersionInfo("m", 7, "two_tower", "rating" if is_rating else "retrieval")
    scores = np.array([4.25, 0.0, -1.5, 3.0e-7], dtype=np.float32)
    built = serving_pb2.PredictResponse(
        model=common_pb2.ModelVersion(
            name="m", version=7, kind="two_tower", objective=info.objective
        ),
        ratings=scores.tolist() if is_rating else [],
        scores=scores.tolist(),
        score_type=serving_pb2.RATING if is_rating else serving_pb2.RELEVANCE,
        strategy=strategy,
        fallback_instances=fallback,
    )
    encoded = predict_response(info, scores, is_rating, strategy, fallback)
    assert serving_pb2.PredictResponse.FromString(encoded) == built
    assert encoded == built.SerializeToString()


def test_a_list_prefix_is_encoded_once_then_sliced(store, monkeypatch):
    publish_fake(store, "m")
    loaded = load_version(store, "m", 1)
    encoder = ItemEncoder(loaded.info, loaded.scorer.index)
    rows = np.array([3, 1, 2, 4, 5], dtype=np.int64)
    scores = np.array([4.25, 3.5, 3.0, 2.0, -1.5], dtype=np.float32)
    key = (7, 3)
    fresh = ItemEncoder(loaded.info, loaded.scorer.index)  # keeps nothing: no keys given
    assert encoder.items(rows[:3], scores[:3], key) == fresh.items(rows[:3], scores[:3])
    kept = encoder.list_bytes
    assert kept >= len(fresh.items(rows[:3], scores[:3]))
    # A key promises the same rows and scores for the same length: shorter or equal asks
    # are sliced from what was kept, so other scores under the key do not show.
    other = np.zeros(5, dtype=np.float32)
    for n in range(4):
        assert encoder.items(rows[:n], other[:n], key) == fresh.items(rows[:n], scores[:n])
    assert encoder.list_bytes == kept
    # A longer ask is encoded afresh and replaces the shorter prefix.
    assert encoder.items(rows, scores, key) == fresh.items(rows, scores)
    assert encoder.list_bytes > kept
    assert encoder.items(rows[:4], other[:4], key) == fresh.items(rows[:4], scores[:4])
    # Another key is another list.
    assert encoder.items(rows[:2], other[:2], (7, 4)) == fresh.items(rows[:2], other[:2])
    assert fresh.list_bytes == 0
    # Beyond the memory bound nothing more is kept, and answers stay right.
    monkeypatch.setattr(encoding, "MAX_LISTED_BYTES", encoder.list_bytes)
    before = encoder.list_bytes
    assert encoder.items(rows, scores, (8, 0)) == fresh.items(rows, scores)
    assert encoder.items(rows[:1], other[:1], (8, 0)) == fresh.items(rows[:1], other[:1])
    assert encoder.list_bytes == before


@pytest.mark.parametrize("objective", ["retrieval", "rating"])
def test_responses_answered_from_lists_equal_the_built_ones(store, objective):
    publish_synthetic(store, "s", SynthSpec(users=30, items=80, dim=4, objective=objective))
    registry = ModelRegistry(store)
    registry.refresh()
    assert registry.build_top_lists() == 1
    servicer = ServingServicer(ServingDataPlane(registry))
    plane = servicer.plane
    catalog = registry.get("s").scorer.catalog
    model = common_pb2.ModelSpec(name="s")

    def built(ranked, message, **fields):
        answer = message(model=version_pb(ranked.model), **fields)
        for item in ranked.value.items:
            answer.items.add(
                item_id=item.item_id,
                title=item.title,
                genres=item.genres,
                year=item.year,
                score=item.score,
            )
        return answer

    cold = common_pb2.UserFeatures(genre_ratings={"Action": 4.0})  # a dot version: popular
    users = [{"user_id": u} for u in catalog.user_ids.tolist()] + [{"user_features": cold}]
    for user in users:
        for k in (10, 3, 10, 50):  # prefixes kept, sliced, outgrown
            request = serving_pb2.RecommendRequest(model=model, k=k, **user)
            answer = plane.recommend(
                "s",
                0,
                user.get("user_id"),
                k,
                features=features_of(cold) if "user_features" in user else None,
            )
            assert answer.value.list_key is not None
            expected = built(
                answer,
                serving_pb2.RecommendResponse,
                strategy=answer.value.strategy,
                reason=answer.value.reason,
            )
            encoded = servicer.Recommend(request, None)
            assert serving_pb2.RecommendResponse.FromString(encoded) == expected
    for item_id in catalog.item_ids.tolist():
        for k in (5, 2, 20):
            request = serving_pb2.SimilarItemsRequest(model=model, item_id=item_id, k=k)
            answer = plane.similar_rows("s", 0, item_id, k)
            assert answer.value.list_key is not None
            encoded = servicer.SimilarItems(request, None)
            expected = built(answer, serving_pb2.SimilarItemsResponse)
            assert serving_pb2.SimilarItemsResponse.FromString(encoded) == expected


def test_a_retired_version_is_not_kept_alive_by_its_encodings(store):
    publish_synthetic(store, "s", SynthSpec(users=30, items=80, dim=4))
    registry = ModelRegistry(store, keep_versions=1)
    registry.refresh()
    registry.build_top_lists()
    servicer = ServingServicer(ServingDataPlane(registry))
    request = serving_pb2.RecommendRequest(model=common_pb2.ModelSpec(name="s"), user_id=1, k=5)
    servicer.Recommend(request, None)
    retired = weakref.ref(registry.get("s").scorer.index)
    publish_synthetic(store, "s", SynthSpec(users=30, items=80, dim=4, seed=1))
    registry.refresh()
    assert registry.get("s").version == 2
    response = serving_pb2.RecommendResponse.FromString(servicer.Recommend(request, None))
    assert response.model.version == 2
    gc.collect()
    assert retired() is None
    # and no encoding outlives its version's index
    orphans = [o for o in gc.get_objects() if isinstance(o, ItemEncoder) and o._index() is None]
    assert not orphans
