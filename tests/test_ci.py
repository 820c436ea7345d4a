""".ci/gate: the latency gate's exit status is CI's verdict. ROLLBACK and errors fail CI,
HOLD passes with a warning, PROMOTE passes.

The mapping is checked for every status with a stand-in for `compatkit` (what is tested is
the shell step, not the gate); then a real HOLD of `compatkit gate --quick` on one track (the
emulator and the proxy as processes) goes through the same step. (A real ROLLBACK needs valid
blocks, which a machine at load 11 does not give: the runner marks them INCONCLUSIVE.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATE_STEP = ROOT / ".ci" / "gate"


def ci_gate(
    tmp_path: Path, *args: str, compatkit: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run .ci/gate as CI does, its reports and lock in `tmp_path`."""
    env = {
        **os.environ,
        "COMPATKIT_GATE_OUT": str(tmp_path / "out"),
        "COMPATKIT_BENCH_LOCK": str(tmp_path / "bench.lock"),
    }
    if compatkit is not None:
        env["COMPATKIT"] = compatkit
    return subprocess.run(
        ["bash", str(GATE_STEP), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def stand_in(tmp_path: Path, status: int) -> str:
    """A `compatkit` that records its arguments and exits with `status`."""
    script = tmp_path / "compatkit"
    script.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/argv"\nexit {status}\n', "utf-8")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("gate_status", "ci_status", "says"),
    [
        (0, 0, "promoted every track"),
        (3, 0, "warning: the latency gate held (HOLD)"),
        (1, 1, "rolled back (ROLLBACK)"),
        (2, 2, "could not run (exit status 2)"),
        (137, 137, "could not run (exit status 137)"),
    ],
)
def test_the_gate_status_is_ci_status_except_hold_which_passes_with_a_warning(
    tmp_path: Path, gate_status: int, ci_status: int, says: str
) -> None:
    done = ci_gate(
        tmp_path, "--tracks", "ff_http2_pool_tuning", compatkit=stand_in(tmp_path, gate_status)
    )
    assert done.returncode == ci_status
    assert says in done.stderr
    argv = (tmp_path / "argv").read_text("utf-8").split()
    assert argv == [
        "gate",
        "--quick",
        "--out",
        str(tmp_path / "out"),
        "--tracks",
        "ff_http2_pool_tuning",
    ]


def test_ci_runs_the_gate_after_the_tests() -> None:
    steps = [
        line
        for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert steps == ["bash scripts/install.sh", "bash scripts/test.sh", "bash .ci/gate"]


def _policy(tmp_path: Path, table: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(f"[tracks.ff_converter_fast_path]\n{table}\n", "utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("table", "ci_status", "verdict"),
    [
        # more rounds than a quick run has, and none may be added: undecided
        ("min_rounds = 50\nmax_extra_rounds = 0", 0, "HOLD"),
    ],
)
def test_a_real_hold_passes(tmp_path: Path, table: str, ci_status: int, verdict: str) -> None:
    done = ci_gate(
        tmp_path,
        "--tracks",
        "ff_converter_fast_path",
        "--policy",
        _policy(tmp_path, table),
        compatkit=str(Path(sys.executable).parent / "compatkit"),  # this environment's
    )
    assert done.returncode == ci_status, done.stderr[-2000:]
    assert f"## compatkit gate: {verdict}" in done.stdout
    assert (tmp_path / "out" / "verdict.json").is_file()
