"""Kind "two_tower", numpy half: content-based towers over user and item features (the
fourth notebook), scored without TensorFlow.

User features: per-genre mean rating (genres a user never rated take the training users'
mean for that genre), per-genre share of the user's ratings, log(1 + rating count), mean
rating and, where the dataset has them
and the version uses them, age, gender and occupation one-hots. Item features: release
year, mean training rating, log(1 + rating count) and the genre one-hot. Both are
standardised with scalers fitted on the training split and stored with the version. The
user tower runs here in numpy (ReLU hidden layers, linear last layer, L2-normalised);
item vectors come precomputed from the item tower. A user described only by genre
preferences gets the same features from pseudo-ratings (see feature_row).
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import numpy as np

from movierec.kinds.base import RATING, RETRIEVAL, CannotScoreFeatures, KindParams, Scorer, check
from movierec.kinds.features import UserFeatures, genre_means_of_items
from movierec.store.catalog import Catalog
from movierec.store.vocab import OOV_INDEX

WEIGHT_ARRAYS = ("user_feature_mean", "user_feature_std", "item_vectors")
GENDERS = ("M", "F")


@dataclasses.dataclass(frozen=True)
class TwoTowerParams(KindParams):
    """Hyperparameters of the two_tower kind.

    Attributes:
        layers: Dense widths of each tower, the last being the embedding width.
        l2: L2 penalty on the towers' kernels.
        use_demographics: Feed age, gender and occupation where the dataset has them.
        temperature: Retrieval: cosine scores are divided by it before the loss.
    """

    layers: tuple[int, ...] = (256, 128, 32)
    l2: float = 0.0
    use_demographics: bool = True
    temperature: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(int(width) for width in self.layers))

    @classmethod
    def defaults(cls, objective: str) -> dict[str, Any]:
        """No per-objective defaults."""
        del objective
        return {}

    @classmethod
    def shared_defaults(cls, objective: str) -> dict[str, Any]:
        """Retrieval: a pool of negatives shared by the batch. On ml-100k's five folds it
        ranks better than negatives per example, and at 25 million ratings an epoch fits
        in a fraction of the time (bench/RESULTS.md, "Negatives per example or a shared
        pool"): the item tower runs on the batch's positives and its pool, not on every
        candidate."""
        return {"negative_sharing": "batch"} if objective == RETRIEVAL else {}

    def validate(self, objective: str) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""
        del objective
        check(
            [
                (1 <= len(self.layers) <= 4, f"layers must hold 1 to 4 widths, got {self.layers}"),
                (
                    all(1 <= width <= 1024 for width in self.layers),
                    f"layer widths must be 1 to 1024, got {self.layers}",
                ),
                (0 <= self.l2 < 1, f"l2 must be >= 0 and < 1, got {self.l2}"),
                (
                    0 < self.temperature <= 1,
                    f"temperature must be > 0 and <= 1, got {self.temperature}",
                ),
            ]
        )


@dataclasses.dataclass(frozen=True)
class FeatureStats:
    """Training-population figures that fill in what a user did not say.

    Attributes:
        genre_means: float [G], mean training rating per genre (the global mean where a
            genre has no rating).
        genre_shares: float [G], mean over training users of the share of their ratings
            in each genre.
        median_count: Median ratings per training user.
        mean_age: Mean age of the training users (0 without demographics).
    """

    genre_means: np.ndarray
    genre_shares: np.ndarray
    median_count: float
    mean_age: float


def genre_totals(catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Per user row and genre, the user's training ratings of items of that genre and
    their sum: float64 [U + 1, G] each. Counted one genre at a time, so that no
    [ratings, genres] array is ever built (at ML-25M size that would be 22.5 million x 20
    floats, 3.6 GB, and as much again for its product with the ratings)."""
    rows = catalog.num_users + 1
    genres = catalog.item_genre_flags.shape[1]
    owner = np.repeat(np.arange(rows, dtype=np.int32), np.diff(catalog.seen_indptr))
    item_of_rating = (catalog.seen_items - 1).astype(np.int32)
    counts = np.zeros((rows, genres))
    sums = np.zeros((rows, genres))
    for genre in range(genres):
        in_genre = catalog.item_genre_flags[item_of_rating, genre]
        who = owner[in_genre]
        counts[:, genre] = np.bincount(who, minlength=rows)
        sums[:, genre] = np.bincount(who, catalog.seen_ratings[in_genre], minlength=rows)
    return counts, sums


def feature_stats(
    catalog: Catalog, totals: tuple[np.ndarray, np.ndarray] | None = None
) -> FeatureStats:
    """FeatureStats of a catalogue's training ratings (`totals`: its genre_totals, when
    already computed)."""
    user_genre_counts, user_genre_sums = totals if totals is not None else genre_totals(catalog)
    counts = user_genre_counts.sum(axis=0)
    sums = user_genre_sums.sum(axis=0)
    genre_means = np.where(counts > 0, sums / np.maximum(counts, 1), catalog.global_mean())
    per_user = np.diff(catalog.seen_indptr)[1:]
    shares = user_genre_counts[1:] / np.maximum(per_user, 1)[:, None]
    ages = catalog.user_ages[1:] if catalog.has_demographics else np.zeros(0)
    known_ages = ages[ages > 0]
    return FeatureStats(
        genre_means=genre_means,
        genre_shares=shares.mean(axis=0) if len(shares) else np.zeros(len(counts)),
        median_count=float(np.median(per_user)) if len(per_user) else 0.0,
        mean_age=float(known_ages.mean()) if len(known_ages) else 0.0,
    )


def user_features_of(catalog: Catalog, demographics: bool) -> tuple[np.ndarray, FeatureStats]:
    """(user_feature_matrix, feature_stats) of a catalogue, remembered for the last
    catalogue and demographics asked about: a training job needs them to build the model,
    to export it after every epoch and to load its scorer, and at 25 million ratings each
    count reads every training rating."""
    global _remembered
    last = _remembered
    if last is not None and last[0]() is catalog and last[1] == demographics:
        return last[2], last[3]
    totals = genre_totals(catalog)
    stats = feature_stats(catalog, totals)
    raw = user_feature_matrix(catalog, demographics, totals)
    del totals
    raw.flags.writeable = False  # shared by every caller
    _remembered = (weakref.ref(catalog, _forget), demographics, raw, stats)
    return raw, stats


def _forget(dead: weakref.ref) -> None:
    """Drops the remembered features once their catalogue is gone (a serving process
    that loaded a version keeps no copy of them)."""
    global _remembered
    if _remembered is not None and _remembered[0] is dead:
        _remembered = None


_remembered: tuple[weakref.ref, bool, np.ndarray, FeatureStats] | None = None


def uses_demographics(catalog: Catalog, params: dict[str, Any]) -> bool:
    """True when the version feeds demographics (asked for, and the dataset has them)."""
    return bool(params.get("use_demographics", True)) and catalog.has_demographics


def user_feature_matrix(
    catalog: Catalog, demographics: bool, totals: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Raw (unscaled) features of every user row, float32 [U + 1, F]; row 0 (OOV) holds
    the population's values (`totals`: the catalogue's genre_totals, when computed).
    """
    totals = totals if totals is not None else genre_totals(catalog)
    stats = feature_stats(catalog, totals)
    num_rows = catalog.num_users + 1
    genre_counts, genre_sums = totals
    owner = np.repeat(np.arange(num_rows, dtype=np.int32), np.diff(catalog.seen_indptr))
    genre_means = np.where(
        genre_counts > 0, genre_sums / np.maximum(genre_counts, 1), stats.genre_means
    )
    counts = np.diff(catalog.seen_indptr).astype(np.float64)
    sums = np.bincount(owner, weights=catalog.seen_ratings, minlength=num_rows)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), catalog.global_mean())
    shares = genre_counts / np.maximum(counts, 1)[:, None]
    shares[OOV_INDEX] = stats.genre_shares
    counts[OOV_INDEX] = stats.median_count
    columns = [genre_means, shares, np.log1p(counts)[:, None], means[:, None]]
    if demographics:
        ages = catalog.user_ages.astype(np.float64)
        columns.append(np.where(ages > 0, ages, stats.mean_age)[:, None])
        columns.append(_one_hot(catalog.user_genders, GENDERS))
        columns.append(_one_hot(catalog.user_occupations, catalog.occupation_names))
    return np.hstack(columns).astype(np.float32)


def feature_row(
    features: UserFeatures, catalog: Catalog, stats: FeatureStats, demographics: bool
) -> np.ndarray:
    """Raw features of a user described by validated UserFeatures, float32 [F], laid out as
    user_feature_matrix's rows.

    The stated preferences are read as pseudo-ratings: the user is taken to have rated
    the catalogue items of the genres they rate at or above the scale's midpoint (of the
    named genres when none is), each as often as training users did (weighted by its
    training rating count) and with the mean of their stated ratings for that item's named
    genres. Genre means and shares then come from those pseudo-ratings as for a training
    user, so the user tower sees a profile like the ones it was trained on; named genres
    keep their stated rating as genre mean. (Weighting by popularity raised cold-start
    NDCG@10 on u1 from 0.143 to 0.264, above most-popular's 0.245, with the same genres
    followed.)
    Unnamed genres without pseudo-ratings take the population's mean; an unset mean
    rating is the mean of the stated ratings; an unset count is the median.
    """
    names = [str(g) for g in catalog.genre_names]
    stated = np.array([features.genre_ratings.get(g, np.nan) for g in names], dtype=np.float64)
    named = ~np.isnan(stated)
    flags = catalog.item_genre_flags.astype(np.float64)
    low, high = (float(x) for x in catalog.rating_scale)
    liked = named & (stated >= (low + high) / 2)
    chosen = liked if liked.any() else named
    in_named = flags[:, named]
    watched = flags[:, chosen].any(axis=1)
    item_ratings = (in_named * stated[named]).sum(axis=1) / np.maximum(in_named.sum(axis=1), 1)
    weight = catalog.popularity[1:][watched].astype(np.float64)
    profile = flags[watched] * weight[:, None]
    counts = profile.sum(axis=0)
    sums = (profile * item_ratings[watched, None]).sum(axis=0)
    genres = np.where(counts > 0, sums / np.maximum(counts, 1e-12), stats.genre_means)
    genres = np.where(named, stated, genres)
    shares = counts / max(float(weight.sum()), 1e-12)
    count = stats.median_count if features.rating_count is None else features.rating_count
    mean = float(stated[named].mean()) if features.mean_rating is None else features.mean_rating
    columns = [genres, shares, [np.log1p(count)], [mean]]
    if demographics:
        columns.append([stats.mean_age if features.age is None else float(features.age)])
        columns.append(_one_hot(np.array([features.gender]), GENDERS)[0])
        columns.append(_one_hot(np.array([features.occupation]), catalog.occupation_names)[0])
    return np.concatenate([np.asarray(c, dtype=np.float64) for c in columns]).astype(np.float32)


def item_feature_matrix(catalog: Catalog) -> np.ndarray:
    """Raw features of every item row, float32 [I + 1, 3 + G]: year (the median where
    unknown), mean training rating, log(1 + rating count), genre one-hot; row 0 zeros.
    """
    years = catalog.item_years.astype(np.float64)
    known = years[years > 0]
    years = np.where(years > 0, years, np.median(known) if len(known) else 0.0)
    rows = np.hstack(
        [
            years[:, None],
            catalog.item_mean_rating[1:, None].astype(np.float64),
            np.log1p(catalog.popularity[1:].astype(np.float64))[:, None],
            catalog.item_genre_flags.astype(np.float64),
        ]
    )
    return np.vstack([np.zeros((1, rows.shape[1])), rows]).astype(np.float32)


def standardise(rows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(rows - mean) / std, float32; columns with std 0 become 0."""
    safe = np.where(std > 0, std, 1.0)
    return ((rows - mean) / safe).astype(np.float32)


def scaler_of(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of each column of rows [n, F], as StandardScaler fits them."""
    return rows.mean(axis=0).astype(np.float32), rows.std(axis=0).astype(np.float32)


def tower_forward(
    rows: np.ndarray, kernels: list[np.ndarray], biases: list[np.ndarray]
) -> np.ndarray:
    """A tower on standardised rows [n, F]: ReLU hidden layers, linear last layer, then L2
    normalisation; float32 [n, D].
    """
    out = rows.astype(np.float32)
    for depth, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
        out = out @ kernel + bias
        if depth < len(kernels) - 1:
            out = np.maximum(out, 0.0)
    norms = np.sqrt(np.maximum((out * out).sum(axis=1, keepdims=True), 1e-12))
    return (out / norms).astype(np.float32)


def _one_hot(values: np.ndarray, names) -> np.ndarray:
    names = [str(n) for n in names]
    return (
        (np.asarray(values, dtype=str)[:, None] == np.asarray(names, dtype=str)[None, :])
        .astype(np.float64)
        .reshape(len(values), len(names))
    )


class TwoTowerScorer(Scorer):
    """cos(user_tower(x_u), item_tower(x_i)) for retrieval versions; the rating
    lo + (cos + 1) / 2 * (hi - lo) for rating versions (the notebook's MinMaxScaler(-1, 1)
    undone). Users described only by features go through the same user tower.

    Args:
        weights: Scalers, "user_kernel_<n>" / "user_bias_<n>" per layer and the
            precomputed "item_vectors" [I + 1, D].
        catalog: The version's catalogue.
        objective: "rating" or "retrieval".
        demographics: Whether the version feeds demographics.
    """

    supports_user_features = True

    def __init__(
        self, weights: dict[str, np.ndarray], catalog: Catalog, objective: str, demographics: bool
    ):
        depth = sum(1 for name in weights if name.startswith("user_kernel_"))
        if depth == 0:
            raise ValueError("two_tower weights hold no user tower layers")
        self.kernels = [np.asarray(weights[f"user_kernel_{n}"], np.float32) for n in range(depth)]
        self.biases = [np.asarray(weights[f"user_bias_{n}"], np.float32) for n in range(depth)]
        self.mean = np.asarray(weights["user_feature_mean"], np.float32)
        self.std = np.asarray(weights["user_feature_std"], np.float32)
        self.demographics = demographics
        raw, self.stats = user_features_of(catalog, demographics)
        if raw.shape[1] != self.kernels[0].shape[0] or self.mean.shape != (raw.shape[1],):
            raise ValueError(
                f"user features have {raw.shape[1]} columns, the tower takes"
                f" {self.kernels[0].shape[0]}"
            )
        queries = tower_forward(standardise(raw, self.mean, self.std), self.kernels, self.biases)
        items = np.asarray(weights["item_vectors"], np.float32)
        if items.shape != (catalog.num_items + 1, queries.shape[1]):
            raise ValueError(
                f"item_vectors has shape {items.shape}, expected"
                f" {(catalog.num_items + 1, queries.shape[1])}"
            )
        super().__init__("two_tower", objective, catalog, queries, items, items)

    def shown(self, raw: np.ndarray) -> np.ndarray:
        """Ratings for rating versions, cosine otherwise."""
        raw = np.asarray(raw, dtype=np.float32)
        if self.objective == RATING:
            return (self.low + (raw + 1.0) / 2.0 * (self.high - self.low)).astype(np.float32)
        return raw

    def feature_query(self, features: UserFeatures) -> np.ndarray:
        """The user tower's vector [D] for validated features; where they state no genre,
        the genre means of their rated items stand in."""
        features = genre_means_of_items(features, self.catalog, *self.rated_items(features))
        if not features.genre_ratings:
            raise CannotScoreFeatures("the user tower needs genre preferences or rated genres")
        row = feature_row(features, self.catalog, self.stats, self.demographics)
        scaled = standardise(row[None, :], self.mean, self.std)
        return tower_forward(scaled, self.kernels, self.biases)[0]


def load_scorer(
    weights: dict[str, np.ndarray], catalog: Catalog, manifest: dict[str, Any]
) -> TwoTowerScorer:
    """The scorer of a stored two_tower version."""
    demographics = uses_demographics(catalog, manifest.get("kind_params", {}))
    return TwoTowerScorer(weights, catalog, manifest["objective"], demographics)


PARAMS = TwoTowerParams
