"""A real `compatkit serve` refuses HTTP/1.1 requests with ambiguous framing (issue 17.8,
server.http1_framing), over raw sockets.

Rules checked:
- a request with both `Content-Length` and `Transfer-Encoding: chunked` is answered 400 in the
  route's envelope (Anthropic's, OpenAI's on /v1/chat/completions) with `connection: close`,
  and the connection is closed: the bytes after it are never read as a second request;
- an obs-folded `Transfer-Encoding:\\r\\n chunked` likewise;
- a `Content-Length` of `-1`, `1e3` or `+5` is a 400 in the envelope (Hypercorn alone answered
  it with an empty body), the connection closed;
- a refusal is logged (`request refused`, with its request id) and never quotes the request (h11 quotes a bad header line, which may hold a key);
- well-framed requests on one keep-alive connection are still answered, and it stays open.

On granian (`--server granian`) hyper parses HTTP/1.1 before any of our code sees the request,
and the rules become (docs/server.md lists the differences):
- both `Content-Length` and `Transfer-Encoding` is served by the Transfer-Encoding alone, and the
  connection is closed after the answer (RFC 9112 section 6.1's other choice): the bytes after
  the chunked body are never read as a second request, but the request is answered by the
  route, not refused (hyper drops the Content-Length before the app sees it), and a chunked
  body longer than a front end's Content-Length would take the front end's next bytes as its
  own: why Hypercorn stays the default (docs/server.md, section 2);
- obs-fold, a malformed `Content-Length` and a bad header line are refused by hyper: 400 with an
  empty body, `connection: close`, the connection closed; no envelope, no request id, no log
  line (the app never sees the request), and the request is never quoted.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from server.config import SERVERS
from tests.server.test_serve import json_lines, start_serve

MESSAGES = (
    b'{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
)


@dataclass
class Exchange:
    """What the server sent back on one connection, until it closed or went quiet."""

    responses: list[tuple[int, dict[str, str], bytes]]
    closed: bool


@dataclass
class Served:
    """The module's `compatkit serve`: on which server, at which address."""

    server: str
    address: tuple[str, int]


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    process = start_serve("--demo", "--log-level", "info", "--server", request.param)
    url = ""
    for record in json_lines(process):
        if "listening on" in str(record["message"]):
            url = str(record["message"]).rsplit(" ", 1)[1]
            break
    assert url, "the server never said where it listens"
    assert process.stderr is not None
    # the log goes on: read it, or a full pipe would stall the server
    reader = threading.Thread(target=LOG.extend, args=(process.stderr,), daemon=True)
    reader.start()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    yield Served(request.param, (host, int(port)))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    reader.join(timeout=10)


LOG: list[str] = []
"""The lines the module's server wrote after its listening line."""


def logged(request_id: str) -> list[dict[str, object]]:
    """The log records of `request_id`, once at least one is there (polled, bounded)."""
    for _ in range(100):
        records = [json.loads(line) for line in list(LOG) if request_id in line]
        if records:
            return records
        time.sleep(0.05)
    return []


def exchange(address: tuple[str, int], raw: bytes, *, quiet_after: float = 3.0) -> Exchange:
    """Send `raw`, read responses until the server closes (or sends nothing for
    `quiet_after` seconds: the connection was left open)."""
    data = b""
    closed = False
    with socket.create_connection(address, timeout=quiet_after) as sock:
        sock.sendall(raw)
        try:
            while chunk := sock.recv(65536):
                data += chunk
            closed = True
        except TimeoutError:
            pass
    return Exchange(_responses(data), closed)


def _responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    responses = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, value in (line.split(":", 1) for line in lines)
        }
        length = int(headers["content-length"])
        responses.append((int(status_line.split()[1]), headers, rest[:length]))
        data = rest[length:]
    return responses


def post(path: str, framing: bytes, body: bytes) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: proxy\r\n".encode() + framing + b"\r\n\r\n" + body


SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n"


def test_content_length_with_chunked_is_refused_and_the_connection_closed(
    served: Served,
) -> None:
    framing = b"Content-Length: 5\r\nTransfer-Encoding: chunked"
    result = exchange(served.address, post("/v1/messages", framing, b"0\r\n\r\n" + SMUGGLED))

    [(status, headers, body)] = result.responses  # the smuggled GET was never answered
    assert headers["connection"] == "close"
    error = json.loads(body)
    assert error["type"] == "error"
    if served.server == "granian":  # answered by the route (no key: 401), then closed
        assert status == 401 and error["error"]["type"] == "authentication_error"
        assert result.closed
        return
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert "both Content-Length and Transfer-Encoding" in error["error"]["message"]
    assert error["request_id"] == headers["request-id"]
    assert result.closed
    [record] = logged(headers["request-id"])
    assert record["message"] == "request refused: not valid HTTP/1.1"
    assert record["status"] == 400 and "both Content-Length" in str(record["error"])


def test_on_the_openai_route_the_refusal_is_in_openais_envelope(served: Served) -> None:
    framing = b"Transfer-Encoding: chunked\r\nContent-Length: 5"
    result = exchange(served.address, post("/v1/chat/completions", framing, b"0\r\n\r\n"))

    [(status, headers, body)] = result.responses
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert result.closed
    if served.server == "granian":  # answered by the route (no key: 401), then closed
        assert status == 401
        return
    assert status == 400
    assert error["type"] == "invalid_request_error"
    assert "both Content-Length and Transfer-Encoding" in error["message"]


def test_both_framings_with_a_good_chunked_body_get_one_answer_and_a_close(
    served: Served,
) -> None:
    """On granian the request as its chunked body frames it is served and what follows that
    body is never read; on Hypercorn it is refused, as above. Either way, one answer."""
    body = f"{len(MESSAGES):x}\r\n".encode() + MESSAGES + b"\r\n0\r\n\r\n"
    framing = b"x-api-key: cli-key\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
    result = exchange(served.address, post("/v1/messages", framing, body + SMUGGLED))

    [(status, headers, _)] = result.responses  # the smuggled GET was never answered
    assert status == (200 if served.server == "granian" else 400)
    assert headers["connection"] == "close"
    assert result.closed


def test_on_granian_a_chunked_body_runs_past_the_content_length(served: Served) -> None:
    """What a front end trusting `Content-Length: 4` sends as the next request (`GET /healthz`)
    is, on granian, read as the rest of this request's chunked body: the route answers this
    request alone and the GET never gets its own answer. Hypercorn refuses the request and
    reads nothing after its head."""
    chunk = SMUGGLED.ljust(64, b"x")
    body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    framing = b"Content-Length: 4\r\nTransfer-Encoding: chunked"
    result = exchange(served.address, post("/v1/messages", framing, body))

    [(status, headers, body_sent)] = result.responses
    assert headers["connection"] == "close" and result.closed
    if served.server == "granian":  # the would-be next request became this body
        assert status == 401
        return
    assert status == 400 and b"both Content-Length" in body_sent


@pytest.mark.parametrize("fold", [b"\r\n ", b"\r\n\t"], ids=["space", "tab"])
def test_an_obs_folded_transfer_encoding_is_refused(served: Served, fold: bytes) -> None:
    framing = b"Transfer-Encoding:" + fold + b"chunked"
    result = exchange(served.address, post("/v1/messages", framing, b"0\r\n\r\n" + SMUGGLED))

    [(status, headers, body)] = result.responses
    assert status == 400
    assert headers["connection"] == "close"
    if served.server == "granian":  # refused by hyper: no envelope
        assert body == b""
    else:
        assert "obsolete line folding" in json.loads(body)["error"]["message"]
    assert result.closed


@pytest.mark.parametrize("length", [b"-1", b"1e3", b"+5", b"5, 6"])
def test_a_malformed_content_length_is_answered_in_the_envelope(
    served: Served, length: bytes
) -> None:
    request = post("/v1/messages", b"Content-Length: " + length, MESSAGES)
    result = exchange(served.address, request)

    [(status, headers, body)] = result.responses
    assert status == 400
    assert headers["connection"] == "close"
    if served.server == "granian":  # refused by hyper: no envelope
        assert body == b"" and result.closed
        return
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert error["error"]["type"] == "invalid_request_error"
    assert "Content-Length" in error["error"]["message"]
    assert result.closed


def test_a_refusal_never_quotes_the_request(served: Served) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: proxy\r\nx-api-key sk-ant-secret-value\r\n\r\n"
    result = exchange(served.address, raw)

    [(status, headers, body)] = result.responses
    assert status == 400
    assert b"secret" not in body
    if served.server == "granian":  # refused by hyper: no envelope, nothing logged
        assert body == b"" and result.closed
        assert "secret" not in "".join(LOG)
        return
    assert "secret" not in str(logged(headers["request-id"]))
    assert json.loads(body)["error"]["message"].startswith("The request is not valid HTTP/1.1")
    assert result.closed


def test_well_framed_requests_share_a_keep_alive_connection(served: Served) -> None:
    body = f"{len(MESSAGES):x}\r\n".encode() + MESSAGES + b"\r\n0\r\n\r\n"
    chunked = post("/v1/messages", b"x-api-key: cli-key\r\nTransfer-Encoding: chunked", body)
    result = exchange(served.address, SMUGGLED + chunked + SMUGGLED, quiet_after=1.5)

    statuses = [status for status, _, _ in result.responses]
    assert statuses == [200, 200, 200]
    assert not result.closed
