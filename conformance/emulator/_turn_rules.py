"""Validation rules of `contents`: parts, turn order, thought signatures (reference §B.2, §B.4).

Operations:
- `part_problems(contents, out)` / `content_problems(content, path, out)`: `(path, problem)` pairs for empty `parts`
  (`contents.parts must not be empty.`), parts with no data field (`required oneof field 'data' must
  have one initialized field`) and nameless function calls/responses (`Name cannot be empty.`, not
  verified). Google reports all of these together, one `* GenerateContentRequest.<path>:` line each.
- `turn_order_problem(contents)`: the first turn-structure error, as Google's one-line message
  (roles, alternation, where function call and function response turns may stand, how many
  responses answer a call turn, the last turn).
- `thought_signature_problem(contents, model)`: the Gemini 3 error for a function call turn whose
  first `functionCall` part has no `thoughtSignature`.

Goal: the exact messages quoted in the reference. Plan: each function is one pass over `contents`,
which the parse pass has already shaped (objects where messages belong, scalars well typed).
"""

from __future__ import annotations

from typing import Any

from conformance.emulator._json_access import as_list, dicts, get
from conformance.emulator._proto_fields import PART_DATA_FIELDS

VALID_ROLES = frozenset({"user", "model"})
ROLE_MESSAGE = "Please use a valid role: user, model."
ALTERNATE_MESSAGE = "Please ensure that multiturn requests alternate between user and model."
LAST_TURN_MESSAGE = (
    "Please ensure that multiturn requests ends with a user role or a function response."
)
CALL_POSITION_MESSAGE = (
    "Please ensure that function call turn comes immediately after a user turn or after a "
    "function response turn."
)
# langchain-ai/langchain#27799 (not quoted in the reference).
RESPONSE_POSITION_MESSAGE = (
    "Please ensure that function response turn comes immediately after a function call turn."
)
RESPONSE_COUNT_MESSAGE = (
    "Please ensure that the number of function response parts is equal to the number of "
    "function call parts of the function call turn."
)
EMPTY_PARTS_PROBLEM = "contents.parts must not be empty."
NO_DATA_PROBLEM = "required oneof field 'data' must have one initialized field"
EMPTY_NAME_PROBLEM = "Name cannot be empty."  # not verified
SIGNATURE_SENTINEL = "skip_thought_signature_validator"

_NAMED_PARTS = (("functionCall", "function_call"), ("functionResponse", "function_response"))

_DATA_KEYS = tuple(
    (snake, snake.split("_")[0] + "".join(w.title() for w in snake.split("_")[1:]))
    for snake in PART_DATA_FIELDS
)


def part_problems(contents: list[Any], out: list[tuple[str, str]]) -> None:
    """Append the per-part problems of every content in `contents`."""
    for index, content in enumerate(contents):
        content_problems(content, f"contents[{index}]", out)


def content_problems(
    content: object, path: str, out: list[tuple[str, str]], *, require_parts: bool = True
) -> None:
    """Append the per-part problems of one Content found at `path`.

    `require_parts=False` is for `systemInstruction`, where an empty `parts` list was not seen
    refused in the reference.
    """
    if type(content) is not dict:
        return
    parts = get(content, "parts")
    if not as_list(parts):
        if require_parts:
            out.append((f"{path}.parts", EMPTY_PARTS_PROBLEM))
        return
    for part_index, part in dicts(parts):
        part_path = f"{path}.parts[{part_index}]"
        if not _has_data(part):
            out.append((f"{part_path}.data", NO_DATA_PROBLEM))
        for camel, snake in _NAMED_PARTS:
            call = get(part, camel, snake)
            if type(call) is dict and not call.get("name"):
                out.append((f"{part_path}.{snake}.name", EMPTY_NAME_PROBLEM))


def _has_data(part: dict[str, Any]) -> bool:
    for snake, camel in _DATA_KEYS:
        value = part.get(camel)
        if value is None:
            value = part.get(snake)
        if value is None:
            continue
        # An empty text with nothing else beside it reads as an unset oneof (observed in
        # clients that strip the bare `{"text": ""}` Gemini streams end with); not verified
        # for an empty text that carries a thought signature, so that one passes.
        if (
            value == ""
            and snake == "text"
            and get(part, "thoughtSignature", "thought_signature") is None
        ):
            continue
        return True
    return False


def _role(content: dict[str, Any]) -> Any:
    role = content.get("role")
    return "user" if role is None or role == "" else role


def _count_parts(content: dict[str, Any], camel: str, snake: str) -> int:
    return sum(1 for _, part in dicts(get(content, "parts")) if get(part, camel, snake) is not None)


def turn_order_problem(contents: list[Any]) -> str | None:
    """The first turn-structure error of `contents`, or None."""
    turns = [content for content in contents if type(content) is dict]
    if any(_role(content) not in VALID_ROLES for content in turns):
        return ROLE_MESSAGE
    previous_role = ""
    previous_calls = 0
    for index, content in enumerate(turns):
        role = _role(content)
        calls = _count_parts(content, "functionCall", "function_call")
        responses = _count_parts(content, "functionResponse", "function_response")
        if calls and (index == 0 or previous_role != "user"):
            return CALL_POSITION_MESSAGE
        if index and role == previous_role:
            return ALTERNATE_MESSAGE
        if responses and not previous_calls:
            return RESPONSE_POSITION_MESSAGE
        if previous_calls and responses != previous_calls:
            return RESPONSE_COUNT_MESSAGE
        previous_role, previous_calls = role, calls
    if turns and _role(turns[-1]) != "user":
        return LAST_TURN_MESSAGE
    return None


def requires_thought_signatures(model: str) -> bool:
    """Gemini 3 models refuse function call turns without signatures (§B.4)."""
    return model.removeprefix("models/").startswith("gemini-3")


def thought_signature_problem(contents: list[Any], model: str) -> str | None:
    """The missing-signature error for the current turn's first unsigned call turn, or None.

    Only the current turn is checked: the model turns after the last user turn that is not a
    function response (the thought-signatures guide validates "the current turn"; gemini-cli adds
    its sentinel only in the active loop). `position` is the 1-based index of the content, which
    makes the reference's example (`position 2`) the first model turn of a plain conversation;
    that reading is an inference.
    """
    if not requires_thought_signatures(model):
        return None
    turns = [content for content in contents if type(content) is dict]
    start = 0
    for index, content in enumerate(turns):
        if _role(content) == "user" and not _count_parts(
            content, "functionResponse", "function_response"
        ):
            start = index + 1
    for index in range(start, len(turns)):
        if _role(turns[index]) != "model":
            continue
        for _, part in dicts(get(turns[index], "parts")):
            call = get(part, "functionCall", "function_call")
            if type(call) is not dict:
                continue
            if not get(part, "thoughtSignature", "thought_signature"):
                return _missing_signature_message(str(call.get("name") or ""), index + 1)
            break
    return None


def _missing_signature_message(name: str, position: int) -> str:
    return (
        "Function call is missing a thought_signature in functionCall parts. This is required for "
        "tools to work correctly, and missing thought_signature may lead to degraded model "
        f"performance. Additional data, function call `default_api:{name}` , position {position}. "
        "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
    )
