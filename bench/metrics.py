"""How long a Metrics call takes, measured by the client, for one-stage and two-stage
versions on ml-100k u1.

Trains (few epochs: timing does not depend on quality) a dot retrieval model, a dot
rating model and a ranking model over the dot retrieval candidates into a temporary store,
starts `movierec serving` on it, and times with the SDK, per version: the stored figures
(k 10, threshold 4), a new k (computed on demand), the same k again (cached), and a
comparison with a baseline model. Each figure is the median of `--repeat` calls, except
the first on-demand call, which happens once per server.

    python -m bench.metrics [--epochs 2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.serving import stop, table
from movierec_client.sdk import ServingClient


def train(store_root: str, data_dir: str | None, epochs: int) -> None:
    """Publishes films (dot retrieval), films-ratings (dot rating) and films-ranker
    (ranking over films) on u1."""
    from movierec.store.model_store import ModelStore
    from movierec.training import job as training
    from movierec.training.spec import build_train_spec

    store = ModelStore(store_root)
    budget = {"epochs": epochs}
    for name, request in (
        ("films", {}),
        ("films-ratings", {"objective": "rating"}),
        ("films-ranker", {"kind": "ranking", "kind_params": {"candidate_model": "films"}}),
    ):
        spec = build_train_spec(name, hyperparameters=budget, **request)
        training.run_training(spec, store, data_dir)


def timed(call, repeat: int) -> float:
    """Median milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = os.path.join(folder, "store")
        # Trained in a child process, so that this one (the client) never imports TensorFlow.
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from bench.metrics import train; train({store!r},"
                f" {os.environ.get('MOVIEREC_DATA_DIR')!r}, {args.epochs})",
            ],
            check=True,
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "movierec_client.cli",
                "serving",
                "--port",
                "0",
                "--store",
                store,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            address = server.stdout.readline().split()[-1]
            rows = []
            with ServingClient(address, timeout=60) as client:
                for name in ("films", "films-ratings", "films-ranker"):
                    client.wait_for_version(name, 1, timeout=60)
                for name, baseline in (
                    ("films", "films-ratings"),
                    ("films-ratings", "films"),
                    ("films-ranker", "films"),
                ):
                    started = time.perf_counter()
                    client.metrics(name, k=20)
                    first = 1000 * (time.perf_counter() - started)
                    rows.append(
                        (
                            name,
                            timed(lambda n=name: client.metrics(n), args.repeat),
                            first,
                            timed(lambda n=name: client.metrics(n, k=20), args.repeat),
                            timed(
                                lambda n=name, b=baseline: client.metrics(
                                    n, baseline_model=b, baseline_version=1
                                ),
                                args.repeat,
                            ),
                        )
                    )
        finally:
            stop([server])
    print(
        "Metrics over gRPC, ml-100k u1, milliseconds measured by the client"
        f" (median of {args.repeat}):"
    )
    print(
        table(
            ("version", "stored k=10", "k=20 first", "k=20 cached", "with a baseline"),
            rows,
        )
    )


if __name__ == "__main__":
    main()
