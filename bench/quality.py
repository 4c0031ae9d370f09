"""Recommendation quality of every kind and objective beside baselines, on ml-100k folds.

    python -m bench.quality [--folds u1 ... u5] [--kinds dot two_tower ranking]
        [--epochs N] [--candidates 20 50 200] [--objectives retrieval rating]
        [--negative-sharing example batch] [--shared-negatives 1024]

For each fold: fits dot and two_tower for both objectives and ranking (rating only) with
their defaults, and scores,
in the same run, most-popular, the popularity fallback (popular well-rated), the bias-only
predictor and EASE (numpy closed form, lambda 500). Every recommender is judged by the
top-10 lists it would return (relevant = held-out rating >= 4, candidates = items the user
did not rate in training; movierec.kinds.evaluation), plus RMSE/MAE where it predicts ratings.
The two_tower "cold start" rows present each test user only by the genre means of their
training ratings, as a sign-up form would (UserFeatures.genre_ratings). The "two-stage"
rows are what Recommend returns for a ranking version (movierec.kinds.two_stage): a first stage's
top N unseen items re-ordered by the ranking model, beside that first stage alone. Prints
5-fold means.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

from movierec.data.catalog_builder import build_catalog
from movierec.data.datasets import load_dataset
from movierec.kinds import KINDS
from movierec.kinds.evaluation import (
    evaluate_ranking,
    recommend_lists,
    relevant_items,
    version_metrics,
)
from movierec.kinds.features import UserFeatures
from movierec.kinds.two_stage import score_function
from movierec.metrics import rating as metrics
from movierec.store.catalog import Catalog, popular_well_rated_scores
from movierec.store.vocab import IdVocabulary
from movierec.training.spec import build_train_spec

COLUMNS = (
    "ndcg@10",
    "precision@10",
    "recall@10",
    "map@10",
    "hit_rate@10",
    "coverage@10",
    "novelty@10",
    "diversity@10",
    "tail%",
    "rmse",
    "mae",
    "fit_s",
)


def interactions(catalog: Catalog) -> np.ndarray:
    """Binary user x item matrix [U + 1, I + 1] of the training ratings."""
    x = np.zeros((catalog.num_users + 1, catalog.num_items + 1), dtype=np.float32)
    owner = np.repeat(np.arange(catalog.num_users + 1), np.diff(catalog.seen_indptr))
    x[owner, catalog.seen_items] = 1.0
    return x


def ease_scores(catalog: Catalog, lam: float = 500.0):
    """EASE (Steck 2019): B = I - P / diag(P), P = (X^T X + lam I)^-1, scores = X B."""
    x = interactions(catalog)[:, 1:].astype(np.float64)
    gram = x.T @ x + lam * np.eye(x.shape[1])
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    scores = np.zeros((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    scores[:, 1:] = (x @ b).astype(np.float32)
    return lambda users: scores[users].copy()


def bias_model(catalog: Catalog, damping: float = 10.0):
    """Baseline predictor r = mu + b_u + b_i with damped means; returns (score_fn,
    held-out predictions)."""
    owner = np.repeat(np.arange(catalog.num_users + 1), np.diff(catalog.seen_indptr))
    ratings = catalog.seen_ratings.astype(np.float64)
    mu = ratings.mean()
    item_sum = np.bincount(catalog.seen_items, ratings - mu, catalog.num_items + 1)
    item_n = np.bincount(catalog.seen_items, minlength=catalog.num_items + 1)
    b_i = item_sum / (item_n + damping)
    user_sum = np.bincount(owner, ratings - mu - b_i[catalog.seen_items], catalog.num_users + 1)
    user_n = np.bincount(owner, minlength=catalog.num_users + 1)
    b_u = user_sum / (user_n + damping)
    users, _ = IdVocabulary(catalog.user_ids).lookup(catalog.test_user_ids)
    items, _ = IdVocabulary(catalog.item_ids).lookup(catalog.test_item_ids)
    low, high = (float(v) for v in catalog.rating_scale)
    predicted = np.clip(mu + b_u[users] + b_i[items], low, high)
    row = (mu + b_i).astype(np.float32)
    return (lambda u: np.tile(row, (len(u), 1)) + b_u[u, None].astype(np.float32)), predicted


def tail_share(score_fn, catalog: Catalog) -> float:
    """Share of top-10 slots given to items with fewer than 5 training ratings."""
    users, _ = relevant_items(catalog)
    index, _ = IdVocabulary(catalog.user_ids).lookup(users)
    lists = recommend_lists(score_fn, catalog, index, 10)
    filled = lists[lists > 0]
    return float((catalog.popularity[filled] < 5).mean())


def cold_start_scores(scorer, catalog: Catalog):
    """Scores from each user's genre means alone, through the two_tower user tower."""
    flags = catalog.item_genre_flags
    names = [str(g) for g in catalog.genre_names]
    cache: dict[int, np.ndarray] = {}

    def query(user: int) -> np.ndarray:
        if user not in cache:
            items = catalog.seen(user)
            ratings = catalog.seen_ratings[
                catalog.seen_indptr[user] : catalog.seen_indptr[user + 1]
            ]
            genre = flags[items - 1]
            counts = genre.sum(axis=0)
            means = (genre * ratings[:, None]).sum(axis=0) / np.maximum(counts, 1)
            prefs = {names[g]: float(means[g]) for g in np.flatnonzero(counts)}
            cache[user] = scorer.feature_query(UserFeatures(prefs))
        return cache[user]

    return lambda users: scorer.scores(np.stack([query(int(u)) for u in users]))


def evaluate_fold(
    dataset,
    fold: str,
    kinds,
    epochs: int | None,
    candidates,
    table,
    objectives=None,
    sharing=None,
    shared_negatives: int | None = None,
) -> None:
    """Adds one row per recommender of one fold to table; with the ranking kind, also
    one per two-stage pipeline: each retrieval kind fitted (and popularity) giving its
    top `candidates` unseen items, which the ranking model re-orders."""
    from movierec.data.splits import make_split
    from movierec.training import job as training  # TensorFlow

    split = make_split(dataset, fold)
    catalog = build_catalog(dataset, split)

    def add(name, score_fn, started, extra=None, vectors=None):
        values = evaluate_ranking(score_fn, catalog, 10, item_vectors=vectors)
        values["tail%"] = 100 * tail_share(score_fn, catalog)
        values["fit_s"] = time.perf_counter() - started
        values.update(extra or {})
        table[name].append(values)

    counts = catalog.popularity.astype(np.float32)
    counts[0] = -np.inf
    fallback = popular_well_rated_scores(catalog)
    started = time.perf_counter()
    add("most popular", lambda u: np.tile(counts, (len(u), 1)), started)
    add("popular well-rated (fallback)", lambda u: np.tile(fallback, (len(u), 1)), started)
    started = time.perf_counter()
    score_fn, predicted = bias_model(catalog)
    add("bias only", score_fn, started, metrics.accuracy_metrics(catalog.test_ratings, predicted))
    started = time.perf_counter()
    add("EASE (lambda 500)", ease_scores(catalog), started)
    retrieval: dict[str, object] = {}
    ranking = None
    runs = [
        (kind, objective, negatives)
        for kind in kinds
        for objective in KINDS[kind].objectives
        if objective in (objectives or KINDS[kind].objectives)
        for negatives in ((sharing or [None]) if objective == "retrieval" else [None])
    ]
    for kind, objective, negatives in runs:
        overrides: dict = {"epochs": epochs} if epochs else {}
        if negatives is not None:
            overrides["negative_sharing"] = negatives
            if negatives == "batch" and shared_negatives:
                overrides["num_negatives"] = shared_negatives
        spec = build_train_spec(
            "bench", kind=kind, objective=objective, split=fold, hyperparameters=overrides
        )
        started = time.perf_counter()
        scorer = training.fit(spec, split, catalog).scorer
        values = version_metrics(scorer, 10)
        accuracy = {k: v for k, v in values.items() if k in ("rmse", "mae")}
        name = f"{kind} {objective}"
        params = spec.hyperparameters
        if negatives == "example":
            name += f", {params.num_negatives} negatives per example"
        elif negatives == "batch":
            name += f", a pool of {params.num_negatives} shared by the batch"
        add(
            name,
            lambda u, s=scorer: s.scores(s.queries[u]),
            started,
            accuracy,
            scorer.item_vectors,
        )
        first_way = negatives == (sharing or [None])[0]
        if kind == "two_tower" and first_way:
            add(
                f"{kind} {objective}, cold start (genres only)",
                cold_start_scores(scorer, catalog),
                time.perf_counter(),
            )
        if objective == "retrieval" and first_way:
            retrieval[kind] = scorer
        if scorer.candidate_model is not None:
            ranking = scorer
        rmse = f" rmse {values['rmse']:.4f}" if "rmse" in values else ""
        print(f"{fold} {name}: ndcg@10 {values['ndcg@10']:.4f}{rmse}", flush=True)
    if ranking is None:
        return
    sources = {"popular well-rated": None, **{f"{k} retrieval": s for k, s in retrieval.items()}}
    for source, first in sources.items():
        for count in candidates:
            started = time.perf_counter()
            add(
                f"two-stage: {source} top {count}, ranking",
                score_function(ranking, first, count),
                started,
                vectors=ranking.item_vectors,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", nargs="+", default=["u1", "u2", "u3", "u4", "u5"])
    parser.add_argument("--kinds", nargs="+", default=["dot", "two_tower", "ranking"])
    parser.add_argument(
        "--candidates",
        type=int,
        nargs="+",
        default=[20, 50, 200],
        help="two-stage rows: candidates taken from the first stage",
    )
    parser.add_argument("--epochs", type=int, default=None, help="cap epochs (quick runs)")
    parser.add_argument("--objectives", nargs="+", help="only these objectives")
    parser.add_argument(
        "--negative-sharing",
        nargs="+",
        choices=("example", "batch"),
        help="retrieval rows for each way of drawing negatives (default: each kind's own)",
    )
    parser.add_argument(
        "--shared-negatives",
        type=int,
        help="pool size of the batch-shared rows (default: movierec.training.spec's)",
    )
    args = parser.parse_args()
    dataset = load_dataset("ml-100k", os.environ.get("MOVIEREC_DATA_DIR"))
    table: dict[str, list[dict[str, float]]] = defaultdict(list)
    for fold in args.folds:
        evaluate_fold(
            dataset,
            fold,
            args.kinds,
            args.epochs,
            args.candidates,
            table,
            args.objectives,
            args.negative_sharing,
            args.shared_negatives,
        )
    print(f"\nml-100k folds {', '.join(args.folds)}: means (relevant = rating >= 4, k = 10)\n")
    width = max(len(name) for name in table)
    print("recommender".ljust(width) + "".join(f"{c:>13}" for c in COLUMNS))
    for name, rows in table.items():
        cells = []
        for column in COLUMNS:
            values = [row[column] for row in rows if column in row]
            cells.append(f"{np.mean(values):>13.4f}" if values else f"{'':>13}")
        print(name.ljust(width) + "".join(cells))


if __name__ == "__main__":
    main()
