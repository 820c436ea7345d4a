"""The delayed network: probed for real; the namespace plumbing works where netem may not."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import result_format
from loadtests._bench import parse_plan, run_plan
from loadtests._bench._emulator import EmulatorLink, emulator_config
from loadtests._bench._network import delayed_network, netem_unavailable
from loadtests._bench._processes import Server, start_emulator
from tests.loadtests.bench.test_plan import MINIMAL

can_make_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and the ip command"
)


def _namespaces() -> str:
    return subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout


@can_make_namespaces
async def test_the_emulator_in_a_namespace_answers_over_tls_through_the_veth(
    tmp_path: Path,
) -> None:
    plan = parse_plan(MINIMAL)
    with delayed_network(0.0) as network:
        assert network.namespace in _namespaces()

        async def ready(server: Server) -> str | None:
            link = EmulatorLink(server, "k")
            try:
                return await link.ready(server.url)
            finally:
                await link.close()

        server = await start_emulator(
            tmp_path, emulator_config(plan, 100), ready, tls=True, server="granian",
            prefix=network.prefix, host=network.emulator_host,
        )  # fmt: skip
        try:
            assert server.url.startswith(f"https://{network.emulator_host}:")
        finally:
            await server.stop()
    assert network.namespace not in _namespaces()  # removed, veth and all


def test_a_delay_the_machine_cannot_emulate_is_a_note_and_the_run_goes_on(tmp_path: Path) -> None:
    reason = netem_unavailable()
    if reason is None:
        pytest.skip("this machine can emulate a delay (the netem path is exercised instead)")
    plan = parse_plan({**MINIMAL, "emulator": {"network_delay_ms": 20},
                       "load": {"rate": 20.0, "requests": 4, "warmup": 1, "rounds": 1}})  # fmt: skip
    doc = result_format.load(run_plan(plan, tmp_path))
    assert doc["environment"]["network"]["mode"] == "loopback"
    assert doc["notes"] == [
        "loopback only: a 20 ms network delay was asked for, but this machine cannot emulate one "
        f"({reason})"
    ]
    assert all(block["samples"] for block in doc["blocks"])


@can_make_namespaces
def test_with_netem_the_run_says_so(tmp_path: Path) -> None:
    if netem_unavailable() is not None:
        pytest.skip(f"no netem here: {netem_unavailable()}")
    plan = parse_plan({**MINIMAL, "emulator": {"network_delay_ms": 5},
                       "load": {"rate": 20.0, "requests": 4, "warmup": 1, "rounds": 1}})  # fmt: skip
    doc = result_format.load(run_plan(plan, tmp_path))
    assert doc["environment"]["network"]["mode"] == "netem"
    ttfb = [s["ttfb_ms"] for b in doc["blocks"] for s in b["samples"]]
    assert min(ttfb) >= 10  # at least one round trip of 2 x 5 ms to the emulator
