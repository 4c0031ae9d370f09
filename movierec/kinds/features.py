"""Users described only by features (cold start), and their validation against a catalogue."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from movierec.errors import InvalidRequest
from movierec.store.catalog import Catalog

MAX_RATING_COUNT = 10_000_000
MAX_ITEM_RATINGS = 10_000
"""Most rated items one request may describe a user by."""


@dataclasses.dataclass(frozen=True)
class UserFeatures:
    """A user known to nobody, described by what a sign-up form can ask.

    Attributes:
        genre_ratings: Genre name -> preferred rating on the dataset's scale (at least one).
        rating_count: Ratings the user has given; None: the training users' median.
        mean_rating: The user's mean rating; None: derived from genre_ratings.
        age: Years, None unknown.
        gender: "M" or "F", "" unknown.
        occupation: One of the dataset's occupations, "" unknown.
        item_ratings: Raw item id -> the user's rating of it on the dataset's scale.
    """

    genre_ratings: dict[str, float] = dataclasses.field(default_factory=dict)
    rating_count: int | None = None
    mean_rating: float | None = None
    age: int | None = None
    gender: str = ""
    occupation: str = ""
    item_ratings: dict[int, float] = dataclasses.field(default_factory=dict)


def check_user_features(features: UserFeatures, catalog: Catalog) -> None:
    """Raises InvalidRequest naming the first bad field of `features` for this catalogue.

    Genre names must be the dataset's (a dataset without genres takes none), ratings
    finite and on its scale (1, for an interaction, with implicit feedback), the count 0 to
    10,000,000, the age 1 to 120, the gender "M" or "F" and the occupation one of the
    dataset's (these three are checked only where the dataset has demographics).
    """
    low, high = (float(x) for x in catalog.rating_scale)
    if features.genre_ratings and not len(catalog.genre_names):
        raise InvalidRequest(
            "user_features.genre_ratings: this model's dataset has no genres, so a user cannot"
            " be described by genre preferences (no genre cold start); describe them by rated"
            " items (item_ratings)"
        )
    if not features.genre_ratings and not features.item_ratings:
        raise InvalidRequest(
            "user_features must name at least one genre (genre_ratings) or one rated item"
            " (item_ratings)"
        )
    if len(features.item_ratings) > MAX_ITEM_RATINGS:
        raise InvalidRequest(
            f"user_features.item_ratings holds {len(features.item_ratings)} items; at most"
            f" {MAX_ITEM_RATINGS}"
        )
    for item, rating in features.item_ratings.items():
        _check_rating(f"user_features.item_ratings[{item}]", rating, low, high)
    known = {str(g) for g in catalog.genre_names}
    for genre, rating in features.genre_ratings.items():
        field = f"user_features.genre_ratings[{genre!r}]"
        if genre not in known:
            raise InvalidRequest(
                f"{field}: unknown genre; known genres: {', '.join(sorted(known))}"
            )
        _check_rating(field, rating, low, high)
    if features.mean_rating is not None:
        _check_rating("user_features.mean_rating", features.mean_rating, low, high)
    if features.rating_count is not None and not 0 <= features.rating_count <= MAX_RATING_COUNT:
        raise InvalidRequest(
            f"user_features.rating_count must be 0 to {MAX_RATING_COUNT},"
            f" got {features.rating_count}"
        )
    if features.age is not None and not 1 <= features.age <= 120:
        raise InvalidRequest(f"user_features.age must be 1 to 120, got {features.age}")
    if features.gender not in ("", "M", "F"):
        raise InvalidRequest(f"user_features.gender must be 'M' or 'F', got {features.gender!r}")
    occupations = {str(o) for o in catalog.occupation_names}
    if features.occupation and occupations and features.occupation not in occupations:
        raise InvalidRequest(
            f"user_features.occupation: unknown occupation {features.occupation!r}; known:"
            f" {', '.join(sorted(occupations))}"
        )


def _check_rating(field: str, value: float, low: float, high: float) -> None:
    if high <= low and value != low:
        raise InvalidRequest(
            f"{field} must be {low:g}: the model's dataset holds implicit feedback, where an"
            f" item or genre is marked by {low:g}, got {value}"
        )
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidRequest(
            f"{field} must be a finite rating from {low:g} to {high:g}, got {value}"
        )


def genre_means_of_items(
    features: UserFeatures, catalog: Catalog, item_rows: np.ndarray, ratings: np.ndarray
) -> UserFeatures:
    """The features with genre_ratings set to the mean rating per genre of the rated items
    (item_rows [n] inner rows, ratings [n]), where the request gave no genre ratings and
    rated items of at least one genre; else the features unchanged."""
    if features.genre_ratings or not len(item_rows):
        return features
    flags = catalog.item_genre_flags[item_rows - 1]
    counts = flags.sum(axis=0)
    sums = (flags * ratings[:, None]).sum(axis=0)
    means = {
        str(catalog.genre_names[g]): float(sums[g] / counts[g]) for g in np.flatnonzero(counts)
    }
    return dataclasses.replace(features, genre_ratings=means) if means else features
