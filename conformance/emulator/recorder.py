"""Recording: every request the emulator receives, with its verdict, for tests to read back.

Operations:
- `Recorder.record(...)`: keep one request (method, path, query, headers without secrets, body,
  surface, credential id (a hash, see app.credential_id), model, scenario, verdict, HTTP status,
  the HTTP version it came over ("1.1", or "2" for TLS h2 and h2c: what a test of the client's
  transport asserts), and for a generate or count call the reply (or error) and the wire fault it
  got); also append it as one JSON line to a file if asked.
- `Recorder.snapshot(since=0)`: the records with sequence number > `since`, oldest first.
- `Recorder.reset()`: forget everything (the JSONL file is truncated too).

A reply is kept as the encoded bytes the emulator sent (stream events or a whole body) and
decoded only when read, so recording costs the serving path nothing: a record's `reply` reads
`{"chunks": [...]}` (a stream's events, in order) or `{"body": ...}` (a whole response); `fault` is
`{"kind", "after_chunks"}` for a wire fault (drop, stall, malformed_chunk), which says how much of
the stream went out.

Secrets never reach a record: credential headers, the `key` query parameter and OAuth form secrets
are replaced by "<redacted>". Memory is bounded: past `max_records`, the oldest records are dropped
and counted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import orjson

from conformance.emulator import json_text

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-goog-api-key",
        "cookie",
        "proxy-authorization",
        "x-api-key",
        "x-goog-user-project",
    }
)
SECRET_FIELDS = frozenset(
    {"refresh_token", "client_secret", "key", "access_token", "code", "assertion"}
)


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers as a dict (later duplicates win) with credential values redacted."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        result[name] = REDACTED if name in SECRET_HEADERS else raw_value.decode("latin-1")
    return result


def redact_fields(fields: dict[str, str]) -> dict[str, str]:
    """A query or form mapping with secret values redacted."""
    return {k: REDACTED if k in SECRET_FIELDS else v for k, v in fields.items()}


class Recorder:
    """A bounded, ordered log of received requests, optionally mirrored to a JSONL file."""

    def __init__(self, *, max_records: int = 10_000, jsonl_path: str | Path | None = None) -> None:
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._sequence = 0
        self._dropped = 0
        self._jsonl_path = Path(jsonl_path) if jsonl_path is not None else None
        self._jsonl: IO[bytes] | None = None
        self._lock = threading.Lock()  # tests read records from another thread
        if self._jsonl_path is not None:
            self._jsonl = self._jsonl_path.open("ab", buffering=0)

    def record(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        surface: str,
        credential: str | None,
        model: str | None,
        scenario: str | None,
        verdict: str,
        status: int,
        reply: bytes | tuple[bytes, ...] | None = None,
        fault: dict[str, Any] | None = None,
        http_version: str = "1.1",
    ) -> None:
        """Keep one request; `verdict` says what the emulator made of it (see app.py)."""
        entry = {
            "seq": 0,
            "time": time.time(),
            "method": method,
            "path": path,
            "query": redact_fields(query),
            "headers": headers,
            "body": body,
            "surface": surface,
            "credential": credential,
            "model": model,
            "scenario": scenario,
            "verdict": verdict,
            "status": status,
            "reply": reply,
            "fault": fault,
            "http_version": http_version,
        }
        if self._jsonl is not None:
            entry["reply"] = _decoded_reply(reply)
        with self._lock:
            self._sequence += 1
            entry["seq"] = self._sequence
            if len(self._records) == self._records.maxlen:
                self._dropped += 1
            self._records.append(entry)
            if self._jsonl is not None:
                self._jsonl.write(json_text.dumps(entry) + b"\n")

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """`{"requests": [...], "dropped": n}` for records numbered after `since`."""
        with self._lock:
            records = [r for r in self._records if r["seq"] > since]
            for record in records:
                if isinstance(record["reply"], bytes | tuple):
                    record["reply"] = _decoded_reply(record["reply"])
            return {"requests": records, "dropped": self._dropped}

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._dropped = 0
            if self._jsonl is not None and self._jsonl_path is not None:
                self._jsonl.close()
                self._jsonl = self._jsonl_path.open("wb", buffering=0)

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None


def _decoded_reply(reply: bytes | tuple[bytes, ...] | None) -> dict[str, Any] | None:
    if reply is None:
        return None
    if isinstance(reply, bytes):
        return {"body": _loads(reply)}
    return {"chunks": [_loads(event) for event in reply]}


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # a scripted lone-surrogate escape: orjson refuses it
        return json.loads(data)
