"""The open upstream stream handed to the edge once its first events are ready.

Operations:
    OpenStream(attempt, iterator, translator, first_events, scheduler, spawn)
        .first_events / .translator / .credential_id
        await .next_chunk() -> bytes | None     None at the end; UpstreamBroken on failure
        await .finish(ok=, input_tokens=, output_tokens=)   close, return the lease (once)
        .spawn(work)                            run cleanup after the response went out
    Translator                                  what the stream needs of compat's translators
    translator_error(translator) -> GoogleError | None
    UpstreamBroken                              the connection failed mid-stream
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import httpx

import compat
from server.credentials.scheduler import OutcomeKind, RandomScheduler
from server.upstream.attempt import Attempt, transport_message
from server.upstream.errors import UpstreamError


class Translator(Protocol):
    """What the stream path needs of compat's StreamTranslator / OpenAIStreamTranslator."""

    @property
    def started(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    def feed(self, data: bytes) -> list[dict[str, Any]]: ...
    def close(self) -> list[dict[str, Any]]: ...


def translator_error(translator: Translator) -> compat.GoogleError | None:
    """The upstream error a translator ended with (the two translators name it differently)."""
    error = getattr(translator, "error", None) or getattr(translator, "upstream_error", None)
    return error if isinstance(error, compat.GoogleError) else None


class UpstreamBroken(UpstreamError):
    """The upstream connection failed in the middle of a stream already sent to the client."""


class OpenStream:
    """An upstream stream whose first events are ready; the route sends them, then the rest."""

    def __init__(
        self,
        attempt: Attempt,
        iterator: AsyncIterator[bytes],
        translator: Translator,
        first_events: list[dict[str, Any]],
        scheduler: RandomScheduler,
        spawn: Callable[[Awaitable[None]], None],
    ) -> None:
        self.translator = translator
        self.first_events = first_events
        self.credential_id = attempt.lease.credential.id
        self._attempt = attempt
        self._iterator = iterator
        self._scheduler = scheduler
        self._finished = False
        self.spawn = spawn

    async def next_chunk(self) -> bytes | None:
        """The next upstream bytes, None at the end; UpstreamBroken if the connection fails."""
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            return None
        except httpx.HTTPError as exc:
            raise UpstreamBroken(transport_message(exc)) from None

    async def finish(self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Close the upstream response and return the credential's lease (idempotent)."""
        if self._finished:
            return
        self._finished = True
        try:
            await self._attempt.close()
        finally:
            kind = OutcomeKind.SUCCESS if ok else OutcomeKind.ERROR
            await self._scheduler.release(
                self._attempt.lease,
                kind,
                error=None if ok else "stream broken after it started",
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
