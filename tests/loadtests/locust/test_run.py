"""The run's samples make a result file the gate reads: results-v1, one block per workload."""

from __future__ import annotations

from pathlib import Path

import pytest

import result_format
from loadtests._common import ErrorInfo, Measured
from loadtests._locust._options import Settings
from loadtests._locust._run import RunLog

T0 = 1_780_000_000.0


def stream(ttft: float, gaps: list[float], tokens: int) -> Measured:
    e2e = ttft + sum(gaps)
    return Measured(status=200, ttfb=ttft / 2, ttft=ttft, itl=gaps, e2e=e2e, output_tokens=tokens)


def test_samples_are_kept_only_for_a_result_file_or_objectives() -> None:
    log = RunLog(Settings())
    log.record(stream(0.01, [0.001], 2), start_wall=T0, workload="small_chat", stream=True)
    assert log.samples == [] and not log.keep
    log.settings = Settings.parse(slo=["locust.ttft.p50 <= 5ms"])
    assert log.keep


def test_the_document_is_valid_and_rebased_on_the_first_request(tmp_path: Path) -> None:
    log = RunLog(Settings.parse(results=str(tmp_path / "r.json"), arm="base", role="baseline"))
    log.record(stream(0.010, [0.002, 0.003], 3), start_wall=T0 + 1, workload="small_chat",
               stream=True)  # fmt: skip
    log.record(stream(0.020, [0.001], 2), start_wall=T0 + 2, workload="small_chat", stream=True)
    failed = Measured(status=429, ttfb=0.004, error=ErrorInfo("http", "rate_limit_error", "slow"))
    log.record(failed, start_wall=T0, workload="openai_chat", stream=True)
    log.saw_users(8)
    log.saw_users(4)
    document = log.document(host="http://127.0.0.1:8080", cpu_warning=False, command=["locust"])
    result_format.validate(document)
    assert document["arms"][0] == {"name": "base", "role": "baseline", "kind": "locust",
                                   "description": "locust -f loadtests",
                                   "url": "http://127.0.0.1:8080"}  # fmt: skip
    assert document["environment"]["network"] == {"mode": "loopback"}
    blocks = {block["workload"]: block for block in document["blocks"]}
    chat, openai = blocks["small_chat"], blocks["openai_chat"]
    assert [s["start_s"] for s in chat["samples"]] == [1.0, 2.0]
    assert openai["samples"][0]["start_s"] == 0.0
    assert openai["samples"][0]["error"] == {"kind": "http", "type": "rate_limit_error",
                                             "message": "slow"}  # fmt: skip
    assert chat["samples"][0]["itl_ms"] == [2.0, 3.0] and chat["samples"][0]["tpot_ms"] == 2.5
    assert (chat["mode"], chat["concurrency"], chat["round"]) == ("closed", 8, 0)
    assert chat["started_s"] == 1.0 and chat["ended_s"] == pytest.approx(2.021)
    assert chat["validity"] == {"status": "valid", "reasons": []}


def test_a_run_that_saturated_locust_s_cpu_is_inconclusive() -> None:
    log = RunLog(Settings.parse(results="r.json"))
    log.record(stream(0.01, [0.001], 2), start_wall=T0, workload="small_chat", stream=True)
    document = log.document(host="https://proxy.example", cpu_warning=True)
    result_format.validate(document)
    assert document["blocks"][0]["validity"]["status"] == "inconclusive"
    assert document["environment"]["network"] == {"mode": "remote"}


def test_a_worker_ships_what_it_has_and_the_master_gathers_it() -> None:
    worker, master = RunLog(Settings.parse(results="r.json")), RunLog(Settings())
    worker.record(stream(0.01, [], 1), start_wall=T0, workload="small_chat", stream=True)
    master.extend(worker.take())
    assert worker.take() == [] and len(master.samples) == 1


def test_a_new_run_starts_a_new_log() -> None:
    log = RunLog(Settings.parse(results="r.json"))
    log.record(stream(0.01, [], 1), start_wall=T0, workload="small_chat", stream=True)
    log.saw_users(5)
    log.restart()
    assert (log.samples, log.peak_users) == ([], 0)
