"""Scoring through the data plane, on the hand-made dot version of tests/fakes.py."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from movierec.errors import UnknownItem, UnknownUser
from movierec.kinds.dot import DotScorer
from movierec.kinds.features import UserFeatures
from movierec.serving.dataplane import MODEL, POPULAR, ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec.serving.scoring import top_k
from tests.fakes import make_catalog, make_weights, publish_fake


def plane_of(store, lists: bool = False, **fake) -> ServingDataPlane:
    """A plane serving the hand-made version, from top lists when `lists` (the hand-worked
    answers must not depend on it)."""
    publish_fake(store, "m", **fake)
    registry = ModelRegistry(store)
    registry.refresh()
    if lists:
        assert registry.build_top_lists() == 1
    return ServingDataPlane(registry)


@pytest.fixture(params=["per call", "top lists"])
def plane(request, store):
    return plane_of(store, lists=request.param == "top lists")


def predict(plane, users, items):
    return plane.predict("m", 0, users, items).value


def test_predict_by_hand(plane):
    # user 10 = [1, 0], b_u 0.5; item 102 = [0.5, 0.5], b_i 0.2; g 3 -> 0.5 + 0.5 + 0.2 + 3
    # user 20 = [0, 1], b_u 0; item 104 = [2, 2], b_i -3 -> 2 + 0 - 3 + 3 = 2
    # user 30 = [1, 1], b_u -0.5; item 103 = [-1, 0], b_i 0.3 -> -1 - 0.5 + 0.3 + 3 = 1.8
    prediction = predict(plane, [10, 20, 30], [102, 104, 103])
    np.testing.assert_allclose(prediction.scores, [4.2, 2.0, 1.8], rtol=1e-6)
    assert prediction.is_rating and prediction.strategy == MODEL and prediction.fallback == ()


def test_predict_clips_to_the_rating_scale(store):
    plane = plane_of(store, shift=10)
    assert predict(plane, [10], [100]).scores.tolist() == [5.0]


def test_predict_names_the_unknown_ids(plane):
    with pytest.raises(UnknownUser, match="unknown user id 11"):
        predict(plane, [10, 11], [100, 100])
    with pytest.raises(UnknownItem, match="unknown item id 999"):
        predict(plane, [10, 10], [100, 999])


def test_predict_falls_back_for_dataset_users_absent_from_training(plane):
    # user 40 is in the dataset, not in training: item 101's mean training rating, 5
    prediction = predict(plane, [10, 40], [102, 101])
    assert prediction.scores.tolist() == pytest.approx([4.2, 5.0])
    assert prediction.strategy == POPULAR and prediction.fallback == (1,)


def test_predict_for_features_on_a_kind_without_user_tower_falls_back(plane):
    answer = plane.predict("m", 0, [None], [100], [UserFeatures({"Drama": 5.0})]).value
    assert answer.strategy == POPULAR and answer.fallback == (0,)
    assert answer.scores.tolist() == [4.0]


def test_recommend_excludes_seen_and_requested_items(plane):
    # user 10 scores: 100 4.5, 101 3.6, 102 4.2, 103 2.8, 104 2.5; rated 100 and 104
    answer = plane.recommend("m", 0, 10, k=3).value
    items = answer.items
    assert answer.strategy == MODEL and answer.reason == ""
    assert [i.item_id for i in items] == [102, 101, 103]
    assert [i.score for i in items] == pytest.approx([4.2, 3.6, 2.8])
    assert items[0].title == "Gamma (1992)" and items[0].genres == ("Drama",)
    assert items[0].year == 1992
    seen = plane.recommend("m", 0, 10, k=2, include_seen=True).value.items
    assert [i.item_id for i in seen] == [100, 102]
    excluded = plane.recommend("m", 0, 10, k=5, exclude_item_ids=[102, 12345]).value.items
    assert [i.item_id for i in excluded] == [101, 103]


def test_recommend_returns_fewer_when_the_catalog_runs_out(plane):
    assert len(plane.recommend("m", 0, 10, k=50).value.items) == 3


def test_recommend_unknown_user(plane):
    with pytest.raises(UnknownUser, match="99"):
        plane.recommend("m", 0, 99, k=3)


def test_recommend_falls_back_to_popular_well_rated_items(plane):
    # global mean 11/3; smoothed means: 100 (4 + 10 * 11/3) / 11 > 11/3, 101 likewise,
    # 104 (2 + ...) / 11 < 11/3; 102, 103 unrated -> only 100 and 101, by count, ties by id
    answer = plane.recommend("m", 0, 40, k=5).value
    assert answer.strategy == POPULAR and "user 40 is not in the training data" in answer.reason
    assert [i.item_id for i in answer.items] == [100, 101]
    cold = plane.recommend("m", 0, None, k=5, features=UserFeatures({"Action": 4.0})).value
    assert cold.strategy == POPULAR and "no user tower" in cold.reason
    assert [i.item_id for i in cold.items] == [100, 101]


def test_similar_items_by_cosine_without_the_item_itself(plane):
    # item 100 = [1, 0]: cos with 102 [.5,.5] = 0.7071, 104 [2,2] = 0.7071, 101 = 0, 103 = -1
    items = plane.similar_items("m", 0, 100, k=4).value
    assert [i.item_id for i in items] == [102, 104, 101, 103]
    assert [i.score for i in items] == pytest.approx([0.70710677, 0.70710677, 0.0, -1.0])
    with pytest.raises(UnknownItem, match="5000"):
        plane.similar_items("m", 0, 5000, k=1)


def test_evaluate_uses_the_oov_row_for_unseen_ids(plane):
    # (10,101) 3.6 vs 4; (20,100) 0+0+0+3=3 vs 3; (30,102) .5+.5-.5+.2+3=3.7 vs 5;
    # (40 unseen,100) 0+0+0+3 = 3 vs 3 -> errors .4, 0, 1.3, 0
    values = plane.evaluate("m", 0, k=3)[0].values
    assert values["mae"] == pytest.approx((0.4 + 1.3) / 4, rel=1e-5)
    assert values["rmse"] == pytest.approx(np.sqrt((0.16 + 1.69) / 4), rel=1e-5)
    # relevant: 10 -> {101} (4), 30 -> {102} (5). User 10's top 3: 102, 101, 103 -> hit at
    # rank 2: ndcg 1/log2(3). User 30 (nothing seen) raw: 100 1-.5+3=3.5, 101 3.6,
    # 102 3.7, 103 2.8, 104 4-3-.5+3=3.5 -> 102 first: hit at rank 1, ndcg 1
    assert values["ndcg@3"] == pytest.approx((1 / np.log2(3) + 1) / 2, rel=1e-6)
    assert values["hit_rate@3"] == 1.0


def test_sigmoid_output_maps_onto_the_scale():
    scorer = DotScorer(make_weights(), make_catalog(), "rating", "sigmoid")
    # raw for (10,100) = 4.5 -> 1 + 4 * sigmoid(4.5)
    expected = 1 + 4 / (1 + np.exp(-4.5))
    score = scorer.pair_scores(scorer.queries[[1]], np.array([1]))[0]
    assert score == pytest.approx(expected, rel=1e-6)


def test_retrieval_versions_rank_by_relevance_not_rating(store):
    plane = plane_of(store, objective="retrieval")
    # retrieval relevance of user 10 = P·Q + b_i: 100 1, 101 .1, 102 .7, 103 -.7, 104 -1
    prediction = predict(plane, [10], [102])
    assert not prediction.is_rating
    assert prediction.scores.tolist() == pytest.approx([0.7])
    items = plane.recommend("m", 0, 10, k=2).value.items
    assert [i.item_id for i in items] == [102, 101]
    assert "rmse" not in plane.evaluate("m", 0, k=3)[0].values


@given(
    arrays(np.float32, st.integers(1, 60), elements=st.floats(-1e6, 1e6, width=32)),
    st.integers(1, 70),
)
def test_top_k_matches_a_full_sort(scores, k):
    expected = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    assert top_k(scores, k).tolist() == expected


def test_top_k_skips_excluded_entries():
    scores = np.array([1.0, -np.inf, 3.0, -np.inf])
    assert top_k(scores, 4).tolist() == [2, 0]


def test_two_tower_scores_a_user_described_by_genres(store):
    from movierec.serving.dataplane import USER_FEATURES
    from tests.fakes import publish_fake_two_tower

    publish_fake_two_tower(store)
    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    # query = normalise([Action mean + .1 Drama mean, Comedy mean + .1 Drama mean]), unnamed
    # genres at the population mean: a Comedy fan who dislikes Action leans to [0, 1]
    action = plane.recommend("tower", 0, None, 2, features=UserFeatures({"Action": 5.0})).value
    assert action.strategy == USER_FEATURES
    comedy = UserFeatures({"Comedy": 5.0, "Action": 1.0})
    top = plane.recommend("tower", 0, None, 1, features=comedy).value.items
    assert top[0].item_id in (101, 104)  # Comedy = [0, 1] vectors
    prediction = plane.predict("tower", 0, [None], [101], [comedy]).value
    assert prediction.strategy == USER_FEATURES and not prediction.is_rating
