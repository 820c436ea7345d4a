"""The state store interface: what must survive a restart and be shared between proxies.

Operations (all async; an implementation must never block the event loop):
    open() / close()
    record_outcome(credential, model, ok=..., error=..., input_tokens=..., output_tokens=..., at=...)
    health() -> {credential: CredentialHealth}        success/error counts, last error
    usage() -> [Usage]                                 requests and tokens by (credential, model)
    set_cooldown(credential, model, until, reason) / clear_cooldown(credential, model)
    cooldowns(now) -> [Cooldown]                       the ones still running at `now`
    disable(credential, reason) / enable(credential) / disabled() -> {credential: reason}
    get_flags() -> {name: bool} / set_flag(name, value) / delete_flag(name)

Goals: small enough that a Redis implementation can follow (every operation is a keyed
counter, a keyed value with an expiry or a keyed set); times are wall-clock seconds since
the epoch (`time.time()`), so cooldowns mean the same after a restart and on other machines.
The store is the durable copy; the scheduler keeps its own in-memory view for the hot path.
A proxy gets its store from `server.state.factory.open_store`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CredentialHealth:
    """Lifetime outcome counts of one credential."""

    credential: str
    successes: int
    errors: int
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None


@dataclass(frozen=True, slots=True)
class Usage:
    """Requests and tokens sent through one credential for one upstream model."""

    credential: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Cooldown:
    """A (credential, model) pair that must not be used before `until` (epoch seconds)."""

    credential: str
    model: str
    until: float
    reason: str


class StateStore(ABC):
    """Durable proxy state. Implementations: SQLiteStore (default); Redis later."""

    @abstractmethod
    async def open(self) -> None:
        """Create tables / connect. Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and release the connection."""

    @abstractmethod
    async def record_outcome(
        self,
        credential: str,
        model: str,
        *,
        ok: bool,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        at: float,
    ) -> None:
        """Count one upstream call: health (success or error with its message) and usage."""

    @abstractmethod
    async def health(self) -> dict[str, CredentialHealth]:
        """Outcome counts of every credential seen so far."""

    @abstractmethod
    async def usage(self) -> list[Usage]:
        """Usage counters, sorted by (credential, model)."""

    @abstractmethod
    async def set_cooldown(
        self, credential: str, model: str, until: float, reason: str = ""
    ) -> None:
        """Keep (credential, model) out of rotation until `until`; replaces an earlier cooldown."""

    @abstractmethod
    async def clear_cooldown(self, credential: str, model: str) -> None:
        """End a cooldown early."""

    @abstractmethod
    async def cooldowns(self, now: float) -> list[Cooldown]:
        """The cooldowns still running at `now` (expired ones are dropped)."""

    @abstractmethod
    async def disable(self, credential: str, reason: str) -> None:
        """Take a credential out of rotation until `enable` (survives restarts)."""

    @abstractmethod
    async def enable(self, credential: str) -> None:
        """Put a disabled credential back into rotation."""

    @abstractmethod
    async def disabled(self) -> dict[str, str]:
        """Disabled credentials and why."""

    @abstractmethod
    async def get_flags(self) -> dict[str, bool]:
        """Flag values set at run time (flags never set are absent)."""

    @abstractmethod
    async def set_flag(self, name: str, value: bool) -> None:
        """Store a run-time flag value."""

    @abstractmethod
    async def delete_flag(self, name: str) -> None:
        """Forget a run-time flag value (the configured default applies again)."""
