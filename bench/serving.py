"""The serving service against the ceiling of gRPC itself, in one run.

A bare echo server (sync and asyncio; generic handler, bytes in and out) and `movierec
serving` are driven by the same independent load generator (bench/load_driver.py:
separate processes, pre-serialized requests) at several concurrencies, for Recommend,
Predict and SimilarItems; then N serving processes sharing one port. Prints QPS, p50 and
p99, and the ratios to echo. Compare ratios, not absolute figures: the machine is shared.

    python -m bench.serving [--duration 4] [--concurrency 1 16 64] [--processes 1 2 4 8]
                            [--io aio threads] [--threads 1 2] [--methods ...]
                            [--store DIR --model NAME]

Without --store it serves a synthetic version shaped like the ml-100k dot model (943 users,
1,682 items, 32 dimensions; `movierec synth`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench.load_driver import write_requests
from movierec.v1 import common_pb2, serving_pb2

SERVICE = "/movierec.v1.ServingService"
ECHO_METHOD = "/bench.Echo/Echo"


def table(headers, rows) -> str:
    """A plain fixed-width table."""
    cells = [list(map(str, headers))] + [
        [
            f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
            for v in row
        ]
        for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def build_requests(model: str, user_ids, item_ids, count: int = 2000) -> dict[str, list[bytes]]:
    """Pre-serialized requests per serving method, cycling over users and items."""
    rng = np.random.default_rng(0)
    users = rng.choice(user_ids, count)
    items = rng.choice(item_ids, (count, 10))
    spec = common_pb2.ModelSpec(name=model)
    recommend = [
        serving_pb2.RecommendRequest(model=spec, user_id=int(u), k=10).SerializeToString()
        for u in users
    ]
    predict = [
        serving_pb2.PredictRequest(
            model=spec,
            instances=[serving_pb2.PredictInstance(user_id=int(u), item_id=int(i)) for i in row],
        ).SerializeToString()
        for u, row in zip(users, items, strict=True)
    ]
    similar = [
        serving_pb2.SimilarItemsRequest(model=spec, item_id=int(row[0]), k=10).SerializeToString()
        for row in items
    ]
    return {"Recommend": recommend, "Predict": predict, "SimilarItems": similar}


def _mode_name(io: str, threads: int, measured: list[int]) -> str:
    """A serving row's label: the I/O mode, and the thread count where several are measured."""
    return f"{io} x{threads}" if threads and len(measured) > 1 else io


def pinned(cpus: list[int] | None):
    """A preexec_fn binding a child (and its children) to `cpus`; None leaves it free."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def start(
    command: list[str], env: dict | None = None, cpus: list[int] | None = None
) -> tuple[subprocess.Popen, str]:
    """Starts a server process (bound to `cpus` when given) and waits for its "listening on
    HOST:PORT" line."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        preexec_fn=pinned(cpus),
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"{command} did not start: {line!r}")
    return process, line.split()[-1]


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM, then waits (kills after 20 s)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def drive(
    target,
    method,
    requests_file,
    concurrency,
    drivers,
    duration,
    warmup,
    connections: int = 1,
    cpus: list[int] | None = None,
) -> dict:
    """Runs `drivers` load_driver processes splitting `concurrency`, each over `connections`
    connections and bound to `cpus` when given; merges their results."""
    shares = [concurrency // drivers + (i < concurrency % drivers) for i in range(drivers)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.load_driver",
                "--target",
                target,
                "--method",
                method,
                "--requests",
                str(requests_file),
                "--concurrency",
                str(share),
                "--duration",
                str(duration),
                "--warmup",
                str(warmup),
                "--connections",
                str(min(connections, share)),
            ],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=pinned(cpus),
        )
        for share in shares
        if share
    ]
    results = [json.loads(p.communicate()[0]) for p in processes]
    latencies = np.concatenate([np.asarray(r["latencies_ms"]) for r in results])
    seconds = max(r["seconds"] for r in results)
    calls = int(sum(r["calls"] for r in results))
    errors: dict[str, int] = {}
    for r in results:
        for code, n in r["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "qps": calls / seconds if seconds else 0.0,
        "p50": float(np.percentile(latencies, 50)) if calls else float("nan"),
        "p99": float(np.percentile(latencies, 99)) if calls else float("nan"),
        "errors": sum(errors.values()),
        "client_cpu_ms": 1000 * sum(r["cpu_seconds"] for r in results) / max(calls, 1),
    }


def drivers_for(concurrency: int) -> int:
    """Load-driver processes for a concurrency: one per 8 calls in flight, at most 4."""
    return max(1, min(4, concurrency // 8))


def prepare_store(args, folder: pathlib.Path) -> tuple[str, str, list[int], list[int]]:
    """(store root, model, user ids, item ids) to serve."""
    from movierec.model_store import ModelStore
    from movierec.registry import load_version

    if args.store:
        store = ModelStore(args.store)
        model = args.model
    else:
        from movierec.synthetic import SynthSpec, publish_synthetic

        store = ModelStore(folder / "store")
        model = "bench"
        publish_synthetic(store, model, SynthSpec(users=943, items=1682, dim=32))
    catalog = load_version(store, model, store.latest_version(model)).scorer.catalog
    return str(store.root), model, catalog.user_ids.tolist(), catalog.item_ids.tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--store", help="a store holding --model (default: synthetic)")
    parser.add_argument("--model", default="bench")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=("Recommend", "Predict", "SimilarItems"),
        default=["Recommend", "Predict", "SimilarItems"],
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, 2],
        help="--threads of the thread-pool mode to measure one process with",
    )
    parser.add_argument(
        "--io",
        nargs="+",
        choices=("aio", "threads"),
        default=["aio", "threads"],
        help="serving --io modes to measure",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    processes = [n for n in args.processes if n <= cores] or [1]
    print(f"{cores} cores; {args.duration:g}s measured per row after {args.warmup:g}s warm-up")

    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        store, model, users, items = prepare_store(args, folder)
        files = {}
        for method, requests in build_requests(model, users, items).items():
            files[method] = folder / f"{method}.bin"
            write_requests(files[method], requests)
        echo = {
            mode: start([sys.executable, "-m", "bench.echo_server", "--mode", mode])
            for mode in ("sync", "aio")
        }
        modes = [
            (io, threads)
            for io in args.io
            for threads in (args.threads if io == "threads" else [0])
        ]
        servings = {
            _mode_name(io, threads, args.threads): start(
                [sys.executable, "-m", "client.cli", "serving", "--port", "0", "--store", store]
                + ["--io", io]
                + (["--threads", str(threads)] if threads else [])
            )
            for io, threads in modes
        }
        time.sleep(0.5)
        rows = []
        try:
            for concurrency in args.concurrency:

                def run(target, method, file, concurrency=concurrency):
                    return drive(
                        target,
                        method,
                        file,
                        concurrency,
                        drivers_for(concurrency),
                        args.duration,
                        args.warmup,
                    )

                ceiling = {
                    mode: run(address, ECHO_METHOD, files["Recommend"])
                    for mode, (_, address) in echo.items()
                }
                base = ceiling["sync"]
                for mode, result in ceiling.items():
                    rows.append((f"echo ({mode})", concurrency, result, base))
                for method in args.methods:
                    for io, (_, address) in servings.items():
                        result = run(address, f"{SERVICE}/{method}", files[method])
                        rows.append((f"serving ({io}) {method}", concurrency, result, base))
        finally:
            stop([p for p, _ in (*echo.values(), *servings.values())])
        print("\nOne process each; ratios against the sync echo server at the same concurrency")
        print(
            table(
                (
                    "server",
                    "concurrency",
                    "qps",
                    "p50_ms",
                    "p99_ms",
                    "errors",
                    "qps/echo",
                    "p50/echo",
                    "client_cpu_ms/call",
                ),
                [
                    (
                        name,
                        c,
                        r["qps"],
                        r["p50"],
                        r["p99"],
                        r["errors"],
                        r["qps"] / b["qps"],
                        r["p50"] / b["p50"],
                        r["client_cpu_ms"],
                    )
                    for name, c, r, b in rows
                ],
            )
        )
        scaling(args, store, files["Recommend"], processes)
    return 0


def _echo_group(count: int, cpus: list[int] | None) -> tuple[list[subprocess.Popen], str]:
    """`count` sync echo processes sharing one port."""
    command = [sys.executable, "-m", "bench.echo_server", "--mode", "sync", "--reuse-port"]
    first, address = start(command, cpus=cpus)
    port = address.rsplit(":", 1)[1]
    rest = [start([*command, "--port", port], cpus=cpus)[0] for _ in range(count - 1)]
    return [first, *rest], address


def scaling(args, store: str, requests_file: pathlib.Path, counts: list[int]) -> None:
    """Recommend QPS of `movierec serving --workers N` (N processes on one port; each --io
    mode) beside N sync echo processes on one port, all driven the same way.

    The kernel spreads connections, not calls, over processes sharing a port, so each
    load-driver process opens N connections (2 calls in flight on each). Where the machine
    has at least 2N cores, the servers are bound to N cores and the drivers to the others,
    so that a row measures N server cores and not the scheduler's mix."""
    cores = sorted(os.sched_getaffinity(0))
    rows = []
    single: dict[str, float] = {}
    for count in counts:
        drivers = max(2, count)
        if len(cores) >= 2 * count:
            server_cpus, driver_cpus = cores[:count], cores[count:]
        else:
            server_cpus = driver_cpus = None
        connections = count
        concurrency = 2 * connections * drivers
        measured = {}
        for name in ("echo", *args.io):
            if name == "echo":
                group, address = _echo_group(count, server_cpus)
                method = ECHO_METHOD
            else:
                command = [sys.executable, "-m", "client.cli", "serving", "--port", "0"]
                command += ["--store", store, "--workers", str(count), "--io", name]
                process, address = start(command, cpus=server_cpus)
                group, method = [process], f"{SERVICE}/Recommend"
            try:
                time.sleep(0.5)
                measured[name] = drive(
                    address,
                    method,
                    requests_file,
                    concurrency,
                    drivers,
                    args.duration,
                    args.warmup,
                    connections=connections,
                    cpus=driver_cpus,
                )
            finally:
                stop(group)
            single.setdefault(name, measured[name]["qps"])
        echo = measured["echo"]
        for io in args.io:
            serving = measured[io]
            rows.append(
                (
                    count,
                    io,
                    "yes" if server_cpus else "no",
                    drivers,
                    concurrency,
                    echo["qps"],
                    echo["qps"] / single["echo"],
                    serving["qps"],
                    serving["p50"],
                    serving["p99"],
                    serving["errors"],
                    serving["qps"] / single[io],
                    serving["qps"] / echo["qps"],
                )
            )
    print("\nRecommend with N processes on one port (movierec serving --workers N) beside N echo")
    print("processes; 'x_one' is QPS against N = 1 of the same server")
    print(
        table(
            (
                "N",
                "io",
                "pinned",
                "driver_procs",
                "in_flight",
                "echo_qps",
                "echo_x_one",
                "qps",
                "p50_ms",
                "p99_ms",
                "errors",
                "x_one",
                "qps/echo",
            ),
            rows,
        )
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
