"""Debian's chromium driven by Playwright, for the tests of pages (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def system_chromium() -> Iterator[Any]:
    """A launched headless chromium (`playwright.sync_api.Browser`); skips without it."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (scripts/install.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()
