import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movierec.metrics import ranking as rm
from movierec.metrics.ranking import PAD

# Four users, k = 3 (PAD marks empty slots):
#   A: recommended [1, 2, 3],     relevant {2, 3, 9}        -> hits [F, T, T]
#   B: recommended [4, 5, PAD],   relevant {4}              -> hits [T, F, F]
#   C: recommended [6, 7, 8],     relevant {1, 5}           -> hits [F, F, F] (no hit)
#   D: recommended [8, PAD, PAD], relevant {1, 2, 3, 8, 9}  -> hits [T, F, F] (|rel| > k)
RECOMMENDED = np.array([[1, 2, 3], [4, 5, PAD], [6, 7, 8], [8, PAD, PAD]], dtype=np.int64)
RELEVANT = [np.array([2, 3, 9]), np.array([4]), np.array([1, 5]), np.array([9, 8, 2, 3, 1])]
HITS = np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 0, 0]], dtype=bool)
NUM_RELEVANT = np.array([3, 1, 2, 5])

# Catalogue of ten items; popularity counted over 8 training users.
ITEM_IDS = np.arange(1, 11, dtype=np.int64)
POPULARITY = np.array([8, 4, 2, 1, 0, 8, 4, 2, 1, 0])
NUM_USERS = 8
# Genre-like vectors: 5 is a zero vector (cosine 0 with everything).
VECTORS = np.array(
    [
        [1, 0, 0],  # 1
        [1, 0, 0],  # 2
        [0, 1, 0],  # 3
        [1, 1, 0],  # 4
        [0, 0, 0],  # 5
        [0, 0, 1],  # 6
        [0, 0, 1],  # 7
        [0, 1, 1],  # 8
        [1, 0, 0],  # 9
        [1, 0, 0],  # 10
    ],
    dtype=np.float64,
)

L3 = 1 / math.log2(3)  # discount of rank 1 (rank 0 has 1, rank 2 has 1/log2(4) = 1/2)
EXPECTED = {
    # 2/3, 1/3, 0, 1/3 (k = 3 even for the PAD-shortened lists) -> (4/3) / 4
    "precision": 1 / 3,
    # 2/3, 1/1, 0/2, 1/5 -> (10/15 + 15/15 + 0 + 3/15) / 4 = 28/60
    "recall": 7 / 15,
    # A: DCG = L3 + 1/2, IDCG = 1 + L3 + 1/2; B: 1/1; C: 0; D: DCG = 1, IDCG = 1 + L3 + 1/2
    # A + D = (L3 + 1/2 + 1) / (1 + L3 + 1/2) = 1 -> (1 + 1 + 0) / 4
    "ndcg": 0.5,
    # A: (1/2 + 2/3) / min(3, 3) = 7/18; B: 1/1; C: 0; D: 1 / min(5, 3) = 1/3
    # -> (7/18 + 18/18 + 0 + 6/18) / 4 = 31/72
    "map": 31 / 72,
    # A, B, D hit; C does not
    "hit_rate": 3 / 4,
    # distinct non-PAD ids {1..8} of 10 items
    "coverage": 8 / 10,
    # slots 1,2,3 | 4,5 | 6,7,8 | 8 with p = pop/8 (item 5: pop 0 -> p = 1/8):
    # -log2(p) = 0,1,2 | 3,3 | 0,1,2 | 2 -> 14 over 9 slots
    "novelty": 14 / 9,
    # 8,4,2 | 1,0 | 8,4,2 | 2 -> 31 over 9 slots
    "mean_popularity": 31 / 9,
    # A {1,2,3}: cos 1, 0, 0 -> 1 - 1/3 = 2/3
    # B {4,5}: 5 is zero -> cos 0 -> 1
    # C {6,7,8}: cos 1, 1/sqrt2, 1/sqrt2 -> 1 - (1 + sqrt2)/3 = (2 - sqrt2)/3
    # D has one item -> skipped; mean over A, B, C = (7 - sqrt2) / 9
    "diversity": (7 - math.sqrt(2)) / 9,
}


def test_hit_matrix_by_hand():
    assert (rm.hit_matrix(RECOMMENDED, RELEVANT) == HITS).all()
    assert rm.hit_matrix(RECOMMENDED, RELEVANT).dtype == np.bool_


def test_hit_matrix_takes_arbitrary_raw_ids_and_never_hits_pad():
    recommended = np.array([[2**40, -5, PAD], [PAD, PAD, PAD]], dtype=np.int64)
    relevant = [np.array([-5, 7, PAD]), np.array([PAD])]
    expected = np.array([[False, True, False], [False, False, False]])
    assert (rm.hit_matrix(recommended, relevant) == expected).all()


def test_hit_matrix_without_any_relevant_items_is_all_false():
    hits = rm.hit_matrix(RECOMMENDED[:2], [np.array([], dtype=np.int64), np.array([PAD])])
    assert hits.shape == (2, 3) and not hits.any()


def test_hit_based_metrics_by_hand():
    assert rm.precision_at_k(HITS) == pytest.approx(EXPECTED["precision"], abs=1e-12)
    assert rm.recall_at_k(HITS, NUM_RELEVANT) == pytest.approx(EXPECTED["recall"], abs=1e-12)
    assert rm.ndcg_at_k(HITS, NUM_RELEVANT) == pytest.approx(EXPECTED["ndcg"], abs=1e-12)
    assert rm.map_at_k(HITS, NUM_RELEVANT) == pytest.approx(EXPECTED["map"], abs=1e-12)
    assert rm.hit_rate_at_k(HITS) == pytest.approx(EXPECTED["hit_rate"], abs=1e-12)


def test_single_user_ndcg_and_map_by_hand():
    # user A alone: DCG = 1/log2(3) + 1/log2(4), IDCG = 1 + 1/log2(3) + 1/log2(4)
    hits, count = HITS[:1], NUM_RELEVANT[:1]
    assert rm.ndcg_at_k(hits, count) == pytest.approx((L3 + 0.5) / (1 + L3 + 0.5), abs=1e-12)
    # AP = (1/2 + 2/3) / 3
    assert rm.map_at_k(hits, count) == pytest.approx((1 / 2 + 2 / 3) / 3, abs=1e-12)


def test_catalogue_metrics_by_hand():
    assert rm.catalog_coverage(RECOMMENDED, 10) == pytest.approx(EXPECTED["coverage"])
    assert rm.catalog_coverage(np.full((2, 3), PAD), 10) == 0.0  # nothing recommended
    novelty = rm.novelty(RECOMMENDED, ITEM_IDS, POPULARITY, NUM_USERS)
    assert novelty == pytest.approx(EXPECTED["novelty"], abs=1e-12)
    popularity = rm.mean_popularity(RECOMMENDED, ITEM_IDS, POPULARITY)
    assert popularity == pytest.approx(EXPECTED["mean_popularity"], abs=1e-12)
    diversity = rm.intra_list_diversity(RECOMMENDED, ITEM_IDS, VECTORS)
    assert diversity == pytest.approx(EXPECTED["diversity"], abs=1e-12)


def test_diversity_with_opposite_embeddings_exceeds_one():
    # cos([1, 0], [-2, 0]) = -1 -> 1 - (-1) = 2
    item_ids = np.array([10, 20])
    vectors = np.array([[1.0, 0.0], [-2.0, 0.0]])
    assert rm.intra_list_diversity(np.array([[20, 10]]), item_ids, vectors) == pytest.approx(2.0)


def test_ranking_metrics_names_keys_with_k():
    results = rm.ranking_metrics(
        RECOMMENDED,
        RELEVANT,
        3,
        num_items=10,
        item_ids=ITEM_IDS,
        item_popularity=POPULARITY,
        num_users=NUM_USERS,
        item_vectors=VECTORS,
        genre_vectors=VECTORS,
    )
    expected = {f"{name}@3": value for name, value in EXPECTED.items()}
    expected["genre_diversity@3"] = EXPECTED["diversity"]
    assert results.keys() == expected.keys()
    for name, value in expected.items():
        assert results[name] == pytest.approx(value, abs=1e-12), name
    without_vectors = rm.ranking_metrics(
        RECOMMENDED,
        RELEVANT,
        3,
        num_items=10,
        item_ids=ITEM_IDS,
        item_popularity=POPULARITY,
        num_users=NUM_USERS,
    )
    assert "diversity@3" not in without_vectors and "genre_diversity@3" not in without_vectors


def test_ranking_metrics_refuses_wrong_k():
    with pytest.raises(ValueError, match="expected k = 10"):
        rm.ranking_metrics(
            RECOMMENDED,
            RELEVANT,
            10,
            num_items=10,
            item_ids=ITEM_IDS,
            item_popularity=POPULARITY,
            num_users=NUM_USERS,
        )


def test_empty_input_is_refused():
    no_lists = np.empty((0, 3), dtype=np.int64)
    no_hits = np.empty((0, 3), dtype=bool)
    no_counts = np.empty(0, dtype=np.int64)
    calls = [
        lambda: rm.hit_matrix(no_lists, []),
        lambda: rm.hit_matrix(np.array([], dtype=np.int64), []),
        lambda: rm.precision_at_k(no_hits),
        lambda: rm.recall_at_k(no_hits, no_counts),
        lambda: rm.ndcg_at_k(no_hits, no_counts),
        lambda: rm.map_at_k(no_hits, no_counts),
        lambda: rm.hit_rate_at_k(no_hits),
        lambda: rm.catalog_coverage(no_lists, 10),
        lambda: rm.novelty(no_lists, ITEM_IDS, POPULARITY, NUM_USERS),
        lambda: rm.mean_popularity(no_lists, ITEM_IDS, POPULARITY),
        lambda: rm.intra_list_diversity(no_lists, ITEM_IDS, VECTORS),
        lambda: rm.ranking_metrics(
            no_lists,
            [],
            3,
            num_items=10,
            item_ids=ITEM_IDS,
            item_popularity=POPULARITY,
            num_users=NUM_USERS,
        ),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="no users"):
            call()


def test_users_without_relevant_items_are_refused():
    counts = np.array([3, 1, 0, 5])
    for metric in (rm.recall_at_k, rm.ndcg_at_k, rm.map_at_k):
        with pytest.raises(ValueError, match="user row 2 has no relevant items"):
            metric(HITS, counts)
    relevant = [*RELEVANT[:2], np.array([], dtype=np.int64), RELEVANT[3]]
    with pytest.raises(ValueError, match="no relevant items"):
        rm.ranking_metrics(
            RECOMMENDED,
            relevant,
            3,
            num_items=10,
            item_ids=ITEM_IDS,
            item_popularity=POPULARITY,
            num_users=NUM_USERS,
        )


def test_inconsistent_input_is_refused():
    with pytest.raises(ValueError, match="item id 42 is not in item_ids"):
        rm.novelty(np.array([[1, 42]]), ITEM_IDS, POPULARITY, NUM_USERS)
    with pytest.raises(ValueError, match="item id 42 is not in item_ids"):
        rm.mean_popularity(np.array([[42, PAD]]), ITEM_IDS, POPULARITY)
    with pytest.raises(ValueError, match="item id 0 is not in item_ids"):
        rm.intra_list_diversity(np.array([[1, 0]]), ITEM_IDS, VECTORS)
    with pytest.raises(ValueError, match="item id 11 is not in item_ids"):
        rm.intra_list_diversity(np.array([[1, 11]]), ITEM_IDS, VECTORS)
    with pytest.raises(ValueError, match="recommends item 2 twice"):
        rm.hit_matrix(np.array([[2, 1, 2]]), [np.array([1])])
    with pytest.raises(ValueError, match="relevant has 1 users"):
        rm.hit_matrix(RECOMMENDED, RELEVANT[:1])
    with pytest.raises(ValueError, match="more hits than relevant"):
        rm.recall_at_k(HITS, np.array([1, 1, 2, 1]))
    with pytest.raises(ValueError, match="sorted"):
        rm.novelty(RECOMMENDED, ITEM_IDS[::-1], POPULARITY, NUM_USERS)
    with pytest.raises(ValueError, match="exceeds num_users"):
        rm.novelty(RECOMMENDED, ITEM_IDS, POPULARITY, 4)
    with pytest.raises(ValueError, match="every slot is PAD"):
        rm.mean_popularity(np.full((2, 3), PAD), ITEM_IDS, POPULARITY)
    with pytest.raises(ValueError, match="two or more"):
        rm.intra_list_diversity(RECOMMENDED[3:], ITEM_IDS, VECTORS)
    with pytest.raises(ValueError, match="k >= 1"):
        rm.precision_at_k(np.zeros((2, 0), dtype=bool))


# --- cross-check against a naive pure-Python implementation of the same formulas ---


def naive_metrics(lists, relevant, k, num_items, catalogue, num_users, vectors):
    """lists: per user, the non-PAD ids best first; relevant: per user, a set of ids;
    catalogue: {id: popularity}; vectors: {name: {id: tuple}}. None where undefined."""
    precision, recall, ndcg, average_precision, hit_any = [], [], [], [], []
    for items, rel in zip(lists, relevant, strict=True):
        hits = [item in rel for item in items]
        precision.append(sum(hits) / k)
        recall.append(sum(hits) / len(rel))
        dcg = sum(1 / math.log2(j + 2) for j, hit in enumerate(hits) if hit)
        idcg = sum(1 / math.log2(j + 2) for j in range(min(len(rel), k)))
        ndcg.append(dcg / idcg)
        total, found = 0.0, 0
        for j, hit in enumerate(hits):
            if hit:
                found += 1
                total += found / (j + 1)
        average_precision.append(total / min(len(rel), k))
        hit_any.append(1.0 if any(hits) else 0.0)
    slots = [item for items in lists for item in items]
    results = {
        "precision": sum(precision) / len(lists),
        "recall": sum(recall) / len(lists),
        "ndcg": sum(ndcg) / len(lists),
        "map": sum(average_precision) / len(lists),
        "hit_rate": sum(hit_any) / len(lists),
        "coverage": len(set(slots)) / num_items,
        "novelty": None,
        "mean_popularity": None,
    }
    if slots:
        information = [-math.log2(max(catalogue[i], 1) / num_users) for i in slots]
        results["novelty"] = sum(information) / len(slots)
        results["mean_popularity"] = sum(catalogue[i] for i in slots) / len(slots)
    for name, by_id in vectors.items():
        per_user = []
        for items in lists:
            if len(items) < 2:
                continue
            similarities = []
            for a in range(len(items)):
                for b in range(a + 1, len(items)):
                    x, y = by_id[items[a]], by_id[items[b]]
                    nx = math.sqrt(sum(v * v for v in x))
                    ny = math.sqrt(sum(v * v for v in y))
                    dot = sum(p * q for p, q in zip(x, y, strict=True))
                    similarities.append(0.0 if nx == 0 or ny == 0 else dot / (nx * ny))
            per_user.append(1 - sum(similarities) / len(similarities))
        results[name] = sum(per_user) / len(per_user) if per_user else None
    return results


@st.composite
def ranking_cases(draw):
    k = draw(st.integers(1, 6))
    raw_id = st.integers(-(2**62), 2**62).filter(lambda x: x != PAD)
    catalogue_ids = draw(st.lists(raw_id, min_size=1, max_size=12, unique=True))
    outside_ids = draw(st.lists(raw_id, max_size=3))  # held-out items unknown to the catalogue
    num_users = draw(st.integers(1, 20))
    popularity = {i: draw(st.integers(0, num_users)) for i in catalogue_ids}
    dims = draw(st.integers(1, 3))
    embedding = st.tuples(*[st.integers(-2, 2).map(float)] * dims)
    genres = st.tuples(*[st.sampled_from([0.0, 1.0])] * 3)
    vectors = {
        "diversity": {i: draw(embedding) for i in catalogue_ids},
        "genre_diversity": {i: draw(genres) for i in catalogue_ids},
    }
    users = draw(st.integers(1, 8))
    lists, relevant = [], []
    for _ in range(users):
        length = draw(st.integers(0, min(k, len(catalogue_ids))))
        lists.append(draw(st.permutations(catalogue_ids))[:length])
        pool = sorted(set(catalogue_ids) | set(outside_ids))
        # unsorted, with repeats and PAD (ignored), as callers may pass them
        drawn = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=8))
        relevant.append(drawn + draw(st.lists(st.just(PAD), max_size=1)))
    return k, catalogue_ids, popularity, num_users, vectors, lists, relevant


@settings(max_examples=100, deadline=None)
@given(ranking_cases())
def test_agrees_with_naive_implementation(case):
    k, catalogue_ids, popularity, num_users, vectors, lists, relevant_lists = case
    relevant = [set(rel) - {PAD} for rel in relevant_lists]
    recommended = np.full((len(lists), k), PAD, dtype=np.int64)
    for row, items in enumerate(lists):
        recommended[row, : len(items)] = items
    item_ids = np.array(sorted(catalogue_ids), dtype=np.int64)
    item_popularity = np.array([popularity[i] for i in item_ids])
    arrays = {name: np.array([by_id[i] for i in item_ids]) for name, by_id in vectors.items()}
    relevant_arrays = [np.array(rel, dtype=np.int64) for rel in relevant_lists]
    num_items = len(catalogue_ids) + 2

    hits = rm.hit_matrix(recommended, relevant_arrays)
    for row, items in enumerate(lists):
        expected_row = [item in relevant[row] for item in items] + [False] * (k - len(items))
        assert hits[row].tolist() == expected_row

    expected = naive_metrics(lists, relevant, k, num_items, popularity, num_users, vectors)
    num_relevant = np.array([len(rel) for rel in relevant])
    actual = {
        "precision": rm.precision_at_k(hits),
        "recall": rm.recall_at_k(hits, num_relevant),
        "ndcg": rm.ndcg_at_k(hits, num_relevant),
        "map": rm.map_at_k(hits, num_relevant),
        "hit_rate": rm.hit_rate_at_k(hits),
        "coverage": rm.catalog_coverage(recommended, num_items),
    }
    if expected["novelty"] is None:
        with pytest.raises(ValueError, match="every slot is PAD"):
            rm.novelty(recommended, item_ids, item_popularity, num_users)
        with pytest.raises(ValueError, match="every slot is PAD"):
            rm.mean_popularity(recommended, item_ids, item_popularity)
    else:
        actual["novelty"] = rm.novelty(recommended, item_ids, item_popularity, num_users)
        actual["mean_popularity"] = rm.mean_popularity(recommended, item_ids, item_popularity)
    for name, vector_array in arrays.items():
        if expected[name] is None:
            with pytest.raises(ValueError, match="two or more"):
                rm.intra_list_diversity(recommended, item_ids, vector_array)
        else:
            actual[name] = rm.intra_list_diversity(recommended, item_ids, vector_array)
    for name, value in actual.items():
        assert value == pytest.approx(expected[name], abs=1e-9, rel=0), name

    if expected["novelty"] is not None and expected["diversity"] is not None:
        combined = rm.ranking_metrics(
            recommended,
            relevant_arrays,
            k,
            num_items=num_items,
            item_ids=item_ids,
            item_popularity=item_popularity,
            num_users=num_users,
            item_vectors=arrays["diversity"],
            genre_vectors=arrays["genre_diversity"],
        )
        assert combined == pytest.approx({f"{n}@{k}": v for n, v in expected.items()}, abs=1e-9)


def test_lists_of_one_item_have_no_diversity_but_every_other_metric():
    recommended = np.array([[1], [2]], dtype=np.int64)
    item_ids = np.array([1, 2, 3], dtype=np.int64)
    values = rm.ranking_metrics(
        recommended,
        [np.array([1]), np.array([3])],
        1,
        num_items=3,
        item_ids=item_ids,
        item_popularity=np.array([2, 1, 1]),
        num_users=2,
        item_vectors=np.eye(3),
        genre_vectors=np.eye(3),
    )
    assert values["precision@1"] == 0.5 and values["hit_rate@1"] == 0.5
    assert "diversity@1" not in values and "genre_diversity@1" not in values
