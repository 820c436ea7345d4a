"""The checks a case may name (`expect` / `should` in the case files), and how a case is judged.

Operations:
    CHECKS: {name: check}          every check; `check(run, argument)` raises a Violation on failure
    judge(run) -> [CheckResult]    run every check of the case; a crash of a check is a failure
                                   that says so, never a crash of the runner

Client side (oracle_client): status, no_5xx, error, message_contains, retry_after, request_id,
grammar, ids, complete, stream_error, stop_reason, sdk, reply, tool_input_valid, usage, signature,
count_tokens, models. Upstream side (oracle_upstream): upstream, attempts, content, fields, schema,
retry_delay, rotation, signature_roundtrip, client_key_hidden; session checks token_refresh,
setup_flow, project, api_key_header. `served_or_refused` is the two sides together: a request the
proxy may either serve or refuse must, if served, reach the upstream intact and be accepted, and
if refused, be a 400 in the envelope that never reached the upstream.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from conformance.checks.violation import Violation
from conformance.runner import oracle_client as client
from conformance.runner import oracle_upstream as up
from conformance.runner.case_run import CaseRun
from conformance.runner.results import CheckResult

Check = Callable[[CaseRun, Any], None]


def served_or_refused(run: CaseRun, _: Any) -> None:
    """Served (200, the upstream accepted it, nothing lost or invented) or refused (400
    invalid_request_error, the upstream never called); never a 5xx or an upstream refusal."""
    got = client.answered(run)
    if got == 200:
        up.upstream(run, "valid")
        up.content(run, None)
        return
    if got != 400:
        raise Violation(
            f"neither served (200) nor refused (400): {got}", expected=[200, 400], actual=got
        )
    client.error(run, "invalid_request_error")
    up.upstream(run, "none")


CHECKS: dict[str, Check] = {
    "status": client.status,
    "no_5xx": client.no_5xx,
    "error": client.error,
    "message_contains": client.message_contains,
    "retry_after": client.retry_after,
    "request_id": client.request_id,
    "grammar": client.grammar,
    "ids": client.ids,
    "complete": client.complete,
    "stream_error": client.stream_error,
    "stop_reason": client.stop_reason,
    "sdk": client.sdk,
    "reply": client.reply,
    "tool_input_valid": client.tool_input_valid,
    "usage": client.usage,
    "signature": client.signature,
    "count_tokens": client.count_tokens,
    "models": client.models,
    "upstream": up.upstream,
    "attempts": up.attempts,
    "content": up.content,
    "fields": up.fields,
    "schema": up.schema,
    "retry_delay": up.retry_delay,
    "rotation": up.rotation,
    "signature_roundtrip": up.signature_roundtrip,
    "client_key_hidden": up.client_key_hidden,
    "token_refresh": up.token_refresh,
    "setup_flow": up.setup_flow,
    "project": up.project,
    "api_key_header": up.api_key_header,
    "served_or_refused": served_or_refused,
}


def describe(name: str) -> str:
    """The first paragraph of a check's docstring: what it asks of the proxy."""
    doc = CHECKS[name].__doc__ or ""
    return " ".join(doc.split("\n\n")[0].split())


def judge(run: CaseRun) -> list[CheckResult]:
    """Every check of the case, in order; one failing never stops the others."""
    results = []
    for name, argument, level in run.case.checks():
        try:
            CHECKS[name](run, argument)
        except Violation as violation:
            results.append(
                CheckResult(
                    name,
                    level,
                    argument,
                    False,
                    str(violation),
                    violation.expected,
                    violation.actual,
                    violation.has_diff,
                )
            )
        except Exception as exc:  # a check that crashes on a strange answer fails, visibly
            detail = "".join(traceback.format_exception_only(exc)).strip()
            results.append(
                CheckResult(
                    name, level, argument, False, f"the check could not read the answer: {detail}"
                )
            )
        else:
            results.append(CheckResult(name, level, argument, True, ""))
    return results
