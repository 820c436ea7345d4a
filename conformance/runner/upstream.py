"""The upstream side of a run: the emulator the proxy under test is pointed at, and what the runner
tells the proxy's operator to configure.

Operations:
    UpstreamSetup.create(folder, emulator_url) -> UpstreamSetup   the credentials a run uses: two
        Gemini API keys, two OAuth credential files (gemini-cli's format, access tokens expired so
        the proxy must refresh them at the emulator's token endpoint) and the OAuth client
    emulator_config(setup) -> str              the emulator's TOML: only those credentials pass
    started_emulator(folder, port=0) -> ContextManager[EmulatorLink]   `compatkit emulate` as a
        child process (granian), stopped at the end
    EmulatorLink(url): arm(label, scenario), records(since), last_seq()
    credential_id(secret) / oauth_identity(refresh_token)   how the emulator records a credential

The emulator records every request it gets (conformance.emulator.recorder) with its verdict and the
reply it sent; the runner reads them over HTTP, so an emulator started elsewhere (--emulator URL)
works the same, as long as it runs with emulator_config's credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

API_KEYS = ("conformance-gemini-key-1", "conformance-gemini-key-2")
REFRESH_TOKENS = ("conformance-refresh-token-1", "conformance-refresh-token-2")
OAUTH_CLIENT_ID = "conformance-client.apps.googleusercontent.com"
OAUTH_CLIENT_SECRET = "conformance-client-secret"
_START_TIMEOUT_S = 30.0


def credential_id(secret: str) -> str:
    """The id the emulator records an API key or bearer token under (its app.credential_id)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def oauth_identity(refresh_token: str) -> str:
    """The credential the emulator records for a token issued from `refresh_token`."""
    return "oauth:" + credential_id(refresh_token)


@dataclass(frozen=True)
class UpstreamSetup:
    """Credentials and files of one run, and where the emulator is."""

    emulator_url: str
    oauth_files: tuple[Path, ...]

    @classmethod
    def create(cls, folder: Path, emulator_url: str) -> UpstreamSetup:
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for index, refresh_token in enumerate(REFRESH_TOKENS, start=1):
            path = folder / f"oauth_creds_{index}.json"
            path.write_text(json.dumps(_oauth_file(refresh_token, emulator_url), indent=2))
            path.chmod(0o600)
            files.append(path)
        return cls(emulator_url, tuple(files))

    @property
    def token_uri(self) -> str:
        return self.emulator_url + "/token"

    def instructions(self, flavor: str) -> str:
        """What to configure in the proxy under test, for `flavor`."""
        if flavor == "gemini-api":
            return (
                f"Gemini API base URL: {self.emulator_url}  (requests go to /v1beta/models/...)\n"
                f"Gemini API keys: {', '.join(API_KEYS)}"
            )
        files = ", ".join(str(p) for p in self.oauth_files)
        return (
            f"Code Assist base URL: {self.emulator_url}  (requests go to /v1internal:...)\n"
            f"OAuth credential files (gemini-cli format, tokens expired): {files}\n"
            f"OAuth token endpoint: {self.token_uri}\n"
            f"OAuth client: id {OAUTH_CLIENT_ID}, secret {OAUTH_CLIENT_SECRET}"
        )


def _oauth_file(refresh_token: str, emulator_url: str) -> dict[str, Any]:
    return {
        "access_token": "ya29.expired-" + credential_id(refresh_token),
        "refresh_token": refresh_token,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "token_type": "Bearer",
        "expiry_date": 1_000,  # 1970: the proxy must refresh before its first call
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "token_uri": emulator_url + "/token",
    }


def emulator_config() -> str:
    """The emulator's TOML for a conformance run: only the run's credentials are accepted."""
    keys = ", ".join(f'"{k}"' for k in API_KEYS)
    tokens = ", ".join(f'"{t}"' for t in REFRESH_TOKENS)
    return (
        "# compatkit conformance: the emulator the proxy under test is graded against.\n"
        'default_scenario = "default"\n'
        "max_records = 20000\n"
        "[auth]\n"
        f"api_keys = [{keys}]\n"
        "access_tokens = []  # only tokens issued by /token\n"
        "[oauth]\n"
        f"refresh_tokens = [{tokens}]\n"
        f'clients = [{{client_id = "{OAUTH_CLIENT_ID}", client_secret = "{OAUTH_CLIENT_SECRET}"}}]\n'
        "[scenarios.default]\n"
        "text_tokens = 12\n"
        "chunk_tokens = 4\n"
    )


class EmulatorLink:
    """The runner's connection to an emulator: scripting and records."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=30)

    def close(self) -> None:
        self._http.close()

    def arm(self, label: str, scenario: Mapping[str, Any]) -> None:
        """Script every following upstream request with `scenario` (a scenario table)."""
        response = self._http.post(
            "/_emulator/script", json={"label": label, "scenario": dict(scenario)}
        )
        if response.status_code != 200:
            raise RuntimeError(f"the emulator refused the script of {label}: {response.text}")

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        """The requests the emulator got after record number `since`, oldest first."""
        response = self._http.get("/_emulator/requests", params={"since": since})
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()["requests"]
        return records

    def last_seq(self) -> int:
        records = self.records(0)
        return int(records[-1]["seq"]) if records else 0

    def wait_ready(self) -> None:
        """Return once the emulator answers its control route (a real request)."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                self._http.get("/_emulator/requests", params={"since": 1 << 40})
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator at {self.url} does not answer") from None
                time.sleep(0.05)


@contextlib.contextmanager
def started_emulator(folder: Path, port: int = 0) -> Iterator[EmulatorLink]:
    """`compatkit emulate` with emulator_config() on 127.0.0.1:`port` (0: a free one)."""
    config = folder / "emulator.toml"
    config.write_text(emulator_config())
    command = [sys.executable, "-m", "conformance.emulator.serve", "--port", str(port)]
    command += ["--config", str(config), "--server", "granian"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ)
    )
    link: EmulatorLink | None = None
    try:
        assert process.stdout is not None
        match = re.match(r"emulator listening on (\S+)", process.stdout.readline())
        if match is None:
            raise RuntimeError(f"the emulator did not start (exit status {process.poll()})")
        link = EmulatorLink(match.group(1))
        link.wait_ready()
        yield link
    finally:
        if link is not None:
            link.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
