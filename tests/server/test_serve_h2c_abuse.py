"""A client breaking HTTP/2 against a real `compatkit serve` (issue 17.9), on each server: its
connection ends with at most one JSON log line, never a traceback, and the proxy goes on
answering. On granian (hyper) there is no h2c Upgrade: such a request is answered over
HTTP/1.1 and its HTTP2-Settings header is never read, so nothing is logged about it."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import httpx
import pytest

from server.config import SERVERS
from tests.server.conftest import serve_argv

ROOT = Path(__file__).resolve().parents[2]


class Proxy:
    """A `compatkit serve` process whose stderr is read as it comes (a full pipe would block
    the proxy's logging); `log()` stops it and returns every line."""

    def __init__(self, tmp_path: Path, server: str) -> None:
        self.server = server
        self.process = subprocess.Popen(
            serve_argv("--demo", "--server", server),
            cwd=tmp_path,
            env={
                **os.environ,
                "COMPATKIT_PROXY_KEYS": "h2-key",
                "COMPATKIT_STATE_PATH": ":memory:",
            },
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        self.lines: list[str] = []
        for line in self.process.stderr:
            self.lines.append(line)
            if "listening on" in line:
                self.url = json.loads(line)["message"].rsplit(" ", 1)[1]
                break
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.address = (host, int(port))
        self._reader = threading.Thread(target=self.lines.extend, args=(self.process.stderr,))
        self._reader.start()

    def log(self) -> list[str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self._reader.join(10)
        return self.lines


@pytest.fixture(params=SERVERS)
def proxy(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Proxy]:
    proxy = Proxy(tmp_path, request.param)
    yield proxy
    if proxy.process.poll() is None:
        proxy.process.kill()
        proxy.process.wait()


def _read_until_closed(sock: socket.socket) -> None:
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
    except (TimeoutError, ConnectionResetError):
        pass


def _refused_streams(client: h2.connection.H2Connection, sock: socket.socket, wanted: int) -> int:
    """How many streams the server reset with REFUSED_STREAM, reading until `wanted` were
    (or the server went quiet for 10 s)."""
    sock.settimeout(10)
    refused = 0
    with contextlib.suppress(TimeoutError):
        while refused < wanted and (data := sock.recv(65536)):
            for event in client.receive_data(data):
                refused += isinstance(event, h2.events.StreamReset) and (
                    event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM
                )
    return refused


def _read_first_bytes(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    try:
        return sock.recv(65536)
    except (TimeoutError, ConnectionResetError):
        return b""


def _assert_json_lines_only(log: list[str]) -> list[dict[str, object]]:
    text = "".join(log)
    assert "Traceback" not in text
    assert [line for line in log if not line.startswith("{")] == []
    return [json.loads(line) for line in log]


def test_opening_more_streams_than_allowed_ends_the_connection_without_a_traceback(
    proxy: Proxy,
) -> None:
    """The client never reads the proxy's SETTINGS (256 streams at most), so its h2 library
    lets it open 300 streams; Hypercorn ends the connection, granian (hyper) refuses each
    stream over the limit (RST_STREAM REFUSED_STREAM) and keeps the connection."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    with socket.create_connection(proxy.address) as sock:
        sock.sendall(client.data_to_send())
        for _ in range(300):  # with a key: each stream then waits for its body
            headers = [(":method", "POST"), (":path", "/v1/messages"), (":scheme", "http"),
                       (":authority", "proxy"), ("content-type", "application/json"),
                       ("x-api-key", "h2-key")]  # fmt: skip
            client.send_headers(client.get_next_available_stream_id(), headers)
            try:
                sock.sendall(client.data_to_send())
            except (BrokenPipeError, ConnectionResetError):
                break  # the proxy has ended the connection
        if proxy.server == "granian":
            assert _refused_streams(client, sock, 300 - 256) == 300 - 256
        else:
            _read_until_closed(sock)
    assert httpx.get(proxy.url + "/healthz").status_code == 200
    records = _assert_json_lines_only(proxy.log())
    assert not [r for r in records if r["level"] == "error"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (bytes.fromhex("000480000000"), "InvalidSettingsValueError"),  # window above 2^31-1
        (bytes.fromhex("000500000001"), "InvalidSettingsValueError"),  # frame size below 2^14
        (b"\x00\x03", "binascii.Error"),  # not a whole setting: a bad base64 length
    ],
    ids=["initial window too large", "max frame size too small", "half a setting"],
)
def test_an_h2c_upgrade_with_bad_settings_is_one_log_line(
    proxy: Proxy, settings: bytes, named: str
) -> None:
    header = base64.urlsafe_b64encode(settings).rstrip(b"=")
    with socket.create_connection(proxy.address) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: proxy\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: " + header + b"\r\n\r\n"
        )
        answer = _read_first_bytes(sock)
        if proxy.server == "hypercorn":  # which ends the connection
            _read_until_closed(sock)
    assert httpx.get(proxy.url + "/healthz").status_code == 200
    records = _assert_json_lines_only(proxy.log())
    closed = [r for r in records if "connection closed on an error" in str(r["message"])]
    if proxy.server == "granian":  # no h2c Upgrade: a plain HTTP/1.1 answer, nothing logged
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert closed == []
        return
    assert len(closed) == 1 and named in str(closed[0]["message"])
    assert str(closed[0]["peer"]).startswith("127.0.0.1:")
