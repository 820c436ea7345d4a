"""Which fields of a client request never reach Gemini: measured, not listed.

Operations
    dropped_fields(request, *, openai=False, options=None) -> list[str]

Goal
    The report `compatkit convert` prints, true by construction for both dialects: a field is
    dropped when the converter ignores its value: taking it out of the request, or giving it
    another value, leaves the converted Gemini body unchanged. So the answer cannot drift from
    what the converters do (`context_management`, `output_config.effort`, `metadata.user_id`,
    a block's `cache_control`, a tool schema's `$schema`), and a field that is read but only
    restates a default (`is_error: false`) or is implied by another (a schema `type` next to
    its `enum`) is not reported. Removing every reported field at once leaves the body
    unchanged too.

Plan
    Convert once; then, top-down, take out one object key at a time (a path copy: the input
    is never modified) and convert again, then put another value in its place (`_other`)
    and convert again. A key for which either changes the body (or makes the request
    invalid) is used, and its value is searched the same way; otherwise it is dropped, and
    reported by its leaf paths. Arrays are searched, never shortened. Fields the proxy reads
    outside the body (`model`, `stream`, OpenAI's `stream_options.include_usage`) are never
    reported. A final check removes all candidates together and keeps, in order, only those
    that still change nothing. Cost: up to two conversions per object key outside the
    dropped subtrees (under a second for an agent request with 24 tools): a diagnostic, not
    a hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compat._anthropic import to_gemini_request
from compat._errors import RequestError
from compat._json import dumps
from compat._openai import openai_to_gemini_request
from compat._options import ConversionOptions

__all__ = ["dropped_fields"]

Path = tuple[str | int, ...]

# Read by the proxy itself (the upstream method, the reply's model and usage chunk).
_ENVELOPE: frozenset[Path] = frozenset({("model",), ("stream",)})
_OPENAI_ENVELOPE = _ENVELOPE | {("stream_options", "include_usage")}


def dropped_fields(
    request: dict[str, Any], *, openai: bool = False, options: ConversionOptions | None = None
) -> list[str]:
    """JSON paths (`a.b[0].c`) of the request's fields that do not reach Gemini.

    `request` must convert (call the converter first: its RequestError is the answer for
    an invalid request). `openai` picks the OpenAI Chat converter.
    """
    convert = openai_to_gemini_request if openai else to_gemini_request
    chosen = options or ConversionOptions()

    def body(candidate: dict[str, Any]) -> bytes | None:
        try:
            return dumps(convert(candidate, options=chosen))
        except RequestError:
            return None

    baseline = body(request)
    if baseline is None:
        convert(request, options=chosen)  # its own RequestError says why (a field, too deep)
        raise RequestError("", "the request does not convert; no fields to report")
    envelope = _OPENAI_ENVELOPE if openai else _ENVELOPE

    def ignored(path: Path) -> bool:
        if body(_without(request, [path])) != baseline:
            return False
        return body(_replaced(request, path, _other(_at(request, path)))) == baseline

    candidates = _search(request, ignored, envelope)
    kept: list[Path] = []
    if body(_without(request, candidates)) != baseline:  # fields that only matter together
        for path in candidates:
            if body(_without(request, [*kept, path])) == baseline:
                kept.append(path)
    else:
        kept = candidates
    return [_format(leaf) for path in kept for leaf in _leaves(_at(request, path), path)]


def _search(
    request: dict[str, Any], unused: Callable[[Path], bool], envelope: frozenset[Path]
) -> list[Path]:
    found: list[Path] = []
    around_envelope = {field[:n] for field in envelope for n in range(1, len(field))}

    def walk(value: object, path: Path) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                key_path = (*path, key)
                if key_path in envelope:
                    continue
                if key_path in around_envelope or not unused(key_path):
                    walk(inner, key_path)
                    continue
                found.append(key_path)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, (*path, index))

    walk(request, ())
    return found


_REMOVED = object()


def _without(request: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """A copy of `request` without the object keys at `paths` (only the paths are copied)."""
    result: Any = request
    for path in paths:
        result = _replaced(result, path, _REMOVED)
    return dict(result)


def _replaced(value: Any, path: Path, new: Any) -> Any:
    """A copy of `value` with `new` at `path` (`_REMOVED`: the key taken out)."""
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if rest:
        copy[head] = _replaced(value[head], rest, new)
    elif new is _REMOVED:
        del copy[head]
    else:
        copy[head] = new
    return copy


def _other(value: object) -> object:
    """A value of the same JSON type as `value` but different (null: a string)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-compatkit-probe"
    if isinstance(value, dict):
        return {} if value else {"compatkit_probe": 1}
    if isinstance(value, list):
        return [] if value else ["compatkit-probe"]
    return "compatkit-probe"


def _at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _leaves(value: object, path: Path) -> list[Path]:
    """`path` itself, or for a non-empty object the paths of its leaves (objects only)."""
    if isinstance(value, dict) and value:
        return [leaf for key, inner in value.items() for leaf in _leaves(inner, (*path, key))]
    return [path]


def _format(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text
