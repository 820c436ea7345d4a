"""The scripted scenario: set over a control route, so a proxy in between cannot strip it.

Operations:
- `ScenarioScript.arm(body)`: `POST /_emulator/script` with `{"scenario": {<scenario table>}}` (the
  keys of a `[scenarios.NAME]` TOML table) or `{"name": "<configured scenario>"}`, and an optional
  `"label"` (what records show). Every generate request without a scenario header or marker gets
  this scenario until the next arm or disarm; its fault counters start from 1 at each arm.
- `ScenarioScript.disarm()`: `POST /_emulator/script` with `{}` (or `POST /_emulator/reset`).
- `ScenarioScript.current`: the armed scenario, or None.

Why: a conformance runner grades a proxy black-box, one case at a time. The `[scenario:NAME]`
marker rides in the user's text, which a proxy may rewrite and which some cases must keep exact
(lone surrogates, content checks) or lack (a first turn of images only). The runner's cases run
one after another, so "the scenario of every request until further notice" is exact, including
for the retries the proxy makes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conformance.emulator.scenarios import (
    ConfigError,
    EmulatorConfig,
    Scenario,
    UnknownScenario,
    parse_scenario,
)

_LABEL = re.compile(r"[A-Za-z0-9_.\-]{1,80}")


class ScriptError(ValueError):
    """The script body is invalid; the message says why (answered as Google's 400)."""


class ScenarioScript:
    """The armed scenario of one emulator (none at start)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._serial = 0
        self.current: Scenario | None = None

    def arm(self, body: Mapping[str, Any]) -> Scenario | None:
        """Arm the scenario `body` describes (see the module docstring); `{}` disarms."""
        unknown = set(body) - {"scenario", "name", "label"}
        if unknown:
            raise ScriptError(
                f"unknown key {sorted(unknown)[0]!r} (allowed: label, name, scenario)"
            )
        if not body:
            self.disarm()
            return None
        label = str(body.get("label") or body.get("name") or "script")
        if _LABEL.fullmatch(label) is None:
            raise ScriptError("label: 1-80 characters of letters, digits, '_', '.', '-'")
        self._serial += 1
        # A fresh name per arm: fault counters are kept per scenario name.
        name = f"{label}#{self._serial}"
        if "scenario" in body:
            if "name" in body:
                raise ScriptError("give either name or scenario, not both")
            try:
                self.current = parse_scenario(name, body["scenario"])
            except ConfigError as exc:
                raise ScriptError(str(exc).removeprefix("scenarios.")) from None
            return self.current
        try:
            configured = self._config.scenario(str(body.get("name")))
        except UnknownScenario:
            known = ", ".join(sorted(self._config.scenarios))
            raise ScriptError(f"unknown scenario {body.get('name')!r}; known: {known}") from None
        self.current = replace(configured, name=name)
        return self.current

    def disarm(self) -> None:
        self.current = None
