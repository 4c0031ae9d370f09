"""What every kind's numpy half provides: a Scorer over a catalogue, and its hyperparameters.

A Scorer reduces a model to two matrices: one query vector per known user and one
candidate vector per item, so that a user's raw scores for every item are one matrix
product. Kinds differ in how they build those vectors (and whether a user described by
features gets one), in how a raw score is shown, and in their hyperparameters.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from movierec.errors import InvalidRequest
from movierec.kinds.features import UserFeatures
from movierec.store.catalog import Catalog, CatalogIndex, check_catalog
from movierec.store.vocab import OOV_INDEX

RATING, RETRIEVAL = "rating", "retrieval"
OBJECTIVES = (RETRIEVAL, RATING)
TRANSPOSED_MAX_ITEMS = 200_000
"""Catalogues up to this size keep a second, transposed copy of the item vectors for
scoring (at most 200,000 x D floats; larger ones answer from an approximate index)."""


class CannotScoreFeatures(Exception):
    """The kind has no user tower: a feature-described user gets the fallback."""


class Scorer:
    """Scores users against every item of a catalogue from preloaded float32 arrays.

    raw(u, i) = queries[u] · candidates[i]; higher ranks first. Row 0 of both matrices
    is the out-of-vocabulary row, never recommended.

    Args:
        kind: Kind name.
        objective: "rating" or "retrieval".
        catalog: The version's catalogue.
        queries: float32 [U + 1, D], one query vector per user row.
        candidates: float32 [I + 1, D], one vector per item row.
        item_vectors: float32 [I + 1, E], what SimilarItems compares by cosine.
    """

    supports_user_features: ClassVar[bool] = False
    inner_product: ClassVar[bool] = True
    """Whether raw scores are queries @ candidates.T (what an approximate inner-product
    index can answer); a kind whose scores are not overrides scores and pair_scores."""
    candidate_model: str | None = None
    """For a second-stage scorer: the model name (or "popularity") whose top candidates
    Recommend re-scores (movierec.kinds.two_stage); None for one stage."""
    num_candidates: int = 0
    """For a second-stage scorer: how many candidates Recommend takes from stage one."""
    uses_context: ClassVar[bool] = False
    """Whether user_queries depends on the request's time (ranking_context)."""

    def __init__(
        self,
        kind: str,
        objective: str,
        catalog: Catalog,
        queries: np.ndarray,
        candidates: np.ndarray,
        item_vectors: np.ndarray,
    ):
        self.kind = kind
        self.objective = objective
        self.catalog = catalog
        check_catalog(catalog)
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        self.candidates = np.ascontiguousarray(candidates, dtype=np.float32)
        self.item_vectors = np.ascontiguousarray(item_vectors, dtype=np.float32)
        self._check_shapes()
        self.index = CatalogIndex(catalog)
        self.item_norms = np.sqrt(np.einsum("ij,ij->i", self.item_vectors, self.item_vectors))
        self.low, self.high = (float(x) for x in catalog.rating_scale)
        # A [D, I + 1] copy scores one query faster than the [I + 1, D] original
        # (bench/RESULTS.md); kept for catalogues up to TRANSPOSED_MAX_ITEMS only.
        self._candidates_by_dimension = (
            np.ascontiguousarray(self.candidates.T)
            if len(self.candidates) <= TRANSPOSED_MAX_ITEMS
            else None
        )
        self.ann: Any = None
        """movierec.kinds.ann.AnnIndex over `candidates` for large catalogues (else None)."""
        self.similar_ann: Any = None
        """movierec.kinds.ann.AnnIndex over `unit_items` for large catalogues (else None)."""
        # The three top lists are movierec.serving.top_lists.TopLists, which the serving
        # registry attaches: typed Any so that the kinds import nothing of serving.
        self.top_lists: Any = None
        """Each user's best unseen items, ranked after load for small versions
        (movierec.serving.top_lists; else None)."""
        self.similar_lists: Any = None
        """Each item's most similar items, ranked after load for small catalogues (else
        None)."""
        self.popular_list: Any = None
        """The popular well-rated items, ranked after load for small catalogues (else
        None)."""

    @functools.cached_property
    def unit_items(self) -> np.ndarray:
        """Item vectors scaled to unit length (zero rows stay zero), float32 [I + 1, E]:
        what exact SimilarItems compares. Built on first use, so that a catalogue answered
        from its approximate indexes never holds this copy."""
        norms = self.item_norms[:, None]
        return np.divide(
            self.item_vectors, norms, out=np.zeros_like(self.item_vectors), where=norms > 0
        )

    def unit_item(self, row: int) -> np.ndarray:
        """Row `row` of unit_items, without building unit_items."""
        norm = self.item_norms[row]
        vector = self.item_vectors[row]
        return vector / norm if norm > 0 else np.zeros_like(vector)

    def _check_shapes(self) -> None:
        users, items = self.catalog.num_users + 1, self.catalog.num_items + 1
        if self.queries.ndim != 2 or self.queries.shape[0] != users:
            raise ValueError(
                f"{self.kind}: user vectors have shape {self.queries.shape}, expected {users} rows"
            )
        if self.candidates.shape != (items, self.queries.shape[1]):
            raise ValueError(
                f"{self.kind}: item vectors have shape {self.candidates.shape}, expected"
                f" {(items, self.queries.shape[1])}"
            )
        if self.item_vectors.ndim != 2 or self.item_vectors.shape[0] != items:
            raise ValueError(f"{self.kind}: similarity vectors need {items} rows")
        for name in ("queries", "candidates", "item_vectors"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{self.kind}: {name} hold NaN or infinite values")

    def shown(self, raw: np.ndarray) -> np.ndarray:
        """Raw scores as a response shows them (a rating for rating versions), float32."""
        return np.asarray(raw, dtype=np.float32)

    def feature_query(self, features: UserFeatures) -> np.ndarray:
        """Query vector [D] of a user described by validated features.

        Raises:
            CannotScoreFeatures: the kind has no user tower.
        """
        raise CannotScoreFeatures(f"kind {self.kind!r} has no user tower")

    def rated_items(self, features: UserFeatures) -> tuple[np.ndarray, np.ndarray]:
        """(inner item rows int64 [n], ratings float32 [n]) of the features' rated items.

        Raises:
            UnknownItem: an item id the catalogue lacks (the first one).
        """
        if not features.item_ratings:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows = self.index.item_indices(list(features.item_ratings))
        return rows, np.fromiter(features.item_ratings.values(), np.float32, len(rows))

    def user_queries(
        self, rows: np.ndarray, timestamps: float | np.ndarray | None = None
    ) -> np.ndarray:
        """Query vectors [n, D] of user rows [n] in the request context of `timestamps`
        (unix seconds, one or one per row; None: the version's default). Only kinds that
        use context look at the timestamps."""
        del timestamps
        return self.queries.take(rows, axis=0)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Raw scores of every item, float32 [n, I + 1] for queries [n, D]."""
        if self._candidates_by_dimension is not None:
            return queries @ self._candidates_by_dimension
        return queries @ self.candidates.T

    def item_scores(self, query: np.ndarray, item_index: np.ndarray) -> np.ndarray:
        """Raw scores, float32 [m], of item rows `item_index` for one query [D]."""
        return self.candidates.take(item_index, axis=0) @ query

    def pair_scores(self, queries: np.ndarray, item_index: np.ndarray) -> np.ndarray:
        """Shown scores of item rows `item_index` [n] for queries [n, D]; ratings clipped
        to the scale for rating versions.
        """
        shown = self.shown(np.vecdot(queries, self.candidates.take(item_index, axis=0)))
        if self.objective == RATING:
            shown = shown.clip(self.low, self.high)
        return shown

    def probe(self) -> None:
        """Answers one real query of every kind a request can ask (scores of all items for
        the first user, a pair score, similar items, and a user described by features
        where the kind has a user tower) and checks every answer is finite.

        Raises:
            ValueError: an answer fails or is not finite.
        """
        first = self.queries[[1]]
        answers = {
            "recommend": self.shown(self.scores(first)[0, 1:]),
            "predict": self.pair_scores(first, np.array([1])),
            "similar items": self.item_vectors[1:] @ self.unit_item(1),
        }
        if self.supports_user_features:
            genre = str(self.catalog.genre_names[0]) if len(self.catalog.genre_names) else ""
            if genre:
                features = UserFeatures({genre: float(self.catalog.rating_scale[1])})
                answers["user features"] = self.scores(self.feature_query(features)[None])[0]
        for name, values in answers.items():
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{self.kind}: a {name} query answers NaN or infinite scores")

    def exclude_unrankable(self, scores: np.ndarray) -> None:
        """Sets the OOV column of scores [..., I + 1] to -inf, in place."""
        scores[..., OOV_INDEX] = -np.inf


@dataclasses.dataclass(frozen=True)
class KindParams:
    """Base of a kind's hyperparameters: frozen dataclass fields with defaults per
    objective (`defaults`), validated by `validate`.
    """

    @classmethod
    def defaults(cls, objective: str) -> dict[str, Any]:
        """Field values that differ from the dataclass defaults for `objective`."""
        del objective
        return {}

    @classmethod
    def shared_defaults(cls, objective: str) -> dict[str, Any]:
        """Values of the shared Hyperparameters (movierec.training.spec) that differ for this
        kind and `objective` from the defaults every kind starts from."""
        del objective
        return {}

    def validate(self, objective: str) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""

    @classmethod
    def build(cls, objective: str, overrides: dict[str, Any]) -> KindParams:
        """Defaults for `objective` with `overrides` (None values ignored), validated.

        Raises:
            InvalidRequest: an unknown field or an out-of-range value.
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise InvalidRequest(
                f"unknown {cls.__name__} fields: {', '.join(unknown)};"
                f" known: {', '.join(sorted(names))}"
            )
        values = {**cls.defaults(objective), **overrides}
        params = cls(**values)
        params.validate(objective)
        return params


def check(conditions: list[tuple[bool, str]]) -> None:
    """Raises InvalidRequest with the message of the first false condition."""
    for ok, message in conditions:
        if not ok:
            raise InvalidRequest(message)
