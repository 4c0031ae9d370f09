"""Request context (a timestamp) for the ranking_context kind, on a hand-made version (no
TensorFlow): the numpy scorer agrees with the model's plain formula at any time, requests
carry the time, and a bad time is refused for every kind."""

import math

import numpy as np
import pytest

from movierec.errors import InvalidRequest
from movierec.kinds.ranking_context import ContextRankingScorer, time_features, title_tokens
from movierec.serving.dataplane import ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec_client.sdk import InvalidArgumentError, ServingClient
from tests.fakes import (
    make_catalog,
    make_context_ranking_weights,
    publish_fake,
    publish_fake_context_ranking,
)


def _plain_rating(weights, user: int, item: int, timestamp: float) -> float:
    """The enriched model written out: concatenate, one ReLU layer, linear output."""
    bucket, standardised = time_features(
        timestamp, weights["time_boundaries"], weights["time_stats"]
    )
    features = np.concatenate(
        [
            weights["user_embeddings"][user],
            weights["item_embeddings"][item],
            weights["title_vectors"][item],
            weights["bucket_embeddings"][bucket[0]],
            standardised,
        ]
    )
    hidden = np.maximum(features @ weights["hidden_kernel_0"] + weights["hidden_bias_0"], 0)
    return float(hidden @ weights["output_kernel"] + weights["output_bias"][0])


@pytest.mark.parametrize("timestamp", [0.0, 5.0, 12.5, 25.0, 30.0, 1e9])
def test_scores_at_any_time_equal_the_plain_model(timestamp):
    weights = make_context_ranking_weights()
    scorer = ContextRankingScorer(weights, make_catalog(), kind="ranking_context")
    users = np.array([1, 2, 3, 1, 2])
    items = np.array([1, 2, 3, 4, 5])
    queries = scorer.user_queries(users, timestamp)
    raw = scorer.scores(queries)[np.arange(5), items]
    expected = [_plain_rating(weights, u, i, timestamp) for u, i in zip(users, items, strict=True)]
    np.testing.assert_allclose(raw, expected, atol=1e-5)


def test_the_default_context_is_the_end_of_the_training_period():
    scorer = ContextRankingScorer(make_context_ranking_weights(), make_catalog())
    rows = np.array([1, 2, 3])
    np.testing.assert_array_equal(scorer.user_queries(rows), scorer.queries[rows])
    np.testing.assert_array_equal(scorer.user_queries(rows, 30.0), scorer.queries[rows])
    np.testing.assert_array_equal(scorer.user_queries(rows, 2e9), scorer.queries[rows])
    assert not np.allclose(scorer.user_queries(rows, 5.0), scorer.queries[rows])


def test_time_features_bucket_and_clip_as_the_notebook():
    boundaries, stats = np.array([10.0, 20.0]), np.array([15.0, 5.0, 0.0, 30.0])
    bucket, standardised = time_features(np.array([-5.0, 9.9, 10.0, 25.0, 99.0]), boundaries, stats)
    assert bucket.tolist() == [0, 0, 1, 2, 2]
    np.testing.assert_allclose(standardised, [-3, -1.02, -1, 2, 3])


def test_title_tokens_are_resolved_into_ids():
    table, vocabulary = title_tokens(np.array(["Toy Story (1995)", "Toy Soldiers (1991)"]))
    assert vocabulary[0] == "toy" and set(vocabulary) == {
        "toy",
        "story",
        "1995",
        "soldiers",
        "1991",
    }
    assert table.shape == (3, 16) and table[0].sum() == 0
    assert [vocabulary[t - 1] for t in table[1] if t] == ["toy", "story", "1995"]


@pytest.fixture
def plane(store):
    publish_fake(store, "dot")
    publish_fake_context_ranking(store, "context")
    registry = ModelRegistry(store)
    registry.refresh()
    return ServingDataPlane(registry)


def test_predict_and_recommend_take_the_time(plane):
    early = plane.predict("context", 0, [10, 10], [101, 102], timestamp=5.0).value.scores
    late = plane.predict("context", 0, [10, 10], [101, 102], timestamp=29.0).value.scores
    now = plane.predict("context", 0, [10, 10], [101, 102]).value.scores
    assert not np.allclose(early, late)
    np.testing.assert_allclose(
        now, plane.predict("context", 0, [10, 10], [101, 102], timestamp=30.0).value.scores
    )
    dot = [plane.predict("dot", 0, [10], [101], timestamp=t).value.scores[0] for t in (5.0, 29.0)]
    assert dot[0] == dot[1]  # kinds without context ignore it
    answer = plane.recommend("context", 0, 20, 3, timestamp=5.0).value
    assert answer.candidates_from.name == "most-popular"


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
@pytest.mark.parametrize("model", ["context", "dot"])
def test_a_bad_time_is_refused_for_every_kind(plane, model, bad):
    with pytest.raises(InvalidRequest, match="context.timestamp must be finite"):
        plane.predict(model, 0, [10], [101], timestamp=bad)
    with pytest.raises(InvalidRequest, match="context.timestamp must be finite"):
        plane.recommend(model, 0, 10, 3, timestamp=bad)


def test_the_time_travels_over_grpc(store, start_serving):
    publish_fake_context_ranking(store, "context")
    _, target = start_serving(store.root)
    with ServingClient(target) as client:
        client.wait_for_version("context", 1, timeout=10)
        early = client.predict("context", [(10, 101)], timestamp=5.0).scores
        late = client.predict("context", [(10, 101)], timestamp=29.0).scores
        assert early != late
        assert client.recommend("context", 10, k=2, timestamp=5.0).items
        with pytest.raises(InvalidArgumentError, match="context.timestamp"):
            client.recommend("context", 10, k=2, timestamp=-3.0)
