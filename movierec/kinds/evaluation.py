"""Judges a version as its users do: the top-k lists Recommend returns to held-out users.

For every user with at least one relevant held-out rating (>= the threshold, by default
the catalogue's: movierec.store.catalog.relevance_threshold; with implicit feedback every held-out
interaction is relevant), the
candidates are every item the user did not rate in training; the list is the k best by
the version's scores (users absent from training get the popularity fallback, as
Recommend gives them). Metrics are movierec.metrics.ranking over those lists.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from movierec.kinds.base import RATING, Scorer
from movierec.metrics import ranking as ranking_metrics
from movierec.metrics import rating as rating_metrics
from movierec.store.catalog import (
    Catalog,
    popular_well_rated_scores,
    relevance_threshold,
)
from movierec.store.vocab import OOV_INDEX, IdVocabulary

ScoreFunction = Callable[[np.ndarray], np.ndarray]
"""Maps inner user indices [n] to raw scores of every item row, float [n, I + 1]."""

_UNKNOWN_ITEM = -2
VALIDATION_K = 10
"""The cut-off of the NDCG that retrieval training is validated and stopped by."""
_BATCH_USERS = 256
"""Users scored at a time: 256 rows of 62,000 items are 64 MB, where 1,024 rows held 250 MB
twice over at ML-25M size (timings: bench/RESULTS.md, "Measurements behind choices in the
code")."""


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k largest finite scores, best first; ties by index.

    Args:
        scores: float [n, m]; -inf marks excluded entries.
        k: List length, >= 1.

    Returns:
        int64 [n, k], ranking_metrics.PAD where a row has fewer than k finite scores.
    """
    n, m = scores.shape
    take = min(k, m)
    result = np.full((n, k), ranking_metrics.PAD, dtype=np.int64)
    # A few rows at a time: argpartition writes an int64 index per score, and 16 rows of
    # it stay in cache where 2,048 rows of 62,000 items (1 GB) do not (bench/RESULTS.md).
    for start in range(0, n, _TOP_K_ROWS):
        block = scores[start : start + _TOP_K_ROWS]
        if take < m:
            part = np.argpartition(block, m - take, axis=1)[:, m - take :]
        else:
            part = np.tile(np.arange(m), (len(block), 1))
        part_scores = np.take_along_axis(block, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        best = np.take_along_axis(part, order, axis=1)
        best_scores = np.take_along_axis(part_scores, order, axis=1)
        result[start : start + len(block), :take] = np.where(
            np.isfinite(best_scores), best, ranking_metrics.PAD
        )
    return result


_TOP_K_ROWS = 16


def mask_seen(scores: np.ndarray, user_index: np.ndarray, catalog: Catalog) -> None:
    """Sets to -inf, in place, each row's items its user rated in training and the OOV
    column. scores: [n, I + 1] for inner user indices [n] (OOV users have none seen).
    """
    starts = catalog.seen_indptr[user_index]
    counts = catalog.seen_indptr[user_index + 1] - starts
    rows = np.repeat(np.arange(len(user_index)), counts)
    first_of_row = np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.arange(counts.sum()) - first_of_row + np.repeat(starts, counts)
    columns = catalog.seen_items[positions]
    scores[rows, columns] = -np.inf
    scores[:, OOV_INDEX] = -np.inf


def recommend_lists(
    score_fn: ScoreFunction, catalog: Catalog, user_index: np.ndarray, k: int
) -> np.ndarray:
    """Top-k inner item indices [n, k] (PAD-filled) for inner user indices [n], excluding
    each user's training items; OOV users (index 0) get the popularity fallback.
    """
    result = np.full((len(user_index), k), ranking_metrics.PAD, dtype=np.int64)
    known = user_index != OOV_INDEX
    rows = np.flatnonzero(known)
    for start in range(0, len(rows), _BATCH_USERS):
        batch = rows[start : start + _BATCH_USERS]
        scores = np.array(score_fn(user_index[batch]), dtype=np.float32)
        mask_seen(scores, user_index[batch], catalog)
        result[batch] = top_k_rows(scores, k)
    if (~known).any():
        fallback = top_k_rows(popular_well_rated_scores(catalog)[None, :], k)
        result[~known] = fallback
    return result


def relevant_items(
    catalog: Catalog, threshold: float | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Held-out users with at least one relevant rating (at or above `threshold`; None:
    the catalogue's relevance_threshold), and their relevant items.

    Returns:
        (raw user ids [n] sorted, n arrays of inner item indices; items unknown to the
        catalogue appear as distinct ids <= -2, which no list can contain but recall still
        counts).
    """
    if threshold is None:
        threshold = relevance_threshold(catalog)
    keep = catalog.test_ratings >= threshold
    users = catalog.test_user_ids[keep]
    item_index, known = IdVocabulary(catalog.item_ids).lookup(catalog.test_item_ids[keep])
    # Each unknown item gets its own negative id: no list holds it, recall counts it.
    item_index = np.where(known, item_index, _UNKNOWN_ITEM - np.arange(len(item_index)))
    order = np.argsort(users, kind="stable")
    users, item_index = users[order], item_index[order]
    unique, starts = np.unique(users, return_index=True)
    return unique, np.split(item_index, starts[1:]) if len(unique) else []


def evaluate_ranking(
    score_fn: ScoreFunction,
    catalog: Catalog,
    k: int = 10,
    threshold: float | None = None,
    item_vectors: np.ndarray | None = None,
) -> dict[str, float]:
    """Ranking and beyond-accuracy metrics at k of the lists a version recommends to the
    held-out users of its catalogue.

    Args:
        score_fn: Raw scores for inner user indices.
        catalog: Seen items, held-out ratings, popularity and genres.
        k: List length.
        threshold: Held-out ratings at or above it are relevant; None: the catalogue's
            relevance_threshold.
        item_vectors: float [I + 1, D] for the embedding form of diversity, or None.

    Returns:
        movierec.metrics.ranking.ranking_metrics names, e.g. "ndcg@10".

    Raises:
        ValueError: no held-out user has a relevant rating.
    """
    if threshold is None:
        threshold = relevance_threshold(catalog)
    users, relevant = relevant_items(catalog, threshold)
    if not len(users):
        raise ValueError(f"no held-out rating reaches the relevance threshold {threshold}")
    user_index, _ = IdVocabulary(catalog.user_ids).lookup(users)
    lists = recommend_lists(score_fn, catalog, user_index, k)
    item_rows = np.arange(1, catalog.num_items + 1, dtype=np.int64)
    return ranking_metrics.ranking_metrics(
        lists,
        relevant,
        k,
        num_items=catalog.num_items,
        item_ids=item_rows,
        item_popularity=catalog.popularity[1:],
        num_users=catalog.num_users,
        item_vectors=None if item_vectors is None else item_vectors[1:],
        genre_vectors=catalog.item_genre_flags.astype(np.float32),
    )


def held_out_predictions(scorer: Scorer) -> np.ndarray:
    """A version's clipped predictions of its held-out ratings, float32 [T], each in the
    context of its own time where the catalogue keeps it; ids unseen in training use the
    zero OOV rows.
    """
    catalog = scorer.catalog
    users, _ = IdVocabulary(catalog.user_ids).lookup(catalog.test_user_ids)
    items, _ = IdVocabulary(catalog.item_ids).lookup(catalog.test_item_ids)
    times = catalog.test_timestamps if len(catalog.test_timestamps) else None
    return scorer.pair_scores(scorer.user_queries(users, times), items)


def version_metrics(
    scorer: Scorer,
    k: int = 10,
    threshold: float | None = None,
    score_fn: ScoreFunction | None = None,
) -> dict[str, float]:
    """Everything a version is judged by on its held-out split: the ranking metrics at k of
    the lists Recommend gives held-out users and, for rating versions, RMSE and MAE.
    `score_fn` scores users as Recommend does when that is not the scorer's own scores
    (a two-stage version: movierec.kinds.two_stage.score_function).
    """
    values = evaluate_ranking(
        score_fn or (lambda users: scorer.scores(scorer.queries[users])),
        scorer.catalog,
        k,
        threshold,
        item_vectors=scorer.item_vectors,
    )
    if scorer.objective == RATING:
        values.update(
            rating_metrics.accuracy_metrics(
                scorer.catalog.test_ratings, held_out_predictions(scorer)
            )
        )
    return values
