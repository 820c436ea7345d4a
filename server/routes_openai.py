"""OpenAI Chat Completions route: `POST /v1/chat/completions` (stream and non-stream).

Same plan as the Anthropic route, with compat's OpenAI converters and OpenAI's error
envelope (chosen by path in server.errors).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g

import compat
from server.errors import ProxyError
from server.route_support import (
    authorise_client,
    flags_for_request,
    read_json_object,
    require_upstream,
    resolve_model,
    stream_flag,
    stream_response,
)
from server.services import Services
from server.streaming import OPENAI_DIALECT
from server.upstream import UpstreamCall


def blueprint(services: Services) -> Blueprint:
    """The OpenAI routes of one app."""
    routes = Blueprint("openai", __name__)

    @routes.post("/v1/chat/completions")
    async def chat_completions() -> Response:
        authorise_client(services)
        body = await read_json_object()
        client_model, upstream_model = resolve_model(services, body)
        stream = stream_flag(body)
        flags = await flags_for_request(services)
        options = compat.ConversionOptions(
            fast_path=flags.ff_converter_fast_path,
            schema_mode=services.schema_mode,
            upstream_model=upstream_model,
        )
        try:
            gemini = compat.openai_to_gemini_request(body, options=options)
        except compat.RequestError as exc:
            raise ProxyError.from_request_error(exc) from None
        upstream = require_upstream(services)
        stop = _stop(body)
        method = "streamGenerateContent" if stream else "generateContent"
        call = UpstreamCall(upstream_model, method, gemini, flags, g.started)
        if stream:
            include_usage = _include_usage(body)
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
