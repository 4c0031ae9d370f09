"""Kind "dot", numpy half: biased matrix factorisation scored from its exported tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from movierec.kinds.base import RATING, RETRIEVAL, KindParams, Scorer, check
from movierec.store.catalog import Catalog

OUTPUTS = ("linear", "sigmoid")
WEIGHT_ARRAYS = ("user_embeddings", "item_embeddings", "user_bias", "item_bias", "global_bias")


@dataclasses.dataclass(frozen=True)
class DotParams(KindParams):
    """Hyperparameters of the dot kind. Defaults per objective were chosen on a validation
    share of ml-100k u1.base (docs/models.md, "How the defaults were chosen").

    Attributes:
        embedding_dim: Width D of user and item embeddings.
        l2: Per-example L2 penalty on the embedding rows a batch looks up (biases are
            not penalised).
        output: Rating objective: "linear" or "sigmoid" (the notebooks' sigmoid over
            min-max scaled ratings).
    """

    embedding_dim: int = 32
    l2: float = 0.1
    output: str = "linear"

    @classmethod
    def defaults(cls, objective: str) -> dict[str, Any]:
        """Retrieval wants a lighter penalty than rating."""
        return {"l2": 0.01} if objective == RETRIEVAL else {}

    def validate(self, objective: str) -> None:
        """Raises InvalidRequest naming the first out-of-range value."""
        check(
            [
                (
                    1 <= self.embedding_dim <= 1024,
                    f"embedding_dim must be 1 to 1024, got {self.embedding_dim}",
                ),
                (0 <= self.l2 < 1, f"l2 must be >= 0 and < 1, got {self.l2}"),
                (self.output in OUTPUTS, f"output must be one of {OUTPUTS}, got {self.output!r}"),
                (
                    objective == RATING or self.output == "linear",
                    "output applies to the rating objective only",
                ),
            ]
        )


class DotScorer(Scorer):
    """rating(u, i) = out(P[u] · Q[i] + b_u + b_i + g) for rating versions, where out is
    the identity ("linear") or lo + (hi - lo) * sigmoid(x) ("sigmoid"); relevance(u, i) =
    P[u] · Q[i] + b_i for retrieval versions. Rows 0 are the zero OOV rows.

    Args:
        weights: WEIGHT_ARRAYS as exported by movierec.training.kinds.dot.
        catalog: The version's catalogue.
        objective: "rating" or "retrieval".
        output: "linear" or "sigmoid".
    """

    def __init__(
        self, weights: dict[str, np.ndarray], catalog: Catalog, objective: str, output: str
    ):
        users = np.asarray(weights["user_embeddings"], dtype=np.float32)
        items = np.asarray(weights["item_embeddings"], dtype=np.float32)
        item_bias = np.asarray(weights["item_bias"], dtype=np.float32).reshape(-1, 1)
        ones_u = np.ones((len(users), 1), np.float32)
        ones_i = np.ones((len(items), 1), np.float32)
        if objective == RATING:
            user_bias = np.asarray(weights["user_bias"], dtype=np.float32).reshape(-1, 1)
            offset = user_bias + np.float32(weights["global_bias"])
            queries = np.hstack([users, ones_u, offset])
            candidates = np.hstack([items, item_bias, ones_i])
        else:
            queries = np.hstack([users, ones_u])
            candidates = np.hstack([items, item_bias])
        super().__init__("dot", objective, catalog, queries, candidates, items)
        self.output = output

    def shown(self, raw: np.ndarray) -> np.ndarray:
        """Ratings for rating versions (sigmoid rescaled when so trained), else raw."""
        raw = np.asarray(raw, dtype=np.float32)
        if self.objective == RATING and self.output == "sigmoid":
            return (self.low + (self.high - self.low) / (1.0 + np.exp(-raw))).astype(np.float32)
        return raw


def load_scorer(
    weights: dict[str, np.ndarray], catalog: Catalog, manifest: dict[str, Any]
) -> DotScorer:
    """The scorer of a stored dot version (manifest gives objective and params)."""
    params = manifest.get("kind_params", {})
    return DotScorer(weights, catalog, manifest["objective"], params.get("output", "linear"))


PARAMS = DotParams
