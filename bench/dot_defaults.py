"""How the dot model's defaults were chosen: a small grid on ml-100k u1, each configuration
selected by its best validation RMSE (carved from u1.base); the u1.test RMSE is printed
beside it for information only, never used to choose.

    python -m bench.dot_defaults
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.serving_latency import table
from movierec import metrics
from movierec.datasets import load_dataset
from movierec.splits import make_split
from movierec.train_spec import build_train_spec

GRID = [
    {"output": "linear", "l2": 0.03},
    {"output": "linear", "l2": 0.07},
    {"output": "linear", "l2": 0.1},
    {"output": "linear", "l2": 0.15},
    {"output": "linear", "l2": 0.1, "embedding_dim": 64},
    {"output": "sigmoid", "l2": 0.03},
    {"output": "sigmoid", "l2": 0.1},
]


def main() -> int:
    """Trains each configuration once and prints the table."""
    from movierec.training import fit_dot_model, predict_ratings

    dataset = load_dataset("ml-100k")
    split = make_split(dataset, "u1")
    rows = []
    for overrides in GRID:
        spec = build_train_spec("grid", hyperparameters=overrides)
        started = time.perf_counter()
        model, users, items, epochs = fit_dot_model(spec, split, dataset.rating_scale)
        seconds = time.perf_counter() - started
        predicted = np.clip(predict_ratings(model, split.test, users, items), 1, 5)
        params = spec.hyperparameters
        val_rmse = min(e.val_rmse for e in epochs)
        test_rmse = metrics.rmse(split.test["rating"], predicted)
        rows.append(
            (
                params.output,
                params.l2,
                params.embedding_dim,
                len(epochs),
                f"{val_rmse:.4f}",
                f"{test_rmse:.4f}",
                f"{seconds:.1f}",
            )
        )
    best = min(rows, key=lambda row: float(row[4]))
    print(table(("output", "l2", "dim", "epochs", "val_rmse", "u1_test_rmse", "fit_s"), rows))
    print(f"lowest validation RMSE: output={best[0]} l2={best[1]} dim={best[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
