"""Request recording (conformance.emulator.recorder): bounded, ordered, no secrets."""

from __future__ import annotations

from pathlib import Path

import orjson

from conformance.emulator.recorder import REDACTED, Recorder, redact_fields, redact_headers


def record(recorder: Recorder, n: int) -> None:
    recorder.record(
        method="POST", path=f"/{n}", query={}, headers={}, body={"n": n}, surface="gemini",
        credential=None, model="m", scenario="default", verdict="ok", status=200,
    )  # fmt: skip


def test_memory_is_bounded_and_the_oldest_records_are_dropped_and_counted() -> None:
    recorder = Recorder(max_records=3)
    for n in range(5):
        record(recorder, n)
    snapshot = recorder.snapshot()
    assert [r["body"]["n"] for r in snapshot["requests"]] == [2, 3, 4]
    assert snapshot["dropped"] == 2
    assert [r["seq"] for r in recorder.snapshot(since=4)["requests"]] == [5]


def test_reset_forgets_records_and_truncates_the_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    recorder = Recorder(jsonl_path=path)
    record(recorder, 1)
    assert orjson.loads(path.read_bytes())["body"] == {"n": 1}
    recorder.reset()
    assert recorder.snapshot()["requests"] == []
    assert path.read_bytes() == b""
    recorder.close()


def test_credentials_are_redacted_from_headers_and_fields() -> None:
    headers = redact_headers(
        [(b"Authorization", b"Bearer x"), (b"X-Goog-Api-Key", b"k"), (b"accept", b"*/*")]
    )
    assert headers == {"authorization": REDACTED, "x-goog-api-key": REDACTED, "accept": "*/*"}
    assert redact_fields({"key": "k", "refresh_token": "r", "alt": "sse"}) == {
        "key": REDACTED, "refresh_token": REDACTED, "alt": "sse",
    }  # fmt: skip
