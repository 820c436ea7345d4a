"""`compatkit claude [ARGS...]`: Claude Code pointed at the proxy, in one command.

Operations
    launch(argv, *, env=os.environ) -> int
                    Claude Code's exit status (128 + N if a signal N ended it); 2 and one line
                    on stderr when Claude Code is missing, the configuration is bad, or the
                    proxy it starts never answers
    find_claude_code(env, tools_dir) -> Path
                    $COMPATKIT_CLAUDE_CODE, else the copy scripts/install.sh puts under .tools/,
                    else `claude` on PATH; LaunchError if none
    settle_onboarding(env) -> Path | None
                    marks Claude Code's first-run onboarding done in its global config file
                    (~/.claude.json), keeping every other key; the file it changed, or None
    claude_code_env(env, base_url, token) -> dict
                    the environment Claude Code runs with: the proxy's URL and a key it accepts

Plan
    Read the proxy's configuration as `compatkit serve` would ($COMPATKIT_CONFIG and the
    COMPATKIT_* variables) for its address and client keys. If a proxy already answers
    `GET /healthz` there, use it (and say so, with /readyz's problems if it has any); otherwise
    start `compatkit serve` on that address as a child process in its own session, its log in
    a temporary file, and wait until it answers `GET /healthz` (or exits: its last log line is
    the reason); with no client key configured, it accepts only a key made for the session.
    A proxy is started only for a configuration with an upstream, or the demo chosen
    (COMPATKIT_UPSTREAM=emulator): never the emulator's made-up answers by default. Mark the onboarding done (with it undone, interactive Claude Code first runs a
    login flow that tries Anthropic's servers), run Claude Code with ARGS unchanged, and stop
    the proxy it started (SIGTERM to its process group, SIGKILL after STOP_TIMEOUT_S) once
    Claude Code exits. Ctrl-C belongs to Claude Code while it runs: the launcher ignores SIGINT
    and forwards SIGTERM and SIGHUP to it.

    The key goes to Claude Code as ANTHROPIC_AUTH_TOKEN (sent as `Authorization: Bearer`, which
    the proxy accepts): an ANTHROPIC_API_KEY would make interactive Claude Code ask whether to
    use it. Variables that would send Claude Code elsewhere (Bedrock, Vertex, Foundry) or with
    other credentials are removed from its environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

PROG = "compatkit claude"
TOOLS_DIR = Path(__file__).resolve().parent / ".tools"
START_TIMEOUT_S = 60.0  # the proxy's start-up, emulator included, takes about a second
STOP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 2.0
ANY_KEY = "compatkit-local"  # sent to a running proxy with no client keys configured
# Removed from Claude Code's environment: they would send it elsewhere or with other credentials.
DROPPED_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
)
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class LaunchError(Exception):
    """Why `compatkit claude` cannot go on (the message is the one line it prints)."""


def launch(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Run Claude Code with `argv` against the proxy (reused or started); its exit status."""
    env = os.environ if env is None else env
    try:
        claude = find_claude_code(env, TOOLS_DIR)
        host, port, key = _proxy_address(env)
        with _proxy(host, port, key, env) as proxy:
            changed = settle_onboarding(env)
            if changed is not None:
                _say(f"marked Claude Code's onboarding done in {changed}")
            child_env = claude_code_env(env, proxy.base_url, proxy.token)
            status = _run_claude_code(claude, argv, child_env)
            proxy.keep_log = status != 0
            return status
    except LaunchError as exc:
        _say(str(exc))
        return 2
    except KeyboardInterrupt:  # Ctrl-C before Claude Code ran: the proxy is already stopped
        return 128 + signal.SIGINT


def _say(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


# --- Claude Code ------------------------------------------------------------------------------


def find_claude_code(env: Mapping[str, str], tools_dir: Path) -> Path:
    """The Claude Code executable to run (see the module's Operations)."""
    chosen = env.get("COMPATKIT_CLAUDE_CODE")
    if chosen:
        path = Path(chosen).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LaunchError(f"COMPATKIT_CLAUDE_CODE={chosen} is not an executable file")
        return path
    installed = tools_dir / "node_modules" / ".bin" / "claude"
    if installed.is_file() and os.access(installed, os.X_OK):
        return installed
    on_path = shutil.which("claude", path=env.get("PATH"))
    if on_path is not None:
        return Path(on_path)
    raise LaunchError(
        f"Claude Code is not installed (not in {installed.parent} nor on PATH): run "
        "scripts/install.sh, or npm install -g @anthropic-ai/claude-code"
    )


def claude_code_env(env: Mapping[str, str], base_url: str, token: str) -> dict[str, str]:
    """`env` with Claude Code pointed at `base_url`, authenticating with `token`."""
    child = {k: v for k, v in env.items() if k not in DROPPED_VARIABLES}
    child["ANTHROPIC_BASE_URL"] = base_url
    child["ANTHROPIC_AUTH_TOKEN"] = token
    return child


def claude_config_path(env: Mapping[str, str]) -> Path:
    """Claude Code's global config file, found as Claude Code finds it (a legacy
    `.config.json` in its config dir wins; else `.claude.json` in $CLAUDE_CONFIG_DIR or HOME)."""
    home = Path(env.get("HOME") or Path.home())
    config_dir = env.get("CLAUDE_CONFIG_DIR")
    legacy = Path(config_dir or home / ".claude") / ".config.json"
    if legacy.is_file():
        return legacy
    return Path(config_dir or home) / ".claude.json"


def settle_onboarding(env: Mapping[str, str]) -> Path | None:
    """Set `hasCompletedOnboarding` in Claude Code's config file, keeping the rest of it.

    None when it was already set, or when the file is not a JSON object or cannot be written
    (then left alone, with a warning: Claude Code would run its onboarding)."""
    path = claude_config_path(env)
    settings: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            _say(f"warning: left {path} alone, it is not readable JSON ({exc})")
            return None
        if not isinstance(loaded, dict):
            _say(f"warning: left {path} alone, it is not a JSON object")
            return None
        settings = loaded
    if settings.get("hasCompletedOnboarding") is True:
        return None
    settings["hasCompletedOnboarding"] = True
    try:
        _write_json(path, settings)
    except OSError as exc:
        _say(f"warning: could not write {path} ({exc.strerror or exc})")
        return None
    return path


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Replace `path` at once (a temporary file renamed over it), keeping its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2)
            f.write("\n")
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _run_claude_code(claude: Path, argv: Sequence[str], env: dict[str, str]) -> int:
    """Run Claude Code in the foreground; its exit status (128 + N for a signal N)."""
    try:
        process = subprocess.Popen([str(claude), *argv], env=env)
    except OSError as exc:
        raise LaunchError(f"cannot run Claude Code at {claude}: {exc.strerror or exc}") from None

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),  # the terminal sends it
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        status = process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


# --- the proxy --------------------------------------------------------------------------------


def _proxy_address(env: Mapping[str, str]) -> tuple[str, int, str | None]:
    """(host to connect to, port, first client key if any) from the proxy's configuration."""
    from server.config import ConfigError, load_config

    try:
        config = load_config(env=env)
    except ConfigError as exc:
        raise LaunchError(str(exc)) from None
    host = _WILDCARD_HOSTS.get(config.host, config.host)
    port = config.port or _free_port(host)
    return host, port, config.proxy_keys[0] if config.proxy_keys else None


def _free_port(host: str) -> int:
    """A port free now on `host` (configured port 0: the proxy is started on this one)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(slots=True)
class _Proxy:
    """The proxy Claude Code talks to, the key it accepts; `log` is set when started here."""

    base_url: str
    token: str
    log: Path | None = None
    keep_log: bool = False  # kept anyway if the proxy did not stop cleanly


@contextlib.contextmanager
def _proxy(host: str, port: int, key: str | None, env: Mapping[str, str]) -> Iterator[_Proxy]:
    """A proxy answering on host:port: the running one, or one started here (stopped on exit,
    its log removed unless `keep_log` was set or it did not stop cleanly). One started here
    with no client key configured accepts one made for the session, which only Claude Code
    gets."""
    base_url = _url(host, port)
    if _answers(base_url):
        problems = _readiness_problems(base_url)
        note = f" (not ready: {problems})" if problems else ""
        _say(f"using the proxy already answering at {base_url}{note}")
        yield _Proxy(base_url, key or ANY_KEY)
        return
    _check_upstream_chosen(env)
    serve_env = dict(env)
    if key is None:
        key = serve_env["COMPATKIT_PROXY_KEYS"] = "compatkit-session-" + secrets.token_urlsafe(24)
    log_fd, log_name = tempfile.mkstemp(prefix="compatkit-claude-proxy-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(log_fd, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "compat_cli", "serve", "--host", host, "--port", str(port)],
            env=serve_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal is for Claude Code, not the proxy
        )
    proxy = _Proxy(base_url, key, log_path)
    try:
        _wait_until_answering(base_url, process, log_path)  # LaunchError names the log
        _say(f"started the proxy at {base_url} (its log: {log_path})")
        yield proxy
    except BaseException:
        _stop(process)
        raise
    if not _stop(process) or proxy.keep_log:
        _say(f"stopped the proxy; its log is kept: {log_path}")
    else:
        log_path.unlink(missing_ok=True)


def _check_upstream_chosen(env: Mapping[str, str]) -> None:
    """LaunchError unless the configuration names an upstream or chooses the demo."""
    from server.config import load_config

    config = load_config(env=env)  # already read once: a bad value was reported then
    if config.upstream is None and not config.demo:
        raise LaunchError(
            "no upstream configured: set COMPATKIT_API_KEYS or COMPATKIT_OAUTH_FILES (or a "
            "file in COMPATKIT_CONFIG), or COMPATKIT_UPSTREAM=emulator to try Claude Code "
            "against the built-in emulator (made-up answers)"
        )


def _answers(base_url: str) -> bool:
    """Whether a compatkit proxy answers `GET /healthz` at `base_url` (a real request)."""
    status, body = _get(base_url + "/healthz")
    return status == 200 and isinstance(body, dict) and body.get("status") == "ok"


def _readiness_problems(base_url: str) -> str:
    """What `GET /readyz` says is wrong, or "" when it is ready."""
    status, body = _get(base_url + "/readyz")
    if status == 200:
        return ""
    problems = body.get("problems") if isinstance(body, dict) else None
    if isinstance(problems, list) and problems:
        return "; ".join(str(p) for p in problems)
    return f"GET /readyz answered {status}"


def _get(url: str) -> tuple[int, Any]:
    """(status, JSON body or None) of a GET; (0, None) if nothing answered over HTTP."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
            return response.status, _json_or_none(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json_or_none(exc.read())
    except (OSError, ValueError):  # refused, reset, timed out, not HTTP
        return 0, None


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _wait_until_answering(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the started proxy answers; LaunchError if it exits or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers(base_url):
        if process.poll() is not None:
            raise LaunchError(f"the proxy did not start: {_last_line(log)} (its log: {log})")
        if time.monotonic() > deadline:
            raise LaunchError(
                f"the proxy started at {base_url} did not answer GET /healthz within "
                f"{START_TIMEOUT_S:.0f} s (its log: {log})"
            )
        time.sleep(0.1)


def _last_line(log: Path) -> str:
    """The last line the proxy wrote (its JSON log's message, when it is a JSON log line)."""
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    if not lines:
        return "it exited without a word"
    record = _json_or_none(lines[-1].encode())
    message = record.get("message") if isinstance(record, dict) else None
    return message if isinstance(message, str) else lines[-1]


def _stop(process: subprocess.Popen[bytes]) -> bool:
    """Stop the started proxy and everything it started; whether it exited of its own accord
    within STOP_TIMEOUT_S of a SIGTERM (with status 0, or already gone)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return False
    return process.returncode in (0, -signal.SIGTERM)
