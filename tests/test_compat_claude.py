"""compat_claude: finding Claude Code, settling its onboarding, its environment, and the
launcher's one-line refusals (the real runs are in tests/e2e/test_compatkit_claude.py)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat_claude import (
    ANY_KEY,
    DROPPED_VARIABLES,
    LaunchError,
    claude_code_env,
    claude_config_path,
    find_claude_code,
    settle_onboarding,
)


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def run_launcher(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_cli", "claude", "-p", "hi"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- finding Claude Code -----------------------------------------------------------------------


def test_the_copy_install_sh_puts_under_tools_comes_first(tmp_path: Path) -> None:
    installed = executable(tmp_path / ".tools" / "node_modules" / ".bin" / "claude")
    on_path = executable(tmp_path / "bin" / "claude")
    found = find_claude_code({"PATH": str(on_path.parent)}, tmp_path / ".tools")
    assert found == installed


def test_without_tools_claude_on_path_is_used(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "bin" / "claude")
    assert find_claude_code({"PATH": str(on_path.parent)}, tmp_path / ".tools") == on_path


def test_compatkit_claude_code_names_the_executable(tmp_path: Path) -> None:
    chosen = executable(tmp_path / "elsewhere" / "claude-2")
    assert find_claude_code({"COMPATKIT_CLAUDE_CODE": str(chosen)}, tmp_path) == chosen


def test_no_claude_code_anywhere_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match=r"not installed .* run scripts/install.sh"):
        find_claude_code({"PATH": str(tmp_path)}, tmp_path / ".tools")


def test_a_compatkit_claude_code_that_is_not_executable_is_named(tmp_path: Path) -> None:
    text = tmp_path / "claude"
    text.write_text("not a program")
    with pytest.raises(LaunchError, match=f"COMPATKIT_CLAUDE_CODE={text} is not an executable"):
        find_claude_code({"COMPATKIT_CLAUDE_CODE": str(text)}, tmp_path)


# --- the onboarding ----------------------------------------------------------------------------


def test_a_fresh_home_gets_a_config_file_saying_onboarding_is_done(tmp_path: Path) -> None:
    changed = settle_onboarding({"HOME": str(tmp_path)})
    assert changed == tmp_path / ".claude.json"
    assert json.loads(changed.read_text()) == {"hasCompletedOnboarding": True}
    assert stat.S_IMODE(changed.stat().st_mode) == 0o600  # it may hold an account's details


def test_every_other_setting_is_kept_and_the_mode_too(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    settings = {"theme": "light", "projects": {"/src": {"hasTrustDialogAccepted": True}}}
    config.write_text(json.dumps({**settings, "hasCompletedOnboarding": False}))
    config.chmod(0o640)
    assert settle_onboarding({"HOME": str(tmp_path)}) == config
    assert json.loads(config.read_text()) == {**settings, "hasCompletedOnboarding": True}
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == [".claude.json"]  # no temporary file left


def test_a_settled_config_is_not_written_again(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    config.write_text('{"hasCompletedOnboarding":true,"numStartups":7}')
    before = config.stat().st_mtime_ns
    assert settle_onboarding({"HOME": str(tmp_path)}) is None
    assert config.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", "\udcff"], ids=["broken", "list", "bad"]
)
def test_a_config_that_is_not_a_json_object_is_left_alone_with_a_warning(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / ".claude.json"
    config.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert settle_onboarding({"HOME": str(tmp_path)}) is None
    assert config.read_bytes() == content.encode("utf-8", "surrogateescape")
    assert capsys.readouterr().err.startswith(f"compatkit claude: warning: left {config} alone")


def test_a_config_that_cannot_be_written_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")  # the config dir is a file: the config cannot be written inside
    assert settle_onboarding({"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(not_a_dir)}) is None
    err = capsys.readouterr().err
    assert err.startswith(f"compatkit claude: warning: could not write {not_a_dir}/.claude.json")


def test_claude_config_dir_moves_the_file_as_it_does_for_claude_code(tmp_path: Path) -> None:
    config_dir = tmp_path / "cc"
    env = {"HOME": str(tmp_path / "home"), "CLAUDE_CONFIG_DIR": str(config_dir)}
    assert claude_config_path(env) == config_dir / ".claude.json"
    assert settle_onboarding(env) == config_dir / ".claude.json"


def test_a_legacy_config_json_wins_when_it_exists(tmp_path: Path) -> None:
    legacy = tmp_path / ".claude" / ".config.json"
    legacy.parent.mkdir()
    legacy.write_text("{}")
    assert claude_config_path({"HOME": str(tmp_path)}) == legacy


# --- Claude Code's environment ------------------------------------------------------------------


def test_claude_code_is_pointed_at_the_proxy_with_a_bearer_token_only() -> None:
    user = {"PATH": "/bin", "TERM": "xterm", **dict.fromkeys(DROPPED_VARIABLES, "x")}
    env = claude_code_env(user, "http://127.0.0.1:8080", ANY_KEY)
    assert env == {
        "PATH": "/bin",
        "TERM": "xterm",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:8080",
        "ANTHROPIC_AUTH_TOKEN": ANY_KEY,
    }


# --- refusals: one line, exit 2 -----------------------------------------------------------------


@pytest.fixture
def fake_claude(tmp_path: Path) -> Path:
    """Stands in for Claude Code where the launcher must stop before running it."""
    return executable(tmp_path / "bin" / "claude")


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port where something listens but never answers HTTP: not a proxy to reuse."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_missing_claude_code_is_one_line_and_exit_2(tmp_path: Path) -> None:
    completed = run_launcher({"COMPATKIT_CLAUDE_CODE": str(tmp_path / "nope")}, tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        f"compatkit claude: COMPATKIT_CLAUDE_CODE={tmp_path / 'nope'} is not an executable file"
    ]


def test_a_bad_proxy_configuration_is_one_line_and_exit_2(
    tmp_path: Path, fake_claude: Path
) -> None:
    env = {"COMPATKIT_CLAUDE_CODE": str(fake_claude), "COMPATKIT_PORT": "70000"}
    completed = run_launcher(env, tmp_path)
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()  # the configuration's own words, after the prefix
    assert line.startswith("compatkit claude: COMPATKIT_PORT ") and "70000" in line


def test_no_proxy_is_started_without_an_upstream_or_the_demo_chosen(
    tmp_path: Path, fake_claude: Path
) -> None:
    """The emulator's made-up answers are never what Claude Code gets by default (issue 17.7)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing answers there: a proxy would be started
    env = {"COMPATKIT_CLAUDE_CODE": str(fake_claude), "COMPATKIT_PORT": str(port)}
    completed = run_launcher(env, tmp_path)
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()
    assert line.startswith("compatkit claude: no upstream configured: ")
    assert "COMPATKIT_UPSTREAM=emulator" in line


def test_a_proxy_that_cannot_start_is_one_line_naming_its_log_and_exit_2(
    tmp_path: Path, fake_claude: Path, silent_listener: int
) -> None:
    env = {
        "COMPATKIT_CLAUDE_CODE": str(fake_claude),
        "COMPATKIT_PORT": str(silent_listener),
        "COMPATKIT_STATE_PATH": ":memory:",
        "COMPATKIT_UPSTREAM": "emulator",
    }
    completed = run_launcher(env, tmp_path)
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()
    assert line.startswith("compatkit claude: the proxy did not start: ")
    log = Path(line.rsplit("(its log: ", 1)[1].rstrip(")"))
    assert log.is_file()  # kept for the reason in full
    log.unlink()
    assert not (tmp_path / ".claude.json").exists()  # nothing settled for a run that never ran


# --- the session with a stand-in Claude Code ----------------------------------------------------

STAND_IN = """#!{python}
import json, os, sys, urllib.error, urllib.request

def status(key):
    request = urllib.request.Request(
        os.environ["ANTHROPIC_BASE_URL"] + "/v1/models", headers={{"authorization": "Bearer " + key}}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code

seen = {{
    "argv": sys.argv[1:],
    "with_its_token": status(os.environ["ANTHROPIC_AUTH_TOKEN"]),
    "with_another_key": status("compatkit-local"),
    "api_key": os.environ.get("ANTHROPIC_API_KEY"),
}}
print(json.dumps(seen))
sys.exit(7)
"""


def test_a_proxy_started_for_the_session_accepts_only_the_key_claude_code_got(
    tmp_path: Path,
) -> None:
    """With no proxy keys configured, the proxy the launcher starts is not open to any client on
    the machine: it takes a key made for the session. Arguments and exit status pass through."""
    stand_in = tmp_path / "claude"
    stand_in.write_text(STAND_IN.format(python=sys.executable))
    stand_in.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    completed = subprocess.run(
        [sys.executable, "-m", "compat_cli", "claude", "-p", "two words", "--x"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "COMPATKIT_CLAUDE_CODE": str(stand_in),
            "COMPATKIT_PORT": str(port),
            "COMPATKIT_STATE_PATH": ":memory:",
            "COMPATKIT_UPSTREAM": "emulator",
            "ANTHROPIC_API_KEY": "sk-ant-the-users-own-key",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 7, completed.stderr
    assert json.loads(completed.stdout) == {
        "argv": ["-p", "two words", "--x"],
        "with_its_token": 200,
        "with_another_key": 401,
        "api_key": None,
    }
    log = completed.stderr.split("(its log: ")[1].split(")")[0]
    assert f"stopped the proxy; its log is kept: {log}" in completed.stderr  # Claude Code failed
    Path(log).unlink()
