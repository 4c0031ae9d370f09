"""`movierec load`: a load generator able to saturate what it tests.

asyncio on gRPC's generic calls, with requests built and serialized before the clock
starts and responses left unparsed, so that a call costs the generator little more than
gRPC itself; several connections per process (to reach every process of `movierec serving
--workers N`) and optionally several processes. A weighted mix of Recommend, Predict and
SimilarItems; users drawn uniformly, or in proportion to their activity when the model's
catalogue is at hand; a duration or a count; a warm-up; QPS, p50/p90/p99/max and errors
by status code.
"""

from __future__ import annotations

import array
import asyncio
import dataclasses
import math
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence

import grpc

from movierec_client.channel import Tls, channel_options, channel_target
from movierec_client.v1 import common_pb2, serving_pb2

METHODS = {
    "recommend": "/movierec.v1.ServingService/Recommend",
    "predict": "/movierec.v1.ServingService/Predict",
    "similar": "/movierec.v1.ServingService/SimilarItems",
}
PREBUILT = 4096
"""Requests serialized per method before the run; calls cycle through them."""
MAX_DURATION_S = 3600.0
MAX_REQUESTS = 100_000_000


@dataclasses.dataclass(frozen=True)
class LoadSpec:
    """What to send, how hard and for how long.

    Attributes:
        target: Serving address(es), as the SDK takes them.
        model: Model name.
        mix: Method ("recommend", "predict", "similar") to weight.
        k: Items per Recommend/SimilarItems call, pairs per Predict call.
        user_ids: Raw user ids to draw from.
        user_weights: Draw weights of user_ids (e.g. their rating counts); None: uniform.
        item_ids: Raw item ids for Predict and SimilarItems.
        concurrency: Calls in flight per process.
        connections: Connections per process, used in turn.
        processes: Generator processes.
        duration_s: Measured seconds at most (after the warm-up).
        requests: Measured calls at most, over all processes; 0 means no count limit.
        warmup_s: Seconds of calls before measuring.
        timeout_s: Deadline of each call.
        token: Bearer token.
        tls: TLS settings; None for plaintext.
        seed: Seed of the draws.
    """

    target: str | Sequence[str]
    model: str
    mix: dict[str, float] = dataclasses.field(default_factory=lambda: {"recommend": 1.0})
    k: int = 10
    user_ids: Sequence[int] = tuple(range(1, 944))
    user_weights: Sequence[float] | None = None
    item_ids: Sequence[int] = tuple(range(1, 1683))
    concurrency: int = 16
    connections: int = 4
    processes: int = 1
    duration_s: float = 10.0
    requests: int = 0
    warmup_s: float = 1.0
    timeout_s: float = 10.0
    token: str | None = None
    tls: Tls | None = None
    seed: int = 0

    def validate(self) -> None:
        """Raises ValueError naming the first bad setting."""
        checks = [
            (bool(self.mix), "the mix names no method"),
            (set(self.mix) <= set(METHODS), f"mix methods must be among {sorted(METHODS)}"),
            (all(w >= 0 for w in self.mix.values()), "mix weights must be >= 0"),
            (sum(self.mix.values()) > 0, "mix weights must not all be 0"),
            (1 <= self.k <= 10_000, "k must be 1 to 10000"),
            (len(self.user_ids) > 0, "no user ids"),
            (len(self.item_ids) > 0, "no item ids"),
            (
                self.user_weights is None or len(self.user_weights) == len(self.user_ids),
                "user_weights must have one weight per user id",
            ),
            (1 <= self.concurrency <= 10_000, "concurrency must be 1 to 10000"),
            (1 <= self.connections <= 256, "connections must be 1 to 256"),
            (1 <= self.processes <= 256, "processes must be 1 to 256"),
            (0 < self.duration_s <= MAX_DURATION_S, f"duration must be in (0, {MAX_DURATION_S}]"),
            (0 <= self.requests <= MAX_REQUESTS, f"requests must be 0 to {MAX_REQUESTS}"),
            (0 <= self.warmup_s <= 600, "warmup must be 0 to 600 seconds"),
            (self.timeout_s > 0, "timeout must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What a run measured (after the warm-up)."""

    calls: int
    errors: dict[str, int]
    seconds: float
    qps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    by_method: dict[str, int]
    client_cpu_seconds: float


def build_requests(spec: LoadSpec, seed: int) -> list[tuple[str, bytes]]:
    """(method path, serialized request) pairs in the mix's proportions, users drawn
    uniformly or by their weights."""
    rng = random.Random(seed)
    names = sorted(spec.mix)
    methods = rng.choices(names, [spec.mix[n] for n in names], k=PREBUILT)
    users = rng.choices(spec.user_ids, spec.user_weights, k=PREBUILT)
    drawn = rng.choices(spec.item_ids, k=PREBUILT * spec.k)
    items = [drawn[n * spec.k : (n + 1) * spec.k] for n in range(PREBUILT)]
    model = common_pb2.ModelSpec(name=spec.model)
    built = []
    for name, user, row in zip(methods, users, items, strict=True):
        if name == "recommend":
            request = serving_pb2.RecommendRequest(model=model, user_id=user, k=spec.k)
        elif name == "predict":
            request = serving_pb2.PredictRequest(
                model=model,
                instances=[serving_pb2.PredictInstance(user_id=user, item_id=i) for i in row],
            )
        else:
            request = serving_pb2.SimilarItemsRequest(model=model, item_id=row[0], k=spec.k)
        built.append((name, request.SerializeToString()))
    return built


async def _drive(spec: LoadSpec, share: int, limit: int, seed: int, tick: Callable[[int], None]):
    """One process's calls: `share` in flight over spec.connections channels."""
    requests = build_requests(spec, seed)
    metadata = (("authorization", f"Bearer {spec.token}"),) if spec.token else None
    target = channel_target(spec.target)
    options = channel_options(1, spec.tls, separate=True)
    channels = [
        grpc.aio.secure_channel(target, spec.tls.credentials(), options=options)
        if spec.tls
        else grpc.aio.insecure_channel(target, options=options)
        for _ in range(spec.connections)
    ]
    calls = [{name: ch.unary_unary(path) for name, path in METHODS.items()} for ch in channels]
    latencies = array.array("d")
    errors: Counter[str] = Counter()
    by_method: Counter[str] = Counter()
    started = time.perf_counter()
    measure_from = started + spec.warmup_s
    stop_at = measure_from + spec.duration_s
    counted = issued = 0

    async def worker(number: int) -> None:
        nonlocal counted, issued
        position = number
        stubs = calls[number % len(calls)]
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            measured = now >= measure_from
            if measured:
                if limit and issued >= limit:
                    return
                issued += 1
            name, payload = requests[position % PREBUILT]
            position += share
            try:
                await stubs[name](payload, timeout=spec.timeout_s, metadata=metadata)
                code = None
            except grpc.aio.AioRpcError as error:
                code = error.code().name
            if not measured:
                continue
            counted += 1
            if code is None:
                latencies.append((time.perf_counter() - now) * 1000.0)
                by_method[name] += 1
            else:
                errors[code] += 1
                await asyncio.sleep(0.001)  # a dead server must not turn this into a spin

    async def report() -> None:
        while time.perf_counter() < stop_at and not (limit and counted >= limit):
            await asyncio.sleep(0.25)
            tick(counted)

    try:
        await asyncio.gather(report(), *(worker(n) for n in range(share)))
    finally:
        for channel in channels:
            await channel.close()
    tick(counted)
    seconds = max(min(time.perf_counter(), stop_at) - measure_from, 1e-9)
    return latencies, dict(errors), dict(by_method), seconds


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_main(spec: LoadSpec, share: int, limit: int, seed: int, counter, conn) -> None:
    def tick(value: int) -> None:
        counter.value = value

    cpu = _cpu()
    result = asyncio.run(_drive(spec, share, limit, seed, tick))
    conn.send((*result, _cpu() - cpu))
    conn.close()


def run_load(spec: LoadSpec, progress: Callable[[int, float], None] | None = None) -> LoadReport:
    """Runs the load and reports it; progress(calls so far, seconds) is called about
    once a second from this process.

    Raises:
        ValueError: a bad setting (see LoadSpec.validate).
    """
    spec.validate()
    shares = [
        spec.concurrency // spec.processes + (i < spec.concurrency % spec.processes)
        for i in range(spec.processes)
    ]
    shares = [s for s in shares if s]
    limits = [
        (spec.requests * s + len(shares) - 1) // spec.concurrency if spec.requests else 0
        for s in shares
    ]
    context = multiprocessing.get_context("spawn")
    counters = [context.Value("q", 0, lock=False) for _ in shares]
    pipes = [context.Pipe(duplex=False) for _ in shares]
    started = time.perf_counter()
    if len(shares) == 1:
        cpu = _cpu()
        result = asyncio.run(
            _drive(
                spec,
                shares[0],
                limits[0],
                spec.seed,
                lambda value: _progress(progress, value, started, spec.warmup_s),
            )
        )
        results = [(*result, _cpu() - cpu)]
    else:
        processes = [
            context.Process(
                target=_process_main,
                args=(spec, share, limit, spec.seed + n, counters[n], pipes[n][1]),
                daemon=True,
            )
            for n, (share, limit) in enumerate(zip(shares, limits, strict=True))
        ]
        for process in processes:
            process.start()
        while any(p.is_alive() for p in processes) and not all(r.poll() for r, _ in pipes):
            time.sleep(1.0)
            _progress(progress, sum(c.value for c in counters), started, spec.warmup_s)
        results = [receiver.recv() for receiver, _ in pipes]
        for process in processes:
            process.join()
    return _report(results)


def _progress(progress, calls: int, started: float, warmup: float) -> None:
    if progress is not None:
        progress(calls, max(time.perf_counter() - started - warmup, 0.0))


def _report(results) -> LoadReport:
    latencies = sorted(latency for r in results for latency in r[0])
    errors: Counter[str] = Counter()
    by_method: Counter[str] = Counter()
    for _, errs, methods, _, _ in results:
        errors.update(errs)
        by_method.update(methods)
    seconds = max(r[3] for r in results)
    calls = len(latencies) + sum(errors.values())

    def pct(q: float) -> float:
        return percentile(latencies, q)

    return LoadReport(
        calls=calls,
        errors=dict(errors),
        seconds=seconds,
        qps=len(latencies) / seconds,
        p50_ms=pct(50),
        p90_ms=pct(90),
        p99_ms=pct(99),
        max_ms=latencies[-1] if latencies else math.nan,
        by_method=dict(by_method),
        client_cpu_seconds=float(sum(r[4] for r in results)),
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0 to 100) of sorted values, interpolated linearly between the
    two nearest ranks (numpy's default method); NaN for no values."""
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100.0
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
