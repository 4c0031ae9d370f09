"""The serving data plane: validates requests, picks the version, calls its scorer.

It knows nothing of gRPC; the serving servicer unpacks protobuf, calls it and packs the
answer. Every answer carries the VersionInfo of the version that produced it. Kinds are
never named here: a version's scorer says what it can do.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from typing import Generic, TypeVar, cast

import numpy as np

from movierec.errors import IncompatibleVersions, InvalidRequest, ModelNotReady, NotFound
from movierec.kinds.base import RATING, RETRIEVAL, CannotScoreFeatures
from movierec.kinds.evaluation import evaluate_ranking, version_metrics
from movierec.kinds.features import UserFeatures, check_user_features
from movierec.kinds.two_stage import (
    MAX_CANDIDATES,
    POPULARITY,
    check_same_data,
    same_catalogue,
    score_function,
)
from movierec.kinds.versions import LoadedVersion, VersionInfo
from movierec.serving.registry import ModelRegistry, ModelState
from movierec.serving.scoring import check_k, top_k
from movierec.serving.top_lists import TopLists
from movierec.store.catalog import (
    CatalogIndex,
    ScoredItem,
    relevance_threshold,
)
from movierec.store.vocab import OOV_INDEX

T = TypeVar("T")

DEFAULT_METRICS_K = 10
STORED_METRICS_K = 10
MODEL, USER_FEATURES, POPULAR = "model", "user_features", "popular"
"""How an answer was made: by the model for a user it knows, by its user tower from
features, or by the popularity fallback."""
_CACHED_EVALUATIONS = 64
DEFAULT_LISTED_IDS = 100_000
MAX_LISTED_IDS = 1_000_000
"""ListIds: ids of each list returned by default and at most (8 MB of int64 each)."""
MOST_POPULAR = "most-popular"
"""The name answers give the popularity baseline and candidate source."""


_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_ROWS.setflags(write=False)


def _item_rows(index: CatalogIndex, item_ids: Sequence[int]) -> np.ndarray:
    """Inner rows of the raw item ids a catalogue knows (unknown ones are dropped)."""
    if not len(item_ids):
        return _NO_ROWS
    rows, known = index.items.lookup(np.asarray(item_ids, dtype=np.int64))
    return rows[known]


def request_time(timestamp: float | None) -> float:
    """The time a request is answered at: `timestamp` (unix seconds), else now.

    Raises:
        InvalidRequest: a negative or non-finite timestamp.
    """
    if timestamp is None:
        return time.time()
    if not (math.isfinite(timestamp) and timestamp >= 0):
        raise InvalidRequest(f"context.timestamp must be finite unix seconds >= 0, got {timestamp}")
    return float(timestamp)


@dataclasses.dataclass(slots=True)
class Answer(Generic[T]):
    """A result and the version that produced it.

    Answer, Ranked, Recommendation and Prediction are built on every call, so they are
    slotted and not frozen: a frozen dataclass's __init__ sets each field through
    object.__setattr__, several times slower (bench/RESULTS.md, "Measurements behind
    choices in the code").
    """

    model: VersionInfo
    value: T


@dataclasses.dataclass(slots=True)
class Ranked:
    """Top items as arrays, best first: inner item rows and the scores shown for them.
    `items` builds ScoredItem objects (titles, genres, years) for library users; the
    serving transport encodes straight from the arrays. Answered from top lists
    (movierec.serving.top_lists), the arrays are read-only views of them: copy before changing.
    """

    rows: np.ndarray
    scores: np.ndarray
    index: CatalogIndex
    list_key: tuple[int, int] | None = dataclasses.field(default=None, kw_only=True)
    """(serial, row) of the top list whose first entries these are, unchanged: what is
    derived from them may be cached under it (the same key and length always give the
    same rows and scores). None when answered otherwise."""

    @property
    def items(self) -> list[ScoredItem]:
        """The items with their metadata, best first."""
        return self.index.scored_items(self.rows, self.scores)


@dataclasses.dataclass(slots=True)
class Recommendation(Ranked):
    """A top-k list and how it was made (MODEL, USER_FEATURES or POPULAR, with the reason
    for the fallback).
    """

    strategy: str = MODEL
    reason: str = ""
    candidates_from: VersionInfo | None = None
    """For a two-stage answer, the version (or most-popular) that gave the candidates."""


@dataclasses.dataclass(slots=True)
class Prediction:
    """Scores of user-item pairs, in request order.

    Attributes:
        scores: float32 [n]: ratings (clipped to the scale) when is_rating, else relevance.
        is_rating: True for rating versions.
        strategy: The least personalised strategy any instance needed.
        fallback: Indices of the instances the fallback answered.
    """

    scores: np.ndarray
    is_rating: bool
    strategy: str
    fallback: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Metrics of one version on its held-out split."""

    model: VersionInfo
    split: str
    num_ratings: int
    values: dict[str, float]


@dataclasses.dataclass(frozen=True)
class VersionIds:
    """Raw ids a version knows, ascending, or an evenly spaced selection of them.

    Attributes:
        user_ids: int64 [u], users of the training data.
        user_rating_counts: int64 [u], training ratings of each.
        item_ids: int64 [i], items the version scores.
        num_users: Users the version knows (>= u).
        num_items: Items the version knows (>= i).
    """

    user_ids: np.ndarray
    user_rating_counts: np.ndarray
    item_ids: np.ndarray
    num_users: int
    num_items: int


def evenly_spaced(n: int, limit: int) -> np.ndarray:
    """Positions of at most `limit` of n sorted entries, evenly spaced from the first,
    int64 [min(n, limit)] (all n when they fit)."""
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.arange(limit, dtype=np.int64) * n // limit


class ServingDataPlane:
    """Answers serving requests from the versions a registry holds.

    Args:
        registry: Loaded versions.
        max_k: Largest k accepted by Recommend, SimilarItems and Metrics.
        max_batch: Largest Predict batch.
    """

    def __init__(self, registry: ModelRegistry, max_k: int = 1000, max_batch: int = 10_000):
        self.registry = registry
        self.max_k = max_k
        self.max_batch = max_batch
        self._evaluations: collections.OrderedDict[tuple, dict[str, float]] = (
            collections.OrderedDict()
        )
        self._evaluations_lock = threading.Lock()

    def predict(
        self,
        model: str,
        version: int,
        user_ids: Sequence[int | None],
        item_ids: Sequence[int],
        features: Sequence[UserFeatures | None] | None = None,
        timestamp: float | None = None,
    ) -> Answer[Prediction]:
        """Scores of user-item pairs (raw ids); instance i is user_ids[i] or, when that is
        None, features[i]; at `timestamp` (unix seconds, None: now) for kinds that take
        context.

        Users of the dataset absent from the version's training data, and feature-described
        users of a kind without a user tower, get the fallback: the item's mean training
        rating (rating versions) or its training rating count (retrieval versions).

        Raises:
            InvalidRequest: empty or oversized batch, an instance without a user, bad
                features, a negative or non-finite timestamp.
            UnknownUser, UnknownItem: naming the first id the dataset does not have.
        """
        when = request_time(timestamp)
        n = len(item_ids)
        if not 1 <= n <= self.max_batch:
            raise InvalidRequest(
                f"a Predict batch must hold 1 to {self.max_batch} instances, got {n}"
            )
        described = features is not None and any(f is not None for f in features)
        if len(user_ids) != n or (features is not None and len(features) != n):
            raise InvalidRequest("every Predict instance needs one user and one item")
        loaded = self.registry.get(model, version)
        scorer = loaded.scorer
        index = scorer.index
        items = index.item_indices(item_ids)
        if not described:  # every instance names its user by id: no per-instance work
            if None in user_ids:
                raise InvalidRequest(f"Predict instance {list(user_ids).index(None)} names no user")
            rows = index.user_indices(cast(Sequence[int], user_ids))  # no None: checked
            queries = scorer.user_queries(rows, when)
            fallback = rows == OOV_INDEX
            strategy = MODEL
        else:
            assert features is not None
            by_id = np.array([f is None for f in features], dtype=bool)
            ids = [u for u, f in zip(user_ids, features, strict=True) if f is None]
            if any(u is None for u in ids):
                raise InvalidRequest(f"Predict instance {ids.index(None)} names no user")
            rows = np.zeros(n, dtype=np.int64)
            rows[by_id] = index.user_indices(cast(list[int], ids))  # no None: checked
            queries = scorer.user_queries(rows, when)
            fallback = by_id & (rows == OOV_INDEX)
            for i in np.flatnonzero(~by_id).tolist():
                user = features[i]
                assert user is not None
                check_user_features(user, scorer.catalog)
                try:
                    queries[i] = scorer.feature_query(user)
                except CannotScoreFeatures:
                    fallback[i] = True
            strategy = USER_FEATURES
        scores = scorer.pair_scores(queries, items)
        is_rating = loaded.objective == RATING
        fallen = tuple(np.flatnonzero(fallback).tolist()) if fallback.any() else ()
        if fallen:
            table = scorer.catalog.item_mean_rating if is_rating else scorer.catalog.popularity
            scores[fallback] = table[items[fallback]]
            strategy = POPULAR
        prediction = Prediction(scores.astype(np.float32, copy=False), is_rating, strategy, fallen)
        return Answer(loaded.info, prediction)

    def recommend(
        self,
        model: str,
        version: int,
        user_id: int | None,
        k: int,
        include_seen: bool = False,
        exclude_item_ids: Sequence[int] = (),
        features: UserFeatures | None = None,
        num_candidates: int = 0,
        timestamp: float | None = None,
    ) -> Answer[Recommendation]:
        """Top-k items for a user (raw id) or a feature-described user, best first,
        excluding the user's training ratings unless include_seen, and `exclude_item_ids`
        always.

        A ranking version answers in two stages (movierec.kinds.two_stage): it takes the top
        max(k, num_candidates) unseen, unexcluded items of its candidate source (0: the
        version's num_candidates) and orders them by its own score; a user it cannot score
        keeps the first stage's order. The Recommendation names the candidate version.
        Kinds that take context score at `timestamp` (unix seconds; None: now).

        Raises:
            InvalidRequest: k or num_candidates out of range, no user given, bad features,
                a negative or non-finite timestamp.
            UnknownUser: the dataset has no such user.
            ModelNotReady: a ranking version's candidate model is not loaded.
            IncompatibleVersions: its serving version was trained for another objective
                or on other data.
        """
        check_k(k, self.max_k)
        when = request_time(timestamp)
        if not 0 <= num_candidates <= MAX_CANDIDATES:
            raise InvalidRequest(
                f"num_candidates must be 0 (the version's) to {MAX_CANDIDATES}, got"
                f" {num_candidates}"
            )
        loaded = self.registry.get(model, version)
        if loaded.scorer.candidate_model is None:
            recommendation = self._one_stage(
                loaded, user_id, k, include_seen, exclude_item_ids, features, when
            )
        else:
            recommendation = self._two_stage(
                loaded, user_id, k, include_seen, exclude_item_ids, features, num_candidates, when
            )
        return Answer(loaded.info, recommendation)

    def _one_stage(
        self,
        loaded: LoadedVersion,
        user_id: int | None,
        k: int,
        include_seen: bool,
        exclude_item_ids: Sequence[int],
        features: UserFeatures | None,
        when: float,
        popular: bool = False,
    ) -> Recommendation:
        """Recommend by one version's scores (by popularity alone when `popular`)."""
        scorer = loaded.scorer
        index = scorer.index
        extra = _item_rows(index, exclude_item_ids)
        query: np.ndarray | None = None
        seen = _NO_ROWS
        strategy, reason = MODEL, ""
        if features is not None:
            check_user_features(features, scorer.catalog)
            if not include_seen:
                seen = scorer.rated_items(features)[0]
            try:
                query, strategy = scorer.feature_query(features), USER_FEATURES
            except CannotScoreFeatures as error:
                strategy, reason = POPULAR, f"{error}; answered with popular well-rated items"
        elif user_id is None:
            raise InvalidRequest("Recommend needs a user_id or user_features")
        else:
            user = index.user_index(user_id)
            if user == OOV_INDEX:
                strategy = POPULAR
                reason = (
                    f"user {user_id} is not in the training data of {loaded.name} version"
                    f" {loaded.version}; answered with popular well-rated items"
                )
            else:
                lists: TopLists | None = scorer.top_lists
                if lists is not None and not include_seen and not popular:
                    listed = lists.top(user, k, extra)
                    if listed is not None:
                        best, raw_best = listed
                        key = None if len(extra) else (lists.serial, user)
                        return Recommendation(
                            best, scorer.shown(raw_best), index, strategy, reason, list_key=key
                        )
                query = (
                    scorer.user_queries(np.array([user]), when)[0]
                    if scorer.uses_context
                    else scorer.queries[user]
                )
                if not include_seen:
                    seen = scorer.catalog.seen(user)
        if popular:
            query, strategy = None, POPULAR
        excluded = np.concatenate([seen, extra]) if len(extra) else seen
        if query is None and scorer.popular_list is not None:
            popular_list: TopLists = scorer.popular_list
            listed = popular_list.top(0, k, excluded)
            if listed is not None:
                key = None if len(excluded) else (popular_list.serial, 0)
                return Recommendation(*listed, index, strategy, reason, list_key=key)
        if query is not None and scorer.ann is not None:
            best, raw_best = scorer.ann.top_k(query, k, excluded)
            return Recommendation(best, scorer.shown(raw_best), index, strategy, reason)
        if query is not None:
            raw = scorer.scores(query[None, :])[0]
            scorer.exclude_unrankable(raw)
        else:
            raw = index.fallback_scores.copy()
        raw[excluded] = -np.inf
        best = top_k(raw, k)
        shown = scorer.shown(raw[best]) if query is not None else raw[best]
        return Recommendation(best, shown, index, strategy, reason)

    def _two_stage(
        self,
        loaded: LoadedVersion,
        user_id: int | None,
        k: int,
        include_seen: bool,
        exclude_item_ids: Sequence[int],
        features: UserFeatures | None,
        num_candidates: int,
        when: float,
    ) -> Recommendation:
        """Recommend for a ranking version: its candidate source's top items, re-scored."""
        scorer = loaded.scorer
        index = scorer.index
        wanted = max(k, num_candidates or scorer.num_candidates)
        if scorer.candidate_model == POPULARITY:
            source = VersionInfo(MOST_POPULAR, 0, POPULARITY, RETRIEVAL)
            first = self._one_stage(
                loaded, user_id, wanted, include_seen, exclude_item_ids, features, when, True
            )
        else:
            first_loaded = self._candidate_version(loaded)
            source = first_loaded.info
            first = self._one_stage(
                first_loaded, user_id, wanted, include_seen, exclude_item_ids, features, when
            )
            ids = first.index.catalog.item_ids[first.rows - 1]
            rows, known = index.items.lookup(ids)
            first = dataclasses.replace(
                first, rows=rows[known], scores=first.scores[known], list_key=None
            )
        rows = first.rows
        user = OOV_INDEX if user_id is None else index.user_index(user_id)
        if user == OOV_INDEX:
            reason = first.reason or (
                f"{loaded.name} version {loaded.version} cannot score a user described by"
                " features; candidates in the first stage's order"
            )
            kept = rows[:k]
            shown = first.scores[:k]
            return Recommendation(kept, shown, index, first.strategy, reason, source)
        raw = np.full(len(scorer.candidates), -np.inf, dtype=np.float32)
        raw[rows] = scorer.item_scores(scorer.user_queries(np.array([user]), when)[0], rows)
        best = top_k(raw, k)
        return Recommendation(best, scorer.shown(raw[best]), index, MODEL, "", source)

    def _candidate_version(self, loaded: LoadedVersion) -> LoadedVersion:
        """The serving version of a ranking version's candidate model, checked to be a
        retrieval version trained on the same data.

        Raises:
            ModelNotReady: it is not loaded.
            IncompatibleVersions: it was trained otherwise.
        """
        source = loaded.scorer.candidate_model
        assert source is not None
        label = f"{loaded.name} version {loaded.version} takes candidates from model {source!r}"
        try:
            first = self.registry.get(source)
        except (NotFound, ModelNotReady) as error:
            raise ModelNotReady(f"{label}, which cannot answer: {error}") from None
        check_same_data(
            loaded.manifest, first.manifest, f"model {first.name} version {first.version}"
        )
        return first

    def similar_items(
        self, model: str, version: int, item_id: int, k: int
    ) -> Answer[list[ScoredItem]]:
        """Top-k items by cosine similarity of item vectors to `item_id` (raw id), most
        similar first, never the item itself.

        Raises:
            InvalidRequest: k out of range.
            UnknownItem: the item is not in the version's training data.
        """
        answer = self.similar_rows(model, version, item_id, k)
        return Answer(answer.model, answer.value.items)

    def similar_rows(self, model: str, version: int, item_id: int, k: int) -> Answer[Ranked]:
        """similar_items as arrays (see Ranked)."""
        check_k(k, self.max_k)
        loaded = self.registry.get(model, version)
        scorer = loaded.scorer
        item = scorer.index.item_index(item_id)
        if scorer.similar_ann is not None:
            best, similar = scorer.similar_ann.top_k(
                scorer.unit_item(item), k, np.array([item], dtype=np.int64)
            )
            return Answer(loaded.info, Ranked(best, similar, scorer.index))
        lists: TopLists | None = scorer.similar_lists
        listed = lists.top(item, k) if lists is not None else None
        if listed is not None:
            assert lists is not None
            key = (lists.serial, item)
            return Answer(loaded.info, Ranked(*listed, scorer.index, list_key=key))
        similarity = scorer.unit_items @ scorer.unit_items[item]
        similarity[[OOV_INDEX, item]] = -np.inf
        best = top_k(similarity, k)
        return Answer(loaded.info, Ranked(best, similarity[best], scorer.index))

    def evaluate(
        self,
        model: str,
        version: int,
        k: int = 0,
        baseline_name: str | None = None,
        baseline_version: int | None = None,
        threshold: float | None = None,
    ) -> tuple[Evaluation, Evaluation | None, Evaluation]:
        """Metrics of a loaded version on its held-out split at cut-off k (0: 10) and
        relevance threshold (None: the catalogue's, movierec.store.catalog.relevance_threshold:
        4 on a 1 to 5 scale, none for implicit feedback), of an optional baseline (a
        version of the same model, or of another model trained on the same split;
        baseline_name empty means the same model), and of most-popular on the same split.
        Figures stored at publish time (k 10, the catalogue's threshold) are returned at
        once; others are computed once per version, k and threshold, then cached.

        Raises:
            InvalidRequest: k or threshold out of range, a threshold for a version of
                implicit feedback, or a baseline on another split.
            UnknownVersion: a version that is not loaded.
        """
        k = k or min(DEFAULT_METRICS_K, self.max_k)
        check_k(k, self.max_k)
        loaded = self.registry.get(model, version)
        catalog = loaded.scorer.catalog
        low, high = (float(x) for x in catalog.rating_scale)
        if threshold is not None and catalog.implicit:
            raise InvalidRequest(
                f"relevance_threshold does not apply to {loaded.name} version {loaded.version}:"
                " it was trained on implicit feedback (no ratings), where every held-out"
                " interaction is relevant"
            )
        threshold = relevance_threshold(catalog) if threshold is None else float(threshold)
        if not catalog.implicit and not (math.isfinite(threshold) and low <= threshold <= high):
            raise InvalidRequest(
                f"relevance_threshold must be on the rating scale {low:g} to {high:g},"
                f" got {threshold}"
            )
        evaluation = self._evaluation(loaded, k, threshold)
        compared = None
        if baseline_version is not None:
            other = self.registry.get(baseline_name or model, baseline_version)
            if other.manifest.get("split") != loaded.manifest.get("split") or (
                other.manifest.get("data_fingerprint") != loaded.manifest.get("data_fingerprint")
            ):
                raise InvalidRequest(
                    f"baseline {other.name} version {other.version} was trained on"
                    f" {other.manifest.get('split')!r}, not on the same data as {loaded.name}"
                    f" version {loaded.version} ({loaded.manifest.get('split')!r})"
                )
            compared = self._evaluation(other, k, threshold)
        return evaluation, compared, self._popularity(loaded, k, threshold)

    def _evaluation(self, loaded: LoadedVersion, k: int, threshold: float) -> Evaluation:
        return Evaluation(
            model=loaded.info,
            split=str(loaded.manifest.get("split", "")),
            num_ratings=len(loaded.scorer.catalog.test_ratings),
            values=self._metrics(loaded, k, threshold),
        )

    def _popularity(self, loaded: LoadedVersion, k: int, threshold: float) -> Evaluation:
        catalog = loaded.scorer.catalog

        def compute() -> dict[str, float]:
            counts = catalog.popularity.astype(np.float32)
            return evaluate_ranking(
                lambda users: np.tile(counts, (len(users), 1)), catalog, k, threshold
            )

        return Evaluation(
            model=VersionInfo(MOST_POPULAR, 0, POPULARITY, RETRIEVAL),
            split=str(loaded.manifest.get("split", "")),
            num_ratings=len(catalog.test_ratings),
            values=self._cached(
                (MOST_POPULAR, loaded.name, loaded.version, id(loaded), k, threshold), compute
            ),
        )

    def _metrics(self, loaded: LoadedVersion, k: int, threshold: float) -> dict[str, float]:
        if loaded.scorer.candidate_model is not None:
            return self._two_stage_metrics(loaded, k, threshold)
        stored = loaded.manifest.get("metrics")
        if (
            k == STORED_METRICS_K
            and threshold == relevance_threshold(loaded.scorer.catalog)
            and isinstance(stored, dict)
            and f"ndcg@{k}" in stored
        ):
            return {str(name): float(value) for name, value in stored.items()}
        key = (loaded.name, loaded.version, id(loaded), k, threshold)
        return self._cached(key, lambda: version_metrics(loaded.scorer, k, threshold))

    def _two_stage_metrics(
        self, loaded: LoadedVersion, k: int, threshold: float
    ) -> dict[str, float]:
        """Metrics of the lists two-stage Recommend gives now: with the candidate version
        serving now, which may not be the one the version was evaluated with at publish."""
        scorer = loaded.scorer
        first: LoadedVersion | None = None
        source = {"model": POPULARITY, "version": 0}
        if scorer.candidate_model != POPULARITY:
            first = self._candidate_version(loaded)
            if not same_catalogue(scorer, first.scorer):
                raise IncompatibleVersions(
                    f"{first.name} version {first.version} indexes other users or items than"
                    f" {loaded.name} version {loaded.version}"
                )
            source = {"model": first.name, "version": first.version}
        stored = loaded.manifest.get("metrics")
        if (
            k == STORED_METRICS_K
            and threshold == relevance_threshold(scorer.catalog)
            and loaded.manifest.get("candidates_from") == source
            and isinstance(stored, dict)
        ):
            return {str(name): float(value) for name, value in stored.items()}
        score_fn = score_function(
            scorer, None if first is None else first.scorer, max(k, scorer.num_candidates)
        )
        key = (loaded.name, loaded.version, id(loaded), id(first), k, threshold)
        return self._cached(key, lambda: version_metrics(scorer, k, threshold, score_fn))

    def _cached(self, key: tuple, compute) -> dict[str, float]:
        with self._evaluations_lock:
            if key in self._evaluations:
                self._evaluations.move_to_end(key)
                return dict(self._evaluations[key])
        values = compute()
        with self._evaluations_lock:
            self._evaluations[key] = values
            while len(self._evaluations) > _CACHED_EVALUATIONS:
                self._evaluations.popitem(last=False)
        return dict(values)

    def status(self, model: str = "") -> list[ModelState]:
        """Serving state of one model or all."""
        return self.registry.status(model)

    def list_ids(self, model: str, version: int, max_ids: int = 0) -> Answer[VersionIds]:
        """The raw ids of the users (with their training rating counts) and the items a
        version knows: at most `max_ids` of each (0: DEFAULT_LISTED_IDS), evenly spaced.

        Raises:
            InvalidRequest: max_ids out of range.
        """
        if not 0 <= max_ids <= MAX_LISTED_IDS:
            raise InvalidRequest(f"max_ids must be 0 to {MAX_LISTED_IDS}, got {max_ids}")
        limit = max_ids or DEFAULT_LISTED_IDS
        loaded = self.registry.get(model, version)
        catalog = loaded.scorer.index.catalog
        users = evenly_spaced(catalog.num_users, limit)
        items = evenly_spaced(catalog.num_items, limit)
        counts = np.diff(catalog.seen_indptr)[1:]  # row 0 is out of vocabulary
        ids = VersionIds(
            catalog.user_ids[users],
            counts[users],
            catalog.item_ids[items],
            catalog.num_users,
            catalog.num_items,
        )
        return Answer(loaded.info, ids)

    def set_serving_version(
        self, model: str, version: int = 0, rollback: bool = False, reason: str = ""
    ) -> ModelState:
        """Pins a version, follows the newest again (version 0), or rolls back; see
        ModelRegistry.set_policy."""
        return self.registry.set_policy(model, version, rollback, reason)
