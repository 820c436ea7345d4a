"""Live metrics for the panel, read from the proxy's own Prometheus registry.

Operations:
    take_snapshot(registry, now) -> Snapshot      the counters and histograms the panel shows
    histogram_quantile(q, buckets) -> float|None  Prometheus' estimate from cumulative buckets
    MetricsHistory(keep=600.0)                    snapshots of the last minutes, one per poll
        .record(snapshot) -> None
        .document(window=60.0) -> dict            what GET /panel/api/metrics answers: totals,
                                                  tables, and the charts' series (requests/s,
                                                  TTFT p50/p95, errors/s by type, upstream
                                                  429s/s and capacity errors/s)

Plan: nothing runs in the background: the page polls every two seconds and each poll takes one
snapshot (at most one per second is kept). Rates and windowed quantiles are differences between
the newest snapshot and the one `window` seconds older, the way Prometheus' `rate()` and
`histogram_quantile()` over a range work; totals are since the proxy started. A chart point is
the change between two neighbouring snapshots, except TTFT, whose quantiles are over the
SMOOTHING seconds before each point (a two-second slice rarely holds enough streams). An error's
type is its HTTP status (`HTTP 429`) or, for a stream that failed after it started, its error
event's type (`stream overloaded_error`). The panel's own routes (`/panel...`) are left out, so
watching the panel does not move what it shows.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

Buckets = Sequence[tuple[float, float]]
"""(upper bound, cumulative count) pairs, ascending, ending with +Inf."""

QUANTILES = (0.5, 0.95, 0.99)
SMOOTHING = 10.0
"""Seconds of streams behind each point of the TTFT chart."""
_PANEL_PREFIX = "/panel"


@dataclass(slots=True)
class Snapshot:
    """The panel's metrics at one moment (cumulative since the proxy started)."""

    taken: float
    requests: dict[tuple[str, str], float] = field(default_factory=dict)  # (route, status)
    in_flight: dict[str, float] = field(default_factory=dict)  # route
    e2e: dict[str, dict[float, float]] = field(default_factory=dict)  # route -> le -> count
    ttft: dict[str, dict[float, float]] = field(default_factory=dict)
    attempts: dict[tuple[str, str], float] = field(default_factory=dict)  # (credential, outcome)
    rate_limited: dict[str, float] = field(default_factory=dict)  # credential
    capacity: dict[str, float] = field(default_factory=dict)
    stream_errors: dict[tuple[str, str], float] = field(default_factory=dict)  # (route, type)


def take_snapshot(registry: CollectorRegistry, now: float) -> Snapshot:
    """Read the registry once (histograms summed over models)."""
    snap = Snapshot(now)
    for family in registry.collect():
        for sample in family.samples:
            labels, value = sample.labels, sample.value
            if labels.get("route", "").startswith(_PANEL_PREFIX):
                continue
            match sample.name:
                case "compatkit_requests_total":
                    _add(snap.requests, (labels["route"], labels["status"]), value)
                case "compatkit_in_flight_requests":
                    _add(snap.in_flight, labels["route"], value)
                case "compatkit_e2e_seconds_bucket":
                    _add(snap.e2e.setdefault(labels["route"], {}), float(labels["le"]), value)
                case "compatkit_ttft_seconds_bucket":
                    _add(snap.ttft.setdefault(labels["route"], {}), float(labels["le"]), value)
                case "compatkit_upstream_attempts_total":
                    _add(snap.attempts, (labels["credential"], labels["outcome"]), value)
                case "compatkit_upstream_429_total":
                    _add(snap.rate_limited, labels["credential"], value)
                case "compatkit_upstream_capacity_errors_total":
                    _add(snap.capacity, labels["credential"], value)
                case "compatkit_stream_errors_total":
                    _add(snap.stream_errors, (labels["route"], labels["error_type"]), value)
    return snap


def _add(table: dict[Any, float], key: Any, value: float) -> None:
    table[key] = table.get(key, 0.0) + value


def histogram_quantile(q: float, buckets: Buckets) -> float | None:
    """The q-quantile by linear interpolation inside its bucket, as Prometheus estimates it;
    None with no observations. An answer in the +Inf bucket is the highest finite bound."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower_bound
            if count == lower_count:
                return upper
            return lower_bound + (upper - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = upper, count
    return lower_bound


def _bucket_delta(
    new: dict[float, float], old: dict[float, float] | None
) -> list[tuple[float, float]]:
    old = old or {}
    return sorted((le, count - old.get(le, 0.0)) for le, count in new.items())


class MetricsHistory:
    """The snapshots of the last `keep` seconds, and the JSON document the page draws."""

    def __init__(self, keep: float = 600.0) -> None:
        self._keep = keep
        self._snapshots: deque[Snapshot] = deque()

    def record(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` (replacing the newest if that is under a second old)."""
        if self._snapshots and snapshot.taken - self._snapshots[-1].taken < 1.0:
            self._snapshots[-1] = snapshot
        else:
            self._snapshots.append(snapshot)
        while self._snapshots and snapshot.taken - self._snapshots[0].taken > self._keep:
            self._snapshots.popleft()

    def document(self, window: float = 60.0) -> dict[str, Any]:
        """Totals, per-route and per-credential tables, and the request-rate series."""
        if not self._snapshots:
            return {
                "taken": None,
                "window_s": 0.0,
                "totals": {},
                "routes": [],
                "credentials": [],
                "series": self._series(),
            }
        newest = self._snapshots[-1]
        older = self._older_than(newest.taken - window)
        span = newest.taken - older.taken if older is not None else 0.0
        return {
            "taken": newest.taken,
            "window_s": round(span, 1),
            "totals": _totals(newest, older, span),
            "routes": _routes(newest, older, span),
            "credentials": _credentials(newest),
            "series": self._series(),
        }

    def _older_than(self, moment: float) -> Snapshot | None:
        chosen = None
        for snapshot in self._snapshots:
            if snapshot is self._snapshots[-1]:
                break
            if chosen is None or snapshot.taken <= moment:
                chosen = snapshot
        return chosen

    def _series(self) -> dict[str, Any]:
        """The charts: one value per snapshot after the first (None: nothing to measure)."""
        snapshots = list(self._snapshots)
        times: list[float] = []
        rates: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, list[float]] = {}
        ttft: dict[str, list[float | None]] = {"p50": [], "p95": []}
        start = 0
        for i in range(1, len(snapshots)):
            before, after = snapshots[i - 1], snapshots[i]
            span = after.taken - before.taken
            times.append(round(after.taken, 3))
            for name, table in _RATE_TABLES.items():
                rates[name].append(_per_second(table(after), table(before), span))
            previous = _error_counts(before)
            for kind, value in _error_counts(after).items():
                line = errors.setdefault(kind, [0.0] * (len(times) - 1))
                line.append(_per_second(value, previous.get(kind, 0.0), span))
            for line in errors.values():
                if len(line) < len(times):
                    line.append(0.0)
            while snapshots[start + 1].taken <= after.taken - SMOOTHING:
                start += 1
            buckets = _summed(after.ttft, snapshots[start].ttft)
            for q, name in ((0.5, "p50"), (0.95, "p95")):
                value = histogram_quantile(q, buckets)
                ttft[name].append(None if value is None else round(value * 1000, 2))
        return {
            "t": times,
            **rates,
            "ttft_p50_ms": ttft["p50"],
            "ttft_p95_ms": ttft["p95"],
            "errors_per_s": {kind: line for kind, line in sorted(errors.items()) if any(line)},
        }


_RATE_TABLES = {
    "requests_per_s": lambda s: sum(s.requests.values()),
    "upstream_429_per_s": lambda s: sum(s.rate_limited.values()),
    "upstream_capacity_per_s": lambda s: sum(s.capacity.values()),
}


def _per_second(new: float, old: float, span: float) -> float:
    return round(max(new - old, 0.0) / span, 3) if span > 0 else 0.0


def _error_counts(snapshot: Snapshot) -> dict[str, float]:
    """Error responses by type: `HTTP <status>` and `stream <error type>`."""
    counts: dict[str, float] = {}
    for (_, status), value in snapshot.requests.items():
        if _is_error(status):
            _add(counts, f"HTTP {status}", value)
    for (_, error_type), value in snapshot.stream_errors.items():
        _add(counts, f"stream {error_type}", value)
    return counts


def _summed(
    new: dict[str, dict[float, float]], old: dict[str, dict[float, float]]
) -> list[tuple[float, float]]:
    """The histogram of every route together, `new` minus `old`."""
    total: dict[float, float] = {}
    for route, buckets in new.items():
        for le, count in _bucket_delta(buckets, old.get(route)):
            _add(total, le, count)
    return sorted(total.items())


def _is_error(status: str) -> bool:
    return status.isdigit() and int(status) >= 400


def _totals(newest: Snapshot, older: Snapshot | None, span: float) -> dict[str, Any]:
    requests = sum(newest.requests.values())
    errors = sum(v for (_, status), v in newest.requests.items() if _is_error(status))
    recent = requests - sum(older.requests.values()) if older is not None else 0.0
    return {
        "requests": requests,
        "errors": errors,
        "stream_errors": sum(newest.stream_errors.values()),
        "in_flight": sum(newest.in_flight.values()),
        "requests_per_s": round(recent / span, 3) if span > 0 else None,
        "upstream_429": sum(newest.rate_limited.values()),
        "upstream_capacity": sum(newest.capacity.values()),
    }


def _routes(newest: Snapshot, older: Snapshot | None, span: float) -> list[dict[str, Any]]:
    by_route: dict[str, dict[str, float]] = defaultdict(dict)
    for (route, status), value in newest.requests.items():
        by_route[route][status] = value
    rows = []
    for route in sorted(by_route):
        statuses = by_route[route]
        total = sum(statuses.values())
        before = sum(v for (r, _), v in older.requests.items() if r == route) if older else 0.0
        row: dict[str, Any] = {
            "route": route,
            "requests": total,
            "errors": sum(v for s, v in statuses.items() if _is_error(s)),
            "statuses": dict(sorted(statuses.items())),
            "stream_errors": sum(v for (r, _), v in newest.stream_errors.items() if r == route),
            "requests_per_s": round((total - before) / span, 3) if span > 0 else None,
        }
        row.update(
            _quantiles("e2e", newest.e2e.get(route), older.e2e.get(route) if older else None)
        )
        row.update(
            _quantiles("ttft", newest.ttft.get(route), older.ttft.get(route) if older else None)
        )
        rows.append(row)
    return rows


def _quantiles(
    name: str, new: dict[float, float] | None, old: dict[float, float] | None
) -> dict[str, Any]:
    """p50/p95/p99 in ms over the window, or since start when the window saw none."""
    buckets = _bucket_delta(new, old) if new else []
    over = "window"
    if not buckets or buckets[-1][1] <= 0:
        buckets, over = (_bucket_delta(new, None) if new else []), "since start"
    out: dict[str, Any] = {f"{name}_over": over}
    for q in QUANTILES:
        value = histogram_quantile(q, buckets)
        out[f"{name}_p{round(q * 100)}_ms"] = None if value is None else round(value * 1000, 2)
    return out


def _credentials(newest: Snapshot) -> list[dict[str, Any]]:
    names: set[str] = (
        {c for c, _ in newest.attempts} | set(newest.rate_limited) | set(newest.capacity)
    )
    rows = []
    for credential in sorted(names):
        outcomes = {o: v for (c, o), v in newest.attempts.items() if c == credential}
        attempts = sum(outcomes.values())
        failed = attempts - outcomes.get("success", 0.0) - outcomes.get("cancelled", 0.0)
        rows.append(
            {
                "credential": credential,
                "attempts": attempts,
                "outcomes": dict(sorted(outcomes.items())),
                "errors": failed,
                "upstream_429": newest.rate_limited.get(credential, 0.0),
                "upstream_capacity": newest.capacity.get(credential, 0.0),
            }
        )
    return rows
