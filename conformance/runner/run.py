"""Running cases: script the upstream, send the request, read both sides, judge, keep the evidence.

Operations:
    Runner(target, emulator, deadline_s=60, session_since=0)
    Runner.run_case(case) -> CaseResult       one case (a follow-up case: two exchanges)
    Runner.run(cases, progress=None) -> [CaseResult]
    Runner.exchange(request, label, scenario) -> Exchange   one request outside the catalogue
                                              (fuzz mode), with its upstream records
    evidence(exchange) -> dict                what a report shows of an exchange (bounded sizes)

Cases run one after another: the emulator's script (POST /_emulator/script) applies to every
upstream call until the next case, the proxy's retries included, and the records a case reads are
those numbered after the previous case's last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from conformance.checks.sse import parse_sse
from conformance.runner.case import Case
from conformance.runner.case_run import CaseRun
from conformance.runner.client import Exchange, SentRequest, Target, build_request, send
from conformance.runner.oracle import judge
from conformance.runner.results import CaseResult, Outcome, outcome_of
from conformance.runner.upstream import EmulatorLink

SHOWN_BODY_BYTES = 16_384
SHOWN_EVENTS = 200
REDACTED_KEY = "<proxy key>"


class Runner:
    """Runs cases against one proxy and one emulator, keeping the run's upstream records."""

    def __init__(
        self,
        target: Target,
        emulator: EmulatorLink,
        *,
        deadline_s: float = 60.0,
        session_since: int = 0,
    ) -> None:
        self.target = target
        self.emulator = emulator
        self.deadline_s = deadline_s
        self.session = emulator.records(session_since)
        self._cursor = int(self.session[-1]["seq"]) if self.session else session_since
        self._http = httpx.Client(timeout=httpx.Timeout(deadline_s, connect=5.0))

    def close(self) -> None:
        self._http.close()

    def run(
        self, cases: Sequence[Case], progress: Callable[[Case, CaseResult], None] | None = None
    ) -> list[CaseResult]:
        results = []
        for case in cases:
            result = self.run_case(case)
            results.append(result)
            if progress is not None:
                progress(case, result)
        return results

    def run_case(self, case: Case) -> CaseResult:
        started = time.monotonic()
        if case.needs_key and not self.target.key:
            return CaseResult(
                case,
                self.target.flavor,
                Outcome.SKIPPED,
                note="needs --proxy-key (the proxy's key)",
            )
        exchanges: list[Exchange] = []
        if case.route != "session":
            self.emulator.arm(case.id, case.scenario)
            exchanges.append(self.exchange(build_request(case, self.target)))
            if case.followup and exchanges[0].status == 200:
                exchanges.append(
                    self.exchange(build_request(case, self.target, previous=exchanges[0]))
                )
        else:
            self._read_records()
        run = CaseRun(case, self.target, exchanges, list(self.session))
        checks = judge(run)
        if case.settle_s:
            time.sleep(case.settle_s)
        return CaseResult(
            case,
            self.target.flavor,
            outcome_of(case.level, checks),
            checks,
            [evidence(e, self.target.key) for e in exchanges],
            time.monotonic() - started,
        )

    def exchange(
        self, request: SentRequest, label: str | None = None, scenario: dict[str, Any] | None = None
    ) -> Exchange:
        """Send one request (arming `scenario` first when given) and collect its records."""
        if label is not None:
            self.emulator.arm(label, scenario or {})
        exchange = send(self._http, self.target, request, self.deadline_s)
        exchange.records = self._read_records()
        return exchange

    def _read_records(self) -> list[dict[str, Any]]:
        records = self.emulator.records(self._cursor)
        if records:
            self._cursor = int(records[-1]["seq"])
            self.session.extend(records)
        return records


def evidence(exchange: Exchange, key: str | None) -> dict[str, Any]:
    """The exchange as a report shows it: request, answer, events, upstream calls (bounded)."""
    headers = dict(exchange.request.headers)
    for name in ("x-api-key", "authorization"):
        if name in headers:
            headers[name] = REDACTED_KEY if name == "x-api-key" else f"Bearer {REDACTED_KEY}"
    events = []
    if exchange.is_sse:
        events = [{"event": e.event, "data": e.data[:4000]} for e in parse_sse(exchange.body)]
    return {
        "request": {
            "method": exchange.request.method,
            "path": exchange.request.path,
            "headers": headers,
            "body": _shown(exchange.request.body),
            "body_bytes": len(exchange.request.body),
        },
        "response": {
            "status": exchange.status,
            "headers": exchange.headers,
            "body": _shown(exchange.body),
            "body_bytes": len(exchange.body),
            "failure": exchange.failure,
            "seconds": round(exchange.seconds, 4),
        },
        "events": events[:SHOWN_EVENTS],
        "events_total": len(events),
        "upstream": [_upstream_evidence(r) for r in exchange.records],
    }


def _upstream_evidence(record: dict[str, Any]) -> dict[str, Any]:
    keep = ("seq", "time", "method", "path", "surface", "credential", "model", "scenario")
    shown = {key: record.get(key) for key in keep}
    shown.update(
        verdict=record.get("verdict"),
        status=record.get("status"),
        headers=record.get("headers"),
        body=record.get("body"),
        reply=record.get("reply"),
        fault=record.get("fault"),
    )
    return shown


def _shown(body: bytes) -> str:
    text = body[:SHOWN_BODY_BYTES].decode("utf-8", "backslashreplace")
    if len(body) > SHOWN_BODY_BYTES:
        text += f"\n… ({len(body) - SHOWN_BODY_BYTES} more bytes)"
    return text
