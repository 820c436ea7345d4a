"""The Redis state store: one state shared by every proxy instance that points at it.

Operations: those of server.state.store.StateStore, on a Redis (or Valkey) server, plus
    RedisStore(url, prefix="compatkit:", probe_interval=0.5, timeout=0.5)
    .status() -> StoreStatus(shared=True, degraded=..., failures=...)

Keys (all under `prefix`; `\\x1f` joins a credential and a model):
    health:<credential>        hash successes, errors, last_error, last_error_at, last_success_at
    health                     set of credentials with a health hash
    usage:<credential>\\x1f<model>  hash requests, input_tokens, output_tokens
    usage                      set of credential\\x1fmodel pairs with a usage hash
    cooldown:until / :reason   hashes credential\\x1fmodel → epoch seconds / reason
    disabled                   hash credential → reason
    flags                      hash name → "1" | "0"
    lease:<credential>         sorted set holder → expiry (epoch seconds)
    leased                     set of credentials that have had a lease
    audit                      list of JSON {at, who, what}, newest first, AUDIT_KEPT long
    revoked                    sorted set panel session id → until (epoch seconds)

Plan: every operation that changes several keys, or reads and then writes, is one Lua
script (Redis runs a script alone: two instances racing for the last lease slot cannot both
win). Times travel as Python's repr of the float, so they come back exactly.

Degraded mode: an operation that finds Redis unreachable (connection refused or reset, no
answer within `timeout`) switches the store to degraded. While degraded no operation waits on
Redis: reads answer from the last state this process saw (plus its own writes since),
writes update that local copy and are queued (bounded) to be replayed in order, leases are
counted among this process's own. A probe PINGs every `probe_interval`; once Redis answers,
the queue is replayed and the store is shared again. Each switch is logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.state.batching import Batcher
from server.state.errors import StoreError
from server.state.store import (
    AUDIT_KEPT,
    AuditLine,
    Cooldown,
    CredentialHealth,
    StateStore,
    StoreStatus,
    Usage,
)

log = logging.getLogger("compatkit.server.state")

_T = TypeVar("_T")
_SEP = "\x1f"
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
_REPLAY_LIMIT = 10_000
_MAX_CONNECTIONS = 16
_POOL_WAIT = 2.0  # seconds a command waits for a free pooled connection

Operation = Callable[["aioredis.Redis"], Awaitable[_T]]

# KEYS: health hash, health index, usage hash, usage index
# ARGV: credential, usage pair, ok (1|0), error, at, input tokens, output tokens
_RECORD_OUTCOME = """
if ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[1], 'successes', 1)
  redis.call('HSET', KEYS[1], 'last_success_at', ARGV[5])
else
  redis.call('HINCRBY', KEYS[1], 'errors', 1)
  redis.call('HSET', KEYS[1], 'last_error', ARGV[4], 'last_error_at', ARGV[5])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'requests', 1)
redis.call('HINCRBY', KEYS[3], 'input_tokens', ARGV[6])
redis.call('HINCRBY', KEYS[3], 'output_tokens', ARGV[7])
redis.call('SADD', KEYS[4], ARGV[2])
"""

# KEYS: cooldown until hash, cooldown reason hash. ARGV: now.
# Deletes the cooldowns that ended, returns the others as pair, until, reason triples.
_RUNNING_COOLDOWNS = """
local now = tonumber(ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
local running = {}
for i = 1, #entries, 2 do
  local pair, ends = entries[i], entries[i + 1]
  if tonumber(ends) <= now then
    redis.call('HDEL', KEYS[1], pair)
    redis.call('HDEL', KEYS[2], pair)
  else
    running[#running + 1] = pair
    running[#running + 1] = ends
    running[#running + 1] = redis.call('HGET', KEYS[2], pair) or ''
  end
end
return running
"""

# KEYS: lease sorted set of each candidate, then the leased index.
# ARGV: now, expiry, limit (-1: none), holder, then the candidates' names.
# Returns the 1-based index of the leased candidate, 0 when all are at the limit.
_TAKE_LEASE = """
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[3])
local n = #KEYS - 1
local best, best_count = 0, nil
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local count = redis.call('ZCARD', KEYS[i])
  if (limit < 0 or count < limit) and (best_count == nil or count < best_count) then
    best, best_count = i, count
  end
end
if best > 0 then
  redis.call('ZADD', KEYS[best], ARGV[2], ARGV[4])
  redis.call('SADD', KEYS[n + 1], ARGV[4 + best])
end
return best
"""


@dataclass(slots=True)
class _LastKnown:
    """What this process last saw of the shared state, plus its own writes since."""

    flags: dict[str, bool] = field(default_factory=dict)
    disabled: dict[str, str] = field(default_factory=dict)
    cooldowns: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    health: dict[str, CredentialHealth] = field(default_factory=dict)
    usage: list[Usage] = field(default_factory=list)
    leases: dict[tuple[str, str], float] = field(default_factory=dict)  # own, always kept
    audit: list[AuditLine] = field(default_factory=list)  # newest first
    revoked: dict[str, float] = field(default_factory=dict)  # session id → until

    def live_leases(self, now: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (credential, holder), expires in list(self.leases.items()):
            if expires <= now:
                del self.leases[(credential, holder)]
            else:
                counts[credential] = counts.get(credential, 0) + 1
        return counts


class RedisStore(StateStore):
    """State in Redis under one key prefix, shared by every proxy using the same URL and prefix."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "compatkit:",
        probe_interval: float = 0.5,
        timeout: float = 0.5,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._probe_interval = probe_interval
        self._timeout = timeout
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._known = _LastKnown()
        self._degraded = False
        self._failures = 0
        self._replay: deque[Operation[Any]] = deque(maxlen=_REPLAY_LIMIT)
        self._probe: asyncio.Task[None] | None = None
        self._outcomes: Batcher[tuple[list[str], list[str]]] = Batcher(self._write_outcomes)

    def __repr__(self) -> str:
        return f"RedisStore({redacted_url(self.url)!r}, prefix={self.prefix!r})"

    # --- life cycle and degraded mode -------------------------------------------------------

    async def open(self) -> None:
        """Connect and PING; an unreachable Redis starts the store degraded, not failed."""
        if self._client is not None:
            return
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=_MAX_CONNECTIONS,
            timeout=_POOL_WAIT,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 1),  # one reconnect for a stale pooled connection
            decode_responses=True,
        )
        self._client = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
        self._scripts = {
            "record_outcome": self._client.register_script(_RECORD_OUTCOME),
            "cooldowns": self._client.register_script(_RUNNING_COOLDOWNS),
            "take_lease": self._client.register_script(_TAKE_LEASE),
        }
        await self._shared(lambda r: r.ping(), fallback=lambda: None)

    async def close(self) -> None:
        """Finish the outcome batch, stop the probe and close the connections (writes
        queued during an outage are lost)."""
        await self._outcomes.drain()
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def status(self) -> StoreStatus:
        """Shared, and whether Redis is unreachable now."""
        return StoreStatus(shared=True, degraded=self._degraded, failures=self._failures)

    async def _shared(self, operation: Operation[_T], *, fallback: Callable[[], _T]) -> _T:
        """Run `operation` on Redis, or answer `fallback()` while Redis is unreachable."""
        client = self._connected()
        if not self._degraded:
            try:
                return await operation(client)
            except _UNREACHABLE as exc:
                self._enter_degraded(exc)
        return fallback()

    async def _write(self, operation: Operation[Any], apply_locally: Callable[[], object]) -> None:
        """Apply a write to the local copy, then to Redis (queued while Redis is unreachable)."""
        apply_locally()
        client = self._connected()
        if not self._degraded:
            try:
                await operation(client)
                return
            except _UNREACHABLE as exc:
                self._enter_degraded(exc)
        self._replay.append(operation)

    def _connected(self) -> aioredis.Redis:
        if self._client is None:
            raise StoreError("the state store is not open; await store.open() first")
        return self._client

    def _enter_degraded(self, exc: BaseException) -> None:
        self._failures += 1
        if self._degraded:
            return
        self._degraded = True
        log.warning(
            "state store: Redis at %s is unreachable (%s); serving from this process's "
            "last known state until it answers",
            redacted_url(self.url),
            type(exc).__name__,
        )
        self._probe = asyncio.ensure_future(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        client = self._connected()
        while True:
            await asyncio.sleep(self._probe_interval)
            try:
                await client.ping()
                while self._replay:
                    await self._replay[0](client)
                    self._replay.popleft()
            except _UNREACHABLE:
                self._failures += 1
                continue
            self._degraded = False
            self._probe = None
            log.warning(
                "state store: Redis at %s answers again; state is shared", redacted_url(self.url)
            )
            return

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # --- health and usage ------------------------------------------------------------------

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
        """Count one call in health and usage (one script: both or neither)."""
        await self._outcomes.add(
            self._outcome(credential, model, ok, error, input_tokens, output_tokens, at)
        )

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
        """Count one call, written behind (one pipeline per window of calls)."""
        self._outcomes.add_later(
            self._outcome(credential, model, ok, error, input_tokens, output_tokens, at)
        )

    async def flush(self) -> None:
        """Write the outcomes queued by `record_outcome_later` now."""
        await self._outcomes.drain()

    def _outcome(
        self,
        credential: str,
        model: str,
        ok: bool,
        error: str | None,
        input_tokens: int,
        output_tokens: int,
        at: float,
    ) -> tuple[list[str], list[str]]:
        """The record_outcome script's keys and arguments for one call."""
        pair = credential + _SEP + model
        keys = [
            self._key("health", credential),
            self._key("health"),
            self._key("usage", pair),
            self._key("usage"),
        ]
        args = [credential, pair, "1" if ok else "0", error or "", repr(at)]
        args += [str(input_tokens), str(output_tokens)]
        return keys, args

    async def _write_outcomes(self, batch: list[tuple[list[str], list[str]]]) -> None:
        """One pipeline of record_outcome scripts for every outcome of the batch."""
        script = self._scripts["record_outcome"]

        async def write(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=False) as pipe:
                for keys, args in batch:
                    await script(keys=keys, args=args, client=pipe)
                await pipe.execute()

        await self._write(write, lambda: None)

    async def health(self) -> dict[str, CredentialHealth]:
        """Every credential's health hash."""

        async def read(r: aioredis.Redis) -> dict[str, CredentialHealth]:
            credentials = sorted(map(str, await r.smembers(self._key("health"))))
            async with r.pipeline(transaction=False) as pipe:
                for credential in credentials:
                    pipe.hgetall(self._key("health", credential))
                rows = await pipe.execute()
            self._known.health = {
                c: _health(c, row) for c, row in zip(credentials, rows, strict=True)
            }
            return dict(self._known.health)

        return await self._shared(read, fallback=lambda: dict(self._known.health))

    async def usage(self) -> list[Usage]:
        """Every usage hash, sorted by (credential, model)."""

        async def read(r: aioredis.Redis) -> list[Usage]:
            pairs = sorted(map(str, await r.smembers(self._key("usage"))))
            async with r.pipeline(transaction=False) as pipe:
                for pair in pairs:
                    pipe.hgetall(self._key("usage", pair))
                rows = await pipe.execute()
            self._known.usage = [_usage(p, row) for p, row in zip(pairs, rows, strict=True)]
            return list(self._known.usage)

        return await self._shared(read, fallback=lambda: list(self._known.usage))

    # --- cooldowns -------------------------------------------------------------------------

    async def set_cooldown(
        self, credential: str, model: str, until: float, reason: str = ""
    ) -> None:
        """Set the end and the reason together (MULTI/EXEC)."""
        pair = credential + _SEP + model

        async def write(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.hset(self._key("cooldown", "until"), pair, repr(until))
                pipe.hset(self._key("cooldown", "reason"), pair, reason)
                await pipe.execute()

        def locally() -> None:
            self._known.cooldowns[(credential, model)] = (until, reason)

        await self._write(write, locally)

    async def clear_cooldown(self, credential: str, model: str) -> None:
        """Delete the end and the reason together (MULTI/EXEC)."""
        pair = credential + _SEP + model

        async def write(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.hdel(self._key("cooldown", "until"), pair)
                pipe.hdel(self._key("cooldown", "reason"), pair)
                await pipe.execute()

        await self._write(write, lambda: self._known.cooldowns.pop((credential, model), None))

    async def cooldowns(self, now: float) -> list[Cooldown]:
        """Drop ended cooldowns and return the running ones (one script)."""
        keys = [self._key("cooldown", "until"), self._key("cooldown", "reason")]
        script = self._scripts["cooldowns"]

        async def read(r: aioredis.Redis) -> list[Cooldown]:
            flat = await script(keys=keys, args=[repr(now)], client=r)
            known = {}
            for i in range(0, len(flat), 3):
                credential, _, model = flat[i].partition(_SEP)
                known[(credential, model)] = (float(flat[i + 1]), flat[i + 2])
            self._known.cooldowns = known
            return _running(known, now)

        return await self._shared(read, fallback=lambda: _running(self._known.cooldowns, now))

    # --- disabled credentials --------------------------------------------------------------

    async def disable(self, credential: str, reason: str) -> None:
        """HSET disabled credential reason."""

        def locally() -> None:
            self._known.disabled[credential] = reason

        await self._write(lambda r: r.hset(self._key("disabled"), credential, reason), locally)

    async def enable(self, credential: str) -> None:
        """HDEL disabled credential."""
        await self._write(
            lambda r: r.hdel(self._key("disabled"), credential),
            lambda: self._known.disabled.pop(credential, None),
        )

    async def disabled(self) -> dict[str, str]:
        """HGETALL disabled."""

        async def read(r: aioredis.Redis) -> dict[str, str]:
            self._known.disabled = _texts(await r.hgetall(self._key("disabled")))
            return dict(self._known.disabled)

        return await self._shared(read, fallback=lambda: dict(self._known.disabled))

    # --- flags -----------------------------------------------------------------------------

    async def get_flags(self) -> dict[str, bool]:
        """HGETALL flags."""

        async def read(r: aioredis.Redis) -> dict[str, bool]:
            stored = _texts(await r.hgetall(self._key("flags")))
            self._known.flags = {name: value == "1" for name, value in stored.items()}
            return dict(self._known.flags)

        return await self._shared(read, fallback=lambda: dict(self._known.flags))

    async def set_flag(self, name: str, value: bool) -> None:
        """HSET flags name 1|0."""

        def locally() -> None:
            self._known.flags[name] = value

        await self._write(
            lambda r: r.hset(self._key("flags"), name, "1" if value else "0"), locally
        )

    async def delete_flag(self, name: str) -> None:
        """HDEL flags name."""
        await self._write(
            lambda r: r.hdel(self._key("flags"), name), lambda: self._known.flags.pop(name, None)
        )

    # --- leases ----------------------------------------------------------------------------

    async def take_lease(
        self,
        candidates: Sequence[str],
        holder: str,
        *,
        now: float,
        ttl: float,
        limit: int | None = None,
    ) -> str | None:
        """One script picks the least-leased candidate under `limit` and adds the lease."""
        if not candidates:
            return None
        keys = [self._key("lease", c) for c in candidates] + [self._key("leased")]
        args = [repr(now), repr(now + ttl), str(-1 if limit is None else limit), holder]
        script = self._scripts["take_lease"]

        async def take(r: aioredis.Redis) -> str | None:
            index = int(await script(keys=keys, args=[*args, *candidates], client=r))
            return candidates[index - 1] if index > 0 else None

        def locally() -> str | None:  # degraded: only this process's own leases count
            live = self._known.live_leases(now)
            best = min(candidates, key=lambda c: live.get(c, 0))
            return None if limit is not None and live.get(best, 0) >= limit else best

        taken = await self._shared(take, fallback=locally)
        if taken is not None:
            self._known.leases[(taken, holder)] = now + ttl
        return taken

    async def drop_lease(self, credential: str, holder: str) -> None:
        """ZREM lease:<credential> holder."""
        await self._write(
            lambda r: r.zrem(self._key("lease", credential), holder),
            lambda: self._known.leases.pop((credential, holder), None),
        )

    async def leases(self, now: float) -> dict[str, int]:
        """Live leases per credential (expired members are not counted)."""

        async def read(r: aioredis.Redis) -> dict[str, int]:
            credentials = sorted(map(str, await r.smembers(self._key("leased"))))
            async with r.pipeline(transaction=False) as pipe:
                for credential in credentials:
                    pipe.zcount(self._key("lease", credential), f"({now!r}", "+inf")
                counts = await pipe.execute()
            return {c: n for c, n in zip(credentials, counts, strict=True) if n}

        return await self._shared(read, fallback=lambda: self._known.live_leases(now))

    # --- audit lines and revoked panel sessions ----------------------------------------------

    async def add_audit(self, line: AuditLine) -> None:
        """LPUSH audit and LTRIM it to AUDIT_KEPT (MULTI/EXEC)."""
        entry = json.dumps({"at": line.at, "who": line.who, "what": line.what})

        async def write(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.lpush(self._key("audit"), entry)
                pipe.ltrim(self._key("audit"), 0, AUDIT_KEPT - 1)
                await pipe.execute()

        def locally() -> None:
            self._known.audit = [line, *self._known.audit[: AUDIT_KEPT - 1]]

        await self._write(write, locally)

    async def audit(self, limit: int = 50) -> list[AuditLine]:
        """LRANGE audit 0 limit-1."""
        if limit <= 0:
            return []

        async def read(r: aioredis.Redis) -> list[AuditLine]:
            entries = await r.lrange(self._key("audit"), 0, limit - 1)
            lines = [_audit_line(entry) for entry in entries]
            self._known.audit = lines
            return lines

        return await self._shared(read, fallback=lambda: self._known.audit[:limit])

    async def revoke_session(self, session_id: str, until: float) -> None:
        """ZADD revoked until session_id."""

        def locally() -> None:
            self._known.revoked[session_id] = until

        await self._write(lambda r: r.zadd(self._key("revoked"), {session_id: until}), locally)

    async def session_revoked(self, session_id: str, now: float) -> bool:
        """Drop the revocations that ended (ZREMRANGEBYSCORE), then ZSCORE the session."""

        async def read(r: aioredis.Redis) -> bool:
            async with r.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._key("revoked"), "-inf", repr(now))
                pipe.zscore(self._key("revoked"), session_id)
                _, until = await pipe.execute()
            if until is not None:
                self._known.revoked[session_id] = float(until)
            return until is not None

        def locally() -> bool:
            return self._known.revoked.get(session_id, now) > now

        return await self._shared(read, fallback=locally)


def redacted_url(url: str) -> str:
    """The URL without its password, for logs and errors (works on malformed URLs too)."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


def _texts(row: dict[Any, Any]) -> dict[str, str]:
    """A hash as str → str (the client decodes responses; this tells the type checker)."""
    return {str(k): str(v) for k, v in row.items()}


def _running(known: dict[tuple[str, str], tuple[float, str]], now: float) -> list[Cooldown]:
    return [
        Cooldown(credential, model, until, reason)
        for (credential, model), (until, reason) in sorted(known.items())
        if until > now
    ]


def _health(credential: str, row: dict[str, str]) -> CredentialHealth:
    def number(name: str) -> float | None:
        return float(row[name]) if name in row else None

    return CredentialHealth(
        credential=credential,
        successes=int(row.get("successes", 0)),
        errors=int(row.get("errors", 0)),
        last_error=row.get("last_error"),
        last_error_at=number("last_error_at"),
        last_success_at=number("last_success_at"),
    )


def _audit_line(entry: str) -> AuditLine:
    data = json.loads(entry)
    return AuditLine(at=float(data["at"]), who=str(data["who"]), what=str(data["what"]))


def _usage(pair: str, row: dict[str, str]) -> Usage:
    credential, _, model = pair.partition(_SEP)
    return Usage(
        credential=credential,
        model=model,
        requests=int(row.get("requests", 0)),
        input_tokens=int(row.get("input_tokens", 0)),
        output_tokens=int(row.get("output_tokens", 0)),
    )
