"""Workloads as data: what one request of each kind sends (data/workloads.toml and its bodies).

Operations
    workloads() -> Mapping[str, Workload]      the catalogue, read once from the package data
    workload(name) -> Workload                 one of them (WorkloadError names the known ones)
    request_body(workload, *, model=None, scenario=None, tag=None, messages=None) -> bytes
                                               the JSON body to send: the workload's body with
                                               its model replaced, the emulator's scenario
                                               marker and a request tag in the user's text;
                                               `messages` in place of the workload's (a
                                               session's growing history, Anthropic or OpenAI)
    request_headers(workload, api_key) -> dict the protocol's headers (key, version, type)
    request_path(workload, model=None) -> str  where it goes (Gemini: the model is in the path)
    direct_twin(workload) -> Workload | None   the Gemini request asking the upstream the same
                                               thing directly (the overhead baseline)
    request_tags(text) -> list[str]            the tags found in a text (an upstream record)
    Workload.path                              request_path(workload)

Gemini workloads are the upstream's own protocol: a runner sends them to the emulator directly,
so a proxied metric minus the same metric measured directly is the proxy's overhead.

Markers ride in the user's text because a proxy forwards the text and nothing else of ours:
`[scenario:NAME]` picks the emulator's scenario (conformance/emulator/scenarios.py), and
`[bench:TAG]` lets a runner find, in the emulator's records, the upstream attempts one client
request caused. Both go at the start of the latest user message (the turn the emulator reads)
and of the first one (where older emulators read it).

Pure: the package data is read once (importlib.resources, no network, no clock), bodies are
built without copying more than the messages that change, and bodies without a tag are cached.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import orjson

from loadtests._common._timing import Protocol

__all__ = [
    "Workload",
    "WorkloadError",
    "direct_twin",
    "request_body",
    "request_headers",
    "request_path",
    "request_tags",
    "workload",
    "workloads",
]

PATHS: Mapping[str, str] = {
    "anthropic": "/v1/messages",
    "openai": "/v1/chat/completions",
    "gemini": "/v1beta/models/{model}:{method}",
}
ANTHROPIC_VERSION = "2023-06-01"
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,80}")
_TAG = re.compile(r"\[bench:([A-Za-z0-9_.\-]{1,80})\]")
_KEYS = {"protocol", "body", "stream", "keep_messages", "description", "model", "direct"}


class WorkloadError(ValueError):
    """An unknown workload, a bad catalogue entry, or a bad marker name."""


@dataclass(frozen=True, eq=False)
class Workload:
    """One kind of request; `template` is its body (shared: never mutate it). Compared and
    hashed by identity: the catalogue holds one of each."""

    name: str
    protocol: Protocol
    stream: bool
    description: str
    template: Mapping[str, Any]
    model: str | None = None  # gemini: the model of the path
    direct: str | None = None  # the name of the gemini twin

    @property
    def path(self) -> str:
        return request_path(self)


@cache
def workloads() -> Mapping[str, Workload]:
    """The packaged catalogue, by name."""
    folder = resources.files(__package__).joinpath("data")
    catalogue = tomllib.loads(folder.joinpath("workloads.toml").read_text("utf-8"))
    bodies: dict[str, Any] = {}
    found: dict[str, Workload] = {}
    for name, entry in catalogue.items():
        unknown = set(entry) - _KEYS
        if unknown or entry.get("protocol") not in PATHS or "body" not in entry:
            raise WorkloadError(f"workloads.toml: [{name}] is malformed ({sorted(unknown)})")
        if entry["body"] not in bodies:
            bodies[entry["body"]] = orjson.loads(folder.joinpath(entry["body"]).read_bytes())
        body = dict(bodies[entry["body"]])
        if "keep_messages" in entry:
            body["messages"] = body["messages"][: entry["keep_messages"]]
        stream = bool(entry.get("stream", False))
        if entry["protocol"] != "gemini":  # Gemini says it in the path
            body["stream"] = stream
        if stream and entry["protocol"] == "openai":
            body["stream_options"] = {"include_usage": True}
        if (entry["protocol"] == "gemini") != ("model" in entry):
            raise WorkloadError(f"workloads.toml: [{name}] a model goes with gemini workloads")
        found[name] = Workload(
            name,
            entry["protocol"],
            stream,
            str(entry.get("description", "")),
            body,
            entry.get("model"),
            entry.get("direct"),
        )
    for entry in found.values():
        if entry.direct is not None and found.get(entry.direct, entry).protocol != "gemini":
            raise WorkloadError(
                f"workloads.toml: [{entry.name}] direct must name a gemini workload"
            )
    return MappingProxyType(found)


def workload(name: str) -> Workload:
    """The workload called `name`."""
    try:
        return workloads()[name]
    except KeyError:
        known = ", ".join(sorted(workloads()))
        raise WorkloadError(f"unknown workload {name!r} (known: {known})") from None


def request_body(
    workload: Workload,
    *,
    model: str | None = None,
    scenario: str | None = None,
    tag: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
) -> bytes:
    """The body to send for one request (see the module docstring for the markers)."""
    for kind, value in (("scenario", scenario), ("tag", tag)):
        if value is not None and _NAME.fullmatch(value) is None:
            raise WorkloadError(f"{kind} {value!r}: 1-80 letters, digits, '_', '.', '-'")
    if messages is not None:
        if workload.protocol == "gemini":
            raise WorkloadError("messages replace an Anthropic or OpenAI workload's messages")
        return _encode(workload, model, scenario, tag, list(messages))
    if tag is None:
        return _untagged_body(workload, model, scenario)
    return _encode(workload, model, scenario, tag)


@lru_cache(maxsize=256)
def _untagged_body(workload: Workload, model: str | None, scenario: str | None) -> bytes:
    return _encode(workload, model, scenario, None)


def _encode(
    workload: Workload,
    model: str | None,
    scenario: str | None,
    tag: str | None,
    messages: list[Any] | None = None,
) -> bytes:
    body = dict(workload.template)
    if messages is not None:
        body["messages"] = messages
    if model is not None and workload.protocol != "gemini":
        body["model"] = model
    prefix = "".join(
        marker
        for marker in (
            f"[scenario:{scenario}] " if scenario else "",
            f"[bench:{tag}] " if tag else "",
        )
    )
    if prefix:
        key = "contents" if workload.protocol == "gemini" else "messages"
        body[key] = _with_markers(list(body[key]), prefix)
    return orjson.dumps(body)


def _with_markers(messages: list[Any], prefix: str) -> list[Any]:
    users = [i for i, message in enumerate(messages) if message.get("role") == "user"]
    for index in {users[0], users[-1]} if users else set():
        messages[index] = _prefixed(messages[index], prefix)
    return messages


def _prefixed(message: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """A copy of a user message whose first text starts with `prefix` (a text part is added
    when it has none, e.g. a message of tool results)."""
    if "parts" in message:  # a Gemini content
        parts = list(message["parts"])
        for position, part in enumerate(parts):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts[position] = {**part, "text": prefix + part["text"]}
                break
        else:
            parts.append({"text": prefix.strip()})
        return {**message, "parts": parts}
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": prefix + content}
    blocks = list(content) if isinstance(content, list) else []
    for position, block in enumerate(blocks):
        if isinstance(block, dict) and block.get("type") == "text":
            blocks[position] = {**block, "text": prefix + str(block.get("text", ""))}
            break
    else:
        blocks.append({"type": "text", "text": prefix.strip()})
    return {**message, "content": blocks}


def request_path(workload: Workload, model: str | None = None) -> str:
    """The path a request of `workload` goes to (a Gemini one names its model)."""
    if workload.protocol != "gemini":
        return PATHS[workload.protocol]
    method = "streamGenerateContent?alt=sse" if workload.stream else "generateContent"
    return PATHS["gemini"].format(model=model or workload.model, method=method)


def direct_twin(workload: Workload) -> Workload | None:
    """The gemini workload asking the upstream directly what `workload` asks through a proxy."""
    return workloads()[workload.direct] if workload.direct is not None else None


def request_headers(workload: Workload, api_key: str) -> dict[str, str]:
    """The headers a client of the workload's protocol sends (the proxy key included)."""
    if workload.protocol == "gemini":
        return {"content-type": "application/json", "x-goog-api-key": api_key}
    if workload.protocol == "anthropic":
        return {
            "content-type": "application/json",
            "x-api-key": api_key,
            "anthropic-version": ANTHROPIC_VERSION,
        }
    return {"content-type": "application/json", "authorization": f"Bearer {api_key}"}


def request_tags(text: str) -> list[str]:
    """The `[bench:TAG]` tags in `text`, in order."""
    return _TAG.findall(text) if "[bench:" in text else []
