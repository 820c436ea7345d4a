"""Fixtures for the panel's tests: a proxy (a real server on 127.0.0.1, in front of the
emulator) whose panel reads a reports folder of the test's own, and a panel user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.server.conftest import RunningProxy
from tests.server.panel.panel_client import PanelUser


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def panel_proxy(proxy_factory: Callable[..., RunningProxy], reports_dir: Path) -> RunningProxy:
    return proxy_factory(panel_reports_dir=str(reports_dir))


@pytest.fixture
def user(panel_proxy: RunningProxy) -> Iterator[PanelUser]:
    panel_user = PanelUser(panel_proxy.url)
    yield panel_user
    panel_user.close()
