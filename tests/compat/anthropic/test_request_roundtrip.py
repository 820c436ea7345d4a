"""Round trip through both halves of docs/mapping.md: a Gemini model turn becomes an
Anthropic message (compat._anthropic.response) and comes back as the model turn of the next request
(compat._anthropic.request) with its calls, texts and thought signatures intact.

The documented asymmetry: a signature Gemini put on a thought part (or on an empty-text
signature-only part) followed by an unsigned non-thought part comes back on that following
part. Every functionCall keeps the signature it had, else gets the one that moved onto it.
Limit of the mapping: a run of consecutive thought parts is one thinking block, which holds
one signature, so such runs are generated with at most one signed part.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from compat._anthropic.request import to_gemini_request
from compat._anthropic.response import to_anthropic_message
from compat._options import ConversionOptions

NAMES = ("Bash", "Read", "mcp__github__search")
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
SIGNATURES = st.binary(min_size=1, max_size=12).map(lambda raw: base64.b64encode(raw).decode())


@st.composite
def model_parts(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["thought", "text", "call", "signature_only"]))
    signature = draw(st.none() | SIGNATURES)
    if kind == "signature_only":
        return {"text": "", "thoughtSignature": draw(SIGNATURES)}
    if kind == "thought":
        part: dict[str, Any] = {"text": draw(TEXT), "thought": True}
    elif kind == "text":
        part = {"text": draw(TEXT)}
    else:
        call: dict[str, Any] = {
            "name": draw(st.sampled_from(NAMES)),
            "args": draw(st.dictionaries(TEXT, TEXT, max_size=2)),
        }
        if draw(st.booleans()):
            call["id"] = draw(st.text("abcdef0123456789", min_size=4, max_size=8))
        part = {"functionCall": call}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def representable(parts: list[dict[str, Any]]) -> bool:
    """Unique call ids, and at most one signature per run of thought parts."""
    ids = [p["functionCall"]["id"] for p in parts if "id" in p.get("functionCall", {})]
    signed_in_run = 0
    for part in parts:
        signed_in_run = signed_in_run + ("thoughtSignature" in part) if part.get("thought") else 0
        if signed_in_run > 1:
            return False
    return len(ids) == len(set(ids))


def expected_calls(parts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each call with its own signature, else the signature of the thinking block before it.

    Thinking blocks as the response side builds them: a run of thought parts is one block; a
    signature-only part signs the run just before it or makes its own empty block, and a
    thought part after it starts a new block.
    """
    expected = []
    carried = None  # the signature of the thinking block just before the next part
    in_run = False
    for part in parts:
        if part.get("thought"):
            carried = part.get("thoughtSignature", carried if in_run else None)
            in_run = True
            continue
        in_run = False
        if part.get("text") == "":
            carried = part["thoughtSignature"]
            continue
        if "functionCall" in part:
            expected.append((part["functionCall"], part.get("thoughtSignature", carried)))
        carried = None
    return expected


def next_request_model_turn(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]
    }
    message = to_anthropic_message(response, model="claude-sonnet-4-5")
    tool_uses = [block for block in message["content"] if block["type"] == "tool_use"]
    answers = [
        {"type": "tool_result", "tool_use_id": block["id"], "content": "ok"} for block in tool_uses
    ]
    request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "tools": [{"name": name, "input_schema": {"type": "object"}} for name in NAMES],
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": message["content"]},
            {"role": "user", "content": answers or "next"},
        ],
    }
    body = to_gemini_request(request, options=ConversionOptions(upstream_model="gemini-2.5-pro"))
    turn: list[dict[str, Any]] = body["contents"][1]["parts"]
    return turn


def calls(parts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["functionCall"], p.get("thoughtSignature")) for p in parts if "functionCall" in p]


def texts(parts: list[dict[str, Any]], *, thought: bool) -> str:
    return "".join(p["text"] for p in parts if "text" in p and p.get("thought", False) is thought)


def signatures(parts: list[dict[str, Any]]) -> list[str]:
    return [p["thoughtSignature"] for p in parts if "thoughtSignature" in p]


@given(st.lists(model_parts(), min_size=1, max_size=6).filter(representable))
def test_a_model_turn_survives_the_round_trip(parts: list[dict[str, Any]]) -> None:
    if not any("functionCall" in p or p.get("text") for p in parts):
        return  # only signatures: no content block, nothing for the client to send back
    back = next_request_model_turn(parts)
    assert calls(back) == expected_calls(parts), "each call keeps its args, id and signature"
    assert signatures(back) == signatures(parts), "signatures keep their order"
    assert texts(back, thought=True) == texts(parts, thought=True)
    assert texts(back, thought=False) == texts(parts, thought=False)
