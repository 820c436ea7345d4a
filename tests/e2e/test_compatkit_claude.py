"""`compatkit claude` end to end: the real launcher running the real Claude Code, in a temporary
HOME, against a proxy it starts (the demo, with its in-process emulator) or one already answering.

Rules (compat_claude): with no proxy answering, the launcher starts one, Claude Code gets its
answers, and the proxy is gone once Claude Code exits; with a proxy answering, it is used and left
running; arguments reach Claude Code unchanged and its exit status comes back; with a fresh HOME,
interactive Claude Code skips its first-run onboarding (theme, login) and answers.
Skipped only when Claude Code is not installed (scripts/install.sh installs it).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.emulator.testing import RunningEmulator, running_emulator
from server.app import create_app
from server.hosting import ServerThread
from tests.server.conftest import EMULATOR_SCENARIOS, PROXY_KEY, proxy_config

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = ROOT / ".tools" / "node_modules" / ".bin" / "claude"
COMPATKIT = [sys.executable, "-m", "compat_cli"]
SCRIPTED = "The launcher found the proxy already answering."
WAIT_S = 120.0  # a bound on waiting for a screen, never a figure the test asserts

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CLAUDE.exists(), reason=f"Claude Code is not installed at {CLAUDE}"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def launcher_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """A clean environment: a temporary HOME, the proxy's port, no Anthropic credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "COMPATKIT_PORT": str(port),
        "COMPATKIT_STATE_PATH": str(home / "compatkit-state.sqlite3"),
        "DISABLE_AUTOUPDATER": "1",
        "ANTHROPIC_API_KEY": "sk-ant-the-users-own-key",  # the launcher must not pass it on
        **extra,
    }


def compatkit_claude(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMPATKIT, "claude", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh HOME: Claude Code has never run here."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def scripted_emulator() -> Iterator[RunningEmulator]:
    scenarios = {**EMULATOR_SCENARIOS, "scenarios": {"default": {"text": SCRIPTED}}}
    with running_emulator(scenarios) as emulator:
        yield emulator


@pytest.fixture
def running_proxy(scripted_emulator: RunningEmulator) -> Iterator[ServerThread]:
    """A proxy answering before the launcher runs (it requires PROXY_KEY)."""
    with ServerThread(create_app(proxy_config(scripted_emulator.base_url))) as proxy:
        yield proxy


def test_it_starts_the_demo_proxy_runs_a_bash_call_through_it_and_stops_the_proxy(
    home: Path,
) -> None:
    port = free_port()
    completed = compatkit_claude(
        [
            "-p",
            "[scenario:tool_bash] Run the command, please.",
            "--allowedTools",
            "Bash",
            "--output-format",
            "json",
        ],
        launcher_env(home, port, COMPATKIT_UPSTREAM="emulator"),
        home,
    )
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-2000:]
    result: dict[str, Any] = json.loads(completed.stdout)
    assert result["is_error"] is False and result["num_turns"] == 2
    assert result["result"].strip() == "Tool Bash returned: hi"  # the emulator quotes the tool
    assert f"started the proxy at http://127.0.0.1:{port}" in completed.stderr
    assert not answers(port)  # stopped with Claude Code
    assert json.loads((home / ".claude.json").read_text())["hasCompletedOnboarding"] is True


def test_it_uses_a_proxy_already_answering_and_leaves_it_running(
    home: Path, running_proxy: ServerThread, scripted_emulator: RunningEmulator
) -> None:
    env = launcher_env(home, running_proxy.port, COMPATKIT_PROXY_KEYS=PROXY_KEY)
    completed = compatkit_claude(["-p", "Say hello.", "--output-format", "json"], env, home)
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-2000:]
    assert json.loads(completed.stdout)["result"].strip() == SCRIPTED
    assert f"using the proxy already answering at {running_proxy.url}" in completed.stderr
    generate = [r for r in scripted_emulator.requests() if "GenerateContent" in r["path"]]
    assert generate and all(r["verdict"] == "ok" for r in generate)
    assert answers(running_proxy.port)


def test_arguments_reach_claude_code_unchanged_and_its_exit_status_comes_back(
    home: Path, running_proxy: ServerThread
) -> None:
    env = launcher_env(home, running_proxy.port, COMPATKIT_PROXY_KEYS=PROXY_KEY)
    direct = subprocess.run(
        [str(CLAUDE), "--no-such-option"], env=env, capture_output=True, text=True, timeout=60
    )
    launched = compatkit_claude(["--no-such-option"], env, home)
    assert direct.returncode != 0
    assert launched.returncode == direct.returncode
    assert "unknown option '--no-such-option'" in launched.stderr


def test_interactive_claude_code_in_a_fresh_home_skips_onboarding_and_answers(
    home: Path, running_proxy: ServerThread
) -> None:
    """With a fresh HOME, Claude Code would open with its theme picker and login flow; through
    the launcher it opens with the folder trust question (left to the user) and then answers."""
    env = {
        **launcher_env(home, running_proxy.port, COMPATKIT_PROXY_KEYS=PROXY_KEY),
        "TERM": "xterm-256color",
    }
    terminal, child_end = pty.openpty()
    launcher = subprocess.Popen(
        [*COMPATKIT, "claude"],
        env=env,
        cwd=home,
        stdin=child_end,
        stdout=child_end,
        stderr=child_end,
        start_new_session=True,
    )
    os.close(child_end)
    screen = Screen(terminal)
    try:
        screen.wait_for("trust this folder")
        os.write(terminal, b"\r")  # 1. Yes, I trust this folder
        screen.wait_for("for shortcuts")  # the prompt is ready
        os.write(terminal, b"Say hello.")
        screen.wait_for("Say hello.")
        os.write(terminal, b"\r")
        screen.wait_for(SCRIPTED)
    finally:
        launcher.send_signal(signal.SIGTERM)  # forwarded to Claude Code
        status = launcher.wait(timeout=60)
        os.close(terminal)
    assert "Choose the text style" not in screen.text and "Select login method" not in screen.text
    assert status == 128 + signal.SIGTERM  # Claude Code's own end, passed through


class Screen:
    """What Claude Code drew on a pseudo-terminal, as plain text (escape sequences and spaces
    removed: the TUI positions words with cursor moves)."""

    _ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b.")

    def __init__(self, terminal: int) -> None:
        self._terminal = terminal
        self._raw = b""

    @property
    def text(self) -> str:
        return re.sub(r"\s+", "", self._ESCAPES.sub(b"", self._raw).decode("utf-8", "replace"))

    def wait_for(self, words: str) -> None:
        wanted = re.sub(r"\s+", "", words)
        deadline = time.monotonic() + WAIT_S
        while wanted not in self.text:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {words!r}; the screen ended: {self.text[-1500:]}"
            readable, _, _ = select.select([self._terminal], [], [], min(remaining, 0.5))
            if readable:
                try:
                    self._raw += os.read(self._terminal, 65536)
                except OSError:  # the child closed the terminal
                    assert wanted in self.text, f"exited before {words!r}: {self.text[-1500:]}"
