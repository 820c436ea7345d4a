"""The pieces of granian that server.granian_serving builds its in-process server from are
still what they were.

A granian release that renames or reshapes one of them fails here, naming it, instead of
`compatkit serve --server granian` failing at start or serving wrongly.

Rules checked:
- the installed granian is inside the pin (pyproject.toml: granian>=2.8,<2.9);
- every name of GRANIAN_PRIVATE_API is still defined where we import it from;
- the embedded server (granian.server.embed) still builds its ASGI worker the way
  serve_granian does: ASGIWorker with the socket pair, no IPC, then `serve_*(scheduler, loop,
  signal)` with an asyncio-task scheduler, and the ASGI callback wrapped by
  `_future_watcher_wrapper(_callback_wrapper(app, scope_opts, state, access_log_fmt))`;
- SocketHolder takes (fd, uds, backlog), and a served socket answers.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import version

import httpx
import pytest
from granian.server import embed

from server.granian_serving import GRANIAN_PRIVATE_API
from server.hosting import ServerThread

GRANIAN = version("granian")


def test_the_installed_granian_is_inside_the_pin() -> None:
    major, minor = (int(part) for part in GRANIAN.split(".")[:2])
    assert (major, minor) == (2, 8), f"granian {GRANIAN}: check GRANIAN_PRIVATE_API, then the pin"


@pytest.mark.parametrize(
    ("module", "name"),
    [(module, name) for module, names in GRANIAN_PRIVATE_API.items() for name in names],
)
def test_every_private_name_is_still_defined(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), (
        f"granian {GRANIAN} no longer defines {module}.{name} (see GRANIAN_PRIVATE_API)"
    )


def test_the_embedded_server_still_builds_its_worker_as_serve_granian_does() -> None:
    source = inspect.getsource(embed.Server._spawn_asgi_worker)
    for piece in (
        "_future_watcher_wrapper(_asgi_call_wrap(callback, scope_opts, {}, log_access_fmt))",
        "ASGIWorker(",
        "worker_id,\n            sock,\n            None,",
        "*ssl_ctx,",
        "_new_cbscheduler(loop, wcallback, impl_asyncio=task_impl == TaskImpl.asyncio)",
        "serve(scheduler, loop, shutdown_event)",
    ):
        assert piece in source, f"granian {GRANIAN}: the embedded worker changed near {piece!r}"


async def _hello(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] != "http":
        return  # no lifespan
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"hello"})  # type: ignore[operator]


def test_a_socket_handed_to_granian_is_served_over_http1_and_h2c() -> None:
    with ServerThread(_hello, server="granian", probe_path="/") as server:
        for http2 in (False, True):
            with httpx.Client(http1=not http2, http2=http2) as client:
                assert client.get(server.url).text == "hello"
