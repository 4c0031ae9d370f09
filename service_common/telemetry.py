"""Prometheus metrics on their own HTTP port (`--metrics-port`), kept off the hot path.

A call costs one dictionary update under a lock (`CallStats.record`); everything else
(serving versions, job states, load failures) is read from the service when Prometheus
scrapes. prometheus_client is imported only when a metrics port is asked for.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds of the latency histogram's buckets, seconds (+Inf is implied)."""


class CallStats:
    """Calls per (method, status code): count, total seconds and latency bucket counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], list] = {}

    def record(self, method: str, code: str, seconds: float) -> None:
        """Counts one finished call."""
        bucket = bisect.bisect_left(LATENCY_BUCKETS_S, seconds)
        key = (method, code)
        with self._lock:
            entry = self._stats.get(key)
            if entry is None:
                entry = self._stats[key] = [0, 0.0, [0] * (len(LATENCY_BUCKETS_S) + 1)]
            entry[0] += 1
            entry[1] += seconds
            entry[2][bucket] += 1

    def snapshot(self) -> dict[tuple[str, str], tuple[int, float, list[int]]]:
        """(method, code) -> (count, seconds, per-bucket counts, not cumulative)."""
        with self._lock:
            return {k: (v[0], v[1], list(v[2])) for k, v in self._stats.items()}


Samples = Callable[[], Iterable[tuple[dict[str, str], float]]]
"""A gauge's or counter's current samples: (labels, value) pairs."""


class Telemetry:
    """What one service process exports.

    Args:
        service: "serving" or "trainer", a label of every metric.
    """

    def __init__(self, service: str):
        self.service = service
        self.worker = os.environ.get("MOVIEREC_SERVING_WORKER", "0")
        self.calls = CallStats()
        self._metrics: list[tuple[str, str, str, Samples]] = []

    def add(self, kind: str, name: str, documentation: str, samples: Samples) -> None:
        """Exports `name` ("gauge" or "counter") read from samples() at each scrape."""
        self._metrics.append((kind, name, documentation, samples))

    def collect(self):
        """prometheus_client collector protocol: yields the metric families."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        base = {"service": self.service, "worker": self.worker}
        requests = CounterMetricFamily(
            "movierec_rpc_requests", "Finished calls", labels=[*base, "method", "code"]
        )
        latency = HistogramMetricFamily(
            "movierec_rpc_latency_seconds",
            "Time spent answering a call, in the handler",
            labels=[*base, "method", "code"],
        )
        for (method, code), (count, seconds, buckets) in sorted(self.calls.snapshot().items()):
            labels = [*base.values(), method, code]
            requests.add_metric(labels, count)
            cumulative, running = [], 0
            for bound, n in zip((*LATENCY_BUCKETS_S, float("inf")), buckets, strict=True):
                running += n
                cumulative.append((_bound(bound), running))
            latency.add_metric(labels, cumulative, seconds)
        yield requests
        yield latency
        for kind, name, documentation, samples in self._metrics:
            family_class = GaugeMetricFamily if kind == "gauge" else CounterMetricFamily
            entries = list(samples())
            label_names = sorted({k for labels, _ in entries for k in labels})
            family = family_class(name, documentation, labels=[*base, *label_names])
            for labels, value in entries:
                family.add_metric(
                    [*base.values(), *(labels.get(k, "") for k in label_names)], value
                )
            yield family


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


def serve_metrics(telemetry: Telemetry, host: str, port: int):
    """Starts the HTTP endpoint `/metrics` on host:port (0: a free port) in a daemon
    thread.

    Returns:
        (server, bound port); server.shutdown() stops it.
    """
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(telemetry)
    server, _ = start_http_server(port, addr=host, registry=registry)
    logger.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server, server.server_port
