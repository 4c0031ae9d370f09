"""The catalogue of a version: who and what it knows, kept apart from any model's weights.

Ids, titles, genres, years, popularity, each user's training ratings and the held-out
split, as plain arrays (numpy only: the serving process loads this). U users and I items
known from the training split; row 0 of every per-user or per-item table is the
out-of-vocabulary row, so inner index n is raw id `user_ids[n - 1]` / `item_ids[n - 1]`.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from movierec.errors import UnknownItem, UnknownUser
from movierec.store.arrays import load_arrays, save_arrays
from movierec.store.vocab import OOV_INDEX, IdVocabulary

CATALOG_FILE = "catalog.npz"
RELEVANT_SHARE = 0.75
"""A held-out rating this share of the way up the rating scale or higher is relevant for
ranking metrics: 4 on MovieLens' 1 to 5 (on its 0.5 to 5 half stars, 3.875: again 4 and
above)."""
MAX_REMEMBERED_IDS = 1 << 16
"""Raw ids a CatalogIndex remembers the rows of, for users and for items (about 100 bytes
each); beyond them, lookups search the sorted ids."""
ONE_BY_ONE_IDS = 32
"""Batches of up to this many ids (Predict's) are looked up one id at a time from the
remembered rows rather than by one vectorized search, whose numpy calls cost a fixed
amount whatever the batch's size (bench/RESULTS.md, "Measurements behind choices in the
code")."""
_SMOOTHING_RATINGS = 10.0


@dataclasses.dataclass(frozen=True)
class ScoredItem:
    """An item with its metadata and the score that ranked it (raw item id)."""

    item_id: int
    title: str
    genres: tuple[str, ...]
    year: int
    score: float


@dataclasses.dataclass(frozen=True)
class Catalog:
    """Arrays describing users, items and the split of one version.

    Attributes:
        rating_scale: float32 [2], lowest and highest rating.
        user_ids: Raw ids of the training users, int64 [U], sorted.
        item_ids: Raw ids of the training items, int64 [I], sorted.
        dataset_user_ids: Raw ids of every user of the dataset, int64, sorted (a user here
            but not in user_ids gets the fallback, any other id is unknown).
        item_titles: str [I].
        item_years: int32 [I], 0 when unknown.
        genre_names: str [G].
        item_genre_flags: bool [I, G].
        popularity: int64 [I + 1], training ratings per item.
        item_mean_rating: float32 [I + 1], mean training rating per item (the global
            mean for row 0).
        seen_indptr: int64 [U + 2]; user row u rated seen_items[seen_indptr[u]:
            seen_indptr[u + 1]] in training, with seen_ratings alongside.
        seen_items: int64 [R], inner item indices, sorted within each user.
        seen_ratings: float32 [R].
        user_ages: int32 [U + 1], 0 unknown; empty when the dataset has no demographics.
        user_genders: str [U + 1], "" unknown; empty likewise.
        user_occupations: str [U + 1], "" unknown; empty likewise.
        occupation_names: str [O], the dataset's occupations; empty likewise.
        test_user_ids: int64 [T], raw ids of the held-out ratings.
        test_item_ids: int64 [T].
        test_ratings: float32 [T].
        test_timestamps: int64 [T], unix seconds of the held-out ratings; empty in
            versions written before it was kept (context kinds need it).
    """

    rating_scale: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    dataset_user_ids: np.ndarray
    item_titles: np.ndarray
    item_years: np.ndarray
    genre_names: np.ndarray
    item_genre_flags: np.ndarray
    popularity: np.ndarray
    item_mean_rating: np.ndarray
    seen_indptr: np.ndarray
    seen_items: np.ndarray
    seen_ratings: np.ndarray
    user_ages: np.ndarray
    user_genders: np.ndarray
    user_occupations: np.ndarray
    occupation_names: np.ndarray
    test_user_ids: np.ndarray
    test_item_ids: np.ndarray
    test_ratings: np.ndarray
    test_timestamps: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )

    @property
    def num_users(self) -> int:
        """U, the number of training users."""
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        """I, the number of training items."""
        return len(self.item_ids)

    @property
    def has_demographics(self) -> bool:
        """True when the dataset gave age, gender and occupation."""
        return len(self.user_ages) > 0

    def seen(self, user_index: int) -> np.ndarray:
        """Inner indices of the items user row `user_index` rated in training, int64."""
        return self.seen_items[self.seen_indptr[user_index] : self.seen_indptr[user_index + 1]]

    def global_mean(self) -> float:
        """Mean training rating."""
        return float(self.item_mean_rating[OOV_INDEX])

    @property
    def implicit(self) -> bool:
        """True when the dataset holds implicit feedback (interactions, no ratings): its
        rating scale is degenerate (movierec.data.imported_datasets.IMPLICIT_RATING)."""
        return bool(self.rating_scale[1] <= self.rating_scale[0])


def relevance_threshold(catalog: Catalog) -> float:
    """The held-out rating at or above which an item is relevant by default: RELEVANT_SHARE
    of the way up the scale; -inf for implicit feedback, where every held-out interaction
    is relevant."""
    low, high = (float(x) for x in catalog.rating_scale)
    if catalog.implicit:
        return -math.inf
    return low + RELEVANT_SHARE * (high - low)


def check_catalog(catalog: Catalog) -> None:
    """Raises ValueError naming the first array whose shape, dtype or content does not fit
    the others (so that a version which cannot answer is never served).
    """
    users, items = catalog.num_users, catalog.num_items
    genres = len(catalog.genre_names)
    tests = len(catalog.test_ratings)
    checks = [
        (catalog.rating_scale.shape == (2,), "rating_scale must hold 2 values"),
        (catalog.user_ids.ndim == 1 and items > 0 and users > 0, "no users or no items"),
        (bool(np.all(np.diff(catalog.user_ids) > 0)), "user_ids must be sorted and unique"),
        (bool(np.all(np.diff(catalog.item_ids) > 0)), "item_ids must be sorted and unique"),
        (catalog.item_titles.shape == (items,), "item_titles must have one title per item"),
        (catalog.item_years.shape == (items,), "item_years must have one year per item"),
        (catalog.item_genre_flags.shape == (items, genres), "item_genre_flags is [items, genres]"),
        (catalog.popularity.shape == (items + 1,), "popularity must have items + 1 rows"),
        (catalog.item_mean_rating.shape == (items + 1,), "item_mean_rating needs items + 1 rows"),
        (catalog.seen_indptr.shape == (users + 2,), "seen_indptr must have users + 2 entries"),
        (catalog.seen_items.shape == catalog.seen_ratings.shape, "seen_ratings is per seen item"),
        (catalog.test_user_ids.shape == (tests,), "test_user_ids must match test_ratings"),
        (catalog.test_item_ids.shape == (tests,), "test_item_ids must match test_ratings"),
        (
            catalog.test_timestamps.shape in ((0,), (tests,)),
            "test_timestamps must match test_ratings (or be empty)",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(f"catalog: {message}")
    indptr = catalog.seen_indptr
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(catalog.seen_items):
        raise ValueError("catalog: seen_indptr must rise from 0 to the number of seen items")
    if len(catalog.seen_items) and not (
        1 <= catalog.seen_items.min() and catalog.seen_items.max() <= items
    ):
        raise ValueError("catalog: seen_items must be item rows 1..I")
    for name in ("rating_scale", "item_mean_rating", "seen_ratings", "test_ratings"):
        if not np.all(np.isfinite(getattr(catalog, name))):
            raise ValueError(f"catalog: {name} holds NaN or infinite values")
    if catalog.has_demographics and not (
        catalog.user_ages.shape == catalog.user_genders.shape == (users + 1,)
        and catalog.user_occupations.shape == (users + 1,)
    ):
        raise ValueError("catalog: demographics must have users + 1 rows")


def save_catalog(path: pathlib.Path, catalog: Catalog) -> None:
    """Writes the catalogue as one .npz."""
    save_arrays(path, {f.name: getattr(catalog, f.name) for f in dataclasses.fields(Catalog)})


def load_catalog(source: pathlib.Path | BinaryIO) -> Catalog:
    """Reads a catalogue written by save_catalog, from a path or a seekable file open for
    reading (a version's catalogue is opened with ModelStore.open_version_file).

    Raises:
        ValueError: an array is missing or the file is not an npz.
        OSError: the file cannot be read.
    """
    fields = dataclasses.fields(Catalog)
    required = tuple(f.name for f in fields if f.default_factory is dataclasses.MISSING)
    label = None if isinstance(source, pathlib.Path) else CATALOG_FILE
    arrays = load_arrays(source, required, label)
    return Catalog(**{f.name: arrays[f.name] for f in fields if f.name in arrays})


class CatalogIndex:
    """Raw-id lookups and the popularity fallback over a Catalog.

    Args:
        catalog: The catalogue.
    """

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.users = IdVocabulary(catalog.user_ids)
        self.items = IdVocabulary(catalog.item_ids)
        self.dataset_users = IdVocabulary(catalog.dataset_user_ids)
        self._genre_names = np.asarray(catalog.genre_names)
        self.fallback_scores = popular_well_rated_scores(catalog)
        self._user_rows: dict[int, int] = {}
        self._item_rows: dict[int, int] = {}

    def user_index(self, user_id: int) -> int:
        """Inner index of a raw user id; OOV_INDEX for a dataset user absent from training.

        Raises:
            UnknownUser: the dataset has no such user.
        """
        row = _remembered_row(self._user_rows, self.catalog.user_ids, user_id)
        if row:
            return row
        if not _row_of(self.catalog.dataset_user_ids, user_id):
            raise UnknownUser(user_id)
        return OOV_INDEX

    def genres_of(self, position: int) -> tuple[str, ...]:
        """Genre names of the item at `position` (0-based, = inner row - 1), computed on
        demand: a catalogue of a million items keeps no Python object per item."""
        return tuple(self._genre_names[self.catalog.item_genre_flags[position]].tolist())

    def scored_items(self, rows: np.ndarray, scores: np.ndarray) -> list[ScoredItem]:
        """ScoredItems of inner item rows [n] with their scores [n], in order."""
        catalog = self.catalog
        positions = np.asarray(rows, dtype=np.int64) - 1
        return [
            ScoredItem(item_id=item, title=title, genres=self.genres_of(p), year=year, score=s)
            for p, item, title, year, s in zip(
                positions.tolist(),
                catalog.item_ids[positions].tolist(),
                catalog.item_titles[positions].tolist(),
                catalog.item_years[positions].tolist(),
                np.asarray(scores, dtype=np.float64).tolist(),
                strict=True,
            )
        ]

    def item_index(self, item_id: int) -> int:
        """Inner index of a raw item id. Raises UnknownItem."""
        row = _remembered_row(self._item_rows, self.catalog.item_ids, item_id)
        if not row:
            raise UnknownItem(item_id)
        return row

    def item_indices(self, item_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Inner indices of raw item ids, int64 [n]. Raises UnknownItem naming the first."""
        if _one_by_one(self._item_rows, item_ids):
            remembered = self._item_rows.get
            return np.array(
                [remembered(i) or self.item_index(int(i)) for i in item_ids], dtype=np.int64
            )
        index, known = self.items.lookup(np.asarray(item_ids, dtype=np.int64))
        if not known.all():
            raise UnknownItem(int(np.asarray(item_ids)[~known][0]))
        return index

    def user_indices(self, user_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Inner indices of raw user ids, OOV_INDEX for dataset users absent from training.

        Raises:
            UnknownUser: naming the first id the dataset does not have.
        """
        if _one_by_one(self._user_rows, user_ids):
            remembered = self._user_rows.get
            return np.array(
                [remembered(u) or self.user_index(int(u)) for u in user_ids], dtype=np.int64
            )
        index, known = self.users.lookup(np.asarray(user_ids, dtype=np.int64))
        if not known.all():
            _, in_dataset = self.dataset_users.lookup(np.asarray(user_ids)[~known])
            if not in_dataset.all():
                raise UnknownUser(int(np.asarray(user_ids)[~known][~in_dataset][0]))
        return index


def _one_by_one(remembered: dict[int, int], raw_ids: Sequence[int] | np.ndarray) -> bool:
    """Whether to look a batch's ids up one by one: up to ONE_BY_ONE_IDS of them, while
    the ids not yet remembered can still be. Past that, an id not remembered costs a
    binary search of its own, and the batch's vectorized search is cheaper."""
    return len(raw_ids) <= ONE_BY_ONE_IDS and len(remembered) < MAX_REMEMBERED_IDS


def _remembered_row(rows: dict[int, int], sorted_ids: np.ndarray, raw_id: int) -> int:
    """_row_of, remembering up to MAX_REMEMBERED_IDS ids found (a dict lookup costs a
    tenth of the binary search)."""
    row = rows.get(raw_id)
    if row is None:
        row = _row_of(sorted_ids, raw_id)
        if row and len(rows) < MAX_REMEMBERED_IDS:
            rows[raw_id] = row
    return row


def _row_of(sorted_ids: np.ndarray, raw_id: int) -> int:
    """1 + the position of raw_id in sorted_ids, or 0 (OOV) when absent: one binary search,
    no arrays built (the per-request path)."""
    if not -(2**63) <= raw_id < 2**63:
        return OOV_INDEX
    position = int(sorted_ids.searchsorted(raw_id))
    if position < len(sorted_ids) and int(sorted_ids[position]) == raw_id:
        return position + 1
    return OOV_INDEX


def popular_well_rated_scores(catalog: Catalog) -> np.ndarray:
    """Scores of the popularity fallback, float32 [I + 1]: an item's training rating count
    when its smoothed mean rating, (sum of ratings + 10 * global mean) / (count + 10), is at
    least the global mean, else -inf; row 0 is -inf.
    """
    count = catalog.popularity.astype(np.float64)
    mean = catalog.item_mean_rating.astype(np.float64)
    prior = catalog.global_mean()
    smoothed = (count * mean + _SMOOTHING_RATINGS * prior) / (count + _SMOOTHING_RATINGS)
    scores = np.where((smoothed >= prior) & (count > 0), count, -np.inf).astype(np.float32)
    scores[OOV_INDEX] = -np.inf
    return scores
