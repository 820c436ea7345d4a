"""Workloads: the catalogue is data, bodies carry the emulator's markers where it reads them."""

from __future__ import annotations

import json

import pytest

from loadtests._common import (
    WorkloadError,
    direct_twin,
    request_body,
    request_headers,
    request_path,
    request_tags,
    workload,
    workloads,
)
from tests.compat.fixtures.make_agent_request import agent_request


def test_the_catalogue_holds_every_kind_the_runner_and_locust_need() -> None:
    names = set(workloads())
    assert {"small_chat", "small_chat_json", "thinking_chat", "long_stream", "agent_turn",
            "agent_start", "openai_chat", "openai_chat_json"} <= names  # fmt: skip
    assert all(w.description for w in workloads().values())


def test_the_agent_turn_is_the_compat_fixtures_claude_code_request() -> None:
    """One generator (tests/compat/fixtures/make_agent_request.py) makes both files."""
    body = json.loads(request_body(workload("agent_turn")))
    assert body == agent_request()
    assert len(body["tools"]) >= 20
    kinds = {block["type"] for m in body["messages"] if isinstance(m["content"], list)
             for block in m["content"]}  # fmt: skip
    assert {"tool_use", "tool_result", "thinking"} <= kinds


def test_agent_start_is_the_first_turn_only() -> None:
    body = json.loads(request_body(workload("agent_start")))
    assert len(body["messages"]) == 1 and len(body["tools"]) >= 20


def test_markers_go_first_in_the_first_and_the_latest_user_message() -> None:
    body = json.loads(request_body(workload("agent_turn"), scenario="paced", tag="r-1"))
    first, last = body["messages"][0], body["messages"][-1]
    assert first["content"][0]["text"].startswith("[scenario:paced] [bench:r-1] ")
    texts = [b for b in last["content"] if b["type"] == "text"]
    assert texts[0]["text"].startswith("[scenario:paced] [bench:r-1] ")
    assert request_tags(json.dumps(body)) == ["r-1", "r-1"]


def test_a_user_message_of_tool_results_only_gets_a_text_part() -> None:
    from loadtests._common._workloads import _prefixed

    message = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}],
    }
    assert _prefixed(message, "[bench:x] ")["content"][-1] == {"type": "text", "text": "[bench:x]"}
    assert message["content"] == [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]


def test_a_session_s_own_history_replaces_the_workload_s_messages() -> None:
    history = [
        {"role": "user", "content": "list the files"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "LS",
                                           "input": {"path": "/"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a"}]},
    ]  # fmt: skip
    body = json.loads(request_body(workload("agent_start"), scenario="tool_bash", messages=history))
    assert body["tools"] == workload("agent_start").template["tools"]
    assert body["messages"][0]["content"] == "[scenario:tool_bash] list the files"
    assert body["messages"][1] == history[1]
    assert body["messages"][2]["content"][-1] == {"type": "text", "text": "[scenario:tool_bash]"}
    assert history[0]["content"] == "list the files"  # the caller's history is not changed
    with pytest.raises(WorkloadError, match="Anthropic or OpenAI"):
        request_body(workload("gemini_chat"), messages=history)


def test_building_a_body_leaves_the_catalogue_untouched() -> None:
    before = json.dumps(workload("small_chat").template)
    request_body(workload("small_chat"), model="gemini-3-pro-preview", scenario="s", tag="t")
    assert json.dumps(workload("small_chat").template) == before


def test_openai_streams_ask_for_the_usage_chunk_and_string_contents_get_the_marker() -> None:
    body = json.loads(request_body(workload("openai_chat"), scenario="paced", model="gpt-4o"))
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "gpt-4o"
    assert body["messages"][1]["content"].startswith("[scenario:paced] Name three")
    assert "stream_options" not in json.loads(request_body(workload("openai_chat_json")))


def test_headers_follow_the_protocol() -> None:
    assert request_headers(workload("small_chat"), "k")["x-api-key"] == "k"
    assert request_headers(workload("openai_chat"), "k")["authorization"] == "Bearer k"
    assert workload("openai_chat").path == "/v1/chat/completions"


def test_unknown_names_and_bad_markers_are_refused_with_the_reason() -> None:
    with pytest.raises(WorkloadError, match="unknown workload 'nope' \\(known: agent_start"):
        workload("nope")
    with pytest.raises(WorkloadError, match="scenario 'a b'"):
        request_body(workload("small_chat"), scenario="a b")


def test_the_direct_twin_asks_the_upstream_the_same_thing_in_its_own_protocol() -> None:
    twin = direct_twin(workload("small_chat"))
    assert twin is not None and twin.protocol == "gemini" and twin.stream
    proxied = json.loads(request_body(workload("small_chat"), scenario="s"))
    direct = json.loads(request_body(twin, scenario="s"))
    assert direct["contents"][0]["parts"][0]["text"] == proxied["messages"][0]["content"]
    assert request_path(twin) == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    json_twin = direct_twin(workload("small_chat_json"))
    assert json_twin is not None
    assert (
        request_path(json_twin, "gemini-2.5-pro") == "/v1beta/models/gemini-2.5-pro:generateContent"
    )
    assert request_headers(twin, "k") == {"content-type": "application/json", "x-goog-api-key": "k"}
    assert direct_twin(workload("agent_turn")) is None
