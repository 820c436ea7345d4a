"""Mutation check of the conformance runner: our proxy with one injected defect at a time.

Operations:
    MUTANTS                       the defects, each with the cases that must flag it
    Relay(upstream_url)           an HTTP relay (a real server on 127.0.0.1) that applies the
                                  current mutant to what passes through it; `relay.mutant = m`
    mutation_bench(folder) -> ContextManager[Bench]   emulator, a relay behind our proxy
                                  (`compatkit serve` as a process), a relay in front of it
    Bench.flagged(mutant, cases) -> [case ids that flagged it]
    main()                        `python -m tests.conformance.mutation [--full]`: the figure,
                                  each mutant against its own cases (or against every case)

A front relay sits between the client and the proxy (it can change what the client gets or
sends); a behind relay between the proxy and the emulator (it can change what the upstream gets,
or play a proxy that retries on its own). Either way, seen from the runner it is the proxy that
is defective, as a proxy with that bug would be.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.emulator.serve import bind_socket, serve
from conformance.emulator.wire import DroppedConnection
from conformance.runner.case import Case
from conformance.runner.catalogue import load_catalogue, select
from conformance.runner.client import Target
from conformance.runner.results import Outcome
from conformance.runner.run import Runner
from conformance.runner.self_target import started_proxy
from conformance.runner.upstream import EmulatorLink, UpstreamSetup, started_emulator

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


@dataclass
class Message:
    """A request or an answer as the relay holds it: whole, buffered."""

    status: int
    headers: dict[str, str]
    body: bytes
    path: str = ""
    dropped: bool = False  # the upstream broke the connection mid-body
    crash: bool = False  # the relay answers 500, as a proxy that crashed on this request


Rewrite = Callable[[Message], Message]


@dataclass(frozen=True)
class Mutant:
    name: str
    side: str  # "front" or "behind"
    defect: str
    flagged_by: tuple[str, ...]
    request: Rewrite | None = None
    response: Rewrite | None = None
    retry_dropped_streams: bool = False  # behind: a proxy that retries after bytes went out
    retry_429_at_once: bool = False  # behind: a proxy that ignores RetryInfo


# --- rewriting helpers ------------------------------------------------------------------------------


def _events(body: bytes) -> list[tuple[str | None, str]]:
    events = []
    for frame in body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in frame.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if name or data:
            events.append((name, "\n".join(data)))
    return events


def _frames(events: list[tuple[str | None, str]]) -> bytes:
    return "".join(
        (f"event: {name}\n" if name else "") + f"data: {data}\n\n" for name, data in events
    ).encode()


def _sse(
    rewrite: Callable[[list[tuple[str | None, str]]], list[tuple[str | None, str]]],
) -> Rewrite:
    def apply(message: Message) -> Message:
        if not message.headers.get("content-type", "").startswith("text/event-stream"):
            return message
        message.body = _frames(rewrite(_events(message.body)))
        return message

    return apply


def _json_body(rewrite: Callable[[Any], Any], *, when: Callable[[Message], bool]) -> Rewrite:
    def apply(message: Message) -> Message:
        if when(message):
            try:
                document = json.loads(message.body)
            except ValueError:
                return message
            message.body = json.dumps(rewrite(document)).encode()
        return message

    return apply


def _is_json(message: Message) -> bool:
    return message.headers.get("content-type", "").startswith("application/json")


def _generate_call(message: Message) -> bool:
    return "GenerateContent" in message.path or ":generateContent" in message.path


def _inner(document: Any) -> Any:
    """The generateContent request inside a Code Assist envelope (or the body itself)."""
    return document.get("request", document) if isinstance(document, dict) else document


def _each_part(document: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    for turn in _inner(document).get("contents") or []:
        for part in turn.get("parts") or []:
            change(part)
    return document


def _walk_schemas(document: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    def visit(node: Any) -> None:
        if isinstance(node, dict):
            change(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for tool in _inner(document).get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            visit(declaration.get("parameters") or declaration.get("parametersJsonSchema"))
    return document


def _first(events: list[tuple[str | None, str]], kind: str) -> int | None:
    for index, (_, data) in enumerate(events):
        if f'"type":"{kind}"' in data.replace(" ", ""):
            return index
    return None


def _duplicate_first_text_delta(
    events: list[tuple[str | None, str]],
) -> list[tuple[str | None, str]]:
    index = _first(events, "text_delta")
    return events if index is None else [*events[: index + 1], events[index], *events[index + 1 :]]


def _without(kind: str) -> Callable[[list[tuple[str | None, str]]], list[tuple[str | None, str]]]:
    return lambda events: [e for e in events if f'"type":"{kind}"' not in e[1].replace(" ", "")]


def _fake_end_turn(events: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    if not events or events[-1][0] != "error":
        return events
    end = json.dumps(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 1},
        }
    )
    return [*events[:-1], ("message_delta", end), ("message_stop", '{"type":"message_stop"}')]


def _shift_indices(events: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    return [
        (n, re.sub(r'"index":(\d+)', lambda m: f'"index":{int(m.group(1)) + 1}', d))
        for n, d in events
    ]


def _no_start_usage(events: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    shifted = []
    for name, data in events:
        if name == "message_start":
            document = json.loads(data)
            document["message"].pop("usage", None)
            data = json.dumps(document)
        shifted.append((name, data))
    return shifted


def _repeat_role(events: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    out = []
    for name, data in events:
        chunk = json.loads(data) if data.startswith("{") else None
        if isinstance(chunk, dict):
            for choice in chunk.get("choices") or []:
                choice.setdefault("delta", {})["role"] = "assistant"
            data = json.dumps(chunk)
        out.append((name, data))
    return out


def _repeat_tool_ids(events: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    """Each tool call's arguments moved to a delta of their own that repeats the call's id (the
    SDK concatenates it: "call_xcall_x")."""
    out: list[tuple[str | None, str]] = []
    for name, data in events:
        chunk = json.loads(data) if data.startswith("{") else None
        calls = [
            call
            for choice in (chunk or {}).get("choices") or []
            for call in (choice.get("delta") or {}).get("tool_calls") or []
            if call.get("id") and (call.get("function") or {}).get("arguments")
        ]
        if not calls:
            out.append((name, data))
            continue
        arguments = []
        for call in calls:
            arguments.append(
                {
                    "index": call["index"],
                    "id": call["id"],
                    "function": {"arguments": call["function"]["arguments"]},
                }
            )
            call["function"]["arguments"] = ""
        out.append((name, json.dumps(chunk)))
        follow = {
            **chunk,
            "choices": [{"index": 0, "delta": {"tool_calls": arguments}, "finish_reason": None}],
        }
        out.append((name, json.dumps(follow)))
    return out


def _strip_header(name: str) -> Rewrite:
    def apply(message: Message) -> Message:
        message.headers = {k: v for k, v in message.headers.items() if k != name}
        return message

    return apply


def _status_to(old: int, new: int) -> Rewrite:
    def apply(message: Message) -> Message:
        if message.status == old:
            message.status = new
        return message

    return apply


def _crash_on_lone_surrogate(message: Message) -> Message:
    message.crash = re.search(rb"\\u[dD][89abAB]", message.body) is not None
    return message


def _inject_key(key: str) -> Rewrite:
    def apply(message: Message) -> Message:
        message.headers = {
            k: v for k, v in message.headers.items() if k not in {"x-api-key", "authorization"}
        }
        message.headers["x-api-key"] = key
        return message

    return apply


def _plain_error_body(message: Message) -> Message:
    if 400 <= message.status < 500 and _is_json(message):
        message.body = json.dumps({"error": "something went wrong"}).encode()
    return message


def _set_stop_reason(document: Any) -> Any:
    if isinstance(document, dict) and document.get("type") == "message":
        document["stop_reason"] = "end_turn"
    return document


def _set(path: tuple[str, ...], value: Any) -> Callable[[Any], Any]:
    def apply(document: Any) -> Any:
        target = document
        for key in path[:-1]:
            target = target.get(key, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict) and path[-1] in target:
            target[path[-1]] = value
        return document

    return apply


def _drop_keys(*names: str) -> Callable[[Any], Any]:
    def apply(document: Any) -> Any:
        if isinstance(document, dict):
            for name in names:
                document.pop(name, None)
        return document

    return apply


def _request(rewrite: Callable[[Any], Any]) -> Rewrite:
    return _json_body(rewrite, when=_generate_call)


def _part_change(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    return lambda document: _each_part(document, change)


def _clear_args(part: dict[str, Any]) -> None:
    if "functionCall" in part:
        part["functionCall"]["args"] = {}


def _clear_response(part: dict[str, Any]) -> None:
    if "functionResponse" in part:
        part["functionResponse"]["response"] = {}


def _drop_signature(part: dict[str, Any]) -> None:
    part.pop("thoughtSignature", None)


def _drop_images(document: Any) -> Any:
    for turn in _inner(document).get("contents") or []:
        turn["parts"] = [p for p in turn.get("parts") or [] if "inlineData" not in p] or [
            {"text": "."}
        ]
    return document


def _drop_generation(key: str) -> Callable[[Any], Any]:
    def apply(document: Any) -> Any:
        (_inner(document).get("generationConfig") or {}).pop(key, None)
        return document

    return apply


def _leak_key(message: Message) -> Message:
    if _generate_call(message):
        message.headers["x-api-key"] = "sk-client-key-forwarded"
    return message


PROXY_KEY = "conformance-proxy-key"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "duplicate_text_delta",
        "front",
        "a text delta sent twice",
        ("response.finish.stop_stream",),
        response=_sse(_duplicate_first_text_delta),
    ),
    Mutant(
        "retry_after_bytes",
        "behind",
        "a dropped stream retried and spliced: the text again",
        ("stream.no_retry_after_bytes",),
        retry_dropped_streams=True,
    ),
    Mutant(
        "drop_signature_delta",
        "front",
        "no signature_delta in thinking blocks",
        ("thinking.stream",),
        response=_sse(_without("signature_delta")),
    ),
    Mutant(
        "fake_end_turn",
        "front",
        "a failed stream ended with end_turn",
        ("stream.drop_midway",),
        response=_sse(_fake_end_turn),
    ),
    Mutant(
        "drop_tool_input_stream",
        "front",
        "tool input deltas dropped",
        ("response.tool_call_stream",),
        response=_sse(_without("input_json_delta")),
    ),
    Mutant(
        "shift_block_indices",
        "front",
        "content block indices start at 1",
        ("response.finish.stop_stream",),
        response=_sse(_shift_indices),
    ),
    Mutant(
        "no_message_stop",
        "front",
        "no message_stop",
        ("response.finish.stop_stream",),
        response=_sse(_without("message_stop")),
    ),
    Mutant(
        "no_usage_in_message_start",
        "front",
        "message_start without usage",
        ("response.finish.stop_stream",),
        response=_sse(_no_start_usage),
    ),
    Mutant(
        "retry_after_missing",
        "front",
        "429 without retry-after",
        ("errors.rate_limited",),
        response=_strip_header("retry-after"),
    ),
    Mutant(
        "rate_limit_as_500",
        "front",
        "an upstream 429 answered as a 500",
        ("errors.rate_limited",),
        response=_status_to(429, 500),
    ),
    Mutant(
        "crash_on_lone_surrogate",
        "front",
        "a 500 for a request with a lone surrogate",
        ("unicode.lone_surrogate.user_text",),
        request=_crash_on_lone_surrogate,
    ),
    Mutant(
        "auth_bypass",
        "front",
        "requests without a valid key are served",
        ("auth.missing_key",),
        request=_inject_key(PROXY_KEY),
    ),
    Mutant(
        "plain_error_body",
        "front",
        "errors not in the Anthropic envelope",
        ("input.malformed_json",),
        response=_plain_error_body,
    ),
    Mutant(
        "stop_reason_always_end_turn",
        "front",
        "every stop reason reported as end_turn",
        ("response.finish.max_tokens",),
        response=_json_body(_set_stop_reason, when=_is_json),
    ),
    Mutant(
        "count_tokens_renamed",
        "front",
        "count_tokens answers {tokens}",
        ("count.basic",),
        response=_json_body(
            lambda d: (
                {"tokens": d.get("input_tokens")}
                if isinstance(d, dict) and "input_tokens" in d
                else d
            ),
            when=_is_json,
        ),
    ),
    Mutant(
        "models_page_broken",
        "front",
        "the model page lacks has_more",
        ("models.list",),
        response=_json_body(_drop_keys("has_more", "first_id", "last_id"), when=_is_json),
    ),
    Mutant(
        "openai_no_done",
        "front",
        "no data: [DONE]",
        ("openai.text_stream",),
        response=_sse(lambda events: [e for e in events if e[1] != "[DONE]"]),
    ),
    Mutant(
        "openai_role_repeated",
        "front",
        "role in every delta",
        ("openai.text_stream",),
        response=_sse(_repeat_role),
    ),
    Mutant(
        "openai_tool_id_repeated",
        "front",
        "tool call id in every delta",
        ("openai.tool_call_stream",),
        response=_sse(_repeat_tool_ids),
    ),
    Mutant(
        "drop_tool_input",
        "behind",
        "a tool_use's input lost on the way up",
        ("request.tool_use.roundtrip",),
        request=_request(_part_change(_clear_args)),
    ),
    Mutant(
        "drop_tool_result",
        "behind",
        "a tool_result's content lost",
        ("request.tool_use.roundtrip",),
        request=_request(_part_change(_clear_response)),
    ),
    Mutant(
        "drop_image",
        "behind",
        "images dropped",
        ("request.image.png",),
        request=_request(_drop_images),
    ),
    Mutant(
        "drop_system",
        "behind",
        "the system prompt dropped",
        ("request.system.string",),
        request=_request(_drop_keys("systemInstruction")),
    ),
    Mutant(
        "drop_thought_signature",
        "behind",
        "thought signatures not sent back",
        ("thinking.signature_roundtrip",),
        request=_request(_part_change(_drop_signature)),
    ),
    Mutant(
        "strip_array_items",
        "behind",
        "a schema keyword the upstream needs (items) stripped",
        ("schema.real_world.claude_code",),
        request=_request(lambda d: _walk_schemas(d, lambda n: n.pop("items", None))),
    ),
    Mutant(
        "strip_required",
        "behind",
        "required lists stripped from tool schemas",
        ("schema.ref_defs",),
        request=_request(
            lambda d: _walk_schemas(
                d,
                lambda n: n.pop("required", None) if isinstance(n.get("required"), list) else None,
            )
        ),
    ),
    Mutant(
        "pass_additional_properties",
        "behind",
        "additionalProperties passed to Gemini",
        ("schema.additional_properties_false",),
        request=_request(
            lambda d: _walk_schemas(
                d,
                lambda n: (
                    n.__setitem__("additionalProperties", False) if "properties" in n else None
                ),
            )
        ),
    ),
    Mutant(
        "drop_max_tokens",
        "behind",
        "max_tokens not forwarded",
        ("request.max_tokens",),
        request=_request(_drop_generation("maxOutputTokens")),
    ),
    Mutant(
        "drop_stop_sequences",
        "behind",
        "stop sequences not forwarded",
        ("request.stop_sequences",),
        request=_request(_drop_generation("stopSequences")),
    ),
    Mutant(
        "retry_429_at_once",
        "behind",
        "429s retried at once, RetryInfo ignored",
        ("errors.rate_limited",),
        retry_429_at_once=True,
    ),
    Mutant(
        "client_key_forwarded",
        "behind",
        "the client's key sent upstream",
        ("auth.key_stays_at_the_proxy",),
        request=_leak_key,
    ),
)


# --- the relay ---------------------------------------------------------------------------------------


class Relay:
    """An ASGI relay to `upstream_url` applying `self.mutant` (None: a faithful relay)."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.mutant: Mutant | None = None
        self.url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"] + (
            ("?" + scope["query_string"].decode()) if scope["query_string"] else ""
        )
        headers = {
            k.decode().lower(): v.decode()
            for k, v in scope["headers"]
            if k.decode().lower() not in _HOP_HEADERS
        }
        request = Message(0, headers, body, path)
        mutant = self.mutant
        if mutant and mutant.request:
            request = mutant.request(request)
        if request.crash:
            answer = Message(
                500,
                {"content-type": "application/json"},
                json.dumps(
                    {"type": "error", "error": {"type": "api_error", "message": "crashed"}}
                ).encode(),
            )
        else:
            answer = await self._forward(scope["method"], request, mutant)
        if mutant and mutant.response:
            answer = mutant.response(answer)
        headers_out = [
            (k.encode(), v.encode())
            for k, v in answer.headers.items()
            if k not in _HOP_HEADERS and k != "content-encoding"
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers_out})
        await send({"type": "http.response.body", "body": answer.body, "more_body": answer.dropped})
        if answer.dropped:
            raise DroppedConnection("the upstream dropped the stream")

    async def _forward(self, method: str, request: Message, mutant: Mutant | None) -> Message:
        answer = await self._once(method, request)
        if mutant and mutant.retry_dropped_streams and answer.dropped:
            again = await self._once(method, request)
            answer = Message(
                again.status, answer.headers, answer.body + again.body, dropped=again.dropped
            )
        if mutant and mutant.retry_429_at_once:
            for _ in range(3):
                if answer.status != 429:
                    break
                answer = await self._once(method, request)
        return answer

    async def _once(self, method: str, request: Message) -> Message:
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                async with client.stream(
                    method,
                    self.upstream_url + request.path,
                    headers=request.headers,
                    content=request.body,
                ) as response:
                    body, dropped = b"", False
                    try:
                        async for piece in response.aiter_bytes():
                            body += piece
                    except httpx.TransportError:
                        dropped = True
                    return Message(
                        response.status_code,
                        {k.lower(): v for k, v in response.headers.items()},
                        body,
                        request.path,
                        dropped,
                    )
            except httpx.TransportError as exc:
                return Message(
                    502,
                    {"content-type": "application/json"},
                    json.dumps({"error": str(exc)}).encode(),
                )


@contextlib.contextmanager
def running_relay(relay: Relay) -> Iterator[Relay]:
    """Serve `relay` on 127.0.0.1 (Hypercorn, in a thread) for the block."""
    sock = bind_socket()
    host, port = sock.getsockname()[:2]
    loop = asyncio.new_event_loop()
    holder: list[asyncio.Event] = []
    started = threading.Event()

    async def run() -> None:
        shutdown = asyncio.Event()
        holder.append(shutdown)
        started.set()
        await serve(relay, sock, shutdown=shutdown)

    thread = threading.Thread(target=lambda: loop.run_until_complete(run()), daemon=True)
    thread.start()
    started.wait(10)
    relay.url = f"http://{host}:{port}"
    try:
        yield relay
    finally:
        loop.call_soon_threadsafe(holder[0].set)
        thread.join(10)


@dataclass
class Bench:
    """Our proxy between two relays, the emulator behind, and the catalogue."""

    front: Relay
    behind: Relay
    emulator: EmulatorLink
    cases: dict[str, Case] = field(default_factory=dict)

    def run(self, mutant: Mutant | None, case_ids: list[str]) -> dict[str, Outcome]:
        self.front.mutant = mutant if mutant and mutant.side == "front" else None
        self.behind.mutant = mutant if mutant and mutant.side == "behind" else None
        runner = Runner(Target(self.front.url, PROXY_KEY, "gemini-api"), self.emulator)
        try:
            return {case_id: runner.run_case(self.cases[case_id]).outcome for case_id in case_ids}
        finally:
            runner.close()
            self.front.mutant = self.behind.mutant = None

    def flagged(self, mutant: Mutant, case_ids: list[str] | None = None) -> list[str]:
        """The cases (its own, or `case_ids`) that do not pass with `mutant` injected."""
        outcomes = self.run(mutant, case_ids or list(mutant.flagged_by))
        return [case_id for case_id, outcome in outcomes.items() if outcome != Outcome.PASS]


@contextlib.contextmanager
def mutation_bench(folder: Path) -> Iterator[Bench]:
    with started_emulator(folder) as link, running_relay(Relay(link.url)) as behind:
        setup = UpstreamSetup.create(folder / "credentials", behind.url)
        with (
            started_proxy("gemini-api", setup, folder) as target,
            running_relay(Relay(target.url)) as front,
        ):
            cases = {c.id: c for c in select(load_catalogue(), flavor="gemini-api")}
            yield Bench(front, behind, link, cases)


def main(argv: list[str] | None = None) -> int:
    """Print each mutant and the cases that flag it, and the figure."""
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.mutation")
    parser.add_argument("--full", action="store_true", help="every case against every mutant")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, mutation_bench(Path(folder)) as bench:
        every = [c.id for c in bench.cases.values() if c.route != "session" and not c.disruptive]
        flagged_by_own = 0
        for mutant in MUTANTS:
            own = bench.flagged(mutant)
            hit = bool(own) and set(own) == set(mutant.flagged_by)
            flagged_by_own += hit
            line = f"{'FLAGGED' if hit else 'MISSED '} {mutant.name:30} {mutant.defect}"
            if args.full:
                line += (
                    f"\n        flagged by: {', '.join(bench.flagged(mutant, every)) or 'nothing'}"
                )
            print(line, flush=True)
    print(
        f"{flagged_by_own}/{len(MUTANTS)} mutants flagged by the case that should "
        f"({100 * flagged_by_own / len(MUTANTS):.1f} %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
