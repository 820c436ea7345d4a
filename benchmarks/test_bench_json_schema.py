"""Benchmarks: compat.dumps / loads against the stdlib, and clean_schema per tool.

Run: .venv/bin/pytest benchmarks/test_bench_json_schema.py --benchmark-enable --benchmark-only
Baselines run in the same session (same group) so the ratios compare like with like.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest

from compat import clean_schema, dumps, loads

pytestmark = pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")


def _agent_request(turns: int = 60) -> dict[str, Any]:
    """An Anthropic Messages request shaped like a Claude Code turn (~75 KB as JSON)."""
    messages: list[dict[str, Any]] = []
    for turn in range(turns):
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{turn:04d}",
                        "content": f"line {turn}: " + "output of the command, é漢😀 " * 20,
                    }
                ],
            }
        )
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look at the next file. " * 8},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{turn + 1:04d}",
                        "name": "Bash",
                        "input": {"command": f"cat src/module_{turn}.py", "timeout": 120000},
                    },
                ],
            }
        )
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "stream": True,
        "system": [{"type": "text", "text": "You are Claude Code. " * 40}],
        "messages": messages,
        "tools": [copy.deepcopy(TOOL_SCHEMA) for _ in range(4)],
    }


TOOL_SCHEMA: dict[str, Any] = {
    "name": "MultiEdit",
    "description": "Edit a file",
    "input_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "Absolute path"},
            "edits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "old_string": {"type": "string"},
                        "new_string": {"type": "string"},
                        "replace_all": {"type": "boolean", "default": False},
                    },
                    "required": ["old_string", "new_string"],
                    "additionalProperties": False,
                },
                "minItems": 1,
            },
            "mode": {"anyOf": [{"const": "fast"}, {"const": "careful"}]},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600000},
            "cursor": {"type": ["string", "null"], "format": "uri"},
            "title": {"type": "string"},
        },
        "required": ["file_path", "edits"],
        "additionalProperties": False,
    },
}

PAYLOAD = _agent_request()
PAYLOAD_WITH_NULL = {**PAYLOAD, "stop_sequences": None}
PAYLOAD_WITH_SURROGATE = copy.deepcopy(PAYLOAD)
PAYLOAD_WITH_SURROGATE["messages"][-1]["content"][0]["text"] += "cut emoji \ud83d"
ENCODED = dumps(PAYLOAD)
ENCODED_WITH_ESCAPE = ENCODED.replace(b"Let me", b"Let \\ud83d me", 1)


def _stdlib_dumps(value: object) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def test_payload_is_about_75_kb() -> None:
    assert 60_000 <= len(ENCODED) <= 90_000


@pytest.mark.benchmark(group="dumps 75 KB")
def test_bench_dumps_fast_path(benchmark: Any) -> None:
    assert benchmark(dumps, PAYLOAD) == ENCODED


@pytest.mark.benchmark(group="dumps 75 KB")
def test_bench_dumps_raw_orjson_floor(benchmark: Any) -> None:
    assert benchmark(orjson.dumps, PAYLOAD) == ENCODED


@pytest.mark.benchmark(group="dumps 75 KB")
def test_bench_dumps_stdlib_baseline(benchmark: Any) -> None:
    assert json.loads(benchmark(_stdlib_dumps, PAYLOAD)) == PAYLOAD


@pytest.mark.benchmark(group="dumps 75 KB")
def test_bench_dumps_with_null_runs_the_nan_check(benchmark: Any) -> None:
    assert benchmark(dumps, PAYLOAD_WITH_NULL).endswith(b'"stop_sequences":null}')


@pytest.mark.benchmark(group="dumps 75 KB")
def test_bench_dumps_lone_surrogate_repair_path(benchmark: Any) -> None:
    assert b"\xef\xbf\xbd" in benchmark(dumps, PAYLOAD_WITH_SURROGATE)


@pytest.mark.benchmark(group="loads 75 KB")
def test_bench_loads_fast_path(benchmark: Any) -> None:
    assert benchmark(loads, ENCODED) == PAYLOAD


@pytest.mark.benchmark(group="loads 75 KB")
def test_bench_loads_stdlib_baseline(benchmark: Any) -> None:
    assert benchmark(json.loads, ENCODED) == PAYLOAD


@pytest.mark.benchmark(group="loads 75 KB")
def test_bench_loads_surrogate_escape_repair_path(benchmark: Any) -> None:
    assert benchmark(loads, ENCODED_WITH_ESCAPE) != PAYLOAD


@pytest.mark.benchmark(group="clean_schema")
def test_bench_clean_schema_claude_code_tool(benchmark: Any) -> None:
    cleaned = benchmark(clean_schema, TOOL_SCHEMA["input_schema"])
    assert cleaned["properties"]["mode"] == {"type": "STRING", "enum": ["fast", "careful"]}


@pytest.mark.benchmark(group="clean_schema")
def test_bench_clean_schema_json_schema_mode(benchmark: Any) -> None:
    cleaned = benchmark(clean_schema, TOOL_SCHEMA["input_schema"], mode="parametersJsonSchema")
    assert cleaned["additionalProperties"] is False


@pytest.mark.benchmark(group="clean_schema")
def test_bench_clean_schema_small_schema(benchmark: Any) -> None:
    small = {
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    }
    assert benchmark(clean_schema, small)["required"] == ["command"]
