"""Every exception the server defines has one root per package: a caller can catch a whole
room's failures (`except StoreError`) or the server's (`except ServerError`).

Rules checked, for every public exception class defined in a `server` module:
- it derives from `server.errors.ServerError`;
- in a subpackage, from that package's root (`<package>.errors`); `ProxyError`, the answer
  vocabulary shared by the edge and the upstream client, is the edge's root.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import server
from server.credentials.errors import CredentialError
from server.errors import ProxyError, ServerError
from server.panel.errors import PanelError
from server.state.errors import StoreError
from server.upstream.errors import UpstreamError

ROOTS: dict[str, type[ServerError]] = {
    "server.edge": ProxyError,
    "server.upstream": UpstreamError,
    "server.credentials": CredentialError,
    "server.state": StoreError,
    "server.panel": PanelError,
}


def _exception_classes() -> list[tuple[str, type[BaseException]]]:
    found = []
    for module_info in pkgutil.walk_packages(server.__path__, "server."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found.append((module.__name__, value))
    return found


EXCEPTIONS = _exception_classes()


def test_the_walk_finds_the_exceptions_of_every_room() -> None:
    packages = {module.rsplit(".", 1)[0] for module, _ in EXCEPTIONS}
    assert {"server", "server.upstream", "server.credentials", "server.state"} <= packages


@pytest.mark.parametrize(
    ("module", "exception"), EXCEPTIONS, ids=[cls.__name__ for _, cls in EXCEPTIONS]
)
def test_an_exception_derives_from_its_packages_root(
    module: str, exception: type[BaseException]
) -> None:
    assert issubclass(exception, ServerError)
    package = module.rsplit(".", 1)[0]
    if package in ROOTS:
        assert issubclass(exception, ROOTS[package])
