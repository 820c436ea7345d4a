"""Talking to the emulator the run started: readiness, reset between blocks, its records.

Operations
    EmulatorLink(server)                    an HTTP client to the emulator (trusting its CA)
    await link.ready(url) -> str | None     a real generateContent call: None once it is a 200
    await link.reset()                      POST /_emulator/reset (records, counters, buckets)
    await link.attempts() -> Upstream       the generate calls recorded since the last reset:
                                            how many, and how many carried each request tag
    emulator_config(plan) -> dict           the emulator's TOML table for a plan

The emulator is reset before every block so each block meets the same scripted faults and
full token buckets (the fault draws are seeded by request number), and its records are read
after the block: the upstream attempts a client request caused are the recorded generate
calls whose text carries its `[bench:TAG]`.
"""

from __future__ import annotations

import ssl
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from loadtests._bench._errors import BenchError
from loadtests._bench._http import HttpClient
from loadtests._bench._plan import Plan
from loadtests._bench._processes import Server
from loadtests._common import request_tags

__all__ = ["EmulatorLink", "Upstream", "emulator_config"]

READY_BODY = orjson.dumps({"contents": [{"role": "user", "parts": [{"text": "Are you ready?"}]}]})
READY_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"
_CONTROL_DEADLINE_S = 30.0


@dataclass
class Upstream:
    """What the emulator received during a block."""

    calls: int = 0
    by_tag: Counter[str] = field(default_factory=Counter)
    complete: bool = True  # False when the emulator dropped records (max_records)


def emulator_config(plan: Plan, max_records: int) -> dict[str, Any]:
    """The emulator's configuration: the plan's scenarios over a small default one."""
    scenarios = {"default": {"text_tokens": 12, "chunk_tokens": 4}, **plan.emulator.scenarios}
    return {"default_scenario": "default", "max_records": max_records, "scenarios": scenarios}


class EmulatorLink:
    def __init__(self, server: Server, api_key: str) -> None:
        context = None
        if server.ca_path is not None:
            context = ssl.create_default_context(cafile=str(server.ca_path))
        self.url = server.url
        self._client = HttpClient(server.url, ssl_context=context)
        self._headers = {"content-type": "application/json", "x-goog-api-key": api_key}

    async def ready(self, url: str) -> str | None:
        fetched = await self._client.fetch(
            READY_PATH, method="POST", headers=self._headers, body=READY_BODY, deadline_s=5.0
        )
        if fetched.error is not None:
            return fetched.error
        return None if fetched.status == 200 else f"HTTP {fetched.status}"

    async def reset(self) -> None:
        fetched = await self._client.fetch(
            "/_emulator/reset", method="POST", deadline_s=_CONTROL_DEADLINE_S
        )
        if fetched.status != 200:
            raise BenchError(f"the emulator did not reset: {fetched.error or fetched.status}")

    async def attempts(self) -> Upstream:
        fetched = await self._client.fetch("/_emulator/requests", deadline_s=_CONTROL_DEADLINE_S)
        if fetched.status != 200:
            raise BenchError(f"the emulator's records: {fetched.error or fetched.status}")
        snapshot = orjson.loads(fetched.body)
        upstream = Upstream(complete=not snapshot.get("dropped"))
        for record in snapshot["requests"]:
            if (
                ":generateContent" not in record["path"]
                and ":streamGenerateContent" not in record["path"]
            ):
                continue
            upstream.calls += 1
            for tag in set(request_tags(orjson.dumps(record.get("body")).decode())):
                upstream.by_tag[tag] += 1
        return upstream

    async def close(self) -> None:
        await self._client.close()
