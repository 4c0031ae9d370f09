"""Duplicate (user, item) pairs of an import merged into one interaction each."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Merged:
    """Interactions with one row per (user, item) pair, in file order (a merged pair sits
    where its latest row was).

    Attributes:
        users: Raw user ids, int64 [n].
        items: Raw item ids, int64 [n].
        times: Unix seconds, int64 [n], or None when the file had no times.
        amounts: Ratings or weights, float64 [n].
        duplicates: Rows merged away (rows read - n).
        user_ids: The distinct users, int64 [U], sorted.
        item_ids: The distinct items, int64 [I], sorted.
    """

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray | None
    amounts: np.ndarray
    duplicates: int
    user_ids: np.ndarray
    item_ids: np.ndarray


def merge_duplicates(
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray | None,
    amounts: np.ndarray,
    summed: bool,
) -> Merged:
    """Merges the rows of each (user, item) pair given more than once.

    Args:
        users: Raw user ids [n].
        items: Raw item ids [n].
        times: Unix seconds [n] or None.
        amounts: Ratings or weights [n].
        summed: True for weights: a pair's weights are summed; False for ratings: a pair
            keeps its latest rating (by time, then by position in the file). Either way
            the merged row keeps the latest time.

    Returns:
        The merged interactions. Vectorised: pairs are found by hashing, and only the
        rows of repeated pairs are sorted.
    """
    user_codes, user_ids = pd.factorize(users)
    item_codes, item_ids = pd.factorize(items)
    key = user_codes.astype(np.int64) * len(item_ids) + item_codes
    del user_codes, item_codes
    repeated = pd.Series(key, copy=False).duplicated(keep=False).to_numpy()
    rows = np.flatnonzero(repeated)
    del repeated
    merged = Merged(users, items, times, amounts, 0, np.sort(user_ids), np.sort(item_ids))
    if not len(rows):
        return merged
    when = times[rows] if times is not None else np.zeros(len(rows), dtype=np.int64)
    order = rows[np.lexsort((rows, when, key[rows]))]  # by pair, then time, then position
    pair = key[order]
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    latest = order[np.r_[first[1:] - 1, len(order) - 1]]
    keep = np.ones(len(key), dtype=bool)
    keep[rows] = False
    keep[latest] = True
    amounts = np.asarray(amounts, dtype=np.float64).copy()
    if summed:
        amounts[latest] = np.add.reduceat(amounts[order], first)
    kept = np.flatnonzero(keep)
    return dataclasses.replace(
        merged,
        users=users[kept],
        items=items[kept],
        times=times[kept] if times is not None else None,
        amounts=amounts[kept],
        duplicates=len(key) - len(kept),
    )
