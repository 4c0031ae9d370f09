"""Kind "ranking", numpy half: the TensorFlow Recommenders notebook's ranking model, user
and item embeddings concatenated into a Dense(64, relu)-Dense(1) head that predicts the
rating, scored without TensorFlow.

The head's first layer is split at load: W0 = [W_user; W_item], so its pre-activation
for a pair is (P[u] @ W_user) + (Q[i] @ W_item + b0). Those two halves are the scorer's
query and candidate vectors (one add per pair instead of a [2D] x [H] product); the
remaining layers run on the [items, H] activations. A ranking version is the second stage
of a two-stage Recommend: it re-scores the top candidates of its candidate source
(movierec.kinds.two_stage).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar

import numpy as np

from movierec.kinds.base import RATING, KindParams, Scorer, check
from movierec.kinds.two_stage import MAX_CANDIDATES, POPULARITY
from movierec.store.catalog import Catalog

WEIGHT_ARRAYS = ("user_embeddings", "item_embeddings", "output_kernel", "output_bias")
SCORE_BLOCK = 1 << 22
"""Floats of hidden activations held at once when scoring many users."""
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class RankingParams(KindParams):
    """Hyperparameters of the ranking kind (rating objective only).

    Attributes:
        embedding_dim: Width of user and item embeddings (the notebook's 32).
        layers: Widths of the ReLU layers of the head before its Dense(1) output (the
            notebook's 64).
        l2: Per-example L2 penalty on the embedding rows a batch looks up.
        candidate_model: Where Recommend takes its candidates from: the name of a model
            trained with the retrieval objective on the same dataset and split, or
            "popularity".
        num_candidates: How many candidates Recommend takes from that source before it
            removes seen and excluded items and re-scores the rest.
    """

    embedding_dim: int = 32
    layers: tuple[int, ...] = (64,)
    l2: float = 0.0
    candidate_model: str = POPULARITY
    num_candidates: int = 200

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(int(width) for width in self.layers))

    def validate(self, objective: str) -> None:
        """Raises InvalidRequest naming the first out-of-range value (the registry allows
        the rating objective only)."""
        del objective
        check(
            [
                (
                    1 <= self.embedding_dim <= 1024,
                    f"embedding_dim must be 1 to 1024, got {self.embedding_dim}",
                ),
                (1 <= len(self.layers) <= 3, f"layers must hold 1 to 3 widths, got {self.layers}"),
                (
                    all(1 <= width <= 1024 for width in self.layers),
                    f"layer widths must be 1 to 1024, got {self.layers}",
                ),
                (0 <= self.l2 < 1, f"l2 must be >= 0 and < 1, got {self.l2}"),
                (
                    self.candidate_model == POPULARITY
                    or bool(_MODEL_NAME.match(self.candidate_model)),
                    f"candidate_model must be 'popularity' or a model name, got"
                    f" {self.candidate_model!r}",
                ),
                (
                    1 <= self.num_candidates <= MAX_CANDIDATES,
                    f"num_candidates must be 1 to {MAX_CANDIDATES}, got {self.num_candidates}",
                ),
            ]
        )

    @classmethod
    def defaults(cls, objective: str) -> dict[str, Any]:
        """No per-objective defaults."""
        del objective
        return {}


class RankingScorer(Scorer):
    """rating(u, i) = head(relu(A[u] + B[i])), where A = P @ W_user, B = Q @ W_item + b0
    and head is the remaining ReLU layers and the linear output. SimilarItems compares
    the item embeddings Q.

    Args:
        weights: WEIGHT_ARRAYS plus hidden_kernel_<n> and hidden_bias_<n> per layer, as
            exported by movierec.training.kinds.ranking.
        catalog: The version's catalogue.
        candidate_model: The version's candidate source (RankingParams.candidate_model).
        num_candidates: Candidates taken from it per Recommend.
    """

    inner_product: ClassVar[bool] = False
    KIND: ClassVar[str] = "ranking"

    def __init__(
        self,
        weights: dict[str, np.ndarray],
        catalog: Catalog,
        candidate_model: str = POPULARITY,
        num_candidates: int = 200,
        kind: str = "",
    ):
        kind = kind or self.KIND
        for name, array in weights.items():
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{kind}: {name} holds NaN or infinite values")
        kernels, biases = _hidden_layers(weights)
        first = kernels[0]
        queries, candidates = self._first_layer_halves(weights, first, biases[0], kind)
        items = np.asarray(weights["item_embeddings"], dtype=np.float32)
        super().__init__(kind, RATING, catalog, queries, candidates, items)
        self.kernels = kernels[1:]
        self.biases = biases[1:]
        self.output_kernel = np.asarray(weights["output_kernel"], dtype=np.float32).reshape(-1)
        self.output_bias = np.float32(np.asarray(weights["output_bias"]).reshape(-1)[0])
        inputs = (self.kernels[-1] if self.kernels else first).shape[1]
        if self.output_kernel.shape != (inputs,):
            raise ValueError(f"{kind}: the output layer takes {len(self.output_kernel)} inputs")
        self.candidate_model = candidate_model
        self.num_candidates = num_candidates

    @classmethod
    def from_manifest(
        cls, weights: dict[str, np.ndarray], catalog: Catalog, manifest: dict[str, Any]
    ) -> RankingScorer:
        """The scorer of a stored version of this kind (manifest gives its candidate
        source)."""
        params = manifest.get("kind_params", {})
        return cls(
            weights,
            catalog,
            params.get("candidate_model", POPULARITY),
            int(params.get("num_candidates", 200)),
            kind=str(manifest.get("kind", "")),
        )

    def _first_layer_halves(
        self, weights: dict[str, np.ndarray], kernel: np.ndarray, bias: np.ndarray, kind: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(user halves [U + 1, H], item halves [I + 1, H]) of the first layer, whose
        input is [user embedding, item embedding]."""
        users = np.asarray(weights["user_embeddings"], dtype=np.float32)
        items = np.asarray(weights["item_embeddings"], dtype=np.float32)
        width = users.shape[1]
        if kernel.shape[0] != width + items.shape[1]:
            raise ValueError(
                f"{kind}: the first layer takes {kernel.shape[0]} inputs, expected"
                f" {width + items.shape[1]}"
            )
        return users @ kernel[:width], items @ kernel[width:] + bias

    def _head(self, hidden: np.ndarray) -> np.ndarray:
        """Ratings [...] of first-layer pre-activations [..., H]."""
        hidden = np.maximum(hidden, 0.0, out=hidden)
        for kernel, bias in zip(self.kernels, self.biases, strict=True):
            hidden = np.maximum(hidden @ kernel + bias, 0.0)
        return hidden @ self.output_kernel + self.output_bias

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Ratings of every item, float32 [n, I + 1] for first-layer user halves [n, H]."""
        queries = np.asarray(queries, dtype=np.float32)
        out = np.empty((len(queries), len(self.candidates)), dtype=np.float32)
        rows = max(1, SCORE_BLOCK // self.candidates.size)
        for start in range(0, len(queries), rows):
            block = queries[start : start + rows, None, :] + self.candidates[None, :, :]
            out[start : start + rows] = self._head(block)
        return out

    def item_scores(self, query: np.ndarray, item_index: np.ndarray) -> np.ndarray:
        """Ratings, float32 [m], of item rows `item_index` for one user half [H]: what a
        second stage re-scores its candidates with."""
        return self._head(query[None, :] + self.candidates[item_index]).astype(np.float32)

    def pair_scores(self, queries: np.ndarray, item_index: np.ndarray) -> np.ndarray:
        """Ratings of item rows `item_index` [n] for user halves [n, H], clipped to the
        rating scale."""
        raw = self._head(np.asarray(queries, dtype=np.float32) + self.candidates[item_index])
        return np.clip(raw.astype(np.float32), self.low, self.high)


def _hidden_layers(weights: dict[str, np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    kernels: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    while f"hidden_kernel_{len(kernels)}" in weights:
        n = len(kernels)
        kernels.append(np.asarray(weights[f"hidden_kernel_{n}"], dtype=np.float32))
        biases.append(np.asarray(weights[f"hidden_bias_{n}"], dtype=np.float32).reshape(-1))
        if kernels[n].ndim != 2 or biases[n].shape != (kernels[n].shape[1],):
            raise ValueError(
                f"hidden layer {n} has kernel {kernels[n].shape}, bias {biases[n].shape}"
            )
        if n and kernels[n].shape[0] != kernels[n - 1].shape[1]:
            raise ValueError(f"hidden layer {n} takes {kernels[n].shape[0]} inputs")
    if not kernels:
        raise ValueError("a ranking version needs hidden_kernel_0")
    return kernels, biases


load_scorer = RankingScorer.from_manifest


PARAMS = RankingParams
