"""What it costs to feed training batches: rows read from shard files on disk
(movierec.training.row_files, what training uses) beside the in-memory gather it replaced
(movierec.training.fit.row_batches), in one run.

For each block size, the rows (user, item, rating: three 4-byte columns) are written once,
then one shuffled pass of batches is drained through tf.data; the table gives wall and CPU
seconds (CPU counts tf.data's threads, which share the cores with the training step) and
the ratio to the in-memory gather. Ratios matter, not absolute times: this machine is shared.

    python -m bench.row_pipeline [--rows 4500000] [--batch-size 4096] [--blocks 128 512 1024]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import tensorflow as tf

from bench.serving import table
from movierec.training.fit import row_batches
from movierec.training.row_files import read_batches, write_rows


def cpu_seconds() -> float:
    """User and system CPU of this process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drain(dataset: tf.data.Dataset) -> tuple[float, float]:
    """(wall, CPU) seconds to read every batch of one pass."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    dataset.prefetch(2).reduce(0, lambda count, *batch: count + 1)
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    """Prints the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4_500_000)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--blocks", type=int, nargs="+", default=[128, 512, 1024])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    columns = {
        "user": rng.integers(1, 162_541, args.rows).astype(np.int32),
        "item": rng.integers(1, 62_424, args.rows).astype(np.int32),
        "rating": rng.integers(1, 11, args.rows).astype(np.float32) / 2,
    }
    base_wall, base_cpu = drain(row_batches(tuple(columns.values()), args.batch_size, 3))
    rows = [("in memory (row_batches)", "", 0.0, base_wall, base_cpu, 1.0)]
    for block_rows in args.blocks:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            files = write_rows(
                folder,
                args.rows,
                lambda picked: {name: values[picked] for name, values in columns.items()},
                1,
                block_rows,
            )
            written = time.perf_counter() - started
            wall, cpu = drain(read_batches(files, args.batch_size, 3))
        rows.append(("files (read_batches)", block_rows, written, wall, cpu, cpu / base_cpu))
    print(f"{args.rows:,} rows, batches of {args.batch_size:,}, one shuffled pass")
    headers = ("source", "block_rows", "write_s", "read_wall_s", "read_cpu_s", "cpu_ratio")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
