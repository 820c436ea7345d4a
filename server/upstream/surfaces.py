"""Upstream surfaces: where a call goes and how its body is wrapped.

Operations:
    surface_for(upstream_config) -> Surface
    Surface(base_url)                        the Gemini API: `{base}/v1beta/models/{model}:{method}`
    CodeAssistSurface(base_url, api_version) Code Assist: `{base}/{version}:{method}` with the
                                             `{model, project, request}` envelope
        .url(call) / .body(call, project) / .unwrap(reply)
"""

from __future__ import annotations

import uuid
from typing import Any

from server.config import UpstreamConfig
from server.upstream.call import UpstreamCall


class Surface:
    """The Gemini API: `{base}/v1beta/models/{model}:{method}`."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def url(self, call: UpstreamCall) -> str:
        suffix = "?alt=sse" if call.method == "streamGenerateContent" else ""
        return f"{self._base}/v1beta/models/{call.model}:{call.method}{suffix}"

    def body(self, call: UpstreamCall, project: str | None) -> dict[str, Any]:
        if call.method == "countTokens":
            return {"generateContentRequest": {"model": f"models/{call.model}", **call.request}}
        return call.request

    def unwrap(self, reply: Any) -> dict[str, Any]:
        return reply if isinstance(reply, dict) else {}


def _counted_contents(request: dict[str, Any]) -> list[Any]:
    """Code Assist's countTokens takes only `contents`: the system instruction's parts join the
    first user turn, so the count covers the system prompt too (it was silently left out)."""
    contents = list(request.get("contents", []))
    system_parts = (request.get("systemInstruction") or {}).get("parts") or []
    if not system_parts:
        return contents
    if contents and contents[0].get("role", "user") == "user":
        first = contents[0]
        return [{**first, "parts": [*system_parts, *first.get("parts", [])]}, *contents[1:]]
    return [{"role": "user", "parts": list(system_parts)}, *contents]


class CodeAssistSurface(Surface):
    """Code Assist: `{base}/{version}:{method}` with the `{model, project, request}` envelope."""

    def __init__(self, base_url: str, api_version: str) -> None:
        super().__init__(base_url)
        self._version = api_version
        self._session_id = str(uuid.uuid4())

    def url(self, call: UpstreamCall) -> str:
        suffix = "?alt=sse" if call.method == "streamGenerateContent" else ""
        return f"{self._base}/{self._version}:{call.method}{suffix}"

    def body(self, call: UpstreamCall, project: str | None) -> dict[str, Any]:
        if call.method == "countTokens":
            contents = _counted_contents(call.request)
            return {"request": {"model": f"models/{call.model}", "contents": contents}}
        envelope: dict[str, Any] = {
            "model": call.model,
            "user_prompt_id": uuid.uuid4().hex,
            "request": {**call.request, "session_id": self._session_id},
        }
        if project:
            envelope["project"] = project
        return envelope

    def unwrap(self, reply: Any) -> dict[str, Any]:
        if isinstance(reply, dict) and "response" in reply and "candidates" not in reply:
            inner = reply["response"]
            return inner if isinstance(inner, dict) else {}
        return reply if isinstance(reply, dict) else {}


def surface_for(config: UpstreamConfig) -> Surface:
    if config.kind == "code_assist":
        return CodeAssistSurface(config.code_assist_base_url, config.code_assist_api_version)
    return Surface(config.gemini_base_url)
