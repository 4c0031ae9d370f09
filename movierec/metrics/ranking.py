"""Top-k ranking metrics as vectorised numpy functions; each refuses empty input."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PAD = -1  # marks an empty slot in a recommendation list (a list shorter than k)


def _no_users() -> ValueError:
    return ValueError("cannot compute a metric over no users")


def _checked_recommended(recommended: np.ndarray) -> np.ndarray:
    """Recommended ids as int64 [U, k] with U >= 1 and k >= 1, else ValueError."""
    recommended = np.asarray(recommended)
    if recommended.size == 0 and (recommended.ndim < 2 or recommended.shape[0] == 0):
        raise _no_users()
    if recommended.ndim != 2:
        raise ValueError(f"recommended must be 2-D [users, k], got shape {recommended.shape}")
    if recommended.shape[1] == 0:
        raise ValueError("recommendation lists must have k >= 1 slots")
    if not np.issubdtype(recommended.dtype, np.integer):
        raise ValueError(f"recommended must hold integer item ids, got dtype {recommended.dtype}")
    return recommended.astype(np.int64, copy=False)


def _checked_hits(hits: np.ndarray) -> np.ndarray:
    """Hits as bool [U, k] with U >= 1 and k >= 1, else ValueError."""
    hits = np.asarray(hits)
    if hits.size == 0 and (hits.ndim < 2 or hits.shape[0] == 0):
        raise _no_users()
    if hits.ndim != 2:
        raise ValueError(f"hits must be 2-D [users, k], got shape {hits.shape}")
    if hits.shape[1] == 0:
        raise ValueError("hits must have k >= 1 columns")
    if hits.dtype != np.bool_:
        if not np.isin(hits, (0, 1)).all():
            raise ValueError("hits must be boolean (or 0/1)")
        hits = hits.astype(bool)
    return hits


def _checked_num_relevant(hits: np.ndarray, num_relevant: np.ndarray) -> np.ndarray:
    """float64 [U] relevant-item counts, each >= 1 and >= the user's hits, else ValueError."""
    num_relevant = np.asarray(num_relevant)
    if num_relevant.shape != (hits.shape[0],):
        raise ValueError(
            f"num_relevant must have shape ({hits.shape[0]},), got {num_relevant.shape}"
        )
    if not np.issubdtype(num_relevant.dtype, np.integer):
        raise ValueError(f"num_relevant must hold integer counts, got dtype {num_relevant.dtype}")
    if (num_relevant < 1).any():
        user = int(np.flatnonzero(num_relevant < 1)[0])
        raise ValueError(f"user row {user} has no relevant items; drop such users first")
    if (hits.sum(axis=1) > num_relevant).any():
        user = int(np.flatnonzero(hits.sum(axis=1) > num_relevant)[0])
        raise ValueError(f"user row {user} has more hits than relevant items")
    return num_relevant.astype(np.float64)


def _discounts(k: int) -> np.ndarray:
    """1 / log2(j + 2) for ranks j = 0..k-1, shape [k]."""
    return 1.0 / np.log2(np.arange(k, dtype=np.float64) + 2.0)


def _checked_catalogue(item_ids: np.ndarray, name: str, aligned: np.ndarray) -> np.ndarray:
    """item_ids as strictly increasing int64 [I] with len(aligned) == I, else ValueError."""
    item_ids = np.asarray(item_ids)
    if item_ids.ndim != 1 or not np.issubdtype(item_ids.dtype, np.integer):
        raise ValueError(
            f"item_ids must be a 1-D integer array, got {item_ids.dtype} {item_ids.shape}"
        )
    if len(item_ids) == 0:
        raise ValueError("item_ids is empty")
    if (np.diff(item_ids) <= 0).any():
        raise ValueError("item_ids must be sorted and free of duplicates")
    if len(aligned) != len(item_ids):
        raise ValueError(f"{name} has {len(aligned)} rows but item_ids has {len(item_ids)}")
    return item_ids.astype(np.int64, copy=False)


def _catalogue_positions(recommended: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
    """Positions in `item_ids` of the non-PAD entries of `recommended`, shape [U, k]; PAD slots
    get position 0 (callers mask them). Raises ValueError naming an id not in `item_ids`."""
    present = recommended != PAD
    positions = np.searchsorted(item_ids, recommended)
    clipped = np.minimum(positions, len(item_ids) - 1)
    unknown = present & (item_ids[clipped] != recommended)
    if unknown.any():
        raise ValueError(f"item id {int(recommended[unknown][0])} is not in item_ids")
    return np.where(present, clipped, 0)


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-D array (a plain sort, faster here than np.unique)."""
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _hits_and_counts(
    recommended: np.ndarray, relevant: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Hits [U, k] (see hit_matrix) and the distinct non-PAD relevant ids per user, int64 [U]."""
    recommended = _checked_recommended(recommended)
    num_users, k = recommended.shape
    if len(relevant) != num_users:
        raise ValueError(f"relevant has {len(relevant)} users but recommended has {num_users}")
    ordered = np.sort(recommended, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != PAD)
    if repeated.any():
        user, slot = (int(x[0]) for x in np.nonzero(repeated))
        raise ValueError(f"user row {user} recommends item {int(ordered[user, slot])} twice")
    rel_arrays = [np.asarray(items, dtype=np.int64).ravel() for items in relevant]
    lengths = np.fromiter((len(items) for items in rel_arrays), dtype=np.int64, count=num_users)
    rel_items = np.concatenate(rel_arrays)
    rel_users = np.repeat(np.arange(num_users, dtype=np.int64), lengths)
    rel_users, rel_items = rel_users[rel_items != PAD], rel_items[rel_items != PAD]
    if len(rel_items) == 0:
        return np.zeros((num_users, k), dtype=bool), np.zeros(num_users, dtype=np.int64)
    # Dense codes of the relevant ids, so that (user, item) packs into one int64 key.
    vocabulary = _sorted_distinct(rel_items)
    size = len(vocabulary)
    rel_keys = _sorted_distinct(rel_users * size + np.searchsorted(vocabulary, rel_items))
    rec_codes = np.minimum(np.searchsorted(vocabulary, recommended), size - 1)
    known = (vocabulary[rec_codes] == recommended) & (recommended != PAD)
    rec_keys = np.arange(num_users, dtype=np.int64)[:, None] * size + rec_codes
    found = np.minimum(np.searchsorted(rel_keys, rec_keys), len(rel_keys) - 1)
    hits = known & (rel_keys[found] == rec_keys)
    counts = np.bincount(rel_keys // size, minlength=num_users).astype(np.int64)
    return hits, counts


def hit_matrix(recommended: np.ndarray, relevant: Sequence[np.ndarray]) -> np.ndarray:
    """Marks which recommended items are relevant.

    hit[u, j] = recommended[u, j] != PAD and recommended[u, j] in relevant[u].

    Args:
        recommended: int64 item ids per user, best first, PAD for empty slots, shape [U, k].
            A row may not repeat an item.
        relevant: U arrays of the relevant item ids of each user (held-out items rated >=
            the threshold), any lengths; PAD entries in them are ignored.

    Returns:
        bool hits, shape [U, k]; PAD is never a hit.

    Raises:
        ValueError: no users, k == 0, non-integer ids, a repeated item in a row, or
            len(relevant) != U.
    """
    return _hits_and_counts(recommended, relevant)[0]


def precision_at_k(hits: np.ndarray) -> float:
    """Mean precision at k.

    precision@k = mean_u (sum_j hit[u, j]) / k, with k = hits.shape[1] even for lists
    shorter than k.

    Args:
        hits: bool hits from hit_matrix, shape [U, k].

    Returns:
        Precision at k in [0, 1].

    Raises:
        ValueError: no users, k == 0, or non-boolean hits.
    """
    hits = _checked_hits(hits)
    return float(np.mean(hits.sum(axis=1) / hits.shape[1]))


def recall_at_k(hits: np.ndarray, num_relevant: np.ndarray) -> float:
    """Mean recall at k.

    recall@k = mean_u (sum_j hit[u, j]) / |rel_u|.

    Args:
        hits: bool hits from hit_matrix, shape [U, k].
        num_relevant: |rel_u|, the number of relevant items of each user, int shape [U].

    Returns:
        Recall at k in [0, 1].

    Raises:
        ValueError: no users, k == 0, mismatched shapes, a user with |rel_u| < 1, or a user
            with more hits than relevant items.
    """
    hits = _checked_hits(hits)
    counts = _checked_num_relevant(hits, num_relevant)
    return float(np.mean(hits.sum(axis=1) / counts))


def ndcg_at_k(hits: np.ndarray, num_relevant: np.ndarray) -> float:
    """Mean normalised discounted cumulative gain at k, with binary relevance.

    DCG_u = sum_j hit[u, j] / log2(j + 2) over ranks j = 0..k-1;
    IDCG_u = sum_{j < min(|rel_u|, k)} 1 / log2(j + 2);
    ndcg@k = mean_u DCG_u / IDCG_u.

    Args:
        hits: bool hits from hit_matrix, shape [U, k].
        num_relevant: |rel_u|, the number of relevant items of each user, int shape [U].

    Returns:
        NDCG at k in [0, 1].

    Raises:
        ValueError: no users, k == 0, mismatched shapes, a user with |rel_u| < 1, or a user
            with more hits than relevant items.
    """
    hits = _checked_hits(hits)
    counts = _checked_num_relevant(hits, num_relevant)
    k = hits.shape[1]
    discounts = _discounts(k)
    dcg = hits @ discounts
    ideal_length = np.minimum(counts, k).astype(np.int64)
    idcg = np.cumsum(discounts)[ideal_length - 1]
    return float(np.mean(dcg / idcg))


def map_at_k(hits: np.ndarray, num_relevant: np.ndarray) -> float:
    """Mean average precision at k.

    AP_u = sum_j hit[u, j] * precision_u@(j + 1) / min(|rel_u|, k), where
    precision_u@(j + 1) = (sum_{i <= j} hit[u, i]) / (j + 1); map@k = mean_u AP_u.

    Args:
        hits: bool hits from hit_matrix, shape [U, k].
        num_relevant: |rel_u|, the number of relevant items of each user, int shape [U].

    Returns:
        MAP at k in [0, 1].

    Raises:
        ValueError: no users, k == 0, mismatched shapes, a user with |rel_u| < 1, or a user
            with more hits than relevant items.
    """
    hits = _checked_hits(hits)
    counts = _checked_num_relevant(hits, num_relevant)
    k = hits.shape[1]
    precisions = np.cumsum(hits, axis=1) / np.arange(1, k + 1, dtype=np.float64)
    average_precision = (precisions * hits).sum(axis=1) / np.minimum(counts, k)
    return float(np.mean(average_precision))


def hit_rate_at_k(hits: np.ndarray) -> float:
    """Share of users with at least one hit.

    hit_rate@k = mean_u [sum_j hit[u, j] >= 1].

    Args:
        hits: bool hits from hit_matrix, shape [U, k].

    Returns:
        Hit rate at k in [0, 1].

    Raises:
        ValueError: no users, k == 0, or non-boolean hits.
    """
    hits = _checked_hits(hits)
    return float(np.mean(hits.any(axis=1)))


def catalog_coverage(recommended: np.ndarray, num_items: int) -> float:
    """Share of the catalogue recommended to anyone.

    coverage = |{recommended[u, j] != PAD}| / num_items (distinct ids).

    Args:
        recommended: int64 item ids per user, PAD for empty slots, shape [U, k].
        num_items: Size of the catalogue, >= 1.

    Returns:
        Catalogue coverage in [0, 1].

    Raises:
        ValueError: no users, k == 0, num_items < 1, or more distinct ids than num_items.
    """
    recommended = _checked_recommended(recommended)
    if num_items < 1:
        raise ValueError(f"num_items must be >= 1, got {num_items}")
    distinct = len(_sorted_distinct(recommended[recommended != PAD]))
    if distinct > num_items:
        raise ValueError(f"{distinct} distinct items recommended from a catalogue of {num_items}")
    return distinct / num_items


def _checked_popularity(item_popularity: np.ndarray) -> np.ndarray:
    """float64 [I] popularity, each >= 0, else ValueError."""
    item_popularity = np.asarray(item_popularity)
    if item_popularity.ndim != 1:
        raise ValueError(f"item_popularity must be 1-D, got shape {item_popularity.shape}")
    if (item_popularity < 0).any():
        raise ValueError("item_popularity must be >= 0")
    return item_popularity.astype(np.float64)


def _present_popularity(
    recommended: np.ndarray, item_ids: np.ndarray, item_popularity: np.ndarray
) -> np.ndarray:
    """Popularity of each non-PAD recommended slot, shape [n] with n >= 1, else ValueError."""
    recommended = _checked_recommended(recommended)
    popularity = _checked_popularity(item_popularity)
    item_ids = _checked_catalogue(item_ids, "item_popularity", popularity)
    positions = _catalogue_positions(recommended, item_ids)
    present = recommended != PAD
    if not present.any():
        raise ValueError("no recommended items (every slot is PAD)")
    return popularity[positions[present]]


def novelty(
    recommended: np.ndarray, item_ids: np.ndarray, item_popularity: np.ndarray, num_users: int
) -> float:
    """Mean self-information of the recommended items (Microsoft Recommenders' novelty).

    novelty = mean over non-PAD slots (u, j) of -log2(p_i), i = recommended[u, j],
    p_i = item_popularity[i] / num_users, and p_i = 1 / num_users when the popularity is 0.

    Args:
        recommended: int64 raw item ids per user, PAD for empty slots, shape [U, k].
        item_ids: Sorted raw ids of the catalogue, int64 shape [I].
        item_popularity: Number of training users who rated each item, aligned with
            `item_ids`, shape [I].
        num_users: Number of training users, >= every popularity.

    Returns:
        Novelty in bits, >= 0.

    Raises:
        ValueError: no users, k == 0, every slot PAD, an id not in `item_ids` (named),
            unsorted or misaligned `item_ids`, or a popularity outside [0, num_users].
    """
    if num_users < 1:
        raise ValueError(f"num_users must be >= 1, got {num_users}")
    popularity = _present_popularity(recommended, item_ids, item_popularity)
    if (np.asarray(item_popularity) > num_users).any():
        raise ValueError(f"item_popularity exceeds num_users ({num_users})")
    popularity = np.where(popularity > 0, popularity, 1.0)
    return float(np.mean(-np.log2(popularity / num_users)))


def mean_popularity(
    recommended: np.ndarray, item_ids: np.ndarray, item_popularity: np.ndarray
) -> float:
    """Mean training popularity of the recommended items (the notebooks' novelty form).

    mean_popularity = mean over non-PAD slots (u, j) of item_popularity[recommended[u, j]].

    Args:
        recommended: int64 raw item ids per user, PAD for empty slots, shape [U, k].
        item_ids: Sorted raw ids of the catalogue, int64 shape [I].
        item_popularity: Training rating count of each item, aligned with `item_ids`,
            shape [I].

    Returns:
        Mean popularity, >= 0 (lower means less popular, more novel recommendations).

    Raises:
        ValueError: no users, k == 0, every slot PAD, an id not in `item_ids` (named),
            unsorted or misaligned `item_ids`, or a negative popularity.
    """
    return float(np.mean(_present_popularity(recommended, item_ids, item_popularity)))


def intra_list_diversity(
    recommended: np.ndarray, item_ids: np.ndarray, item_vectors: np.ndarray
) -> float:
    """Mean intra-list diversity: one minus the mean pairwise cosine similarity of each list.

    For user u with non-PAD items L_u, |L_u| = n_u >= 2:
    ILD_u = 1 - (sum_{a < b in L_u} cos(v_a, v_b)) / (n_u (n_u - 1) / 2), where
    cos(x, y) = x . y / (|x| |y|) and 0 when either vector is zero;
    diversity = mean of ILD_u over users with n_u >= 2 (others are skipped).

    Args:
        recommended: int64 raw item ids per user, PAD for empty slots, shape [U, k].
        item_ids: Sorted raw ids of the catalogue, int64 shape [I].
        item_vectors: Item embeddings or genre one-hot vectors aligned with `item_ids`,
            shape [I, D].

    Returns:
        Diversity in [0, 2] (in [0, 1] for non-negative vectors such as genres).

    Raises:
        ValueError: no users, k == 0, no user with two or more items, an id not in
            `item_ids` (named), unsorted or misaligned `item_ids`, or non-2-D vectors.
    """
    recommended = _checked_recommended(recommended)
    vectors = np.asarray(item_vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"item_vectors must be 2-D [items, dims], got shape {vectors.shape}")
    item_ids = _checked_catalogue(item_ids, "item_vectors", vectors)
    positions = _catalogue_positions(recommended, item_ids)
    present = recommended != PAD
    sizes = present.sum(axis=1)
    counted = sizes >= 2
    if not counted.any():
        raise ValueError("no user has two or more recommended items")
    positions, present, sizes = positions[counted], present[counted], sizes[counted]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    # sum_{a < b} u_a . u_b = (|sum_a u_a|^2 - sum_a |u_a|^2) / 2, built slot by slot so that
    # memory stays [U, D] rather than [U, k, D].
    total = np.zeros((len(positions), vectors.shape[1]))
    squares = np.zeros(len(positions))
    for slot in range(positions.shape[1]):
        rows = unit[positions[:, slot]] * present[:, slot, None]
        total += rows
        squares += np.einsum("ud,ud->u", rows, rows)
    pair_similarity = (np.einsum("ud,ud->u", total, total) - squares) / 2.0
    pairs = sizes * (sizes - 1) / 2.0
    return float(np.mean(1.0 - pair_similarity / pairs))


def ranking_metrics(
    recommended: np.ndarray,
    relevant: Sequence[np.ndarray],
    k: int,
    *,
    num_items: int,
    item_ids: np.ndarray,
    item_popularity: np.ndarray,
    num_users: int,
    item_vectors: np.ndarray | None = None,
    genre_vectors: np.ndarray | None = None,
) -> dict[str, float]:
    """All ranking metrics of top-k lists, keyed with the actual k, e.g. "ndcg@10".

    Keys: precision@k, recall@k, ndcg@k, map@k, hit_rate@k (from hit_matrix), coverage@k
    (catalog_coverage), novelty@k (novelty), mean_popularity@k (mean_popularity), and, when
    the vectors are given and some list holds two items or more (never at k = 1),
    diversity@k (intra_list_diversity of item_vectors) and genre_diversity@k
    (intra_list_diversity of genre_vectors). |rel_u| is the number of
    distinct non-PAD ids in relevant[u].

    Args:
        recommended: int64 raw item ids per user, best first, PAD for empty slots, shape [U, k].
        relevant: U arrays of the relevant item ids of each user; each must be non-empty.
        k: The list length; must equal recommended.shape[1].
        num_items: Size of the catalogue for coverage.
        item_ids: Sorted raw ids of the catalogue, int64 shape [I].
        item_popularity: Training popularity (users who rated each item), shape [I].
        num_users: Number of training users, for novelty.
        item_vectors: Optional item embeddings aligned with `item_ids`, shape [I, D].
        genre_vectors: Optional genre one-hot vectors aligned with `item_ids`, shape [I, G].

    Returns:
        Metric name -> value.

    Raises:
        ValueError: recommended.shape[1] != k, or any error of the metrics above.
    """
    recommended = _checked_recommended(recommended)
    if recommended.shape[1] != k:
        raise ValueError(f"recommended has {recommended.shape[1]} columns, expected k = {k}")
    hits, num_relevant = _hits_and_counts(recommended, relevant)
    results = {
        f"precision@{k}": precision_at_k(hits),
        f"recall@{k}": recall_at_k(hits, num_relevant),
        f"ndcg@{k}": ndcg_at_k(hits, num_relevant),
        f"map@{k}": map_at_k(hits, num_relevant),
        f"hit_rate@{k}": hit_rate_at_k(hits),
        f"coverage@{k}": catalog_coverage(recommended, num_items),
        f"novelty@{k}": novelty(recommended, item_ids, item_popularity, num_users),
        f"mean_popularity@{k}": mean_popularity(recommended, item_ids, item_popularity),
    }
    if not ((recommended != PAD).sum(axis=1) >= 2).any():
        return results  # diversity needs a pair of items in some list (k = 1 has none)
    if item_vectors is not None:
        results[f"diversity@{k}"] = intra_list_diversity(recommended, item_ids, item_vectors)
    if genre_vectors is not None:
        results[f"genre_diversity@{k}"] = intra_list_diversity(recommended, item_ids, genre_vectors)
    return results
