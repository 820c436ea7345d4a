"""The start report (server.edge.start_report, issue 16.4): what a proxy says about itself
before it serves, read from the state it loaded (so a restart does not hide a disabled or
cooling credential)."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

import pytest

from server.edge.start_report import log_start_report, serving_mode
from tests.server.conftest import RunningProxy


def report(proxy: RunningProxy, caplog: pytest.LogCaptureFixture) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="compatkit.server"):
        proxy.run(log_start_report(proxy.services))
    return [r.getMessage() for r in caplog.records]


def test_every_credential_not_ready_is_named_with_its_reason_or_end(
    proxy: RunningProxy, caplog: pytest.LogCaptureFixture
) -> None:
    board = proxy.services.board
    assert board is not None
    first, second, _ = (c.id for c in board.credentials)
    proxy.run(board.disable(first, "refused: API_KEY_INVALID"))
    proxy.run(board.set_cooldown(second, "gemini-2.5-pro", 60.0, "quota"))
    messages = report(proxy, caplog)
    assert "credentials: 3 (1 cooling_down, 1 disabled, 1 ready)" in messages
    assert f"credential {first} is disabled: refused: API_KEY_INVALID" in messages
    [cooling] = [m for m in messages if m.startswith(f"credential {second} is cooling")]
    assert re.fullmatch(
        rf"credential {second} is cooling down for gemini-2\.5-pro until "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00",
        cooling,
    )


def test_the_mode_flags_and_state_are_said(
    proxy: RunningProxy, caplog: pytest.LogCaptureFixture
) -> None:
    messages = report(proxy, caplog)
    assert "mode: upstream; upstream: gemini; clients: proxy keys" in messages
    assert "state: in memory (nothing kept across restarts)" in messages
    [flags] = [m for m in messages if m.startswith("flags: ")]
    assert flags.count("(default)") == 4


@pytest.mark.parametrize(
    ("changes", "mode"),
    [
        ({}, {"mode": "upstream", "upstream": "gemini", "clients": "proxy keys"}),
        (
            {"proxy_keys": (), "allow_any_key": True},
            {"mode": "upstream", "upstream": "gemini", "clients": "any key (allow_any_key)"},
        ),
        (
            {"proxy_keys": (), "demo": True},
            {"mode": "demo", "upstream": "emulator", "clients": "any key (demo)"},
        ),
        (
            {"demo": True},
            {"mode": "demo", "upstream": "emulator", "clients": "proxy keys"},
        ),
    ],
)
def test_the_serving_mode_names_upstream_and_clients(
    proxy: RunningProxy, changes: dict[str, Any], mode: dict[str, str]
) -> None:
    assert serving_mode(dataclasses.replace(proxy.services.config, **changes)) == mode
