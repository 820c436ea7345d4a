"""Every start-up failure of `compatkit serve` (issue 16.2): a real process exits with status 2
and one line on stderr naming the problem; never a traceback, never a hang (each run has a
timeout), never a "listening on" line for a server that does not serve."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme

from server.config import SERVERS
from tests.server.conftest import serve_argv

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


@dataclass(frozen=True)
class Files:
    """The inputs the cases point at, made in one temporary directory."""

    dir: Path
    busy_port: int

    def __truediv__(self, name: str) -> str:
        return str(self.dir / name)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    root = tmp_path_factory.mktemp("startup")
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    ca.issue_cert("127.0.0.1").private_key_pem.write_to_path(str(root / "key.pem"))
    ca.issue_cert("localhost").private_key_pem.write_to_path(str(root / "other-key.pem"))
    (root / "not.pem").write_text("not a PEM file\n")
    (root / "dir").mkdir()
    os.mkfifo(root / "fifo")
    (root / "latin1.toml").write_bytes('[server]\nhost = "café"\n'.encode("latin-1"))
    (root / "utf16.toml").write_bytes("[server]\nport = 8080\n".encode("utf-16"))
    (root / "deep.toml").write_text("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")
    (root / "deep-array.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    (root / "garbage.sqlite3").write_bytes(b"garbage, not a database\n" * 100)
    _truncated_database(root / "truncated.sqlite3")
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield Files(root, busy.getsockname()[1])


def _truncated_database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 100,)] * 2000)
    db.commit()
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


Case = Callable[[Files], tuple[list[str], dict[str, str]]]
"""The command-line arguments and environment of one bad start, given the files."""

CASES: dict[str, tuple[Case, str]] = {
    # TLS: both files or neither, each a PEM file, the key the certificate's
    "certfile without keyfile": (
        lambda f: (["--certfile", f / "cert.pem"], {}),
        "--certfile needs --keyfile too",
    ),
    "keyfile without certfile": (
        lambda f: (["--keyfile", f / "key.pem"], {}),
        "--keyfile needs --certfile too",
    ),
    "both cert files missing": (
        lambda f: (["--certfile", f / "none.pem", "--keyfile", f / "none.key"], {}),
        "none.pem: No such file or directory",
    ),
    "cert and key not PEM": (
        lambda f: (["--certfile", f / "not.pem", "--keyfile", f / "not.pem"], {}),
        "not a PEM certificate and its private key",
    ),
    "key of another certificate": (
        lambda f: (["--certfile", f / "cert.pem", "--keyfile", f / "other-key.pem"], {}),
        "the key is not the certificate's",
    ),
    "certfile a FIFO": (
        lambda f: (["--certfile", f / "fifo", "--keyfile", f / "key.pem"], {}),
        "is not a regular file",
    ),
    "CA file not PEM": (
        lambda f: ([], {"COMPATKIT_CA_FILE": f / "not.pem"}),
        "is not a PEM file of CA certificates",
    ),
    "CA file not PEM, with workers": (
        lambda f: (
            ["--workers", "2"],
            {"COMPATKIT_CA_FILE": f / "not.pem", "COMPATKIT_STATE_URL": "redis://127.0.0.1:1/0"},
        ),
        "is not a PEM file of CA certificates",
    ),
    "CA file a FIFO": (
        lambda f: ([], {"COMPATKIT_CA_FILE": f / "fifo"}),
        "is not a regular file",
    ),
    # the socket
    "port in use": (
        lambda f: (["--port", str(f.busy_port)], {}),
        "the port is already in use",
    ),
    "port -1": (lambda f: (["--port", "-1"], {}), "--port must be a port number 0-65535"),
    "port 70000": (lambda f: (["--port", "70000"], {}), "--port must be a port number 0-65535"),
    "host with a space": (
        lambda f: (["--host", "not a host"], {}),
        "--host must be an IP address or a host name",
    ),
    "host 256.0.0.1": (
        lambda f: ([], {"COMPATKIT_HOST": "256.0.0.1"}),
        "COMPATKIT_HOST must be an IP address or a host name",
    ),
    "host with a port": (
        lambda f: (["--host", "127.0.0.1:8080"], {}),
        "the port is a setting of its own",
    ),
    "host not ASCII": (
        lambda f: ([], {"COMPATKIT_HOST": "é"}),
        "COMPATKIT_HOST must be an IP address or a host name",
    ),
    "host that does not resolve": (
        lambda f: (["--host", "no-such-host.invalid"], {}),
        "not an address or a name that resolves",
    ),
    "host not of this machine": (
        lambda f: (["--host", "192.0.2.1"], {}),
        "the address is not one of this machine's",
    ),
    # the state file
    "state file in a missing directory": (
        lambda f: ([], {"COMPATKIT_STATE_PATH": f / "missing/state.sqlite3"}),
        "does not exist",
    ),
    "state file /proc/version": (
        lambda f: ([], {"COMPATKIT_STATE_PATH": "/proc/version"}),
        "state file /proc/version cannot be used",
    ),
    "state file /": (lambda f: ([], {"COMPATKIT_STATE_PATH": "/"}), "state file / is a directory"),
    "state file a directory": (
        lambda f: ([], {"COMPATKIT_STATE_PATH": f / "dir"}),
        "is a directory",
    ),
    "state file garbage": (
        lambda f: ([], {"COMPATKIT_STATE_PATH": f / "garbage.sqlite3"}),
        "file is not a database",
    ),
    "state file truncated": (
        lambda f: ([], {"COMPATKIT_STATE_PATH": f / "truncated.sqlite3"}),
        "truncated.sqlite3",
    ),
    "state file a FIFO": (
        lambda f: ([], {"COMPATKIT_STATE_PATH": f / "fifo"}),
        "is not a regular file",
    ),
    # the configuration file
    "config /": (lambda f: ([], {"COMPATKIT_CONFIG": "/"}), "config file / is a directory"),
    "config a FIFO nobody writes": (
        lambda f: (["--config", f / "fifo"], {}),
        "is not a regular file",
    ),
    "config not UTF-8": (
        lambda f: (["--config", f / "latin1.toml"], {}),
        "is not UTF-8 text (byte 0xe9 at offset 20)",
    ),
    "config UTF-16": (lambda f: (["--config", f / "utf16.toml"], {}), "is UTF-16 text"),
    "config nesting inline tables deeply": (
        lambda f: (["--config", f / "deep.toml"], {}),
        "nests arrays or inline tables too deeply",
    ),
    "config nesting arrays deeply": (
        lambda f: (["--config", f / "deep-array.toml"], {}),
        "nests arrays or inline tables too deeply",
    ),
    # OAuth credential files
    "OAuth file a FIFO": (
        lambda f: ([], {"COMPATKIT_OAUTH_FILES": f / "fifo"}),
        "is not a regular file",
    ),
    "OAuth file nesting deeply": (
        lambda f: ([], {"COMPATKIT_OAUTH_FILES": f / "deep.json"}),
        "is unreadable: RecursionError",
    ),
    # the command line
    "workers 0": (lambda f: (["--workers", "0"], {}), "--workers: must be from 1 to 64"),
    "workers not a number": (lambda f: (["--workers", "x"], {}), "--workers: must be an integer"),
    "workers 2 without Redis": (
        lambda f: (["--workers", "2"], {}),
        "--workers 2 needs the shared state store",
    ),
    "worker fd not a socket": (
        lambda f: (["--worker-fd", "999"], {}),
        "--worker-fd 999 is not an inherited socket",
    ),
    "unknown option": (lambda f: (["--frobnicate"], {}), "unrecognized arguments: --frobnicate"),
    "server unknown": (
        lambda f: (["--server", "nginx"], {}),
        "--server must be one of 'hypercorn', 'granian', got 'nginx'",
    ),
    "server unknown in the environment": (
        lambda f: ([], {"COMPATKIT_SERVER": "uvicorn"}),
        "COMPATKIT_SERVER must be one of 'hypercorn', 'granian', got 'uvicorn'",
    ),
}

ON_GRANIAN = (
    "cert and key not PEM",
    "key of another certificate",
    "certfile a FIFO",
    "port in use",
    "state file garbage",
    "state file truncated",
    "state file in a missing directory",
)
"""The cases that reach the server or the app's start-up hooks, run again with `--server
granian` (named "<case> [granian]")."""


@pytest.fixture(scope="module")
def runs(files: Files) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run once, a few at a time (each is a whole Python start-up); not the
    foreign address where the system lets any address be bound (it would serve)."""
    skipped = {"host not of this machine"} if _binds_any_address() else set()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_run_serve, *case(files), files.dir)
            for name, (case, _) in CASES.items()
            if name not in skipped
        }
        for name in ON_GRANIAN:
            args, env = CASES[name][0](files)
            futures[f"{name} [granian]"] = pool.submit(
                _run_serve, [*args, "--server", "granian"], env, files.dir
            )
        return {name: future.result() for name, future in futures.items()}


def _run_serve(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The finished run; one that outlives TIMEOUT_S is killed and fails its case alone."""
    argv = serve_argv(*args)
    try:
        return _run(argv, env, cwd)
    except subprocess.TimeoutExpired as exc:
        said = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return subprocess.CompletedProcess(
            argv, -1, "", said + f"\n[still running after {TIMEOUT_S} s]"
        )


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")},
            "COMPATKIT_PROXY_KEYS": "startup-key",
            "COMPATKIT_STATE_PATH": ":memory:",
            # an upstream, so no case starts the in-process emulator (OAuth cases name theirs)
            **({} if "COMPATKIT_OAUTH_FILES" in env else {"COMPATKIT_API_KEYS": "upstream-key"}),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,  # a hang fails the test
    )


@pytest.mark.parametrize("name", [*CASES, *(f"{name} [granian]" for name in ON_GRANIAN)])
def test_a_bad_start_is_one_line_and_exit_status_2(
    name: str, runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    if name not in runs:
        pytest.skip("net.ipv4.ip_nonlocal_bind is on: any address can be bound")
    process, reason = runs[name], CASES[name.removesuffix(" [granian]")][1]
    assert "Traceback" not in process.stderr
    lines = process.stderr.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    said = [line for line in lines if not line.startswith("{")]
    assert len(said) == 1, process.stderr
    assert said[0].startswith("compatkit serve: ") and reason in said[0]
    assert process.returncode == 2
    assert not [r for r in records if r["level"] == "error"]
    assert not [r for r in records if "listening on" in r["message"]]


@pytest.mark.parametrize("server", SERVERS)
def test_with_both_tls_files_it_serves_https_and_says_so(files: Files, server: str) -> None:
    """HTTPS, h2 and HTTP/1.1 by ALPN."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(files / "served-cert.pem")
    cert.private_key_pem.write_to_path(files / "served-key.pem")
    args = ["--certfile", files / "served-cert.pem", "--keyfile", files / "served-key.pem"]
    process = subprocess.Popen(
        serve_argv("--demo", *args, "--server", server),
        cwd=files.dir,
        env={
            **os.environ,
            "COMPATKIT_PROXY_KEYS": "startup-key",
            "COMPATKIT_STATE_PATH": ":memory:",
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = ""
        for line in process.stderr:
            if "listening on" in line:
                url = json.loads(line)["message"].rsplit(" ", 1)[1]
                break
        assert url.startswith("https://")
        with ca.cert_pem.tempfile() as ca_file:
            verify = ssl.create_default_context(cafile=ca_file)
            for http2, version in ((False, "HTTP/1.1"), (True, "HTTP/2")):
                with httpx.Client(verify=verify, http1=not http2, http2=http2) as client:
                    response = client.get(url + "/healthz")
                assert response.status_code == 200 and response.http_version == version
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def _binds_any_address() -> bool:
    setting = Path("/proc/sys/net/ipv4/ip_nonlocal_bind")
    return setting.exists() and setting.read_text().strip() == "1"
