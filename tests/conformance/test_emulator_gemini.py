"""The Gemini API v1beta surface of the emulator, over a real socket (conformance.emulator.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from conformance.emulator.app import credential_id
from conformance.emulator.testing import RunningEmulator, running_emulator

MODEL_PATH = "/v1beta/models/gemini-2.5-flash"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}


def sse_events(text: str) -> list[dict]:
    return [orjson.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_generate_content_answers_a_text_candidate_with_usage(gemini: httpx.Client) -> None:
    response = gemini.post(f"{MODEL_PATH}:generateContent", json=HELLO)
    assert response.status_code == 200
    body = response.json()
    candidate = body["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["role"] == "model"
    assert len(candidate["content"]["parts"][0]["text"].split()) == 12
    usage = body["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert body["modelVersion"] == "gemini-2.5-flash"
    assert body["responseId"]


def test_same_request_same_scenario_same_bytes(gemini: httpx.Client) -> None:
    first = gemini.post(f"{MODEL_PATH}:streamGenerateContent?alt=sse", json=HELLO).content
    second = gemini.post(f"{MODEL_PATH}:streamGenerateContent?alt=sse", json=HELLO).content
    assert first == second


def test_sse_stream_is_crlf_framed_and_concatenates_to_the_non_stream_text(
    gemini: httpx.Client,
) -> None:
    stream = gemini.post(f"{MODEL_PATH}:streamGenerateContent?alt=sse", json=HELLO)
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert b"\r\n\r\n" in stream.content
    events = sse_events(stream.text)
    assert len(events) == 3  # 12 tokens in chunks of 4
    whole = gemini.post(f"{MODEL_PATH}:generateContent", json=HELLO).json()
    streamed_text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert streamed_text == whole["candidates"][0]["content"]["parts"][0]["text"]
    running = [e["usageMetadata"]["candidatesTokenCount"] for e in events]
    assert running == [4, 8, 12]
    assert [e["candidates"][0].get("finishReason") for e in events] == [None, None, "STOP"]


def test_stream_without_alt_sse_is_one_json_array(gemini: httpx.Client) -> None:
    response = gemini.post(f"{MODEL_PATH}:streamGenerateContent", json=HELLO)
    assert response.headers["content-type"].startswith("application/json")
    chunks = orjson.loads(response.content)
    assert isinstance(chunks, list) and len(chunks) == 3
    assert (
        sse_events(gemini.post(f"{MODEL_PATH}:streamGenerateContent?alt=sse", json=HELLO).text)
        == chunks
    )


def test_count_tokens_agrees_with_prompt_token_count(gemini: httpx.Client) -> None:
    request = {
        "contents": [{"role": "user", "parts": [{"text": "Count these words, please: one two."}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
    }
    counted = gemini.post(
        f"{MODEL_PATH}:countTokens",
        json={"generateContentRequest": {"model": "models/gemini-2.5-flash", **request}},
    )
    generated = gemini.post(f"{MODEL_PATH}:generateContent", json=request)
    assert counted.status_code == 200, counted.text
    assert counted.json()["totalTokens"] == generated.json()["usageMetadata"]["promptTokenCount"]
    plain = gemini.post(f"{MODEL_PATH}:countTokens", json={"contents": request["contents"]})
    assert plain.json()["totalTokens"] == 9  # 6 words, 3 punctuation marks


def test_models_are_listed_and_fetched(gemini: httpx.Client) -> None:
    listed = gemini.get("/v1beta/models").json()["models"]
    assert "models/gemini-2.5-pro" in [m["name"] for m in listed]
    one = gemini.get("/v1beta/models/gemini-2.5-pro").json()
    assert "generateContent" in one["supportedGenerationMethods"]
    assert gemini.get("/v1beta/models/no-such-model").status_code == 404


def test_unknown_model_is_google_404(gemini: httpx.Client) -> None:
    response = gemini.post("/v1beta/models/gemini-0:generateContent", json=HELLO)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


def test_a_request_the_validator_refuses_gets_the_rejection_status_and_body(
    gemini: httpx.Client,
) -> None:
    from conformance.emulator.validation import validate_generate_content_request

    bad = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "f", "parameters": {"type": "OBJECT", "additionalProperties": False}}
                ]
            }
        ],
    }
    expected = validate_generate_content_request(bad, model="gemini-2.5-flash", surface="gemini")
    assert expected is not None
    response = gemini.post(f"{MODEL_PATH}:generateContent", json=bad)
    assert response.status_code == expected.http_status
    assert response.json() == expected.body()


def test_a_refused_streaming_request_gets_the_error_as_a_json_array(gemini: httpx.Client) -> None:
    response = gemini.post(f"{MODEL_PATH}:streamGenerateContent", json={"contents": []})
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, list) and body[0]["error"]["code"] == 400


def test_invalid_json_is_a_google_400(gemini: httpx.Client) -> None:
    response = gemini.post(f"{MODEL_PATH}:generateContent", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid JSON payload received.")


def test_credentials_by_header_query_or_bearer_are_accepted(emulator: RunningEmulator) -> None:
    url = emulator.url(f"{MODEL_PATH}:generateContent")
    assert httpx.post(url, json=HELLO, headers={"x-goog-api-key": "a"}).status_code == 200
    assert httpx.post(url + "?key=b", json=HELLO).status_code == 200
    assert httpx.post(url, json=HELLO, headers={"authorization": "Bearer c"}).status_code == 200


def test_unknown_or_missing_credentials_get_google_error_bodies() -> None:
    with running_emulator({"auth": {"api_keys": ["good"], "access_tokens": ["tok"]}}) as emu:
        url = emu.url(f"{MODEL_PATH}:generateContent")
        assert httpx.post(url, json=HELLO, headers={"x-goog-api-key": "good"}).status_code == 200
        bad_key = httpx.post(url, json=HELLO, headers={"x-goog-api-key": "bad"})
        assert bad_key.status_code == 400
        assert bad_key.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        missing = httpx.post(url, json=HELLO)
        assert (missing.status_code, missing.json()["error"]["status"]) == (
            403,
            "PERMISSION_DENIED",
        )
        bad_token = httpx.post(url, json=HELLO, headers={"authorization": "Bearer nope"})
        assert (bad_token.status_code, bad_token.json()["error"]["status"]) == (
            401,
            "UNAUTHENTICATED",
        )
        assert [r["verdict"] for r in emu.requests()] == ["ok"] + ["unauthenticated"] * 3


def test_requests_are_recorded_without_secrets_and_reset_clears_them(
    emulator: RunningEmulator,
) -> None:
    with httpx.Client(base_url=emulator.base_url) as client:
        client.post(f"{MODEL_PATH}:generateContent?key=secret-key", json=HELLO)
        client.post(
            f"{MODEL_PATH}:generateContent", json={"contents": []}, headers={"x-goog-api-key": "k2"}
        )
        listed = client.get("/_emulator/requests").json()["requests"]
        assert [(r["verdict"], r["status"]) for r in listed] == [("ok", 200), ("rejected", 400)]
        assert listed[0]["body"] == HELLO
        assert listed[0]["credential"] == "key:" + credential_id("secret-key")
        assert listed[1]["headers"]["x-goog-api-key"] == "<redacted>"
        assert "secret-key" not in orjson.dumps(listed).decode()
        assert client.post("/_emulator/reset").status_code == 200
        assert client.get("/_emulator/requests").json()["requests"] == []


def test_requests_are_mirrored_to_a_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    with running_emulator(jsonl_path=path) as emu:
        httpx.post(
            emu.url(f"{MODEL_PATH}:generateContent"), json=HELLO, headers={"x-goog-api-key": "k"}
        )
        lines = path.read_bytes().splitlines()
    assert [orjson.loads(line)["body"] for line in lines] == [HELLO]


def test_scenario_is_chosen_by_header_or_by_marker_in_the_latest_user_turn(
    gemini: httpx.Client,
) -> None:
    by_header = gemini.post(
        f"{MODEL_PATH}:generateContent", json=HELLO, headers={"x-emulator-scenario": "max_tokens"}
    )
    assert by_header.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"
    marked = {"contents": [{"role": "user", "parts": [{"text": "[scenario:safety] hi"}]}]}
    assert (
        gemini.post(f"{MODEL_PATH}:generateContent", json=marked).json()["candidates"][0][
            "finishReason"
        ]
        == "SAFETY"
    )
    unknown = gemini.post(
        f"{MODEL_PATH}:generateContent", json=HELLO, headers={"x-emulator-scenario": "nope"}
    )
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]["message"]


def test_cached_contents_are_created_and_counted_in_usage(gemini: httpx.Client) -> None:
    created = gemini.post(
        "/v1beta/cachedContents",
        json={
            "model": "models/gemini-2.5-flash",
            "contents": [{"role": "user", "parts": [{"text": "a long shared preamble of words"}]}],
            "ttl": "300s",
        },
    )
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    assert name.startswith("cachedContents/")
    assert created.json()["usageMetadata"]["totalTokenCount"] == 6
    answer = gemini.post(
        f"{MODEL_PATH}:generateContent", json={**HELLO, "cachedContent": name}
    ).json()
    usage = answer["usageMetadata"]
    assert usage["cachedContentTokenCount"] == 6
    assert usage["promptTokenCount"] == 2 + 6
    assert gemini.get(f"/v1beta/{name}").json()["name"] == name
    missing = gemini.post(
        f"{MODEL_PATH}:generateContent", json={**HELLO, "cachedContent": "cachedContents/x"}
    )
    assert missing.status_code == 403


def test_unknown_routes_are_google_404s(gemini: httpx.Client) -> None:
    response = gemini.get("/v2/whatever")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


def test_v1_paths_are_served_like_v1beta_and_recorded_as_sent(emulator: RunningEmulator) -> None:
    response = httpx.post(
        emulator.url("/v1/models/gemini-2.5-flash:generateContent"),
        json=HELLO,
        headers={"x-goog-api-key": "k"},
    )
    assert response.status_code == 200
    assert emulator.requests()[-1]["path"] == "/v1/models/gemini-2.5-flash:generateContent"


def test_integers_beyond_64_bits_are_served_recorded_and_listed(gemini: httpx.Client) -> None:
    # Struct numbers are doubles on Google's side: the value is quoted back as a float.
    body = (
        b'{"contents":[{"role":"user","parts":[{"text":"hi"}]},'
        b'{"role":"model","parts":[{"functionCall":{"name":"f","args":{"n":1}}}]},'
        b'{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":99999999999999999999999}}}]}],'
        b'"tools":[{"functionDeclarations":[{"name":"f"}]}]}'
    )
    response = gemini.post(f"{MODEL_PATH}:generateContent", content=body)
    assert response.status_code == 200, response.text
    text = response.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert text == "Tool f returned: 1e+23"
    assert gemini.get("/_emulator/requests").status_code == 200


def test_the_marker_may_follow_other_text_parts_of_the_latest_user_turn(
    gemini: httpx.Client,
) -> None:
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "<system-reminder>x</system-reminder>"},
                    {"text": "[scenario:safety] go"},
                ],
            }
        ]
    }
    answer = gemini.post(f"{MODEL_PATH}:generateContent", json=body).json()
    assert answer["candidates"][0]["finishReason"] == "SAFETY"


def finish_of(gemini: httpx.Client, contents: list[dict[str, Any]]) -> str:
    answer = gemini.post(f"{MODEL_PATH}:generateContent", json={"contents": contents})
    assert answer.status_code == 200, answer.text
    reason: str = answer.json()["candidates"][0]["finishReason"]
    return reason


def test_a_marker_applies_only_to_the_request_whose_latest_user_turn_carries_it(
    gemini: httpx.Client,
) -> None:
    def turn(role: str, text: str) -> dict[str, Any]:
        return {"role": role, "parts": [{"text": text}]}

    marked_first = [turn("user", "[scenario:safety] hi"), turn("model", "hello")]
    assert finish_of(gemini, marked_first[:1]) == "SAFETY"
    # The next request of the same conversation: the marker is history, not a script.
    assert finish_of(gemini, [*marked_first, turn("user", "and now?")]) == "STOP"
    marked_later = [
        turn("user", "hi"),
        turn("model", "hello"),
        turn("user", "[scenario:safety] go"),
    ]
    assert finish_of(gemini, marked_later) == "SAFETY"
    # A model turn that quotes a marker picks nothing.
    assert (
        finish_of(
            gemini, [turn("user", "hi"), turn("model", "[scenario:safety]"), turn("user", "ok")]
        )
        == "STOP"
    )


REFUSING = {
    "auth": {
        "api_keys": ["good", "old", "banned", "walled"],
        "refused_api_keys": {"old": "expired", "banned": "suspended", "walled": "forbidden"},
    }
}


@pytest.mark.parametrize(
    ("key", "status", "reason", "words"),
    [
        ("unknown", 400, "API_KEY_INVALID", "API key not valid"),
        ("old", 400, "API_KEY_INVALID", "API key expired"),
        ("banned", 403, "CONSUMER_SUSPENDED", "has been suspended"),
        ("walled", 403, None, "The caller does not have permission"),
    ],
)
def test_refused_api_keys_get_googles_answer_for_their_kind(
    key: str, status: int, reason: str | None, words: str
) -> None:
    with running_emulator(REFUSING) as emulator:
        answer = httpx.post(
            emulator.url(f"{MODEL_PATH}:generateContent"),
            json=HELLO,
            headers={"x-goog-api-key": key},
        )
        good = httpx.post(
            emulator.url(f"{MODEL_PATH}:generateContent"),
            json=HELLO,
            headers={"x-goog-api-key": "good"},
        )
    error = answer.json()["error"]
    assert (answer.status_code, error["code"]) == (status, status)
    assert words in error["message"]
    reasons = [d.get("reason") for d in error.get("details", []) if "reason" in d]
    assert reasons == ([reason] if reason else [])
    assert good.status_code == 200


def test_a_refused_key_kind_must_be_known() -> None:
    from conformance.emulator.scenarios import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"auth\.refused_api_keys"):
        parse_config({"auth": {"refused_api_keys": {"k": "sleepy"}}})


def test_the_permission_denied_fault_is_a_403_without_a_reason(gemini: httpx.Client) -> None:
    answer = gemini.post(
        f"{MODEL_PATH}:generateContent",
        json=HELLO,
        headers={"x-emulator-scenario": "permission_denied"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "details" not in answer.json()["error"]
