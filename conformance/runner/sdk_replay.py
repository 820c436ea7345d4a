"""The official SDKs' view of an answer: the captured bytes replayed into `anthropic` and `openai`.

Operations:
    replay(exchange, route, stream) -> SDKView   what the SDK made of the answer: a parsed object
        (its `model_dump()`), or the exception it raised (class name and message)

Each answer is replayed through httpx's MockTransport into a real SDK client (no second request to
the proxy): `messages.stream(...).get_final_message()` (the Python accumulator, docs/reference/anthropic.md#sdk-stream-rules)
or `messages.create`; `chat.completions.stream(...)
.get_final_completion()` (ChatCompletionStreamState, D.3) or `chat.completions.create`;
`messages.count_tokens`, `models.list` (first page), `models.retrieve`. An error status comes back
as the SDK's exception class for that status (e.g. RateLimitError for 429, OverloadedError for 529);
an `error` event in a stream as APIStatusError. The clients are built as applications build them
(default, lenient response parsing): the reference's shape rules are the grammar checks' job, and a
newer SDK's stricter models would judge fields the reference does not know.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import anthropic
import openai

from conformance.runner.client import Exchange

_DROPPED_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
_PARAMS: dict[str, Any] = {
    "model": "replay",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "replay"}],
}


@dataclass(frozen=True)
class SDKView:
    """What the SDK returned (`value`) or raised (`error_class`, `error`)."""

    value: Any = None
    error_class: str | None = None
    error: str | None = None
    status_code: int | None = None  # an APIStatusError's status

    @property
    def raised(self) -> bool:
        return self.error_class is not None


def _http_library(sdk: ModuleType) -> Any:
    """The HTTP library the SDK is built on (httpx, or httpx2 in recent releases)."""
    base = sdk.DefaultHttpxClient.__mro__[1].__module__.split(".")[0]
    return importlib.import_module(base)


def replay(exchange: Exchange, route: str, stream: bool) -> SDKView:
    """Feed `exchange`'s answer to the SDK of `route`; never raises."""
    library = _http_library(openai if route == "chat" else anthropic)
    transport = library.MockTransport(lambda _: _answer(library, exchange))
    http = library.Client(transport=transport)
    try:
        call = (
            _anthropic_call(http, route, stream) if route != "chat" else _openai_call(http, stream)
        )
        value = call()
        return SDKView(value=value.model_dump() if hasattr(value, "model_dump") else value)
    except Exception as exc:  # the SDK's verdict, whatever it is, is the result
        status = getattr(exc, "status_code", None)
        return SDKView(
            error_class=type(exc).__name__,
            error=str(exc)[:2000],
            status_code=status if isinstance(status, int) else None,
        )
    finally:
        http.close()


def _answer(library: Any, exchange: Exchange) -> Any:
    headers = {k: v for k, v in exchange.headers.items() if k not in _DROPPED_HEADERS}
    return library.Response(exchange.status or 599, headers=headers, content=exchange.body)


def _anthropic_call(http: Any, route: str, stream: bool) -> Callable[[], Any]:
    client = anthropic.Anthropic(
        api_key="replay",
        base_url="http://proxy.replay",
        http_client=http,
        max_retries=0,
    )
    if route == "count_tokens":
        return lambda: client.messages.count_tokens(model="replay", messages=_PARAMS["messages"])
    if route == "models":
        return lambda: client.models.list().data
    if route == "model":
        return lambda: client.models.retrieve("replay")
    if stream:

        def accumulate() -> Any:
            with client.messages.stream(**_PARAMS) as events:
                return events.get_final_message()

        return accumulate
    return lambda: client.messages.create(**_PARAMS)


def _openai_call(http: Any, stream: bool) -> Callable[[], Any]:
    client = openai.OpenAI(
        api_key="replay",
        base_url="http://proxy.replay/v1",
        http_client=http,
        max_retries=0,
    )
    messages: Any = [{"role": "user", "content": "replay"}]
    if stream:

        def accumulate() -> Any:
            with client.chat.completions.stream(model="replay", messages=messages) as chunks:
                return chunks.get_final_completion()

        return accumulate
    return lambda: client.chat.completions.create(model="replay", messages=messages)
