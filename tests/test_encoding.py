"""Responses encoded from arrays parse to exactly the messages protobuf would build."""

import numpy as np
import pytest

from movierec.registry import VersionInfo, load_version
from movierec.v1 import common_pb2, serving_pb2
from serving_service.encoding import ItemEncoder, predict_response, varint
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
