"""HTTP/1.1 requests whose framing is ambiguous are refused, in the route's JSON envelope.

Operations:
    StrictHttp1(app, config, context, task_group, state, ssl, client, server, send)
                                  Hypercorn's H11Protocol (server.hypercorn_serving uses it for
                                  every HTTP/1.x connection): a request that h11 cannot parse,
                                  or that this module refuses, is answered `400` (or h11's
                                  status: 431, 501) with a JSON error body, `connection: close`,
                                  and the connection is closed; logged as `request refused`
    H11_PRIVATE_API               the private names of Hypercorn's H11Protocol relied on

Why (issue 17.8, request smuggling): a front end and the proxy must agree where one request
ends and the next begins. RFC 9112 lets a server either refuse or answer-then-close a request
that carries both `Content-Length` and `Transfer-Encoding` (section 6.1), and refuse or unfold
an obs-folded field line (section 5.2). h11 takes Transfer-Encoding and unfolds, and Hypercorn
then keeps the connection open: bytes a Content-Length-trusting front end sent as the next
request would be read as this one's body. The proxy refuses both: no client of it (the
Anthropic, OpenAI and Google SDKs, Claude Code) sends either, and a refusal reads no body, so
no bytes of a possible second request are ever interpreted. A malformed `Content-Length`
(`-1`, `1e3`, `+5`), which Hypercorn answered 400 with an empty body, gets the same envelope.

Plan: `_StrictConnection` is h11's Connection, checking a request head before h11 parses it
(obs-fold) and after (both framings), and keeping the reason of any refusal; `StrictHttp1`
answers with it through Hypercorn's own error path (`_send_error_response`, then `Closed`).
Reasons never quote the request: h11 puts a bad header line in its message, and a header may
hold a key.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import h11
from hypercorn.protocol.h11 import H11Protocol

import compat
from server.edge.envelopes import envelope_for_path

log = logging.getLogger("compatkit.server")

H11_PRIVATE_API = (
    "_send_error_response",  # (status_code): Hypercorn's answer to h11.RemoteProtocolError
    "_send_h11_event",  # (event): send an h11 event, tolerating a client in ERROR
    "connection",  # the h11.Connection, created in __init__
)
"""Private names of Hypercorn 0.18's H11Protocol that `StrictHttp1` reads or overrides."""

_HEAD_END = re.compile(rb"\n\r?\n")
_FOLDED_LINE = re.compile(rb"\n[ \t]")
_QUOTED = re.compile(r":?\s*(bytearray\()?b['\"].*$", re.DOTALL)
_ERROR_TYPES = {413: "request_too_large", 431: "request_too_large"}

OBS_FOLD = (
    "A header line starts with whitespace (obsolete line folding, RFC 9112 section 5.2); "
    "send each header on one line"
)
BOTH_FRAMINGS = (
    "The request has both Content-Length and Transfer-Encoding (RFC 9112 section 6.1); "
    "send one of them"
)


class _StrictConnection(h11.Connection):
    """h11's server connection, refusing obs-fold and a request with both framings."""

    def __init__(self, max_incomplete_event_size: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_incomplete_event_size)
        self.refusal = ""  # why the request was refused, for the client
        self.target = b""  # the path of the request being parsed (its envelope)
        self._folded = False  # its head has an obs-folded line

    def next_event(self) -> Any:
        if self.their_state is h11.IDLE:
            self._read_head(self.trailing_data[0])
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refusal = _without_quotes(str(exc))
            raise
        if isinstance(event, h11.Request):
            # Refused once h11 has the request, so that h11 lets the server answer it.
            # raw_items(): iterating Headers goes item by item through Sequence.__getitem__
            names = {name.lower() for name, _ in event.headers.raw_items()}
            if self._folded:
                self._refuse(OBS_FOLD)
            if b"content-length" in names and b"transfer-encoding" in names:
                self._refuse(BOTH_FRAMINGS)
        return event

    def _read_head(self, pending: bytes) -> None:
        """The head being received (maybe not all of it yet): its target, and whether a
        line of it is folded (h11 unfolds them)."""
        head = pending.lstrip(b"\r\n")
        end = _HEAD_END.search(head)
        if end is not None:
            head = head[: end.start() + 1]
        first_line = head.split(b"\n", 1)[0].split(b" ")
        self.target = first_line[1] if len(first_line) > 1 else b""
        self._folded = _FOLDED_LINE.search(head) is not None

    def _refuse(self, reason: str) -> None:
        self.refusal = reason
        raise h11.RemoteProtocolError(reason, error_status_hint=400)


class StrictHttp1(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol on `_StrictConnection`, refusing in a JSON envelope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection: h11.Connection = _StrictConnection(self.config.h11_max_incomplete_size)

    async def _send_error_response(self, status_code: int) -> None:
        connection = self.connection
        assert isinstance(connection, _StrictConnection)
        reason = connection.refusal or "The request is not valid HTTP/1.1"
        path = connection.target.decode("latin-1")
        envelope = envelope_for_path(path)
        request_id = "req_" + secrets.token_hex(12)
        error_type = _ERROR_TYPES.get(
            status_code, "invalid_request_error" if status_code < 500 else "api_error"
        )
        status, body = compat.error_body(envelope, status_code, error_type, reason)
        if envelope == "anthropic":
            body = {**body, "request_id": request_id}
        payload = compat.dumps(body)
        log.info(
            "request refused: not valid HTTP/1.1",
            extra={"request_id": request_id, "status": status, "error": reason},
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
            (b"request-id", request_id.encode()),
            *self.config.response_headers("h11"),
        ]
        await self._send_h11_event(h11.Response(status_code=status, headers=headers))
        await self._send_h11_event(h11.Data(data=payload))
        await self._send_h11_event(h11.EndOfMessage())


def _without_quotes(message: str) -> str:
    """h11's reason without the bytes it quotes (`illegal header line: b'...'`)."""
    reason = _QUOTED.sub("", message).strip()
    return f"The request is not valid HTTP/1.1: {reason}" if reason else ""
