"""Two-stage Recommend on hand-made versions (no TensorFlow): a ranking version re-scores
its candidate source's top items; Metrics judges the lists Recommend gives; a ranking
version whose source cannot serve is refused at load."""

import numpy as np
import pytest

from movierec.errors import IncompatibleVersions, InvalidRequest
from movierec.kinds.evaluation import relevant_items
from movierec.kinds.ranking import RankingScorer
from movierec.serving.dataplane import MODEL, POPULAR, ServingDataPlane
from movierec.serving.registry import AVAILABLE, FAILED, ModelRegistry
from movierec.store.arrays import save_arrays
from movierec.store.model_store import WEIGHTS_FILE
from movierec.training.spec import build_train_spec
from movierec_client.sdk import InvalidArgumentError, ServingClient
from tests.fakes import (
    make_catalog,
    make_ranking_weights,
    make_weights,
    publish_fake,
    publish_fake_ranking,
    write_fake,
)


def _ids(recommendation) -> list[int]:
    return [item.item_id for item in recommendation.items]


@pytest.fixture(params=["per call", "top lists"])
def plane(request, store):
    """Candidates from the retrieval version answered per call, or from its top lists (the
    ranking versions rank per call either way)."""
    publish_fake(store, "retrieval", objective="retrieval")
    publish_fake_ranking(store, "ranker", candidate_model="retrieval", num_candidates=2)
    publish_fake_ranking(store, "by_popularity", candidate_model="popularity")
    registry = ModelRegistry(store)
    registry.refresh()
    if request.param == "top lists":
        assert registry.build_top_lists() == 3  # SimilarItems lists for all three
        assert registry.get("retrieval").scorer.top_lists is not None
        assert registry.get("ranker").scorer.top_lists is None
    return ServingDataPlane(registry)


def test_the_ranking_head_scores_as_worked_out_by_hand():
    scorer = RankingScorer(make_ranking_weights(), make_catalog())
    user_10 = scorer.queries[1]
    np.testing.assert_allclose(scorer.scores(user_10[None])[0, 1:], [5, 6, 5.5, 3, 10])
    np.testing.assert_allclose(scorer.item_scores(user_10, np.array([3, 2])), [5.5, 6])
    # Predict clips to the rating scale; Recommend shows the raw score
    np.testing.assert_allclose(scorer.pair_scores(user_10[None], np.array([5])), [5.0])


def test_ranking_reorders_the_retrieval_candidates(plane):
    one_stage = plane.recommend("retrieval", 0, 10, 3).value
    assert _ids(one_stage) == [102, 101, 103]
    answer = plane.recommend("ranker", 0, 10, 2)
    assert answer.model.name == "ranker" and answer.value.strategy == MODEL
    assert answer.value.candidates_from.name == "retrieval"
    assert answer.value.candidates_from.version == 1
    # the two best candidates of the retrieval stage, in the ranking's order and scores
    assert _ids(answer.value) == [101, 102]
    np.testing.assert_allclose(answer.value.scores, [6, 5.5])


def test_k_and_the_request_widen_the_candidates(plane):
    # num_candidates 2 but k 3: three candidates are taken
    assert _ids(plane.recommend("ranker", 0, 10, 3).value) == [101, 102, 103]
    # one candidate asked for, k 1: the retrieval stage's best alone
    assert _ids(plane.recommend("ranker", 0, 10, 1, num_candidates=1).value) == [102]
    with pytest.raises(InvalidRequest, match="num_candidates must be 0"):
        plane.recommend("ranker", 0, 10, 1, num_candidates=10_001)


def test_seen_and_excluded_items_never_reach_the_second_stage(plane):
    assert _ids(plane.recommend("ranker", 0, 10, 3, exclude_item_ids=[101]).value) == [102, 103]
    # with seen items allowed, 100 (retrieval score 1) is a candidate, ranked third
    assert _ids(plane.recommend("ranker", 0, 10, 3, include_seen=True).value) == [101, 102, 100]


def test_a_user_the_ranking_cannot_score_keeps_the_first_stage_order(plane):
    answer = plane.recommend("ranker", 0, 40, 3).value  # in the dataset, not in training
    assert answer.strategy == POPULAR and "not in the training data" in answer.reason
    assert answer.candidates_from.name == "retrieval"
    assert _ids(answer) == _ids(plane.recommend("retrieval", 0, 40, 3).value)


def test_popularity_as_the_candidate_source(plane):
    answer = plane.recommend("by_popularity", 0, 30, 3).value
    assert answer.candidates_from.name == "most-popular"
    assert answer.candidates_from.kind == "popularity"
    popular = plane.recommend("retrieval", 0, 40, 3).value  # the popularity fallback
    assert set(_ids(answer)) == set(_ids(popular))
    assert list(answer.scores) == sorted(answer.scores, reverse=True)


def test_metrics_judge_the_lists_recommend_gives(plane):
    for name in ("ranker", "by_popularity"):
        evaluation, _, _ = plane.evaluate(name, 0, k=2)
        catalog = plane.registry.get(name).scorer.catalog
        users, relevant = relevant_items(catalog)
        hits = []
        for user, items in zip(users.tolist(), relevant, strict=True):
            rows = plane.recommend(name, 0, user, 2).value.rows
            hits.append(len(set(rows.tolist()) & set(items.tolist())))
        assert evaluation.values["precision@2"] == pytest.approx(np.mean(hits) / 2, abs=1e-6)


def test_metrics_follow_the_candidate_version_serving_now(store, plane):
    before, _, _ = plane.evaluate("ranker", 0, k=2)
    assert before.values["hit_rate@2"] == 1.0  # users 10 and 30 find their relevant item

    def write_boosting_103(folder):
        write_fake(folder)
        weights = make_weights()
        weights["item_bias"][4] = 5.3  # item 103 now leads user 10's retrieval list
        save_arrays(folder / WEIGHTS_FILE, weights)

    store.publish_version("retrieval", store.read_manifest("retrieval", 1), write_boosting_103)
    plane.registry.refresh()
    answer = plane.recommend("ranker", 0, 10, 2).value
    assert answer.candidates_from.version == 2
    assert _ids(answer) == [102, 103]  # 101 is no longer a candidate
    after, _, _ = plane.evaluate("ranker", 0, k=2)
    assert after.values["hit_rate@2"] == 0.5


@pytest.mark.parametrize(
    ("candidate", "publish", "reason"),
    [
        ("absent", None, "takes candidates from model 'absent', which the store does not have"),
        ("rated", "rating", "a candidate source must be trained with the 'retrieval' objective"),
    ],
)
def test_a_ranking_version_whose_source_cannot_serve_is_refused(store, candidate, publish, reason):
    publish_fake(store, "retrieval", objective="retrieval")
    publish_fake_ranking(store, "ranker", candidate_model="retrieval")
    if publish:
        publish_fake(store, candidate, objective=publish)
    publish_fake_ranking(store, "ranker", candidate_model=candidate)
    registry = ModelRegistry(store)
    registry.refresh()
    (state,) = registry.status("ranker")
    assert state.serving_version == 1  # the last good version keeps serving
    refused = {v.version: v for v in state.versions}[2]
    assert refused.state == FAILED and reason in refused.error
    assert {v.version: v for v in state.versions}[1].state == AVAILABLE


def test_a_candidate_of_other_data_is_refused(store):
    publish_fake(store, "retrieval", objective="retrieval")
    publish_fake_ranking(store, "ranker", candidate_model="retrieval")
    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    manifest = store.read_manifest("retrieval", 1)
    other = {**manifest, "split": "fake/other"}
    store.publish_version("retrieval", other, write_fake)
    registry.refresh()
    with pytest.raises(IncompatibleVersions, match="trained on other data"):
        plane.recommend("ranker", 0, 10, 2)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"objective": "retrieval"}, "kind 'ranking' trains the rating objective only"),
        ({"kind_params": {"num_candidates": 0}}, "num_candidates must be 1 to 10000"),
        ({"kind_params": {"candidate_model": "../x"}}, "candidate_model must be"),
        ({"kind_params": {"layers": [64, 64, 64, 64]}}, "layers must hold 1 to 3 widths"),
    ],
)
def test_ranking_requests_are_validated(settings, message):
    with pytest.raises(InvalidRequest, match=message):
        build_train_spec("m", kind="ranking", **settings)
    assert build_train_spec("m", kind="ranking").objective == "rating"


def test_two_stage_over_grpc_names_both_versions(store, start_serving):
    publish_fake(store, "retrieval", objective="retrieval")
    publish_fake_ranking(store, "ranker", candidate_model="retrieval", num_candidates=2)
    _, target = start_serving(store.root)
    with ServingClient(target) as client:
        client.wait_for_version("ranker", 1, timeout=10)
        answer = client.recommend("ranker", 10, k=2)
        assert [item.item_id for item in answer.items] == [101, 102]
        assert (answer.candidates_from.name, answer.candidates_from.version) == ("retrieval", 1)
        assert client.recommend("retrieval", 10, k=2).candidates_from is None
        with pytest.raises(InvalidArgumentError, match="num_candidates"):
            client.recommend("ranker", 10, k=2, num_candidates=-1)
        assert client.recommend("ranker", 10, k=1, num_candidates=1).items[0].item_id == 102
