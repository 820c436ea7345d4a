"""The scripting control route (`POST /_emulator/script`) and the replies the recorder keeps: how
the conformance runner scripts each case out of band and reads back what the upstream answered."""

from __future__ import annotations

import json
from typing import Any

import httpx

from conformance.emulator.testing import RunningEmulator

MODEL_PATH = "/v1beta/models/gemini-2.5-flash"


def generate(gemini: httpx.Client, text: str = "hello", *, stream: bool = False) -> httpx.Response:
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if stream:
        return gemini.post(f"{MODEL_PATH}:streamGenerateContent", params={"alt": "sse"}, json=body)
    return gemini.post(f"{MODEL_PATH}:generateContent", json=body)


def arm(gemini: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return gemini.post("/_emulator/script", json=body)


def test_an_armed_scenario_answers_every_request_until_disarmed(
    gemini: httpx.Client, emulator: RunningEmulator
) -> None:
    armed = arm(gemini, {"label": "case-1", "scenario": {"finish_reason": "MAX_TOKENS"}})
    assert armed.status_code == 200 and armed.json() == {"scenario": "case-1#1"}
    for _ in range(2):
        assert generate(gemini).json()["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert arm(gemini, {}).json() == {"scenario": None}
    assert generate(gemini).json()["candidates"][0]["finishReason"] == "STOP"
    assert [r["scenario"] for r in emulator.requests()] == ["case-1#1", "case-1#1", "default"]


def test_fault_counters_start_again_at_each_arm(gemini: httpx.Client) -> None:
    script = {"scenario": {"faults": [{"kind": "rate_limit", "requests": [1], "retry_delay_s": 1}]}}
    for _ in range(2):
        arm(gemini, script)
        assert generate(gemini).status_code == 429
        assert generate(gemini).status_code == 200


def test_a_configured_scenario_can_be_armed_by_name(gemini: httpx.Client) -> None:
    arm(gemini, {"name": "safety"})
    assert generate(gemini).json()["candidates"][0]["finishReason"] == "SAFETY"


def test_a_marker_in_the_text_still_wins_over_the_script(gemini: httpx.Client) -> None:
    arm(gemini, {"name": "safety"})
    reply = generate(gemini, "[scenario:max_tokens] go").json()
    assert reply["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_reset_disarms(gemini: httpx.Client) -> None:
    arm(gemini, {"name": "safety"})
    gemini.post("/_emulator/reset")
    assert generate(gemini).json()["candidates"][0]["finishReason"] == "STOP"


def test_a_bad_script_is_a_400_naming_the_problem(gemini: httpx.Client) -> None:
    for body, named in [
        ({"scenario": {"finish_reason": "DONE"}}, "finish_reason"),
        ({"name": "no-such-scenario"}, "no-such-scenario"),
        ({"scenario": {}, "name": "safety"}, "not both"),
        ({"scenarios": {}}, "scenarios"),
        ({"label": "bad label!", "name": "safety"}, "label"),
    ]:
        response = arm(gemini, body)
        assert response.status_code == 400, body
        assert named in response.json()["error"]["message"]


def test_records_carry_the_reply_stream_chunks_and_wire_fault(
    gemini: httpx.Client, emulator: RunningEmulator
) -> None:
    arm(gemini, {"scenario": {"text_tokens": 8, "chunk_tokens": 2}})
    streamed = generate(gemini, stream=True).text
    arm(gemini, {"scenario": {"faults": [{"kind": "stall", "every": 1, "stall_ms": 1}]}})
    whole = generate(gemini).json()
    first, second = emulator.requests()
    sent = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: ")]
    assert first["reply"] == {"chunks": sent} and len(sent) == 4 and first["fault"] is None
    assert second["reply"] == {"body": whole}
    assert second["fault"] == {"kind": "stall", "after_chunks": 1}


def test_refused_requests_carry_the_error_they_got(
    gemini: httpx.Client, emulator: RunningEmulator
) -> None:
    answer = gemini.post(f"{MODEL_PATH}:generateContent", json={"contents": []})
    (record,) = emulator.requests()
    assert record["verdict"] == "rejected" and record["reply"] == {"body": answer.json()}


def test_control_and_setup_requests_carry_no_reply(
    gemini: httpx.Client, emulator: RunningEmulator
) -> None:
    gemini.get("/v1beta/models")
    (record,) = emulator.requests()
    assert record["reply"] is None


def test_a_scripted_text_is_the_reply_and_a_lone_surrogate_goes_out_as_an_escape(
    gemini: httpx.Client, emulator: RunningEmulator
) -> None:
    arm(gemini, {"scenario": {"text": "héllo wörld 😀", "lone_surrogate_at": 5}})
    raw = generate(gemini, stream=True).content
    assert b"\\ud800" in raw and "héllo".encode() in raw
    (record,) = emulator.requests()
    text = "".join(
        part["text"]
        for chunk in record["reply"]["chunks"]
        for part in chunk["candidates"][0]["content"]["parts"]
    )
    assert text == "héllo\ud800 wörld 😀"  # over HTTP the record shows it as U+FFFD


def test_a_stream_can_end_without_a_finish_reason(gemini: httpx.Client) -> None:
    arm(gemini, {"scenario": {"omit_finish_reason": True}})
    chunks = [
        json.loads(line[6:])
        for line in generate(gemini, stream=True).text.splitlines()
        if line.startswith("data: ")
    ]
    assert chunks and all("finishReason" not in c["candidates"][0] for c in chunks)


def test_client_error_faults_answer_with_google_statuses(gemini: httpx.Client) -> None:
    for kind, status in [
        ("invalid_argument", 400),
        ("unauthenticated", 401),
        ("permission_denied", 403),
        ("not_found", 404),
    ]:
        arm(gemini, {"scenario": {"faults": [{"kind": kind, "every": 1, "message": "scripted"}]}})
        response = generate(gemini)
        assert response.status_code == status
        assert response.json()["error"]["code"] == status


def test_the_reply_stops_before_the_first_stop_sequence_as_gemini_does(
    gemini: httpx.Client,
) -> None:
    arm(gemini, {"scenario": {"text": "one two three four"}})
    body = {
        "contents": [{"role": "user", "parts": [{"text": "count"}]}],
        "generationConfig": {"stopSequences": ["four", "three"]},
    }
    reply = gemini.post(f"{MODEL_PATH}:generateContent", json=body).json()
    candidate = reply["candidates"][0]
    assert candidate["content"]["parts"][0]["text"] == "one two "
    assert candidate["finishReason"] == "STOP"
