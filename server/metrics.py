"""Prometheus metrics of one proxy app, every label value from a bounded set.

Operations:
    ProxyMetrics(credential_states=..., models=...)
                                          one registry per app, so two apps in one process
                                          (tests, duet benchmarks) never share counters
    .render() -> (bytes, content_type)    the Prometheus text exposition for `GET /metrics`
    .readable() -> CollectorRegistry      what render() reads: this app's registry, or under
                                          --workers every worker's merged (the panel reads it)
    .count_tokens(model, usage)           the token counters, from Gemini's usageMetadata
    .model_label(name) / .error_label(type) / .flags_label(flags)
                                          the label value a name becomes (`other` when it is
                                          not one the configuration or the code knows)
    route_label(rule) -> str              a Quart rule as a path template (`/v1/models/{id}`)
    the counters, histograms and gauges below, named as in docs/design.md#metric-names

Plan: plain prometheus-client objects registered on a private `CollectorRegistry`, plus its
process collector (`process_*`: CPU, memory, open files); credential states and the state
store's status are read at scrape time from callbacks, so the scheduler stays the one source
of truth.

Why bounded (issue 17.6): each distinct label value is a series kept for the life of the
process. A client-chosen name (a pass-through `gemini-*` model, an upstream error type) as a
label let 10,000 requests grow `/metrics` to 24 MB and a scrape block the loop for seconds.
So each labelled metric goes through `_Bounded`, which maps every value of its bounded labels
through the set it belongs to: configured models, the proxy's error types, the flag arms;
routes are the app's own rule templates and credentials the configured ids.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Generic, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from server.flags import Flags
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

OTHER = "other"
"""The label value of anything outside a label's bounded set."""

NO_FLAGS = "none"
"""The flag-arm label of a request that ran with every flag off (the baseline arm)."""

# The error types the proxy answers with (Anthropic's, docs/reference/anthropic.md#errors, and
# OpenAI's), the only `error_type` label values besides `other`.
ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "overloaded_error",
        "timeout_error",
        "server_error",
        "insufficient_quota",
    }
)

CredentialStates = Callable[[], Iterable[tuple[str, str]]]
"""Returns (credential id, state name) pairs, e.g. ("cred-1", "cooling_down")."""

_RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_M = TypeVar("_M", Counter, Gauge, Histogram)
_MEMO_SIZE = 4096  # label-value tuples remembered per metric


def route_label(rule: str) -> str:
    """A Quart URL rule as a path template: `/v1/models/<model_id>` → `/v1/models/{model_id}`."""
    return _RULE_VARIABLE.sub(r"{\1}", rule)


class _Bounded(Generic[_M]):
    """A labelled metric whose `labels(...)` passes each value through its label's bound.

    The child a tuple of values leads to is remembered (a handful of lookups per request
    otherwise cost ~2 % of the proxy's CPU at saturation), the last _MEMO_SIZE of them: the
    values are raw, and a client chooses some."""

    def __init__(self, metric: _M, bounds: Mapping[str, Callable[[str], str]]) -> None:
        self.metric = metric
        names = metric._labelnames  # prometheus_client keeps them in this order
        self._bounds = [bounds.get(name) for name in names]
        self._child: Callable[..., _M] = lru_cache(maxsize=_MEMO_SIZE)(self._bounded_child)

    def labels(self, *values: str) -> _M:
        return self._child(*values)

    def _bounded_child(self, *values: str) -> _M:
        bounded = [
            bound(value) if bound is not None else value
            for bound, value in zip(self._bounds, values, strict=True)
        ]
        return self.metric.labels(*bounded)


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
    """All metrics of one proxy app, on a registry of its own.

    `models` are the upstream model names the configuration knows (its model map's targets
    and scarce models); any other model, e.g. a pass-through `gemini-*` name a client chose,
    is counted as `other`.
    """

    def __init__(
        self,
        credential_states: CredentialStates | None = None,
        store_status: Callable[[], StoreStatus] | None = None,
        *,
        models: Iterable[str] = (),
    ) -> None:
        self.models = frozenset(models)
        self.registry = CollectorRegistry(auto_describe=True)
        bounds = {"model": self.model_label, "error_type": self.error_label}
        r = self.registry

        def counter(name: str, doc: str, labels: list[str]) -> _Bounded[Counter]:
            return _Bounded(Counter(name, doc, labels, registry=r), bounds)

        def histogram(name: str, doc: str, labels: list[str]) -> _Bounded[Histogram]:
            metric = Histogram(name, doc, labels, buckets=LATENCY_BUCKETS, registry=r)
            return _Bounded(metric, bounds)

        self.requests = counter(
            "compatkit_requests",
            "Client requests answered, by route, model and HTTP status",
            ["route", "model", "status"],
        )
        self.ttfb = histogram(
            "compatkit_ttfb_seconds",
            "Request received to response headers sent, by route and flag arm",
            ["route", "flags"],
        )
        self.ttft = histogram(
            "compatkit_ttft_seconds",
            "Request received to the first content delta sent (streams)",
            ["route", "model", "flags"],
        )
        self.e2e = histogram(
            "compatkit_e2e_seconds",
            "Request received to the last byte of the response",
            ["route", "model", "flags"],
        )
        self.in_flight = _Bounded(
            Gauge(
                "compatkit_in_flight_requests",
                "Client requests being answered",
                ["route"],
                registry=r,
                multiprocess_mode="livesum",  # --workers: the sum over the running workers
            ),
            bounds,
        )
        self.tokens = counter(
            "compatkit_tokens",
            "Tokens of served upstream calls, by model and kind (input, output, thinking, "
            "cached: the input tokens the upstream served from its cache)",
            ["model", "kind"],
        )
        self.upstream_attempts = counter(
            "compatkit_upstream_attempts",
            "Upstream calls, by credential, model and outcome",
            ["credential", "model", "outcome"],
        )
        self.upstream_retries = counter(
            "compatkit_upstream_retries",
            "Upstream calls that were retries of an earlier failed call",
            ["credential", "model"],
        )
        self.upstream_rate_limited = counter(
            "compatkit_upstream_429",
            "Upstream 429 answers that were not capacity errors",
            ["credential", "model"],
        )
        self.upstream_capacity_errors = counter(
            "compatkit_upstream_capacity_errors",
            "Upstream capacity errors (MODEL_CAPACITY_EXHAUSTED, 503)",
            ["credential", "model"],
        )
        self.credentials_refused = counter(
            "compatkit_credentials_refused",
            "Credentials the upstream refused and the proxy took out of rotation, by cause "
            "(invalid, expired, forbidden, unauthenticated)",
            ["credential", "cause"],
        )
        self.stream_errors = counter(
            "compatkit_stream_errors",
            "Streams ended by an error event after the response had started",
            ["route", "error_type"],
        )
        ProcessCollector(registry=r)
        self._own_collectors: list[Collector] = []
        if credential_states is not None:
            self._own_collectors.append(_CredentialStateCollector(credential_states))
        if store_status is not None:
            self._own_collectors.append(_StoreStatusCollector(store_status))
        for collector in self._own_collectors:
            r.register(collector)

    def model_label(self, model: str) -> str:
        """`model` when the configuration knows it, else `other` (a label set stays bounded)."""
        return model if model in self.models or model == "-" else OTHER

    @staticmethod
    def error_label(error_type: str) -> str:
        """An error type the proxy answers with, else `other`."""
        return error_type if error_type in ERROR_TYPES else OTHER

    @staticmethod
    def flags_label(flags: Flags | None) -> str:
        """The flag arm: the flags that are on, joined by `+` in FLAG_NAMES order, or `none`."""
        if flags is None:
            return NO_FLAGS
        return "+".join(name for name, on in flags.as_dict().items() if on) or NO_FLAGS

    def count_tokens(self, model: str, usage: Mapping[str, object]) -> None:
        """Count the tokens of a served call from Gemini's `usageMetadata`."""
        for kind, field in _USAGE_FIELDS:
            value = usage.get(field)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                self.tokens.labels(model, kind).inc(value)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type (of `readable()`)."""
        return generate_latest(self.readable()), CONTENT_TYPE_LATEST

    def readable(self) -> CollectorRegistry:
        """The registry to read the proxy's figures from.

        Under `compatkit serve --workers N` (PROMETHEUS_MULTIPROC_DIR set by server.workers
        before prometheus-client was imported) counters, histograms and the in-flight gauge
        are every worker's, merged from the shared directory; credential states, the
        store's status and `process_*` are the answering worker's own (with Redis the states
        agree within the shared state's sync interval).
        """
        directory = os.environ.get(MULTIPROCESS_ENV)
        if directory is None:
            return self.registry
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        ProcessCollector(registry=merged)
        for collector in self._own_collectors:
            merged.register(collector)
        return merged


_USAGE_FIELDS = (
    ("input", "promptTokenCount"),
    ("output", "candidatesTokenCount"),
    ("thinking", "thoughtsTokenCount"),
    ("cached", "cachedContentTokenCount"),
)
