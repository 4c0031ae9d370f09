"""The serving service against the ceiling of gRPC itself, in one run.

A bare echo server (sync and asyncio; generic handler, bytes in and out) and `movierec
serving` are driven by the same independent load generator (bench/load_driver.py:
separate processes, pre-serialized requests) at several concurrencies, for Recommend,
Predict and SimilarItems; then N serving processes sharing one port. Prints QPS, p50 and
p99, and the ratios to echo. Compare ratios, not absolute figures: the machine is shared.

    python -m bench.serving [--duration 4] [--concurrency 1 16 64] [--processes 1 2 4 8]
                            [--io aio threads] [--threads 1 2] [--top-lists on off]
                            [--methods ...] [--store DIR --model NAME]

Where /proc is readable, each one-process row also gives the server's CPU per call (warm-up
included), which says how much work a call costs the server even where the generator, not
the server, limits the QPS.

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
from movierec_client.v1 import common_pb2, serving_pb2

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


def _mode_name(io: str, threads: int, lists: str, args) -> str:
    """A serving row's label: the I/O mode, the thread count where several are measured,
    and "per call" for a server without top lists where both are measured."""
    name = f"{io} x{threads}" if threads and len(args.threads) > 1 else io
    return f"{name}, per call" if lists == "off" and len(args.top_lists) > 1 else name


def io_modes(args) -> list[tuple[str, int]]:
    """(--io, --threads) of each serving mode to measure; threads 0 for aio."""
    return [
        (io, threads) for io in args.io for threads in (args.threads if io == "threads" else [0])
    ]


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user and system) a process has used so far; None without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        "all_calls": int(sum(r["all_calls"] for r in results)),
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
    from movierec.kinds.versions import load_version
    from movierec.store.model_store import ModelStore

    if args.store:
        store = ModelStore(args.store)
        model = args.model
    else:
        from movierec.data.synthetic import SynthSpec, publish_synthetic

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
        "--top-lists",
        nargs="+",
        choices=("on", "off"),
        default=["on"],
        help="measure serving with top lists (the default) and/or answering every call per"
        " call (--top-lists-max-cells 0)",
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
        modes = [(io, threads, lists) for lists in args.top_lists for io, threads in io_modes(args)]
        servings = {
            _mode_name(io, threads, lists, args): start(
                [
                    sys.executable,
                    "-m",
                    "movierec_client.cli",
                    "serving",
                    "--port",
                    "0",
                    "--store",
                    store,
                ]
                + ["--io", io]
                + (["--threads", str(threads)] if threads else [])
                + (["--top-lists-max-cells", "0"] if lists == "off" else [])
            )
            for io, threads, lists in modes
        }
        time.sleep(2.0)  # past the ranking of top lists, which starts once a server serves
        rows = []
        try:
            for concurrency in args.concurrency:

                def run(server, method, file, concurrency=concurrency):
                    process, target = server
                    before = cpu_seconds(process.pid)
                    result = drive(
                        target,
                        method,
                        file,
                        concurrency,
                        drivers_for(concurrency),
                        args.duration,
                        args.warmup,
                    )
                    after = cpu_seconds(process.pid)
                    result["server_cpu_ms"] = (
                        1000 * (after - before) / result["all_calls"]
                        if before is not None and after is not None and result["all_calls"]
                        else float("nan")
                    )
                    return result

                ceiling = {
                    mode: run(server, ECHO_METHOD, files["Recommend"])
                    for mode, server in echo.items()
                }
                base = ceiling["sync"]
                for mode, result in ceiling.items():
                    rows.append((f"echo ({mode})", concurrency, result, base))
                for method in args.methods:
                    for io, server in servings.items():
                        result = run(server, f"{SERVICE}/{method}", files[method])
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
                    "server_cpu_ms/call",
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
                        r["server_cpu_ms"],
                        r["client_cpu_ms"],
                    )
                    for name, c, r, b in rows
                ],
            )
        )
        in_process(args, store, model, files)
        scaling(args, store, files["Recommend"], processes)
    return 0


def in_process(args, store: str, model: str, files: dict[str, pathlib.Path]) -> None:
    """Microseconds the servicer takes per call in this process, without gRPC: parsing the
    request, the data plane and the response bytes; with top lists and per call."""
    from bench.load_driver import read_requests
    from movierec.serving.dataplane import ServingDataPlane
    from movierec.serving.registry import ModelRegistry
    from movierec.serving.top_lists import DEFAULT_MAX_CELLS
    from movierec.store.model_store import ModelStore
    from serving_service.servicer import ServingServicer

    messages = {
        "Recommend": serving_pb2.RecommendRequest,
        "Predict": serving_pb2.PredictRequest,
        "SimilarItems": serving_pb2.SimilarItemsRequest,
    }
    rows = []
    for lists in ("on", "off"):
        cells = 0 if lists == "off" else DEFAULT_MAX_CELLS
        registry = ModelRegistry(ModelStore(store), top_lists_max_cells=cells)
        registry.refresh()
        registry.build_top_lists()
        servicer = ServingServicer(ServingDataPlane(registry))
        for method in args.methods:
            behaviour = getattr(servicer, method)
            parse = messages[method].FromString
            requests = read_requests(files[method])
            behaviour(parse(requests[0]), None)
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                for request in requests:
                    behaviour(parse(request), None)
                best = min(best, (time.perf_counter() - started) / len(requests))
            rows.append((method, "top lists" if lists == "on" else "per call", best * 1e6))
    print("\nThe servicer in process (no gRPC), best of 5 passes over the requests")
    print(table(("method", "answered from", "us/call"), rows))


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
    so that a row measures N server cores and not the scheduler's mix; there are two
    drivers per server core while the other cores allow it, since a driver spends about as
    much CPU per call as a server. The thread-pool mode is measured at each --threads."""
    cores = sorted(os.sched_getaffinity(0))
    rows = []
    single: dict[str, float] = {}
    for count in counts:
        if len(cores) >= 2 * count:
            server_cpus, driver_cpus = cores[:count], cores[count:]
            drivers = max(2, min(len(driver_cpus), 2 * count))
        else:
            server_cpus = driver_cpus = None
            drivers = max(2, count)
        connections = count
        concurrency = 2 * connections * drivers
        measured = {}
        for io, threads in [("echo", 0), *io_modes(args)]:
            name = "echo" if io == "echo" else _mode_name(io, threads, "on", args)
            if io == "echo":
                group, address = _echo_group(count, server_cpus)
                method = ECHO_METHOD
            else:
                command = [sys.executable, "-m", "movierec_client.cli", "serving", "--port", "0"]
                command += ["--store", store, "--workers", str(count), "--io", io]
                command += ["--threads", str(threads)] if threads else []
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
        for name, serving in measured.items():
            if name == "echo":
                continue
            rows.append(
                (
                    count,
                    name,
                    "yes" if server_cpus else "no",
                    drivers,
                    concurrency,
                    echo["qps"],
                    echo["qps"] / single["echo"],
                    serving["qps"],
                    serving["p50"],
                    serving["p99"],
                    serving["errors"],
                    serving["qps"] / single[name],
                    serving["qps"] / echo["qps"],
                )
            )
    print("\nRecommend with N processes on one port (movierec serving --workers N) beside N echo")
    print("processes; 'x_one' is QPS against N = 1 of the same server")
    print(
        table(
            (
                "N",
                "mode",
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
