"""Synthetic MovieLens-like ratings in the ml-25m layout (numpy only), for tests and
training benchmarks at sizes no licence-free dataset reaches.

`movierec synth-ratings` writes `<out>/ml-25m/ratings.csv` (userId,movieId,rating,timestamp)
and `movies.csv` (movieId,title,genres), readable by the ml-25m reader. The defaults match
ML-25M's size: 162,541 users, 62,423 movies, 25,000,095 ratings. Movie popularity follows a
Zipf law, users' activity a log-normal law with at least 20 ratings each (as MovieLens
keeps only such users), and a rating is a user's leniency plus a movie's quality plus
noise, on half stars from 0.5 to 5. Users are written in blocks, so memory stays bounded
by a block, not by the file.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from movierec.data.synthetic import GENRES
from movierec.kinds.base import check

MIN_RATINGS_PER_USER = 20
BLOCK_USERS = 4096
FIRST_TIMESTAMP, LAST_TIMESTAMP = 789_652_009, 1_574_327_703  # ML-25M's range


@dataclasses.dataclass(frozen=True)
class RatingsSpec:
    """Shape of a synthetic ratings file.

    Attributes:
        users: Users, ids 1..users.
        items: Movies, ids 1..items.
        ratings: Ratings in all (approximately: per-user counts are drawn, then scaled).
        skew: Zipf exponent of movie popularity.
        seed: Seed of every draw.
    """

    users: int = 162_541
    items: int = 62_423
    ratings: int = 25_000_095
    skew: float = 1.0
    seed: int = 0

    def validate(self) -> None:
        """Raises InvalidRequest naming the first value out of range."""
        check(
            [
                (1 <= self.users <= 10_000_000, "users must be 1 to 10000000"),
                (2 <= self.items <= 10_000_000, "items must be 2 to 10000000"),
                (
                    self.users * MIN_RATINGS_PER_USER <= self.ratings <= 2_000_000_000,
                    f"ratings must be {MIN_RATINGS_PER_USER} per user to 2000000000",
                ),
                (self.ratings <= self.users * self.items, "more ratings than user-movie pairs"),
                (0 <= self.skew <= 3, "skew must be 0 to 3"),
            ]
        )


def _activity(spec: RatingsSpec, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: log-normal, at least 20, at most the catalogue, summing to about
    spec.ratings."""
    raw = rng.lognormal(0.0, 1.1, spec.users)
    spare = spec.ratings - MIN_RATINGS_PER_USER * spec.users
    counts = MIN_RATINGS_PER_USER + np.floor(raw / raw.sum() * spare)
    return np.minimum(counts, spec.items).astype(np.int64)


def write_ratings(spec: RatingsSpec, out: str | os.PathLike) -> pathlib.Path:
    """Writes the dataset folder `<out>/ml-25m` and returns it.

    Raises:
        InvalidRequest: a value out of range.
    """
    spec.validate()
    folder = pathlib.Path(out) / "ml-25m"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    weight = np.arange(1, spec.items + 1, dtype=np.float64) ** -float(spec.skew)
    cdf = np.cumsum(weight[rng.permutation(spec.items)])
    quality = rng.normal(0.0, 0.5, spec.items + 1)
    counts = _activity(spec, rng)
    _write_movies(folder / "movies.csv", spec.items, rng)
    partial = folder / "ratings.csv.partial"
    with open(partial, "w", encoding="ascii") as handle:
        handle.write("userId,movieId,rating,timestamp\n")
        for first in range(0, spec.users, BLOCK_USERS):
            handle.write(_block(first, counts[first : first + BLOCK_USERS], cdf, quality, rng))
    os.replace(partial, folder / "ratings.csv")
    return folder


def _block(first: int, counts: np.ndarray, cdf: np.ndarray, quality, rng) -> str:
    """CSV lines of users first+1 .. first+len(counts)."""
    users, items = [], []
    for offset, count in enumerate(counts.tolist()):
        picked = np.unique(np.searchsorted(cdf, rng.random(int(count * 1.3) + 5) * cdf[-1]))
        while len(picked) < count:  # popular movies repeat; draw until the user has enough
            extra = np.searchsorted(cdf, rng.random(count) * cdf[-1])
            picked = np.unique(np.concatenate([picked, extra]))
        picked = rng.permutation(picked)[:count] + 1
        users.append(np.full(count, first + offset + 1, dtype=np.int64))
        items.append(picked)
    user = np.concatenate(users)
    item = np.concatenate(items)
    leniency = rng.normal(3.5, 0.45, len(counts))[user - first - 1]
    stars = leniency + quality[item] + rng.normal(0.0, 0.8, len(user))
    rating = np.clip(np.round(stars * 2) / 2, 0.5, 5.0)
    stamps = rng.integers(FIRST_TIMESTAMP, LAST_TIMESTAMP, len(user))
    return "".join(
        f"{u},{i},{r:g},{t}\n"
        for u, i, r, t in zip(
            user.tolist(), item.tolist(), rating.tolist(), stamps.tolist(), strict=True
        )
    )


def _write_movies(path: pathlib.Path, items: int, rng: np.random.Generator) -> None:
    years = rng.integers(1920, 2020, items)
    flags = rng.random((items, len(GENRES))) < 0.15
    lines = ["movieId,title,genres\n"]
    for movie, (year, row) in enumerate(zip(years.tolist(), flags, strict=True), start=1):
        genres = "|".join(g for g, on in zip(GENRES, row.tolist(), strict=True) if on)
        lines.append(f"{movie},Movie {movie} ({year}),{genres or '(no genres listed)'}\n")
    path.write_text("".join(lines), encoding="ascii")
