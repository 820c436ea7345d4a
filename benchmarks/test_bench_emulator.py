"""In-process cost of one emulator request (ASGI call, no sockets): the app's own share of the
budget. The socket-level throughput on one core is measured by benchmarks/emulator_throughput.py.

Run: .venv/bin/pytest benchmarks/test_bench_emulator.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conformance.emulator.app import create_emulator

BODY = b'{"contents":[{"role":"user","parts":[{"text":"hello there, how are you?"}]}]}'
MODEL_PATH = "/v1beta/models/gemini-2.5-flash"


def make_call(path: str, query: bytes, scenario: bytes) -> Any:
    app = create_emulator()
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query,
        "headers": [(b"x-goog-api-key", b"k"), (b"x-emulator-scenario", scenario)],
    }
    message = {"type": "http.request", "body": BODY, "more_body": False}
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: Any) -> None:
        sent.append(event)

    async def hundred() -> None:
        for _ in range(100):
            await app(scope, receive, send)

    loop = asyncio.new_event_loop()

    def run() -> list[Any]:
        sent.clear()
        loop.run_until_complete(hundred())
        return sent

    return run, loop


@pytest.mark.parametrize(
    ("shape", "path", "query", "scenario", "events_per_request"),
    [
        pytest.param(
            "non-stream", f"{MODEL_PATH}:generateContent", b"", b"default", 2, id="non-stream"
        ),
        pytest.param(
            "stream-20",
            f"{MODEL_PATH}:streamGenerateContent",
            b"alt=sse",
            b"bench_stream_20",
            22,
            id="stream-20",
        ),
    ],
)
def test_bench_emulator_hundred_requests_in_process(
    benchmark: Any, shape: str, path: str, query: bytes, scenario: bytes, events_per_request: int
) -> None:
    run, loop = make_call(path, query, scenario)
    try:
        sent = benchmark(run)
    finally:
        loop.close()
    assert len(sent) == 100 * events_per_request
    assert sent[0]["status"] == 200
