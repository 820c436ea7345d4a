"""Benchmarks of the emulator's request validator (`conformance.emulator.validation`).

Run: .venv/bin/pytest benchmarks/test_bench_validation.py --benchmark-enable --benchmark-only
Baseline, measured side by side in the same run: decoding the same request bytes with
`orjson.loads`, work the emulator pays for every request anyway. The ratio is the cost of
validation itself, for a coding-agent request (17 tools, 12 rounds of parallel calls, 33 KB) and a
small text chat. Figures go in docs/performance.md ("conformance.emulator: request validation").
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from conformance.emulator.validation import validate_generate_content_request

MODEL = "gemini-3-pro-preview"


def agent_request() -> dict[str, Any]:
    """A Claude Code-sized Gemini request: system prompt, 17 tools, 12 rounds of 2 calls each."""
    parameters = {
        "type": "OBJECT",
        "properties": {
            "file_path": {"type": "STRING", "description": "The absolute path to the file"},
            "old_string": {"type": "STRING", "description": "The text to replace"},
            "replace_all": {"type": "BOOLEAN"},
            "mode": {"type": "STRING", "enum": ["content", "files_with_matches", "count"]},
            "-A": {"type": "INTEGER"},
            "todos": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "content": {"type": "STRING"},
                        "status": {
                            "type": "STRING",
                            "enum": ["pending", "in_progress", "completed"],
                        },
                    },
                    "required": ["content", "status"],
                },
            },
        },
        "required": ["file_path"],
    }
    declarations = [
        {
            "name": f"Tool_{index}",
            "description": "Performs one operation. " * 20,
            "parameters": parameters,
        }
        for index in range(17)
    ]
    contents: list[dict[str, Any]] = [
        {"role": "user", "parts": [{"text": "Fix the failing test."}]}
    ]
    for round_number in range(12):
        names = [f"Tool_{round_number % 17}", f"Tool_{(round_number + 1) % 17}"]
        contents.append(
            {
                "role": "model",
                "parts": [
                    {"text": "Checking.", "thought": True},
                    {
                        "functionCall": {"name": names[0], "args": {"file_path": "/src/app.py"}},
                        "thoughtSignature": "CiQBVKhc7wQ2ZGM5ZTc0LTQ3ZjktNGE3YS1hMzI3LWYxNmQ=",
                    },
                    {"functionCall": {"name": names[1], "args": {"file_path": "/src/test_app.py"}}},
                ],
            }
        )
        contents.append(
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": name, "response": {"output": "line\n" * 40}}}
                    for name in names
                ],
            }
        )
    return {
        "contents": contents,
        "systemInstruction": {"parts": [{"text": "You are Claude Code. " * 200}]},
        "tools": [{"functionDeclarations": declarations}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {
            "maxOutputTokens": 32000,
            "temperature": 1,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 8192},
        },
    }


def text_request() -> dict[str, Any]:
    """A small text chat."""
    return {
        "contents": [
            {"role": "user", "parts": [{"text": "Hello"}]},
            {"role": "model", "parts": [{"text": "Hi! How can I help?"}]},
            {"role": "user", "parts": [{"text": "Write a haiku about the sea."}]},
        ],
        "generationConfig": {"maxOutputTokens": 256},
    }


CASES = {"agent": agent_request, "text": text_request}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bench_decode_baseline(benchmark: Any, case: str) -> None:
    raw = orjson.dumps(CASES[case]())
    benchmark.group = f"validation-{case}"
    assert benchmark(orjson.loads, raw) == CASES[case]()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bench_validate_generate_content(benchmark: Any, case: str) -> None:
    body = CASES[case]()
    benchmark.group = f"validation-{case}"
    assert benchmark(lambda: validate_generate_content_request(body, model=MODEL)) is None
