"""Runs the serving service: python -m serving_service [flags]."""

from __future__ import annotations

import argparse
import os
import sys

from movierec.kinds.ann import DEFAULT_MIN_ITEMS
from movierec.serving.policy import parse_pins
from movierec.serving.top_lists import DEFAULT_MAX_CELLS
from service_common import flags
from service_common.lifecycle import add_stop_arguments, serve_until_signalled
from service_common.logs import setup_logging
from service_common.security import ConfigError, add_security_arguments, security_settings
from serving_service.server import ServingConfig, create_server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the serving service (each falls back to its MOVIEREC_* variable)."""
    parser.add_argument("--store", help="model store root (MOVIEREC_STORE, ./model_store)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument(
        "--port", type=flags.port, help="port, 0 for any (MOVIEREC_SERVING_PORT, 50052)"
    )
    parser.add_argument(
        "--poll-interval", type=flags.seconds, default=2.0, help="seconds between store polls"
    )
    parser.add_argument(
        "--keep-versions",
        type=flags.count,
        default=2,
        help="newest good versions kept loaded (besides a pinned one)",
    )
    parser.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="MODEL=VERSION",
        help="serve this version of MODEL by default, whatever the store's policy (repeat)",
    )
    parser.add_argument(
        "--ann-min-items",
        type=flags.size,
        default=DEFAULT_MIN_ITEMS,
        help="catalogues of at least this many items are searched approximately (faiss)",
    )
    parser.add_argument(
        "--top-lists-max-cells",
        type=flags.size,
        default=DEFAULT_MAX_CELLS,
        help="versions with users x items (or items x items) up to this answer Recommend"
        " and SimilarItems from per-row top lists ranked after load; 0: none (see"
        " docs/performance.md)",
    )
    parser.add_argument("--max-k", type=flags.count, default=1000, help="largest k accepted")
    parser.add_argument(
        "--max-batch", type=flags.count, default=10_000, help="largest Predict batch"
    )
    parser.add_argument(
        "--workers",
        type=flags.threads,
        default=1,
        help="serving processes sharing the port, one core each (see docs/operations.md,"
        " 'Every core of a host')",
    )
    parser.add_argument(
        "--io",
        choices=("aio", "threads"),
        default="threads",
        help="answer on a thread pool of --threads threads, or on an asyncio event loop"
        " (aio: faster for one process under many concurrent calls on some hosts; see"
        " docs/performance.md)",
    )
    parser.add_argument(
        "--threads",
        type=flags.threads,
        default=2,
        help="with --io threads: handler threads per process (few is fastest)",
    )
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other serving processes on this host (SO_REUSEPORT)",
    )
    add_stop_arguments(parser)
    add_security_arguments(parser)
    parser.add_argument(
        "--metrics-port",
        type=flags.port,
        help="serve Prometheus metrics at http://HOST:PORT/metrics (0: a free port)",
    )
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON"
    )


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Starts the server from parsed flags (with --workers N > 1, N supervised processes
    given `argv`) and blocks until SIGTERM/SIGINT."""
    setup_logging(args.log_format)
    try:
        pins = tuple(parse_pins(args.pin).items())
        port = args.port if args.port is not None else ServingConfig.from_env().port
        flags.readable_folder(args.store or ServingConfig.from_env().store, "--store")
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.workers > 1:
        from serving_service.workers import serve_workers

        return serve_workers(list(argv or []), args.host, port, args.workers, args.metrics_port)
    supervisor = os.environ.get("MOVIEREC_SERVING_SUPERVISOR")  # workers.SUPERVISOR_ENV
    if supervisor:  # a worker of `--workers N`
        from serving_service.workers import stop_when_orphaned

        stop_when_orphaned(int(supervisor))
    try:
        config = ServingConfig.from_env(
            store=args.store,
            host=args.host,
            port=args.port,
            poll_interval=args.poll_interval,
            keep_versions=args.keep_versions,
            pins=pins,
            ann_min_items=args.ann_min_items,
            top_lists_max_cells=args.top_lists_max_cells,
            max_k=args.max_k,
            max_batch=args.max_batch,
            io=args.io,
            threads=args.threads,
            reuse_port=args.reuse_port,
            drain_seconds=args.drain_seconds,
            grace_seconds=args.grace_seconds,
            metrics_port=args.metrics_port,
            **security_settings(args),
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return serve_until_signalled("serving", create_server, config)


def main(argv: list[str] | None = None, prog: str = "serving_service") -> int:
    """Entry point; `prog` names the command in help and errors."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    add_arguments(parser)
    argv = sys.argv[1:] if argv is None else list(argv)
    return run(parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
