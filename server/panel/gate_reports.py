"""The gate's reports on disk, as the panel lists them.

Operations:
    find_reports(root, limit=50) -> [GateReport]   every report folder under `root`, newest first
    report_page(root, name) -> Path | None         the report.html of a listed folder, else None

A report folder is what `rollout-guard` / `assert-latency` / `compatkit gate` write (docs/bench.md,
reports/cli.py `write_reports`; by default `reports/out/<UTC stamp>/`): `verdict.json` (format
`compatkit-verdict`), `report.html`, `summary.md`, `junit.xml`. Folders are found up to three
levels deep, so `reports/out/<stamp>/` and `<gate run>/<track>/` both work.

Goals: the panel never trusts a path from a request: a report is named by its folder relative to
`root`, and only a name `find_reports` listed is ever opened. A folder whose verdict.json is
missing or unreadable is still listed, its verdict "unknown" with the reason, never an error
page. (The server never imports `reports`: the file format is the contract, as with results.json.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERDICT_FILE = "verdict.json"
PAGE_FILE = "report.html"
_MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class Comparison:
    """One judged comparison of a report: its name, track and verdict."""

    name: str
    track: str
    verdict: str
    reason: str


@dataclass(frozen=True, slots=True)
class GateReport:
    """One report folder: where it is, what it concluded, and whether it has a page."""

    name: str
    created: str
    title: str
    verdict: str
    has_page: bool
    comparisons: tuple[Comparison, ...] = ()
    objectives_missed: int = 0
    problem: str = ""
    sort_key: float = field(default=0.0, compare=False)


def find_reports(root: Path, limit: int = 50) -> list[GateReport]:
    """The newest `limit` report folders under `root` (an absent root is no reports)."""
    if not root.is_dir():
        return []
    found = [_read_folder(root, folder) for folder in _report_folders(root)]
    found.sort(key=lambda report: report.sort_key, reverse=True)
    return found[:limit]


def report_page(root: Path, name: str) -> Path | None:
    """The report.html of the listed folder `name`, or None for any other name."""
    for report in find_reports(root, limit=10_000):
        if report.name == name and report.has_page:
            return root / name / PAGE_FILE
    return None


def _report_folders(root: Path) -> list[Path]:
    folders: list[Path] = []
    pending = [(root, 0)]
    while pending:
        folder, depth = pending.pop()
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            continue
        for child in children:
            if (child / VERDICT_FILE).is_file() or (child / PAGE_FILE).is_file():
                folders.append(child)
            elif depth + 1 < _MAX_DEPTH:
                pending.append((child, depth + 1))
    return folders


def _read_folder(root: Path, folder: Path) -> GateReport:
    name = folder.relative_to(root).as_posix()
    has_page = (folder / PAGE_FILE).is_file()
    modified = max(p.stat().st_mtime for p in folder.iterdir() if p.is_file())
    fallback_created = datetime.fromtimestamp(modified, UTC).isoformat(timespec="seconds")
    try:
        document = json.loads((folder / VERDICT_FILE).read_text("utf-8"))
        if not isinstance(document, dict) or document.get("format") != "compatkit-verdict":
            raise ValueError("not a compatkit-verdict document")
    except (OSError, ValueError) as exc:
        problem = (
            "no verdict.json"
            if isinstance(exc, FileNotFoundError)
            else (f"verdict.json unreadable: {_short(exc)}")
        )
        return GateReport(
            name, fallback_created, name, "unknown", has_page, problem=problem, sort_key=modified
        )
    return GateReport(
        name=name,
        created=_text(document.get("created")) or fallback_created,
        title=_text(document.get("title")) or name,
        verdict=_text(document.get("verdict")) or "unknown",
        has_page=has_page,
        comparisons=tuple(_comparison(c) for c in _list(document.get("comparisons"))),
        objectives_missed=sum(
            1 for o in _list(document.get("objectives")) if isinstance(o, dict) and not o.get("met")
        ),
        sort_key=modified,
    )


def _comparison(item: Any) -> Comparison:
    item = item if isinstance(item, dict) else {}
    return Comparison(
        name=_text(item.get("name")),
        track=_text(item.get("track")),
        verdict=_text(item.get("verdict")) or "unknown",
        reason=_text(item.get("reason")),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
