"""The case catalogue: cases as data (TOML files in cases/), read and validated into `Case`s.

Operations:
    load_catalogue(paths=None) -> [Case]      every case of the packaged files (or of `paths`),
                                              in file order; CatalogueError names a bad one
    select(cases, ids=None, level=None, flavor=None) -> [Case]

A case file (one per category, e.g. cases/stream.toml):

    category = "stream"                       # the report groups by it
    [defaults]                                # any case key; each case may override it
    route = "messages"
    [[case]]
    id = "stream.text"                        # unique, dotted
    level = "MUST"                            # MUST | SHOULD | INFO
    section = "anthropic.md#stream-grammar"   # where the rule is (docs/reference/ pages)
    description = "A text reply streams in the Anthropic grammar."
    stream = true
    scenario = { text_tokens = 12 }           # the emulator's script for this case
    request = { messages = [...] }            # the JSON body, over the route's defaults
    expect = { status = 200, grammar = true } # checks at the case's level (oracle.CHECKS)
    should = { usage = true }                 # extra checks at SHOULD level (MUST cases only)

Other keys: `tools_json` (the request's `tools`, as JSON text: long schemas read better as JSON
than as one-line TOML tables), `raw_body` (the exact body text, e.g. with `\\ud800` escapes), `body` (a generator
from bodies.py, e.g. "deep_nesting"), `headers` (added or replaced; "$key" is the proxy key,
"$none" removes a header), `method` and `path` (route "raw"), `model`, `flavors`
(["gemini-api", "code-assist"] by default), `followup` ("tool_results" or "continue": send a
second turn built from the first reply), `settle_s` (a pause after the case, for a proxy's
cooldowns to pass), `needs_key` (the case needs --proxy-key), `disruptive` (the case may leave the
proxy's credentials disabled, so it runs last).

Order: cases run in file order, except that session cases (route "session", judged on the whole
run's upstream traffic) run after the others, and disruptive cases last of all (`in_run_order`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.runner.bodies import GENERATORS
from conformance.runner.case import FLAVORS, Case

LEVELS = ("MUST", "SHOULD", "INFO")
ROUTES = ("messages", "chat", "count_tokens", "models", "model", "raw", "session")
FOLLOWUPS = ("tool_results", "continue")
_ID = re.compile(r"[a-z0-9_]+(\.[a-z0-9_\-]+)+")
_CASE_KEYS = {
    "id",
    "level",
    "section",
    "description",
    "route",
    "stream",
    "model",
    "flavors",
    "scenario",
    "request",
    "tools_json",
    "raw_body",
    "body",
    "headers",
    "method",
    "path",
    "followup",
    "settle_s",
    "needs_key",
    "disruptive",
    "expect",
    "should",
}


class CatalogueError(ValueError):
    """A case file is invalid; the message names the file, the case and the key."""


def case_files() -> list[Path]:
    """The packaged case files, sorted by name."""
    folder = resources.files("conformance.runner") / "cases"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


def load_catalogue(paths: Iterable[Path] | None = None) -> list[Case]:
    """Every case of `paths` (default: the packaged files), validated; ids unique."""
    from conformance.runner.oracle import CHECKS  # the check names a case may use

    cases: list[Case] = []
    for path in case_files() if paths is None else paths:
        cases += _read_file(path, set(CHECKS))
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CatalogueError(f"case id {case.id!r} is used twice")
        seen.add(case.id)
    return cases


def select(
    cases: Sequence[Case],
    *,
    ids: Sequence[str] | None = None,
    level: str | None = None,
    flavor: str | None = None,
) -> list[Case]:
    """The cases named by `ids` (an id or a prefix ending in `.` or `*`), at `level`, and
    applicable to `flavor`."""
    chosen = list(cases)
    if ids:
        chosen = [c for c in chosen if any(_matches(c.id, wanted) for wanted in ids)]
    if level:
        chosen = [c for c in chosen if c.level == level]
    if flavor:
        chosen = [c for c in chosen if flavor in c.flavors]
    return chosen


def in_run_order(cases: Sequence[Case]) -> list[Case]:
    """Ordinary cases in catalogue order, then session cases, then disruptive ones."""
    return sorted(cases, key=lambda c: 2 if c.disruptive else 1 if c.route == "session" else 0)


def _matches(case_id: str, wanted: str) -> bool:
    if wanted.endswith(("*", ".")):
        return case_id.startswith(wanted.rstrip("*"))
    return case_id == wanted


def _read_file(path: Path, check_names: set[str]) -> list[Case]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path.name}: {exc}") from None
    unknown = set(data) - {"category", "defaults", "case"}
    if unknown:
        raise CatalogueError(f"{path.name}: unknown top-level key {sorted(unknown)[0]!r}")
    category = str(data.get("category") or path.stem)
    defaults = data.get("defaults", {})
    return [
        _case(path.name, category, _with_defaults(defaults, raw), check_names)
        for raw in data.get("case", [])
    ]


def _with_defaults(defaults: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The case's keys over the defaults'; `request` tables merge key by key; a case giving its
    own body (`raw_body`, `body`) drops the defaults' request."""
    merged = {**defaults, **raw}
    if ("raw_body" in raw or "body" in raw) and "request" not in raw:
        merged.pop("request", None)
    elif isinstance(defaults.get("request"), Mapping) and isinstance(raw.get("request"), Mapping):
        merged["request"] = {**defaults["request"], **raw["request"]}
    return merged


def _case(file: str, category: str, raw: Mapping[str, Any], check_names: set[str]) -> Case:
    where = f"{file}: case {raw.get('id', '?')!r}"
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    for key in ("id", "level", "section", "description"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise CatalogueError(f"{where}: {key} is required (a non-empty string)")
    if _ID.fullmatch(raw["id"]) is None:
        raise CatalogueError(f"{where}: id must be dotted lower-case words")
    _one_of(where, "level", raw["level"], LEVELS)
    _one_of(where, "route", raw.get("route", "messages"), ROUTES)
    for flavor in raw.get("flavors", FLAVORS):
        _one_of(where, "flavors", flavor, FLAVORS)
    if raw.get("followup") is not None:
        _one_of(where, "followup", raw["followup"], FOLLOWUPS)
    bodies = [key for key in ("request", "raw_body", "body") if key in raw]
    if len(bodies) > 1:
        raise CatalogueError(f"{where}: give one of request, raw_body, body")
    if "tools_json" in raw:
        try:
            tools = json.loads(raw["tools_json"])
        except ValueError as exc:
            raise CatalogueError(f"{where}: tools_json is not JSON: {exc}") from None
        if not isinstance(tools, list):
            raise CatalogueError(f"{where}: tools_json is a JSON list of tools")
    if "body" in raw and raw["body"] not in GENERATORS:
        raise CatalogueError(f"{where}: body {raw['body']!r} is not one of {', '.join(GENERATORS)}")
    if raw.get("route") == "raw" and "path" not in raw:
        raise CatalogueError(f"{where}: route raw needs a path")
    for table in ("expect", "should"):
        for name in raw.get(table, {}):
            if name not in check_names:
                raise CatalogueError(f"{where}: {table}.{name} is not a known check")
    if raw.get("should") and raw["level"] != "MUST":
        raise CatalogueError(f"{where}: should is for MUST cases; put the checks in expect")
    if not raw.get("expect") and not raw.get("should"):
        raise CatalogueError(f"{where}: a case checks something (expect)")
    return Case(
        category=category,
        **{key: _frozen(key, value) for key, value in raw.items()},
    )


def _frozen(key: str, value: Any) -> Any:
    if key == "flavors":
        return tuple(value)
    return value


def _one_of(where: str, key: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise CatalogueError(f"{where}: {key} {value!r} is not one of {', '.join(allowed)}")
