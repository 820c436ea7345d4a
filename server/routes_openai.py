"""OpenAI Chat Completions route: `POST /v1/chat/completions` (stream and non-stream).

Same plan as the Anthropic route, with compat's OpenAI converters and OpenAI's error
envelope (chosen by path in server.errors).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g

import compat
from server.errors import ProxyError
from server.route_support import begin_model_request, require_upstream, stream_response
from server.services import Services
from server.streaming import OPENAI_DIALECT
from server.upstream import UpstreamCall


def blueprint(services: Services) -> Blueprint:
    """The OpenAI routes of one app."""
    routes = Blueprint("openai", __name__)

    @routes.post("/v1/chat/completions")
    async def chat_completions() -> Response:
        req = await begin_model_request(services)
        client_model = req.client_model
        try:
            gemini = compat.openai_to_gemini_request(req.body, options=req.options)
        except compat.RequestError as exc:
            raise ProxyError.from_request_error(exc) from None
        upstream = require_upstream(services)
        stop = _stop(req.body)
        method = "streamGenerateContent" if req.stream else "generateContent"
        call = UpstreamCall(req.upstream_model, method, gemini, req.flags, g.started)
        if req.stream:
            include_usage = _include_usage(req.body)
            open_stream = await upstream.open_stream(
                call,
                lambda: compat.OpenAIStreamTranslator(
                    model=client_model, include_usage=include_usage, stop=stop
                ),
            )
            return stream_response(services, open_stream, OPENAI_DIALECT)
        reply = await upstream.generate(call)
        completion = compat.to_openai_completion(reply, model=client_model, stop=stop)
        return Response(compat.dumps(completion), content_type="application/json")

    return routes


def _stop(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("stop")
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True
