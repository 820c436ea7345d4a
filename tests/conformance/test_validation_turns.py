"""Contents rules (docs/reference/gemini.md#turn-rules, #thought-signatures): parts, roles, turn
order, thought signatures."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.emulator.validation import validate_generate_content_request

MODEL = "gemini-2.5-flash"
GEMINI_3 = "gemini-3-pro-preview"


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts) or [{"text": "hi"}]}


def model_text(text: str = "ok") -> dict[str, Any]:
    return {"role": "model", "parts": [{"text": text}]}


def call(name: str = "Bash", signature: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"functionCall": {"name": name, "args": {"command": "ls"}}}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def calls(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": list(parts)}


def answer(name: str = "Bash") -> dict[str, Any]:
    return {"functionResponse": {"name": name, "response": {"output": "done"}}}


def message_of(contents: Any, model: str = MODEL, **fields: Any) -> str | None:
    rejection = validate_generate_content_request({"contents": contents, **fields}, model=model)
    if rejection is None:
        return None
    assert (rejection.http_status, rejection.status) == (400, "INVALID_ARGUMENT")
    return rejection.message


# --- request validation: all problems at once, `* GenerateContentRequest.` lines -------------


@pytest.mark.parametrize("contents", [None, [], [None]])
def test_missing_contents_are_not_specified(contents: Any) -> None:
    body = {} if contents is None else {"contents": contents}
    rejection = validate_generate_content_request(body, model=MODEL)
    assert rejection is not None
    assert rejection.message == "* GenerateContentRequest.contents: contents is not specified\n"


def test_every_content_with_empty_parts_gets_a_line() -> None:
    contents = [user(), {"role": "model", "parts": []}, user(), {"role": "model"}, user()]
    assert message_of(contents) == (
        "* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.\n"
        "* GenerateContentRequest.contents[3].parts: contents.parts must not be empty.\n"
    )


@pytest.mark.parametrize(
    "part",
    [{}, {"thought": True}, {"thoughtSignature": "c2ln"}, {"text": ""}, {"text": None}],
)
def test_a_part_without_data_must_have_one_initialized_field(part: dict[str, Any]) -> None:
    assert message_of([user({"text": "a"}, part)]) == (
        "* GenerateContentRequest.contents[0].parts[1].data: "
        "required oneof field 'data' must have one initialized field\n"
    )


def test_an_empty_text_carrying_a_thought_signature_passes() -> None:
    contents = [
        user(),
        {"role": "model", "parts": [{"text": "a"}, {"text": "", "thoughtSignature": "c2ln"}]},
        user(),
    ]
    assert message_of(contents) is None


def test_system_instruction_parts_need_data_too() -> None:
    assert message_of([user()], systemInstruction={"parts": [{}]}) == (
        "* GenerateContentRequest.system_instruction.parts[0].data: "
        "required oneof field 'data' must have one initialized field\n"
    )


def test_function_call_and_response_names_cannot_be_empty() -> None:
    contents = [
        user(),
        calls({"functionCall": {"name": "", "args": {}}}),
        user({"functionResponse": {"response": {}}}),
    ]
    assert message_of(contents) == (
        "* GenerateContentRequest.contents[1].parts[0].function_call.name: Name cannot be empty.\n"
        "* GenerateContentRequest.contents[2].parts[0].function_response.name: Name cannot be empty.\n"
    )


# --- roles and turn order: first failure, Google's one-line message --------------------------


@pytest.mark.parametrize("role", ["function", "assistant", "system", "USER", "tool"])
def test_roles_other_than_user_and_model_are_refused(role: str) -> None:
    contents = [user(), model_text(), {"role": role, "parts": [{"text": "x"}]}]
    assert message_of(contents) == "Please use a valid role: user, model."


def test_a_missing_or_empty_role_defaults_to_user() -> None:
    assert (
        message_of(
            [{"parts": [{"text": "a"}]}, model_text(), {"role": "", "parts": [{"text": "b"}]}]
        )
        is None
    )


def test_consecutive_same_role_turns_are_refused() -> None:
    assert message_of([user(), user()]) == (
        "Please ensure that multiturn requests alternate between user and model."
    )
    assert message_of([user(), model_text(), model_text(), user()]) == (
        "Please ensure that multiturn requests alternate between user and model."
    )


def test_a_conversation_ending_on_a_model_turn_is_refused() -> None:
    # songquanpeng/one-api#836: what an Anthropic assistant prefill turns into.
    assert message_of([user(), model_text("Sure, here")]) == (
        "Please ensure that multiturn requests ends with a user role or a function response."
    )


def test_a_function_call_turn_must_follow_a_user_turn() -> None:
    # gemini-cli#11814: history that starts with a function call.
    assert message_of([calls(call()), user(answer())]) == (
        "Please ensure that function call turn comes immediately after a user turn or after a "
        "function response turn."
    )


def test_a_function_call_turn_after_a_model_turn_is_a_call_position_error() -> None:
    assert message_of([user(), model_text(), calls(call()), user(answer())]) == (
        "Please ensure that function call turn comes immediately after a user turn or after a "
        "function response turn."
    )


def test_parallel_calls_need_all_responses_in_one_turn() -> None:
    split = [user(), calls(call("A"), call("B")), user(answer("A")), user(answer("B"))]
    expected = (
        "Please ensure that the number of function response parts is equal to the number of "
        "function call parts of the function call turn."
    )
    assert message_of(split) == expected
    assert message_of([user(), calls(call("A"), call("B")), user(answer("A"), answer("B"))]) is None


def test_a_call_turn_answered_by_text_is_a_count_error() -> None:
    assert message_of([user(), calls(call()), user({"text": "never mind"})]) == (
        "Please ensure that the number of function response parts is equal to the number of "
        "function call parts of the function call turn."
    )


def test_a_function_response_without_a_call_turn_is_refused() -> None:
    assert message_of([user(), model_text(), user(answer())]) == (
        "Please ensure that function response turn comes immediately after a function call turn."
    )


def test_responses_may_share_their_turn_with_text() -> None:
    contents = [user(), calls(call()), user(answer(), {"text": "and also"}), model_text(), user()]
    assert message_of(contents) is None


def test_a_call_turn_may_follow_a_function_response_turn() -> None:
    contents = [user(), calls(call("A")), user(answer("A")), calls(call("B")), user(answer("B"))]
    assert message_of(contents) is None


def test_a_conversation_may_open_with_a_model_text_turn() -> None:
    assert message_of([model_text("Hello!"), user()]) is None


def test_request_validation_problems_come_before_turn_order() -> None:
    message = message_of([user(), user({})])
    assert message is not None
    assert message.startswith("* GenerateContentRequest.contents[1].parts[0].data")


# --- thought signatures (Gemini 3) -----------------------------------------------------------

MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for "
    "tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:{name}` , position {position}. "
    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


def test_gemini_3_refuses_an_unsigned_function_call() -> None:
    contents = [user(), calls(call("Bash")), user(answer())]
    assert message_of(contents, GEMINI_3) == MISSING_SIGNATURE.format(name="Bash", position=2)


def test_the_position_is_the_one_based_index_of_the_content() -> None:
    contents = [
        user(),
        calls(call("A", "c2ln")),
        user(answer("A")),
        calls(call("Read")),
        user(answer("Read")),
    ]
    assert message_of(contents, "models/gemini-3.1-pro-preview") == MISSING_SIGNATURE.format(
        name="Read", position=4
    )


@pytest.mark.parametrize("signature", ["skip_thought_signature_validator", "CiQBVKhc7w=="])
def test_a_signature_or_the_gemini_cli_sentinel_passes(signature: str) -> None:
    assert message_of([user(), calls(call(signature=signature)), user(answer())], GEMINI_3) is None


def test_only_the_first_call_of_a_parallel_turn_needs_a_signature() -> None:
    contents = [user(), calls(call("A", "c2ln"), call("B")), user(answer("A"), answer("B"))]
    assert message_of(contents, GEMINI_3) is None
    unsigned_first = [user(), calls(call("A"), call("B", "c2ln")), user(answer("A"), answer("B"))]
    assert message_of(unsigned_first, GEMINI_3) == MISSING_SIGNATURE.format(name="A", position=2)


def test_only_the_current_turn_is_checked() -> None:
    # An earlier exchange, closed by a new user text message, may have lost its signatures.
    contents = [user(), calls(call()), user(answer()), model_text(), user({"text": "next"})]
    assert message_of(contents, GEMINI_3) is None


def test_gemini_2_5_does_not_require_signatures() -> None:
    assert message_of([user(), calls(call()), user(answer())], "gemini-2.5-pro") is None


def test_code_assist_takes_the_model_from_the_envelope() -> None:
    request = {"contents": [user(), calls(call()), user(answer())]}
    envelope = {"model": GEMINI_3, "project": "p", "request": request}
    rejection = validate_generate_content_request(
        envelope, model="gemini-2.5-pro", surface="code_assist"
    )
    assert rejection is not None
    assert rejection.message == MISSING_SIGNATURE.format(name="Bash", position=2)
