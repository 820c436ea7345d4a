"""`compatkit serve` as an operator meets its configuration (issues 16.3, 16.4, 17.7, 17.9).

Rules checked on real processes:
- a configuration that would fail open, conflicts, or holds an absurd number stops the
  command before it listens: exit status 2 and one line on stderr naming the problem;
- the demo (the emulator in-process) is an explicit choice, marked on every answer;
- at start the log says the mode, the credentials and their states (a credential disabled
  before a restart is named with its reason), the flags and where each value comes from,
  the state store, and the settings that are unused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import serve_argv

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
UPSTREAM = {"COMPATKIT_API_KEYS": "k1,k2", "COMPATKIT_GEMINI_BASE_URL": "http://127.0.0.1:9"}
KEYED = {**UPSTREAM, "COMPATKIT_PROXY_KEYS": "pk"}


def refusal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """The one stderr line of a `compatkit serve` that must refuse to start."""
    finished = subprocess.run(
        serve_argv(*args),
        cwd=cwd,
        env={**CLEAN_ENV, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in finished.stderr, finished.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        # 17.7: nothing that silently opens the proxy or fakes the upstream
        ([], {}, "no upstream configured: set upstream.api_keys"),
        ([], {"COMPATKIT_API_KEYS": ""}, "COMPATKIT_API_KEYS is empty"),
        ([], {**KEYED, "COMPATKIT_PROXY_KEYS": ""}, "COMPATKIT_PROXY_KEYS is empty"),
        ([], {**KEYED, "COMPATKIT_PROXY_KEYS": " , "}, "COMPATKIT_PROXY_KEYS is empty"),
        ([], {**KEYED, "COMPATKIT_API_KEYS": "a,,b"}, "COMPATKIT_API_KEYS has an empty item"),
        ([], UPSTREAM, "no proxy keys configured: set server.proxy_keys"),
        (
            [],
            {**UPSTREAM, "COMPATKIT_PROXY_KEY": "pk"},
            "unknown environment variable COMPATKIT_PROXY_KEY (did you mean COMPATKIT_PROXY_KEYS?)",
        ),
        (
            [],
            {**KEYED, "COMPATKIT_RETRY_V1_INTERVALL": "1"},
            "did you mean COMPATKIT_RETRY_V1_INTERVAL?",
        ),
        ([], {**KEYED, "COMPATKIT_ALLOW_ANY_KEY": "on"}, "conflict: keys, or any client"),
        (["--demo"], {"COMPATKIT_API_KEYS": "k"}, "the demo emulator uses no upstream"),
        (["--demo"], {"COMPATKIT_UPSTREAM": "gemini"}, "--demo conflicts with"),
        # 16.3: conflicting settings
        (
            [],
            {**KEYED, "COMPATKIT_OAUTH_FILES": "/nonexistent.json"},
            "COMPATKIT_API_KEYS and COMPATKIT_OAUTH_FILES conflict",
        ),
        # 17.9: every number in its range, in ASCII digits
        ([], {**KEYED, "COMPATKIT_PING_INTERVAL": "1e-6"}, "between 0.5 and 300, got 1e-06"),
        ([], {**KEYED, "COMPATKIT_RETRY_V1_INTERVAL": "1e-9"}, "between 0.01 and 60"),
        ([], {**KEYED, "COMPATKIT_RETRY_MAX_ATTEMPTS": "1000"}, "between 1 and 20, got 1000"),
        ([], {**KEYED, "COMPATKIT_PORT": "１２"}, "COMPATKIT_PORT must be an integer in ASCII"),
        (["--port", "１２"], KEYED, "--port must be an integer in ASCII digits"),
        ([], {**KEYED, "COMPATKIT_MAX_BODY_BYTES": "10"}, "between 1024 and 1073741824"),
        ([], {**KEYED, "COMPATKIT_RETRY_DEADLINE": "nan"}, "must be a number, got 'nan'"),
        ([], {**KEYED, "COMPATKIT_ONBOARD_TIMEOUT": "inf"}, "must be a number, got 'inf'"),
    ],
)
def test_a_configuration_that_would_fail_open_or_is_absurd_is_refused_in_one_line(
    args: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    line = refusal(args, env, tmp_path)
    assert line.startswith("compatkit serve: ") and expected in line


def test_a_secret_in_a_refused_list_is_not_echoed(tmp_path: Path) -> None:
    line = refusal([], {**KEYED, "COMPATKIT_PROXY_KEYS": "s3cret-key,"}, tmp_path)
    assert "COMPATKIT_PROXY_KEYS has an empty item" in line and "s3cret" not in line


@contextmanager
def serving(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[tuple[str, list[str]]]:
    """A started `compatkit serve`: its URL and the log messages up to "listening on"."""
    process = subprocess.Popen(
        serve_argv(*args),
        cwd=cwd,
        env={**CLEAN_ENV, "PYTHONPATH": str(ROOT), **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    messages: list[str] = []
    try:
        for line in process.stderr:
            if not line.startswith("{"):
                raise AssertionError(f"not a log line: {line}")
            message = str(json.loads(line)["message"])
            messages.append(message)
            if "listening on" in message:
                yield message.rsplit(" ", 1)[1], messages
                break
        else:
            raise AssertionError("serve ended before listening: " + "\n".join(messages))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def test_the_demo_is_chosen_marked_and_keeps_its_state_in_a_temporary_file(
    tmp_path: Path,
) -> None:
    with serving(["--demo"], {}, tmp_path) as (url, messages):
        ready = httpx.get(url + "/readyz")
        assert ready.json()["mode"] == "demo"
        assert ready.headers["x-compatkit-upstream"] == "emulator"
    assert "mode: demo; upstream: emulator; clients: any key (demo)" in messages
    assert "credentials: 3 (3 ready)" in messages  # one scripted 429 cools one of three
    [flags] = [m for m in messages if m.startswith("flags: ")]  # the shipped defaults
    assert "ff_http2_pool_tuning=on (default)" in flags
    assert "ff_retry_policy_v2=off (default)" in flags
    [state] = [m for m in messages if m.startswith("state: ")]
    assert "compatkit-demo-" in state and not Path(state.split()[-1]).exists()
    assert not list(tmp_path.iterdir())  # no state file left in the working directory


def test_the_demo_keeps_a_configured_state_path(tmp_path: Path) -> None:
    env = {"COMPATKIT_STATE_PATH": str(tmp_path / "demo.sqlite3")}
    with serving(["--demo"], env, tmp_path) as (_, messages):
        pass
    assert f"state: SQLite file {tmp_path / 'demo.sqlite3'}" in messages


def test_the_start_log_names_credentials_flags_their_sources_state_and_unused_settings(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.sqlite3"
    env = {
        **KEYED,
        "COMPATKIT_ADMIN_KEY": "admin-key-123",
        "COMPATKIT_STATE_PATH": str(state),
        "COMPATKIT_FF_RETRY_POLICY_V2": "on",
        "COMPATKIT_PROJECT": "my-project",
    }
    config = tmp_path / "compatkit.toml"
    config.write_text("[flags]\nff_http2_pool_tuning = true\n")
    with serving(["--config", str(config)], env, tmp_path) as (url, _):
        admin = {"authorization": "Bearer admin-key-123"}
        [first, _] = httpx.get(url + "/admin/credentials", headers=admin).json()["data"]
        disabled = httpx.post(
            f"{url}/admin/credentials/{first['id']}/disable",
            headers=admin,
            json={"reason": "quota gone"},
        )
        assert disabled.status_code == 200
        flag = httpx.put(
            url + "/admin/flags/ff_converter_fast_path", headers=admin, json={"value": True}
        )
        assert flag.status_code == 200, flag.text
    with serving(["--config", str(config)], env, tmp_path) as (_, messages):
        pass
    assert "mode: upstream; upstream: gemini; clients: proxy keys" in messages
    assert "credentials: 2 (1 disabled, 1 ready)" in messages
    assert f"credential {first['id']} is disabled: quota gone" in messages
    [flags] = [m for m in messages if m.startswith("flags: ")]
    assert "ff_retry_policy_v2=on (COMPATKIT_FF_RETRY_POLICY_V2)" in flags
    assert f"ff_http2_pool_tuning=on ({config})" in flags
    assert "ff_converter_fast_path=on (stored by the admin API)" in flags
    assert "ff_preview_credential_scheduler_v2=off (default)" in flags
    assert f"state: SQLite file {state}" in messages
    assert (
        "configuration: COMPATKIT_PROJECT is set but unused with upstream kind 'gemini'" in messages
    )
