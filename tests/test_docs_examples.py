"""The docs' runnable examples run as printed (only the ports changed, to free ones).

- docs/server.md "Code Assist against the emulator": the shell session, pasted into bash at a
  root holding the repository's .venv, prints what the page says: an answer, the emulator's
  record of a refused token, a refresh, onboarding and the generate call, the new token in the
  file, then a refused refresh taking the credential out of rotation.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_MD = ROOT / "docs" / "server.md"


def section(page: Path, heading: str) -> str:
    """The text of a `### heading` section, up to the next heading of level <= 3 (a `#` line
    inside a code fence is no heading)."""
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(f"### {heading}\n")
    in_fence = False
    for end in range(start + 1, len(lines)):
        if lines[end].startswith("```"):
            in_fence = not in_fence
        elif not in_fence and re.match(r"#{1,3} ", lines[end]):
            break
    else:
        end = len(lines)
    return "".join(lines[start:end])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_code_assist_emulator_session_prints_what_the_page_says(tmp_path: Path) -> None:
    text = section(SERVER_MD, "Code Assist against the emulator")
    script = "\n".join(re.findall(r"```bash\n(.*?)```", text, re.S))
    proxy_port, emulator_port = free_port(), free_port()
    script = script.replace("8089", str(emulator_port)).replace("8080", str(proxy_port))
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    session = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its background servers are stopped with it, whatever happens
    )
    try:
        out, err = session.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session.pid, signal.SIGKILL)
    assert session.returncode == 0 and out, err[-3000:]
    lines = out.splitlines()
    assert lines[0] == f"emulator listening on http://127.0.0.1:{emulator_port} (granian)"
    assert '"type":"message"' in lines[1] and '"stop_reason":"end_turn"' in lines[1]
    assert lines[2:8] == [
        "POST /v1internal:loadCodeAssist 401 unauthenticated",
        "POST /token 200 ok",
        "POST /v1internal:loadCodeAssist 200 ok",
        "POST /v1internal:onboardUser 200 ok",
        "GET /v1internal/operations/onboard-1 200 ok",
        "POST /v1internal:generateContent 200 ok",
    ]
    assert lines[8].strip().startswith('"access_token": "ya29.emulator-')
    assert lines[9] == "{}"  # the revocation
    assert "answered 400 (invalid_grant)" in lines[10] and '"type":"error"' in lines[10]
    assert "every upstream credential is disabled" in lines[11]
    printed = re.search(r"```\n(emulator listening.*?)```", text, re.S)
    assert printed is not None and printed.group(1).splitlines()[2:8] == lines[2:8]
