"""Checks of what the client got: status, headers, envelopes, grammar, the SDKs, the reply.

Each check is `check(run: CaseRun, argument) -> None` and raises a Violation when the answer breaks
its rule; oracle.CHECKS names them for the case files.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from conformance.checks import envelopes
from conformance.checks.anthropic_stream import check_anthropic_stream
from conformance.checks.gemini_schema import to_json_schema
from conformance.checks.openai_stream import check_openai_stream
from conformance.checks.reply import (
    anthropic_reply,
    gemini_reply,
    openai_reply,
    reply_problems,
)
from conformance.checks.sse import parse_sse
from conformance.checks.violation import Violation, require
from conformance.runner.case_run import CaseRun
from conformance.runner.oracle_upstream import declared_schemas

# The Python SDK's exception class by status (429 RateLimitError, 529 OverloadedError ...),
# per docs/reference/anthropic.md#errors.
ANTHROPIC_ERROR_CLASSES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    413: "RequestTooLargeError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    529: "OverloadedError",
}
OPENAI_ERROR_CLASSES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


# openai's stream helper raises these for a length or content_filter finish
# (OpenAI streaming): read, not refused.
FINISH_REASON_ERRORS = {"LengthFinishReasonError", "ContentFilterFinishReasonError"}


def answered(run: CaseRun) -> int:
    """The final status; a Violation if the proxy gave no HTTP answer at all."""
    exchange = run.final
    if exchange.status is None:
        raise Violation(f"no HTTP answer: {exchange.failure}")
    return exchange.status


def status(run: CaseRun, expected: Any) -> None:
    """The HTTP status is `expected` (a status or a list of acceptable ones)."""
    got = answered(run)
    allowed = expected if isinstance(expected, list) else [expected]
    if got not in allowed:
        body = run.final.body[:300].decode("utf-8", "replace")
        raise Violation(f"status {got}, expected {allowed}: {body}", expected=allowed, actual=got)


def no_5xx(run: CaseRun, _: Any) -> None:
    """A client's bad input is a 4xx, never a 5xx or no answer (the brief's hostile-input rule)."""
    got = answered(run)
    require(got < 500, f"a 5xx ({got}) for the client's input", run.final.body[:300])


def error(run: CaseRun, expected: Any) -> None:
    """The body is the route's error envelope (Anthropic errors or OpenAI errors) with error type
    `expected` ("any": any type that fits the status), in strict UTF-8 JSON."""
    got = answered(run)
    require(got >= 400, "an error status", got)
    exchange = run.final
    require(
        exchange.headers.get("content-type", "").startswith("application/json"),
        "an error body is application/json",
        exchange.headers.get("content-type"),
    )
    try:
        exchange.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Violation(f"the error body is not UTF-8: {exc}") from None
    body = exchange.json()
    if run.case.route == "chat":
        found = envelopes.openai_error(body)
    else:
        found = envelopes.anthropic_error(got, body)
    allowed = expected if isinstance(expected, list) else [expected]
    if "any" not in allowed and found.get("type") not in allowed:
        raise Violation(
            f"error type {found.get('type')!r}, expected {allowed}",
            expected=allowed,
            actual=found.get("type"),
        )


def message_contains(run: CaseRun, text: str) -> None:
    """The error message carries `text` (e.g. the upstream's own explanation)."""
    body = run.final.json() or {}
    message = str((body.get("error") or {}).get("message", ""))
    require(text in message, f"the error message does not say {text!r}", message)


def retry_after(run: CaseRun, at_least: Any) -> None:
    """A `retry-after` header with a number of seconds (at least `at_least` if it is a number)."""
    value = run.final.headers.get("retry-after")
    require(value is not None, "retry-after is present (Anthropic headers)")
    try:
        seconds = float(str(value))
    except ValueError:
        raise Violation(f"retry-after is not a number of seconds: {value!r}") from None
    require(seconds >= 0, "retry-after is not negative", value)
    if isinstance(at_least, int | float) and not isinstance(at_least, bool):
        require(seconds >= at_least, f"retry-after is at least {at_least} s", value)


def request_id(run: CaseRun, _: Any) -> None:
    """The answer carries a `request-id` header (Anthropic headers, checklist)."""
    require(run.final.headers.get("request-id"), "a request-id header (Anthropic headers)")


def grammar(run: CaseRun, _: Any) -> None:
    """The answer follows the route's grammar: Anthropic events (checklist) or a Message; OpenAI
    chunks (OpenAI streaming) or a ChatCompletion. (Id prefixes are the `ids` check's.)"""
    _judge_shape(run, ids=False)


def ids(run: CaseRun, _: Any) -> None:
    """Ids look like Anthropic's: `msg_...` for the message, `toolu_...` for tool uses (message
    object; the reference notes their format may change, and no SDK relies on it: a SHOULD)."""
    _judge_shape(run, ids=True)


def _judge_shape(run: CaseRun, *, ids: bool) -> None:
    require(answered(run) == 200, "a 200 answer to judge", run.final.status)
    exchange = run.final
    if run.case.stream:
        require(
            exchange.is_sse, "a stream is text/event-stream", exchange.headers.get("content-type")
        )
        if run.case.route == "chat":
            check_openai_stream(exchange.body)
        else:
            check_anthropic_stream(exchange.body, ids=ids)
        return
    if run.case.route == "chat":
        envelopes.openai_completion(exchange.json())
    else:
        envelopes.anthropic_message(exchange.json(), ids=ids)


def complete(run: CaseRun, _: Any) -> None:
    """The reply is whole: a stream ends with message_stop (or [DONE]), not an error."""
    require(answered(run) == 200, "a 200 answer", run.final.status)
    if not run.case.stream:
        return
    names = [e.event for e in parse_sse(run.final.body)]
    datas = [e.data for e in parse_sse(run.final.body)]
    if run.case.route == "chat":
        require(datas and datas[-1] == "[DONE]", "the stream ends with data: [DONE]", datas[-1:])
    else:
        require(
            names and names[-1] == "message_stop", "the stream ends with message_stop", names[-3:]
        )


def stream_error(run: CaseRun, expected: Any) -> None:
    """The stream ends with an error (Anthropic `event: error`, OpenAI an error chunk) of type
    `expected` ("any" for any), after no stop reason: no fake end_turn (stream grammar,
    checklist)."""
    require(answered(run) == 200, "the stream started (200)", run.final.status)
    events = parse_sse(run.final.body)
    require(events, "the stream has events")
    last = events[-1]
    if run.case.route == "chat":
        chunk = last.json()
        require(
            isinstance(chunk, dict) and chunk.get("error"), "the last chunk is an error", last.data
        )
        found = (chunk["error"] or {}).get("type")
        finishes = [
            c.get("finish_reason")
            for e in events[:-1]
            for c in ((e.json() or {}).get("choices") or [])
            if isinstance(e.json(), dict)
        ]
        require(not any(finishes), "no finish_reason before the error (no fake stop)", finishes)
    else:
        require(last.event == "error", "the last event is error (stream grammar)", last.event)
        found = ((last.json() or {}).get("error") or {}).get("type")
        stops = [e.event for e in events if e.event in {"message_delta", "message_stop"}]
        require(not stops, "no message_delta or message_stop: no fake end_turn (checklist)", stops)
    allowed = expected if isinstance(expected, list) else [expected]
    if "any" not in allowed:
        require(found in allowed, f"the error type is one of {allowed}", found)


def stop_reason(run: CaseRun, expected: Any) -> None:
    """The reply's stop reason (Anthropic) or finish_reason (OpenAI) is `expected` (or one of)."""
    if run.case.route == "chat":
        completion = run.client_completion() or {}
        got = ((completion.get("choices") or [{}])[0]).get("finish_reason")
    else:
        got = (run.client_message() or {}).get("stop_reason")
    allowed = expected if isinstance(expected, list) else [expected]
    if got not in allowed:
        raise Violation(f"stop reason {got!r}, expected {allowed}", expected=allowed, actual=got)


def sdk(run: CaseRun, _: Any) -> None:
    """The official SDK takes the answer as a client would: a 200 stream accumulates
    (`get_final_message()` / `get_final_completion()`) to what the events say, a 200 body parses,
    an error status raises an APIStatusError of that status (of the class the Anthropic and OpenAI
    error tables name for it), an error in a stream raises the SDK's stream error."""
    got = answered(run)
    view = run.sdk()
    classes = OPENAI_ERROR_CLASSES if run.case.route == "chat" else ANTHROPIC_ERROR_CLASSES
    if got >= 400:
        require(
            view.status_code == got,
            f"the SDK raises an API error of status {got}",
            view.error_class,
        )
        expected = classes.get(got)
        if expected is not None:
            require(view.error_class == expected, f"the SDK raises {expected}", view.error_class)
        return
    if _ends_in_error(run):
        require(
            view.error_class in {"APIStatusError", "APIError"},
            "the SDK raises the stream's error (SDK rule 2, OpenAI streaming)",
            view.error_class,
        )
        return
    if view.error_class in FINISH_REASON_ERRORS and run.case.route == "chat":
        return  # the openai helper refuses to parse a length / content_filter finish: its rule
    if view.raised:
        raise Violation(f"the SDK refused the answer: {view.error_class}: {view.error}")
    if run.case.route in {"messages", "chat"}:
        _sdk_agrees(run, view.value)


def _ends_in_error(run: CaseRun) -> bool:
    events = parse_sse(run.final.body) if run.final.is_sse else []
    if not events:
        return False
    data = events[-1].json()
    return events[-1].event == "error" or (isinstance(data, dict) and bool(data.get("error")))


def _sdk_agrees(run: CaseRun, value: Any) -> None:
    """The SDK's accumulation holds what the events carry (it silently drops mismatched deltas)."""
    if run.case.route == "chat":
        ours, theirs = openai_reply(run.client_completion() or {}), openai_reply(value or {})
    else:
        ours, theirs = anthropic_reply(run.client_message() or {}), anthropic_reply(value or {})
    problems = reply_problems(ours, theirs)
    require(not problems, "the SDK's accumulation differs from the events", problems)


def reply(run: CaseRun, mode: Any) -> None:
    """The client got what the upstream sent: "exact" (text, thinking, tool calls, in order) or
    "prefix" (a reply cut by an upstream failure: what came is what was sent before it, once)."""
    served = run.served()
    if mode == "prefix":
        calls = run.calls(run.final)
        require(calls, "the upstream was called")
        served = calls[0] if served is None else served
    require(served is not None and served.get("reply"), "the upstream served a reply")
    assert served is not None
    upstream = gemini_reply(served["reply"], served.get("fault"))
    if run.case.route == "chat":
        client = openai_reply(run.client_completion() or {})
    else:
        client = anthropic_reply(run.client_message() or {})
    problems = reply_problems(
        upstream, client, complete=mode != "prefix", thinking=run.case.route != "chat"
    )
    if problems:
        raise Violation(
            "; ".join(problems),
            expected=_reply_lines(upstream),
            actual=_reply_lines(client),
        )


def _reply_lines(value: Any) -> list[str]:
    lines = [f"text: {value.text!r}"]
    if value.thinking:
        lines.append(f"thinking: {value.thinking!r}")
    lines += [f"tool call: {name} {args}" for name, args in value.calls]
    return lines


def tool_input_valid(run: CaseRun, _: Any) -> None:
    """Every tool call's input validates against the schema the client declared for the tool,
    whenever it validates against the schema the upstream was given: a constraint lost between
    the two (an integer enum, multipleOf, a map's value type) shows here. (Arguments the
    emulator made that miss the upstream's own schema judge nothing.)"""
    request = run.final.request.json() or {}
    client_schemas = {}
    for tool in request.get("tools") or []:
        if run.case.route == "chat":
            function = tool.get("function") or {}
            client_schemas[function.get("name")] = function.get("parameters") or {}
        else:
            client_schemas[tool.get("name")] = tool.get("input_schema") or {}
    served = run.served()
    upstream_schemas = declared_schemas(served) if served else {}
    client = (
        openai_reply(run.client_completion() or {})
        if run.case.route == "chat"
        else anthropic_reply(run.client_message() or {})
    )
    require(client.calls, "the reply has tool calls")
    for name, arguments in client.calls:
        require(name in client_schemas, "the call names a declared tool", name)
        value = json.loads(arguments)
        problem = _validation_problem(value, client_schemas[name])
        if problem is None or _validation_problem(
            value, _as_json_schema(upstream_schemas.get(name))
        ):
            continue
        raise Violation(f"{name}: a constraint was lost on the way up: {problem}")


def _validation_problem(value: Any, schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return None
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        return exc.message
    except jsonschema.SchemaError:
        return None
    return None


def _as_json_schema(schema: Any) -> Any:
    """A Gemini `Schema` (upper-case types) as JSON Schema; a JSON Schema as it is."""
    if isinstance(schema, dict) and str(schema.get("type", "")).isupper():
        try:
            return to_json_schema(schema)
        except (AttributeError, KeyError, TypeError):
            return None
    return schema


def usage(run: CaseRun, _: Any) -> None:
    """Token counts match the upstream's usageMetadata: input = promptTokenCount (minus cached),
    output = candidatesTokenCount + thoughtsTokenCount (Gemini)."""
    served = run.served()
    require(served is not None and served.get("reply"), "the upstream served a reply")
    assert served is not None
    meta = gemini_reply(served["reply"]).usage or {}
    prompt = int(meta.get("promptTokenCount", 0)) - int(meta.get("cachedContentTokenCount", 0))
    output = int(meta.get("candidatesTokenCount", 0)) + int(meta.get("thoughtsTokenCount", 0))
    if run.case.route == "chat":
        found = (run.client_completion() or {}).get("usage") or {}
        got = (found.get("prompt_tokens"), found.get("completion_tokens"))
    else:
        found = (run.client_message() or {}).get("usage") or {}
        got = (found.get("input_tokens"), found.get("output_tokens"))
    if got != (prompt, output):
        raise Violation(
            f"usage (input, output) is {got}, the upstream counted {(prompt, output)}",
            expected=[prompt, output],
            actual=list(got),
        )


def signature(run: CaseRun, _: Any) -> None:
    """When the upstream signed its reply (thoughtSignature), the client's thinking blocks carry a
    non-empty signature to send back (checklist)."""
    served = run.served(run.first)
    require(served is not None and served.get("reply"), "the upstream served a reply")
    assert served is not None
    require(gemini_reply(served["reply"]).signatures, "the upstream signed its reply")
    message = run.client_message(run.first) or {}
    thinking = [b for b in message.get("content") or [] if b.get("type") == "thinking"]
    require(thinking, "the reply has a thinking block", message.get("content"))
    require(all(b.get("signature") for b in thinking), "every thinking block is signed", thinking)


def count_tokens(run: CaseRun, mode: Any) -> None:
    """`{"input_tokens": N}` (Anthropic headers), N the upstream's countTokens total when mode is
    "exact"."""
    require(answered(run) == 200, "a 200 answer", run.final.status)
    body = run.final.json()
    require(isinstance(body, dict) and type(body.get("input_tokens")) is int, "input_tokens", body)
    require(body["input_tokens"] >= 0, "input_tokens is not negative", body)
    if mode == "exact":
        counts = [r for r in run.counts() if r.get("status") == 200 and r.get("reply")]
        require(counts, "the upstream's countTokens was asked")
        total = (counts[-1]["reply"].get("body") or {}).get("totalTokens")
        require(body["input_tokens"] == total, f"input_tokens is the upstream's {total}", body)


def models(run: CaseRun, kind: Any) -> None:
    """`GET /v1/models` is a page of ModelInfo; `GET /v1/models/{id}` one ModelInfo (Anthropic
    headers)."""
    require(answered(run) == 200, "a 200 answer", run.final.status)
    body = run.final.json()
    if kind == "list":
        require(isinstance(body, dict) and isinstance(body.get("data"), list), "data list", body)
        require(isinstance(body.get("has_more"), bool), "has_more is a bool", body)
        for key in ("first_id", "last_id"):
            require(key in body, f"{key} is present", body)
        infos = body["data"]
    else:
        infos = [body]
    for info in infos:
        require(isinstance(info, dict) and info.get("type") == "model", "type is model", info)
        for key in ("id", "display_name", "created_at"):
            require(isinstance(info.get(key), str) and info[key], f"{key} is a string", info)
