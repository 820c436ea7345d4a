"""server.panel.live_metrics: quantiles as Prometheus estimates them, rates and windows from
snapshots of a real ProxyMetrics registry, the panel's own routes left out."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.metrics import LATENCY_BUCKETS, ProxyMetrics
from server.panel.live_metrics import (
    SMOOTHING,
    MetricsHistory,
    histogram_quantile,
    take_snapshot,
)


def test_quantile_interpolates_inside_the_bucket() -> None:
    buckets = [(0.1, 0.0), (0.2, 10.0), (math.inf, 10.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.15)
    assert histogram_quantile(1.0, buckets) == pytest.approx(0.2)


def test_no_observations_is_no_quantile_and_the_inf_bucket_is_the_top_bound() -> None:
    assert histogram_quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None
    assert histogram_quantile(0.99, [(0.1, 1.0), (math.inf, 100.0)]) == 0.1


@given(st.lists(st.sampled_from(LATENCY_BUCKETS[:-1]), min_size=1, max_size=50))
def test_a_quantile_lies_within_the_observed_buckets(values: list[float]) -> None:
    metrics = ProxyMetrics()
    for value in values:
        metrics.e2e.labels("/v1/messages", "m", "none").observe(value)
    snapshot = take_snapshot(metrics.registry, 0.0)
    buckets = sorted(snapshot.e2e["/v1/messages"].items())
    for q in (0.5, 0.95, 0.99):
        estimate = histogram_quantile(q, buckets)
        assert estimate is not None
        assert 0.0 <= estimate <= max(values)


def test_rates_and_quantiles_cover_the_window_and_leave_the_panel_out() -> None:
    metrics = ProxyMetrics()
    history = MetricsHistory()
    history.record(take_snapshot(metrics.registry, 1000.0))
    for _ in range(20):
        metrics.requests.labels("/v1/messages", "m", "200").inc()
        metrics.e2e.labels("/v1/messages", "m", "none").observe(0.3)
    metrics.requests.labels("/v1/messages", "m", "429").inc()
    metrics.requests.labels("/panel/api/metrics", "-", "200").inc()
    metrics.upstream_attempts.labels("key-a", "gemini-2.5-pro", "success").inc(20)
    metrics.upstream_attempts.labels("key-a", "gemini-2.5-pro", "rate_limited").inc()
    metrics.upstream_rate_limited.labels("key-a", "gemini-2.5-pro").inc()
    history.record(take_snapshot(metrics.registry, 1010.0))
    document = history.document(window=60.0)
    assert document["window_s"] == 10.0
    assert document["totals"]["requests"] == 21 and document["totals"]["errors"] == 1
    assert document["totals"]["requests_per_s"] == pytest.approx(2.1)
    (route,) = document["routes"]
    assert route["route"] == "/v1/messages" and route["statuses"] == {"200": 20, "429": 1}
    assert 250 < route["e2e_p50_ms"] <= 500 and route["e2e_over"] == "window"
    (credential,) = document["credentials"]
    assert credential == {
        "credential": "key-a",
        "attempts": 21,
        "outcomes": {"rate_limited": 1, "success": 20},
        "errors": 1,
        "upstream_429": 1,
        "upstream_capacity": 0.0,
    }
    series = document["series"]
    assert (series["t"], series["requests_per_s"]) == ([1010.0], [2.1])
    assert series["errors_per_s"] == {"HTTP 429": [0.1]}
    assert series["upstream_429_per_s"] == [0.1] and series["upstream_capacity_per_s"] == [0.0]


def test_the_charts_show_ttft_errors_by_type_429s_and_capacity_errors_as_they_happen() -> None:
    """Each point is what happened since the one before; TTFT quantiles cover SMOOTHING
    seconds, so a quiet stretch is a gap (None), not the old figure."""
    metrics = ProxyMetrics()
    history = MetricsHistory()
    history.record(take_snapshot(metrics.registry, 0.0))
    for _ in range(10):
        metrics.ttft.labels("/v1/messages", "m", "none").observe(0.04)
    metrics.ttft.labels("/v1/chat/completions", "m", "none").observe(2.0)
    metrics.requests.labels("/v1/messages", "m", "529").inc(2)
    metrics.upstream_capacity_errors.labels("key-a", "gemini-2.5-pro").inc(2)
    history.record(take_snapshot(metrics.registry, 2.0))
    metrics.stream_errors.labels("/v1/messages", "overloaded_error").inc()
    metrics.upstream_rate_limited.labels("key-b", "gemini-2.5-pro").inc(4)
    history.record(take_snapshot(metrics.registry, 4.0))
    history.record(take_snapshot(metrics.registry, 4.0 + SMOOTHING))
    series = history.document()["series"]
    assert series["t"] == [2.0, 4.0, 4.0 + SMOOTHING]
    assert series["errors_per_s"] == {
        "HTTP 529": [1.0, 0.0, 0.0],
        "stream overloaded_error": [0.0, 0.5, 0.0],
    }
    assert series["upstream_capacity_per_s"] == [1.0, 0.0, 0.0]
    assert series["upstream_429_per_s"] == [0.0, 2.0, 0.0]
    p50, p95 = series["ttft_p50_ms"], series["ttft_p95_ms"]
    assert 25 < p50[0] <= 50 and p50[1] == p50[0]  # both routes' streams, 10 s back
    assert 1000 < p95[0] <= 2500
    assert (p50[2], p95[2]) == (None, None)  # no stream in the 10 s before


def test_a_quiet_window_falls_back_to_quantiles_since_start() -> None:
    metrics = ProxyMetrics()
    history = MetricsHistory()
    metrics.requests.labels("/v1/messages", "m", "200").inc()
    metrics.e2e.labels("/v1/messages", "m", "none").observe(0.002)
    history.record(take_snapshot(metrics.registry, 0.0))
    history.record(take_snapshot(metrics.registry, 100.0))
    (route,) = history.document(window=60.0)["routes"]
    assert route["e2e_over"] == "since start" and route["e2e_p50_ms"] is not None


def test_snapshots_under_a_second_apart_replace_each_other_and_old_ones_go() -> None:
    metrics = ProxyMetrics()
    history = MetricsHistory(keep=10.0)
    for moment in (0.0, 0.5, 5.0, 20.0):
        history.record(take_snapshot(metrics.registry, moment))
    assert history.document()["window_s"] == 0.0  # only the newest snapshot is kept
