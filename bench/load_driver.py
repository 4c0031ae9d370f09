"""An independent load generator: bare grpc.aio, generic calls on pre-serialized requests,
nothing of movierec's. bench/serving.py runs one or more of these processes.

    python -m bench.load_driver --target HOST:PORT --method /pkg.Service/Method \
        --requests FILE --concurrency C --duration S [--warmup S] [--connections K]

FILE holds the serialized requests, each prefixed by its 4-byte little-endian length; they
are sent in turn. Prints one JSON line: calls, errors by status code, latencies (ms) of the
measured calls, wall seconds, the process's CPU seconds, and all calls answered (warm-up
included, for the server's CPU per call). With --connections K the calls
are spread over K channels, each with its own connection, so that several server processes
sharing one port (SO_REUSEPORT spreads connections, not calls) are all reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import resource
import struct
import sys
import time

import grpc


def read_requests(path: pathlib.Path) -> list[bytes]:
    """The length-prefixed requests of a file."""
    data = path.read_bytes()
    requests, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack_from("<I", data, offset)
        requests.append(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return requests


def write_requests(path: pathlib.Path, requests: list[bytes]) -> None:
    """Writes requests for read_requests."""
    path.write_bytes(b"".join(struct.pack("<I", len(r)) + r for r in requests))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(target, method, requests, concurrency, duration, warmup, connections=1) -> dict:
    """Calls `method` from `concurrency` coroutines for warmup + duration seconds, coroutine i
    on channel i mod `connections`."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    # Without a local subchannel pool, channels of equal arguments share one connection.
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(connections)
    ]
    try:
        calls = [channel.unary_unary(method) for channel in channels]
        await asyncio.gather(*(channel.channel_ready() for channel in channels))
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration
        cpu_at_measure = [0.0]
        finished = [0]  # calls answered, warm-up included

        async def worker(offset: int) -> None:
            call = calls[offset % connections]
            index = offset
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                request = requests[index % len(requests)]
                index += concurrency
                try:
                    await call(request, timeout=10)
                    ok = True
                except grpc.aio.AioRpcError as error:
                    ok = False
                    code = error.code().name
                done = time.perf_counter()
                finished[0] += 1
                if now >= measure_from:
                    if ok:
                        latencies.append((done - now) * 1000)
                    else:
                        errors[code] = errors.get(code, 0) + 1

        async def mark_cpu() -> None:
            await asyncio.sleep(warmup)
            cpu_at_measure[0] = _cpu_seconds()

        await asyncio.gather(mark_cpu(), *(worker(i) for i in range(concurrency)))
        wall = time.perf_counter() - measure_from
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    return {
        "calls": len(latencies),
        "all_calls": finished[0],
        "errors": errors,
        "latencies_ms": latencies,
        "seconds": wall,
        "cpu_seconds": _cpu_seconds() - cpu_at_measure[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--requests", type=pathlib.Path, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    result = asyncio.run(
        drive(
            args.target,
            args.method,
            read_requests(args.requests),
            args.concurrency,
            args.duration,
            args.warmup,
            args.connections,
        )
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
