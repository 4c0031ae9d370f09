"""Kind "ranking_context", numpy half: the TensorFlow Recommenders notebook's enriched
ranking model. Besides the user and item embeddings, the head sees the rating's time (an
embedding of its bucket among `time_buckets` equal spans of the training period, and the
timestamp standardised) and the film's title (the mean of its title tokens' embeddings).

Title tokens are resolved when the version is exported: each item's title vector is
stored, so serving needs no text vectoriser and folds it into the item half of the first
layer. The time features are the request's context: the user half of the first layer is
stored for the default context (the end of the training period; a later time, "now"
included, is treated as that end, since the model never saw one) and a request at another
time adds the difference.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from movierec.kinds.base import check
from movierec.kinds.ranking import RankingParams, RankingScorer

WEIGHT_ARRAYS = (
    "user_embeddings",
    "item_embeddings",
    "title_vectors",
    "bucket_embeddings",
    "time_boundaries",
    "time_stats",
    "output_kernel",
    "output_bias",
)
MAX_TITLE_TOKENS = 16
MAX_VOCABULARY = 10_000
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class ContextRankingParams(RankingParams):
    """Hyperparameters of ranking_context: those of ranking and one more.

    Attributes:
        time_buckets: Equal spans the training period is cut into (the notebook's 1,000).
    """

    time_buckets: int = 1000

    def validate(self, objective: str) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""
        super().validate(objective)
        check(
            [
                (
                    2 <= self.time_buckets <= 100_000,
                    f"time_buckets must be 2 to 100000, got {self.time_buckets}",
                )
            ]
        )


def title_tokens(titles: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Token ids [len(titles) + 1, MAX_TITLE_TOKENS] (row 0, the OOV item, and padding are
    0) and the vocabulary (id n is vocabulary[n - 1]): lower-cased runs of letters and
    digits, the notebook's standardisation, most frequent first (ties alphabetical), at
    most MAX_VOCABULARY; rarer tokens are dropped."""
    tokenised = [_TOKEN.findall(str(title).lower())[:MAX_TITLE_TOKENS] for title in titles]
    counts: dict[str, int] = {}
    for tokens in tokenised:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    vocabulary = sorted(counts, key=lambda t: (-counts[t], t))[:MAX_VOCABULARY]
    ids = {token: n + 1 for n, token in enumerate(vocabulary)}
    table = np.zeros((len(titles) + 1, MAX_TITLE_TOKENS), dtype=np.int32)
    for row, tokens in enumerate(tokenised, start=1):
        known = [ids[t] for t in tokens if t in ids]
        table[row, : len(known)] = known
    return table, vocabulary


def timestamp_stats(timestamps: np.ndarray) -> np.ndarray:
    """(mean, std, min, max) float64 [4] of training timestamps (std 1 when all are equal)."""
    values = np.asarray(timestamps, dtype=np.float64)
    return np.array(
        [values.mean(), float(values.std()) or 1.0, values.min(), values.max()], dtype=np.float64
    )


def time_scale(stats: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(boundaries float64 [buckets - 1] cutting [min, max] into equal spans, stats
    float64 [4]: mean, std, min, max) from training timestamps' timestamp_stats."""
    boundaries = np.linspace(stats[2], stats[3], buckets + 1)[1:-1]
    return boundaries, np.asarray(stats, dtype=np.float64)


def time_features(
    timestamps: np.ndarray | float, boundaries: np.ndarray, stats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(bucket int32 [n] in 0..len(boundaries), standardised time float32 [n]) of unix
    timestamps, each first clipped to the training period. Training and serving both
    compute them here, so that they agree exactly."""
    values = np.clip(np.atleast_1d(np.asarray(timestamps, dtype=np.float64)), stats[2], stats[3])
    buckets = np.searchsorted(boundaries, values, side="right").astype(np.int32)
    standardised = ((values - stats[0]) / stats[1]).astype(np.float32)
    return buckets, standardised


class ContextRankingScorer(RankingScorer):
    """RankingScorer whose first layer also takes the title vector (folded into the item
    half) and the time features (the user half holds those of the default time, the
    training period's end; user_queries adds the difference for another time).

    Args:
        weights: WEIGHT_ARRAYS plus hidden_kernel_<n> and hidden_bias_<n>, as exported by
            movierec.training.kinds.ranking_context.
        catalog: The version's catalogue.
        candidate_model: The version's candidate source.
        num_candidates: Candidates taken from it per Recommend.
    """

    uses_context = True
    KIND = "ranking_context"

    def _first_layer_halves(
        self, weights: dict[str, np.ndarray], kernel: np.ndarray, bias: np.ndarray, kind: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """First-layer input: [user, item, title, time bucket, standardised time]."""
        users = np.asarray(weights["user_embeddings"], dtype=np.float32)
        items = np.asarray(weights["item_embeddings"], dtype=np.float32)
        titles = np.asarray(weights["title_vectors"], dtype=np.float32)
        buckets = np.asarray(weights["bucket_embeddings"], dtype=np.float32)
        self.time_boundaries = np.asarray(weights["time_boundaries"], dtype=np.float64)
        self.time_stats = np.asarray(weights["time_stats"], dtype=np.float64)
        widths = [users.shape[1], items.shape[1], titles.shape[1], buckets.shape[1], 1]
        if kernel.shape[0] != sum(widths) or titles.shape[0] != items.shape[0]:
            raise ValueError(
                f"{kind}: the first layer takes {kernel.shape[0]} inputs, expected {sum(widths)}"
            )
        if len(buckets) != len(self.time_boundaries) + 1 or self.time_stats.shape != (4,):
            raise ValueError(f"{kind}: time buckets and boundaries disagree")
        starts = np.cumsum([0, *widths])
        user_part, item_part, title_part, bucket_part, time_part = (
            kernel[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)
        )
        self.bucket_projection = buckets @ bucket_part
        self.time_projection = time_part[0]
        self.default_context = self._context(self.time_stats[3])[0]
        queries = users @ user_part + self.default_context
        candidates = items @ item_part + titles @ title_part + bias
        return queries, candidates

    def _context(self, timestamps: np.ndarray | float) -> np.ndarray:
        """First-layer contribution [n, H] of the time features of timestamps [n]."""
        bucket, standardised = time_features(timestamps, self.time_boundaries, self.time_stats)
        return self.bucket_projection[bucket] + standardised[:, None] * self.time_projection

    def user_queries(
        self, rows: np.ndarray, timestamps: float | np.ndarray | None = None
    ) -> np.ndarray:
        """User halves [n, H] at `timestamps` (one, or one per row; None: the default)."""
        queries = self.queries[rows]
        if timestamps is None:
            return queries
        offset = self._context(timestamps) - self.default_context
        return (queries + offset).astype(np.float32)


load_scorer = ContextRankingScorer.from_manifest


PARAMS = ContextRankingParams
