"""`compatkit serve` as a real process, on each server (`--server`): it starts, speaks HTTP/1.1
and h2c, logs JSON lines with request ids, stops on SIGTERM (a stream in flight ends whole), and
refuses a bad configuration with exit status 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from server.config import SERVERS
from tests.server.conftest import serve_argv

ROOT = Path(__file__).resolve().parents[2]


def start_serve(
    *args: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        serve_argv(*args),
        cwd=ROOT,
        env={**os.environ, "COMPATKIT_PROXY_KEYS": "cli-key", **(env or {})},
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def json_lines(process: subprocess.Popen[str]) -> Iterator[dict[str, object]]:
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("{"):
            yield json.loads(line)


@pytest.fixture(params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = start_serve("--demo", "--log-level", "info", "--server", request.param)
    lines = json_lines(process)
    url = ""
    for record in lines:
        message = str(record["message"])
        if "listening on" in message:
            url = message.rsplit(" ", 1)[1]
            break
    assert url, "the server never said where it listens"
    yield url, process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_serve_demo_runs_against_the_in_process_emulator(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    url, process = served
    client = anthropic.Anthropic(base_url=url, api_key="cli-key", max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-compatkit-upstream"] == "emulator"  # made-up text, said so
    assert raw.parse().content[0].text
    with httpx.Client(http1=False, http2=True) as h2c:  # HTTP/2 with prior knowledge
        response = h2c.get(url + "/healthz")
    assert response.http_version == "HTTP/2" and response.status_code == 200
    for record in json_lines(process):
        if record["message"] == "request" and record.get("route") == "/v1/messages":
            assert str(record["request_id"]).startswith("req_") and record["status"] == 200
            assert "cli-key" not in json.dumps(record)
            break
    else:
        pytest.fail("no access log line for the request")


def test_a_bad_configuration_exits_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 'eighty'\n")
    process = start_serve("--config", str(bad))
    assert process.wait(timeout=20) == 2
    assert process.stderr is not None and "server.port" in process.stderr.read()


@pytest.mark.parametrize("server", SERVERS)
def test_the_listening_line_comes_once_the_proxy_answers_over_http1_and_http2(server: str) -> None:
    """Its readiness probes (GET /healthz over HTTP/1.1, then HTTP/2) are answered first."""
    process = start_serve("--demo", "--log-level", "info", "--server", server)
    try:
        before: list[dict[str, object]] = []
        for record in json_lines(process):
            if "listening on" in str(record["message"]):
                break
            before.append(record)
        probes = [r for r in before if r["message"] == "request" and r["route"] == "/healthz"]
        assert [r["status"] for r in probes] == [200, 200]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


@pytest.mark.parametrize("server", SERVERS)
def test_a_stream_in_flight_at_shutdown_ends_whole(server: str) -> None:
    """SIGTERM once a stream's first event came: the stream (the demo's `realistic` timing,
    well within the 2 s grace period) still ends with message_stop; exit status 0."""
    process = start_serve("--demo", "--log-level", "info", "--server", server)
    url = next(
        str(r["message"]).rsplit(" ", 1)[1]
        for r in json_lines(process)
        if "listening on" in str(r["message"])
    )
    client = anthropic.Anthropic(base_url=url, api_key="cli-key", max_retries=0)
    events = []
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=256,
        messages=[{"role": "user", "content": "[scenario:realistic] hi"}],
    ) as stream:
        for event in stream:
            if not events:
                process.send_signal(signal.SIGTERM)
            events.append(event.type)
    assert events[0] == "message_start" and events[-1] == "message_stop"
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in rest


@pytest.mark.parametrize("server", SERVERS)
def test_a_connection_still_open_at_shutdown_leaves_no_traceback(server: str) -> None:
    """SIGTERM with a request whose body never comes: after the 2 s grace period the
    connection is closed; the log has no traceback and the exit status is 0."""
    process = start_serve("--demo", "--log-level", "info", "--server", server)
    url = ""
    for record in json_lines(process):
        if "listening on" in str(record["message"]):
            url = str(record["message"]).rsplit(" ", 1)[1]
            break
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\nhost: proxy\r\nx-api-key: cli-key\r\n"
            b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{"
        )
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in rest and all(line.startswith("{") for line in rest.splitlines())
