"""Recommendation quality of every kind and objective beside baselines, on ml-100k folds
or on any dataset's random or time splits (an imported one too).

    python -m bench.quality [--dataset ml-100k] [--folds u1 ... u5 | --split random
        --seeds 1 2 3 --test-fraction 0.2 | --split temporal --test-fraction 0.2 |
        --split last] [--sample-users N]
        [--kinds ease dot two_tower ranking]
        [--epochs N] [--candidates 20 50 200] [--objectives retrieval rating]
        [--negative-sharing example batch] [--shared-negatives 1024]

For each fold (or each seed of a random split): fits every kind asked for, for each of its
objectives, with their defaults (ease, the default kind, first), and scores, in the same
run, most-popular, the popularity fallback (popular well-rated), the bias-only predictor,
EASE at lambda 500 and EASE with lambda chosen on the training part's validation carve-out
(the ease kind with every rating weighing alike). --sample-users keeps a random subset of
the dataset's users (seeded per fold) before splitting: data of another shape, few users
over the same items. Every recommender is judged by the
top-10 lists it would return (relevant = held-out rating >= 4 on a 1-5 scale, every held-out
interaction for implicit feedback; candidates = items the user did not rate in training;
movierec.kinds.evaluation), plus RMSE/MAE where it predicts ratings (not on implicit feedback,
which trains no rating objective). --split temporal holds out the latest --test-fraction of
the data, --split last each user's latest interaction (one split each: no seeds).
The two_tower "cold start" rows present each test user only by the genre means of their
training ratings, as a sign-up form would (UserFeatures.genre_ratings). The "two-stage"
rows are what Recommend returns for a ranking version (movierec.kinds.two_stage): a first stage's
top N unseen items re-ordered by the ranking model, beside that first stage alone. Prints
5-fold means.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    "lambda",
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


def genre_means(catalog: Catalog, user: int) -> dict[str, float]:
    """A user's mean training rating per genre they rated: what a sign-up form would ask."""
    items = catalog.seen(user)
    ratings = catalog.seen_ratings[catalog.seen_indptr[user] : catalog.seen_indptr[user + 1]]
    genre = catalog.item_genre_flags[items - 1]
    counts = genre.sum(axis=0)
    means = (genre * ratings[:, None]).sum(axis=0) / np.maximum(counts, 1)
    return {str(catalog.genre_names[g]): float(means[g]) for g in np.flatnonzero(counts)}


def cold_start_scores(scorer, catalog: Catalog):
    """Scores from each user's genre means alone, through the kind's feature query."""
    cache: dict[int, np.ndarray] = {}

    def query(user: int) -> np.ndarray:
        if user not in cache:
            cache[user] = scorer.feature_query(UserFeatures(genre_means(catalog, user)))
        return cache[user]

    return lambda users: scorer.scores(np.stack([query(int(u)) for u in users]))


def genre_popularity_scores(catalog: Catalog):
    """Most-popular weighted by stated genre preferences: count(i) x the mean of the
    user's preferences over i's genres (genres not stated count as the mean of those
    stated; items without genres too)."""
    flags = catalog.item_genre_flags.astype(np.float64)
    position = {str(name): g for g, name in enumerate(catalog.genre_names)}
    counts = catalog.popularity[1:].astype(np.float64)

    def row(user: int) -> np.ndarray:
        prefs = genre_means(catalog, user)
        fill = np.mean(list(prefs.values())) if prefs else 0.0
        vector = np.full(len(position), fill)
        for genre, rating in prefs.items():
            vector[position[genre]] = rating
        per_genre = flags.sum(axis=1)
        liking = np.where(per_genre > 0, flags @ vector / np.maximum(per_genre, 1), fill)
        return np.concatenate([[-np.inf], counts * liking]).astype(np.float32)

    return lambda users: np.stack([row(int(u)) for u in users])


def evaluate_fold(
    dataset,
    split,
    split_name: str,
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
    from movierec.training import job as training  # TensorFlow

    fold = split.name
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
    if len(catalog.genre_names):
        add("genre-popularity (cold start baseline)", genre_popularity_scores(catalog), started)
    if not catalog.implicit:
        started = time.perf_counter()
        score_fn, predicted = bias_model(catalog)
        accuracy = metrics.accuracy_metrics(catalog.test_ratings, predicted)
        add("bias only", score_fn, started, accuracy)
    started = time.perf_counter()
    add("EASE (lambda 500)", ease_scores(catalog), started)

    spec = build_train_spec(
        "bench",
        kind="ease",
        dataset=dataset.name,
        split=split_name,
        kind_params={"low_rating_weight": 1.0},
        data_dir=dataset.path.parent,
    )
    started = time.perf_counter()
    plain = training.fit(spec, split, catalog).scorer
    add(
        "EASE (lambda chosen on validation)",
        lambda u: plain.scores(plain.queries[u]),
        started,
        {"lambda": plain.l2},
    )
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
            "bench",
            kind=kind,
            objective=objective,
            dataset=dataset.name,
            split=split_name,
            hyperparameters=overrides,
            data_dir=dataset.path.parent,
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
        chosen = {"lambda": scorer.l2} if kind == "ease" else {}
        add(
            name,
            lambda u, s=scorer: s.scores(s.queries[u]),
            started,
            {**accuracy, **chosen},
            scorer.item_vectors,
        )
        first_way = negatives == (sharing or [None])[0]
        if scorer.supports_user_features and first_way and len(catalog.genre_names):
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


def splits(dataset, args):
    """(split, the name a train spec gives it) of each fold or seed asked for."""
    from movierec.data.splits import Split, make_split

    def sampled(frame, seed):
        if not args.sample_users:
            return dataset
        users = np.unique(frame["user_id"].to_numpy())
        rng = np.random.default_rng(seed)
        keep = rng.choice(users, min(args.sample_users, len(users)), replace=False)
        return dataclasses.replace(dataset, ratings=frame[frame["user_id"].isin(keep)])

    if args.split in ("temporal", "last"):
        data = sampled(dataset.ratings, 0)
        yield make_split(data, args.split, args.test_fraction), args.split
    elif args.split == "random":
        for seed in args.seeds:
            data = sampled(dataset.ratings, seed)
            split = make_split(data, "random", args.test_fraction, seed)
            yield dataclasses.replace(split, name=f"{split.name} seed {seed}"), "random"
    else:
        for fold in args.folds:
            split = make_split(dataset, fold)
            if args.sample_users:
                keep = sampled(split.train, int(fold[1:]) if fold[1:].isdigit() else 0).ratings
                users = keep["user_id"].unique()
                test = split.test[split.test["user_id"].isin(users)].reset_index(drop=True)
                split = Split(split.name, keep.reset_index(drop=True), test)
            yield split, fold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--folds", nargs="+", default=["u1", "u2", "u3", "u4", "u5"])
    parser.add_argument("--split", choices=("folds", "random", "temporal", "last"), default="folds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--sample-users", type=int, help="keep this many users (seeded)")
    parser.add_argument("--kinds", nargs="+", default=["ease", "dot", "two_tower", "ranking"])
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
    dataset = load_dataset(args.dataset, os.environ.get("MOVIEREC_DATA_DIR"))
    if dataset.implicit and args.objectives is None:
        args.objectives = ["retrieval"]
    table: dict[str, list[dict[str, float]]] = defaultdict(list)
    names = []
    for split, split_name in splits(dataset, args):
        names.append(split.name)
        evaluate_fold(
            dataset,
            split,
            split_name,
            args.kinds,
            args.epochs,
            args.candidates,
            table,
            args.objectives,
            args.negative_sharing,
            args.shared_negatives,
        )
    shape = f", {args.sample_users} users sampled" if args.sample_users else ""
    relevant = "every held-out interaction" if dataset.implicit else "rating >= 4"
    print(f"\n{', '.join(names)}{shape}: means (relevant = {relevant}, k = 10)\n")
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
