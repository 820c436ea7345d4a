"""compat._anthropic.messages: messages and content blocks -> Gemini contents.

Each test states one rule: block conversion, Gemini's turn rules
(docs/reference/gemini.md#turn-rules), and the request half of docs/mapping.md (thought signatures,
tool ids, tool_result).
"""

from __future__ import annotations

from typing import Any

import pytest

from compat._anthropic.messages import SKIP_SIGNATURE
from compat._anthropic.request import to_gemini_request
from compat._errors import RequestError
from compat._options import ConversionOptions


def contents(*messages: dict[str, Any], upstream_model: str | None = None) -> list[dict[str, Any]]:
    body = {"model": "m", "max_tokens": 100, "messages": list(messages)}
    result: list[dict[str, Any]] = to_gemini_request(
        body, options=ConversionOptions(upstream_model=upstream_model)
    )["contents"]
    return result


def refused(*messages: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as caught:
        to_gemini_request({"model": "m", "max_tokens": 100, "messages": list(messages)})
    return caught.value


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(id: str, name: str = "Bash", **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": arguments}


def tool_result(id: str, content: Any = "ok", **fields: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id, "content": content, **fields}


def thinking(value: str, signature: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": signature}


def model_parts(*blocks: Any, upstream_model: str | None = None) -> list[dict[str, Any]]:
    """The parts of the model turn made from one assistant message."""
    calls = [b["id"] for b in blocks if b["type"] == "tool_use"]
    answer = user(*(tool_result(id) for id in calls)) if calls else user(text("next"))
    turns = contents(user(text("go")), assistant(*blocks), answer, upstream_model=upstream_model)
    parts: list[dict[str, Any]] = turns[1]["parts"]
    return parts


# -- messages and turns --------------------------------------------------------------------


def test_string_content_is_one_text_part_and_assistant_is_the_model_role() -> None:
    assert contents(
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ) == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]


def test_consecutive_messages_with_the_same_role_are_merged_into_one_turn() -> None:
    assert contents(
        user(text("a")),
        {"role": "user", "content": "b"},
        assistant(text("c")),
        assistant(text("d")),
        user(text("e")),
    ) == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
        {"role": "user", "parts": [{"text": "e"}]},
    ]


def test_cache_control_and_citations_on_text_blocks_are_accepted_and_ignored() -> None:
    block = {"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}, "citations": []}
    assert contents(user(block)) == [{"role": "user", "parts": [{"text": "Hi"}]}]


@pytest.mark.parametrize("content", ["", []])
def test_empty_content_is_refused_except_for_a_final_assistant_message(content: Any) -> None:
    error = refused({"role": "user", "content": content}, user(text("x")))
    assert error.path == "messages[0].content"
    assert contents(user(text("x")), {"role": "assistant", "content": content}) == [
        {"role": "user", "parts": [{"text": "x"}]}
    ]


def test_an_empty_text_block_is_refused() -> None:
    assert refused(user(text(""))).path == "messages[0].content[0].text"


def test_a_final_assistant_prefill_is_refused_because_gemini_cannot_continue_a_model_turn() -> None:
    error = refused(user(text("Give JSON")), assistant(text("{")))
    assert error.path == "messages[1]"
    assert "prefill" in error.message


@pytest.mark.parametrize(
    ("message", "path"),
    [
        ({"role": "tool", "content": "x"}, "messages[0].role"),
        ({"role": ["user"], "content": "x"}, "messages[0].role"),
        ({"content": "x"}, "messages[0].role"),
        ({"role": "user"}, "messages[0].content"),
        ({"role": "user", "content": 5}, "messages[0].content"),
        ({"role": "user", "content": [5]}, "messages[0].content[0]"),
        ({"role": "user", "content": [{"text": "x"}]}, "messages[0].content[0].type"),
        ({"role": "user", "content": [{"type": "text"}]}, "messages[0].content[0].text"),
        ({"role": "user", "content": [{"type": "video"}]}, "messages[0].content[0].type"),
    ],
)
def test_malformed_messages_are_refused_at_their_path(message: dict[str, Any], path: str) -> None:
    assert refused(message).path == path


# -- images and documents ------------------------------------------------------------------


def test_a_base64_image_becomes_inline_data() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0"},
    }
    assert contents(user(image, text("What is it?")))[0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0"}},
        {"text": "What is it?"},
    ]


@pytest.mark.parametrize(
    ("url", "mime_type"),
    [
        ("https://example.com/cat.jpg", "image/jpeg"),
        ("https://example.com/cat.JPEG?size=2", "image/jpeg"),
        ("https://example.com/a.b/cat.webp#top", "image/webp"),
        ("https://example.com/cat.gif", "image/gif"),
        ("https://example.com/cat.png", "image/png"),
    ],
)
def test_a_url_image_becomes_file_data_with_the_type_named_by_its_extension(
    url: str, mime_type: str
) -> None:
    image = {"type": "image", "source": {"type": "url", "url": url}}
    assert contents(user(image))[0]["parts"] == [
        {"fileData": {"mimeType": mime_type, "fileUri": url}}
    ]


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ({"type": "base64", "media_type": "image/bmp", "data": "x"}, "source.media_type"),
        ({"type": "base64", "data": "x"}, "source.media_type"),
        ({"type": "base64", "media_type": "image/png"}, "source.data"),
        ({"type": "base64", "media_type": "image/png", "data": ""}, "source.data"),
        ({"type": "base64", "media_type": "image/png", "data": "abcde"}, "source.data"),
        ({"type": "base64", "media_type": "image/png", "data": "ab=c"}, "source.data"),
        (
            {"type": "base64", "media_type": "image/png", "data": "data:image/png;base64,AAAA"},
            "source.data",
        ),
        ({"type": "url", "url": "https://example.com/cat"}, "source.url"),
        ({"type": "url", "url": "https://example.com/cat.svg"}, "source.url"),
        ({"type": "url", "url": "https://example.com.png/cat"}, "source.url"),
        ({"type": "file", "file_id": "file_1"}, "source.type"),
        ({"type": "bytes"}, "source.type"),
    ],
)
def test_an_image_that_cannot_be_sent_faithfully_is_refused(
    source: dict[str, Any], path: str
) -> None:
    error = refused(user({"type": "image", "source": source}))
    assert error.path == f"messages[0].content[0].{path}"


def test_documents_of_every_source_type_become_parts_with_title_and_context_as_text() -> None:
    pdf = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
        "title": "Report",
        "context": "Q3 numbers",
        "citations": {"enabled": True},
        "cache_control": {"type": "ephemeral"},
    }
    plain = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
    }
    inline = {
        "type": "document",
        "source": {"type": "content", "content": [text("c1"), text("c2")]},
    }
    short = {"type": "document", "source": {"type": "content", "content": "c3"}}
    linked = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    assert contents(user(pdf, plain, inline, short, linked))[0]["parts"] == [
        {"text": "Document title: Report"},
        {"text": "Document context: Q3 numbers"},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0x"}},
        {"text": "plain words"},
        {"text": "c1"},
        {"text": "c2"},
        {"text": "c3"},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
    ]


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ({"type": "base64", "media_type": "application/msword", "data": "x"}, "source.media_type"),
        ({"type": "text", "media_type": "text/html", "data": "x"}, "source.media_type"),
        ({"type": "content", "content": [{"type": "tool_use"}]}, "source.content[0].type"),
        ({"type": "file", "file_id": "f"}, "source.type"),
    ],
)
def test_a_document_that_cannot_be_sent_faithfully_is_refused(
    source: dict[str, Any], path: str
) -> None:
    assert (
        refused(user({"type": "document", "source": source})).path
        == f"messages[0].content[0].{path}"
    )


def test_a_search_result_becomes_one_text_part() -> None:
    block = {
        "type": "search_result",
        "source": "https://docs.example.com/a",
        "title": "A",
        "content": [text("first"), text("second")],
    }
    assert contents(user(block))[0]["parts"] == [
        {"text": "Search result: A\nSource: https://docs.example.com/a\n\nfirst\nsecond"}
    ]


@pytest.mark.parametrize(
    "kind",
    [
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "container_upload",
    ],
)
@pytest.mark.parametrize("role", ["user", "assistant"])
def test_blocks_of_anthropic_hosted_tools_are_refused_as_unsupported(kind: str, role: str) -> None:
    messages = [user(text("q")), {"role": role, "content": [{"type": kind, "id": "x"}]}]
    if role == "assistant":
        messages.append(user(text("next")))
    error = refused(*messages)
    assert error.path == "messages[1].content[0].type"
    assert "not supported by this gateway" in error.message


@pytest.mark.parametrize("kind", ["tool_use", "thinking", "redacted_thinking"])
def test_assistant_only_blocks_in_a_user_message_are_refused(kind: str) -> None:
    assert "only allowed in assistant" in refused(user({"type": kind})).message


@pytest.mark.parametrize("kind", ["image", "document", "tool_result", "search_result"])
def test_user_only_blocks_in_an_assistant_message_are_refused(kind: str) -> None:
    error = refused(user(text("q")), assistant({"type": kind}), user(text("r")))
    assert "only allowed in user" in error.message


# -- tool_use and tool_result (docs/mapping.md) --------------------------------------------


def test_tool_use_becomes_a_function_call_and_tool_result_a_function_response() -> None:
    turns = contents(
        user(text("list")),
        assistant(tool_use("toolu_01", "Bash", command="ls")),
        user(tool_result("toolu_01", "a.txt")),
    )
    assert turns[1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "Bash", "args": {"command": "ls"}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "Bash", "response": {"output": "a.txt"}}}],
        },
    ]


def test_a_gemini_derived_tool_id_is_sent_back_on_the_call_and_the_response() -> None:
    turns = contents(
        user(text("q")), assistant(tool_use("toolu_g_abc123")), user(tool_result("toolu_g_abc123"))
    )
    assert turns[1]["parts"][0]["functionCall"]["id"] == "abc123"
    assert turns[2]["parts"][0]["functionResponse"]["id"] == "abc123"


@pytest.mark.parametrize(
    ("content", "fields", "response"),
    [
        ("done", {}, {"output": "done"}),
        ("boom", {"is_error": True}, {"error": "boom"}),
        ("fine", {"is_error": False}, {"output": "fine"}),
        ([text("a"), text("b")], {}, {"output": "a\nb"}),
        ([], {}, {"output": ""}),
        (None, {}, {"output": ""}),
    ],
)
def test_tool_result_content_becomes_an_output_or_error_object(
    content: Any, fields: dict[str, Any], response: dict[str, Any]
) -> None:
    turns = contents(
        user(text("q")),
        assistant(tool_use("toolu_1")),
        user(tool_result("toolu_1", content, **fields)),
    )
    assert turns[2]["parts"] == [{"functionResponse": {"name": "Bash", "response": response}}]


def test_a_tool_result_without_content_is_an_empty_output() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1"}
    turns = contents(user(text("q")), assistant(tool_use("toolu_1")), user(result))
    assert turns[2]["parts"][0]["functionResponse"]["response"] == {"output": ""}


def test_images_in_tool_results_follow_all_function_responses_of_the_turn() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"},
    }
    turns = contents(
        user(text("q")),
        assistant(tool_use("toolu_1", "Shot"), tool_use("toolu_2", "Read")),
        user(
            tool_result("toolu_1", [text("shot"), image]),
            tool_result("toolu_2", "file"),
            text("thanks"),
        ),
    )
    assert turns[2]["parts"] == [
        {"functionResponse": {"name": "Shot", "response": {"output": "shot"}}},
        {"functionResponse": {"name": "Read", "response": {"output": "file"}}},
        {"inlineData": {"mimeType": "image/gif", "data": "R0lG"}},
        {"text": "thanks"},
    ]


def test_parallel_results_form_one_user_turn_in_the_order_of_the_calls() -> None:
    turns = contents(
        user(text("q")),
        assistant(tool_use("toolu_a", "A"), tool_use("toolu_b", "B"), tool_use("toolu_c", "C")),
        user(tool_result("toolu_c", "c")),
        user(tool_result("toolu_a", "a"), tool_result("toolu_b", "b")),
    )
    assert len(turns) == 3
    names = [part["functionResponse"]["name"] for part in turns[2]["parts"]]
    assert names == ["A", "B", "C"]


def test_a_system_message_between_calls_and_results_joins_the_result_turn() -> None:
    turns = contents(
        user(text("q")),
        assistant(tool_use("toolu_a")),
        {"role": "system", "content": "reminder"},
        user(tool_result("toolu_a")),
    )
    assert turns[2]["parts"] == [
        {"functionResponse": {"name": "Bash", "response": {"output": "ok"}}},
        {"text": "reminder"},
    ]


def test_a_tool_result_naming_no_earlier_tool_use_is_refused() -> None:
    error = refused(user(text("q")), assistant(tool_use("toolu_1")), user(tool_result("toolu_9")))
    assert error.path == "messages[2].content[0].tool_use_id"
    assert "no earlier tool_use" in error.message


def test_a_tool_result_must_answer_the_immediately_preceding_assistant_message() -> None:
    error = refused(
        user(text("q")),
        assistant(tool_use("toolu_1")),
        user(tool_result("toolu_1")),
        assistant(text("done")),
        user(tool_result("toolu_1")),
    )
    assert error.path == "messages[4].content[0].tool_use_id"


def test_a_tool_use_without_a_tool_result_in_the_next_user_message_is_refused() -> None:
    error = refused(
        user(text("q")),
        assistant(tool_use("toolu_1"), tool_use("toolu_2")),
        user(tool_result("toolu_1")),
    )
    assert error.path == "messages[1].content[1]"
    assert "toolu_2" in error.message


def test_duplicate_tool_results_and_duplicate_tool_use_ids_are_refused() -> None:
    error = refused(
        user(text("q")),
        assistant(tool_use("toolu_1")),
        user(tool_result("toolu_1"), tool_result("toolu_1")),
    )
    assert error.path == "messages[2].content[1].tool_use_id"
    error = refused(
        user(text("q")),
        assistant(tool_use("toolu_1")),
        user(tool_result("toolu_1")),
        assistant(tool_use("toolu_1")),
        user(tool_result("toolu_1")),
    )
    assert error.path == "messages[3].content[0].id"


def test_a_tool_use_that_opens_the_conversation_is_refused() -> None:
    error = refused(assistant(tool_use("toolu_1")), user(tool_result("toolu_1")))
    assert error.path == "messages[0].content[0]"


@pytest.mark.parametrize(
    ("block", "path"),
    [
        ({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": "ls"}, "input"),
        ({"type": "tool_use", "id": "", "name": "Bash", "input": {}}, "id"),
        ({"type": "tool_use", "id": "toolu_1", "input": {}}, "name"),
    ],
)
def test_a_malformed_tool_use_is_refused(block: dict[str, Any], path: str) -> None:
    assert (
        refused(user(text("q")), assistant(block), user(text("r"))).path
        == f"messages[1].content[0].{path}"
    )


@pytest.mark.parametrize(
    ("result", "path"),
    [
        ({"type": "tool_result", "tool_use_id": "toolu_1", "is_error": "yes"}, "is_error"),
        ({"type": "tool_result", "tool_use_id": "toolu_1", "content": 7}, "content"),
        (
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [{"type": "tool_reference"}],
            },
            "content[0].type",
        ),
        (
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "tool_use"}]},
            "content[0].type",
        ),
        ({"type": "tool_result", "content": "x"}, "tool_use_id"),
    ],
)
def test_a_malformed_tool_result_is_refused(result: dict[str, Any], path: str) -> None:
    error = refused(user(text("q")), assistant(tool_use("toolu_1")), user(result))
    assert error.path == f"messages[2].content[0].{path}"


# -- thinking and thought signatures (docs/mapping.md) -------------------------------------


def test_a_thinking_block_becomes_a_thought_part_and_its_signature_rides_on_the_next_part() -> None:
    assert model_parts(thinking("plan", "SIG"), text("answer")) == [
        {"text": "plan", "thought": True},
        {"text": "answer", "thoughtSignature": "SIG"},
    ]


def test_a_signature_followed_by_a_tool_use_rides_on_the_function_call() -> None:
    parts = model_parts(thinking("plan", "SIG"), tool_use("toolu_1"))
    assert parts[1] == {"functionCall": {"name": "Bash", "args": {}}, "thoughtSignature": "SIG"}


def test_a_signature_of_a_last_thinking_block_stays_on_its_thought_part() -> None:
    assert model_parts(text("a"), thinking("later", "SIG")) == [
        {"text": "a"},
        {"text": "later", "thought": True, "thoughtSignature": "SIG"},
    ]


def test_a_signature_followed_by_another_thinking_block_stays_on_its_own_thought_part() -> None:
    assert model_parts(thinking("one", "S1"), thinking("two", "S2"), text("t")) == [
        {"text": "one", "thought": True, "thoughtSignature": "S1"},
        {"text": "two", "thought": True},
        {"text": "t", "thoughtSignature": "S2"},
    ]


def test_a_signature_with_empty_text_and_nowhere_to_go_is_an_empty_text_part() -> None:
    assert model_parts(text("a"), thinking("", "SIG")) == [
        {"text": "a"},
        {"text": "", "thoughtSignature": "SIG"},
    ]


def test_an_empty_thinking_block_without_signature_adds_nothing() -> None:
    assert model_parts(thinking("", ""), text("a")) == [{"text": "a"}]


def test_redacted_thinking_is_a_signature_only_thinking_block() -> None:
    assert model_parts({"type": "redacted_thinking", "data": "ENC"}, text("a")) == [
        {"text": "a", "thoughtSignature": "ENC"}
    ]
    assert model_parts(text("a"), {"type": "redacted_thinking", "data": "ENC"}) == [
        {"text": "a"},
        {"text": "", "thoughtSignature": "ENC"},
    ]


def test_signatures_do_not_cross_message_boundaries_when_messages_merge() -> None:
    turns = contents(
        user(text("q")), assistant(thinking("t", "SIG")), assistant(text("a")), user(text("r"))
    )
    assert turns[1]["parts"] == [
        {"text": "t", "thought": True, "thoughtSignature": "SIG"},
        {"text": "a"},
    ]


def test_gemini_3_gets_the_skip_sentinel_on_the_first_unsigned_function_call_of_each_turn() -> None:
    parts = model_parts(
        tool_use("toolu_1"), tool_use("toolu_2"), upstream_model="gemini-3-pro-preview"
    )
    assert parts[0]["thoughtSignature"] == SKIP_SIGNATURE
    assert "thoughtSignature" not in parts[1]


def test_gemini_3_keeps_a_real_signature_on_the_first_function_call() -> None:
    parts = model_parts(
        thinking("t", "REAL"),
        tool_use("toolu_1"),
        tool_use("toolu_2"),
        upstream_model="gemini-3-flash",
    )
    assert parts[1]["thoughtSignature"] == "REAL"
    assert "thoughtSignature" not in parts[2]


def test_other_models_never_get_the_skip_sentinel() -> None:
    parts = model_parts(tool_use("toolu_1"), upstream_model="gemini-2.5-pro")
    assert "thoughtSignature" not in parts[0]


@pytest.mark.parametrize(
    ("block", "path"),
    [
        ({"type": "thinking", "thinking": "t"}, "signature"),
        ({"type": "thinking", "signature": "s"}, "thinking"),
        ({"type": "thinking", "thinking": 1, "signature": "s"}, "thinking"),
        ({"type": "redacted_thinking"}, "data"),
        ({"type": "thinking", "thinking": "t", "signature": "not base64!"}, "signature"),
        ({"type": "redacted_thinking", "data": "a"}, "data"),
    ],
)
def test_a_malformed_thinking_block_is_refused(block: dict[str, Any], path: str) -> None:
    assert (
        refused(user(text("q")), assistant(block, text("a")), user(text("r"))).path
        == f"messages[1].content[0].{path}"
    )
