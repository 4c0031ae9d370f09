"""Users described only by features (cold start), and their validation against a catalogue."""

from __future__ import annotations

import dataclasses
import math

from movierec.errors import InvalidRequest
from movierec.store.catalog import Catalog

MAX_RATING_COUNT = 10_000_000


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
    """

    genre_ratings: dict[str, float]
    rating_count: int | None = None
    mean_rating: float | None = None
    age: int | None = None
    gender: str = ""
    occupation: str = ""


def check_user_features(features: UserFeatures, catalog: Catalog) -> None:
    """Raises InvalidRequest naming the first bad field of `features` for this catalogue.

    Genre names must be the dataset's, ratings finite and on its scale, the count 0 to
    10,000,000, the age 1 to 120, the gender "M" or "F" and the occupation one of the
    dataset's (these three are checked only where the dataset has demographics).
    """
    low, high = (float(x) for x in catalog.rating_scale)
    if not features.genre_ratings:
        raise InvalidRequest("user_features.genre_ratings must name at least one genre")
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
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidRequest(
            f"{field} must be a finite rating from {low:g} to {high:g}, got {value}"
        )
