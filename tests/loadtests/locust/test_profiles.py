"""`locust -f loadtests --headless` against `compatkit serve` and the emulator, all real processes.

Each run is bounded by Locust's own -t (a few seconds, a few users) and a backstop timeout.
What is checked is what a capacity tester reads: the exit status, Locust's CSV stats (E2E
with its typed failures, TTFB / TTFT / ITL / TPOT rows per route and workload) and the result
file the gate reads.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulator.testing import stop_process_group
from tests.loadtests.bench.servers import (
    ANSWER_500,
    CLOSE_MID_BODY,
    GARBAGE,
    HANG,
    raw_server,
    sse_answer,
)
from tests.loadtests.locust.stack import (
    PROXY_KEY,
    Stack,
    free_port,
    locust_command,
    locust_process,
    proxy_stack,
    run_locust,
)

ALL_USERS = ("AnthropicStreamingUser", "AnthropicJsonUser", "ClaudeCodeAgent",
             "OpenAIStreamingUser", "OpenAIJsonUser", "CountTokensUser")  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with proxy_stack(tmp_path_factory.mktemp("stack")) as started:
        yield started


def names(rows: list[dict[str, Any]]) -> set[str]:
    return {row["name"] for row in rows}


def count(rows: list[dict[str, Any]], key: str = "num_requests") -> int:
    return sum(int(row[key]) for row in rows)


def test_every_user_runs_with_its_metrics_and_no_failure(stack: Stack, tmp_path: Path) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "11", "-r", "11", "-t", "6s")
    assert run.status == 0, run.output[-3000:]
    e2e = run.rows("E2E")
    assert names(e2e) >= {
        "/v1/messages [small_chat]", "/v1/messages [small_chat_json]", "/v1/messages [agent]",
        "/v1/chat/completions [openai_chat]", "/v1/chat/completions [openai_chat_json]",
        "/v1/messages/count_tokens [agent_start]",
    }  # fmt: skip
    assert count(e2e, "num_failures") == 0
    streamed = {"/v1/messages [small_chat]", "/v1/messages [agent]",
                "/v1/chat/completions [openai_chat]"}  # fmt: skip
    for kind in ("TTFB", "TTFT", "ITL", "TPOT"):
        assert names(run.rows(kind)) >= streamed, kind
    assert "/v1/messages [small_chat_json]" not in names(run.rows("TTFT"))  # no stream, no TTFT
    # every request is one sample of the result file, in one block per workload
    document = run.results()
    samples = [s for block in document["blocks"] for s in block["samples"]]
    assert len(samples) == count(e2e)
    assert {b["workload"] for b in document["blocks"]} >= {"small_chat", "agent", "openai_chat"}
    assert document["arms"] == [{"name": "locust", "role": "candidate", "kind": "locust",
                                 "description": "locust -f loadtests", "url": stack.proxy_url}]  # fmt: skip
    assert all(s["error"] is None and s["status"] == 200 for s in samples)
    streamed_samples = [s for s in samples if s["stream"]]
    assert streamed_samples and all(s["ttft_ms"] is not None for s in streamed_samples)
    # the agent's sessions go on past their first turn: tool_use answered by tool_result
    agent = [row for row in e2e if row["name"] == "/v1/messages [agent]"]
    assert agent[0]["num_requests"] > 2


def test_a_missed_objective_exits_3_and_a_met_one_0(stack: Stack, tmp_path: Path) -> None:
    met = run_locust(tmp_path, stack.proxy_url, "-u", "2", "-r", "2", "-t", "3s",
                     "--compatkit-mix", "anthropic=1",
                     "--compatkit-slo", "locust.error_rate <= 1%",
                     "--compatkit-slo", "locust.e2e.p50 <= 60s")  # fmt: skip
    assert met.status == 0, met.output[-3000:]
    missed = run_locust(tmp_path, stack.proxy_url, "-u", "2", "-r", "2", "-t", "3s",
                        "--compatkit-mix", "anthropic=1",
                        "--compatkit-slo", "locust.ttft.p50 <= 0.001ms")  # fmt: skip
    assert missed.status == 3, missed.output[-3000:]
    assert "ttft" in missed.output


@pytest.mark.parametrize(
    ("scenario", "mix", "errors", "kind"),
    [
        # the proxy turns the upstream's drop, or its broken chunk, into an error event
        ("drop_after_2", "anthropic=1,openai=1",
         {"UpstreamError('api_error (error event mid-stream)')",
          "UpstreamError('server_error (error event mid-stream)')"}, "stream"),
        ("malformed_chunk", "openai=1",
         {"UpstreamError('server_error (error event mid-stream)')"}, "stream"),
        # no capacity upstream: Anthropic's 529, OpenAI's 503
        ("capacity_503", "anthropic_json=1,openai=1",
         {"Overloaded('overloaded_error (HTTP 529)')", "Overloaded('server_error (HTTP 503)')"},
         "http"),
    ],
)  # fmt: skip
def test_an_upstream_fault_is_a_typed_failure_and_locust_exits_1(
    stack: Stack, tmp_path: Path, scenario: str, mix: str, errors: set[str], kind: str
) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "2", "-r", "2", "-t", "3s",
                     "--compatkit-mix", mix, "--compatkit-scenario", scenario)  # fmt: skip
    assert run.status == 1, run.output[-3000:]
    assert set(run.errors()) == errors, run.output[-3000:]
    assert count(run.rows("TTFT")) == 0  # no timing rows for a failed reply
    samples = [s for b in run.results()["blocks"] for s in b["samples"]]
    assert samples and all(s["error"]["kind"] == kind for s in samples)


def test_the_long_streams_shape_asks_for_long_replies(stack: Stack, tmp_path: Path) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "2", "-r", "2", "-t", "3s",
                     "--compatkit-mix", "openai=1", "--compatkit-shape", "long_streams")  # fmt: skip
    assert run.status == 0, run.output[-3000:]
    samples = [s for b in run.results()["blocks"] for s in b["samples"]]
    assert samples and {s["output_tokens"] for s in samples} == {200}  # the long_text scenario
    assert all(len(s["itl_ms"]) > 20 for s in samples)


def test_the_storm_shape_meets_429s_typed_as_rate_limited(stack: Stack, tmp_path: Path) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "2", "-r", "2", "-t", "3s",
                     "--compatkit-mix", "anthropic_json=1", "--compatkit-shape", "storm")  # fmt: skip
    assert run.status == 1, run.output[-3000:]
    assert set(run.errors()) == {"RateLimited('rate_limit_error (HTTP 429)')"}


def test_the_ramp_shape_steps_users_up_within_the_run_time(stack: Stack, tmp_path: Path) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "8", "-r", "8", "-t", "4s",
                     "--compatkit-mix", "anthropic=1", "--compatkit-shape", "ramp")  # fmt: skip
    assert run.status == 0, run.output[-3000:]
    steps = [line for line in run.output.splitlines() if "Shape test updating to" in line]
    users = [int(line.split("updating to ")[1].split()[0]) for line in steps]
    assert users == sorted(users) and users[0] < users[-1] <= 8 and len(users) >= 3


def test_the_spike_shape_jumps_to_all_users_and_back(stack: Stack, tmp_path: Path) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "8", "-r", "8", "-t", "6s",
                     "--compatkit-mix", "anthropic_json=1", "--compatkit-shape", "spike")  # fmt: skip
    assert run.status == 0, run.output[-3000:]
    steps = [line for line in run.output.splitlines() if "Shape test updating to" in line]
    assert [int(line.split("updating to ")[1].split()[0]) for line in steps] == [2, 8, 2]


def test_the_profiles_import_neither_asyncio_nor_the_server_nor_the_bench_runner() -> None:
    """Locust runs on gevent; loadtests never imports server (docs/design.md)."""
    script = (
        "import sys, locust\n"
        "import loadtests.users, loadtests.shapes\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('asyncio', 'server')\n"
        "             or m.startswith('loadtests._bench')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_a_stream_that_breaks_the_event_grammar_is_a_protocol_violation(tmp_path: Path) -> None:
    no_stop = [("message_start", {"type": "message_start", "message": {"id": "m",
               "type": "message", "role": "assistant", "content": [], "model": "x",
               "usage": {"input_tokens": 1, "output_tokens": 1}}})]  # fmt: skip
    with raw_server(sse_answer(no_stop)) as url:
        run = run_locust(tmp_path, url, "-u", "1", "-r", "1", "-t", "2s",
                         "--compatkit-mix", "anthropic=1")  # fmt: skip
    assert run.status == 1
    assert set(run.errors()) == {"ProtocolViolation('grammar: truncated')"}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (GARBAGE, "ProtocolViolation('protocol: bad_http')"),
        (CLOSE_MID_BODY, "ProtocolViolation('protocol: invalid_json')"),
        (ANSWER_500, "UpstreamError('api_error (HTTP 500)')"),
    ],
)
def test_a_misbehaving_server_is_a_typed_failure(
    tmp_path: Path, answer: Callable[[bytes, bytes], bytes | None], error: str
) -> None:
    with raw_server(answer) as url:
        run = run_locust(tmp_path, url, "-u", "1", "-r", "1", "-t", "2s",
                         "--compatkit-mix", "anthropic_json=1", timeout_s=45)  # fmt: skip
    assert run.status == 1
    assert set(run.errors()) == {error}, run.output[-3000:]


def test_an_unreachable_host_fails_each_request_and_stops_at_the_time_limit(
    tmp_path: Path,
) -> None:
    run = run_locust(tmp_path, f"http://127.0.0.1:{free_port()}", "-u", "2", "-r", "2",
                     "-t", "2s", "--compatkit-mix", "openai=1", timeout_s=45)  # fmt: skip
    assert run.status == 1
    errors = set(run.errors())
    assert errors == {"ConnectionFailed('ConnectionRefusedError')"}


def test_a_server_that_never_answers_is_a_timeout_not_a_hang(tmp_path: Path) -> None:
    with raw_server(HANG) as url:
        run = run_locust(tmp_path, url, "-u", "1", "-r", "1", "-t", "3s",
                         "--compatkit-mix", "anthropic_json=1", "--compatkit-timeout", "1",
                         timeout_s=45)  # fmt: skip
    assert run.status == 1
    assert set(run.errors()) == {"TimedOut('timeout')"}


def test_a_wrong_key_is_a_refused_request(stack: Stack, tmp_path: Path) -> None:
    run = run_locust(tmp_path, stack.proxy_url, "-u", "1", "-r", "1", "-t", "2s",
                     "--compatkit-mix", "anthropic=1", "--compatkit-key", "sk-wrong")  # fmt: skip
    assert run.status == 1
    assert set(run.errors()) == {"RequestRefused('authentication_error (HTTP 401)')"}


def test_a_bad_option_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    done = subprocess.run(
        locust_command("--headless", "-t", "1s", "--compatkit-mix", "anthropc=1"),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--compatkit-mix: unknown user 'anthropc'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_master_with_two_workers_gathers_every_sample(stack: Stack, tmp_path: Path) -> None:
    port = free_port()
    workers = [
        locust_process(locust_command("--worker", "--master-port", str(port)), tmp_path)
        for _ in range(2)
    ]
    try:
        run = run_locust(tmp_path, stack.proxy_url, "--master", "--master-bind-port", str(port),
                         "--expect-workers", "2", "--expect-workers-max-wait", "30",
                         "-u", "4", "-r", "4", "-t", "5s",
                         "--compatkit-mix", "anthropic=1,openai=1")  # fmt: skip
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=20)  # the master tells them to quit
            finally:
                stop_process_group(worker)
    assert run.status == 0, run.output[-3000:]
    e2e = run.rows("E2E")
    samples = [s for b in run.results()["blocks"] for s in b["samples"]]
    assert count(e2e) > 0 and len(samples) == count(e2e)
    assert run.results()["blocks"][0]["concurrency"] == 4


def test_the_web_ui_offers_the_options_and_shapes_and_swarms_with_them(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    ui = locust_process(locust_command("--web-host", "127.0.0.1", "--web-port", str(port)),
                        tmp_path)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        page = ""
        for _ in range(100):  # until the UI answers (it has no readiness line of its own)
            with contextlib.suppress(httpx.HTTPError):
                page = httpx.get(base + "/", timeout=5).text
                break
            time.sleep(0.1)
        for option in ("compatkit_key", "compatkit_scenario", "compatkit_shape"):
            assert option in page
        assert '"host": "http://127.0.0.1:8080"' in page  # the users' default host
        assert '"CompatkitShape", "LongStreams", "Ramp", "Soak", "Spike", "Steady", "Storm"' in page
        form = {"user_count": "2", "spawn_rate": "2", "host": stack.proxy_url,
                "compatkit_key": PROXY_KEY, "compatkit_scenario": "long_text"}  # fmt: skip
        assert httpx.post(base + "/swarm", data=form, timeout=10).json()["success"]
        rows: list[dict[str, Any]] = []
        for _ in range(100):  # until both users have finished a request
            rows = httpx.get(base + "/stats/requests", timeout=10).json()["stats"]
            if sum(row["num_requests"] for row in rows if row["method"] == "E2E") >= 2:
                break
            time.sleep(0.1)
        e2e = [row for row in rows if row["method"] == "E2E"]
        assert e2e and sum(row["num_failures"] for row in e2e) == 0
        assert {row["method"] for row in rows} >= {"E2E", "TTFB"}
        httpx.get(base + "/stop", timeout=10)
    finally:
        stop_process_group(ui)
