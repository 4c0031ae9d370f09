"""One worker of a multi-worker training run (movierec.training.distributed).

    python -m movierec.training.worker --spec SPEC.json --workers HOST:PORT,HOST:PORT,...
        --index I --store STORE [--data-dir DIR] [--timeout-seconds S] [--exit-with-parent]

Every worker is started with the same spec (TrainSpec.to_dict as JSON), worker list and
store, and its own index; worker 0, the chief, publishes the version and prints one JSON
line with it and its metrics; the others print version 0. The exit status is 0 on success,
1 when training failed (the reason on stderr), 2 for bad arguments, 143 after SIGTERM
(the training rows it wrote under $TMPDIR removed).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import sys
import threading
import time


def _exit_with_parent(interval: float = 1.0) -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(70)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True, help="file holding the TrainSpec as JSON")
    parser.add_argument("--workers", required=True, help="host:port of every worker, chief first")
    parser.add_argument("--index", type=int, required=True, help="this worker's position")
    parser.add_argument("--store", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit as soon as the process that started this one is gone",
    )
    parser.add_argument(
        "--timeout-seconds",
        type=float,
        default=120.0,
        help="how long to wait for the other workers before failing",
    )
    args = parser.parse_args(argv)
    workers = tuple(w.strip() for w in args.workers.split(",") if w.strip())
    if not 0 <= args.index < len(workers):
        print(f"error: --index must be 0 to {len(workers) - 1}", file=sys.stderr)
        return 2

    if args.exit_with_parent:
        _exit_with_parent()
    # SIGTERM (an operator's `kill`, a supervisor stopping it) unwinds like an error, so
    # that the job's training rows under $TMPDIR are removed; only SIGKILL leaves them.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from movierec.training.tf_logs import quiet_tensorflow_logs

    quiet_tensorflow_logs(None)  # before TensorFlow is imported; no closing line: the
    # job reads this worker's last line as the reason it failed
    from movierec.errors import MovierecError
    from movierec.store.model_store import ModelStore
    from movierec.training.distributed import Cluster
    from movierec.training.job import run_training
    from movierec.training.spec import TrainSpec

    spec = TrainSpec.from_dict(json.loads(pathlib.Path(args.spec).read_text()))
    import tensorflow as tf

    cluster = Cluster(workers, args.index, args.timeout_seconds)
    try:
        result = run_training(spec, ModelStore(args.store), args.data_dir, cluster=cluster)
    except (MovierecError, OSError, tf.errors.OpError) as error:
        reason = error.message if isinstance(error, tf.errors.OpError) else str(error)
        print(f"error: worker {args.index}: {reason.splitlines()[0]}", file=sys.stderr)
        return 1
    epochs = [{"epoch": e.epoch, "loss": e.loss, "val_rmse": e.val_rmse} for e in result.epochs]
    print(json.dumps({"version": result.version, "metrics": result.metrics, "epochs": epochs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
