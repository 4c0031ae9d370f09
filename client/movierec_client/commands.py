"""The `movierec` client commands (train, recommend, load, ...): parsed here and run
through the SDK. `movierec serving` and `movierec trainer` never import this module
(see movierec_client.cli)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import struct
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, TextIO

from movierec_client import __version__, flags, types
from movierec_client.channel import Tls
from movierec_client.cli import SERVICES, needs_full_package
from movierec_client.dataset_commands import add_dataset_commands
from movierec_client.errors import InvalidArgumentError, MovierecClientError, NotFoundError
from movierec_client.sdk import DEFAULT_SERVING, DEFAULT_TRAINER, ServingClient, TrainerClient


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"  # a missing value
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (tuple, list)):
        return "|".join(str(v) for v in value)
    return str(value)


def _json(value: object) -> str:
    def plain(obj):
        if dataclasses.is_dataclass(obj):
            return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, (tuple, list)):
            return [plain(v) for v in obj]
        if isinstance(obj, dict):
            return {k: plain(v) for k, v in obj.items()}
        if isinstance(obj, float):
            # JSON has no NaN or infinity
            return float32_shortest(obj) if math.isfinite(obj) else None
        return obj

    return json.dumps(plain(value), indent=2, allow_nan=False)


def float32_shortest(value: float) -> float:
    """A float32 value (what the services' float fields carry) as the shortest decimal that
    reads back as the same float32: 0.005, not 0.004999999888241291. Any other value, and
    any of 2**24 or more (a float32-exact timestamp, whose shortest float32 decimal would
    change it), is returned unchanged."""
    if not abs(value) < 2**24:
        return value
    packed = struct.pack("<f", value)
    if struct.unpack("<f", packed)[0] != value:
        return value  # not a float32: a double keeps its digits
    for digits in range(1, 10):  # 9 significant digits always read back
        shorter = float(f"{value:.{digits}g}")
        if struct.pack("<f", shorter) == packed:
            return shorter
    return value


def _header(model: types.ModelVersion) -> str:
    objective = f", {model.objective}" if model.objective else ""
    return f"model {model.name} version {model.version} ({model.kind}{objective})"


def _items_table(answer: types.Recommendations, score_name: str) -> str:
    header = _header(answer.model)
    if answer.candidates_from is not None:
        source = answer.candidates_from
        named = source.name if not source.version else f"{source.name} version {source.version}"
        header += f"\nre-ranked the candidates of {named}"
    if answer.strategy != "model":
        header += f"\nstrategy {answer.strategy}" + (f": {answer.reason}" if answer.reason else "")
    rows = [
        (rank, item.item_id, item.title, item.genres, item.score)
        for rank, item in enumerate(answer.items, 1)
    ]
    return header + "\n" + _table(("#", "item_id", "title", "genres", score_name), rows)


def _token(args) -> str | None:
    """--token-file's contents, else --token (MOVIEREC_TOKEN_FILE, MOVIEREC_TOKEN)."""
    if args.token_file:
        try:
            token = pathlib.Path(args.token_file).read_text().strip()
        except OSError as error:
            raise ValueError(
                f"cannot read token file {args.token_file}: {error.strerror}"
            ) from None
        if not token:
            raise ValueError(f"token file {args.token_file} is empty")
        return token
    if args.token is not None and not args.token:
        raise ValueError("the token is empty; unset MOVIEREC_TOKEN to send none")
    return args.token


def _tls(args) -> Tls | None:
    if not (args.tls or args.tls_ca or args.tls_cert or args.tls_key or args.tls_server_name):
        return None
    return Tls(args.tls_ca, args.tls_cert, args.tls_key, args.tls_server_name)


def _targets(text: str) -> str | list[str]:
    """--serving/--trainer: one target, or several IP:port targets separated by commas
    (balanced round-robin)."""
    return [t.strip() for t in text.split(",")] if "," in text else text


def _serving(args) -> ServingClient:
    return ServingClient(
        _targets(args.serving), timeout=args.timeout, token=_token(args), tls=_tls(args)
    )


def _trainer(args) -> TrainerClient:
    return TrainerClient(
        _targets(args.trainer), timeout=args.timeout, token=_token(args), tls=_tls(args)
    )


def _genre_rating(text: str) -> tuple[str, float]:
    """Argparse type of --genre NAME=RATING."""
    name, sep, value = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected GENRE=RATING, got {text!r}")
    try:
        return name, flags.finite(value)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"rating of {name!r}: {error}") from None


def _item_rating(text: str) -> tuple[int, float]:
    """Argparse type of --rated ITEM=RATING."""
    item, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return int(item), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ITEM=RATING with an integer item id, got {text!r}"
        ) from None


def _features(args) -> types.UserFeatures | None:
    """The user described by --genre, --rated and friends, or None when --user names one."""
    described = bool(args.genre or args.rated)
    if (args.user is None) == (not described):
        raise ValueError(
            "give either --user ID or at least one --genre NAME=RATING or --rated ITEM=RATING"
        )
    if args.user is not None:
        return None
    return types.UserFeatures(
        genre_ratings=dict(args.genre or []),
        item_ratings=dict(args.rated or []),
        rating_count=args.rating_count,
        mean_rating=args.mean_rating,
        age=args.age,
        gender=args.gender or "",
        occupation=args.occupation or "",
    )


def cmd_recommend(args) -> str:
    """Top-k items for a user, or for a new user described by genre preferences."""
    features = _features(args)
    with _serving(args) as client:
        answer = client.recommend(
            args.model,
            args.user,
            args.k,
            include_seen=args.include_seen,
            exclude=args.exclude or (),
            version=args.version,
            features=features,
            num_candidates=args.num_candidates,
            timestamp=args.timestamp,
        )
    if args.json:
        return _json({"version": answer.model.version, **dataclasses.asdict(answer)})
    score = "predicted" if answer.model.objective == "rating" else "score"
    return _items_table(answer, "count" if answer.strategy == "popular" else score)


def cmd_similar(args) -> str:
    """Top-k items most similar to an item."""
    with _serving(args) as client:
        answer = client.similar_items(args.model, args.item, args.k, version=args.version)
    if args.json:
        return _json(
            {"model": answer.model, "version": answer.model.version, "items": answer.items}
        )
    return _items_table(answer, "cosine")


def cmd_predict(args) -> str:
    """Scores (ratings or relevance) of one user, or of a described new user, for items."""
    features = _features(args)
    user: int | types.UserFeatures = features if features is not None else args.user
    with _serving(args) as client:
        answer = client.predict(
            args.model,
            [(user, item) for item in args.item],
            version=args.version,
            timestamp=args.timestamp,
        )
    if args.json:
        return _json({"version": answer.model.version, **dataclasses.asdict(answer)})
    header = _header(answer.model)
    if answer.fallback:
        header += f"\nstrategy {answer.strategy} for instances {list(answer.fallback)}"
    score = "predicted" if answer.score_type == "RATING" else "relevance"
    who = args.user if args.user is not None else "features"
    rows = [(who, item, value) for item, value in zip(args.item, answer.scores, strict=True)]
    return header + "\n" + _table(("user", "item_id", score), rows)


def _compare(text: str) -> tuple[str, int | None]:
    """Argparse type of --compare MODEL[:VERSION]."""
    name, sep, version = text.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"expected MODEL or MODEL:VERSION, got {text!r}")
    return name, flags.version(version) if sep else None


def cmd_metrics(args) -> str:
    """Held-out metrics of a version beside most-popular (and a baseline)."""
    baseline_model, baseline_version = args.compare or (None, args.baseline)
    with _serving(args) as client:
        report = client.metrics(
            args.model,
            version=args.version,
            k=args.k,
            baseline_version=baseline_version,
            baseline_model=baseline_model,
            threshold=args.threshold,
        )
    if args.json:
        return _json(report)
    evaluations = [report.metrics] + ([report.baseline] if report.baseline else [])
    evaluations += [report.popularity] if report.popularity else []
    names = sorted({name for e in evaluations for name in e.values})
    headers = ["metric"] + [
        e.model.name if e.model.name == "most-popular" else f"{e.model.name} v{e.model.version}"
        for e in evaluations
    ]
    rows = [(name, *(e.values.get(name, float("nan")) for e in evaluations)) for name in names]
    first = evaluations[0]
    header = f"{_header(first.model)} on {first.split}, {first.num_ratings} held-out ratings"
    return header + "\n" + _table(headers, rows)


def cmd_status(args) -> str:
    """Serving state; with --wait-version, first waits until that version serves."""
    if args.wait_version and not args.model:
        raise ValueError("--wait-version needs --model")
    with _serving(args) as client:
        if args.wait_version:
            client.wait_for_version(args.model, args.wait_version, timeout=args.wait_timeout)
        statuses = client.status(args.model or "")
    if args.json:
        return _json(statuses)
    rows = [
        (s.name, s.serving_version, v.version, v.state, v.kind, v.error)
        for s in statuses
        for v in s.versions
    ]
    table = _table(("model", "serving", "version", "state", "kind", "error"), rows)
    return table + "\n" + "\n".join(_policy_line(s) for s in statuses)


def _policy_line(status: types.ModelStatus) -> str:
    policy = status.policy
    if policy.mode == "PINNED":
        line = f"{status.name}: pinned to version {policy.pinned_version} ({policy.source}"
        line += f": {policy.reason})" if policy.reason else ")"
    else:
        line = f"{status.name}: serves the newest good version"
    if policy.keep_versions:
        line += f"; keeps the newest {policy.keep_versions} loaded"
    return line + (f"; {policy.error}" if policy.error else "")


def cmd_pin(args) -> str:
    """Sets a model's serving version: pin, unpin (newest again) or rollback."""
    if args.command == "pin":
        choice: dict[str, Any] = {"version": args.version}
    else:
        choice = {"latest": True} if args.command == "unpin" else {"rollback": True}
    with _serving(args) as client:
        status = client.set_serving_version(args.model, reason=args.reason or "", **choice)
    return _json(status) if args.json else _policy_line(status)


def cmd_models(args) -> str:
    """Models and versions in the store (through the trainer)."""
    with _trainer(args) as client:
        models = client.list_models(args.model or "")
    if args.json:
        return _json(models)
    rows = [
        (
            m.name,
            v.version,
            v.state,
            v.kind,
            v.objective,
            v.split,
            v.metrics.get("ndcg@10", float("nan")),
            v.metrics.get("rmse", float("nan")),
            v.metrics.get("mae", float("nan")),
            v.error,
        )
        for m in models
        for v in m.versions
    ]
    headers = ("model", "version", "state", "kind", "objective", "split", "ndcg@10", "rmse", "mae")
    return _table((*headers, "error"), rows)


def cmd_plots(args) -> str:
    """Writes a version's pictures (its PNG artifacts) into --out."""
    out = pathlib.Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"--out {out}: cannot make the folder: {error.strerror or error}"
        ) from None
    with _trainer(args) as client:
        (model,) = client.list_models(args.model)
        versions = {v.version: v for v in model.versions}
        version = args.version or max(versions)
        if version not in versions:
            raise NotFoundError(f"{args.model} has no version {version}")
        names = [name for name in versions[version].artifacts if name.endswith(".png")]
        if not names:
            raise NotFoundError(f"{args.model} version {version} has no pictures")
        written = []
        for name in names:
            artifact = client.get_artifact(args.model, name, version)
            path = out / name
            temporary = path.with_name(f".{name}.partial")
            temporary.write_bytes(artifact.data)
            temporary.replace(path)
            written.append((str(path), len(artifact.data)))
    header = f"model {args.model} version {version}: {len(written)} pictures"
    return header + "\n" + _table(("file", "bytes"), written)


def _duration(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour."""
    minutes, secs = divmod(int(max(seconds, 0.0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class JobProgress:
    """Draws a job's progress on a stream (stderr): on a terminal one line redrawn in
    place, elsewhere each line once. Epoch lines show the time since the job started and
    an estimate of the time left; when early stopping ends training, a last line says so.
    The job's final state is left to the summary that follows.

    Args:
        total: Epochs the job asked for (0: it trains without epochs).
        stream: Where to draw (default stderr).
        now: The clock (unix seconds) elapsed time is measured on.
    """

    def __init__(
        self, total: int, stream: TextIO | None = None, now: Callable[[], float] = time.time
    ):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.now = now
        self._last = ""
        self._open = False  # a line is drawn on the terminal without its newline

    def __call__(self, event: types.JobEvent) -> None:
        """Draws what the event changed."""
        job = event.job
        if event.epoch is not None:
            self._draw(self._epoch_line(job, event.epoch))
        elif not job.done:
            self._draw(f"job {job.job_id}: {job.state}")
        if job.done:
            if self._open:
                print(file=self.stream, flush=True)
                self._open = False
            stopped = early_stop(job)
            if stopped:
                self._draw(stopped)
                self._end_line()

    def _draw(self, line: str) -> None:
        if line == self._last:
            return
        self._last = line
        if self.tty:
            print("\r" + line.ljust(78), file=self.stream, end="", flush=True)
            self._open = True
        else:
            print(line, file=self.stream, flush=True)

    def _end_line(self) -> None:
        if self._open:
            print(file=self.stream, flush=True)
            self._open = False

    def _epoch_line(self, job: types.Job, epoch: types.EpochProgress) -> str:
        total = max(self.total, epoch.epoch)
        done = int(30 * epoch.epoch / total)
        metric = (
            f"val_ndcg@10 {epoch.val_ndcg:.4f}"
            if epoch.val_ndcg
            else f"val_rmse {epoch.val_rmse:.4f}"
        )
        line = (
            f"epoch {epoch.epoch:>3}/{total} [{'#' * done}{'.' * (30 - done)}]"
            f" loss {epoch.loss:.4f} {metric}"
        )
        if job.started_at:
            line += f" {_duration(self.now() - job.started_at)}"
        left = total - epoch.epoch
        if left > 0:
            durations = [e.seconds for e in job.epochs] or [epoch.seconds]
            line += f" ETA {_duration(left * sum(durations) / len(durations))}"
        return line


def early_stop(job: types.Job) -> str:
    """What early stopping did to a job that succeeded after fewer epochs than it asked
    for, or "": it stopped `patience` epochs after its best validation figure (the first
    best, as Keras' EarlyStopping counts). A job that ended otherwise (a kind's own search,
    as ease's over its penalty) gets no such line."""
    total = int(str(job.hyperparameters.get("epochs", 0) or 0))
    patience = int(str(job.hyperparameters.get("patience", 0) or 0))
    ran = len(job.epochs)
    if job.state != "SUCCEEDED" or not 0 < ran < total or not patience:
        return ""
    rating = job.objective == "rating"
    figures = [e.val_rmse if rating else e.val_ndcg for e in job.epochs]
    best = figures.index(min(figures) if rating else max(figures)) + 1
    if ran - best != patience:
        return ""
    metric = "val_rmse" if rating else "val_ndcg@10"
    return (
        f"early stopping ended training after epoch {ran} of {total}: {metric} had not"
        f" improved for {patience} epochs (epoch {best}'s weights kept)"
    )


def _follow(client: TrainerClient, job: types.Job, quiet: bool) -> types.Job:
    """Follows a job to its end with a progress bar (unless quiet). On Ctrl-C or a failed
    stream, says how to pick the job up again, since it goes on in the trainer."""
    total = int(str(job.hyperparameters.get("epochs", 0)))
    hint = (
        f"job {job.job_id} goes on in the trainer; follow it with `movierec job {job.job_id}"
        f" --watch` or stop it with `movierec cancel {job.job_id}`"
    )
    progress = JobProgress(total)
    try:
        return client.wait(job.job_id, lambda e: None if quiet else progress(e))
    except KeyboardInterrupt:
        print(f"\n{hint}", file=sys.stderr)
        raise SystemExit(130) from None
    except MovierecClientError:
        print(hint, file=sys.stderr)
        raise


def _job_summary(job: types.Job) -> str:
    retrieval = job.objective == "retrieval"
    rows = [
        (e.epoch, e.loss, e.val_ndcg if retrieval else e.val_rmse, e.seconds) for e in job.epochs
    ]
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in sorted(job.metrics.items()))
    took = f" in {job.finished_at - job.started_at:.1f}s" if job.finished_at else ""
    ran, total = len(job.epochs), int(str(job.hyperparameters.get("epochs", 0) or 0))
    stopped = f", early stopping after epoch {ran} of {total}" if early_stop(job) else ""
    return (
        f"job {job.job_id}: {job.state}{took}{stopped} {job.error}".rstrip()
        + f"\nmodel {job.model_name} ({job.kind}, {job.objective}) on {job.dataset}/{job.split}"
        + (f" -> version {job.version}: {metrics}" if job.version else "")
        + (
            "\n"
            + _table(("epoch", "loss", "val_ndcg@10" if retrieval else "val_rmse", "seconds"), rows)
            if rows
            else ""
        )
    )


def _finished(job: types.Job, as_json: bool) -> str:
    """The job's report; exits 1 after printing it unless the job succeeded (saying why on
    stderr after JSON, whose reader may not show it; the summary already says it)."""
    output = _json(job) if as_json else _job_summary(job)
    if job.state != "SUCCEEDED":
        print(output)
        if as_json:
            print(
                f"error: job {job.job_id} {job.state}: {job.error or 'no reason given'}",
                file=sys.stderr,
            )
        raise SystemExit(1)
    return output


def cmd_train(args) -> str | None:
    """Starts a job and follows it; exits non-zero unless it succeeds."""
    params = {
        "epochs": args.epochs,
        "embedding_dim": args.embedding_dim,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "l2": args.l2,
        "low_rating_weight": args.low_rating_weight,
        "output": args.output,
        "patience": args.patience,
        "validation_fraction": args.validation_fraction,
        "num_negatives": args.num_negatives,
        "min_positive_rating": args.min_positive_rating,
        "rating_loss": args.rating_loss,
        "optimizer": args.optimizer,
        "workers": args.workers,
        "negative_sampling": args.negative_sampling,
        "negative_sharing": args.negative_sharing,
        "retrieval_loss": args.retrieval_loss,
        "layers": args.layers,
        "use_demographics": args.demographics,
        "temperature": args.temperature,
        "candidate_model": args.candidate_model,
        "num_candidates": args.num_candidates,
        "time_buckets": args.time_buckets,
    }
    with _trainer(args) as client:
        job = client.train(
            args.model,
            kind=args.kind,
            objective=args.objective,
            dataset=args.dataset,
            split=args.split,
            seed=args.seed,
            test_fraction=args.test_fraction,
            max_seconds=args.max_seconds,
            **params,
        )
        if args.no_wait:
            return _json(job) if args.json else f"queued job {job.job_id}"
        job = _follow(client, job, quiet=args.json or args.quiet)
    return _finished(job, args.json)


def _mix(text: str) -> dict[str, float]:
    """Argparse type of --mix recommend=8,predict=1,similar=1."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, sep, weight = part.partition("=")
        try:
            mix[name.strip()] = flags.non_negative(weight) if sep else 1.0
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"expected METHOD=WEIGHT with a weight >= 0, got {part!r}"
            ) from None
    if not sum(mix.values()) > 0:
        raise argparse.ArgumentTypeError(f"no method of {text!r} has a weight > 0")
    return mix


def cmd_load(args) -> str:
    """Load against the serving service; prints QPS, latencies and errors by status code.
    Exits 1 when no call succeeded."""
    from movierec_client.load import LoadSpec, run_load

    weights = None
    users: Sequence[int]
    items: Sequence[int]
    if args.users_from_store:
        admin = _admin("load --users-from-store")
        user_array, counts, item_array = admin.catalog_users(args.users_from_store, args.model)
        users, items = user_array.tolist(), item_array.tolist()
        weights = counts if args.by_activity else None
    else:
        for flag, span in (("--users", args.users), ("--items", args.items)):
            if span is not None and span[0] > span[1]:
                raise ValueError(f"{flag} takes FIRST <= LAST")
        if args.by_activity and args.users is not None:
            raise ValueError("--by-activity draws the served version's users: leave out --users")
        users = range(args.users[0], args.users[1] + 1) if args.users else ()
        items = range(args.items[0], args.items[1] + 1) if args.items else ()
        if not (users and items):  # the rest from the version the service answers with
            served = _served_ids(args)
            users, items = users or served.user_ids, items or served.item_ids
            weights = served.user_rating_counts if args.by_activity else None
    spec = LoadSpec(
        target=_targets(args.serving),
        model=args.model,
        mix=args.mix,
        k=args.k,
        user_ids=list(users),
        user_weights=list(weights) if weights is not None else None,
        item_ids=list(items),
        concurrency=args.concurrency,
        connections=args.connections,
        processes=args.processes,
        duration_s=args.duration,
        requests=args.requests,
        warmup_s=args.warmup,
        timeout_s=args.timeout,
        token=_token(args),
        tls=_tls(args),
    )
    tty = sys.stderr.isatty() and not args.json

    def progress(calls: int, seconds: float) -> None:
        if tty:
            rate = calls / seconds if seconds else 0.0
            print(f"\r{calls:,} calls in {seconds:.0f}s ({rate:,.0f}/s)", end="", file=sys.stderr)

    report = run_load(spec, progress)
    if tty:
        print(file=sys.stderr)
    output = _json(report) if args.json else _load_table(report)
    if report.calls and not sum(report.by_method.values()):
        print(output)
        errors = ", ".join(f"{code} {count}" for code, count in sorted(report.errors.items()))
        raise SystemExit(f"error: every call failed ({errors})")
    return output


def _served_ids(args) -> types.VersionIds:
    """The users and items of the version serving args.model (ListIds)."""
    with _serving(args) as client:
        try:
            return client.list_ids(args.model)
        except MovierecClientError as error:
            if error.code != "UNIMPLEMENTED":
                raise
            raise MovierecClientError(
                "this serving service cannot list a version's ids (it predates ListIds):"
                " give --users FIRST LAST and --items FIRST LAST",
                error.code,
            ) from None


def _load_table(report) -> str:
    rows = [
        (
            report.calls,
            sum(report.errors.values()),
            report.seconds,
            report.qps,
            report.p50_ms,
            report.p90_ms,
            report.p99_ms,
            report.max_ms,
        )
    ]
    headers = ("calls", "errors", "seconds", "qps", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    errors = ", ".join(f"{code} {count}" for code, count in sorted(report.errors.items()))
    methods = ", ".join(f"{name} {count}" for name, count in sorted(report.by_method.items()))
    cpu = 1000 * report.client_cpu_seconds / max(report.calls, 1)
    return (
        _table(headers, rows)
        + f"\nanswered: {methods or '-'}\nerrors: {errors or '-'}"
        + f"\nclient CPU: {cpu:.3f} ms per call"
    )


def cmd_job(args) -> str:
    """A job's state; with --watch, follows it to the end (exit non-zero unless it succeeds)."""
    with _trainer(args) as client:
        job = client.get_job(args.job_id)
        if not args.watch:
            return _json(job) if args.json else _job_summary(job)
        job = _follow(client, job, quiet=args.json)
    return _finished(job, args.json)


def cmd_jobs(args) -> str:
    """Jobs the trainer remembers, newest first (every page unless --limit)."""
    jobs: list[types.Job] = []
    token = ""
    with _trainer(args) as client:
        while True:
            page = client.list_jobs(args.model or "", args.state or (), 0, token)
            jobs.extend(page.jobs)
            token = page.next_page_token
            if not token or (args.limit and len(jobs) >= args.limit):
                break
    jobs = jobs[: args.limit] if args.limit else jobs
    if args.json:
        return _json(jobs)
    rows = [
        (
            j.job_id,
            j.model_name,
            j.kind,
            j.objective,
            j.state,
            j.version or None,
            len(j.epochs),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created_at)),
            j.error,
        )
        for j in jobs
    ]
    headers = ("job", "model", "kind", "objective", "state", "version", "epochs", "created")
    return _table((*headers, "error"), rows)


def _admin(command: str):
    """movierec.data.admin, through which the commands working on this machine's store or
    data run; ValueError (exit 2, one line) where only the SDK is installed."""
    missing = needs_full_package(command)
    if missing:
        raise ValueError(missing)
    from movierec.data import admin

    return admin


def cmd_synth(args) -> str:
    """Writes a synthetic dot version straight into a store (no service, no TensorFlow)."""
    admin = _admin("synth")

    started = time.perf_counter()
    version = admin.publish_synthetic_version(
        args.store,
        args.model,
        users=args.users,
        items=args.items,
        dim=args.dim,
        skew=args.skew,
        ratings_per_user=args.ratings_per_user,
        objective=args.objective,
        seed=args.seed,
    )
    seconds = time.perf_counter() - started
    return (
        f"published {args.model} version {version}: {args.users} users, {args.items} items,"
        f" dim {args.dim} ({seconds:.1f}s)"
    )


def cmd_synth_ratings(args) -> str:
    """Writes a synthetic ratings dataset in the ml-25m layout (numpy only)."""
    admin = _admin("synth-ratings")

    started = time.perf_counter()
    folder = admin.write_synthetic_ratings(
        args.out,
        users=args.users,
        items=args.items,
        ratings=args.ratings,
        skew=args.skew,
        seed=args.seed,
    )
    lines = sum(1 for _ in open(folder / "ratings.csv", encoding="ascii")) - 1
    return (
        f"wrote {folder}: {lines:,} ratings of {args.users:,} users and {args.items:,} movies"
        f" ({time.perf_counter() - started:.0f}s); train with --dataset ml-25m and"
        f" MOVIEREC_DATA_DIR={args.out}"
    )


def cmd_download(args) -> str:
    """Downloads, verifies and unpacks a MovieLens dataset into the cache."""
    admin = _admin("download")

    folder = admin.download(args.name, args.cache, args.base_url)
    return f"{args.name} is in {folder}"


def cmd_cancel(args) -> str:
    """Cancels a job."""
    with _trainer(args) as client:
        job = client.cancel_job(args.job_id)
    return _json(job) if args.json else f"job {job.job_id} {job.state}"


def _widths(text: str) -> list[int]:
    """Argparse type of --layers 256,128,32."""
    try:
        return [flags.count32(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected widths like 256,128,32, got {text!r}") from None


MAX_CONCURRENCY = 4096
"""Most calls in flight, or connections, per load generator process."""
MAX_PROCESSES = 256
"""Most load generator processes."""


DESCRIPTION = """\
Train, serve and query movie recommenders. `movierec trainer` and `movierec serving` run
the two services; every other command calls one of them (or, for synth, synth-ratings and
download, works on this machine). `movierec COMMAND --help` tells a command's flags."""
EPILOG = """\
Services: --trainer ADDR (MOVIEREC_TRAINER, default 127.0.0.1:50051) and --serving ADDR
(MOVIEREC_SERVING, default 127.0.0.1:50052).
Exit status: 0 done, 1 a failed call or job, 2 a bad flag or value (also a service's
INVALID_ARGUMENT)."""


def version_text() -> str:
    """What `movierec --version` prints: the SDK's version, and the full package's where
    it is installed."""
    text = f"movierec-client {__version__}"
    try:
        return f"{text}, movierec {metadata.version('movierec')}"
    except metadata.PackageNotFoundError:
        return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="movierec",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=version_text(), help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def client_command(name: str, help_text: str, service: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        if service == "serving":
            command.add_argument(
                "--serving",
                default=os.environ.get("MOVIEREC_SERVING", DEFAULT_SERVING),
                help="serving address: HOST:PORT, dns:///NAME:PORT, or IP:PORT,IP:PORT,..."
                " balanced round-robin (MOVIEREC_SERVING)",
            )
        else:
            command.add_argument(
                "--trainer",
                default=os.environ.get("MOVIEREC_TRAINER", DEFAULT_TRAINER),
                help="trainer address (MOVIEREC_TRAINER)",
            )
        command.add_argument(
            "--token",
            default=os.environ.get("MOVIEREC_TOKEN"),
            help="bearer token (MOVIEREC_TOKEN)",
        )
        command.add_argument(
            "--token-file",
            default=os.environ.get("MOVIEREC_TOKEN_FILE"),
            help="file holding the bearer token (MOVIEREC_TOKEN_FILE)",
        )
        command.add_argument(
            "--tls", action="store_true", help="speak TLS, trusting the system's CAs"
        )
        command.add_argument(
            "--tls-ca",
            default=os.environ.get("MOVIEREC_TLS_CA"),
            help="PEM CA bundle of the server's certificate: speak TLS (MOVIEREC_TLS_CA)",
        )
        command.add_argument(
            "--tls-cert",
            default=os.environ.get("MOVIEREC_TLS_CERT"),
            help="PEM client certificate for mutual TLS (MOVIEREC_TLS_CERT)",
        )
        command.add_argument(
            "--tls-key",
            default=os.environ.get("MOVIEREC_TLS_KEY"),
            help="PEM key of --tls-cert (MOVIEREC_TLS_KEY)",
        )
        command.add_argument(
            "--tls-server-name", help="name to verify the server's certificate against"
        )
        command.add_argument(
            "--timeout", type=flags.seconds, default=10.0, help="deadline per call, seconds"
        )
        command.add_argument("--json", action="store_true", help="print JSON")
        return command

    # Listed for --help only: movierec_client.cli runs a service before this parser is built.
    for name in SERVICES:
        sub.add_parser(name, help=f"run the {name} service (see `movierec {name} --help`)")

    train = client_command("train", "train a model version and follow the job", "trainer")
    train.add_argument("--model", required=True, help="name of the model to add a version to")
    train.add_argument("--kind", help="ease (default), dot, two_tower, ranking or ranking_context")
    train.add_argument(
        "--objective",
        choices=("retrieval", "rating"),
        help="retrieval (default: ranks for Recommend) or rating (regression for Predict)",
    )
    train.add_argument(
        "--dataset",
        default="ml-100k",
        help="a MovieLens dataset (ml-100k, ml-1m, ml-latest-small, ...) or one imported into"
        " the trainer's data folder (movierec dataset import; default %(default)s)",
    )
    train.add_argument(
        "--split",
        help="u1..u5, ua, ub (ml-100k's folds), random, or where the dataset has times"
        " temporal (the latest --test-fraction held out) or last (each user's latest held"
        " out); default u1 for ml-100k, else random",
    )
    train.add_argument(
        "--seed", type=flags.seed, help="random seed of the split and the fit (default: the kind's)"
    )
    train.add_argument(
        "--test-fraction", type=flags.fraction, default=0.0, help="for --split random or temporal"
    )
    train.add_argument(
        "--epochs", type=flags.count32, help="passes over the training data, at most (1-1000)"
    )
    train.add_argument("--embedding-dim", type=flags.count32, help="width of the embeddings")
    train.add_argument("--learning-rate", type=flags.positive, help="the optimizer's step size")
    train.add_argument("--batch-size", type=flags.count32, help="training examples per step")
    train.add_argument("--l2", type=flags.non_negative, help="L2 regularisation weight")
    train.add_argument(
        "--low-rating-weight",
        type=flags.number(above=0, high=1),
        help="ease: weight of the lowest rating in a user's row (the highest weighs 1)",
    )
    train.add_argument(
        "--output", choices=("linear", "sigmoid"), help="dot rating: the score's last activation"
    )
    train.add_argument(
        "--patience",
        type=flags.size32,
        help="epochs without a better validation metric before early stopping (0: never)",
    )
    train.add_argument(
        "--validation-fraction",
        type=flags.fraction,
        help="share of the training ratings held out to validate each epoch",
    )
    train.add_argument(
        "--num-negatives",
        type=flags.count32,
        help="retrieval: negatives per positive, or the size of a batch's shared pool",
    )
    train.add_argument(
        "--negative-sampling",
        choices=("uniform", "popularity"),
        help="retrieval: how negatives are drawn",
    )
    train.add_argument(
        "--negative-sharing",
        choices=("example", "batch"),
        help="retrieval: negatives per positive (dot's default) or a pool shared by the batch"
        " (two_tower's)",
    )
    train.add_argument(
        "--min-positive-rating",
        type=flags.finite,
        help="retrieval: lowest rating that counts as a positive",
    )
    train.add_argument(
        "--retrieval-loss", choices=("softmax", "bce"), help="retrieval: sampled softmax or BCE"
    )
    train.add_argument("--rating-loss", choices=("mse", "mae", "bce"), help="rating objective")
    train.add_argument(
        "--optimizer", choices=("adam", "sgd", "rmsprop", "adagrad"), help="default adam"
    )
    train.add_argument(
        "--workers",
        type=flags.integer(1, 16),
        help="worker processes to train on (1-16; tf.distribute, see README 'Scaling out')",
    )
    train.add_argument("--layers", type=_widths, help="two_tower: tower widths, e.g. 256,128,32")
    train.add_argument(
        "--demographics",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="two_tower: feed age, gender and occupation",
    )
    train.add_argument(
        "--temperature", type=flags.positive, help="two_tower retrieval: softmax temperature"
    )
    train.add_argument(
        "--candidate-model",
        help="ranking: where Recommend takes candidates from, a retrieval model of the same"
        " split or 'popularity' (default)",
    )
    train.add_argument(
        "--num-candidates",
        type=flags.count32,
        help="ranking: candidates per Recommend (default 200)",
    )
    train.add_argument(
        "--time-buckets", type=flags.count32, help="ranking_context: spans of the training period"
    )
    train.add_argument(
        "--max-seconds",
        type=flags.seconds,
        help="the job's wall-clock limit (default: the trainer's)",
    )
    train.add_argument("--no-wait", action="store_true", help="queue and exit")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train)

    models = client_command("models", "list models and versions in the store", "trainer")
    models.add_argument("--model", help="only this model")
    models.set_defaults(handler=cmd_models)

    plots = client_command("plots", "write a version's pictures (PNG) into a folder", "trainer")
    plots.add_argument("--model", required=True, help="model name")
    plots.add_argument("--version", type=flags.version, help="default: the newest")
    plots.add_argument("--out", required=True, help="folder to write into (created)")
    plots.set_defaults(handler=cmd_plots)

    job = client_command("job", "show a training job", "trainer")
    job.add_argument("job_id", help="the id `movierec train` printed")
    job.add_argument("--watch", action="store_true", help="follow it until it ends")
    job.set_defaults(handler=cmd_job)

    jobs = client_command("jobs", "list training jobs, newest first", "trainer")
    jobs.add_argument("--model", help="only this model's jobs")
    jobs.add_argument(
        "--state",
        action="append",
        choices=("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"),
        help="only jobs in this state (repeat for several)",
    )
    jobs.add_argument(
        "--limit", type=flags.size32, default=0, help="at most this many jobs (0: all)"
    )
    jobs.set_defaults(handler=cmd_jobs)

    cancel = client_command("cancel", "cancel a training job", "trainer")
    cancel.add_argument("job_id", help="the job to cancel")
    cancel.set_defaults(handler=cmd_cancel)

    for name, handler, help_text in (
        ("recommend", cmd_recommend, "top-k items for a user"),
        ("similar", cmd_similar, "items most similar to an item"),
        ("predict", cmd_predict, "scores (ratings or relevance) of a user for items"),
        ("metrics", cmd_metrics, "held-out metrics of a version"),
    ):
        command = client_command(name, help_text, "serving")
        command.add_argument("--model", required=True, help="model name")
        command.add_argument("--version", type=flags.version, help="default: the serving version")
        command.set_defaults(handler=handler)
        if name in ("recommend", "predict"):
            command.add_argument("--user", type=flags.raw_id, help="raw user id")
            command.add_argument(
                "--genre",
                type=_genre_rating,
                action="append",
                metavar="NAME=RATING",
                help="a new user's preference for a genre (repeat; instead of --user)",
            )
            command.add_argument(
                "--rated",
                type=_item_rating,
                action="append",
                metavar="ITEM=RATING",
                help="a new user's rating of an item, e.g. --rated 50=5 (repeat; instead of"
                " --user; may go with --genre)",
            )
            command.add_argument("--rating-count", type=flags.size32, help="with --genre")
            command.add_argument("--mean-rating", type=flags.finite, help="with --genre")
            command.add_argument("--age", type=flags.size32, help="with --genre")
            command.add_argument("--gender", choices=("M", "F"), help="with --genre")
            command.add_argument("--occupation", help="with --genre, e.g. student")
            command.add_argument(
                "--timestamp",
                type=flags.finite,
                help="unix seconds the request is made at, for kinds that take context"
                " (default: now)",
            )
        if name == "recommend":
            command.add_argument(
                "-k", type=flags.count32, default=10, help="items to return (default 10)"
            )
            command.add_argument(
                "--include-seen", action="store_true", help="may recommend items rated in training"
            )
            command.add_argument(
                "--exclude", type=flags.raw_id, nargs="*", help="item ids to leave out"
            )
            command.add_argument(
                "--num-candidates",
                type=flags.size32,
                default=0,
                help="ranking versions: candidates taken from the candidate source"
                " (default: the version's)",
            )
        elif name == "similar":
            command.add_argument("--item", type=flags.raw_id, required=True, help="raw item id")
            command.add_argument(
                "-k", type=flags.count32, default=10, help="items to return (default 10)"
            )
        elif name == "predict":
            command.add_argument(
                "--item", type=flags.raw_id, nargs="+", required=True, help="raw item ids"
            )
        else:
            command.add_argument(
                "-k", type=flags.size32, default=0, help="cut-off of ranking metrics (0: 10)"
            )
            command.add_argument(
                "--baseline", type=flags.version, help="a second version to compare"
            )
            command.add_argument(
                "--compare",
                type=_compare,
                metavar="MODEL[:VERSION]",
                help="a version of another model trained on the same split",
            )
            command.add_argument(
                "--threshold",
                type=flags.finite,
                help="lowest held-out rating that is relevant (default 3/4 of the way up the"
                " scale: 4 on 1 to 5; implicit feedback takes none, every interaction counts)",
            )

    load = client_command(
        "load", "load the serving service and report QPS and latencies", "serving"
    )
    load.add_argument("--model", required=True, help="model name")
    load.add_argument(
        "--mix",
        type=_mix,
        default={"recommend": 1.0},
        metavar="METHOD=WEIGHT,...",
        help="weighted RPC mix of recommend, predict, similar (default recommend=1)",
    )
    load.add_argument(
        "-k", type=flags.count32, default=10, help="items per call (pairs for predict)"
    )
    load.add_argument(
        "--concurrency",
        type=flags.integer(1, MAX_CONCURRENCY),
        default=16,
        help="calls in flight per process",
    )
    load.add_argument(
        "--connections",
        type=flags.integer(1, MAX_CONCURRENCY),
        default=4,
        help="connections per process (at least the server's --workers to reach them all)",
    )
    load.add_argument(
        "--processes",
        type=flags.integer(1, MAX_PROCESSES),
        default=1,
        help="generator processes",
    )
    load.add_argument(
        "--duration", type=flags.seconds, default=10.0, help="measured seconds at most"
    )
    load.add_argument(
        "--requests",
        type=flags.integer(0),
        default=0,
        help="measured calls at most (0: no cap)",
    )
    load.add_argument(
        "--warmup",
        type=flags.number(0, flags.MAX_SECONDS),
        default=1.0,
        help="seconds before measuring",
    )
    load.add_argument(
        "--users",
        type=flags.raw_id,
        nargs=2,
        metavar=("FIRST", "LAST"),
        help="raw user ids to draw from uniformly (default: the users the serving version"
        " was trained on, as the service lists them)",
    )
    load.add_argument(
        "--items",
        type=flags.raw_id,
        nargs=2,
        metavar=("FIRST", "LAST"),
        help="raw item ids for predict and similar (default: the serving version's items)",
    )
    load.add_argument(
        "--users-from-store",
        metavar="STORE",
        help="take users and items from the model's newest version in this store, read on"
        " this machine, instead of asking the service",
    )
    load.add_argument(
        "--by-activity",
        action="store_true",
        help="draw users in proportion to their training ratings (not with --users)",
    )
    load.set_defaults(handler=cmd_load)

    synth = sub.add_parser("synth", help="write a synthetic dot version into a store")
    synth.add_argument(
        "--store",
        default=os.environ.get("MOVIEREC_STORE", "./model_store"),
        help="model store root (MOVIEREC_STORE)",
    )
    synth.add_argument("--model", required=True, help="model name")
    synth.add_argument("--users", type=flags.count32, default=943, help="default %(default)s")
    synth.add_argument("--items", type=flags.count32, default=1682, help="default %(default)s")
    synth.add_argument("--dim", type=flags.count32, default=32, help="embedding width")
    synth.add_argument(
        "--skew", type=flags.non_negative, default=1.0, help="Zipf exponent of popularity"
    )
    synth.add_argument(
        "--ratings-per-user", type=flags.count32, default=100, help="mean seen items"
    )
    synth.add_argument(
        "--objective",
        choices=("retrieval", "rating"),
        default="retrieval",
        help="default %(default)s",
    )
    synth.add_argument("--seed", type=flags.seed, default=0, help="random seed (default 0)")
    synth.set_defaults(handler=cmd_synth)

    ratings = sub.add_parser(
        "synth-ratings", help="write a synthetic ML-25M-sized ratings dataset (ml-25m layout)"
    )
    ratings.add_argument("--out", required=True, help="folder to write ml-25m/ into")
    ratings.add_argument(
        "--users", type=flags.count32, default=162_541, help="default %(default)s, as ML-25M"
    )
    ratings.add_argument(
        "--items", type=flags.count32, default=62_423, help="default %(default)s, as ML-25M"
    )
    ratings.add_argument(
        "--ratings", type=flags.integer(1), default=25_000_095, help="default %(default)s"
    )
    ratings.add_argument(
        "--skew", type=flags.non_negative, default=1.0, help="Zipf exponent of popularity"
    )
    ratings.add_argument("--seed", type=flags.seed, default=0, help="random seed (default 0)")
    ratings.set_defaults(handler=cmd_synth_ratings)

    download = sub.add_parser(
        "download", help="download, verify and unpack a MovieLens dataset into the cache"
    )
    download.add_argument("name", help="ml-100k, ml-1m, ml-10m, ml-latest-small, ...")
    download.add_argument("--cache", help="cache folder (default ~/.cache/movierec)")
    download.add_argument(
        "--base-url", help="a mirror holding the archives under their official file names"
    )
    download.set_defaults(handler=cmd_download)
    add_dataset_commands(sub)

    for name, help_text in (
        ("pin", "serve one version of a model by default, on every server of the store"),
        ("unpin", "serve the newest good version of a model again"),
        ("rollback", "pin the newest good version older than the serving one"),
    ):
        command = client_command(name, help_text, "serving")
        command.add_argument("--model", required=True, help="model name")
        if name == "pin":
            command.add_argument(
                "--version", type=flags.version, required=True, help="the version to serve"
            )
        command.add_argument("--reason", help="recorded with the policy")
        command.set_defaults(handler=cmd_pin)

    status = client_command("status", "serving state of models", "serving")
    status.add_argument("--model", help="only this model")
    status.add_argument(
        "--wait-version",
        type=flags.version,
        help="first wait until this version serves (needs --model)",
    )
    status.add_argument(
        "--wait-timeout",
        type=flags.seconds,
        default=60.0,
        help="seconds --wait-version waits at most (default 60)",
    )
    status.set_defaults(handler=cmd_status)
    return parser


def run(argv: list[str]) -> int:
    """Runs one client command (argv without the program name); returns the exit status
    (2, after argparse's one line, for a bad flag)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a bad flag (2)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        output = args.handler(args)
    except MovierecClientError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        return 2 if isinstance(error, InvalidArgumentError) else 1  # 2: a bad value
    except ValueError as error:  # a bad flag value, refused before any call
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # the reader went away: movierec_client.cli ends quietly
    except OSError as error:  # a file or folder of the command's own
        print(f"error: {error}", file=sys.stderr)
        return 1
    if output:
        print(output)
    return 0
