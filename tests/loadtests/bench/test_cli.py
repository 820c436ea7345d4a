"""`compatkit bench` as a user runs it: URL arms against two proxies, bad input, the summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import result_format
from tests.loadtests.bench.servers import ANSWER_500, HANG, raw_server, sse_answer

ROOT = Path(__file__).resolve().parents[3]
CLIENT_ERRORS = {"connect", "timeout", "protocol", "grammar"}


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_cli", "bench", "--quiet", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_proxy(key: str) -> Iterator[str]:
    """`compatkit serve --demo`: it runs the emulator in-process."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
    env.update(COMPATKIT_PROXY_KEYS=key, COMPATKIT_STATE_PATH=":memory:")
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--demo", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                body = {"model": "claude-haiku-4-5", "max_tokens": 16,
                        "messages": [{"role": "user", "content": "ready?"}]}  # fmt: skip
                if httpx.post(url + "/v1/messages", json=body, headers={"x-api-key": key},
                              timeout=2).status_code == 200:  # fmt: skip
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the proxy did not start")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def test_url_arms_measure_two_running_proxies_black_box(tmp_path: Path) -> None:
    with demo_proxy("k1") as first, demo_proxy("k1") as second:
        done = bench("--baseline-url", first, "--candidate-url", second, "--api-key", "k1",
                     "--quick", "--seed", "5", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = result_format.load(tmp_path / "results.json")
    assert [(a["name"], a["kind"], a["url"]) for a in doc["arms"]] == [
        ("baseline", "url", first), ("candidate", "url", second)
    ]  # fmt: skip
    assert doc["environment"]["trees"] == {}  # no tree of ours ran an arm
    assert all(len(b["samples"]) == doc["plan"]["load"]["requests"] for b in doc["blocks"])
    errors = [s["error"] for b in doc["blocks"] for s in b["samples"] if s["error"]]
    assert errors == []
    assert "baseline" in done.stdout and "candidate / baseline" in done.stdout  # the summary


def _one_line_error(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("compatkit bench: ") and expected in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_malformed_plan_is_one_line_and_exit_2(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'name = "x"\n[load]\nrate = "fast"\n[[arms]]\nname = "a"\n[[arms]]\nname = "b"\n'
    )
    _one_line_error(bench("--plan", str(plan), "--out", str(tmp_path)),
                    "plan.toml: load.rate: must be a positive number, got 'fast'")  # fmt: skip
    plan.write_text("name = \n")
    _one_line_error(bench("--plan", str(plan), "--out", str(tmp_path)), "plan.toml: not TOML")


def test_usage_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    _one_line_error(bench("--track", "ff_retry_policy_v2"), "--out DIR is required")
    _one_line_error(bench("--baseline-url", "http://127.0.0.1:9", "--out", str(tmp_path)),
                    "--baseline-url and --candidate-url go together")  # fmt: skip
    _one_line_error(bench("--track", "nope", "--out", str(tmp_path)), "invalid choice: 'nope'")


def test_an_unreachable_url_is_one_line_and_exit_2_within_seconds(tmp_path: Path) -> None:
    port = _free_port()
    started = time.monotonic()
    done = bench("--baseline-url", f"http://127.0.0.1:{port}", "--candidate-url",
                 f"http://127.0.0.1:{port}", "--out", str(tmp_path), timeout=60)  # fmt: skip
    _one_line_error(done, f"arm 'baseline': http://127.0.0.1:{port} does not answer (connect: ")
    assert time.monotonic() - started < 30


def test_a_url_that_hangs_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with raw_server(HANG) as url:
        done = bench(
            "--baseline-url", url, "--candidate-url", url, "--out", str(tmp_path), timeout=60
        )
    _one_line_error(done, "does not answer (timeout: ")


def _url_plan(tmp_path: Path, timeout_s: float = 30) -> Path:
    plan = tmp_path / "urls.toml"
    plan.write_text(
        'name = "urls"\n'
        '[[arms]]\nname = "a"\nrole = "baseline"\nkind = "url"\nurl = "http://127.0.0.1:9"\n'
        '[[arms]]\nname = "b"\nrole = "candidate"\nkind = "url"\nurl = "http://127.0.0.1:9"\n'
        f"[load]\nrate = 20.0\nrequests = 6\nwarmup = 1\nrounds = 2\ntimeout_s = {timeout_s}\n"
    )
    return plan


def test_a_proxy_answering_500s_is_measured_as_errors_in_the_file(tmp_path: Path) -> None:
    stream = [("message_start", {"type": "message_start", "message": {}}),
              ("message_stop", {"type": "message_stop"})]  # fmt: skip
    with raw_server(ANSWER_500) as bad, raw_server(sse_answer(stream)) as good:
        done = bench("--plan", str(_url_plan(tmp_path)), "--baseline-url", good,
                     "--candidate-url", bad, "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    errors = {b["arm"]: {json.dumps(s["error"]) for s in b["samples"]} for b in doc["blocks"]}
    assert errors["candidate"] == {
        json.dumps({"kind": "http", "type": "api_error", "message": "boom"})
    }
    assert errors["baseline"] == {"null"}


def test_a_proxy_that_hangs_mid_stream_is_measured_as_timeouts_never_a_hang(tmp_path: Path) -> None:
    def headers_then_silence(head: bytes, body: bytes) -> bytes | None:
        return b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

    with raw_server(headers_then_silence) as url:
        started = time.monotonic()
        done = bench("--plan", str(_url_plan(tmp_path, timeout_s=0.5)), "--baseline-url", url,
                     "--candidate-url", url, "--out", str(tmp_path), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = result_format.load(tmp_path / "results.json")
    kinds = {s["error"]["kind"] for b in doc["blocks"] for s in b["samples"]}
    assert kinds == {"timeout"}
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("flag", ["--help", "--list-tracks"])
def test_help_and_the_track_list(flag: str) -> None:
    done = bench(flag)
    assert done.returncode == 0 and "ff_http2_pool_tuning" in done.stdout
