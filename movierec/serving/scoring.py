"""Request-level scoring helpers shared by every kind: top-k selection and k checks (numpy
only). The scored item a response carries is movierec.store.catalog.ScoredItem.
"""

from __future__ import annotations

import math

import numpy as np

from movierec.errors import InvalidRequest


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest finite scores, best first (fewer when fewer are finite).

    Args:
        scores: Scores, shape [n]; -inf marks excluded entries.
        k: How many to return, >= 1.

    Returns:
        int64 indices into `scores`, shape [min(k, finite count)], ties broken by index.
    """
    n = len(scores)
    if n > 4 * k:
        # One partition over everything (no copies), then only the candidates are sorted:
        # those tied with the k-th score are all kept so that ties break by index.
        kth_largest = np.partition(scores, n - k)[n - k]
        candidates = (scores >= kth_largest).nonzero()[0]
        if not math.isfinite(kth_largest):  # cheaper than np.isfinite on a scalar
            candidates = candidates[np.isfinite(scores[candidates])]
    else:
        candidates = np.isfinite(scores).nonzero()[0]
    # Candidates are in index order, so a stable sort breaks ties by index.
    order = (-scores[candidates]).argsort(kind="stable")[:k]
    return candidates[order].astype(np.int64, copy=False)


def check_k(k: int, max_k: int) -> None:
    """Raises InvalidRequest unless 1 <= k <= max_k."""
    if not 1 <= k <= max_k:
        raise InvalidRequest(f"k must be between 1 and {max_k}, got {k}")
