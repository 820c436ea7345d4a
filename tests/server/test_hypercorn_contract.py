"""The private Hypercorn API that server.hypercorn_serving relies on is still what it was.

A Hypercorn release that renames or reshapes one of them fails here, naming the attribute,
instead of silently serving with connections held for the keep-alive timeout again (issue
17.1) or not serving at all.

Rules checked:
- the installed Hypercorn is inside the pin (pyproject.toml: hypercorn>=0.18,<0.19);
- every name of HYPERCORN_PRIVATE_API is still defined by TCPServer and H11Protocol (or set
  where we read it);
- TCPServer still reads the connection in `_read_data` inside its task group, runs the
  keep-alive timer as `_idle_timeout` through `idle_task`, and its constructor and the
  serving loop's pieces keep the parameters we call them with; H11Protocol still answers an
  h11 RemoteProtocolError through `_send_error_response` (server.http1_framing's envelope).
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from typing import Any

import pytest
from hypercorn.asyncio.lifespan import Lifespan
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import AsyncioSingleTask, WorkerContext
from hypercorn.protocol.h11 import H11Protocol

from server.hypercorn_serving import HYPERCORN_PRIVATE_API

HYPERCORN = version("hypercorn")


def _where(cls: type[Any], name: str) -> str:
    return (
        f"hypercorn {HYPERCORN} changed {cls.__name__}.{name}, which "
        "server.hypercorn_serving relies on (see HYPERCORN_PRIVATE_API)"
    )


def test_the_installed_hypercorn_is_inside_the_pin() -> None:
    major, minor = (int(part) for part in HYPERCORN.split(".")[:2])
    assert (major, minor) == (0, 18), _where(TCPServer, "*")


RELIED_ON = [(cls, name) for cls, names in HYPERCORN_PRIVATE_API.items() for name in names]
SET_IN = {
    "_task_group": "run",
    "idle_task": "__init__",
    "protocol": "run",
    "connection": "__init__",
}  # instance attributes, and where


@pytest.mark.parametrize(
    ("cls", "name"), RELIED_ON, ids=[f"{cls.__name__}.{name}" for cls, name in RELIED_ON]
)
def test_every_private_name_we_rely_on_is_still_there(cls: type[Any], name: str) -> None:
    if name in SET_IN:
        source = inspect.getsource(getattr(cls, SET_IN[name]))
        assert re.search(rf"self\.{name}(: [^=]+)? = ", source), _where(cls, name)
        return
    assert callable(getattr(cls, name, None)), _where(cls, name)


CALLS = [
    # (class, method, what its source must still contain for our override to take effect)
    (TCPServer, "run", "await self._read_data()"),
    (TCPServer, "run", "self.idle_task.restart(task_group, self._idle_timeout)"),
    (TCPServer, "protocol_send", "self.idle_task.restart(self._task_group, self._idle_timeout)"),
    (TCPServer, "_idle_timeout", "self._initiate_server_close()"),
    (AsyncioSingleTask, "restart", ".cancel()"),
    (H11Protocol, "_handle_events", "self.connection.next_event()"),
    (H11Protocol, "_handle_events", "await self._send_error_response(error.error_status_hint)"),
]


@pytest.mark.parametrize(
    ("cls", "name", "needle"),
    CALLS,
    ids=[f"{c.__name__}.{n}-{i}" for i, (c, n, _) in enumerate(CALLS)],
)
def test_hypercorn_still_does_what_our_overrides_assume(
    cls: type[Any], name: str, needle: str
) -> None:
    assert needle in inspect.getsource(getattr(cls, name)), (
        _where(cls, name) + f": no longer contains {needle!r}"
    )


PARAMETERS = {
    (TCPServer, "__init__"): [
        "self",
        "app",
        "loop",
        "config",
        "context",
        "state",
        "reader",
        "writer",
    ],
    (Lifespan, "__init__"): ["self", "app", "config", "loop", "lifespan_state"],
    (WorkerContext, "__init__"): ["self", "max_requests"],
    (AsyncioSingleTask, "restart"): ["self", "task_group", "action"],
}


@pytest.mark.parametrize(
    ("method", "expected"),
    list(PARAMETERS.items()),
    ids=[f"{cls.__name__}.{name}" for cls, name in PARAMETERS],
)
def test_what_we_call_keeps_its_parameters(
    method: tuple[type[Any], str], expected: list[str]
) -> None:
    cls, name = method
    parameters = list(inspect.signature(getattr(cls, name)).parameters)
    assert parameters == expected, _where(cls, name) + f": parameters now {parameters}"
