"""Prometheus metrics of one proxy app.

Operations:
    ProxyMetrics(credential_states=...)  one registry per app, so two apps in one process
                                          (tests, duet benchmarks) never share counters
    .render() -> (bytes, content_type)    the Prometheus text exposition for `GET /metrics`
    the counters, histograms and gauges below, named as in docs/design.md#metric-names

Plan: plain prometheus-client objects registered on a private `CollectorRegistry`;
credential states and the state store's status are read at scrape time from callbacks, so the scheduler stays the
one source of truth and nothing has to be kept in sync.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from server.state.store import StoreStatus

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess mode: set for the workers of `compatkit serve --workers`."""

# Seconds; fine at the low end, where proxy overhead lives, wide enough for long generations.
LATENCY_BUCKETS = (
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
    30.0,
    60.0,
    120.0,
    300.0,
)

CredentialStates = Callable[[], Iterable[tuple[str, str]]]
"""Returns (credential id, state name) pairs, e.g. ("cred-1", "cooling_down")."""


class _CredentialStateCollector(Collector):
    def __init__(self, read_states: CredentialStates) -> None:
        self._read_states = read_states

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for credential, state in self._read_states():
            family.add_metric([credential, state], 1.0)
        yield family

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "compatkit_credential_state",
            "1 for the current state of each upstream credential",
            labels=["credential", "state"],
        )


class _StoreStatusCollector(Collector):
    """compatkit_state_store_degraded and _failures_total, read from the store at scrape time."""

    def __init__(self, read_status: Callable[[], StoreStatus]) -> None:
        self._read_status = read_status

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = self._read_status()
        yield GaugeMetricFamily(
            "compatkit_state_store_degraded",
            "1 while the shared state store (Redis) is unreachable and this process serves "
            "from its last known state",
            value=float(status.degraded),
        )
        yield CounterMetricFamily(
            "compatkit_state_store_failures",
            "State store operations that found the shared store unreachable",
            value=float(status.failures),
        )


class ProxyMetrics:
    """All metrics of one proxy app, on a registry of its own."""

    def __init__(
        self,
        credential_states: CredentialStates | None = None,
        store_status: Callable[[], StoreStatus] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "compatkit_requests",
            "Client requests answered, by route, model and HTTP status",
            ["route", "model", "status"],
            registry=r,
        )
        self.ttfb = Histogram(
            "compatkit_ttfb_seconds",
            "Request received to response headers sent",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "compatkit_ttft_seconds",
            "Request received to the first content delta sent (streams)",
            ["route", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.e2e = Histogram(
            "compatkit_e2e_seconds",
            "Request received to the last byte of the response",
            ["route", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "compatkit_in_flight_requests",
            "Client requests being answered",
            ["route"],
            registry=r,
            multiprocess_mode="livesum",  # --workers: the sum over the running workers
        )
        self.upstream_attempts = Counter(
            "compatkit_upstream_attempts",
            "Upstream calls, by credential, model and outcome",
            ["credential", "model", "outcome"],
            registry=r,
        )
        self.upstream_retries = Counter(
            "compatkit_upstream_retries",
            "Upstream calls that were retries of an earlier failed call",
            ["credential", "model"],
            registry=r,
        )
        self.upstream_rate_limited = Counter(
            "compatkit_upstream_429",
            "Upstream 429 answers that were not capacity errors",
            ["credential", "model"],
            registry=r,
        )
        self.upstream_capacity_errors = Counter(
            "compatkit_upstream_capacity_errors",
            "Upstream capacity errors (MODEL_CAPACITY_EXHAUSTED, 503)",
            ["credential", "model"],
            registry=r,
        )
        self.credentials_refused = Counter(
            "compatkit_credentials_refused",
            "Credentials the upstream refused and the proxy took out of rotation, by cause "
            "(invalid, expired, forbidden, unauthenticated)",
            ["credential", "cause"],
            registry=r,
        )
        self.stream_errors = Counter(
            "compatkit_stream_errors",
            "Streams ended by an error event after the response had started",
            ["route", "error_type"],
            registry=r,
        )
        self._own_collectors: list[Collector] = []
        if credential_states is not None:
            self._own_collectors.append(_CredentialStateCollector(credential_states))
        if store_status is not None:
            self._own_collectors.append(_StoreStatusCollector(store_status))
        for collector in self._own_collectors:
            r.register(collector)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type.

        Under `compatkit serve --workers N` (PROMETHEUS_MULTIPROC_DIR set by server.workers
        before prometheus-client was imported) counters, histograms and the in-flight gauge
        are every worker's, merged from the shared directory; credential states and the
        store's status are the answering worker's own (with Redis they agree within the
        shared state's sync interval).
        """
        directory = os.environ.get(MULTIPROCESS_ENV)
        if directory is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        for collector in self._own_collectors:
            merged.register(collector)
        return generate_latest(merged), CONTENT_TYPE_LATEST
