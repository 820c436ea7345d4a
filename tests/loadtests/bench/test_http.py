"""The measuring client: a response fed to the meter as it arrives; failures become errors."""

from __future__ import annotations

import asyncio

import pytest

from loadtests._bench._http import HttpClient
from loadtests._common import ErrorInfo, ResponseMeter
from tests.loadtests.bench.servers import (
    ANSWER_500,
    CLOSE_MID_BODY,
    GARBAGE,
    HANG,
    raw_server,
    sse_answer,
)

STREAM = [
    ("message_start", {"type": "message_start", "message": {"usage": {"output_tokens": 1}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "hi"}}),
    ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 2}}),
    ("message_stop", {"type": "message_stop"}),
]  # fmt: skip


async def _measure(url: str, *, deadline: float = 5.0, stream: bool = True) -> ResponseMeter:
    client = HttpClient(url)
    meter = ResponseMeter("anthropic", sent=0.0, stream=stream)
    try:
        await client.send("/v1/messages", {"x-api-key": "k"}, b"{}", meter, deadline)
    finally:
        await client.close()
    return meter


async def test_a_stream_is_measured_and_the_connection_kept_for_the_next_request() -> None:
    with raw_server(sse_answer(STREAM)) as url:
        client = HttpClient(url)
        meters = [ResponseMeter("anthropic", sent=0.0, stream=True) for _ in range(3)]
        for meter in meters:
            await client.send("/v1/messages", {}, b"{}", meter, 5.0)
        connections = len(client._idle)
        await client.close()
    for meter in meters:
        result = meter.result()
        assert result.error is None and result.status == 200
        assert result.ttft is not None and result.e2e is not None and result.output_tokens == 2
    assert connections == 1


async def test_a_server_that_closes_after_answering_gets_a_new_connection() -> None:
    with raw_server(sse_answer(STREAM, close=True)) as url:
        client = HttpClient(url)
        for _ in range(2):
            meter = ResponseMeter("anthropic", sent=0.0, stream=True)
            await client.send("/v1/messages", {}, b"{}", meter, 5.0)
            assert meter.result().error is None
        assert client._idle == []
        await client.close()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (ANSWER_500, ErrorInfo("http", "api_error", "boom")),
        (GARBAGE, "protocol"),
        (CLOSE_MID_BODY, ErrorInfo("protocol", "connection_closed",
                                   "the connection closed before the response ended")),
    ],
)  # fmt: skip
async def test_bad_answers_are_measured_errors(answer: object, expected: object) -> None:
    with raw_server(answer) as url:  # type: ignore[arg-type]
        error = (await _measure(url, stream=False)).result().error
    if isinstance(expected, str):
        assert error is not None and error.kind == expected
    else:
        assert error == expected


async def test_a_server_that_never_answers_is_a_timeout_at_the_deadline() -> None:
    with raw_server(HANG) as url:
        meter = await asyncio.wait_for(_measure(url, deadline=0.3), 10)
    assert meter.result().error == ErrorInfo(
        "timeout", "deadline", "no complete response within 0.3 s"
    )


async def test_nobody_listening_is_a_connect_error() -> None:
    with raw_server(HANG) as url:
        pass  # the port is free again
    error = (await _measure(url)).result().error
    assert error is not None and (error.kind, error.type) == ("connect", "refused")


async def test_fetch_collects_a_whole_body() -> None:
    with raw_server(ANSWER_500) as url:
        client = HttpClient(url)
        fetched = await client.fetch("/x", method="POST", body=b"{}")
        await client.close()
    assert fetched.status == 500 and b"boom" in fetched.body and fetched.error is None


def test_only_http_urls_make_a_client() -> None:
    with pytest.raises(ValueError, match="not an http"):
        HttpClient("ftp://example.invalid")
