"""Fixtures for the proxy's tests: the emulator and the proxy, both real servers on 127.0.0.1.

- `emulator`: one emulator per test module (its scenarios below), reset before each test.
- `proxy_factory(app_options=None, **config)`: start a proxy (in a background thread, on the
  server `server_name` names) in front of the emulator; every keyword replaces a field of the
  test Config, `app_options` go to create_app. Stopped at test end.
- `proxy`: the default proxy (three API keys, short retry delays, all flags off).
- `server_name`: the ASGI server of `proxy_factory`, the default one; `@on_every_server` on a
  test of the server's own behaviour runs it on each of server.config.SERVERS.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.emulator.testing import RunningEmulator, running_emulator
from server.app import create_app, services_of
from server.config import (
    DEFAULT_SERVER,
    SERVERS,
    Config,
    ModelMap,
    ModelRoute,
    RetryConfig,
    ServerName,
    UpstreamConfig,
)
from server.edge.services import Services
from server.flags import Flags
from server.hosting import ServerThread

on_every_server = pytest.mark.parametrize("server_name", SERVERS)
"""A test of what the HTTP server does (framing, HTTP/2, TLS, disconnects, shutdown), run on
every server `compatkit serve --server` offers (it overrides the `server_name` fixture)."""


def serve_argv(*args: str | Path) -> list[str | Path]:
    """The command line of a real `compatkit serve` on a free port, with `args` after it."""
    return [sys.executable, "-m", "compat_cli", "serve", "--port", "0", *args]


PROXY_KEY = "sk-proxy-test-key-0001"
ADMIN_KEY = "admin-test-key-0001"
UPSTREAM_KEYS = ("gemini-key-a", "gemini-key-b", "gemini-key-c")
FAST_RETRY = RetryConfig(
    base_delay=0.01,
    max_delay=0.05,
    deadline=20.0,
    max_attempts=4,
    v1_interval=0.01,
    capacity_cooldown=30.0,
    quota_cooldown=60.0,
)
MODELS = ModelMap(
    routes=(
        ModelRoute("claude-*haiku*", "gemini-2.5-flash"),
        ModelRoute("claude-*", "gemini-2.5-pro"),
        ModelRoute("gpt-*", "gemini-2.5-flash"),
    ),
    scarce=frozenset({"gemini-2.5-pro"}),
)

EMULATOR_SCENARIOS: dict[str, Any] = {
    "default_scenario": "default",
    "oauth": {"refresh_tokens": ["emulator-refresh-token", "emulator-refresh-token-2"]},
    "scenarios": {
        "default": {"text_tokens": 12, "chunk_tokens": 4},
        "tool_bash": {
            "tool_call": {"name": "Bash", "args": {"command": "echo hi", "description": "hi"}}
        },
        "rate_limited_first": {
            "faults": [{"kind": "rate_limit", "requests": [1, 2], "retry_delay_s": 0.02}]
        },
        "rate_limited": {"faults": [{"kind": "rate_limit", "every": 1, "retry_delay_s": 26}]},
        "capacity_first": {
            "faults": [{"kind": "capacity_429", "requests": [1], "retry_delay_s": 40}]
        },
        "capacity_first_brief": {  # a delay within what v1 still waits (FAST_RETRY)
            "faults": [{"kind": "capacity_429", "requests": [1], "retry_delay_s": 0.02}]
        },
        "capacity_503": {"faults": [{"kind": "capacity_503", "every": 1, "retry_delay_s": 40}]},
        "quota_exhausted": {  # a per-day quota: back in hours, whatever the RetryInfo says
            "faults": [{"kind": "quota_exhausted", "every": 1, "retry_delay_s": 3}]
        },
        "unavailable_first": {"faults": [{"kind": "unavailable", "requests": [1]}]},
        "internal_error": {"faults": [{"kind": "internal", "every": 1}]},
        "drop_after_2": {
            "text_tokens": 24,
            "faults": [{"kind": "drop", "every": 1, "after_chunks": 2}],
        },
        "stall": {
            "text_tokens": 12,
            "faults": [{"kind": "stall", "every": 1, "after_chunks": 1, "stall_ms": 600}],
        },
        "stall_long": {  # longer than any test waits: a release before it ends was a cancel
            "text_tokens": 12,
            "faults": [{"kind": "stall", "every": 1, "after_chunks": 1, "stall_ms": 8000}],
        },
        "malformed_function_call": {"finish_reason": "MALFORMED_FUNCTION_CALL"},
        "thinking_then_malformed": {
            "thoughts_tokens": 8,
            "finish_reason": "MALFORMED_FUNCTION_CALL",
        },
        "malformed_chunk": {
            "text_tokens": 12,
            "faults": [{"kind": "malformed_chunk", "every": 1, "after_chunks": 1}],
        },
    },
}


def scenario(name: str) -> str:
    """The marker that makes the emulator answer a request with scenario `name`."""
    return f"[scenario:{name}]"


def proxy_config(base_url: str, ca_file: Path | None = None, **changes: Any) -> Config:
    """The Config the proxy tests start from (`ca_file`: the CA of an emulator over TLS)."""
    upstream = UpstreamConfig(
        kind="gemini", api_keys=UPSTREAM_KEYS, gemini_base_url=base_url, ca_file=ca_file
    )
    config = Config(
        proxy_keys=(PROXY_KEY,),
        admin_key=ADMIN_KEY,
        ping_interval=0.1,
        upstream=upstream,
        models=MODELS,
        retry=FAST_RETRY,
        flags=Flags(),  # every track off: a test of a track turns it on by name
    )
    return dataclasses.replace(config, **changes)


class RunningProxy:
    """A proxy app served on 127.0.0.1."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.url = server.url
        self.services: Services = services_of(server.app)

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the proxy's own event loop (to read or change its state)."""
        return self.server.run_in_loop(coroutine)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EMULATOR_SCENARIOS) as running:
        yield running


@pytest.fixture
def server_name() -> ServerName:
    return DEFAULT_SERVER


@pytest.fixture
def proxy_factory(
    emulator: RunningEmulator, server_name: ServerName
) -> Iterator[Callable[..., RunningProxy]]:
    emulator.reset()
    servers: list[ServerThread] = []

    def start(app_options: dict[str, Any] | None = None, **changes: Any) -> RunningProxy:
        config = proxy_config(emulator.base_url, emulator.ca_path, **changes)
        app = create_app(config, **(app_options or {}))
        server = ServerThread(app, server=server_name).start()
        servers.append(server)
        return RunningProxy(server)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def proxy(proxy_factory: Callable[..., RunningProxy]) -> RunningProxy:
    return proxy_factory()
