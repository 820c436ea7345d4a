"""One conformance case, as the catalogue reads it from its TOML file (catalogue.py describes the
keys). A plain frozen dataclass that every other module of the runner imports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FLAVORS = ("gemini-api", "code-assist")
DEFAULT_MODEL = "claude-sonnet-4-5"


@dataclass(frozen=True)
class Case:
    """One conformance case: what to send, how to script the upstream, what to check."""

    id: str
    level: str
    section: str
    description: str
    category: str
    route: str = "messages"
    stream: bool = False
    model: str = DEFAULT_MODEL
    flavors: tuple[str, ...] = FLAVORS
    scenario: Mapping[str, Any] = field(default_factory=dict)
    request: Mapping[str, Any] | None = None
    tools_json: str | None = None
    raw_body: str | None = None
    body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"
    path: str | None = None
    followup: str | None = None
    settle_s: float = 0.0
    needs_key: bool = False
    disruptive: bool = False
    expect: Mapping[str, Any] = field(default_factory=dict)
    should: Mapping[str, Any] = field(default_factory=dict)

    def checks(self) -> list[tuple[str, Any, str]]:
        """(check name, argument, level) for every check of the case, in order."""
        own = [(name, arg, self.level) for name, arg in self.expect.items()]
        return own + [(name, arg, "SHOULD") for name, arg in self.should.items()]
