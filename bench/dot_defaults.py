"""How the dot kind's defaults were chosen, per objective: a small grid on ml-100k u1,
each configuration judged by its objective's validation metric (carved from u1.base:
RMSE for rating, NDCG@10 for retrieval); the u1.test figure is printed beside it for
information only, never used to choose.

    python -m bench.dot_defaults [--objective rating|retrieval]
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.serving_latency import table
from movierec.data.catalog_builder import build_catalog
from movierec.data.datasets import load_dataset
from movierec.data.splits import make_split
from movierec.kinds.evaluation import version_metrics
from movierec.training.spec import build_train_spec

RATING_GRID = [
    {"output": "linear", "l2": 0.03},
    {"output": "linear", "l2": 0.1},
    {"output": "linear", "l2": 0.15},
    {"output": "linear", "l2": 0.1, "embedding_dim": 64},
    {"output": "sigmoid", "l2": 0.1},
]
RETRIEVAL_GRID = [
    {"retrieval_loss": "bce", "num_negatives": 4},
    {"retrieval_loss": "bce", "num_negatives": 16},
    {"retrieval_loss": "softmax", "num_negatives": 4},
    {"retrieval_loss": "softmax", "num_negatives": 16},
    {"retrieval_loss": "softmax", "num_negatives": 64},
    {"retrieval_loss": "softmax", "num_negatives": 16, "negative_sampling": "popularity"},
    {"retrieval_loss": "softmax", "num_negatives": 64, "negative_sampling": "popularity"},
    {"retrieval_loss": "softmax", "num_negatives": 16, "embedding_dim": 32},
    {"retrieval_loss": "softmax", "num_negatives": 16, "l2": 0.001},
    {"retrieval_loss": "softmax", "num_negatives": 16, "l2": 0.05},
    {"retrieval_loss": "softmax", "num_negatives": 16, "embedding_dim": 32, "epochs": 60},
    {"retrieval_loss": "softmax", "num_negatives": 16, "embedding_dim": 16, "epochs": 60},
    {"retrieval_loss": "softmax", "num_negatives": 32, "embedding_dim": 32, "epochs": 60},
    {"embedding_dim": 32, "epochs": 60, "learning_rate": 0.005},
    {},
    {"min_positive_rating": 3},
    {"min_positive_rating": 4},
]


def main() -> int:
    """Trains each configuration once and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objective", choices=("rating", "retrieval"), default="retrieval")
    parser.add_argument("--only", type=int, nargs="*", help="grid rows to run (0-based)")
    args = parser.parse_args()
    from movierec.training import job as training  # TensorFlow

    dataset = load_dataset("ml-100k")
    split = make_split(dataset, "u1")
    catalog = build_catalog(dataset, split)
    rating = args.objective == "rating"
    rows = []
    grid = RATING_GRID if rating else RETRIEVAL_GRID
    for overrides in [grid[i] for i in args.only] if args.only else grid:
        spec = build_train_spec("grid", objective=args.objective, hyperparameters=overrides)
        started = time.perf_counter()
        fitted = training.fit(spec, split, catalog)
        seconds = time.perf_counter() - started
        test = version_metrics(fitted.scorer, 10)
        if rating:
            val = min(e.val_rmse for e in fitted.epochs)
            figures = (f"{val:.4f}", f"{test['rmse']:.4f}")
        else:
            val = max(e.val_ndcg for e in fitted.epochs)
            figures = (f"{val:.4f}", f"{test['ndcg@10']:.4f}")
        setting = " ".join(f"{k}={v}" for k, v in overrides.items())
        rows.append((setting, len(fitted.epochs), *figures, f"{seconds:.1f}"))
    metric = "rmse" if rating else "ndcg@10"
    pick = min if rating else max
    best = pick(rows, key=lambda row: float(row[2]))
    print(table(("setting", "epochs", f"val_{metric}", f"u1_test_{metric}", "fit_s"), rows))
    print(f"best validation {metric}: {best[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
