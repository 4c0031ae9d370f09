"""Large catalogues: Recommend and SimilarItems from an approximate index, with exact
exclusions, close to brute force."""

import numpy as np
import pytest

from movierec.data.synthetic import SynthSpec, publish_synthetic
from movierec.errors import CorruptVersion
from movierec.kinds.ann import RECOMMEND_FILE, SIMILAR_FILE
from movierec.kinds.versions import load_version
from movierec.serving.dataplane import ServingDataPlane
from movierec.serving.registry import ModelRegistry

SPEC = SynthSpec(users=200, items=6000, dim=16, ratings_per_user=30, seed=5)


@pytest.fixture
def big(store):
    publish_synthetic(store, "big", SPEC, ann_min_items=5000)
    return store


def planes(store):
    exact = ModelRegistry(store, ann_min_items=10**9)
    approximate = ModelRegistry(store, ann_min_items=5000)
    exact.refresh()
    approximate.refresh()
    return ServingDataPlane(exact), ServingDataPlane(approximate)


def test_indexes_are_written_at_publish_and_listed_in_the_manifest(big):
    files = big.read_manifest("big", 1)["files"]
    assert RECOMMEND_FILE in files and SIMILAR_FILE in files
    loaded = load_version(big, "big", 1, ann_min_items=5000)
    assert loaded.scorer.ann.size == SPEC.items


def test_approximate_answers_match_brute_force_and_exclusions_are_exact(big):
    exact, approximate = planes(big)
    assert exact.registry.get("big").scorer.ann is None
    scorer = approximate.registry.get("big").scorer
    assert scorer.ann is not None
    overlap = []
    for user in range(1, 101):
        truth = [i.item_id for i in exact.recommend("big", 0, user, 10).value.items]
        answer = approximate.recommend("big", 0, user, 10, exclude_item_ids=truth[:2])
        found = [i.item_id for i in answer.value.items]
        seen = set(scorer.catalog.item_ids[scorer.catalog.seen(user) - 1].tolist())
        assert len(found) == 10 and not (set(found) & (seen | set(truth[:2])))
        plain = [i.item_id for i in approximate.recommend("big", 0, user, 10).value.items]
        overlap.append(len(set(plain) & set(truth)) / 10)
    assert np.mean(overlap) >= 0.95
    for item in (1, 17, 5000):
        truth = [i.item_id for i in exact.similar_items("big", 0, item, 10).value]
        found = [i.item_id for i in approximate.similar_items("big", 0, item, 10).value]
        assert item not in found and len(set(found) & set(truth)) >= 8


def test_a_damaged_index_is_refused_at_load(big):
    (big.version_path("big", 1) / RECOMMEND_FILE).write_bytes(b"garbage")
    with pytest.raises(CorruptVersion):
        load_version(big, "big", 1, ann_min_items=5000)
