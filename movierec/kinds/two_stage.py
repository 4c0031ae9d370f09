"""Two-stage Recommend: a ranking version (a scorer that names a candidate source)
re-scores the top candidates of that source, a retrieval version trained on the same
data or popularity, after seen and excluded items are removed.

The serving data plane runs the stages per request; `score_function` runs the same two
stages for many users at once, so that Metrics judges exactly the lists Recommend gives.
Both keep the stage-one candidates by the same rule (its k largest scores, ties by item
row) and order the survivors by the ranking's score, ties by item row. (A first stage whose
catalogue is large enough for an approximate index answers online from that index, so
there Metrics' exact first stage may differ slightly.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from movierec.errors import CorruptVersion, IncompatibleVersions
from movierec.kinds.base import RETRIEVAL, Scorer
from movierec.kinds.evaluation import mask_seen, top_k_rows
from movierec.metrics.ranking import PAD
from movierec.store.catalog import popular_well_rated_scores
from movierec.store.model_store import ModelStore

POPULARITY = "popularity"
"""The candidate source that needs no model: the most popular well-rated unseen items."""
MAX_CANDIDATES = 10_000
"""The most candidates a ranking version (or a request) may take from stage one."""


def check_same_data(manifest: dict[str, Any], source: dict[str, Any], label: str) -> None:
    """Refuses a candidate version trained on other data than the ranking version.

    Args:
        manifest: The ranking version's manifest.
        source: The candidate version's manifest.
        label: How to name the candidate version in the message.

    Raises:
        IncompatibleVersions: another objective, split or data fingerprint.
    """
    if source.get("objective") != RETRIEVAL:
        raise IncompatibleVersions(
            f"candidate {label} is trained for {source.get('objective')!r}; a candidate source"
            " must be trained with the 'retrieval' objective"
        )
    for field in ("split", "data_fingerprint"):
        if source.get(field) != manifest.get(field):
            raise IncompatibleVersions(
                f"candidate {label} was trained on other data ({field}"
                f" {source.get(field)!r}, not {manifest.get(field)!r})"
            )


def check_source_in_store(store: ModelStore, manifest: dict[str, Any], label: str) -> None:
    """Checks, at load, that a ranking version's candidate model is in the store and that
    its newest version was trained for retrieval on the same data.

    Raises:
        CorruptVersion: the reason the version cannot serve.
    """
    source = manifest.get("kind_params", {}).get("candidate_model", POPULARITY)
    if source == POPULARITY:
        return
    versions = store.list_versions(source)
    if not versions:
        raise CorruptVersion(
            f"{label} takes candidates from model {source!r}, which the store does not have"
        )
    try:
        newest = store.read_manifest(source, versions[-1])
        check_same_data(manifest, newest, f"model {source} version {versions[-1]}")
    except (IncompatibleVersions, CorruptVersion) as error:
        raise CorruptVersion(f"{label} cannot take its candidates: {error}") from None


def rescored(ranking: Scorer, user_rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Scores [n, I + 1] that are -inf except at each user's candidates, which get the
    ranking's scores.

    Args:
        ranking: The ranking scorer (its item_scores scores one user's items).
        user_rows: int [n] inner user rows of the ranking's catalogue.
        candidates: int [n, N] inner item rows, PAD where a user has fewer.
    """
    out = np.full((len(user_rows), len(ranking.candidates)), -np.inf, dtype=np.float32)
    for row, (user, items) in enumerate(zip(user_rows, candidates, strict=True)):
        items = items[items != PAD]
        if len(items):
            out[row, items] = ranking.item_scores(ranking.queries[user], items)
    return out


def score_function(
    ranking: Scorer, first: Scorer | None, num_candidates: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Scores for movierec.kinds.evaluation of what two-stage Recommend returns: for inner user
    rows [n] of known users, [n, I + 1] scores that are -inf outside each user's unseen
    stage-one candidates.

    Args:
        ranking: The ranking scorer.
        first: The candidate version's scorer (same catalogue), or None for popularity.
        num_candidates: Candidates kept from stage one.
    """
    catalog = ranking.catalog
    popular = popular_well_rated_scores(catalog) if first is None else None

    def scores(users: np.ndarray) -> np.ndarray:
        if first is None:
            assert popular is not None
            stage_one = np.tile(popular, (len(users), 1))
        else:
            stage_one = np.array(first.scores(first.queries[users]), dtype=np.float32)
            first.exclude_unrankable(stage_one)
        mask_seen(stage_one, users, catalog)
        return rescored(ranking, users, top_k_rows(stage_one, num_candidates))

    return scores


def same_catalogue(ranking: Scorer, first: Scorer) -> bool:
    """Whether two scorers index users and items alike (same dataset and split)."""
    return np.array_equal(ranking.catalog.item_ids, first.catalog.item_ids) and np.array_equal(
        ranking.catalog.user_ids, first.catalog.user_ids
    )
