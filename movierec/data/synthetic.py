"""Synthetic dot versions written straight into a store (numpy only): catalogues of any
size for load tests and benchmarks, without a dataset or TensorFlow.

Item popularity follows a Zipf law (exponent `skew`), users' activity a log-normal law, and
each user's training items are drawn by popularity, so the seen lists, the popularity
fallback and the Metrics split look like a real catalogue's. Embeddings are random; the
item bias is the log popularity, so popular items rank high as in trained models.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time

import numpy as np

from movierec.errors import InvalidRequest
from movierec.kinds.ann import DEFAULT_MIN_ITEMS, write_indexes
from movierec.kinds.base import OBJECTIVES, RETRIEVAL, check
from movierec.kinds.dot import load_scorer
from movierec.store.arrays import save_arrays
from movierec.store.catalog import CATALOG_FILE, Catalog, save_catalog
from movierec.store.model_store import WEIGHTS_FILE, ModelStore, check_model_name

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
MAX_USERS, MAX_ITEMS = 10_000_000, 50_000_000


@dataclasses.dataclass(frozen=True)
class SynthSpec:
    """What to synthesize.

    Attributes:
        users: Training users.
        items: Catalogue items.
        dim: Embedding width.
        skew: Zipf exponent of item popularity (0: uniform; about 1 for MovieLens).
        ratings_per_user: Mean training ratings per user (log-normal around it, at least 1,
            at most the catalogue).
        test_fraction: Share of users with one held-out rating each (for Metrics).
        objective: "retrieval" or "rating".
        seed: Seed of every draw.
    """

    users: int = 943
    items: int = 1682
    dim: int = 32
    skew: float = 1.0
    ratings_per_user: int = 100
    test_fraction: float = 0.2
    objective: str = RETRIEVAL
    seed: int = 0

    def validate(self) -> None:
        """Raises InvalidRequest naming the first value out of range."""
        check(
            [
                (1 <= self.users <= MAX_USERS, f"users must be 1 to {MAX_USERS}"),
                (2 <= self.items <= MAX_ITEMS, f"items must be 2 to {MAX_ITEMS}"),
                (1 <= self.dim <= 1024, "dim must be 1 to 1024"),
                (0 <= self.skew <= 3, "skew must be 0 to 3"),
                (1 <= self.ratings_per_user <= 10_000, "ratings_per_user must be 1 to 10000"),
                (0 <= self.test_fraction <= 1, "test_fraction must be 0 to 1"),
                (self.objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}"),
            ]
        )


def _seen_lists(spec: SynthSpec, popularity_p: np.ndarray, rng: np.random.Generator):
    """Per-user sorted inner item rows (1..I), as (indptr [U + 2], items [R])."""
    counts = rng.lognormal(np.log(spec.ratings_per_user), 0.8, spec.users)
    counts = np.clip(np.rint(counts), 1, min(spec.items, 10 * spec.ratings_per_user))
    counts = counts.astype(np.int64)
    cdf = np.cumsum(popularity_p)
    rows = []
    for count in counts:
        # Draw by popularity with replacement, then drop repeats: cheap at any catalogue size.
        picks = np.searchsorted(cdf, rng.random(int(count)) * cdf[-1], side="right")
        rows.append(np.unique(np.minimum(picks, spec.items - 1)) + 1)
    sizes = np.array([len(r) for r in rows], dtype=np.int64)
    indptr = np.zeros(spec.users + 2, dtype=np.int64)
    np.cumsum(sizes, out=indptr[2:])
    items = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return indptr, items.astype(np.int64)


def synthesize(spec: SynthSpec) -> tuple[dict[str, np.ndarray], Catalog]:
    """The weights and catalogue of a synthetic dot version.

    Raises:
        InvalidRequest: a value out of range.
    """
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    ranks = np.arange(1, spec.items + 1, dtype=np.float64)
    weight = ranks ** -float(spec.skew)
    popularity_p = weight[rng.permutation(spec.items)]  # popular items spread over the ids
    indptr, seen = _seen_lists(spec, popularity_p, rng)
    seen_ratings = rng.integers(1, 6, len(seen)).astype(np.float32)
    popularity = np.bincount(seen, minlength=spec.items + 1).astype(np.int64)
    sums = np.bincount(seen, weights=seen_ratings, minlength=spec.items + 1)
    mean = np.divide(sums, popularity, out=np.zeros(spec.items + 1), where=popularity > 0)
    mean[0] = float(seen_ratings.mean()) if len(seen_ratings) else 3.0

    user_ids = np.arange(1, spec.users + 1, dtype=np.int64)
    item_ids = np.arange(1, spec.items + 1, dtype=np.int64)
    tested = np.flatnonzero(rng.random(spec.users) < spec.test_fraction)
    test_items = np.minimum(
        np.searchsorted(np.cumsum(popularity_p), rng.random(len(tested)) * popularity_p.sum()),
        spec.items - 1,
    )
    catalog = Catalog(
        rating_scale=np.array([1.0, 5.0], dtype=np.float32),
        user_ids=user_ids,
        item_ids=item_ids,
        dataset_user_ids=user_ids,
        item_titles=np.char.add("Item ", item_ids.astype(str)),
        item_years=rng.integers(1930, 2025, spec.items).astype(np.int32),
        genre_names=np.asarray(GENRES, dtype=str),
        item_genre_flags=rng.random((spec.items, len(GENRES))) < 0.12,
        popularity=popularity,
        item_mean_rating=mean.astype(np.float32),
        seen_indptr=indptr,
        seen_items=seen,
        seen_ratings=seen_ratings,
        user_ages=np.zeros(0, np.int32),
        user_genders=np.zeros(0, dtype=str),
        user_occupations=np.zeros(0, dtype=str),
        occupation_names=np.zeros(0, dtype=str),
        test_user_ids=user_ids[tested],
        test_item_ids=item_ids[test_items],
        test_ratings=rng.integers(1, 6, len(tested)).astype(np.float32),
    )
    scale = np.float32(1.0 / np.sqrt(spec.dim))
    user_embeddings = rng.standard_normal((spec.users + 1, spec.dim), np.float32) * scale
    item_embeddings = rng.standard_normal((spec.items + 1, spec.dim), np.float32) * scale
    user_embeddings[0] = item_embeddings[0] = 0.0
    item_bias = np.log1p(popularity).astype(np.float32) * np.float32(0.5)
    item_bias[0] = 0.0
    weights = {
        "user_embeddings": user_embeddings,
        "item_embeddings": item_embeddings,
        "user_bias": np.zeros(spec.users + 1, np.float32),
        "item_bias": item_bias,
        "global_bias": np.array(mean[0], dtype=np.float32),
    }
    return weights, catalog


def publish_synthetic(
    store: ModelStore, name: str, spec: SynthSpec, ann_min_items: int = DEFAULT_MIN_ITEMS
) -> int:
    """Synthesizes a dot version and publishes it as the model's next version, with its
    approximate indexes when it has at least ann_min_items items (movierec.kinds.ann).

    Returns:
        The version number.

    Raises:
        InvalidRequest: a bad name or a value out of range.
    """
    check_model_name(name)
    weights, catalog = synthesize(spec)

    def write(folder: pathlib.Path) -> None:
        save_arrays(folder / WEIGHTS_FILE, weights)
        save_catalog(folder / CATALOG_FILE, catalog)
        if spec.items >= ann_min_items:
            scorer = load_scorer(weights, catalog, manifest)
            write_indexes(folder, scorer.candidates, scorer.unit_items)

    manifest = {
        "kind": "dot",
        "objective": spec.objective,
        "kind_params": {"embedding_dim": spec.dim, "l2": 0.0, "output": "linear"},
        "dataset": "synthetic",
        "split": f"synthetic/{spec.seed}",
        "data_fingerprint": f"synthetic-{spec.users}-{spec.items}-{spec.skew}-{spec.seed}",
        "synthetic": dataclasses.asdict(spec),
        "metrics": {},
        "synthesized_at": time.time(),
    }
    try:
        return store.publish_version(name, manifest, write)
    except ValueError as error:
        raise InvalidRequest(str(error)) from error
