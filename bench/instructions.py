"""Instructions per call of the serving service beside the bare echo server, counted by
valgrind's callgrind: exact counts, so that two trees or two settings compare on a shared
machine where CPU time per call moves by tens of percent from one round to the next.

Each server runs under callgrind. The bench sends every distinct request once (so that
what a server keeps per user or item is warm), zeroes the counters
(`callgrind_control -z`), drives the server with the independent generator
(bench/load_driver.py) for a duration, and dumps the counters: instructions over calls
answered. The counts take in every thread of the server: gRPC's, the handlers' and the
store watcher's (which polls once in 600 s here, and has ranked the top lists before
counting starts). Instructions are not time, since cache misses and waits do not show, but
a change that takes instructions off the path shows here whatever the machine's load.

    python -m bench.instructions [--concurrency 1 16] [--methods Recommend SimilarItems]
        [--top-lists on off] [--io threads aio] [--duration 8]

Needs valgrind (`apt install valgrind`); servers run about 50 times slower under it.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

from bench.load_driver import read_requests, write_requests
from bench.serving import ECHO_METHOD, SERVICE, build_requests, drive, prepare_store, stop, table

REQUESTS = 400
"""Distinct requests per method: all are sent once before counting, and the measured
calls cycle through them."""


def counted_start(command: list[str], folder: pathlib.Path, ready: str | None):
    """Starts `command` under callgrind, its dumps in `folder`; waits for its "listening
    on" line and, when `ready` is given, for that text in its log. Returns (process,
    address)."""
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "-q",
            f"--callgrind-out-file={folder}/callgrind.%p",
            *command,
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"{command} did not start under valgrind: {line!r}")
    deadline = time.monotonic() + 600
    while ready and ready not in (folder / "server.log").read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            stop([process])
            raise RuntimeError(f"{command} never logged {ready!r}")
        time.sleep(0.5)
    return process, line.split()[-1]


def instructions(process: subprocess.Popen, folder: pathlib.Path) -> int:
    """Dumps a callgrind process's counters; the instructions counted since they were
    last zeroed."""
    before = set(folder.glob("callgrind.*"))
    subprocess.run(["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True)
    for _ in range(600):
        dumps = set(folder.glob("callgrind.*")) - before
        for dump in dumps:
            for line in dump.read_text().splitlines():
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
        time.sleep(0.1)
    raise RuntimeError("callgrind wrote no dump")


def per_call(
    command: list[str],
    method: str,
    requests_file: pathlib.Path,
    concurrency: int,
    duration: float,
    ready: str | None,
) -> tuple[int, float]:
    """(calls answered, instructions per call) of one server, warmed up first."""
    with tempfile.TemporaryDirectory() as dumps:
        folder = pathlib.Path(dumps)
        process, target = counted_start(command, folder, ready)
        try:
            with grpc.insecure_channel(target) as channel:
                call = channel.unary_unary(method)
                for request in read_requests(requests_file):
                    call(request, timeout=120)
            subprocess.run(
                ["callgrind_control", "-z", str(process.pid)], check=True, capture_output=True
            )
            result = drive(target, method, requests_file, concurrency, 1, duration, 0.0)
            if result["errors"]:
                raise RuntimeError(f"{result['errors']} calls failed")
            calls = result["all_calls"]
            return calls, instructions(process, folder) / calls
        finally:
            stop([process])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=("Recommend", "Predict", "SimilarItems"),
        default=["Recommend"],
    )
    parser.add_argument("--io", nargs="+", choices=("threads", "aio"), default=["threads"])
    parser.add_argument("--top-lists", nargs="+", choices=("on", "off"), default=["on"])
    parser.add_argument("--store", help="a store holding --model (default: synthetic)")
    parser.add_argument("--model", default="bench")
    args = parser.parse_args()
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        store, model, users, items = prepare_store(args, folder)
        files = {}
        for method, requests in build_requests(model, users, items, REQUESTS).items():
            files[method] = folder / f"{method}.bin"
            write_requests(files[method], requests)
        for concurrency in args.concurrency:
            echo_command = [sys.executable, "-m", "bench.echo_server", "--mode", "sync"]
            _, echo = per_call(
                echo_command, ECHO_METHOD, files["Recommend"], concurrency, args.duration, None
            )
            rows.append(("echo (sync)", concurrency, echo / 1000, 1.0))
            for method in args.methods:
                for io in args.io:
                    for lists in args.top_lists:
                        command = [
                            sys.executable,
                            "-m",
                            "movierec_client.cli",
                            "serving",
                            "--port",
                            "0",
                            "--store",
                            store,
                            "--io",
                            io,
                            "--poll-interval",
                            "600",
                        ]
                        if lists == "off":
                            command += ["--top-lists-max-cells", "0"]
                        _, count = per_call(
                            command,
                            f"{SERVICE}/{method}",
                            files[method],
                            concurrency,
                            args.duration,
                            "ranked the top lists" if lists == "on" else None,
                        )
                        name = f"serving ({io}{', per call' if lists == 'off' else ''}) {method}"
                        rows.append((name, concurrency, count / 1000, count / echo))
                        print(f"{name}, concurrency {concurrency}: done", file=sys.stderr)
    print("\nInstructions per call under callgrind (thousands), and against echo's")
    print(table(("server", "concurrency", "k_instr/call", "x echo"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
