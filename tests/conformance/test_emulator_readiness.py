"""Readiness (readiness.py): only an answer over every protocol the listener serves counts.

A socket that accepts but never answers, a TLS listener whose certificate the client cannot trust,
and an HTTP/1.1-only server asked for HTTP/2 are all "not answering"; a running emulator answers,
and its readiness requests are not recorded.
"""

from __future__ import annotations

import socket
import ssl

import pytest

from conformance.emulator.readiness import NotAnswering, wait_until_answering
from conformance.emulator.serve import bind_socket
from conformance.emulator.testing import running_emulator
from conformance.emulator.tls import make_certificates

SHORT_DEADLINE_S = 1.0  # bounds the wait for a server that will never answer; nothing is timed


def test_a_listening_socket_that_never_answers_is_not_ready() -> None:
    with bind_socket() as placeholder:  # accepts connections into its backlog, answers nothing
        host, port = placeholder.getsockname()[:2]
        with pytest.raises(NotAnswering, match=r"HTTP/1\.1"):
            wait_until_answering(f"http://{host}:{port}", deadline_s=SHORT_DEADLINE_S)


def test_a_refused_port_is_not_ready() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = unused.getsockname()[1]
        with pytest.raises(NotAnswering, match="ConnectError"):
            wait_until_answering(f"http://127.0.0.1:{port}", deadline_s=SHORT_DEADLINE_S)


def test_stops_waiting_as_soon_as_the_server_is_gone() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        with pytest.raises(NotAnswering, match="stopped"):
            wait_until_answering(f"http://127.0.0.1:{port}", deadline_s=600, gone=lambda: True)


def test_a_running_emulator_answers_over_http1_and_h2c_and_records_nothing() -> None:
    with running_emulator() as emulator:
        wait_until_answering(emulator.base_url, deadline_s=SHORT_DEADLINE_S)
        assert emulator.requests() == []


def test_tls_readiness_needs_h2_with_a_certificate_from_the_given_ca(tmp_path) -> None:
    with running_emulator(tls=True) as emulator:
        wait_until_answering(emulator.base_url, ca_path=emulator.ca_path, deadline_s=10)
        stranger = make_certificates(tmp_path).ca_path  # a different CA: the handshake fails
        with pytest.raises(
            NotAnswering, match=ssl.SSLCertVerificationError.__name__ + "|CERTIFICATE"
        ):
            wait_until_answering(emulator.base_url, ca_path=stranger, deadline_s=SHORT_DEADLINE_S)


def test_an_http1_only_server_is_not_ready_for_http2_clients() -> None:
    with running_emulator(server="uvicorn") as emulator:
        wait_until_answering(emulator.base_url, http2=False, deadline_s=10)
        with pytest.raises(NotAnswering, match="HTTP/2"):
            wait_until_answering(emulator.base_url, deadline_s=SHORT_DEADLINE_S)
