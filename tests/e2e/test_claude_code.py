"""Claude Code end to end: the real `claude` binary, pointed at the proxy with
ANTHROPIC_BASE_URL, the proxy in front of the emulator, everything on 127.0.0.1.

Rules: a plain prompt gets the emulator's answer; a scripted Bash call is really run by
Claude Code, its output goes back as a tool_result, the proxy turns it into a Gemini
functionResponse, and the emulator's answer quotes it. Both arms of every flag.
Skipped only when the binary is not installed (scripts/install.sh installs it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.emulator.testing import RunningEmulator, running_emulator
from server.app import create_app
from server.flags import FLAG_NAMES, Flags
from server.hosting import ServerThread
from tests.server.conftest import EMULATOR_SCENARIOS, PROXY_KEY, proxy_config

CLAUDE = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "claude"
# The shell computes 6*7: only a command that really ran can produce "compatkit-42".
COMMAND = "echo compatkit-$((6*7))"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CLAUDE.exists(), reason=f"Claude Code is not installed at {CLAUDE}"),
]

FLAG_ARMS = [
    pytest.param(Flags(), id="all-off"),
    pytest.param(Flags.from_mapping(dict.fromkeys(FLAG_NAMES, True)), id="all-on"),
]


@pytest.fixture
def tool_emulator() -> Iterator[RunningEmulator]:
    scenarios = {
        **EMULATOR_SCENARIOS,
        # Claude Code puts system reminders first in the user turn, so no text marker can
        # pick the scenario: this emulator answers everything with the Bash call.
        "default_scenario": "bash",
        "scenarios": {
            **EMULATOR_SCENARIOS["scenarios"],
            "bash": {"tool_call": {"name": "Bash", "args": {"command": COMMAND}}},
        },
    }
    with running_emulator(scenarios) as emulator:
        yield emulator


@pytest.fixture
def plain_emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EMULATOR_SCENARIOS) as emulator:
        yield emulator


def run_claude(emulator: RunningEmulator, flags: Flags, prompt: str, home: Path) -> dict[str, Any]:
    """Run `claude -p prompt` against a proxy in front of `emulator`; its JSON result."""
    config = dataclasses.replace(proxy_config(emulator.base_url), flags=flags)
    with ServerThread(create_app(config)) as proxy:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": proxy.url,
            "ANTHROPIC_API_KEY": PROXY_KEY,
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        completed = subprocess.run(
            [str(CLAUDE), "-p", prompt, "--allowedTools", "Bash", "--output-format", "json"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert completed.returncode == 0, completed.stderr[-2000:] + completed.stdout[-2000:]
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


@pytest.mark.parametrize("flags", FLAG_ARMS)
def test_claude_code_gets_a_plain_answer_through_the_proxy(
    plain_emulator: RunningEmulator, flags: Flags, tmp_path: Path
) -> None:
    result = run_claude(plain_emulator, flags, "Say hello.", tmp_path)
    assert result["is_error"] is False and result["stop_reason"] == "end_turn"
    assert result["result"].strip()
    records = [r for r in plain_emulator.requests() if "GenerateContent" in r["path"]]
    assert records and all(r["verdict"] == "ok" for r in records)
    assert all(r["path"].endswith(":streamGenerateContent") for r in records)


@pytest.mark.parametrize("flags", FLAG_ARMS)
def test_claude_code_runs_a_scripted_bash_call_and_sends_its_output_back(
    tool_emulator: RunningEmulator, flags: Flags, tmp_path: Path
) -> None:
    result = run_claude(tool_emulator, flags, "Run the command, please.", tmp_path)
    assert result["is_error"] is False and result["num_turns"] == 2
    assert "compatkit-42" in result["result"]  # the emulator quotes the tool output
    first, second = [r for r in tool_emulator.requests() if "GenerateContent" in r["path"]]
    assert first["verdict"] == second["verdict"] == "ok"
    model_turn, user_turn = second["body"]["contents"][-2:]
    (call,) = [p["functionCall"] for p in model_turn["parts"] if "functionCall" in p]
    assert call["name"] == "Bash" and call["args"]["command"] == COMMAND
    (response,) = [p["functionResponse"] for p in user_turn["parts"] if "functionResponse" in p]
    assert response["name"] == "Bash"
    assert "compatkit-42" in json.dumps(response["response"])
