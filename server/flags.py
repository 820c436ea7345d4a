"""Feature flags: the four rollout flags, their run-time values and per-request overrides.

Operations:
    FLAG_NAMES                          the four flag names, in a fixed order
    Flags                               frozen dataclass of the four booleans (all off: the
                                        baseline arm)
    SHIPPED_ON                          the tracks a new proxy runs with on (config defaults)
    Flags.shipped() / .from_mapping(m) / .as_dict() / .with_overrides(m)
    parse_flag_value(text) -> bool      "on"/"off"/"true"/"false"/"1"/"0"/"yes"/"no" (strict)
    parse_flag_overrides(header) -> dict[str, bool]
                                        the `x-compatkit-flags` header, strict: an unknown flag,
                                        a bad value or a malformed item raises FlagError
    request_flags(base, header, authorised=...) -> Flags
                                        the flags one request runs with (override honoured only
                                        when the caller says the request is admin-authorised)
    applied_header(flags) -> str        every flag as `name=on|off`, the override's syntax (the
                                        `x-compatkit-flags-applied` response header)
    FlagService(store, defaults)        the run-time values, read from the state store on each
        await .current() -> Flags       request (cached; a local write invalidates the cache at
        await .refresh() -> Flags       once, other writers are seen within `ttl` seconds;
        await .set(name, value)         refresh() rereads now: the shared-state loop's call)
        await .set_many(mapping) / await .reset(name)
                                        each change also writes an audit line to the store
                                        (`who`, when, `name: off → on`), shared and durable

Goals: the value read on the hot path costs a clock read and an attribute lookup; bad flag
input is always an error, never silently ignored (a typo in a benchmark arm must not make
both arms identical).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from server.errors import ServerError
from server.state.store import AuditLine

if TYPE_CHECKING:
    from server.state.store import StateStore

FLAG_NAMES: tuple[str, ...] = (
    "ff_retry_policy_v2",
    "ff_http2_pool_tuning",
    "ff_converter_fast_path",
    "ff_preview_credential_scheduler_v2",
)
FLAG_OVERRIDE_HEADER = "x-compatkit-flags"
ADMIN_API = "admin API"
"""Who an audit line names for a change made through the admin API."""
FLAGS_APPLIED_HEADER = "x-compatkit-flags-applied"

# The tracks on by default in a proxy whose configuration does not say. A track goes in here
# (its name: the whole change; a typo is a FlagError at start) only once `compatkit gate`
# PROMOTEd it in its own scenario on a quiet machine, the run recorded in docs/performance.md
# (docs/gate.md, "Turning a track on by default"); a track the gate did not promote stays off.
# ff_http2_pool_tuning: PROMOTE at full size, 2026-12-06 19:29-19:42 UTC (docs/performance.md).
SHIPPED_ON: frozenset[str] = frozenset({"ff_http2_pool_tuning"})

_TRUE_WORDS = frozenset({"on", "true", "1", "yes"})
_FALSE_WORDS = frozenset({"off", "false", "0", "no"})


class FlagError(ServerError, ValueError):
    """A flag name or value that is not one of ours."""


@dataclass(frozen=True, slots=True)
class Flags:
    """The flag values one request runs with. Off is the baseline arm."""

    ff_retry_policy_v2: bool = False
    ff_http2_pool_tuning: bool = False
    ff_converter_fast_path: bool = False
    ff_preview_credential_scheduler_v2: bool = False

    @classmethod
    def shipped(cls) -> Flags:
        """The defaults a new proxy runs with: the tracks in SHIPPED_ON on, the others off."""
        return cls.from_mapping(dict.fromkeys(SHIPPED_ON, True))

    @classmethod
    def from_mapping(cls, values: Mapping[str, bool]) -> Flags:
        """Flags from a name → bool mapping; missing names stay off, unknown names raise."""
        return cls().with_overrides(values)

    def with_overrides(self, overrides: Mapping[str, bool]) -> Flags:
        """A copy with some flags replaced; unknown names raise FlagError."""
        for name, value in overrides.items():
            check_flag_name(name)
            if not isinstance(value, bool):
                raise FlagError(f"flag {name} must be a boolean, got {value!r}")
        return replace(self, **dict(overrides)) if overrides else self

    def as_dict(self) -> dict[str, bool]:
        """Name → value, in FLAG_NAMES order (not dataclasses.asdict, which deep-copies
        field by field: a request reads this for its metrics' label)."""
        return {name: getattr(self, name) for name in FLAG_NAMES}


assert tuple(f.name for f in fields(Flags)) == FLAG_NAMES


def check_flag_name(name: str) -> None:
    """Raise FlagError unless `name` is one of FLAG_NAMES."""
    if name not in FLAG_NAMES:
        raise FlagError(f"unknown flag {name!r}; known flags: {', '.join(FLAG_NAMES)}")


def parse_flag_value(text: str) -> bool:
    """ "on"/"true"/"1"/"yes" → True, "off"/"false"/"0"/"no" → False (any case); else FlagError."""
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise FlagError(f"flag value must be on or off, got {text!r}")


def parse_flag_overrides(header: str) -> dict[str, bool]:
    """Parse `name=on,name=off` (spaces allowed around items); strict, duplicates raise.

    Errors name the header and the item's position, never what it holds: a value pasted
    into the wrong header may be a secret (the admin key), and error messages travel.
    """
    overrides: dict[str, bool] = {}
    for position, item in enumerate(header.split(","), start=1):
        where = f"{FLAG_OVERRIDE_HEADER} item {position}"
        name, sep, value = item.strip().partition("=")
        name = name.strip()
        if not item.strip():
            raise FlagError(f"{where} is empty")
        if not sep:
            raise FlagError(f"{where} is not name=on|off")
        if name not in FLAG_NAMES:
            raise FlagError(f"{where} names no known flag{_nearest_flag(name)}")
        if name in overrides:
            raise FlagError(f"{where}: flag {name} given twice")
        try:
            overrides[name] = parse_flag_value(value)
        except FlagError:
            raise FlagError(f"{where}: flag {name} must be on or off") from None
    return overrides


def _nearest_flag(text: str) -> str:
    """`; did you mean NAME?` for a near miss of a known flag name, else the known names."""
    near = difflib.get_close_matches(text, FLAG_NAMES, n=1, cutoff=0.8)
    if near:
        return f"; did you mean {near[0]}?"
    return f" (known: {', '.join(FLAG_NAMES)})"


def request_flags(base: Flags, header: str | None, *, authorised: bool) -> Flags:
    """The flags for one request: `base` merged with the override header.

    The header is honoured only when `authorised` (the caller checked the admin key);
    otherwise it is ignored. A malformed header on an authorised request raises FlagError.
    """
    if header is None or not authorised:
        return base
    return base.with_overrides(parse_flag_overrides(header))


def applied_header(flags: Flags) -> str:
    """Every flag as `name=on` or `name=off`, comma-separated in FLAG_NAMES order: what a
    request ran with, in the syntax `x-compatkit-flags` accepts."""
    return ",".join(f"{name}={'on' if on else 'off'}" for name, on in flags.as_dict().items())


class FlagService:
    """Run-time flag values: defaults from config, overridden by values in the state store."""

    def __init__(
        self,
        store: StateStore,
        defaults: Flags | None = None,
        *,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._defaults = defaults or Flags.shipped()
        self._ttl = ttl
        self._clock = clock
        self._wall_clock = wall_clock
        self._cached: Flags | None = None
        self._cached_at = 0.0

    @property
    def defaults(self) -> Flags:
        """The configured defaults (what `reset` returns a flag to)."""
        return self._defaults

    async def current(self) -> Flags:
        """The flags now in force; reads the store at most once per `ttl` seconds."""
        if self._cached is not None and self._clock() - self._cached_at < self._ttl:
            return self._cached
        return await self.refresh()

    async def refresh(self) -> Flags:
        """Read the store now (a background loop calls this, so requests find a fresh cache)."""
        now = self._clock()
        stored = await self._store.get_flags()
        known = {name: value for name, value in stored.items() if name in FLAG_NAMES}
        self._cached = self._defaults.with_overrides(known)
        self._cached_at = now
        return self._cached

    async def set(self, name: str, value: bool, *, who: str = ADMIN_API) -> Flags:
        """Set one flag for every later request; returns the new flags."""
        return await self.set_many({name: value}, who=who)

    async def set_many(self, values: Mapping[str, bool], *, who: str = ADMIN_API) -> Flags:
        """Set several flags at once (all names checked before any is written)."""
        self._defaults.with_overrides(values)  # validates names and types
        before = await self.refresh()
        for name, value in values.items():
            await self._store.set_flag(name, value)
        self._cached = None
        after = await self.current()
        for name in values:
            await self._audit(who, name, before, after, "")
        return after

    async def reset(self, name: str, *, who: str = ADMIN_API) -> Flags:
        """Forget the run-time value of one flag, so the configured default applies again."""
        check_flag_name(name)
        before = await self.refresh()
        await self._store.delete_flag(name)
        self._cached = None
        after = await self.current()
        await self._audit(who, name, before, after, " (reset to the configured value)")
        return after

    async def _audit(self, who: str, name: str, before: Flags, after: Flags, note: str) -> None:
        old, new = before.as_dict()[name], after.as_dict()[name]
        what = f"{name}: {_word(old)} → {_word(new)}{note}"
        await self._store.add_audit(AuditLine(self._wall_clock(), who, what))


def _word(value: bool) -> str:
    return "on" if value else "off"
