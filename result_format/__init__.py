"""result_format: the benchmark result file (`results.json`, format version 1) and its schema.

Operations
    SCHEMA_VERSION                  1
    schema() -> dict                the JSON Schema (results-v1.schema.json, shipped beside this module)
    validate(doc, *, source=...)    raises ResultFormatError naming the first bad field
    load(path) -> dict              read, parse and validate a result file
    dump(doc, path)                 validate, then write (pretty, UTF-8, no NaN)
    ResultFormatError               ValueError with a one-line message: source, field path, reason

Goals
    The one contract between the writers (`compatkit bench`, the Locust exporter) and the readers
    (`rollout-guard`, `assert-latency`, `compatkit gate`, plots): they share this schema and this
    validator, never each other's code. A bad file is refused with one line that names the file
    and the field (`results.json: blocks[3].samples[12].ttft_ms: -1 is less than the minimum of
    0`), never a traceback and never a silently skewed verdict.

Plan
    jsonschema's Draft 2020-12 validator checks the shape; `best_match` picks the error a person
    should read first. What a JSON Schema cannot say is checked after it: every block names a
    declared arm, arm names are unique, an arm's `tree` is a declared tree, a block does not end
    before it starts, and no number is NaN or infinite (Python's json accepts them, JSON does
    not). Imports nothing of compatkit's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

__all__ = ["SCHEMA_VERSION", "ResultFormatError", "dump", "load", "schema", "validate"]

SCHEMA_VERSION = 1


class ResultFormatError(ValueError):
    """A result file that is not format version 1; the message is one line for a person."""


@cache
def schema() -> dict[str, Any]:
    """The result file's JSON Schema (a shared object: do not mutate it)."""
    text = resources.files(__name__).joinpath("results-v1.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema())


def validate(doc: Any, *, source: str = "results") -> None:
    """Raise ResultFormatError unless `doc` is a valid version-1 result document."""
    if isinstance(doc, dict) and doc.get("format") == "compatkit-results":
        version = doc.get("version")
        if version != SCHEMA_VERSION:
            raise ResultFormatError(
                f"{source}: version: {version!r} is not supported (this compatkit reads "
                f"version {SCHEMA_VERSION})"
            )
    _check_finite(doc, source)
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        raise ResultFormatError(f"{source}: {_path(error.absolute_path)}: {error.message}")
    assert isinstance(doc, dict)  # the schema's top level is an object
    _check_references(doc, source)


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a result file; every failure is a ResultFormatError naming the file."""
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ResultFormatError(f"{source}: cannot read: {reason}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFormatError(
            f"{source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ResultFormatError(f"{source}: not a result file: nested too deeply") from None
    validate(doc, source=source)
    assert isinstance(doc, dict)
    return doc


def dump(doc: dict[str, Any], path: str | Path) -> None:
    """Validate `doc`, then write it; nothing is written when it is invalid."""
    validate(doc, source=str(path))
    text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n", "utf-8")


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _walk(doc: object) -> Iterator[tuple[list[str | int], object]]:
    """Every value in `doc` with its path, iteratively (a hostile file may nest deeply)."""
    stack: list[tuple[list[str | int], object]] = [([], doc)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend(([*path, key], item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend(([*path, index], item) for index, item in enumerate(value))


def _check_finite(doc: object, source: str) -> None:
    for path, value in _walk(doc):
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultFormatError(f"{source}: {_path(path)}: {value} is not a finite number")


def _check_references(doc: dict[str, Any], source: str) -> None:
    names: set[str] = set()
    trees = doc["environment"]["trees"]
    for index, arm in enumerate(doc["arms"]):
        if arm["name"] in names:
            raise ResultFormatError(
                f"{source}: arms[{index}].name: {arm['name']!r} is declared twice"
            )
        names.add(arm["name"])
        if "tree" in arm and arm["tree"] not in trees:
            raise ResultFormatError(
                f"{source}: arms[{index}].tree: {arm['tree']!r} is not in environment.trees"
            )
    for index, block in enumerate(doc["blocks"]):
        if block["arm"] not in names:
            raise ResultFormatError(
                f"{source}: blocks[{index}].arm: {block['arm']!r} is not a declared arm "
                f"({', '.join(sorted(names))})"
            )
        if block["ended_s"] < block["started_s"]:
            raise ResultFormatError(
                f"{source}: blocks[{index}].ended_s: {block['ended_s']} is before started_s "
                f"{block['started_s']}"
            )
