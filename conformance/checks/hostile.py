"""Hostile input and error envelopes: the pieces the hostile-input suites and the runner share.

Operations:
    decoded_json(response) -> object          the body, after checking it is strict UTF-8 JSON
    assert_anthropic_error(response, status, error_type=None, names=None) -> dict
    assert_openai_error(response, status, names=None) -> dict
    assert_google_error(response, status, names=None) -> dict
    raw_exchange(url, request_bytes) -> (status, headers, body)   one request on its own socket
    JSON_VALUES, HEADER_TEXT                   hypothesis strategies for arbitrary input
    string_paths(document) / replaced_at(document, path, value)   walk and edit JSON documents
    LONE_SURROGATE                             the escape JS clients send for a lone surrogate

Goal: every suite states the same rule the same way: a client fault is a 4xx (never a 5xx),
the body is valid UTF-8 JSON in the route's own envelope, and the message names the offending
field when there is one.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from hypothesis import strategies as st

from conformance.checks import envelopes
from conformance.strategies.json_values import json_scalars, json_values

Path = tuple[str | int, ...]
LONE_SURROGATE = "\\ud800"  # as it appears in JSON text; decodes to the str '\ud800'

JSON_VALUES: st.SearchStrategy[Any] = json_values(
    scalars=json_scalars(integers=st.integers(-(2**70), 2**70), text=st.text(max_size=12)),
    keys=st.text(max_size=10),
)
HEADER_TEXT = (
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)


def decoded_json(response: httpx.Response) -> Any:
    """The response body as JSON, after checking it is strict UTF-8 (what SDK decoders need)."""
    text = response.content.decode("utf-8")  # raises on invalid UTF-8, lone surrogates included
    return json.loads(text)


def _names_all(message: str, names: tuple[str, ...]) -> None:
    for name in names:
        assert name in message, f"{name!r} not named in {message!r}"


def assert_client_fault(response: httpx.Response, status: int | None) -> None:
    """A 4xx (the given one when known) answered as JSON, never a 5xx."""
    assert response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    else:
        assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers


def assert_anthropic_error(
    response: httpx.Response,
    status: int | None,
    error_type: str | None = None,
    names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Anthropic's envelope `{"type":"error","error":{"type","message"}}` plus `request-id`."""
    assert_client_fault(response, status)
    body = decoded_json(response)
    error = envelopes.anthropic_error(response.status_code, body)
    if error_type is not None:
        assert error["type"] == error_type, body
    request_id = response.headers["request-id"]
    assert request_id.startswith("req_") and body.get("request_id") == request_id
    _names_all(error["message"], names)
    return dict(error)


def assert_openai_error(
    response: httpx.Response, status: int | None, names: tuple[str, ...] = ()
) -> dict[str, Any]:
    """OpenAI's envelope `{"error":{"message","type","param","code"}}`; `names` in message."""
    assert_client_fault(response, status)
    body = decoded_json(response)
    assert set(body) == {"error"}, body
    error = envelopes.openai_error(body)
    _names_all(error["message"], names)
    return dict(error)


def assert_google_error(
    response: httpx.Response, status: int | None, names: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Google's envelope `{"error":{"code","message","status"}}` (one-element list on streams)."""
    assert_client_fault(response, status)
    body = decoded_json(response)
    if isinstance(body, list):  # streamGenerateContent without alt=sse answers a JSON array
        assert len(body) == 1, body
        body = body[0]
    error = body["error"]
    assert error["code"] == response.status_code, body
    assert isinstance(error["status"], str) and error["status"].isupper(), body
    assert isinstance(error["message"], str) and error["message"], body
    _names_all(error["message"], names)
    return dict(error)


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as is on a new connection to `url`'s host; read until the server closes.

    For what httpx refuses to send (bare CR in a header, a bad Content-Length). The request
    should carry `Connection: close`; reading is bounded by a 10 s socket timeout.
    """
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=10) as sock:
        sock.sendall(request)
        received = bytearray()
        while len(received) < 1_000_000:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def string_paths(document: Any, path: Path = ()) -> Iterator[Path]:
    """Paths of every string value in `document` (dict keys not included)."""
    if isinstance(document, str):
        yield path
    elif isinstance(document, dict):
        for key, value in document.items():
            yield from string_paths(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from string_paths(value, (*path, index))


def replaced_at(document: Any, path: Path, value: Any) -> Any:
    """A copy of `document` with the value at `path` replaced or, for a last key, added."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        assert isinstance(head, str)
        return {**document, head: replaced_at(document.get(head), rest, value)}
    assert isinstance(document, list) and isinstance(head, int)
    copy = list(document)
    copy[head] = replaced_at(copy[head], rest, value)
    return copy


def without(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """A copy of `document` without the key at `path` (the last segment must be a key)."""
    *parents, last = path
    if not parents:
        return {k: v for k, v in document.items() if k != last}
    parent = document
    for segment in parents:
        parent = parent[segment]  # type: ignore[index]
    return replaced_at(document, tuple(parents), {k: v for k, v in parent.items() if k != last})


def path_text(path: Path) -> str:
    """`messages[0].content` for ("messages", 0, "content")."""
    text = ""
    for segment in path:
        text += f"[{segment}]" if isinstance(segment, int) else ("." if text else "") + segment
    return text


def with_lone_surrogate(document: Any, path: Path) -> bytes:
    """`document` as JSON bytes whose string at `path` holds a lone-surrogate escape.

    The marker goes in as a private-use character and is swapped for the escape in the
    encoded text (json.dumps cannot write a lone surrogate itself under ensure_ascii=False).
    """
    marker = "\ue000"
    original = document
    for segment in path:
        original = original[segment]
    encoded = json.dumps(replaced_at(document, path, f"a{marker}{original}"), ensure_ascii=False)
    return encoded.replace(marker, LONE_SURROGATE).encode("utf-8")
