"""Fixtures that run the emulator as a real server on 127.0.0.1 (see conformance.emulator.testing).

- `emulator`: the packaged default configuration, fresh for each test.
- `gemini`: an httpx client for it with an API key set.
Other configurations: call `running_emulator(...)` directly in the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.emulator.testing import RunningEmulator, running_emulator


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as running:
        yield running


@pytest.fixture
def gemini(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emulator.base_url, headers={"x-goog-api-key": "test-key"}, timeout=30
    ) as client:
        yield client
