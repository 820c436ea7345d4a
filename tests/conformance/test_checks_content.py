"""conformance.checks.content and .reply: nothing lost or invented, up (the client's request against
the Gemini request) and down (the upstream's reply against what the client got)."""

from __future__ import annotations

from typing import Any

from conformance.checks.content import (
    anthropic_content,
    content_problems,
    gemini_content,
    openai_content,
)
from conformance.checks.reply import anthropic_reply, gemini_reply, openai_reply, reply_problems

PNG = "iVBORw0KGgo="
CLIENT: dict[str, Any] = {
    "system": "Be brief.",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
        },
    ],
}


def faithful() -> dict[str, Any]:
    return {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Weather?"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "weather", "response": {"output": "sunny"}}}
                ],
            },
        ],
    }


def problems(upstream: dict[str, Any]) -> list[str]:
    return content_problems(anthropic_content(CLIENT), gemini_content(upstream))


def test_a_faithful_translation_has_no_problem() -> None:
    assert problems(faithful()) == []


def test_a_system_prompt_may_travel_as_the_first_user_turn() -> None:
    upstream = faithful()
    del upstream["systemInstruction"]
    upstream["contents"][0]["parts"].insert(0, {"text": "Be brief."})
    assert problems(upstream) == []


def test_a_lost_tool_input_is_named() -> None:
    upstream = faithful()
    upstream["contents"][1]["parts"][1]["functionCall"]["args"] = {}
    assert problems(upstream) == [
        'lost: tool call weather \'{"city": "Paris"}\'',
        "invented: tool call weather '{}'",
    ]


def test_a_lost_image_lost_result_and_text_on_the_wrong_side_are_named() -> None:
    upstream = faithful()
    upstream["contents"][0]["parts"].pop(1)
    upstream["contents"][2]["parts"][0]["functionResponse"]["response"] = {}
    upstream["contents"][1]["parts"][0]["text"] = "Weather?"  # assistant words moved to the user
    found = problems(upstream)
    assert "lost: model text 'Checking.'" in found
    assert "lost: tool result for weather 'sunny'" in found
    assert any(p.startswith("lost: media image/png") for p in found)


def test_invented_text_is_named_but_a_labelled_client_string_is_not() -> None:
    upstream = faithful()
    upstream["contents"][0]["parts"].append({"text": "You are a helpful assistant."})
    upstream["contents"][2]["parts"].append({"text": "[tool result] sunny"})
    assert problems(upstream) == ["invented: user text 'You are a helpful assistant.'"]


def test_lone_surrogates_compare_as_their_repair() -> None:
    client = {"messages": [{"role": "user", "content": "a\ud800b"}]}
    upstream = {"contents": [{"role": "user", "parts": [{"text": "a\ufffdb"}]}]}
    assert content_problems(anthropic_content(client), gemini_content(upstream)) == []


def test_openai_requests_reduce_to_the_same_content() -> None:
    client = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]
    }
    assert content_problems(openai_content(client), gemini_content(faithful())) == []


def stream_record(*texts: str, fault: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    chunks = [{"candidates": [{"content": {"parts": [{"text": t}]}}]} for t in texts]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    return {"chunks": chunks}, fault


def message(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}


def test_a_reply_passed_on_exactly_has_no_problem() -> None:
    upstream = gemini_reply(*stream_record("Hel", "lo ", "there"))
    assert reply_problems(upstream, anthropic_reply(message("Hello there"))) == []


def test_a_duplicated_delta_is_a_difference() -> None:
    upstream = gemini_reply(*stream_record("Hel", "lo ", "there"))
    assert reply_problems(upstream, anthropic_reply(message("HelHello there")))


def test_a_cut_reply_must_be_a_prefix_of_what_went_out_before_the_drop() -> None:
    upstream = gemini_reply(
        *stream_record("one ", "two ", "three", fault={"kind": "drop", "after_chunks": 2})
    )
    assert reply_problems(upstream, anthropic_reply(message("one two ")), complete=False) == []
    assert reply_problems(upstream, anthropic_reply(message("one two one ")), complete=False)
    assert reply_problems(upstream, anthropic_reply(message("one two three")), complete=False)


def test_tool_calls_and_thinking_are_compared_too() -> None:
    recorded = {
        "chunks": [
            {"candidates": [{"content": {"parts": [{"text": "hmm", "thought": True}]}}]},
            {
                "candidates": [
                    {
                        "content": {
                            "parts": [
                                {
                                    "functionCall": {"name": "f", "args": {"x": 1}},
                                    "thoughtSignature": "c2ln",
                                }
                            ]
                        }
                    }
                ]
            },
        ]
    }
    upstream = gemini_reply(recorded)
    assert upstream.signatures == ["c2ln"]
    good = {
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
        ]
    }
    assert reply_problems(upstream, anthropic_reply(good)) == []
    bad = {"content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]}
    assert len(reply_problems(upstream, anthropic_reply(bad))) == 2  # thinking lost, input lost
    completion = {
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"x": 1}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    assert reply_problems(upstream, openai_reply(completion), thinking=False) == []
