"""Grade LiteLLM's proxy, a gateway that is not ours, with `compatkit conformance`.

Operations:
    litellm_config(emulator_url) -> str     LiteLLM's config.yaml: each model the cases ask for
                                            routed to the emulator as a Gemini API model, over
                                            both of the run's API keys (two deployments each)
    running_litellm(binary, config, folder) -> ContextManager[str]   `litellm --config` as a
                                            process on a free port, ready once GET /v1/models
                                            answers 200 with the master key; stopped after,
                                            with its process group
    main()    `python -m tests.conformance.litellm_target --litellm PATH [--out DIR] [--cases ...]`

LiteLLM (the `litellm[proxy]` package) is not a dependency of compatkit: it is installed in a
venv of its own (`python -m venv V && V/bin/pip install 'litellm[proxy]'`) and found by the
path of its `litellm` command. The emulator is started by the runner on a port chosen here, so
the config can name it before LiteLLM starts. docs/conformance.md#another-proxy-litellm records
what it found.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from conformance.emulator.testing import stop_process_group
from conformance.runner.cli import main as conformance_main
from conformance.runner.upstream import API_KEYS

MASTER_KEY = "sk-litellm-conformance"
# The client models the cases send, and the emulator's model each is routed to.
MODELS = {
    "claude-sonnet-4-5": "gemini-2.5-pro",
    "gpt-4o-mini": "gemini-2.5-flash",
    "gemini-3-pro-preview": "gemini-3-pro-preview",
    "gemini-0-nonexistent": "gemini-0-nonexistent",
}
_START_TIMEOUT_S = 180.0  # LiteLLM imports a great deal before it listens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def litellm_config(emulator_url: str) -> str:
    """LiteLLM's proxy config: every model over both keys, no cooldowns, unknown params dropped."""
    lines = ["model_list:"]
    for client_model, gemini_model in MODELS.items():
        for key in API_KEYS:
            lines += [
                f"  - model_name: {client_model}",
                "    litellm_params:",
                f"      model: gemini/{gemini_model}",
                f"      api_key: {key}",
                f"      api_base: {emulator_url}/v1beta",
            ]
    lines += [
        "general_settings:",
        f"  master_key: {MASTER_KEY}",
        "litellm_settings:",
        "  drop_params: true",
        "router_settings:",
        "  disable_cooldowns: true",
    ]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def running_litellm(binary: str, config: Path, folder: Path) -> Iterator[str]:
    """LiteLLM's proxy as a real process; its base URL once it answers a real request."""
    port = free_port()
    log = (folder / "litellm.log").open("wb")
    environment = dict(os.environ, LITELLM_LOG="ERROR", NO_DOCS="True")
    process = subprocess.Popen(
        [binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
        text=True,
        start_new_session=True,  # stopped as a group: no worker of it is left behind
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, process)
        yield url
    finally:
        stop_process_group(process, 15)
        log.close()


def _wait_until_answering(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"litellm exited with status {process.returncode} (see its log)")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/v1/models", headers=headers, timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"litellm did not answer within {_START_TIMEOUT_S:.0f} s")


def grade_litellm(binary: str, out: Path, cases: str | None = None) -> int:
    """Run `compatkit conformance` against LiteLLM; its exit status (0: every MUST passed)."""
    out.mkdir(parents=True, exist_ok=True)
    emulator_port = free_port()
    config = out / "litellm.yaml"
    config.write_text(litellm_config(f"http://127.0.0.1:{emulator_port}"))
    with running_litellm(binary, config, out) as url:
        argv = ["--proxy", url, "--proxy-key", MASTER_KEY, "--upstream-flavor", "gemini-api"]
        argv += ["--emulator-port", str(emulator_port), "--out", str(out)]
        argv += ["--cases", cases] if cases else []
        return conformance_main(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.litellm_target")
    parser.add_argument("--litellm", required=True, help="the `litellm` command of its own venv")
    parser.add_argument("--out", default="conformance-report/litellm", help="report folder")
    parser.add_argument("--cases", help="case ids or prefixes, as compatkit conformance takes")
    args = parser.parse_args(argv)
    return grade_litellm(args.litellm, Path(args.out), args.cases)


if __name__ == "__main__":
    sys.exit(main())
