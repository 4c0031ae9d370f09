"""What a serving process and a client command cost to start, beside bare baselines.

For each catalogue (default: ml-100k's shape, and 100,000 items): the time from starting
`movierec serving` to health SERVING and its resident memory then, against a bare Python
that imports grpc, numpy and protobuf; the size of the version's arrays; and the wall time
of a client command (`movierec recommend --help`) against `python -c "import grpc"`.
Ratios matter, not absolute times: this machine is shared. Bare and serving starts
alternate; the project's bytecode is compiled first, as an install would.

    python -m bench.footprint [--items 1682 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
import pathlib
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.serving import stop, table

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("movierec", "serving_service", "service_common", "client")
"""What a serving process and a client command import from the checkout."""


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serving_start(store: str) -> tuple[float, float]:
    """(seconds from spawn to SERVING, RSS MB then) of `movierec serving`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "movierec_client.cli", "serving", "--port", "0", "--store", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = process.stdout.readline().split()[-1]
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
                except grpc.RpcError:
                    status = None
                if status == health_pb2.HealthCheckResponse.SERVING:
                    break
                time.sleep(0.005)
        return time.perf_counter() - started, rss_mb(process.pid)
    finally:
        stop([process])


def bare_start() -> tuple[float, float]:
    """(seconds, RSS MB) of a Python importing grpc, numpy and protobuf, then waiting."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import grpc, numpy, google.protobuf, sys; print('ready', flush=True);"
            " sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()
    seconds = time.perf_counter() - started
    memory = rss_mb(process.pid)
    process.stdin.close()
    process.wait()
    return seconds, memory


def command_seconds(argv: list[str]) -> float:
    """Wall seconds of a command."""
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - started


def compile_project() -> None:
    """Compiles the project's bytecode, as installing a package does, so that a start
    measures loading the code and not compiling it: with PYTHONDONTWRITEBYTECODE set
    (as containers often have it) a checkout would otherwise compile every module on
    every start (measured on 2 cores: 0.30 s to SERVING compiled, 0.42 s from source)."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def best(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Fastest start, and the memory of that run."""
    return min(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, nargs="+", default=[1682, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from movierec.data.synthetic import SynthSpec, publish_synthetic
    from movierec.store.model_store import ModelStore

    compile_project()
    bare_samples: list[tuple[float, float]] = []
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        for items in args.items:
            store = ModelStore(pathlib.Path(tmp) / f"store-{items}")
            users = 943 if items == 1682 else max(943, items // 10)
            publish_synthetic(store, "m", SynthSpec(users=users, items=items, dim=32))
            folder = store.version_path("m", 1)
            arrays_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
            samples = []
            for _ in range(args.repeat):  # alternated, so that both see the same noise
                bare_samples.append(bare_start())
                samples.append(serving_start(str(store.root)))
            measured.append((users, items, arrays_mb, best(samples)))
    bare = best(bare_samples)
    rows = [("bare python: grpc+numpy+protobuf", "-", bare[0], bare[1], 1.0, 1.0)]
    for users, items, arrays_mb, serving in measured:
        rows.append(
            (
                f"movierec serving, {users:,} users x {items:,} items",
                f"{arrays_mb:.1f}",
                serving[0],
                serving[1],
                serving[0] / bare[0],
                serving[1] / bare[1],
            )
        )
    print(f"Start to SERVING and resident memory (best of {args.repeat}, bare of all its runs)")
    print(table(("process", "version_MB", "seconds", "rss_MB", "x bare s", "x bare MB"), rows))
    client = min(
        command_seconds([sys.executable, "-m", "movierec_client.cli", "recommend", "--help"])
        for _ in range(args.repeat)
    )
    grpc_only = min(
        command_seconds([sys.executable, "-c", "import grpc, google.protobuf"])
        for _ in range(args.repeat)
    )
    print("\nClient command wall time (best of runs)")
    print(
        table(
            ("command", "seconds", "x bare"),
            [
                ("python -c 'import grpc, google.protobuf'", grpc_only, 1.0),
                ("movierec recommend --help", client, client / grpc_only),
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
