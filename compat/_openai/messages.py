"""OpenAI `messages` → Gemini `contents` and `systemInstruction`.

Operation: `convert_messages(messages, gemini_3=...) -> (contents, system_instruction)`.

Rules (docs/mapping.md, docs/reference/gemini.md#turn-rules, docs/reference/openai.md#request):
- `system` and `developer` messages, wherever they appear, become the parts of
  `systemInstruction`, in order.
- `user` content → a user turn (parts per `compat._openai.media`).
- `assistant` → a model turn: `reasoning_content` (echoed DeepSeek-style) as a thought part,
  then its text/refusal, then one `functionCall` part per `tool_calls` entry (`arguments` is
  a JSON string that must encode an object; "" means `{}`); legacy `function_call` likewise.
  A tool call's `extra_content.google.thought_signature` (the field Google's own
  OpenAI-compatible endpoint uses, and which the response side emits) goes back as the
  part's `thoughtSignature`, exactly as received. The message's own
  `extra_content.google.thought_signature` (a signature Gemini put on a text, thought or
  empty part) goes back on the message's first content part, else its thought part, else
  an empty-text part after the calls.
- `tool` messages answer the tool calls of the assistant message just before them. All the
  consecutive tool messages form ONE user turn whose `functionResponse` parts follow the
  order of the calls; `name` comes from the matching call, `response` is
  `{"output": <text>}`. An id `call_g_X` (a Gemini-issued id X) sends `id: X` on both the
  call and the response. A call left unanswered, an unknown id or a duplicate answer is a
  `RequestError`, as it is on the OpenAI API. Legacy `function` messages become
  `functionResponse` parts named by their `name`.
- Turns: only `user`/`model` roles; adjacent same-role turns are merged; empty turns are
  dropped; the conversation must end with a user turn and may not open with a function call (the
  Gemini 400s listed in docs/reference/gemini.md#turn-rules are reported as the client's error, with
  its path).
- Gemini 3: the first functionCall of each model turn that has no signature gets Google's
  documented `skip_thought_signature_validator` (histories from other models, or clients
  that drop `extra_content`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compat._errors import RequestError
from compat._json import JSONError, loads
from compat._openai.fields import (
    JSONObject,
    describe,
    require_dict,
    require_list,
    require_str,
)
from compat._openai.media import content_parts, text_of

SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator"
GEMINI_ID_PREFIX = "call_g_"


@dataclass(slots=True)
class _PendingCall:
    position: int
    name: str
    upstream_id: str | None


@dataclass(slots=True)
class _Conversation:
    """The turns built so far and the tool calls still waiting for their answers."""

    contents: list[JSONObject] = field(default_factory=list)
    system_parts: list[JSONObject] = field(default_factory=list)
    last_model_message: int = -1
    pending: dict[str, _PendingCall] = field(default_factory=dict)
    pending_path: str = ""
    answered: set[str] = field(default_factory=set)
    answers: list[tuple[tuple[int, int], JSONObject]] = field(default_factory=list)

    def add_turn(self, role: str, parts: list[JSONObject]) -> None:
        if not parts:
            return
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def flush_answers(self) -> None:
        """Close a run of tool messages: every call must have had its answer."""
        if self.pending:
            missing = ", ".join(self.pending)
            raise RequestError(
                self.pending_path,
                "an assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'; not answered: {missing}",
            )
        self.answers.sort(key=lambda answer: answer[0])
        self.add_turn("user", [part for _, part in self.answers])
        self.answers = []


def convert_messages(
    messages: object, *, gemini_3: bool
) -> tuple[list[JSONObject], JSONObject | None]:
    """Gemini `contents` and `systemInstruction` (None when empty) for OpenAI `messages`."""
    conversation = _Conversation()
    raw_messages = require_list(messages, "messages")
    for index, raw_message in enumerate(raw_messages):
        path = f"messages[{index}]"
        message = require_dict(raw_message, path)
        role = message.get("role")
        if role in ("system", "developer"):
            text = text_of(message.get("content"), f"{path}.content")
            if text:
                conversation.system_parts.append({"text": text})
        elif role == "tool":
            _add_tool_answer(conversation, message, path)
        elif role == "function":
            _add_function_answer(conversation, message, path)
        elif role == "user":
            conversation.flush_answers()
            conversation.add_turn("user", content_parts(message.get("content"), f"{path}.content"))
        elif role == "assistant":
            conversation.flush_answers()
            _add_assistant(conversation, message, path)
            if conversation.contents and conversation.contents[-1]["role"] == "model":
                conversation.last_model_message = index
        else:
            shown = repr(role) if isinstance(role, str) else describe(role)
            raise RequestError(f"{path}.role", f"unknown role {shown}")
    conversation.flush_answers()
    _check_turns(conversation.contents, conversation.last_model_message)
    if gemini_3:
        _add_skip_signatures(conversation.contents)
    system = {"parts": conversation.system_parts} if conversation.system_parts else None
    return conversation.contents, system


def _add_assistant(conversation: _Conversation, message: JSONObject, path: str) -> None:
    parts: list[JSONObject] = []
    reasoning = message.get("reasoning_content")
    if reasoning is not None and require_str(reasoning, f"{path}.reasoning_content"):
        parts.append({"text": reasoning, "thought": True})
    parts.extend(content_parts(message.get("content"), f"{path}.content"))
    refusal = message.get("refusal")
    if refusal is not None and require_str(refusal, f"{path}.refusal"):
        parts.append({"text": refusal})
    if message.get("audio") is not None:
        raise RequestError(f"{path}.audio", "assistant audio cannot be sent to Gemini")
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        for position, raw_call in enumerate(require_list(tool_calls, f"{path}.tool_calls")):
            call_path = f"{path}.tool_calls[{position}]"
            parts.append(
                _function_call(conversation, require_dict(raw_call, call_path), position, call_path)
            )
        conversation.pending_path = f"{path}.tool_calls"
    legacy_call = message.get("function_call")
    if legacy_call is not None:
        call_path = f"{path}.function_call"
        call = require_dict(legacy_call, call_path)
        name = require_str(call.get("name"), f"{call_path}.name")
        parts.append({"functionCall": {"name": name, "args": _arguments(call, call_path)}})
    signature = _thought_signature(message, path)
    if signature:
        _sign_first_non_call(parts, signature)
    conversation.add_turn("model", parts)


def _sign_first_non_call(parts: list[JSONObject], signature: str) -> None:
    """Put the message-level signature back on a part that is no call, as Gemini had it.

    Gemini usually signs the first visible part of a reply, so the first content part is
    preferred, then the thought part, then a new empty-text part after the calls.
    """
    candidates = [part for part in parts if "functionCall" not in part]
    visible = [part for part in candidates if part.get("thought") is not True]
    targets = visible or candidates
    if targets:
        targets[0]["thoughtSignature"] = signature
    else:
        parts.append({"text": "", "thoughtSignature": signature})


def _function_call(
    conversation: _Conversation, call: JSONObject, position: int, path: str
) -> JSONObject:
    if call.get("type", "function") != "function":
        raise RequestError(f"{path}.type", "only function tool calls can be sent to Gemini")
    call_id = require_str(call.get("id"), f"{path}.id")
    if not call_id:
        raise RequestError(f"{path}.id", "a tool call id must not be empty")
    if call_id in conversation.pending:
        raise RequestError(f"{path}.id", f"duplicate tool call id {call_id!r}")
    function = require_dict(call.get("function"), f"{path}.function")
    name = require_str(function.get("name"), f"{path}.function.name")
    upstream_id = call_id[len(GEMINI_ID_PREFIX) :] if call_id.startswith(GEMINI_ID_PREFIX) else None
    conversation.pending[call_id] = _PendingCall(position, name, upstream_id)
    function_call: JSONObject = {"name": name, "args": _arguments(function, f"{path}.function")}
    if upstream_id:
        function_call["id"] = upstream_id
    part: JSONObject = {"functionCall": function_call}
    signature = _thought_signature(call, path)
    if signature:
        part["thoughtSignature"] = signature
    return part


def _thought_signature(call: JSONObject, path: str) -> str | None:
    """`extra_content.google.thought_signature` of a tool call or a message (Google's field)."""
    extra = call.get("extra_content")
    if extra is None:
        return None
    google = require_dict(extra, f"{path}.extra_content").get("google")
    if google is None:
        return None
    signature = require_dict(google, f"{path}.extra_content.google").get("thought_signature")
    if signature is None:
        return None
    return require_str(signature, f"{path}.extra_content.google.thought_signature")


def _arguments(function: JSONObject, path: str) -> JSONObject:
    arguments = require_str(function.get("arguments"), f"{path}.arguments")
    if not arguments.strip():
        return {}
    try:
        parsed = loads(arguments)
    except JSONError as error:
        raise RequestError(f"{path}.arguments", f"not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise RequestError(
            f"{path}.arguments", f"must encode a JSON object, got {describe(parsed)}"
        )
    return parsed


def _add_tool_answer(conversation: _Conversation, message: JSONObject, path: str) -> None:
    call_id = require_str(message.get("tool_call_id"), f"{path}.tool_call_id")
    call = conversation.pending.pop(call_id, None)
    if call is None:
        problem = (
            "was already answered"
            if call_id in conversation.answered
            else ("names no tool call of the preceding assistant message")
        )
        raise RequestError(f"{path}.tool_call_id", f"{call_id!r} {problem}")
    conversation.answered.add(call_id)
    output = text_of(message.get("content"), f"{path}.content")
    response: JSONObject = {"name": call.name, "response": {"output": output}}
    if call.upstream_id:
        response["id"] = call.upstream_id
    conversation.answers.append(((0, call.position), {"functionResponse": response}))


def _add_function_answer(conversation: _Conversation, message: JSONObject, path: str) -> None:
    name = require_str(message.get("name"), f"{path}.name")
    content = message.get("content")
    output = "" if content is None else text_of(content, f"{path}.content")
    part = {"functionResponse": {"name": name, "response": {"output": output}}}
    conversation.answers.append(((1, len(conversation.answers)), part))


def _check_turns(contents: list[JSONObject], last_model_message: int) -> None:
    if not contents:
        raise RequestError("messages", "at least one non-empty user message is required")
    if contents[-1]["role"] == "model":
        raise RequestError(
            f"messages[{last_model_message}]",
            "the conversation must end with a user or tool message (Gemini cannot continue "
            "an assistant message)",
        )
    if contents[0]["role"] == "model" and _has_function_call(contents[0]):
        raise RequestError("messages", "a message with tool_calls must come after a user message")


def _has_function_call(content: JSONObject) -> bool:
    return any("functionCall" in part for part in content["parts"])


def _add_skip_signatures(contents: list[JSONObject]) -> None:
    for content in contents:
        if content["role"] != "model":
            continue
        for part in content["parts"]:
            if "functionCall" in part:
                part.setdefault("thoughtSignature", SKIP_THOUGHT_SIGNATURE)
                break
