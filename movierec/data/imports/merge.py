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
        The merged interactions. Vectorised: pairs are numbered by hashing the ids, then
        sorted once (the pair's number and the row's position packed in one int64 where
        they fit, which numpy sorts several times faster than it argsorts).
    """
    user_codes, user_ids = pd.factorize(users)
    item_codes, item_ids = pd.factorize(items)
    key = user_codes.astype(np.int64) * len(item_ids) + item_codes
    del user_codes, item_codes
    merged = Merged(users, items, times, amounts, 0, np.sort(user_ids), np.sort(item_ids))
    sorted_key, positions = _sorted_with_positions(key, len(user_ids) * len(item_ids))
    del key
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    if len(starts) == len(users):
        return merged
    latest = _latest(positions, starts, times)
    kept = np.sort(latest)
    if summed:
        sums = np.empty(len(users), dtype=np.float64)
        sums[latest] = np.add.reduceat(np.asarray(amounts, np.float64)[positions], starts)
        amounts = sums
    return dataclasses.replace(
        merged,
        users=users[kept],
        items=items[kept],
        times=times[kept] if times is not None else None,
        amounts=np.asarray(amounts, dtype=np.float64)[kept],
        duplicates=len(users) - len(kept),
    )


def _sorted_with_positions(key: np.ndarray, key_bound: int) -> tuple[np.ndarray, np.ndarray]:
    """(key sorted, the position of each) with equal keys in position order."""
    position_bits = max(1, int(len(key) - 1).bit_length())
    if int(key_bound).bit_length() + position_bits <= 63:
        packed = key << position_bits
        packed |= np.arange(len(key), dtype=np.int64)
        packed.sort()
        positions = packed & ((1 << position_bits) - 1)
        packed >>= position_bits
        return packed, positions
    order = np.argsort(key, kind="stable")
    return key[order], order


def _latest(positions: np.ndarray, starts: np.ndarray, times: np.ndarray | None) -> np.ndarray:
    """Each group's latest row: of the rows `positions` (grouped, groups beginning at
    `starts`), the one of greatest time, then greatest position."""
    if times is None:
        return np.maximum.reduceat(positions, starts)
    ordered_times = times[positions]
    sizes = np.diff(np.r_[starts, len(positions)])
    is_newest = ordered_times == np.repeat(np.maximum.reduceat(ordered_times, starts), sizes)
    del ordered_times
    return np.maximum.reduceat(np.where(is_newest, positions, -1), starts)
