"""A bounded load generator for the serving service, built on the SDK.

Threads share one channel and send Recommend (or Predict) calls for random users until a
request count or a duration runs out, whichever comes first; the report gives throughput,
latency percentiles, errors by status code and the versions that answered.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from client.channel import Tls
from client.errors import MovierecClientError
from client.sdk import ServingClient

MAX_DURATION_S = 600.0
MAX_REQUESTS = 10_000_000


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What a load run measured. Latencies are in milliseconds, of successful calls (None
    when no call succeeded)."""

    requests: int
    errors: dict[str, int]
    seconds: float
    throughput: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    versions: dict[int, int]


def run_load(
    target: str | Sequence[str],
    model: str,
    user_ids: Sequence[int],
    *,
    item_ids: Sequence[int] = (),
    method: str = "recommend",
    k: int = 10,
    concurrency: int = 4,
    max_requests: int = 1000,
    duration_s: float = 10.0,
    seed: int = 0,
    token: str | None = None,
    timeout: float = 10.0,
    tls: Tls | None = None,
) -> LoadReport:
    """Sends calls from `concurrency` threads until max_requests or duration_s is reached.

    Args:
        target: Serving address(es).
        model: Model name.
        user_ids: Raw user ids to draw from uniformly.
        item_ids: Raw item ids to draw from, for "predict".
        method: "recommend" (top-k for one user) or "predict" (k user-item pairs).
        k: Items per call.
        concurrency: Calling threads.
        max_requests: Upper bound on calls, 1 to MAX_REQUESTS.
        duration_s: Upper bound on time, seconds, up to MAX_DURATION_S.
        seed: Seed of the user draws.
        token: Bearer token.
        timeout: Deadline of each call, seconds.
        tls: TLS settings; None for plaintext.

    Raises:
        ValueError: a bound out of range, no users, or an unknown method.
    """
    if not 0 < duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be in (0, {MAX_DURATION_S}], got {duration_s}")
    if not 1 <= max_requests <= MAX_REQUESTS:
        raise ValueError(f"max_requests must be 1 to {MAX_REQUESTS}, got {max_requests}")
    if not user_ids:
        raise ValueError("user_ids is empty")
    if method not in ("recommend", "predict"):
        raise ValueError(f"method must be recommend or predict, got {method!r}")
    if method == "predict" and not item_ids:
        raise ValueError("predict needs item_ids")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")

    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    versions: Counter[int] = Counter()
    deadline = time.monotonic() + duration_s

    with ServingClient(
        target, token=token, max_attempts=1, timeout=timeout, tls=tls or False
    ) as client:

        def one_call(user: int, rng: random.Random) -> int:
            if method == "recommend":
                return client.recommend(model, user, k).model.version
            pairs = [(user, rng.choice(item_ids)) for _ in range(k)]
            return client.predict(model, pairs).model.version

        def worker(worker_seed: int) -> None:
            nonlocal issued
            rng = random.Random(worker_seed)
            while time.monotonic() < deadline:
                with lock:
                    if issued >= max_requests:
                        return
                    issued += 1
                user = user_ids[rng.randrange(len(user_ids))]
                started = time.perf_counter()
                try:
                    version = one_call(user, rng)
                except MovierecClientError as error:
                    with lock:
                        errors[error.code] += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    versions[version] += 1

        began = time.perf_counter()
        threads = [
            threading.Thread(target=worker, args=(seed * 1000 + i,)) for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began

    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    slowest: float | None = None
    if latencies:
        p50, p90, p99 = (float(p) for p in np.percentile(latencies, [50, 90, 99]))
        slowest = float(max(latencies))
    return LoadReport(
        requests=issued,
        errors=dict(errors),
        seconds=seconds,
        throughput=len(latencies) / seconds if seconds > 0 else 0.0,
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        max_ms=slowest,
        versions=dict(versions),
    )
