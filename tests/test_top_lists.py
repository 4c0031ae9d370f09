"""Top lists (movierec.serving.top_lists): answers sliced from per-row lists are exactly what the
per-call path computes, and a list that cannot tell says so."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movierec.data.synthetic import SynthSpec, publish_synthetic
from movierec.kinds.features import UserFeatures
from movierec.kinds.versions import load_version
from movierec.serving.dataplane import POPULAR, ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec.serving.scoring import top_k
from movierec.serving.top_lists import TopLists, attach_top_lists

# 60 users over 150 items, about 40 ratings each and up to all 150: lists of 100 are full
# for most users and short (fewer unseen items than 100) for the heaviest raters.
SPEC = SynthSpec(users=60, items=150, dim=8, ratings_per_user=40, seed=3)


@st.composite
def ranked_rows(draw):
    """Rows of scores with many ties and some -inf, a list length, k and exclusions."""
    width = draw(st.integers(2, 40))
    rows = draw(st.integers(1, 4))
    values = draw(
        st.lists(
            st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 0.5, 1.0, 2.0]),
            min_size=rows * width,
            max_size=rows * width,
        )
    )
    scores = np.array(values, dtype=np.float32).reshape(rows, width)
    length = draw(st.integers(1, width))
    k = draw(st.integers(1, width))
    excluded = np.array(draw(st.lists(st.integers(0, width - 1), max_size=6)), dtype=np.int64)
    return scores, length, k, excluded


@settings(max_examples=300, deadline=None)
@given(ranked_rows())
def test_a_list_answers_exactly_what_top_k_answers_or_nothing(case):
    scores, length, k, excluded = case
    lists = TopLists.build(len(scores), lambda row: scores[row].copy(), length)
    for row, raw in enumerate(scores):
        expected_all = top_k(raw, length)
        assert lists.counts[row] == len(expected_all)
        masked = raw.copy()
        masked[excluded] = -np.inf
        expected = top_k(masked, k)
        answer = lists.top(row, k, excluded)
        if answer is None:
            # Only where the list is too short to know: k beyond its length, or a full
            # list emptied below k by the exclusions.
            kept = np.setdiff1d(expected_all, excluded)
            assert k > length or (len(expected_all) == length and len(kept) < k)
            continue
        rows, shown = answer
        np.testing.assert_array_equal(rows, expected)
        np.testing.assert_array_equal(shown, masked[expected])
        assert rows.dtype == np.int64 and shown.dtype == np.float32


def test_ties_break_by_index_across_the_end_of_a_list():
    # Items 1..4 tie at 1.0; a list of 2 keeps items 1 and 2, and with item 1 excluded
    # the best 2 are items 2 and 3, which the full list of 2 cannot tell.
    scores = np.array([[-np.inf, 1.0, 1.0, 1.0, 1.0, 0.0]], dtype=np.float32)
    lists = TopLists.build(1, lambda row: scores[row].copy(), 2)
    assert lists.top(0, 2)[0].tolist() == [1, 2]
    assert lists.top(0, 1, np.array([1]))[0].tolist() == [2]
    assert lists.top(0, 2, np.array([1])) is None
    assert lists.top(0, 3) is None


def test_lists_are_read_only():
    lists = TopLists.build(1, lambda row: np.array([0.0, 1.0, 2.0], dtype=np.float32), 2)
    rows, shown = lists.top(0, 2)
    with pytest.raises(ValueError):
        rows[0] = 5
    with pytest.raises(ValueError):
        shown[0] = 5.0


@pytest.fixture(params=["retrieval", "rating"])
def planes(request, store):
    """The same version served per call and from top lists."""
    spec = SynthSpec(**{**SPEC.__dict__, "objective": request.param})
    publish_synthetic(store, "small", spec)
    per_call = ModelRegistry(store, top_lists_max_cells=0)
    listed = ModelRegistry(store)
    per_call.refresh()
    listed.refresh()
    assert per_call.build_top_lists() == 0
    assert listed.build_top_lists() == 1
    assert listed.build_top_lists() == 0  # ranked once per loaded version
    scorer = listed.get("small").scorer
    assert scorer.top_lists is not None and scorer.similar_lists is not None
    return ServingDataPlane(per_call), ServingDataPlane(listed), scorer


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.rows, b.rows)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert (a.rows.dtype, a.scores.dtype) == (b.rows.dtype, b.scores.dtype)


def _unchanged_prefix(ask: dict) -> bool:
    """Whether a Recommend ask of the SPEC version is answered by a list's first entries
    as they stand (k within the list, no seen items asked back, nothing excluded)."""
    excluded = ask.get("exclude_item_ids", ())
    return ask["k"] <= 100 and not ask.get("include_seen") and not len(excluded)


def test_recommend_from_lists_equals_recommend_per_call(planes):
    per_call, listed, scorer = planes
    catalog = scorer.catalog
    user_ids = catalog.user_ids.tolist()
    unseen = [len(catalog.item_ids) - len(catalog.seen(row)) for row in range(1, 61)]
    assert min(unseen) < 100 < max(unseen)  # short lists and full ones both answered
    items = catalog.item_ids.tolist()
    asks = [
        {"k": 1},
        {"k": 10},
        {"k": 100},
        {"k": 101},  # beyond the lists: per call
        {"k": 10, "include_seen": True},
        {"k": 10, "exclude_item_ids": [*items[:5], 10**9]},  # an unknown id is ignored
        {"k": 90, "exclude_item_ids": items[::3]},  # runs full lists short: per call
    ]
    for user_id in user_ids:
        for ask in asks:
            a = per_call.recommend("small", 0, user_id, **ask)
            b = listed.recommend("small", 0, user_id, **ask)
            _same(a.value, b.value)
            assert (a.value.strategy, a.value.reason) == (b.value.strategy, b.value.reason)
            # Keyed only where the answer is a list's first entries, unchanged.
            row = scorer.index.user_index(user_id)
            key = (scorer.top_lists.serial, row) if _unchanged_prefix(ask) else None
            assert (a.value.list_key, b.value.list_key) == (None, key)
    # A user described by features, whom a dot version cannot score: the popular list
    cold = UserFeatures({"Action": 4.0})
    popular = np.flatnonzero(np.isfinite(scorer.index.fallback_scores))
    assert len(popular) > 10  # so that exclusions below change the answer
    for ask in asks[:4] + [{"k": 10, "exclude_item_ids": catalog.item_ids[popular[:5] - 1]}]:
        a = per_call.recommend("small", 0, None, features=cold, **ask)
        b = listed.recommend("small", 0, None, features=cold, **ask)
        assert a.value.strategy == b.value.strategy == POPULAR
        _same(a.value, b.value)
        key = (scorer.popular_list.serial, 0) if _unchanged_prefix(ask) else None
        assert (a.value.list_key, b.value.list_key) == (None, key)
    serials = {scorer.top_lists.serial, scorer.similar_lists.serial, scorer.popular_list.serial}
    assert len(serials) == 3


def test_similar_items_from_lists_equal_similar_items_per_call(planes):
    per_call, listed, scorer = planes
    for item_id in scorer.catalog.item_ids.tolist():
        for k in (1, 10, 100, 149):
            a = per_call.similar_rows("small", 0, item_id, k).value
            b = listed.similar_rows("small", 0, item_id, k).value
            _same(a, b)
            row = scorer.index.item_index(item_id)
            key = (scorer.similar_lists.serial, row) if k <= 100 else None
            assert (a.list_key, b.list_key) == (None, key)


def test_only_small_one_stage_versions_get_lists(store):
    publish_synthetic(store, "small", SPEC)
    cells = 61 * 151  # users x items, each with its OOV row (items x items is 151 * 151)

    def scorer():
        return load_version(store, "small", 1).scorer

    big = scorer()
    assert not attach_top_lists(big, cells - 1)
    assert big.top_lists is None and big.similar_lists is None and big.popular_list is None

    ranking = scorer()
    ranking.candidate_model = "retrieval"  # a two-stage version ranks its candidates per call
    assert attach_top_lists(ranking, 151 * 151)
    assert ranking.top_lists is None
    assert ranking.similar_lists is not None and ranking.popular_list is not None

    approximate = scorer()
    approximate.ann = object()  # answered from an approximate index instead
    approximate.similar_ann = object()
    assert attach_top_lists(approximate, 10**9)
    assert approximate.top_lists is None and approximate.similar_lists is None
    assert approximate.popular_list is not None  # users it cannot score: no index there


def test_serving_ranks_lists_without_waiting_for_a_poll(store, start_serving):
    publish_synthetic(store, "small", SPEC)
    server, _ = start_serving(store.root, poll_interval=600)
    # The watcher ranks as it starts; poll for its result, bounded.
    for _ in range(500):
        if server.registry.get("small").scorer.top_lists is not None:
            break
        time.sleep(0.01)
    assert server.registry.get("small").scorer.top_lists is not None
