"""Validation rules of `contents`: parts, turn order, thought signatures
(docs/reference/gemini.md#turn-rules, #thought-signatures).

Operations:
- `read_contents(contents, out) -> list[Turn]`: one pass over every content and part. It appends
  `(path, problem)` pairs for empty `parts` (`contents.parts must not be empty.`), parts with no
  data field (`required oneof field 'data' must have one initialized field`) and nameless function
  calls/responses (`Name cannot be empty.`) - Google reports all of these together,
  one `* GenerateContentRequest.<path>:` line each - and returns a `Turn` summary per content.
  `read_content` does the same for one Content (`systemInstruction`).
- `turn_order_problem(turns)`: the first turn-structure error, as Google's one-line message
  (roles, alternation, where function call and function response turns may stand, how many
  responses answer a call turn, the last turn).
- `thought_signature_problem(turns, model)`: the Gemini 3 error for a function call turn whose
  first `functionCall` part has no `thoughtSignature`.

Goal: the exact messages quoted in the reference. Plan: the parts are read once, into small
`Turn` records the conversation rules then judge; the parse pass has already shaped `contents`
(objects where messages belong, scalars well typed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.emulator._json_access import dicts, get
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
EMPTY_NAME_PROBLEM = "Name cannot be empty."  # quoted in public code, not in the reference

_DATA_KEYS = tuple(
    (snake, snake.split("_")[0] + "".join(word.title() for word in snake.split("_")[1:]))
    for snake in PART_DATA_FIELDS
)


@dataclass(frozen=True, slots=True)
class Turn:
    """What the conversation rules need to know about one content."""

    position: int  # 1-based index in `contents`
    role: object
    calls: int
    responses: int
    first_call_name: str
    first_call_signed: bool


def read_contents(contents: list[Any], out: list[tuple[str, str]]) -> list[Turn]:
    """Append the per-part problems of every content; return one `Turn` per content."""
    turns: list[Turn] = []
    for index, content in enumerate(contents):
        if type(content) is dict:
            turns.append(read_content(content, f"contents[{index}]", index + 1, out))
    return turns


def read_content(
    content: dict[str, Any],
    path: str,
    position: int,
    out: list[tuple[str, str]],
    *,
    require_parts: bool = True,
) -> Turn:
    """Append the per-part problems of one Content found at `path`; return its `Turn`.

    `require_parts=False` is for `systemInstruction`, where an empty `parts` list was not seen
    refused in the reference.
    """
    role = content.get("role")
    role = "user" if role is None or role == "" else role
    parts = dicts(get(content, "parts"))
    if not parts and require_parts:
        out.append((f"{path}.parts", EMPTY_PARTS_PROBLEM))
    calls = responses = 0
    first_call_name = ""
    first_call_signed = False
    for part_index, part in parts:
        if not _has_data(part):
            out.append((f"{path}.parts[{part_index}].data", NO_DATA_PROBLEM))
        call = get(part, "functionCall", "function_call")
        if type(call) is dict:
            if not call.get("name"):
                out.append((f"{path}.parts[{part_index}].function_call.name", EMPTY_NAME_PROBLEM))
            if not calls:
                first_call_name = str(call.get("name") or "")
                first_call_signed = bool(get(part, "thoughtSignature", "thought_signature"))
            calls += 1
        response = get(part, "functionResponse", "function_response")
        if type(response) is dict:
            if not response.get("name"):
                where = f"{path}.parts[{part_index}].function_response.name"
                out.append((where, EMPTY_NAME_PROBLEM))
            responses += 1
    return Turn(position, role, calls, responses, first_call_name, first_call_signed)


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
        if value == "" and get(part, "thoughtSignature", "thought_signature") is None:
            continue
        return True
    return False


def turn_order_problem(turns: list[Turn]) -> str | None:
    """The first turn-structure error of the conversation, or None."""
    if any(turn.role not in VALID_ROLES for turn in turns):
        return ROLE_MESSAGE
    previous: Turn | None = None
    for turn in turns:
        if turn.calls and (previous is None or previous.role != "user"):
            return CALL_POSITION_MESSAGE
        if previous is not None and turn.role == previous.role:
            return ALTERNATE_MESSAGE
        previous_calls = previous.calls if previous is not None else 0
        if turn.responses and not previous_calls:
            return RESPONSE_POSITION_MESSAGE
        if previous_calls and turn.responses != previous_calls:
            return RESPONSE_COUNT_MESSAGE
        previous = turn
    if previous is not None and previous.role != "user":
        return LAST_TURN_MESSAGE
    return None


def requires_thought_signatures(model: str) -> bool:
    """Gemini 3 models refuse function call turns without signatures
    (docs/reference/gemini.md#thought-signatures)."""
    return model.removeprefix("models/").startswith("gemini-3")


def thought_signature_problem(turns: list[Turn], model: str) -> str | None:
    """The missing-signature error for the current turn's first unsigned call turn, or None.

    Only the current turn is checked: the model turns after the last user turn that is not a
    function response (the thought-signatures guide validates "the current turn"; gemini-cli adds
    its sentinel only in the active loop). `position` is the 1-based index of the content: the
    reference's `position 2` is then the first model turn of a plain conversation, and the
    positions seen in long Claude Code agent loops (10, 32, 136 in lbjlaq/Antigravity-Manager#3243
    and Rahularya01/pi-antigravity#22) fit a content index, not a part index. Still an inference.
    """
    if not requires_thought_signatures(model):
        return None
    start = 0
    for index, turn in enumerate(turns):
        if turn.role == "user" and not turn.responses:
            start = index + 1
    for turn in turns[start:]:
        if turn.role == "model" and turn.calls and not turn.first_call_signed:
            return _missing_signature_message(turn.first_call_name, turn.position)
    return None


def _missing_signature_message(name: str, position: int) -> str:
    return (
        "Function call is missing a thought_signature in functionCall parts. This is required for "
        "tools to work correctly, and missing thought_signature may lead to degraded model "
        f"performance. Additional data, function call `default_api:{name}` , position {position}. "
        "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
    )
