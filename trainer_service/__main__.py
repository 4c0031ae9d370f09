"""Runs the trainer service: python -m trainer_service [flags]."""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from service_common import flags
from service_common.lifecycle import add_stop_arguments, serve_until_signalled
from service_common.logs import setup_logging
from service_common.security import ConfigError, add_security_arguments, security_settings
from trainer_service.jobs import DEFAULT_MAX_JOB_SECONDS
from trainer_service.server import JOBS_DB, TrainerConfig, create_server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the trainer service (each falls back to its MOVIEREC_* variable)."""
    parser.add_argument("--store", help="model store root (MOVIEREC_STORE, ./model_store)")
    parser.add_argument("--data-dir", help="datasets folder (MOVIEREC_DATA_DIR, else the cache)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument(
        "--port", type=flags.port, help="port, 0 for any (MOVIEREC_TRAINER_PORT, 50051)"
    )
    parser.add_argument(
        "--max-running", type=flags.threads, default=1, help="jobs training at once"
    )
    parser.add_argument("--max-queued", type=flags.count, default=16, help="jobs waiting at most")
    parser.add_argument(
        "--max-job-seconds",
        type=flags.seconds,
        default=DEFAULT_MAX_JOB_SECONDS,
        help="wall-clock limit of a job; a request may ask for less (default %(default)g)",
    )
    parser.add_argument(
        "--jobs-db", help="SQLite file of the job records (default <store>/.trainer/jobs.sqlite3)"
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


def run(args: argparse.Namespace) -> int:
    """Starts the server from parsed flags and blocks until SIGTERM/SIGINT."""
    setup_logging(args.log_format)
    try:
        config = TrainerConfig.from_env(
            store=args.store,
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            max_running=args.max_running,
            max_queued=args.max_queued,
            max_job_seconds=args.max_job_seconds,
            jobs_db=args.jobs_db,
            drain_seconds=args.drain_seconds,
            grace_seconds=args.grace_seconds,
            metrics_port=args.metrics_port,
            **security_settings(args),
        )
        check_paths(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return serve_until_signalled("trainer", create_server, config)


def check_paths(config: TrainerConfig) -> None:
    """Makes sure the store, the records' folder and --data-dir are usable folders.

    Raises:
        ConfigError: one is not (the message names its flag).
    """
    store = flags.writable_folder(config.store, "--store")
    if config.jobs_db:
        jobs_db = pathlib.Path(config.jobs_db)
        flags.writable_folder(jobs_db.parent, "--jobs-db's folder")
    else:
        jobs_db = store / JOBS_DB
        flags.writable_folder(jobs_db.parent, f"--store's {JOBS_DB.parent} folder")
    if os.path.lexists(jobs_db) and not jobs_db.is_file():
        raise ConfigError(f"--jobs-db {jobs_db} is not a file")
    if config.data_dir:
        flags.readable_folder(config.data_dir, "--data-dir")


def main(argv: list[str] | None = None, prog: str = "trainer_service") -> int:
    """Entry point; `prog` names the command in help and errors."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
