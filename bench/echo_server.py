"""A bare gRPC echo server: a generic handler answering every unary method with the
request's bytes. The ceiling bench/serving.py measures the serving service against.

    python -m bench.echo_server --mode sync|aio [--port 0] [--workers 8] [--reuse-port]

Prints "echo listening on 127.0.0.1:PORT" once it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from concurrent import futures

import grpc


def _echo(request: bytes, context) -> bytes:
    return request


async def _aio_echo(request: bytes, context) -> bytes:
    return request


class _Generic(grpc.GenericRpcHandler):
    def __init__(self, behaviour):
        self._handler = grpc.unary_unary_rpc_method_handler(behaviour)

    def service(self, handler_call_details):
        return self._handler


def _options(reuse_port: bool) -> list[tuple[str, int]]:
    return [("grpc.so_reuseport", 1 if reuse_port else 0)]


def serve_sync(port: int, workers: int, reuse_port: bool) -> None:
    """Thread-pool server until SIGTERM."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers), options=_options(reuse_port)
    )
    server.add_generic_rpc_handlers((_Generic(_echo),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"echo listening on 127.0.0.1:{bound}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(0)


async def serve_aio(port: int, reuse_port: bool) -> None:
    """asyncio server until SIGTERM."""
    server = grpc.aio.server(options=_options(reuse_port))
    server.add_generic_rpc_handlers((_Generic(_aio_echo),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"echo listening on 127.0.0.1:{bound}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("sync", "aio"), default="sync")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args()
    if args.mode == "sync":
        serve_sync(args.port, args.workers, args.reuse_port)
    else:
        asyncio.run(serve_aio(args.port, args.reuse_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
