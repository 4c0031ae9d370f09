"""Training at MovieLens-25M sizes: wall time, peak memory and examples per second.

For each size, `movierec synth-ratings` writes a synthetic dataset in the ml-25m layout
(users and movies scaled with the ratings as in ML-25M: 162,541 users and 62,423 movies for
25 million ratings), its ratings are parsed once into the column cache
(movierec.data.ratings_cache), and then each kind and objective trains through
`movierec.training.job.run_training` (random 90/10 split, no validation share, the given
epochs) in a process of its own, so that its peak RSS is its own. Prints one table.

    python -m bench.train_scale [--ratings 1000000 5000000 25000000]
                                [--kinds dot two_tower] [--objectives rating retrieval]
                                [--epochs 1] [--batch-size 4096]
                                [--negative-sharing example|batch] [--num-negatives N]

The goal on the 2-core development machine: 25 million ratings, one epoch, within 10
minutes at a peak RSS of at most 8 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ML_25M = (25_000_095, 162_541, 62_423)


def shape_for(ratings: int) -> tuple[int, int]:
    """Users and movies of a dataset of `ratings` ratings, scaled as in ML-25M."""
    total, users, items = ML_25M
    scale = ratings / total
    return max(1_000, round(users * scale)), max(500, round(items * scale))


def child(args) -> int:
    """Trains one kind and objective; prints one JSON line of measurements."""
    from movierec.store.model_store import ModelStore
    from movierec.training.job import run_training
    from movierec.training.spec import build_train_spec

    spec = build_train_spec(
        f"scale-{args.kind}-{args.objective}",
        kind=args.kind,
        dataset="ml-25m",
        split="random",
        test_fraction=0.1,
        objective=args.objective,
        hyperparameters={
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "validation_fraction": 0.0,
            "negative_sharing": args.negative_sharing,
            "num_negatives": args.num_negatives,
        },
    )
    epoch_seconds: list[float] = []
    started = time.perf_counter()
    result = run_training(
        spec,
        ModelStore(args.store),
        data_dir=args.data_dir,
        on_epoch=lambda report: epoch_seconds.append(report.seconds),
    )
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    manifest = ModelStore(args.store).read_manifest(spec.model_name, result.version)
    params = spec.hyperparameters
    negatives = ""
    if args.objective == "retrieval":
        negatives = (
            f"pool {params.num_negatives}"
            if params.negative_sharing == "batch"
            else f"{params.num_negatives} each"
        )
    print(
        json.dumps(
            {
                "wall_s": wall,
                "fit_s": sum(epoch_seconds),
                "train_ratings": manifest["num_train_ratings"],
                "peak_rss_gb": peak_kb / 2**20,
                "metrics": result.metrics,
                "negatives": negatives,
            }
        )
    )
    return 0


def table(headers, rows) -> str:
    """A plain fixed-width table."""
    cells = [list(map(str, headers))] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ratings", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--kinds", nargs="+", default=["dot", "two_tower"])
    parser.add_argument("--objectives", nargs="+", default=["rating", "retrieval"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument(
        "--num-negatives", type=int, help="retrieval (default: movierec.training.spec's)"
    )
    parser.add_argument(
        "--negative-sharing",
        choices=("example", "batch"),
        help="retrieval: negatives per positive, or a pool per batch (default: the kind's)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--objective", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    from movierec.data.ratings_cache import read_ratings_csv
    from movierec.data.synthetic_ratings import RatingsSpec, write_ratings

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MOVIEREC_CACHE_DIR": str(pathlib.Path(tmp) / "cache")}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ["MOVIEREC_CACHE_DIR"] = env["MOVIEREC_CACHE_DIR"]
        for ratings in args.ratings:
            users, items = shape_for(ratings)
            data_dir = pathlib.Path(tmp) / f"data-{ratings}"
            started = time.perf_counter()
            write_ratings(RatingsSpec(users=users, items=items, ratings=ratings), data_dir)
            written = time.perf_counter() - started
            started = time.perf_counter()
            read_ratings_csv(data_dir / "ml-25m" / "ratings.csv")
            parsed = time.perf_counter() - started
            started = time.perf_counter()
            cached = len(read_ratings_csv(data_dir / "ml-25m" / "ratings.csv"))
            from_cache = time.perf_counter() - started
            print(
                f"{cached:,} ratings, {users:,} users, {items:,} movies: written in"
                f" {written:.1f}s, parsed and cached in {parsed:.1f}s, read from the cache in"
                f" {from_cache:.2f}s",
                flush=True,
            )
            for kind in args.kinds:
                for objective in args.objectives:
                    command = [sys.executable, "-m", "bench.train_scale", "--child"]
                    command += ["--kind", kind, "--objective", objective]
                    command += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
                    if args.negative_sharing:
                        command += ["--negative-sharing", args.negative_sharing]
                    if args.num_negatives:
                        command += ["--num-negatives", str(args.num_negatives)]
                    command += ["--store", str(pathlib.Path(tmp) / "store")]
                    command += ["--data-dir", str(data_dir)]
                    done = subprocess.run(command, capture_output=True, text=True, env=env)
                    if done.returncode != 0:
                        print(done.stderr[-2000:], file=sys.stderr)
                        rows.append((f"{ratings:,}", kind, objective, "", "failed", *[""] * 4))
                        continue
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    metric = (
                        f"rmse {result['metrics'].get('rmse', float('nan')):.3f}"
                        if objective == "rating"
                        else f"ndcg@10 {result['metrics'].get('ndcg@10', float('nan')):.3f}"
                    )
                    per_second = result["train_ratings"] * args.epochs / result["fit_s"]
                    rows.append(
                        (
                            f"{ratings:,}",
                            kind,
                            objective,
                            result["negatives"],
                            f"{result['wall_s']:.0f}",
                            f"{result['fit_s']:.0f}",
                            f"{per_second:,.0f}",
                            f"{result['peak_rss_gb']:.2f}",
                            metric,
                        )
                    )
                    print(table(HEADERS, rows[-1:]).splitlines()[-1], flush=True)
    print(f"\n{args.epochs} epoch(s), batch {args.batch_size}, {os.cpu_count()} cores")
    print(table(HEADERS, rows))
    return 0


HEADERS = (
    "ratings",
    "kind",
    "objective",
    "negatives",
    "wall_s",
    "fit_s",
    "examples/s",
    "peak_rss_GB",
    "test metric",
)


if __name__ == "__main__":
    sys.exit(main())
