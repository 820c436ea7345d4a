"""The state store interface: what must survive a restart and be shared between proxies.

Operations (all async; an implementation must never block the event loop):
    open() / close()
    record_outcome(credential, model, ok=..., error=..., input_tokens=..., output_tokens=..., at=...)
    record_outcome_later(...)  (not async)            the same, written behind within
                                                       WRITE_BEHIND_WINDOW; never waited for
    flush()                                            write what is written behind now
    health() -> {credential: CredentialHealth}        success/error counts, last error
    usage() -> [Usage]                                 requests and tokens by (credential, model)
    set_cooldown(credential, model, until, reason) / clear_cooldown(credential, model)
    cooldowns(now) -> [Cooldown]                       the ones still running at `now`
    disable(credential, reason) / enable(credential) / disabled() -> {credential: reason}
    get_flags() -> {name: bool} / set_flag(name, value) / delete_flag(name)
    take_lease(candidates, holder, now=, ttl=, limit=) -> credential | None
                                                       atomically: the candidate with the
                                                       fewest live leases, under `limit`
    drop_lease(credential, holder) / leases(now) -> {credential: live leases}
    status() -> StoreStatus                            shared? degraded? failures so far
    add_audit(AuditLine) / audit(limit) -> [AuditLine] operators' changes (who, when, what),
                                                       newest first, the last AUDIT_KEPT kept
    revoke_session(id, until) / session_revoked(id, now) -> bool
                                                       panel logouts, until the session expires

Goals: small enough that a key-value store can implement it (every operation is a keyed
counter, a keyed value with an expiry, a keyed set or a capped list); times are wall-clock seconds since
the epoch (`time.time()`), so cooldowns and lease expiries mean the same after a restart and
on other machines. A lease expires `ttl` seconds after it was taken, so the leases of an
instance that died are not counted for ever. The store is the durable (and, for Redis, the
shared) copy; the scheduler keeps its own in-memory view for the hot path. A proxy gets its
store from `server.state.factory.open_store`. The contract every store keeps is
tests/server/state/test_store_contract.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
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


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """How a store is doing, for metrics and logs.

    shared: several proxies see the same state through it (Redis). degraded: the shared
    copy is unreachable and the store answers from what this process last knew.
    failures: operations that found the shared copy unreachable since open.
    """

    shared: bool
    degraded: bool = False
    failures: int = 0


AUDIT_KEPT = 1000
"""How many audit lines a store keeps (older ones are dropped as new ones come)."""


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One change an operator made: when (epoch seconds), who, and what (`name: off → on`)."""

    at: float
    who: str
    what: str


class StateStore(ABC):
    """Durable proxy state. Implementations: SQLiteStore (default), RedisStore (shared)."""

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
    def record_outcome_later(
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
        """Count one call like `record_outcome`, but written behind: with the next batch,
        within `server.state.batching.WRITE_BEHIND_WINDOW` seconds; a failed write is logged.
        What is queued is lost if the process dies without `flush` or `close` (the
        crash-loss window)."""

    @abstractmethod
    async def flush(self) -> None:
        """Write what `record_outcome_later` queued now, and wait for it."""

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

    @abstractmethod
    async def take_lease(
        self,
        candidates: Sequence[str],
        holder: str,
        *,
        now: float,
        ttl: float,
        limit: int | None = None,
    ) -> str | None:
        """Lease the candidate with the fewest live leases (the first of equals) to `holder`.

        None when every candidate already holds `limit` live leases. Atomic: two callers
        racing for the last slot never both get it. The lease counts until `drop_lease` or
        until `now + ttl`, whichever comes first.
        """

    @abstractmethod
    async def drop_lease(self, credential: str, holder: str) -> None:
        """End `holder`'s lease on `credential` (a lease already gone is no error)."""

    @abstractmethod
    async def leases(self, now: float) -> dict[str, int]:
        """Live (unexpired) leases per credential; credentials with none are absent."""

    @abstractmethod
    async def add_audit(self, line: AuditLine) -> None:
        """Keep one operator change (only the newest AUDIT_KEPT are kept)."""

    @abstractmethod
    async def audit(self, limit: int = 50) -> list[AuditLine]:
        """The newest `limit` audit lines, newest first (in the order they were added)."""

    @abstractmethod
    async def revoke_session(self, session_id: str, until: float) -> None:
        """Refuse a panel session from now until `until` (when it would have expired)."""

    @abstractmethod
    async def session_revoked(self, session_id: str, now: float) -> bool:
        """Whether a panel session was revoked and `now` is before its `until`."""

    def status(self) -> StoreStatus:
        """Shared or local, degraded or not (a local store is never degraded)."""
        return StoreStatus(shared=False)
