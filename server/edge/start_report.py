"""What a proxy says about itself: once in the log at start, and on every `GET /readyz`.

Operations:
    serving_mode(config) -> dict             mode (demo or upstream), upstream kind, which
                                             clients are accepted (proxy keys or any key)
    credential_problems(services) -> [str]   credentials that cannot serve as configured
    await log_start_report(services)         the start-up lines (issue 16.4): the mode, each
                                             credential's state (disabled with the reason,
                                             cooling down until when), what cannot serve, the
                                             flags and where each value comes from, the
                                             state store, the configuration's warnings

Plan: everything is read from the Services of a started app (the board is loaded from the
store, so a credential disabled by hand before a restart is named here, not discovered by a
client's 503).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from server.config import Config
from server.edge.services import Services
from server.flags import FLAG_NAMES
from server.state.redis import redacted_url

log = logging.getLogger("compatkit.server")


def serving_mode(config: Config) -> dict[str, str | None]:
    """The mode facts `/readyz` shows and the start log says."""
    if config.proxy_keys:
        clients = "proxy keys"
    elif config.demo:
        clients = "any key (demo)"
    else:
        clients = "any key (allow_any_key)"
    kind = "emulator" if config.demo else config.upstream.kind if config.upstream else None
    return {"mode": "demo" if config.demo else "upstream", "upstream": kind, "clients": clients}


def credential_problems(services: Services) -> list[str]:
    """What stops configured credentials from serving (an OAuth token that cannot refresh)."""
    if services.board is None:
        return []
    now = time.time()
    return [p for c in services.board.credentials if (p := c.problem(now)) is not None]


async def log_start_report(services: Services) -> None:
    """Log, once, what this proxy is about to serve with."""
    config = services.config
    mode = serving_mode(config)
    log.info("mode: %s; upstream: %s; clients: %s", mode["mode"], mode["upstream"], mode["clients"])
    if services.board is not None:
        _log_credentials(services)
    await _log_flags(services)
    log.info("state: %s", _state_text(config))
    for warning in config.warnings:
        log.warning("configuration: %s", warning)


def _log_credentials(services: Services) -> None:
    assert services.board is not None
    snapshot = services.board.snapshot()
    counts: dict[str, int] = {}
    for status in snapshot:
        counts[status.state] = counts.get(status.state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    log.info("credentials: %d (%s)", len(snapshot), summary)
    now = time.time()
    for status in snapshot:
        if status.disabled_reason is not None:
            log.warning("credential %s is disabled: %s", status.credential, status.disabled_reason)
        for model, remaining in sorted(status.cooldowns.items()):
            until = datetime.fromtimestamp(now + remaining, UTC).isoformat(timespec="seconds")
            log.warning("credential %s is cooling down for %s until %s", status.credential,
                        model, until)  # fmt: skip
    for problem in credential_problems(services):
        log.warning("credential %s", problem)


async def _log_flags(services: Services) -> None:
    stored = await services.store.get_flags()
    current = await services.flags.current()
    parts = []
    for name in FLAG_NAMES:
        if name in stored:
            source = "stored by the admin API"
        else:
            source = services.config.sources.get(f"flags.{name}", "default")
        parts.append(f"{name}={'on' if getattr(current, name) else 'off'} ({source})")
    log.info("flags: %s", ", ".join(parts))


def _state_text(config: Config) -> str:
    if config.state_url is not None:
        return f"Redis {redacted_url(config.state_url)} (prefix {config.state_prefix!r})"
    if config.state_path == ":memory:":
        return "in memory (nothing kept across restarts)"
    return f"SQLite file {config.state_path}"
