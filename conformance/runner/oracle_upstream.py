"""Checks of what the upstream got: the emulator's strict verdicts and records.

Each check is `check(run: CaseRun, argument) -> None` and raises a Violation when the proxy's
upstream traffic breaks its rule; oracle.CHECKS names them for the case files. Session checks judge
every record of the run so far (Code Assist setup, token refresh), not one case's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from conformance.checks.content import (
    anthropic_content,
    content_problems,
    describe,
    gemini_content,
    openai_content,
)
from conformance.checks.reply import gemini_reply
from conformance.checks.violation import Violation, require
from conformance.emulator.codeassist import free_tier_project
from conformance.runner.case_run import (
    REFUSED_VERDICTS,
    CaseRun,
    inner_request,
    is_count,
    is_generate,
)
from conformance.runner.upstream import API_KEYS, REFRESH_TOKENS, credential_id, oauth_identity

_DURATION = re.compile(r"([0-9.]+)s")
_CLIENT_KEY_HEADERS = ("x-api-key", "anthropic-version", "anthropic-beta")


def _refusal(record: Mapping[str, Any]) -> str:
    body = (record.get("reply") or {}).get("body")
    if isinstance(body, list) and body:
        body = body[0]
    message = (body or {}).get("error", {}).get("message", "") if isinstance(body, dict) else ""
    return f"{record.get('verdict')} ({record.get('status')}): {message}".strip()


def upstream(run: CaseRun, mode: Any) -> None:
    """ "valid": the upstream was called and accepted every call (Google's strict checks, the
    emulator's verdicts); "none": the proxy answered without calling it; "count_valid": the same
    as valid for countTokens calls."""
    if mode == "none":
        reached = [r["path"] for r in run.records if is_generate(r) or is_count(r)]
        require(not reached, "the proxy called the upstream for a request it must refuse", reached)
        return
    calls = run.counts() if mode == "count_valid" else run.calls()
    require(calls, "the upstream was never called")
    refused = [_refusal(c) for c in calls if c.get("verdict") in REFUSED_VERDICTS]
    if refused:
        raise Violation("the upstream refused what the proxy sent: " + " | ".join(refused))


def attempts(run: CaseRun, expected: Any) -> None:
    """The number of upstream generate calls for the (final) request: a count or [min, max]."""
    count = len(run.calls(run.final))
    low, high = (expected, expected) if isinstance(expected, int) else expected
    require(low <= count <= high, f"{count} upstream attempts, expected {expected}")


def content(run: CaseRun, _: Any) -> None:
    """Nothing the client sent was lost or invented on the way up (checks.content)."""
    request = run.final.request.json()
    require(isinstance(request, dict), "the client request is JSON")
    calls = run.counts() if run.case.route == "count_tokens" else run.calls(run.final)
    sent = [c for c in calls if c.get("verdict") not in REFUSED_VERDICTS] or calls
    require(sent, "the upstream was called")
    upstream_request = _generate_request(sent[-1])
    client = openai_content(request) if run.case.route == "chat" else anthropic_content(request)
    found = gemini_content(upstream_request)
    problems = content_problems(client, found)
    if problems:
        raise Violation("; ".join(problems), expected=describe(client), actual=describe(found))


def _generate_request(record: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = inner_request(record)
    nested = inner.get("generateContentRequest") or inner.get("generate_content_request")
    return nested if isinstance(nested, Mapping) else inner


def fields(run: CaseRun, expected: Mapping[str, Any]) -> None:
    """Fields of the upstream request (dotted paths, camelCase; "$absent" for none) are as given."""
    calls = run.counts() if run.case.route == "count_tokens" else run.calls(run.final)
    require(calls, "the upstream was called")
    request = _generate_request(calls[-1])
    for path, value in expected.items():
        found = _at(request, path)
        wanted = None if value == "$absent" else value
        if found != wanted:
            raise Violation(
                f"upstream {path} is {found!r}, expected {wanted!r}",
                expected={path: wanted},
                actual={path: found},
            )


def _at(document: Any, path: str) -> Any:
    for segment in path.split("."):
        if isinstance(document, list) and segment.isdigit():
            index = int(segment)
            document = document[index] if index < len(document) else None
        elif isinstance(document, Mapping):
            snake = re.sub(r"([A-Z])", r"_\1", segment).lower()
            document = document.get(segment, document.get(snake))
        else:
            return None
    return document


def schema(run: CaseRun, depth: Any) -> None:
    """Each client tool reaches the upstream as a declaration of the same name whose schema keeps
    the property names and required lists ("top": the input object; "deep": every level)."""
    request = run.final.request.json() or {}
    calls = run.calls(run.final)
    require(calls, "the upstream was called")
    declared = declared_schemas(calls[-1])
    for tool in request.get("tools") or []:
        if run.case.route == "chat":
            name, client_schema = tool["function"]["name"], tool["function"].get("parameters")
        else:
            name, client_schema = tool.get("name"), tool.get("input_schema")
        require(name in declared, "the tool is declared upstream under its name", name)
        problems = _schema_differences(
            _resolved(client_schema or {}, client_schema or {}),
            _resolved(declared[name] or {}, declared[name] or {}),
            name,
            deep=depth == "deep",
        )
        if problems:
            raise Violation("; ".join(problems))


def _resolved(node: Any, root: Mapping[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """`node` with local `$ref`s (`#/$defs/...`, `#/definitions/...`) followed and `allOf` branches
    merged; a `$ref` met again below itself (a recursive schema) is left as it is."""
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        target: Any = root
        for segment in ref[2:].split("/"):
            target = target.get(segment) if isinstance(target, Mapping) else None
        if isinstance(target, Mapping):
            return _resolved(target, root, seen | {ref})
    result = {
        key: {k: _resolved(v, root, seen) for k, v in value.items()}
        if key == "properties" and isinstance(value, Mapping)
        else _resolved(value, root, seen)
        for key, value in node.items()
    }
    for branch in node.get("allOf") or []:
        branch = _resolved(branch, root, seen)
        if isinstance(branch, Mapping):
            result["properties"] = {
                **(result.get("properties") or {}),
                **(branch.get("properties") or {}),
            }
            result["required"] = [*(result.get("required") or []), *(branch.get("required") or [])]
    return result


def declared_schemas(record: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of each function a call declared (`parameters` or `parametersJsonSchema`)."""
    declared: dict[str, Any] = {}
    for tool in inner_request(record).get("tools") or []:
        for declaration in (
            tool.get("functionDeclarations") or tool.get("function_declarations") or []
        ):
            schema = declaration.get("parameters")
            if schema is None:
                schema = declaration.get(
                    "parametersJsonSchema", declaration.get("parameters_json_schema")
                )
            declared[declaration.get("name")] = schema
    return declared


def _schema_differences(client: Any, upstream: Any, where: str, *, deep: bool) -> list[str]:
    if not isinstance(client, Mapping) or not isinstance(upstream, Mapping):
        return []
    if "$ref" in client or ("properties" not in client and ({"anyOf", "oneOf"} & set(client))):
        return []  # a recursion cut, or alternatives: no one set of properties to compare
    problems: list[str] = []
    mine = client.get("properties") if isinstance(client.get("properties"), Mapping) else {}
    theirs = upstream.get("properties") if isinstance(upstream.get("properties"), Mapping) else {}
    if set(mine) != set(theirs):
        problems.append(f"{where}: properties {sorted(mine)} became {sorted(theirs)}")
    required = set(client.get("required") or []) & set(mine)
    if required != set(upstream.get("required") or []) & set(theirs):
        problems.append(
            f"{where}: required {sorted(required)} became {sorted(upstream.get('required') or [])}"
        )
    if deep:
        for name in set(mine) & set(theirs):
            problems += _schema_differences(mine[name], theirs[name], f"{where}.{name}", deep=deep)
        if isinstance(client.get("items"), Mapping):
            problems += _schema_differences(
                client["items"], upstream.get("items"), f"{where}[]", deep=deep
            )
    return problems


def retry_delay(run: CaseRun, _: Any) -> None:
    """After a 429 carrying RetryInfo, the same credential is not tried again before the delay
    (Gemini, Code Assist); another credential may be tried at once."""
    calls = run.calls(run.final)
    require(len(calls) >= 1, "the upstream was called")
    for before, after in itertools.pairwise(calls):
        delay = _retry_delay(before)
        if delay is None or before.get("credential") != after.get("credential"):
            continue
        waited = float(after["time"]) - float(before["time"])
        require(
            waited >= delay * 0.95,
            f"retried the same credential after {waited:.2f} s, before RetryInfo's {delay} s",
        )


def _retry_delay(record: Mapping[str, Any]) -> float | None:
    body = (record.get("reply") or {}).get("body")
    if isinstance(body, list) and body:
        body = body[0]
    if record.get("status") != 429 or not isinstance(body, Mapping):
        return None
    for detail in (body.get("error") or {}).get("details") or []:
        if str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _DURATION.fullmatch(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def rotation(run: CaseRun, _: Any) -> None:
    """After a capacity error, the next attempt goes to another credential."""
    calls = run.calls(run.final)
    pairs = [
        (before, after)
        for before, after in itertools.pairwise(calls)
        if str(before.get("verdict")) in {"fault:capacity_429", "fault:capacity_503"}
    ]
    require(pairs, "the proxy retried after the capacity error", [c.get("verdict") for c in calls])
    for before, after in pairs:
        require(
            before.get("credential") != after.get("credential"),
            "the retry after a capacity error used the same credential",
        )


def signature_roundtrip(run: CaseRun, _: Any) -> None:
    """Every thoughtSignature of the first reply comes back, unchanged, in the follow-up's
    request (Gemini: "pass it back exactly as received")."""
    require(len(run.exchanges) == 2, "the case has a follow-up")
    served = run.served(run.first)
    require(served is not None and served.get("reply"), "the upstream served the first reply")
    assert served is not None
    signatures = gemini_reply(served["reply"]).signatures
    require(signatures, "the upstream signed its first reply")
    calls = run.calls(run.final)
    require(calls, "the follow-up reached the upstream")
    returned = [
        part.get("thoughtSignature") or part.get("thought_signature")
        for turn in inner_request(calls[-1]).get("contents") or []
        if turn.get("role") == "model"
        for part in turn.get("parts") or []
    ]
    missing = [s for s in signatures if s not in returned]
    if missing:
        raise Violation(
            f"{len(missing)} of {len(signatures)} thought signatures did not come back",
            expected=signatures,
            actual=[s for s in returned if s],
        )


def client_key_hidden(run: CaseRun, _: Any) -> None:
    """The client's key and Anthropic headers stay at the proxy: the upstream sees only the
    proxy's own credentials (a configured API key or an issued OAuth token)."""
    allowed = {"key:" + credential_id(k) for k in API_KEYS}
    allowed |= {oauth_identity(t) for t in REFRESH_TOKENS}
    calls = run.calls()
    require(calls, "the upstream was called")
    for record in calls:
        leaked = [h for h in _CLIENT_KEY_HEADERS if h in (record.get("headers") or {})]
        require(not leaked, "client headers reached the upstream", leaked)
        require(
            record.get("credential") in allowed,
            "the upstream call used a credential of the run",
            record.get("credential"),
        )


# --- session checks: every record of the run so far -------------------------------------------------


def _first_generate_index(run: CaseRun) -> int:
    for index, record in enumerate(run.session):
        if is_generate(record):
            return index
    raise Violation("no generate call in the run yet")


def token_refresh(run: CaseRun, _: Any) -> None:
    """Code Assist: the expired access tokens were refreshed at the token endpoint (refresh grant)
    before the first call, and calls carry the issued tokens."""
    first = _first_generate_index(run)
    refreshes = [
        r for r in run.session[:first] if r.get("surface") == "oauth" and r.get("status") == 200
    ]
    require(refreshes, "no successful token refresh before the first call")
    grants = {str((r.get("body") or {}).get("grant_type")) for r in refreshes}
    require(
        grants == {"refresh_token"}, "refreshes use the refresh_token grant (Code Assist)", grants
    )
    identities = {oauth_identity(t) for t in REFRESH_TOKENS}
    calls = [r for r in run.session if is_generate(r)]
    stray = sorted({str(c.get("credential")) for c in calls} - identities)
    require(not stray, "every call carries a token the emulator issued", stray)


def setup_flow(run: CaseRun, _: Any) -> None:
    """Code Assist: loadCodeAssist, then onboardUser (free tier: no project) and the operation
    polled until done, before the credential's first call (C, gemini-cli setup.ts)."""
    first = _first_generate_index(run)
    before = [str(r.get("path", "")) for r in run.session[:first]]
    require(
        any(p.endswith(":loadCodeAssist") for p in before),
        "loadCodeAssist before the first call",
        before,
    )
    onboards = [r for r in run.session[:first] if str(r.get("path", "")).endswith(":onboardUser")]
    require(
        onboards, "onboardUser before the first call (the credential was not onboarded)", before
    )
    for record in onboards:
        body = record.get("body") or {}
        if body.get("tierId") == "free-tier":
            require(
                not body.get("cloudaicompanionProject"),
                "free tier onboards without a project (Code Assist)",
                body,
            )
        require(record.get("status") == 200, "onboardUser accepted", _refusal(record))
    polls = [r for r in run.session[:first] if "/v1internal/operations/" in str(r.get("path"))]
    require(polls, "the onboarding operation was polled until done (Code Assist)", before)


def project(run: CaseRun, _: Any) -> None:
    """Code Assist: every call's envelope names the onboarded project, the model without a
    `models/` prefix, and wraps the request (Code Assist)."""
    asked = {
        str(r["body"].get("cloudaicompanionProject"))
        for r in run.session
        if str(r.get("path", "")).endswith(":onboardUser") and isinstance(r.get("body"), Mapping)
    }
    calls = [r for r in run.session if is_generate(r) and r.get("surface") == "code_assist"]
    require(calls, "Code Assist calls in the run")
    for record in calls:
        body = record.get("body") or {}
        handed = asked | {free_tier_project(str(record.get("credential")))}
        require(
            body.get("project") in handed,
            "the envelope names the onboarded project",
            body.get("project"),
        )
        require(
            not str(body.get("model", "")).startswith("models/"),
            "model without models/",
            body.get("model"),
        )
        require(isinstance(body.get("request"), Mapping), "the request is wrapped", list(body))


def api_key_header(run: CaseRun, _: Any) -> None:
    """Gemini API: the key goes in `x-goog-api-key`, not in the URL (Gemini; a URL is logged)."""
    calls = [r for r in run.session if is_generate(r) and r.get("surface") == "gemini"]
    require(calls, "Gemini API calls in the run")
    in_url = [r["path"] for r in calls if "key" in (r.get("query") or {})]
    require(not in_url, "the API key travelled in the URL", in_url[:3])
