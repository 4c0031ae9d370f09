"""Serving latency, side by side in one run: numpy data-plane scoring vs the Keras model, and
Recommend over gRPC at two concurrencies. Prints tables; compare the ratios, not the
absolute times (this machine is shared and noisy).

    python -m bench.serving_latency [--users 300] [--requests 2000]
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from movierec.kinds.versions import load_version
from movierec.store.model_store import ModelStore
from movierec.training.spec import build_train_spec
from movierec_client.load import LoadSpec, run_load
from movierec_client.sdk import ServingClient


def timed_ms(function, arguments) -> np.ndarray:
    """Milliseconds of function(a) for each a, after one warm-up call."""
    function(arguments[0])
    times = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - started) * 1000)
    return np.asarray(times)


def table(headers, rows) -> str:
    """A plain fixed-width table."""
    cells = [list(map(str, headers))] + [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def in_process(store: ModelStore, users: np.ndarray) -> None:
    """Top-10 per user: the numpy data plane vs the Keras model scoring every item."""
    import keras

    from movierec.serving.dataplane import ServingDataPlane
    from movierec.serving.registry import ModelRegistry
    from movierec.store.model_store import KERAS_FILE

    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    scorer = load_version(store, "bench", 1).scorer
    model = keras.models.load_model(store.version_path("bench", 1) / KERAS_FILE)
    bundle = scorer.catalog
    all_items = np.arange(1, scorer.catalog.num_items + 1, dtype=np.int32)

    def keras_top10(user_id: int, call) -> list[int]:
        user = scorer.index.user_index(user_id)
        scores = np.asarray(
            call({"user": np.full(len(all_items), user, np.int32), "item": all_items})
        )
        scores = scores.reshape(-1).copy()
        seen = bundle.seen_items[bundle.seen_indptr[user] : bundle.seen_indptr[user + 1]]
        scores[seen - 1] = -np.inf
        return all_items[np.argsort(-scores)[:10]].tolist()

    variants = {
        "numpy data plane (serving)": lambda u: plane.recommend("bench", 0, int(u), 10),
        "keras model(x) + argsort": lambda u: keras_top10(
            int(u), lambda x: model(x, training=False)
        ),
        "keras predict + argsort": lambda u: keras_top10(
            int(u), lambda x: model.predict(x, batch_size=4096, verbose=0)
        ),
    }
    results = {name: timed_ms(fn, users) for name, fn in variants.items()}
    base = results["numpy data plane (serving)"].mean()
    rows = [
        (
            name,
            len(t),
            t.mean(),
            float(np.percentile(t, 50)),
            float(np.percentile(t, 99)),
            t.mean() / base,
        )
        for name, t in results.items()
    ]
    print(f"\nRecommend top-10 in process, {len(users)} users, {len(all_items)} items")
    print(table(("variant", "calls", "mean_ms", "p50_ms", "p99_ms", "x numpy"), rows))


def over_grpc(store: ModelStore, requests: int) -> None:
    """Recommend and Predict through a real serving process at concurrency 1 and 8."""
    catalog = load_version(store, "bench", 1).scorer.catalog
    users, items = catalog.user_ids.tolist(), catalog.item_ids.tolist()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "movierec_client.cli",
            "serving",
            "--port",
            "0",
            "--store",
            str(store.root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = process.stdout.readline().split()[-1]
        with ServingClient(address) as client:
            client.wait_for_version("bench", 1, timeout=30)
        rows = []
        for method in ("recommend", "predict"):
            for concurrency in (1, 8):
                report = run_load(
                    LoadSpec(
                        target=address,
                        model="bench",
                        mix={method: 1.0},
                        user_ids=users,
                        item_ids=items,
                        concurrency=concurrency,
                        connections=1,
                        requests=requests,
                        duration_s=60,
                    )
                )
                rows.append(
                    (
                        method,
                        concurrency,
                        report.calls,
                        sum(report.errors.values()),
                        report.qps,
                        report.p50_ms,
                        report.p99_ms,
                    )
                )
        print(f"\nOver gRPC on loopback, one serving process, {requests} calls per row (k=10)")
        print(
            table(
                ("method", "in_flight", "calls", "errors", "per_second", "p50_ms", "p99_ms"), rows
            )
        )
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> int:
    """Trains a model once, then runs both comparisons."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300, help="users timed in process")
    parser.add_argument("--requests", type=int, default=2000, help="calls per gRPC row")
    args = parser.parse_args()
    from movierec.training.job import run_training

    with tempfile.TemporaryDirectory() as tmp:
        store = ModelStore(pathlib.Path(tmp) / "store")
        started = time.perf_counter()
        result = run_training(build_train_spec("bench", objective="rating"), store)
        print(
            f"trained the default dot model in {time.perf_counter() - started:.1f}s "
            f"({len(result.epochs)} epochs): {result.metrics}"
        )
        users = np.random.default_rng(0).choice(np.arange(1, 944), args.users, replace=False)
        in_process(store, users)
        over_grpc(store, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
