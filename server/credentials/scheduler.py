"""Credential schedulers: which upstream credential serves the next attempt.

Operations:
    CredentialBoard(credentials, store, clock=time.time)   the shared live view of every
        await .load() / await .sync()                       credential: in-flight count,
        .states() -> [(id, state)]                          cooldowns per (credential, model),
        .snapshot() -> [CredentialStatus]                   disabled ones, decaying error rate;
        await .disable(id, reason) / .enable(id)            writes go to the store in the
        await .set_cooldown(id, model, seconds, reason)     background; `flush()` waits for them
        await .clear_cooldown(id, model) / .flush()
        await .close()                                      spare leases back, then flush
        .open_lease(credential, model) -> Lease             a lease on a given credential, not
        await .lease_again(credential, model) -> Lease      counted / counted against the limit
        await .release(lease, kind, ...)                    (a retry on the same one); its end
    RandomScheduler(board, rng)        off arm: uniform among usable credentials
    HealthScheduler(board, rng)        on arm (scarce models): lowest score wins, where
                                       score = in-flight + ERROR_WEIGHT * recent error rate;
                                       ties broken at random
        await .acquire(model, exclude=(), max_wait=0.0) -> Lease
        await .release(lease, kind, cooldown=, disable=, error=, input_tokens=, output_tokens=)
    Schedulers(board, rng).for_request(flags, scarce) -> RandomScheduler | HealthScheduler
    NoCredentialAvailable(model, retry_after)           every credential disabled or cooling
    OutcomeKind                                         how an attempt ended, as counted here

Usable = not disabled and not cooling for that model. `exclude` (credentials already tried by
this request) is a preference: when only excluded credentials are usable, one of them is
used rather than failing. When every credential is cooling for the model, the one whose
cooldown ends first is leased with `Lease.wait` seconds to wait, if that is at most
`max_wait`; otherwise NoCredentialAvailable carries how long until one is free.

Concurrency limit (`limit`, upstream.max_in_flight): a credential holds at most `limit`
leases at once. With a shared store (Redis) the limit holds across every instance: a lease is
taken atomically in the store (StateStore.take_lease: the least-leased usable credential
under the limit, ties in the arm's order of preference), with a TTL of LEASE_TTL renewed by
`sync()` while the attempt runs, so a crashed instance's slots come back; its end is written
behind. With a local store the board's own counts enforce it. When every usable credential is
full, acquire waits for a slot up to `slot_wait` seconds (polling every SLOT_POLL), then
raises NoCredentialAvailable with `busy` set. Spares: an ended store lease is kept (up to
SPARES_PER_CREDENTIAL) and reused by the next lease on that credential without a round trip,
while keeping it leaves a slot free pool-wide; `sync()` gives spares back when a credential's
slots are all taken, `close()` at shutdown.

Goals: without a limit, acquire and release touch only memory (no await on I/O), so they
cost microseconds; the store is the durable copy, loaded at start and written behind
(outcomes in batches of up to server.state.batching.WRITE_BEHIND_WINDOW, never waited for on
the request path). With a limit and a shared store, acquire costs one store round trip (one Lua script), the price of
a bound that holds across instances, and none when a spare is reused. With a shared store,
`sync()` (called every SHARED_SYNC_INTERVAL by the app) takes in the cooldowns and disabled
credentials other instances wrote and, with a limit, their in-flight leases (counted in
`in_flight`, so the health score sees the whole pool's load); error rates stay per instance.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import math
import os
import random
import secrets
import time
from collections.abc import Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.credentials.errors import CredentialError
from server.state.store import StateStore

if TYPE_CHECKING:
    from server.credentials.credential import Credential
    from server.flags import Flags

log = logging.getLogger("compatkit.server.credentials")

ERROR_WEIGHT = 4.0
"""How many in-flight requests one unit of recent error rate (0..1) is worth."""

ERROR_HALF_LIFE = 60.0
"""Seconds after which an error counts half as much in the recent error rate."""

LEASE_TTL = 60.0
"""Seconds a lease in the shared store counts without being renewed (a dead instance's
leases free their slots after at most this)."""

LEASE_RENEW_AFTER = LEASE_TTL / 3
"""Age at which `sync()` renews a running attempt's lease in the shared store."""

SLOT_POLL = 0.02
"""Seconds between two tries for a free slot when every usable credential is at its limit."""

SPARES_PER_CREDENTIAL = 2
"""Ended leases an instance keeps in the shared store per credential, to reuse for its next
attempts without a round trip, while the credential is below its limit pool-wide."""


class OutcomeKind(enum.StrEnum):
    """How an upstream call ended, as the credential scheduler counts it."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"
    CAPACITY = "capacity"
    AUTH_ERROR = "auth_error"
    ERROR = "error"
    CANCELLED = "cancelled"  # the client went away first: nothing learnt about the credential


class NoCredentialAvailable(CredentialError):
    """No credential can serve `model` now. `retry_after` is None when all are disabled;
    `busy` when every usable one stayed at its concurrency limit for the whole slot wait."""

    def __init__(self, model: str, retry_after: float | None, *, busy: bool = False) -> None:
        if retry_after is None:
            message = "no upstream credential is enabled"
        elif busy:
            message = f"every upstream credential is at its concurrency limit for {model}"
        else:
            message = f"every upstream credential is cooling down for {model}; retry in {retry_after:.1f}s"
        super().__init__(message)
        self.model = model
        self.retry_after = retry_after
        self.busy = busy


@dataclass(frozen=True, slots=True)
class Lease:
    """One credential lent to one attempt. Release it exactly once.

    wait: seconds the caller must sleep before using it (> 0 only when every credential
    was cooling for the model and this one frees up first). holder: the lease's name in the
    shared store (None when it is counted in this process only).
    """

    credential: Credential
    model: str
    wait: float = 0.0
    serial: int = field(default=0, compare=False)
    holder: str | None = field(default=None, compare=False)


@dataclass(slots=True)
class _StoreLease:
    """A lease this instance holds in the shared store (in use or spare), and when it was
    last taken or renewed."""

    credential: str
    holder: str
    renewed_at: float


@dataclass(frozen=True, slots=True)
class CredentialStatus:
    """A credential as the admin API and control panel show it."""

    credential: str
    kind: str
    state: str
    in_flight: int
    error_rate: float
    disabled_reason: str | None
    cooldowns: dict[str, float]


@dataclass(slots=True)
class _DecayingCounts:
    """Successes and errors with exponential decay; rate = errors / (errors + successes)."""

    successes: float = 0.0
    errors: float = 0.0
    updated_at: float = 0.0

    def decay_to(self, now: float) -> None:
        if now > self.updated_at:
            factor = math.exp2(-(now - self.updated_at) / ERROR_HALF_LIFE)
            self.successes *= factor
            self.errors *= factor
            self.updated_at = now

    def rate(self, now: float) -> float:
        self.decay_to(now)
        total = self.successes + self.errors
        return self.errors / total if total > 1e-9 else 0.0


class CredentialBoard:
    """Live state of all credentials, shared by both schedulers and read by metrics."""

    def __init__(
        self,
        credentials: Sequence[Credential],
        store: StateStore,
        *,
        clock: Callable[[], float] = time.time,
        limit: int | None = None,
        slot_wait: float = 10.0,
    ) -> None:
        ids = [c.id for c in credentials]
        if len(set(ids)) != len(ids):
            raise ValueError("credential ids must be unique")
        if limit is not None and limit < 1:
            raise ValueError("a credential's concurrency limit must be at least 1")
        self.credentials: tuple[Credential, ...] = tuple(credentials)
        self._by_id = {c.id: c for c in credentials}
        self._store = store
        self.clock = clock
        self.limit = limit
        self.slot_wait = slot_wait
        # With a limit on a shared store, leases live in the store under this instance's name.
        self._store_leases = limit is not None and store.status().shared
        self._holder = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._holders = itertools.count(1)
        self._held: dict[str, _StoreLease] = {}  # holder -> this instance's store leases
        self._spares: dict[str, list[str]] = {}  # credential -> holders of unused leases
        self._elsewhere: dict[str, int] = {}  # other instances' leases, as of the last sync
        self._in_flight = dict.fromkeys(ids, 0)
        self._counts = {i: _DecayingCounts(updated_at=clock()) for i in ids}
        self._cooldowns: dict[tuple[str, str], float] = {}
        self._disabled: dict[str, str] = {}
        self._pending: set[asyncio.Future[None]] = set()
        self._serial = 0
        self._open: set[int] = set()
        self._state_writes = 0  # cooldown / disable / enable writes issued by this board
        self._state_pending: set[asyncio.Future[None]] = set()

    async def load(self) -> None:
        """Read running cooldowns and disabled credentials from the store (call at start)."""
        await self.sync()

    async def sync(self) -> None:
        """Take in the shared state: leases (with a limit on a shared store; see
        `sync_leases`), then cooldowns and disabled credentials (`sync_state`)."""
        if self._store_leases:
            await self.sync_leases()
        await self.sync_state()

    async def sync_leases(self) -> None:
        """Renew this instance's store leases older than LEASE_RENEW_AFTER and read how many
        leases other instances hold per credential (for `in_flight`)."""
        now = self.clock()
        for held in list(self._held.values()):
            if now - held.renewed_at < LEASE_RENEW_AFTER:
                continue
            held.renewed_at = now
            await self._store.take_lease([held.credential], held.holder, now=now, ttl=LEASE_TTL)
            if held.holder not in self._held:  # dropped meanwhile: the drop may have gone first
                await self._store.drop_lease(held.credential, held.holder)
        live = await self._store.leases(self.clock())
        own: dict[str, int] = {}
        for held in self._held.values():
            own[held.credential] = own.get(held.credential, 0) + 1
        self._elsewhere = {
            c: n - own.get(c, 0) for c, n in live.items() if c in self._by_id and n > own.get(c, 0)
        }
        for credential in list(self._spares):
            if self._crowded(credential):  # another instance may wait for a slot: give them back
                self._drop_spares(credential)

    def _crowded(self, credential: str, adding: int = 0) -> bool:
        """Whether the credential's leases pool-wide (this instance's in use and spare, plus
        `adding` more spares, the others' as of the last sync) leave no slot free."""
        assert self.limit is not None
        spares = len(self._spares.get(credential, ()))
        return self.in_flight(credential) + spares + adding >= self.limit

    def _drop_spares(self, credential: str) -> None:
        for holder in self._spares.pop(credential, []):
            self._held.pop(holder, None)
            self._write_behind(self._store.drop_lease(credential, holder))

    async def sync_state(self) -> None:
        """Replace this board's cooldowns and disabled credentials by the store's.

        Skipped when this board wrote such state meanwhile, or has such a write still on
        its way to the store: taking in the store's older copy would undo it for a moment.
        A credential another instance enabled has its recent errors forgotten, as `enable`.
        """
        issued = self._state_writes
        if self._state_pending:
            return
        now = self.clock()
        cooldowns = await self._store.cooldowns(now)
        disabled = await self._store.disabled()
        if issued != self._state_writes:
            return
        self._cooldowns = {
            (c.credential, c.model): c.until for c in cooldowns if c.credential in self._by_id
        }
        for credential in set(self._disabled) - set(disabled):
            self._counts[credential] = _DecayingCounts(updated_at=now)
        self._disabled = {c: reason for c, reason in disabled.items() if c in self._by_id}

    # --- reads -----------------------------------------------------------------------------

    def is_disabled(self, credential: str) -> bool:
        """Whether the credential is out of rotation until enabled."""
        return credential in self._disabled

    def cooldown_remaining(self, credential: str, model: str, now: float | None = None) -> float:
        """Seconds until (credential, model) may be used again; 0 when it is not cooling."""
        until = self._cooldowns.get((credential, model))
        if until is None:
            return 0.0
        remaining = until - (self.clock() if now is None else now)
        if remaining <= 0:
            del self._cooldowns[(credential, model)]
            return 0.0
        return remaining

    def in_flight(self, credential: str) -> int:
        """Attempts currently holding a lease on the credential: this instance's, plus other
        instances' as of the last sync when leases are shared (a limit on a shared store)."""
        return self._in_flight[credential] + self._elsewhere.get(credential, 0)

    def error_rate(self, credential: str, now: float | None = None) -> float:
        """Recent error rate in [0, 1], decaying with ERROR_HALF_LIFE."""
        return self._counts[credential].rate(self.clock() if now is None else now)

    def states(self) -> list[tuple[str, str]]:
        """(credential id, state) for the metrics gauge: disabled, cooling_down or ready.

        cooling_down means cooling for at least one model.
        """
        now = self.clock()
        cooling = {c for (c, _), until in self._cooldowns.items() if until > now}
        result = []
        for credential in self.credentials:
            if credential.id in self._disabled:
                state = "disabled"
            elif credential.id in cooling:
                state = "cooling_down"
            else:
                state = "ready"
            result.append((credential.id, state))
        return result

    def snapshot(self) -> list[CredentialStatus]:
        """Every credential with its live numbers, for the admin API."""
        now = self.clock()
        states = dict(self.states())
        return [
            CredentialStatus(
                credential=c.id,
                kind=c.kind,
                state=states[c.id],
                in_flight=self.in_flight(c.id),
                error_rate=self.error_rate(c.id, now),
                disabled_reason=self._disabled.get(c.id),
                cooldowns={
                    model: until - now
                    for (cid, model), until in self._cooldowns.items()
                    if cid == c.id and until > now
                },
            )
            for c in self.credentials
        ]

    # --- writes (memory now, store in the background) --------------------------------------

    async def disable(self, credential: str, reason: str) -> None:
        """Take a credential out of rotation (persisted)."""
        self._check(credential)
        self._disabled[credential] = reason
        self._write_behind(self._store.disable(credential, reason), state=True)

    async def enable(self, credential: str) -> None:
        """Put a credential back into rotation and forget its recent errors."""
        self._check(credential)
        self._disabled.pop(credential, None)
        self._counts[credential] = _DecayingCounts(updated_at=self.clock())
        self._write_behind(self._store.enable(credential), state=True)

    async def set_cooldown(
        self, credential: str, model: str, seconds: float, reason: str = ""
    ) -> None:
        """Keep (credential, model) out of rotation for `seconds` (an earlier end is extended)."""
        self._check(credential)
        until = self.clock() + max(0.0, seconds)
        if until <= self._cooldowns.get((credential, model), 0.0):
            return
        self._cooldowns[(credential, model)] = until
        self._write_behind(self._store.set_cooldown(credential, model, until, reason), state=True)

    async def clear_cooldown(self, credential: str, model: str) -> None:
        """End a cooldown now."""
        self._check(credential)
        self._cooldowns.pop((credential, model), None)
        self._write_behind(self._store.clear_cooldown(credential, model), state=True)

    async def close(self) -> None:
        """Give the spare leases back to the shared store and flush (at shutdown)."""
        for credential in list(self._spares):
            self._drop_spares(credential)
        await self.flush()

    async def flush(self) -> None:
        """Wait until every store write issued so far has finished (outcomes included)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self._store.flush()

    def _check(self, credential: str) -> None:
        if credential not in self._by_id:
            raise KeyError(f"unknown credential {credential!r}")

    def _write_behind(self, write: Coroutine[Any, Any, None], *, state: bool = False) -> None:
        future = asyncio.ensure_future(write)
        if state:  # a cooldown or a disabled flag: sync() must not undo it meanwhile
            self._state_writes += 1
            self._state_pending.add(future)
        self._pending.add(future)
        future.add_done_callback(self._write_done)

    def _write_done(self, future: asyncio.Future[None]) -> None:
        self._pending.discard(future)
        self._state_pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("state store write failed: %s", future.exception())

    # --- lease bookkeeping, used by the schedulers ------------------------------------------

    def open_lease(
        self, credential: Credential, model: str, wait: float = 0.0, holder: str | None = None
    ) -> Lease:
        """Count a new lease on `credential`, ignoring the limit (release it once)."""
        self._serial += 1
        self._open.add(self._serial)
        self._in_flight[credential.id] += 1
        if holder is not None and holder not in self._held:
            self._held[holder] = _StoreLease(credential.id, holder, self.clock())
        return Lease(
            credential=credential, model=model, wait=wait, serial=self._serial, holder=holder
        )

    async def lease_within_limit(
        self, candidates: Sequence[Credential], model: str, wait: float = 0.0
    ) -> Lease:
        """A lease on the least-leased candidate under the limit (the first of equals:
        order them by preference), waiting up to `slot_wait` for a slot; without a limit,
        the first candidate at once. NoCredentialAvailable(busy=True) when none freed up."""
        if self.limit is None:
            return self.open_lease(candidates[0], model, wait)
        deadline = time.monotonic() + self.slot_wait
        while True:
            lease = await self._try_lease(candidates, model, wait)
            if lease is not None:
                return lease
            if time.monotonic() >= deadline:
                raise NoCredentialAvailable(model, SLOT_POLL, busy=True)
            await asyncio.sleep(SLOT_POLL)

    async def lease_again(self, credential: Credential, model: str) -> Lease:
        """A new lease on the same credential (a retry on it), within its limit."""
        return await self.lease_within_limit([credential], model)

    async def _try_lease(
        self, candidates: Sequence[Credential], model: str, wait: float
    ) -> Lease | None:
        limit = self.limit
        if not self._store_leases:
            best = min(candidates, key=lambda c: self._in_flight[c.id])
            if limit is not None and self._in_flight[best.id] >= limit:
                return None
            return self.open_lease(best, model, wait)
        for credential in candidates:  # a lease this instance ended: no round trip
            spares = self._spares.get(credential.id)
            if spares:
                return self.open_lease(credential, model, wait, spares.pop())
        holder = f"{self._holder}:{next(self._holders)}"
        ids = [c.id for c in candidates]
        try:
            taken = await self._store.take_lease(
                ids, holder, now=self.clock(), ttl=LEASE_TTL, limit=limit
            )
        except asyncio.CancelledError:  # the client went away: whatever was taken is freed
            for credential in ids:
                self._write_behind(self._store.drop_lease(credential, holder))
            raise
        if taken is None:
            return None
        return self.open_lease(self._by_id[taken], model, wait, holder)

    async def release(
        self,
        lease: Lease,
        kind: OutcomeKind,
        *,
        cooldown: float | None = None,
        disable: str | None = None,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """Return a lease with how the attempt ended; a second release of it is ignored.

        Counts the outcome (recent error rate; health and usage in the store). The retry
        decision is the authority on consequences: `cooldown` seconds cool the (credential,
        model), `disable` takes the credential out of rotation with that reason; without
        them (the v1 baseline) the outcome only counts. A CANCELLED lease only frees its slot.
        """
        if lease.serial not in self._open:
            return
        self._open.discard(lease.serial)
        credential = lease.credential.id
        now = self.clock()
        self._in_flight[credential] -= 1
        if lease.holder is not None:
            self._end_store_lease(credential, lease.holder)
        if kind is OutcomeKind.CANCELLED:
            return  # neither a success nor an error of the credential's
        ok = kind is OutcomeKind.SUCCESS
        self._record(credential, ok, now)
        self._store.record_outcome_later(
            credential,
            lease.model,
            ok=ok,
            error=None if ok else (error or str(kind)),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            at=now,
        )
        if cooldown is not None and cooldown > 0:
            await self.set_cooldown(credential, lease.model, cooldown, str(kind))
        if disable is not None:
            await self.disable(credential, disable)

    def _end_store_lease(self, credential: str, holder: str) -> None:
        """Keep an ended store lease as a spare while that still leaves a slot of the
        credential free pool-wide and this instance has fewer than SPARES_PER_CREDENTIAL of
        it; else drop it (behind)."""
        if holder not in self._held:
            return
        spares = self._spares.setdefault(credential, [])
        if len(spares) < SPARES_PER_CREDENTIAL and not self._crowded(credential, adding=1):
            spares.append(holder)
            return
        self._held.pop(holder)
        self._write_behind(self._store.drop_lease(credential, holder))

    def _record(self, credential: str, ok: bool, now: float) -> None:
        counts = self._counts[credential]
        counts.decay_to(now)
        if ok:
            counts.successes += 1
        else:
            counts.errors += 1


class RandomScheduler:
    """Off arm: a uniformly random usable credential."""

    def __init__(self, board: CredentialBoard, rng: random.Random | None = None) -> None:
        self.board = board
        self._rng = rng or random.Random()

    async def acquire(
        self, model: str, *, exclude: Collection[str] = (), max_wait: float = 0.0
    ) -> Lease:
        """Lease a credential for one attempt on `model` (see the module docstring)."""
        board = self.board
        now = board.clock()
        enabled = [c for c in board.credentials if not board.is_disabled(c.id)]
        if not enabled:
            raise NoCredentialAvailable(model, None)
        usable = [c for c in enabled if board.cooldown_remaining(c.id, model, now) == 0.0]
        preferred = [c for c in usable if c.id not in exclude] or usable
        if preferred:
            if board.limit is None:
                return board.open_lease(self._pick(preferred, now), model)
            return await board.lease_within_limit(self._order(preferred, now), model)
        soonest = min(enabled, key=lambda c: board.cooldown_remaining(c.id, model, now))
        wait = board.cooldown_remaining(soonest.id, model, now)
        if wait > max_wait:
            raise NoCredentialAvailable(model, wait)
        return await board.lease_within_limit([soonest], model, wait)

    async def release(
        self,
        lease: Lease,
        kind: OutcomeKind,
        *,
        cooldown: float | None = None,
        disable: str | None = None,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """Return a lease with how the attempt ended (see CredentialBoard.release)."""
        await self.board.release(
            lease,
            kind,
            cooldown=cooldown,
            disable=disable,
            error=error,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def _pick(self, candidates: Sequence[Credential], now: float) -> Credential:
        return self._rng.choice(candidates)

    def _order(self, candidates: Sequence[Credential], now: float) -> list[Credential]:
        """The candidates in this arm's order of preference (under a limit, the least-leased
        of them is taken, the first of equals): a random order."""
        return self._rng.sample(list(candidates), len(candidates))


class HealthScheduler(RandomScheduler):
    """On arm: the usable credential with the lowest pressure-and-errors score."""

    def score(self, credential: str, now: float) -> float:
        """in-flight leases + ERROR_WEIGHT * recent error rate; lower is better."""
        board = self.board
        return board.in_flight(credential) + ERROR_WEIGHT * board.error_rate(credential, now)

    def _pick(self, candidates: Sequence[Credential], now: float) -> Credential:
        scores = [self.score(c.id, now) for c in candidates]
        best = min(scores)
        tied = [c for c, s in zip(candidates, scores, strict=True) if s <= best + 1e-9]
        return self._rng.choice(tied)

    def _order(self, candidates: Sequence[Credential], now: float) -> list[Credential]:
        """Lowest score first, equal scores in a random order."""
        shuffled = self._rng.sample(list(candidates), len(candidates))
        return sorted(shuffled, key=lambda c: self.score(c.id, now))


class Schedulers:
    """Both arms over one board; leases from either count in the same in-flight numbers."""

    def __init__(self, board: CredentialBoard, rng: random.Random | None = None) -> None:
        rng = rng or random.Random()
        self.board = board
        self.random = RandomScheduler(board, rng)
        self.health = HealthScheduler(board, rng)

    def for_request(self, flags: Flags, *, scarce: bool) -> RandomScheduler:
        """The health scheduler when `ff_preview_credential_scheduler_v2` is on and the
        upstream model is scarce (ModelMap.is_scarce); the random one otherwise."""
        if flags.ff_preview_credential_scheduler_v2 and scarce:
            return self.health
        return self.random
