"""Large catalogues: Recommend and SimilarItems from the approximate index against brute
force on the same version, in one run, plus start to SERVING and resident memory.

For each size (default 100,000 and 1,000,000 items; `movierec synth` versions with their
indexes written at publish): p50/p99 of the data plane per call, approximate and exact,
recall@10 of the approximate lists against the exact ones, and the serving process's
start to SERVING and RSS against the size of the version's arrays.

    python -m bench.catalog [--items 100000 1000000] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as a serving process runs

import numpy as np  # noqa: E402

from bench.footprint import serving_start  # noqa: E402
from bench.serving import table  # noqa: E402


def timed(call, arguments) -> tuple[np.ndarray, list]:
    """Milliseconds per call and the answers."""
    times, answers = [], []
    for argument in arguments:
        started = time.perf_counter()
        answers.append(call(argument))
        times.append((time.perf_counter() - started) * 1000)
    return np.asarray(times), answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    from movierec.data.synthetic import SynthSpec, publish_synthetic
    from movierec.serving.dataplane import ServingDataPlane
    from movierec.serving.registry import ModelRegistry
    from movierec.store.model_store import ModelStore

    rows, starts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for items in args.items:
            store = ModelStore(pathlib.Path(tmp) / f"store-{items}")
            users = max(1000, items // 10)
            started = time.perf_counter()
            spec = SynthSpec(users=users, items=items, dim=32, ratings_per_user=20)
            publish_synthetic(store, "m", spec, ann_min_items=min(args.items))
            published = time.perf_counter() - started
            folder = store.version_path("m", 1)
            arrays_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
            exact = ModelRegistry(store, ann_min_items=10**12)
            approximate = ModelRegistry(store, ann_min_items=min(args.items))
            exact.refresh()
            approximate.refresh()
            planes = {
                "exact": ServingDataPlane(exact),
                "approximate": ServingDataPlane(approximate),
            }
            rng = np.random.default_rng(1)
            user_ids = rng.integers(1, users + 1, args.queries).tolist()
            item_ids = rng.integers(1, items + 1, args.queries).tolist()
            answers = {}
            for method, ids in (("Recommend", user_ids), ("SimilarItems", item_ids)):
                for name, plane in planes.items():
                    if method == "Recommend":
                        call = lambda u, p=plane: [  # noqa: E731
                            i.item_id for i in p.recommend("m", 0, u, 10).value.items
                        ]
                    else:
                        call = lambda i, p=plane: [  # noqa: E731
                            x.item_id for x in p.similar_items("m", 0, i, 10).value
                        ]
                    call(ids[0])
                    times, answers[name] = timed(call, ids)
                    recall = float("nan")
                    if name == "approximate":
                        recall = float(
                            np.mean(
                                [
                                    len(set(a) & set(e)) / 10
                                    for a, e in zip(answers[name], answers["exact"], strict=True)
                                ]
                            )
                        )
                    rows.append(
                        (
                            f"{items:,}",
                            method,
                            name,
                            float(np.percentile(times, 50)),
                            float(np.percentile(times, 99)),
                            recall,
                        )
                    )
            seconds, rss = min(serving_start(str(store.root)) for _ in range(2))
            starts.append(
                (f"{items:,}", f"{published:.1f}", arrays_mb, seconds, rss, rss / arrays_mb)
            )
    print(f"Per call in process, {args.queries} queries, k=10, one BLAS thread")
    print(table(("items", "method", "search", "p50_ms", "p99_ms", "recall@10"), rows))
    print("\nmovierec serving: start to SERVING and RSS (best of 2)")
    print(
        table(
            ("items", "publish_s", "version_MB", "start_s", "rss_MB", "rss/version"),
            starts,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
