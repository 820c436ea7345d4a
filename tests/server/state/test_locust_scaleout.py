"""Locust master and two workers against two real `compatkit serve` instances sharing one real
redis-server behind a round-robin relay (benchmarks.locust_scaleout, a few seconds, headless;
the run stops by itself): every request served, both instances take their share, and the
credential leases in Redis never pass upstream.max_in_flight."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.locust_scaleout import run
from tests.server.state.redis_server import redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
LIMIT = 2


def test_locust_master_and_workers_load_two_instances_on_one_redis(tmp_path: Path) -> None:
    figures = run(seconds=4, users=8, workers=2, max_in_flight=LIMIT, workdir=tmp_path)
    assert figures.locust_status == 0, figures.locust_output[-3000:]
    assert figures.requests > 0 and figures.failures == 0
    assert all(count > 0 for count in figures.per_instance)
    assert sum(figures.per_instance) >= figures.requests
    assert 0 < figures.most_leases <= LIMIT
