"""The repository's own docs are what code cites: every citation resolves, none points outside.

- Every `docs/<page>.md#<section>` cited in code, tests or docs names a page that exists and a
  heading on it (GitHub's anchor for the heading).
- Every relative Markdown link between the docs (and from README.md) resolves the same way.
- Nothing cites the seed design or the reference notes that live outside the repository
  (`DESIGN.md`, `protocols.md §X`, a bare `§B.3`, `benchmarking.md §X`, `../shared/`).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    path
    for pattern in ("*.py", "*.md", "*.toml", "*.sh")
    for path in ROOT.rglob(pattern)
    if not {".venv", ".git", "node_modules", "compatkit.egg-info"} & set(path.parts)
)
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

CITATION = re.compile(r"docs/([\w./-]+\.md)(?:#([\w-]+))?")
# "<page>#one, #two and #three": the later anchors are on the same page
MORE_ANCHORS = re.compile(r"(?:,\s*|\s+and\s+|\s+to\s+)#([\w-]+)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Cited by reports, whose own page lands with the gate in this wave: a citation of this
# page is checked once it exists.
PAGES_BEING_WRITTEN = {"gate.md"}
OUTSIDE = re.compile(
    r"\bDESIGN\.md|\bprotocols\.md|\bbenchmarking\.md §|\.\./shared/|/work/shared"
    r"|§[A-G]\b|\([A-G]\.\d"  # its sections (§A.5, (B.2)); RFC sections are numbers
)


@cache
def anchors(page: Path) -> frozenset[str]:
    """GitHub's anchors for the headings of a Markdown page (duplicates numbered -1, -2...)."""
    seen: dict[str, int] = {}
    found = set()
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if in_fence or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip()
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


def problem(page: Path, anchor: str | None) -> str | None:
    if not page.is_file() and page.name in PAGES_BEING_WRITTEN and page.parent.name == "docs":
        return None
    if not page.is_file():
        return f"no such page {page.relative_to(ROOT)}"
    if anchor and anchor not in anchors(page):
        return f"no section #{anchor} on {page.relative_to(ROOT)}"
    return None


def test_the_docs_exist_and_have_sections() -> None:
    assert (ROOT / "docs" / "design.md").is_file()
    assert "stream-grammar" in anchors(ROOT / "docs" / "reference" / "anthropic.md")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_citation_of_the_docs_resolves() -> None:
    broken = []
    for source in SOURCES:
        text = source.read_text(encoding="utf-8", errors="replace")
        for match in CITATION.finditer(text):
            page = ROOT / "docs" / match.group(1)
            cited = [match.group(2)]
            position = match.end()
            while match.group(2) and (more := MORE_ANCHORS.match(text, position)):
                cited.append(more.group(1))
                position = more.end()
            broken += [
                f"{relative(source)}: {page.name}#{anchor}: {why}"
                for anchor in cited
                if (why := problem(page, anchor))
            ]
    assert broken == []


def test_every_link_between_the_docs_resolves() -> None:
    broken = []
    for page in DOCS:
        for target in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):  # http(s), mailto: outside the repository
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if resolved.is_dir():
                continue
            if (why := problem(resolved, anchor or None)) is not None:
                broken.append(f"{relative(page)}: {target}: {why}")
    assert broken == []


def test_nothing_cites_notes_outside_the_repository() -> None:
    found = [
        f"{relative(source)}: {line.strip()}"
        for source in SOURCES
        if source != Path(__file__).resolve()
        for line in source.read_text(encoding="utf-8", errors="replace").splitlines()
        if OUTSIDE.search(line)
    ]
    assert found == []
