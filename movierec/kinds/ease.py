"""Kind "ease", numpy half: an item-item linear autoencoder (Steck 2019, "Embarrassingly
Shallow Autoencoders") over rating-weighted interactions.

A user's row x_u holds, for every item the user rated in training, a weight that grows
linearly with the rating, from `low_rating_weight` at the bottom of the scale to 1 at the
top (1 for every interaction where the data has no ratings). Scores are x_u · B, where B
[I, I] has a zero diagonal and is the closed-form ridge solution fitted by
movierec.kinds.ease_fit. The user's row is the query and B's columns are the candidates,
so a version is scored like any other kind: one matrix product per batch of users.

A user described by features is a row too: the items they rated, weighted as above, plus,
where they stated genre preferences, the row predicted from those preferences by a ridge
regression fitted on the training users' own genre means (`genre_to_items`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from movierec.kinds.base import RETRIEVAL, KindParams, Scorer, check
from movierec.kinds.features import UserFeatures
from movierec.store.catalog import Catalog

WEIGHT_ARRAYS = ("item_item", "l2", "genre_to_items")
MAX_ITEMS = 20_000
"""Largest catalogue the kind trains on: fitting inverts an [I, I] matrix (3.2 GB in
float64 at 20,000 items) and serving holds B twice in float32 (3.2 GB). Above it, train
"dot"."""


@dataclasses.dataclass(frozen=True)
class EaseParams(KindParams):
    """Hyperparameters of the ease kind.

    Attributes:
        l2: Ridge penalty lambda added to the item-item Gram matrix's diagonal. 0 (the
            default) chooses it on the validation carve-out: starting at 250 and doubling
            or halving while validation NDCG@10 improves (movierec.training.kinds.ease).
        low_rating_weight: Weight in a user's row of an item rated at the bottom of the
            rating scale; the top of the scale weighs 1, ratings between are linear.
            Above 0 and at most 1 (1 treats every rating alike, as plain EASE does).
    """

    l2: float = 0.0
    low_rating_weight: float = 0.25

    def validate(self, objective: str) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""
        check(
            [
                (objective == RETRIEVAL, "kind ease trains the retrieval objective only"),
                (
                    np.isfinite(self.l2) and 0 <= self.l2 <= 1e7,
                    f"l2 must be 0 (chosen on validation) to 1e7, got {self.l2}",
                ),
                (
                    0 < self.low_rating_weight <= 1,
                    f"low_rating_weight must be > 0 and <= 1, got {self.low_rating_weight}",
                ),
            ]
        )


def interaction_weights(catalog: Catalog, low_rating_weight: float) -> np.ndarray:
    """Weight of each seen (user, item) pair of the catalogue, float32 [R]: linear in the
    rating from low_rating_weight (lowest rating of the scale) to 1 (highest)."""
    return rating_weights(catalog.seen_ratings, catalog, low_rating_weight)


def rating_weights(ratings: np.ndarray, catalog: Catalog, low_rating_weight: float) -> np.ndarray:
    """Row weights, float32 [n], of ratings [n] on the catalogue's scale."""
    low, high = (float(x) for x in catalog.rating_scale)
    if high <= low:
        return np.ones(len(ratings), dtype=np.float32)
    share = (np.asarray(ratings, dtype=np.float64) - low) / (high - low)
    weights = low_rating_weight + (1.0 - low_rating_weight) * np.clip(share, 0.0, 1.0)
    return weights.astype(np.float32)


def genre_profiles(catalog: Catalog) -> np.ndarray:
    """Each training user's genre profile, float64 [U + 1, 2G + 1] (genre_profile of the
    mean rating per genre of their training ratings)."""
    owners = np.repeat(np.arange(catalog.num_users + 1), np.diff(catalog.seen_indptr))
    flags = catalog.item_genre_flags[catalog.seen_items - 1].astype(np.float64)
    counts = np.zeros((catalog.num_users + 1, flags.shape[1]))
    sums = np.zeros_like(counts)
    np.add.at(counts, owners, flags)
    np.add.at(sums, owners, flags * catalog.seen_ratings[:, None])
    means = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    return _profiles(means, catalog.global_mean())


def genre_profile(genre_ratings: dict[str, float], catalog: Catalog) -> np.ndarray:
    """The profile, float64 [2G + 1], of stated genre preferences: each genre's rating less
    the training mean (0 where not stated), a flag per stated genre, and a constant 1."""
    means = np.full((1, len(catalog.genre_names)), np.nan)
    position = {str(name): g for g, name in enumerate(catalog.genre_names)}
    for genre, rating in genre_ratings.items():
        means[0, position[genre]] = rating
    return _profiles(means, catalog.global_mean())[0]


def _profiles(means: np.ndarray, global_mean: float) -> np.ndarray:
    stated = ~np.isnan(means)
    centred = np.where(stated, means - global_mean, 0.0)
    return np.hstack([centred, stated.astype(np.float64), np.ones((len(means), 1))])


def user_rows(catalog: Catalog, low_rating_weight: float, users: np.ndarray) -> np.ndarray:
    """Dense weighted rows float32 [len(users), I + 1] of inner user rows `users`."""
    users = np.asarray(users, dtype=np.int64)
    starts = catalog.seen_indptr[users]
    counts = catalog.seen_indptr[users + 1] - starts
    owners = np.repeat(np.arange(len(users)), counts)
    # each owner's interactions, positions starts[u] .. starts[u] + counts[u] - 1
    positions = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts - starts, counts)
    rows = np.zeros((len(users), catalog.num_items + 1), dtype=np.float32)
    weights = interaction_weights(catalog, low_rating_weight)
    rows[owners, catalog.seen_items[positions]] = weights[positions]
    return rows


class EaseScorer(Scorer):
    """relevance(u, i) = x_u · B[:, i]; row and column 0 (OOV) of B are zero.

    Users described by features are scored as rows (feature_query).

    Args:
        weights: WEIGHT_ARRAYS as fitted by movierec.training.kinds.ease: "item_item" float32
            [I + 1, I + 1], B with its OOV row and column; "l2", the penalty it was
            fitted with (chosen on validation unless the request set it); and
            "genre_to_items" float32 [2G + 1, I + 1], the row a genre profile predicts.
        catalog: The version's catalogue (its seen ratings build the user rows).
        low_rating_weight: As in EaseParams.
    """

    supports_user_features = True

    def __init__(self, weights: dict[str, np.ndarray], catalog: Catalog, low_rating_weight: float):
        item_item = np.asarray(weights["item_item"], dtype=np.float32)
        queries = user_rows(catalog, low_rating_weight, np.arange(catalog.num_users + 1))
        candidates = item_item.T
        super().__init__("ease", RETRIEVAL, catalog, queries, candidates, candidates)
        self.low_rating_weight = low_rating_weight
        self.l2 = float(weights["l2"])
        self.genre_to_items = np.asarray(weights["genre_to_items"], dtype=np.float32)
        profile_width = 2 * len(catalog.genre_names) + 1
        if self.genre_to_items.shape != (profile_width, catalog.num_items + 1):
            raise ValueError(
                f"ease: genre_to_items has shape {self.genre_to_items.shape}, expected"
                f" {(profile_width, catalog.num_items + 1)}"
            )

    def feature_query(self, features: UserFeatures) -> np.ndarray:
        """The row [I + 1] of a user described by rated items and genre preferences."""
        query = np.zeros(self.catalog.num_items + 1, dtype=np.float32)
        if features.genre_ratings:
            profile = genre_profile(features.genre_ratings, self.catalog).astype(np.float32)
            query += profile @ self.genre_to_items
        rows, ratings = self.rated_items(features)
        np.add.at(query, rows, rating_weights(ratings, self.catalog, self.low_rating_weight))
        query[0] = 0.0
        return query


def load_scorer(
    weights: dict[str, np.ndarray], catalog: Catalog, manifest: dict[str, Any]
) -> EaseScorer:
    """The scorer of a stored ease version (manifest gives its params)."""
    params = manifest.get("kind_params", {})
    return EaseScorer(weights, catalog, float(params.get("low_rating_weight", 0.25)))


PARAMS = EaseParams
