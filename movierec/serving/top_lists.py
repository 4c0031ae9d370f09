"""Top lists: the best entries of every row of a small version's score matrix (each user's
unseen items, each item's most similar items, and the popular well-rated items that users
the version cannot score get), ranked once per loaded version off the request path, so
that Recommend and SimilarItems answer by slicing a list instead of scoring and ranking
the whole catalogue on every call.

A list holds a row's best `length` entries in movierec.serving.scoring.top_k's order (score
descending, ties by index), computed by the same expressions the per-call path evaluates,
so the first k entries of a list, with any further exclusions taken out, are exactly what
the per-call path answers. A call a list cannot answer exactly (k above its length, or so
many exclusions that a full list runs short) is computed per call as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from movierec.serving.scoring import top_k
from movierec.store.vocab import OOV_INDEX

DEFAULT_LENGTH = 100
"""Entries kept per row: Recommend and SimilarItems with k up to this answer from lists."""
DEFAULT_MAX_CELLS = 30_000_000
"""Largest score matrix (rows x columns) ranked: ml-1m's 6,040 users x 3,706 items fit."""
MAX_BYTES = 64 << 20
"""Largest memory one set of lists may take."""
ENTRY_BYTES = 12
"""An int64 row index and a float32 score per entry."""
_SERIALS = itertools.count(1)


class TopLists:
    """Each row's best entries, best first; read-only.

    Args:
        rows: int64 [R, length]: inner indices of each row's best entries.
        scores: float32 [R, length]: their raw scores.
        counts: int32 [R]: how many entries of each row are filled (fewer than `length`
            where a row has fewer rankable entries).

    Attributes:
        serial: A number no other TopLists of this process has: (serial, row) names a
            list for caches of what is derived from it (serving_service.encoding).
    """

    def __init__(self, rows: np.ndarray, scores: np.ndarray, counts: np.ndarray):
        self.rows, self.scores, self.counts = rows, scores, counts
        self.serial = next(_SERIALS)
        for array in (rows, scores, counts):
            array.setflags(write=False)
        self.length = rows.shape[1]

    @classmethod
    def build(
        cls, count: int, scores_of: Callable[[int], np.ndarray], length: int = DEFAULT_LENGTH
    ) -> TopLists:
        """Ranks rows 0 .. count - 1.

        Args:
            count: Number of rows.
            scores_of: Row -> its raw scores [C] (a fresh array), -inf where an entry must
                never be answered.
            length: Entries kept per row.
        """
        rows = np.zeros((count, length), dtype=np.int64)
        scores = np.full((count, length), -np.inf, dtype=np.float32)
        counts = np.zeros(count, dtype=np.int32)
        for row in range(count):
            raw = scores_of(row)
            best = top_k(raw, length)
            filled = len(best)
            rows[row, :filled] = best
            scores[row, :filled] = raw[best]
            counts[row] = filled
        return cls(rows, scores, counts)

    @property
    def nbytes(self) -> int:
        """Memory held by the lists."""
        return self.rows.nbytes + self.scores.nbytes + self.counts.nbytes

    def top(
        self, row: int, k: int, excluded: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The best k entries of `row` not in `excluded`, or None when the list cannot
        tell them exactly (answer per call then).

        Args:
            row: The row (an inner user or item index).
            k: How many entries, >= 1.
            excluded: Inner indices to leave out, beyond those excluded when ranking.

        Returns:
            (int64 indices [<= k], float32 raw scores [<= k]), best first, read-only views;
            fewer than k only where the row has fewer rankable entries.
        """
        if k > self.length:
            return None
        filled = int(self.counts[row])
        if excluded is None or not len(excluded):
            end = min(k, filled)
            return self.rows[row, :end], self.scores[row, :end]
        rows = self.rows[row, :filled]
        keep = ~np.isin(rows, excluded)
        rows, scores = rows[keep], self.scores[row, :filled][keep]
        if len(rows) < k and filled == self.length:
            return None  # the entries after this list's end are unknown
        return rows[:k], scores[:k]


def fits(rows: int, columns: int, length: int, max_cells: int) -> bool:
    """Whether a score matrix of rows x columns is small enough to rank into lists."""
    return rows * columns <= max_cells and rows * min(length, columns) * ENTRY_BYTES <= MAX_BYTES


def recommend_lists(scorer, length: int = DEFAULT_LENGTH) -> TopLists:
    """Each user row's best unseen items, scored as the per-call Recommend path scores them
    (one query at a time, the OOV item and the user's training items excluded).

    Args:
        scorer: A one-stage scorer that takes no request context (movierec.kinds.base).
        length: Items kept per user.
    """
    catalog = scorer.catalog

    def scores_of(user: int) -> np.ndarray:
        raw = scorer.scores(scorer.queries[user][None, :])[0]
        scorer.exclude_unrankable(raw)
        raw[catalog.seen(user)] = -np.inf
        return raw

    return TopLists.build(len(scorer.queries), scores_of, min(length, len(scorer.candidates)))


def similar_lists(scorer, length: int = DEFAULT_LENGTH) -> TopLists:
    """Each item row's most similar items by cosine, as the per-call SimilarItems path
    computes them (the OOV item and the item itself excluded).

    Args:
        scorer: Any scorer (movierec.kinds.base).
        length: Items kept per item.
    """
    unit = scorer.unit_items

    def scores_of(item: int) -> np.ndarray:
        similarity = unit @ unit[item]
        similarity[[OOV_INDEX, item]] = -np.inf
        return similarity

    return TopLists.build(len(unit), scores_of, min(length, len(unit)))


def popular_list(scorer, length: int = DEFAULT_LENGTH) -> TopLists:
    """The popular well-rated items (CatalogIndex.fallback_scores) as one list, row 0: what
    users the version cannot score get, and a most-popular candidate stage; each call
    takes its user's seen and excluded items out of it.

    Args:
        scorer: Any scorer (movierec.kinds.base).
        length: Items kept.
    """
    fallback = scorer.index.fallback_scores
    return TopLists.build(1, lambda row: fallback.copy(), min(length, len(fallback)))


def attach_top_lists(scorer, max_cells: int) -> bool:
    """Gives a scorer (movierec.kinds.base) the top lists it is small enough for: a
    one-stage scorer without request context and approximate index, Recommend lists when
    users x items is at most max_cells; any scorer without an approximate SimilarItems
    index, SimilarItems lists when items x items is; any scorer, the popular list when
    users x items is.

    Returns:
        Whether any list was ranked.
    """
    users, items = len(scorer.queries), len(scorer.candidates)
    recommend = (
        scorer.top_lists is None
        and scorer.candidate_model is None
        and not scorer.uses_context
        and scorer.ann is None
        and fits(users, items, DEFAULT_LENGTH, max_cells)
    )
    similar = (
        scorer.similar_lists is None
        and scorer.similar_ann is None
        and fits(items, items, DEFAULT_LENGTH, max_cells)
    )
    popular = scorer.popular_list is None and fits(users, items, DEFAULT_LENGTH, max_cells)
    if recommend:
        scorer.top_lists = recommend_lists(scorer)
    if similar:
        scorer.similar_lists = similar_lists(scorer)
    if popular:
        scorer.popular_list = popular_list(scorer)
    return recommend or similar or popular
