"""Anthropic `messages` (and `system`) -> Gemini `contents` (and `systemInstruction` parts).

Operations
    build_contents(messages, *, gemini3) -> (contents, system_parts)
    system_parts(system) -> list of text parts for `systemInstruction`

Goals
    Every block of the Anthropic Messages API is converted or refused with a RequestError naming its
    JSON path; the output obeys Gemini's turn rules (docs/reference/gemini.md#turn-rules): roles
    `user`/`model` only, no two consecutive turns with the same role, never an empty `parts`, the N
    functionCalls of a model turn answered by ONE user turn holding N functionResponse parts in call
    order, and the last turn a user turn.

Plan
    Blocks become parts one message at a time; `_Conversation` appends them to the open
    turn or opens a new one when the role changes, and checks tool pairing when a turn
    closes. The cross-cutting rules (thought signatures, tool ids, tool_result shape) are
    the request half of docs/mapping.md.

Decisions where Anthropic and Gemini differ (documented choices, not accidents):
- `role: "system"` messages before the first user/assistant message extend
  `systemInstruction`, after `system`, in order. Later ones cannot move there without
  losing their place in time, so they become user text at their position (Gemini has no
  mid-conversation system role; the text keeps its position, loses its authority).
- A final assistant message (prefill) is refused: Gemini rejects a request that ends with
  a model turn and has no way to continue one; moving the text elsewhere or appending an
  invented "continue" turn would change what the client asked for. An empty final
  assistant message is a no-op prefill and is dropped.
- `cache_control` and `citations` have no Gemini meaning and are accepted and ignored.
- `search_result` blocks become one text part (title, source, then their text).
- Document `title`/`context` become text parts just before the document's own parts.
- Blocks of server tools and Anthropic-hosted features are refused as unsupported.
"""

from __future__ import annotations

import re
from typing import Any

from compat._anthropic.fields import (
    child,
    dict_field,
    expect_bool,
    expect_dict,
    expect_list,
    expect_str,
    item,
    list_field,
    required,
    str_field,
)
from compat._errors import RequestError

__all__ = ["SKIP_SIGNATURE", "build_contents", "system_parts"]

Part = dict[str, Any]

# Google's documented sentinel for a functionCall that has no thought signature (gemini-cli).
SKIP_SIGNATURE = "skip_thought_signature_validator"
# Tool ids minted from a Gemini functionCall.id carry that id after this prefix (mapping.md).
_GEMINI_ID_PREFIX = "toolu_g_"

_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_IMAGE_EXTENSIONS = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}
# Proto3 JSON `bytes`: standard or URL-safe alphabet, padding optional.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_THINKING_TYPES = frozenset({"thinking", "redacted_thinking"})
_ASSISTANT_ONLY = frozenset({"tool_use", "thinking", "redacted_thinking"})
_USER_ONLY = frozenset({"image", "document", "tool_result", "search_result"})
_UNSUPPORTED = frozenset(
    {
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
        "tool_reference",
    }
)
_EMPTY_CONTENT = (
    "all messages must have non-empty content except for the optional final assistant message"
)


# ---------------------------------------------------------------------------------------
# system


def system_parts(system: object) -> list[Part]:
    """The text parts of the top-level `system` (a string or a list of text blocks)."""
    if type(system) is str:
        return [{"text": system}] if system else []
    blocks = expect_list(system, "system")
    return [
        _text_part(expect_dict(block, item("system", i)), item("system", i))
        for i, block in enumerate(blocks)
    ]


# ---------------------------------------------------------------------------------------
# messages


def build_contents(messages: list[Any], *, gemini3: bool) -> tuple[list[Part], list[Part]]:
    """Convert `messages` to Gemini `contents`; also return leading system-message parts."""
    conversation = _Conversation(gemini3=gemini3)
    last = len(messages) - 1
    for index, message in enumerate(messages):
        path = item("messages", index)
        message = expect_dict(message, path)
        role = required(message, "role", path)
        content = required(message, "content", path)
        if content == "" or content == []:
            if role == "assistant" and index == last:
                continue  # an empty prefill asks for nothing
            raise RequestError(child(path, "content"), _EMPTY_CONTENT)
        if role == "user":
            _add_user_content(conversation, content, child(path, "content"))
        elif role == "assistant":
            parts, calls = _assistant_parts(content, child(path, "content"))
            conversation.add_model_parts(parts, calls, path)
        elif role == "system":
            parts = _system_message_parts(content, child(path, "content"))
            if conversation.started:
                conversation.add_user_parts(parts)
            else:
                conversation.system_parts.extend(parts)
        else:
            raise RequestError(child(path, "role"), "expected one of 'user', 'assistant', 'system'")
    return conversation.finish(), conversation.system_parts


def _system_message_parts(content: object, path: str) -> list[Part]:
    if type(content) is str:
        return [{"text": content}]
    blocks = expect_list(content, path)
    return [
        _text_part(expect_dict(block, item(path, i)), item(path, i))
        for i, block in enumerate(blocks)
    ]


class _Call:
    """A functionCall of a model turn, remembered until the next user turn answers it."""

    __slots__ = ("gemini_id", "id", "name", "path")

    def __init__(self, id: str, name: str, gemini_id: str | None, path: str) -> None:
        self.id = id
        self.name = name
        self.gemini_id = gemini_id
        self.path = path


class _Conversation:
    """Gemini turns under construction: merges same-role turns and pairs tool calls."""

    def __init__(self, *, gemini3: bool) -> None:
        self.gemini3 = gemini3
        self.contents: list[Part] = []
        self.system_parts: list[Part] = []
        self.started = False
        self.calls_by_id: dict[str, _Call] = {}  # every tool_use so far
        self._role: str | None = None
        self._parts: list[Part] = []
        self._calls: list[_Call] = []  # functionCalls of the open model turn
        self._unanswered: list[_Call] = []  # calls of the model turn just closed
        self._responses: dict[str, Part] = {}  # functionResponses of the open user turn
        self._last_message_path = ""

    # -- appending -----------------------------------------------------------------------

    def _open(self, role: str) -> None:
        self.started = True
        if self._role != role:
            self._close()
            self._role = role

    def add_user_parts(self, parts: list[Part]) -> None:
        if parts:
            self._open("user")
            self._parts.extend(parts)

    def add_model_parts(self, parts: list[Part], calls: list[_Call], path: str) -> None:
        if not parts:
            return
        self._open("model")
        self._last_message_path = path
        for call in calls:
            if call.id in self.calls_by_id:
                raise RequestError(
                    child(call.path, "id"), f"tool_use ids must be unique: {call.id}"
                )
            self.calls_by_id[call.id] = call
        self._parts.extend(parts)
        self._calls.extend(calls)

    def add_tool_result(self, tool_use_id: str, response: dict[str, str], path: str) -> None:
        """Answer a call of the preceding model turn with a functionResponse."""
        self._open("user")
        call = next((c for c in self._unanswered if c.id == tool_use_id), None)
        if call is None:
            id_path = child(path, "tool_use_id")
            if tool_use_id in self.calls_by_id:
                raise RequestError(
                    id_path,
                    f"tool_result for {tool_use_id} must directly follow the assistant "
                    "message that holds that tool_use",
                )
            raise RequestError(id_path, f"tool_result names no earlier tool_use: {tool_use_id}")
        if tool_use_id in self._responses:
            raise RequestError(
                child(path, "tool_use_id"), f"duplicate tool_result for {tool_use_id}"
            )
        function_response: Part = {"name": call.name, "response": response}
        if call.gemini_id is not None:
            function_response["id"] = call.gemini_id
        self._responses[tool_use_id] = {"functionResponse": function_response}

    # -- closing -------------------------------------------------------------------------

    def _close(self) -> None:
        if self._role == "user":
            self._close_user_turn()
        elif self._role == "model":
            self._close_model_turn()
        self._parts = []
        self._calls = []
        self._responses = {}

    def _close_user_turn(self) -> None:
        responses = self._responses
        for call in self._unanswered:
            if call.id not in responses:
                raise RequestError(
                    call.path,
                    f"tool_use {call.id} has no tool_result in the next user message",
                )
        ordered = [responses[call.id] for call in self._unanswered]
        self._unanswered = []
        self.contents.append({"role": "user", "parts": ordered + self._parts})

    def _close_model_turn(self) -> None:
        parts = self._parts
        if self._calls and not self.contents:
            # Gemini: "function call turn comes immediately after a user turn".
            raise RequestError(self._calls[0].path, "a tool_use must follow a user message")
        if self.gemini3:
            _add_skip_signature(parts)
        self._unanswered = self._calls
        self.contents.append({"role": "model", "parts": parts})

    def finish(self) -> list[Part]:
        if self._role == "model":
            raise RequestError(
                self._last_message_path,
                "the conversation ends with an assistant message (prefill); Gemini cannot "
                "continue a model turn, so the last message must be a user message",
            )
        self._close()
        if not self.contents:
            raise RequestError("messages", "at least one user message is required")
        return self.contents


def _add_skip_signature(parts: list[Part]) -> None:
    """Gemini 3: the first functionCall of a model turn must carry a signature."""
    for part in parts:
        if "functionCall" in part:
            part.setdefault("thoughtSignature", SKIP_SIGNATURE)
            return


# ---------------------------------------------------------------------------------------
# user content


def _add_user_content(conversation: _Conversation, content: object, path: str) -> None:
    if type(content) is str:
        conversation.add_user_parts([{"text": content}])
        return
    blocks = expect_list(content, path)
    parts: list[Part] = []
    for index, block in enumerate(blocks):
        block_path = item(path, index)
        block = expect_dict(block, block_path)
        kind = _block_type(block, block_path)
        if kind == "text":
            parts.append(_text_part(block, block_path))
        elif kind == "tool_result":
            response, media = _tool_result(block, block_path)
            tool_use_id = str_field(block, "tool_use_id", block_path)
            conversation.add_tool_result(tool_use_id, response, block_path)
            parts.extend(media)
        else:
            parts.extend(_media_parts(kind, block, block_path, allowed="user"))
    conversation.add_user_parts(parts)


def _block_type(block: dict[str, Any], path: str) -> str:
    return str_field(block, "type", path)


def _text_part(block: dict[str, Any], path: str) -> Part:
    if block.get("type") != "text":
        raise RequestError(child(path, "type"), "expected a text block")
    text = str_field(block, "text", path)
    if not text:
        raise RequestError(child(path, "text"), "text content blocks must be non-empty")
    return {"text": text}


def _media_parts(kind: str, block: dict[str, Any], path: str, *, allowed: str) -> list[Part]:
    """Parts of an image, document or search_result block; refuses every other type."""
    if kind == "image":
        return [_image_part(block, path)]
    if kind == "document":
        return _document_parts(block, path)
    if kind == "search_result":
        return [_search_result_part(block, path)]
    raise _unexpected_block(kind, path, allowed=allowed)


def _unexpected_block(kind: str, path: str, *, allowed: str) -> RequestError:
    type_path = child(path, "type")
    if kind in _UNSUPPORTED:
        return RequestError(type_path, f"{kind} blocks are not supported by this gateway")
    if allowed == "user" and kind in _ASSISTANT_ONLY:
        return RequestError(type_path, f"{kind} blocks are only allowed in assistant messages")
    if allowed == "assistant" and kind in _USER_ONLY:
        return RequestError(type_path, f"{kind} blocks are only allowed in user messages")
    if allowed == "tool_result":
        return RequestError(type_path, f"{kind} blocks are not allowed in tool_result content")
    return RequestError(type_path, f"unknown content block type {kind!r}")


def _image_part(block: dict[str, Any], path: str) -> Part:
    source_path = child(path, "source")
    source = dict_field(block, "source", path)
    kind = str_field(source, "type", source_path)
    if kind == "base64":
        media_type = str_field(source, "media_type", source_path)
        if media_type not in _IMAGE_MEDIA_TYPES:
            raise RequestError(
                child(source_path, "media_type"),
                "expected one of image/jpeg, image/png, image/gif, image/webp",
            )
        data = _base64_field(source, "data", source_path)
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if kind == "url":
        url_path = child(source_path, "url")
        url = str_field(source, "url", source_path)
        url_type = _image_type_from_url(url)
        if url_type is None:
            raise RequestError(
                url_path,
                "cannot tell the image type from the URL (expected .jpg, .jpeg, .png, .gif "
                "or .webp); send the image as base64",
            )
        return {"fileData": {"mimeType": url_type, "fileUri": url}}
    raise _unsupported_source(kind, source_path, ("base64", "url"))


def _base64_field(obj: dict[str, Any], key: str, path: str, *, empty_ok: bool = False) -> str:
    """A required base64 string field: Gemini parses it as proto `bytes` and refuses others."""
    value = str_field(obj, key, path)
    if not value and empty_ok:
        return value
    if not _BASE64.fullmatch(value) or len(value.rstrip("=")) % 4 == 1:
        raise RequestError(child(path, key), "expected non-empty base64 data")
    return value


def _image_type_from_url(url: str) -> str | None:
    """The image media type named by the URL path's extension, if any."""
    name = url.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]
    _, dot, extension = name.rpartition(".")
    return _IMAGE_EXTENSIONS.get(extension.lower()) if dot else None


def _unsupported_source(kind: str, path: str, expected: tuple[str, ...]) -> RequestError:
    if kind == "file":
        return RequestError(
            child(path, "type"), "file sources (Files API) are not supported by this gateway"
        )
    return RequestError(child(path, "type"), f"expected one of {', '.join(expected)}")


def _document_parts(block: dict[str, Any], path: str) -> list[Part]:
    parts: list[Part] = []
    for field, label in (("title", "Document title"), ("context", "Document context")):
        value = block.get(field)
        if value is not None and expect_str(value, child(path, field)):
            parts.append({"text": f"{label}: {value}"})
    source_path = child(path, "source")
    source = dict_field(block, "source", path)
    kind = str_field(source, "type", source_path)
    if kind == "base64":
        _expect_media_type(source, source_path, "application/pdf")
        data = _base64_field(source, "data", source_path)
        parts.append({"inlineData": {"mimeType": "application/pdf", "data": data}})
    elif kind == "text":
        _expect_media_type(source, source_path, "text/plain")
        data = str_field(source, "data", source_path)
        if data:
            parts.append({"text": data})
    elif kind == "content":
        parts.extend(_document_content_parts(source, source_path))
    elif kind == "url":
        url = str_field(source, "url", source_path)
        parts.append({"fileData": {"mimeType": "application/pdf", "fileUri": url}})
    else:
        raise _unsupported_source(kind, source_path, ("base64", "text", "content", "url"))
    return parts


def _expect_media_type(source: dict[str, Any], path: str, expected: str) -> None:
    media_path = child(path, "media_type")
    if str_field(source, "media_type", path) != expected:
        raise RequestError(media_path, f"expected {expected!r}")


def _document_content_parts(source: dict[str, Any], path: str) -> list[Part]:
    content_path = child(path, "content")
    content = required(source, "content", path)
    if type(content) is str:
        return [{"text": content}] if content else []
    parts: list[Part] = []
    for index, block in enumerate(expect_list(content, content_path)):
        block_path = item(content_path, index)
        block = expect_dict(block, block_path)
        kind = _block_type(block, block_path)
        if kind == "text":
            parts.append(_text_part(block, block_path))
        elif kind == "image":
            parts.append(_image_part(block, block_path))
        else:
            raise RequestError(child(block_path, "type"), "expected a text or image block")
    return parts


def _search_result_part(block: dict[str, Any], path: str) -> Part:
    source = str_field(block, "source", path)
    title = str_field(block, "title", path)
    content_path = child(path, "content")
    blocks = list_field(block, "content", path)
    texts = [
        _text_part(expect_dict(b, item(content_path, i)), item(content_path, i))["text"]
        for i, b in enumerate(blocks)
    ]
    return {"text": "\n".join([f"Search result: {title}", f"Source: {source}", "", *texts])}


def _tool_result(block: dict[str, Any], path: str) -> tuple[dict[str, str], list[Part]]:
    """The functionResponse `response` object of a tool_result, and its non-text parts."""
    is_error = block.get("is_error")
    if is_error is not None:
        expect_bool(is_error, child(path, "is_error"))
    content = block.get("content")
    media: list[Part] = []
    if content is None:
        text = ""
    elif type(content) is str:
        text = content
    else:
        content_path = child(path, "content")
        texts: list[str] = []
        for index, inner in enumerate(expect_list(content, content_path)):
            inner_path = item(content_path, index)
            inner = expect_dict(inner, inner_path)
            kind = _block_type(inner, inner_path)
            if kind == "text":
                texts.append(str_field(inner, "text", inner_path))
            elif kind == "search_result":
                texts.append(_search_result_part(inner, inner_path)["text"])
            elif kind == "image" or kind == "document":
                media.extend(_media_parts(kind, inner, inner_path, allowed="tool_result"))
            else:
                raise _unexpected_block(kind, inner_path, allowed="tool_result")
        text = "\n".join(texts)
    return ({"error": text} if is_error else {"output": text}), media


# ---------------------------------------------------------------------------------------
# assistant content


def _assistant_parts(content: object, path: str) -> tuple[list[Part], list[_Call]]:
    """Parts and functionCalls of one assistant message (thought signatures per mapping.md)."""
    if type(content) is str:
        return [{"text": content}], []
    blocks = expect_list(content, path)
    parts: list[Part] = []
    calls: list[_Call] = []
    pending_signature = ""
    last = len(blocks) - 1
    for index, block in enumerate(blocks):
        block_path = item(path, index)
        block = expect_dict(block, block_path)
        kind = _block_type(block, block_path)
        if kind in _THINKING_TYPES:
            text, signature = _thinking(kind, block, block_path)
            thought: Part | None = {"text": text, "thought": True} if text else None
            if thought is not None:
                parts.append(thought)
            if signature:
                following = blocks[index + 1] if index < last else None
                following_type = following.get("type") if type(following) is dict else None
                if type(following_type) is str and following_type not in _THINKING_TYPES:
                    pending_signature = signature  # rides on the next block's part
                elif thought is not None:
                    thought["thoughtSignature"] = signature
                else:
                    parts.append({"text": "", "thoughtSignature": signature})
            continue
        if kind == "text":
            part = _text_part(block, block_path)
        elif kind == "tool_use":
            part, call = _tool_use(block, block_path)
            calls.append(call)
        else:
            raise _unexpected_block(kind, block_path, allowed="assistant")
        if pending_signature:
            part["thoughtSignature"] = pending_signature
            pending_signature = ""
        parts.append(part)
    return parts, calls


def _thinking(kind: str, block: dict[str, Any], path: str) -> tuple[str, str]:
    if kind == "redacted_thinking":
        return "", _base64_field(block, "data", path, empty_ok=True)
    text = str_field(block, "thinking", path)
    signature = _base64_field(block, "signature", path, empty_ok=True)
    return text, signature


def _tool_use(block: dict[str, Any], path: str) -> tuple[Part, _Call]:
    tool_use_id = str_field(block, "id", path)
    if not tool_use_id:
        raise RequestError(child(path, "id"), "tool_use id must be non-empty")
    name = str_field(block, "name", path)
    arguments = dict_field(block, "input", path)
    function_call: Part = {"name": name, "args": arguments}
    gemini_id = _gemini_id(tool_use_id)
    if gemini_id is not None:
        function_call["id"] = gemini_id
    return {"functionCall": function_call}, _Call(tool_use_id, name, gemini_id, path)


def _gemini_id(tool_use_id: str) -> str | None:
    """The upstream functionCall.id behind `toolu_g_<id>`; minted ids send none (mapping.md)."""
    if tool_use_id.startswith(_GEMINI_ID_PREFIX) and len(tool_use_id) > len(_GEMINI_ID_PREFIX):
        return tool_use_id[len(_GEMINI_ID_PREFIX) :]
    return None
