"""The serving data plane: validates requests, picks the version, calls scoring.

It knows nothing of gRPC; the serving servicer unpacks protobuf, calls it and packs the
answer. Every answer carries the VersionInfo of the version that produced it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Generic, TypeVar

import numpy as np

from movierec.errors import InvalidRequest
from movierec.registry import LoadedVersion, ModelRegistry, ModelState
from movierec.scoring import ScoredItem, check_k

T = TypeVar("T")

DEFAULT_METRICS_K = 10


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    """Names the model version that answered."""

    name: str
    version: int
    kind: str


@dataclasses.dataclass(frozen=True)
class Answer(Generic[T]):
    """A result and the version that produced it."""

    model: VersionInfo
    value: T


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Metrics of one version on its held-out split."""

    model: VersionInfo
    split: str
    num_ratings: int
    values: dict[str, float]


@dataclasses.dataclass(frozen=True)
class UserFeatures:
    """A user described only by features (cold start): genre name -> preferred rating."""

    genre_ratings: dict[str, float]


def _info(loaded: LoadedVersion) -> VersionInfo:
    return VersionInfo(loaded.name, loaded.version, loaded.kind)


def _refuse_features(loaded: LoadedVersion, features: UserFeatures | None) -> None:
    if features is not None:
        raise InvalidRequest(
            f"model {loaded.name!r} version {loaded.version} is of kind {loaded.kind!r}, which"
            " scores only known users; user features need a two_tower model"
        )


class ServingDataPlane:
    """Answers serving requests from the versions a registry holds.

    Args:
        registry: Loaded versions.
        max_k: Largest k accepted by Recommend and SimilarItems.
        max_batch: Largest Predict batch.
    """

    def __init__(self, registry: ModelRegistry, max_k: int = 1000, max_batch: int = 10_000):
        self.registry = registry
        self.max_k = max_k
        self.max_batch = max_batch

    def predict(
        self,
        model: str,
        version: int,
        user_ids: Sequence[int],
        item_ids: Sequence[int],
        has_features: bool = False,
    ) -> Answer[np.ndarray]:
        """Predicted ratings for user-item pairs (raw ids), clipped to the rating scale.

        Raises:
            InvalidRequest: empty or oversized batch, or feature-described users.
            UnknownUser, UnknownItem: naming the first id the version does not know.
        """
        if not 1 <= len(user_ids) <= self.max_batch:
            raise InvalidRequest(
                f"a Predict batch must hold 1 to {self.max_batch} instances, got {len(user_ids)}"
            )
        loaded = self.registry.get(model, version)
        if has_features:
            _refuse_features(loaded, UserFeatures({}))
        ratings = loaded.scorer.predict(
            np.asarray(user_ids, dtype=np.int64), np.asarray(item_ids, dtype=np.int64)
        )
        return Answer(_info(loaded), ratings)

    def recommend(
        self,
        model: str,
        version: int,
        user_id: int | None,
        k: int,
        include_seen: bool = False,
        exclude_item_ids: Sequence[int] = (),
        features: UserFeatures | None = None,
    ) -> Answer[list[ScoredItem]]:
        """Top-k items for a user (raw id), best first, excluding the user's training
        ratings unless include_seen, and `exclude_item_ids` always.

        Raises:
            InvalidRequest: k out of range, no user given, or feature-described users.
            UnknownUser: the user is not in the version's training data.
        """
        check_k(k, self.max_k)
        loaded = self.registry.get(model, version)
        _refuse_features(loaded, features)
        if user_id is None:
            raise InvalidRequest("Recommend needs a user_id (or user_features)")
        items = loaded.scorer.recommend(
            user_id, k, include_seen, np.asarray(exclude_item_ids, dtype=np.int64)
        )
        return Answer(_info(loaded), items)

    def similar_items(
        self, model: str, version: int, item_id: int, k: int
    ) -> Answer[list[ScoredItem]]:
        """Top-k items by cosine similarity to `item_id` (raw id), most similar first.

        Raises:
            InvalidRequest: k out of range.
            UnknownItem: the item is not in the version's training data.
        """
        check_k(k, self.max_k)
        loaded = self.registry.get(model, version)
        return Answer(_info(loaded), loaded.scorer.similar_items(item_id, k))

    def evaluate(
        self,
        model: str,
        version: int,
        k: int = 0,
        baseline_name: str | None = None,
        baseline_version: int | None = None,
    ) -> tuple[Evaluation, Evaluation | None]:
        """Metrics of a loaded version on its held-out split, and of a baseline version of
        the same model (baseline_name empty or equal to model).

        Raises:
            InvalidRequest: k out of range, or a baseline of another model.
            UnknownVersion: a version that is not loaded.
        """
        k = k or min(DEFAULT_METRICS_K, self.max_k)
        check_k(k, self.max_k)
        if baseline_name not in (None, "", model):
            raise InvalidRequest(
                f"baseline must be a version of model {model!r}, not of {baseline_name!r}"
            )
        evaluations = [self._evaluation(self.registry.get(model, version), k)]
        if baseline_version is not None:
            evaluations.append(self._evaluation(self.registry.get(model, baseline_version), k))
        return evaluations[0], evaluations[1] if len(evaluations) > 1 else None

    @staticmethod
    def _evaluation(loaded: LoadedVersion, k: int) -> Evaluation:
        scorer = loaded.scorer
        return Evaluation(
            model=_info(loaded),
            split=str(loaded.manifest.get("split", "")),
            num_ratings=len(scorer.bundle.test_ratings),
            values=scorer.evaluate(k),
        )

    def status(self, model: str = "") -> list[ModelState]:
        """Serving state of one model or all."""
        return self.registry.status(model)
