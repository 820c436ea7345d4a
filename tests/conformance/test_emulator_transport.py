"""Transports: HTTP/1.1, h2c with prior knowledge, TLS with ALPN h2 from a fresh test CA (serve.py, tls.py)."""

from __future__ import annotations

import ssl
import subprocess
import sys

import httpx
import orjson
import pytest

from conformance.emulator.testing import RunningEmulator, read_announcement, running_emulator

STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
KEY = {"x-goog-api-key": "k"}


def events(text: str) -> list[dict]:
    return [orjson.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_plain_listener_speaks_http_1_1(emulator: RunningEmulator) -> None:
    with httpx.Client(base_url=emulator.base_url, headers=KEY) as client:
        response = client.post(STREAM, json=HELLO)
    assert response.http_version == "HTTP/1.1"
    assert len(events(response.text)) == 3
    assert [r["http_version"] for r in emulator.requests()] == ["1.1"]  # the record says so


def test_plain_listener_speaks_h2c_with_prior_knowledge(emulator: RunningEmulator) -> None:
    with httpx.Client(base_url=emulator.base_url, headers=KEY, http1=False, http2=True) as client:
        responses = [client.post(STREAM, json=HELLO) for _ in range(3)]
    assert {r.http_version for r in responses} == {"HTTP/2"}
    assert all(len(events(r.text)) == 3 for r in responses)
    assert [r["http_version"] for r in emulator.requests()] == ["2", "2", "2"]


def test_tls_listener_negotiates_h2_with_the_generated_ca() -> None:
    with running_emulator(tls=True) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:")
        assert emu.ca_path is not None
        context = ssl.create_default_context(cafile=str(emu.ca_path))
        with httpx.Client(base_url=emu.base_url, headers=KEY, http2=True, verify=context) as client:
            response = client.post(STREAM, json=HELLO)
        assert response.http_version == "HTTP/2"
        assert len(events(response.text)) == 3
        with httpx.Client(base_url=emu.base_url, headers=KEY, verify=context) as client:
            assert client.post(STREAM, json=HELLO).http_version == "HTTP/1.1"


def test_tls_listener_is_not_trusted_without_the_ca() -> None:
    with running_emulator(tls=True) as emu, httpx.Client(base_url=emu.base_url) as client:
        try:
            client.get("/v1beta/models")
        except httpx.ConnectError as exc:
            assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
        else:
            raise AssertionError("an untrusted certificate was accepted")


def start_cli(*options: str) -> tuple[subprocess.Popen[str], str, str | None]:
    """Run `compatkit emulate --port 0 ...`; return the process, base URL and CA path (if TLS)."""
    command = [sys.executable, "-c", "import compat_cli, sys; sys.exit(compat_cli.main())"]
    process = subprocess.Popen(
        [*command, "emulate", "--port", "0", *options], stdout=subprocess.PIPE, text=True
    )
    base_url, ca = read_announcement(process, timeout_s=120)
    return process, base_url, str(ca) if ca else None


@pytest.mark.parametrize("server", ["granian", "hypercorn", "uvicorn"])
def test_compatkit_emulate_serves_until_terminated(server: str) -> None:
    process, base_url, _ = start_cli("--server", server)
    try:
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.post(base_url + STREAM, json=HELLO, headers=KEY, timeout=30).status_code == 200
        with httpx.Client(http1=False, http2=True) as h2c:
            if server != "uvicorn":  # uvicorn is HTTP/1.1 only
                assert h2c.post(base_url + STREAM, json=HELLO, headers=KEY).http_version == "HTTP/2"
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_compatkit_emulate_tls_on_granian_negotiates_h2() -> None:
    process, base_url, ca = start_cli("--tls")
    try:
        assert base_url.startswith("https://") and ca is not None
        context = ssl.create_default_context(cafile=ca)
        with httpx.Client(http2=True, verify=context) as client:
            response = client.post(base_url + STREAM, json=HELLO, headers=KEY)
        assert response.http_version == "HTTP/2"
        assert len(events(response.text)) == 3
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_the_tls_certificate_names_the_address_it_listens_on() -> None:
    """127.0.0.2 stands for an address in a network namespace (the bench runner's delay)."""
    process, base_url, ca = start_cli("--tls", "--host", "127.0.0.2")
    try:
        assert base_url.startswith("https://127.0.0.2:") and ca is not None
        context = ssl.create_default_context(cafile=ca)
        response = httpx.post(base_url + STREAM, json=HELLO, headers=KEY, verify=context)
        assert response.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_compatkit_emulate_rejects_a_bad_config(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenarios.a]\nnope = 1\n")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import compat_cli, sys; sys.exit(compat_cli.main())",
            "emulate",
            "--config",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "scenarios.a.nope" in result.stderr


def test_emulator_process_helper_runs_granian_and_reads_records_over_http() -> None:
    from conformance.emulator.testing import emulator_process

    with emulator_process(tls=True) as emu:
        assert emu.ca_path is not None
        context = ssl.create_default_context(cafile=str(emu.ca_path))
        with httpx.Client(http2=True, verify=context) as client:
            assert client.post(emu.url(STREAM), json=HELLO, headers=KEY).http_version == "HTTP/2"
        assert [(r["verdict"], r["http_version"]) for r in emu.requests()] == [("ok", "2")]
        emu.reset()
        assert emu.requests() == []


def test_emulator_process_speaks_h2c_with_prior_knowledge_and_records_it() -> None:
    """granian's plain listener (what `compatkit emulate` runs) serves HTTP/1.1 and h2c alike, and
    each record says which one a request came over (what the proxy's h2c upstream test reads)."""
    from conformance.emulator.testing import emulator_process

    with emulator_process() as emu:
        with httpx.Client(http1=False, http2=True) as client:
            assert client.post(emu.url(STREAM), json=HELLO, headers=KEY).http_version == "HTTP/2"
        with httpx.Client() as client:
            assert client.post(emu.url(STREAM), json=HELLO, headers=KEY).http_version == "HTTP/1.1"
        assert [r["http_version"] for r in emu.requests()] == ["2", "1.1"]


def test_emulator_process_keeps_answering_after_many_dropped_connections() -> None:
    """Each `drop` fault makes granian log a traceback; the parent of `emulator_process` reads only
    the announcement from the worker's stdout, so those logs once filled the 64 KiB pipe after ~80
    drops and the worker blocked in write(), answering nothing more (issue 17's soak). They are now
    filtered out, and granian logs on stderr."""
    from conformance.emulator.testing import emulator_process

    drop = {"contents": [{"role": "user", "parts": [{"text": "[scenario:drop_after_2] hi"}]}]}
    with emulator_process() as emu, httpx.Client(headers=KEY, timeout=10) as client:
        for _ in range(200):  # ~160 KiB of tracebacks before the fix
            with pytest.raises(httpx.RemoteProtocolError):
                client.post(emu.url(STREAM), json=drop)
        after = client.post(emu.url(STREAM), json=HELLO)
    assert after.status_code == 200
    assert len(events(after.text)) == 3
