"""`locust -f loadtests` must not collect the runner or the shared helpers as locustfiles.

Locust's collector for `locust -f DIR` (`locust.util.directory.get_abspaths_in`, asked here in
a subprocess, because importing locust monkey-patches the whole process for gevent) walks
every folder, `_`-prefixed ones included, and skips only *files* whose name starts with `_`.
So a `_`-prefixed subpackage is not enough: every module of `loadtests/_common/` and
`loadtests/_bench/` is itself `_`-named (h11's private-module style), and only the public
locustfiles of `loadtests/` are collected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import loadtests

LOADTESTS = Path(loadtests.__file__).parent


def _collected(folder: Path) -> list[str]:
    """The files `locust -f folder` would load, relative to it."""
    script = (
        "import json, sys\n"
        "from locust.util.directory import get_abspaths_in\n"
        "print(json.dumps(get_abspaths_in(sys.argv[1], extension='.py')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return sorted(Path(p).relative_to(folder).as_posix() for p in json.loads(out))


def test_locust_walks_into_underscore_folders_and_skips_only_underscore_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "_helpers").mkdir()
    (tmp_path / "_helpers" / "shared.py").write_text("")
    (tmp_path / "_helpers" / "_private.py").write_text("")
    (tmp_path / "users.py").write_text("")
    assert _collected(tmp_path) == ["_helpers/shared.py", "users.py"]


def test_no_module_of_the_runner_or_the_shared_helpers_is_collected() -> None:
    assert list((LOADTESTS / "_common").glob("_*.py"))  # the shared helpers exist, all `_`-named
    collected = _collected(LOADTESTS)
    assert [path for path in collected if path.startswith("_")] == []
