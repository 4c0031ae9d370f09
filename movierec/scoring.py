"""Numpy scoring of a serving bundle: predictions, top-k recommendations, similar items.

Nothing here imports TensorFlow: the serving process runs on these preloaded float32 arrays,
and its scores equal the Keras model's (tests/test_training.py holds them to 1e-5).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from movierec import metrics
from movierec.bundle import Bundle
from movierec.errors import InvalidRequest, UnknownItem, UnknownUser
from movierec.vocab import OOV_INDEX, IdVocabulary


@dataclasses.dataclass(frozen=True)
class ScoredItem:
    """An item with its metadata and the score that ranked it (raw item id)."""

    item_id: int
    title: str
    genres: tuple[str, ...]
    year: int
    score: float


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest finite scores, best first (fewer when fewer are finite).

    Args:
        scores: Scores, shape [n]; -inf marks excluded entries.
        k: How many to return, >= 1.

    Returns:
        int64 indices into `scores`, shape [min(k, finite count)], ties broken by index.
    """
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > k:
        values = scores[finite]
        kth_largest = np.partition(values, len(values) - k)[len(values) - k]
        finite = finite[values >= kth_largest]
    order = np.lexsort((finite, -scores[finite]))[:k]
    return finite[order].astype(np.int64)


class DotScorer:
    """Scores a biased dot-product model from its bundle arrays.

    rating(u, i) = out(P[u] · Q[i] + b_u + b_i + g), where out is the identity ("linear")
    or lo + (hi - lo) * sigmoid(x) ("sigmoid"); rows 0 of P, Q and the biases are the zero
    out-of-vocabulary rows.

    Args:
        bundle: Arrays loaded by movierec.bundle.load_bundle.
    """

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.users = IdVocabulary(bundle.user_ids)
        self.items = IdVocabulary(bundle.item_ids)
        self.user_embeddings = bundle.user_embeddings
        self.item_embeddings = bundle.item_embeddings
        self.user_bias = bundle.user_bias
        self.item_bias = bundle.item_bias
        self.global_bias = np.float32(bundle.global_bias)
        self.low, self.high = (float(x) for x in bundle.rating_scale)
        self.output = bundle.output
        norms = np.linalg.norm(self.item_embeddings, axis=1, keepdims=True)
        self.unit_items = np.divide(
            self.item_embeddings, norms, out=np.zeros_like(self.item_embeddings), where=norms > 0
        )
        genre_names = np.asarray(bundle.genre_names)
        self.item_genres = [tuple(genre_names[row]) for row in bundle.item_genre_flags]
        self._test_metrics: dict[str, float] | None = None

    def _transform(self, raw: np.ndarray) -> np.ndarray:
        if self.output == "sigmoid":
            return (self.low + (self.high - self.low) / (1.0 + np.exp(-raw))).astype(np.float32)
        return raw.astype(np.float32)

    def raw_scores(self, user_index: np.ndarray, item_index: np.ndarray) -> np.ndarray:
        """Model outputs before clipping for inner index pairs, shapes [n] -> [n] float32."""
        dots = np.einsum(
            "nd,nd->n", self.user_embeddings[user_index], self.item_embeddings[item_index]
        )
        raw = dots + self.user_bias[user_index] + self.item_bias[item_index] + self.global_bias
        return self._transform(raw)

    def user_index(self, user_id: int) -> int:
        """Inner index of a raw user id. Raises UnknownUser."""
        index, known = self.users.lookup(np.array([user_id]))
        if not known[0]:
            raise UnknownUser(user_id)
        return int(index[0])

    def item_index(self, item_id: int) -> int:
        """Inner index of a raw item id. Raises UnknownItem."""
        index, known = self.items.lookup(np.array([item_id]))
        if not known[0]:
            raise UnknownItem(item_id)
        return int(index[0])

    def predict(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """Predicted ratings, clipped to the rating scale.

        Args:
            user_ids: Raw user ids, shape [n].
            item_ids: Raw item ids, shape [n].

        Returns:
            float32 ratings, shape [n].

        Raises:
            UnknownUser, UnknownItem: naming the first id the model was not trained on.
        """
        user_index, user_known = self.users.lookup(user_ids)
        item_index, item_known = self.items.lookup(item_ids)
        if not user_known.all():
            raise UnknownUser(int(np.asarray(user_ids)[~user_known][0]))
        if not item_known.all():
            raise UnknownItem(int(np.asarray(item_ids)[~item_known][0]))
        return np.clip(self.raw_scores(user_index, item_index), self.low, self.high)

    def recommend(
        self,
        user_id: int,
        k: int,
        include_seen: bool = False,
        exclude_item_ids: np.ndarray | None = None,
    ) -> list[ScoredItem]:
        """Top-k items for a known user, by predicted rating (unclipped), best first.

        Args:
            user_id: Raw user id.
            k: Number of items, >= 1.
            include_seen: Keep items the user rated in the training split.
            exclude_item_ids: Raw item ids never to return; unknown ones are ignored.

        Raises:
            UnknownUser: the user is not in the training data.
        """
        user = self.user_index(user_id)
        raw = self.item_embeddings @ self.user_embeddings[user] + self.item_bias
        raw = raw + (self.user_bias[user] + self.global_bias)
        raw[OOV_INDEX] = -np.inf
        if not include_seen:
            start, stop = self.bundle.seen_indptr[user], self.bundle.seen_indptr[user + 1]
            raw[self.bundle.seen_items[start:stop]] = -np.inf
        if exclude_item_ids is not None and len(exclude_item_ids):
            index, known = self.items.lookup(exclude_item_ids)
            raw[index[known]] = -np.inf
        best = top_k(raw, k)
        return self._scored(best, self._transform(raw[best]))

    def similar_items(self, item_id: int, k: int) -> list[ScoredItem]:
        """Top-k items by cosine similarity of item embeddings, excluding the item itself.

        Raises:
            UnknownItem: the item is not in the training data.
        """
        item = self.item_index(item_id)
        similarity = self.unit_items @ self.unit_items[item]
        similarity[[OOV_INDEX, item]] = -np.inf
        best = top_k(similarity, k)
        return self._scored(best, similarity[best])

    def _scored(self, indices: np.ndarray, scores: np.ndarray) -> list[ScoredItem]:
        bundle = self.bundle
        return [
            ScoredItem(
                item_id=int(bundle.item_ids[index - 1]),
                title=str(bundle.item_titles[index - 1]),
                genres=self.item_genres[index - 1],
                year=int(bundle.item_years[index - 1]),
                score=float(score),
            )
            for index, score in zip(indices, scores, strict=True)
        ]

    def test_predictions(self) -> np.ndarray:
        """Clipped predictions for the held-out split; ids unseen in training use row 0."""
        user_index, _ = self.users.lookup(self.bundle.test_user_ids)
        item_index, _ = self.items.lookup(self.bundle.test_item_ids)
        return np.clip(self.raw_scores(user_index, item_index), self.low, self.high)

    def evaluate(self, k: int = 10) -> dict[str, float]:
        """Accuracy metrics on the held-out split ({"rmse", "mae"}), computed once."""
        del k  # ranking metrics at k arrive with their own issue
        if self._test_metrics is None:
            self._test_metrics = metrics.accuracy_metrics(
                self.bundle.test_ratings, self.test_predictions()
            )
        return dict(self._test_metrics)


def check_k(k: int, max_k: int) -> None:
    """Raises InvalidRequest unless 1 <= k <= max_k."""
    if not 1 <= k <= max_k:
        raise InvalidRequest(f"k must be between 1 and {max_k}, got {k}")
