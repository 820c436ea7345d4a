"""Checks of Gemini requests a translator produced: the turn rules Google enforces.

- `assert_gemini_turn_rules(body)`: the request-shape rules Gemini enforces with 400
  INVALID_ARGUMENT (docs/reference/gemini.md#turn-rules), written here from the reference,
  independently of the emulator's validator;
- `with_neutral_schemas(body)`: the body with each `parameters` Schema replaced by a simple
  valid one, to judge what the request conversion is responsible for apart from clean_schema.
"""

from __future__ import annotations

import re
from typing import Any

PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")


def assert_gemini_turn_rules(body: dict[str, Any]) -> None:
    """The request-shape rules Gemini enforces with 400 INVALID_ARGUMENT
    (docs/reference/gemini.md#turn-rules)."""
    contents = body["contents"]
    assert contents, "contents must not be empty"
    for index, content in enumerate(contents):
        assert content["role"] in ("user", "model")
        assert content["parts"], "never an empty parts list"
        if index:
            assert content["role"] != contents[index - 1]["role"], "turns alternate"
        for part in content["parts"]:
            assert sum(key in part for key in PART_DATA) == 1, part
    assert contents[-1]["role"] == "user", "the last turn is a user turn"
    for index, content in enumerate(contents):
        calls = [p["functionCall"]["name"] for p in content["parts"] if "functionCall" in p]
        responses = [
            p["functionResponse"]["name"] for p in content["parts"] if "functionResponse" in p
        ]
        if calls:
            assert index > 0 and contents[index - 1]["role"] == "user"
            answered = [
                p["functionResponse"]["name"]
                for p in contents[index + 1]["parts"]
                if "functionResponse" in p
            ]
            assert answered == calls, "N calls answered by N responses, in call order"
        if responses:
            previous = contents[index - 1]["parts"]
            assert len(responses) == sum("functionCall" in p for p in previous)
        for part in content["parts"]:
            if "functionResponse" in part:
                assert isinstance(part["functionResponse"]["response"], dict)
    for part in body.get("systemInstruction", {"parts": [{"text": "x"}]})["parts"]:
        assert set(part) == {"text"} and part["text"]
    for tools in body.get("tools", []):
        names = [d["name"] for d in tools["functionDeclarations"]]
        assert len(names) == len(set(names))
        assert all(TOOL_NAME.fullmatch(name) for name in names)


def with_neutral_schemas(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with each `parameters` Schema replaced by a simple valid one.

    The Schema rules are judged apart (gemini_schema.py); this isolates what the request
    conversion itself is responsible for.
    """
    neutral = {"type": "OBJECT", "properties": {"value": {"type": "STRING"}}}
    tools = [
        {
            "functionDeclarations": [
                {**d, "parameters": neutral} if "parameters" in d else d
                for d in t["functionDeclarations"]
            ]
        }
        for t in body.get("tools", [])
    ]
    return {**body, "tools": tools} if tools else body
