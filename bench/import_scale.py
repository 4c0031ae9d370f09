"""`movierec dataset import` at scale: wall time, rows per second and peak memory.

For each size, writes a synthetic TSV of implicit feedback as a play log exports it
(user, item, plays, time; CRLF line endings; users and items drawn from Zipf laws shaped
like ML-25M's 162,541 users and 62,423 items at 25 million rows, so that popular pairs
repeat and are merged), then imports it with the `movierec` command in a process of its
own, whose peak RSS is read from wait4. Prints one table.

    python -m bench.import_scale [--rows 1000000 5000000 25000000] [--folder DIR]
                                 [--iso-times] [--keep]

The goal on the 2-core development machine: 25 million rows in at most 60 s and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ML_25M = (25_000_095, 162_541, 62_423)
_CHUNK = 1_000_000
FIRST_TIME, LAST_TIME = 1_104_537_600, 1_735_689_600  # 2005 to 2025


def shape_for(rows: int) -> tuple[int, int]:
    """Users and items of a file of `rows` rows, scaled as in ML-25M."""
    total, users, items = ML_25M
    scale = rows / total
    return max(1_000, round(users * scale)), max(500, round(items * scale))


def write_plays(path: pathlib.Path, rows: int, iso_times: bool, seed: int = 0) -> None:
    """Writes `rows` rows of user, item, plays, time (TSV, CRLF), a million at a time."""
    users, items = shape_for(rows)
    rng = np.random.default_rng(seed)
    user_cdf = np.cumsum(np.arange(1, users + 1, dtype=np.float64) ** -0.6)
    item_cdf = np.cumsum(np.arange(1, items + 1, dtype=np.float64) ** -1.0)
    user_ids = rng.permutation(users) + 1
    item_ids = rng.permutation(items) + 1
    options = pacsv.WriteOptions(
        delimiter="\t", eol="\r\n", quoting_style="none", quoting_header="none"
    )
    schema = pa.schema(
        [
            ("user", pa.int64()),
            ("item", pa.int64()),
            ("plays", pa.int64()),
            ("time", pa.string() if iso_times else pa.int64()),
        ]
    )
    with pacsv.CSVWriter(path, schema, write_options=options) as writer:
        for start in range(0, rows, _CHUNK):
            count = min(_CHUNK, rows - start)
            user = user_ids[np.searchsorted(user_cdf, rng.random(count) * user_cdf[-1])]
            item = item_ids[np.searchsorted(item_cdf, rng.random(count) * item_cdf[-1])]
            plays = rng.geometric(0.05, count)
            times = rng.integers(FIRST_TIME, LAST_TIME, count)
            stamp = (
                pa.array(times.astype("datetime64[s]").astype(str) + "Z")
                if iso_times
                else pa.array(times)
            )
            writer.write_table(pa.table([user, item, plays, stamp], schema=schema))


def import_once(path: pathlib.Path, data: pathlib.Path, name: str) -> dict:
    """Imports `path` with the movierec command; returns its manifest with the wall
    seconds and peak RSS (bytes) of the process."""
    command = [sys.executable, "-m", "movierec_client.cli", "dataset", "import", name, "--json"]
    command += ["--interactions", str(path), "--data-dir", str(data), "--replace"]
    command += ["--user-column", "user", "--item-column", "item"]
    command += ["--weight-column", "plays", "--time-column", "time"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"import of {path} failed with exit status {process.returncode}")
    manifest = json.loads(output)
    manifest["wall_s"] = seconds
    manifest["peak_rss"] = usage.ru_maxrss * 1024  # Linux reports KiB
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--folder", help="where files and datasets go (default: a temp folder)")
    parser.add_argument("--iso-times", action="store_true", help="ISO-8601 times, not integers")
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    args = parser.parse_args()
    folder = pathlib.Path(args.folder or tempfile.mkdtemp(prefix="import-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    header = (
        f"{'rows':>12} {'file_MB':>8} {'write_s':>8} {'import_s':>9} {'rows/s':>11}"
        f" {'peak_GB':>8} {'merged':>10} {'users':>8} {'items':>7}"
    )
    lines = []
    for rows in args.rows:
        path = folder / f"plays-{rows}.tsv"
        started = time.perf_counter()
        write_plays(path, rows, args.iso_times)
        written = time.perf_counter() - started
        result = import_once(path, folder / "data", f"plays-{rows}")
        lines.append(
            f"{rows:>12,} {path.stat().st_size / 1e6:>8.0f} {written:>8.1f}"
            f" {result['wall_s']:>9.1f} {rows / result['wall_s']:>11,.0f}"
            f" {result['peak_rss'] / 2**30:>8.2f} {result['duplicates_merged']:>10,}"
            f" {result['users']:>8,} {result['items']:>7,}"
        )
        print(lines[-1], flush=True)
        if not args.keep:
            path.unlink()
            shutil.rmtree(folder / "data" / f"plays-{rows}")
    times = "ISO-8601" if args.iso_times else "integer"
    print(f"\nmovierec dataset import of a TSV play log ({times} times), one process each")
    print(header)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
