"""The `compatkit` command: one entry point, one subcommand per part.

Operations:
    main(argv=None) -> int     `compatkit <command> ...`, `compatkit --version`; exit 2 and a
                               one-line reason on stderr for a bad command line

Each subcommand imports its part lazily, so `compatkit convert` never loads Quart and
a missing optional part only fails the subcommand that needs it. This is the one module that
wires parts together (the proxy's demo upstream is the emulator; `claude` runs `serve`).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from typing import Any

# Fields only OpenAI Chat requests carry: their presence makes the "add --openai" hint.
_OPENAI_ONLY_FIELDS = frozenset(
    {
        "max_completion_tokens",
        "n",
        "response_format",
        "stream_options",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "user",
        "functions",
        "function_call",
        "reasoning_effort",
        "parallel_tool_calls",
        "modalities",
        "store",
        "stop",
    }
)
_OPENAI_ONLY_ROLES = frozenset({"tool", "developer", "function"})
_OPENAI_ONLY_MESSAGE_FIELDS = frozenset({"tool_calls", "tool_call_id", "function_call"})
# And the other way round: fields only Anthropic Messages requests carry.
_ANTHROPIC_ONLY_FIELDS = frozenset({"system", "stop_sequences", "thinking", "top_k"})
_ANTHROPIC_ONLY_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "document"})


def _convert(argv: Sequence[str]) -> int:
    """Convert an Anthropic (or OpenAI) request from a file or stdin; print the Gemini body."""
    parser = argparse.ArgumentParser(
        prog="compatkit convert",
        description="Convert an Anthropic Messages request (or, with --openai, an OpenAI Chat "
        "request) to the Gemini generateContent body the proxy would send. The body goes to "
        "stdout; the upstream model and the request fields that do not reach Gemini go to "
        "stderr.",
    )
    parser.add_argument("file", nargs="?", default="-", help="the request (JSON); - or none: stdin")
    parser.add_argument("--openai", action="store_true", help="the input is an OpenAI Chat request")
    parser.add_argument(
        "--json-schema",
        action="store_true",
        help="send tool schemas as parametersJsonSchema instead of parameters",
    )
    parser.add_argument(
        "--model",
        help="convert for this client model (replaces the request's `model`); it is mapped to "
        "a Gemini model by the proxy's model map, as `compatkit serve` would",
    )
    parser.add_argument(
        "--config", help="take the model map from this compatkit TOML file (default: built in)"
    )
    args = parser.parse_args(argv)

    import compat

    try:
        request = _read_request(args.file)
    except (compat.JSONError, _ConvertError) as exc:
        sys.stderr.write(f"compatkit convert: {exc}\n")
        return 2
    if args.model is not None and isinstance(request, dict):
        request = {**request, "model": args.model}
    try:
        upstream_model = _upstream_model(request, args.config)
        options = compat.ConversionOptions(
            schema_mode="parametersJsonSchema" if args.json_schema else "parameters",
            upstream_model=upstream_model,
        )
        convert = compat.openai_to_gemini_request if args.openai else compat.to_gemini_request
        gemini = convert(request, options=options)
    except (compat.RequestError, _ConvertError) as exc:
        hint = _dialect_hint(request, openai=args.openai)
        sys.stderr.write(f"compatkit convert: {exc}{f' ({hint})' if hint else ''}\n")
        return 2
    sys.stdout.buffer.write(compat.dumps(gemini, indent=True) + b"\n")
    _report(request, options, openai=args.openai)
    return 0


class _ConvertError(Exception):
    """A convert input that cannot be read (the message is the one-line reason)."""


def _read_request(file: str) -> Any:
    import compat

    if file == "-":
        return compat.loads(sys.stdin.buffer.read())
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise _ConvertError(f"cannot read {file}: {exc.strerror}") from None
    return compat.loads(raw)


def _upstream_model(request: Any, config_path: str | None) -> str | None:
    """The Gemini model the proxy would send `request` to (None: no model, or not served)."""
    model = request.get("model") if isinstance(request, dict) else None
    if not isinstance(model, str):
        return None
    from server.config import ConfigError, ModelMap, load_config
    from server.edge.model_catalogue import ModelCatalogue

    model_map = ModelMap()
    if config_path is not None:
        try:
            model_map = load_config(config_path, env={}).models
        except ConfigError as exc:
            raise _ConvertError(str(exc)) from None
    upstream = ModelCatalogue(model_map).upstream_for(model)
    source = config_path or "the built-in model map"
    if upstream is None:
        sys.stderr.write(
            f"compatkit convert: note: the proxy answers 404 for model {model!r} "
            f"(not in {source}); converted without a target model\n"
        )
    else:
        sys.stderr.write(f"compatkit convert: model {model} -> {upstream} ({source})\n")
    return upstream


def _report(request: Any, options: Any, *, openai: bool) -> None:
    """On stderr: the request fields that do not reach Gemini, and the dialect hint."""
    import compat

    dropped = compat.dropped_fields(request, openai=openai, options=options)
    if dropped:
        sys.stderr.write(
            f"compatkit convert: {len(dropped)} request field(s) not sent to Gemini "
            "(removing or changing one leaves the Gemini request the same):\n"
        )
        sys.stderr.writelines(f"  {line}\n" for line in _grouped(dropped))
    hint = _dialect_hint(request, openai=openai)
    if hint:
        sys.stderr.write(f"compatkit convert: note: {hint}\n")


def _grouped(paths: list[str]) -> list[str]:
    """Paths alike but for their array indices as one `a[*].b  (N times)` line, in order."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(re.sub(r"\[\d+\]", "[*]", path), []).append(path)
    return [
        members[0] if len(members) == 1 else f"{pattern}  ({len(members)} times)"
        for pattern, members in groups.items()
    ]


def _dialect_hint(request: Any, *, openai: bool) -> str:
    """A hint when the input looks like the other dialect's request, else ""."""
    if not isinstance(request, dict):
        return ""
    if not openai and _looks_like_openai(request):
        return "this looks like an OpenAI Chat request: add --openai"
    if openai and _looks_like_anthropic(request):
        return "this looks like an Anthropic Messages request: leave out --openai"
    return ""


def _messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    messages = request.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _has_tool_with(request: dict[str, Any], key: str) -> bool:
    tools = request.get("tools")
    return isinstance(tools, list) and any(isinstance(t, dict) and key in t for t in tools)


def _looks_like_openai(request: dict[str, Any]) -> bool:
    if _OPENAI_ONLY_FIELDS & request.keys() or _has_tool_with(request, "function"):
        return True
    return any(
        m.get("role") in _OPENAI_ONLY_ROLES
        or _OPENAI_ONLY_MESSAGE_FIELDS & m.keys()
        or any(b.get("type") == "image_url" for b in _blocks(m))
        for m in _messages(request)
    )


def _looks_like_anthropic(request: dict[str, Any]) -> bool:
    if _ANTHROPIC_ONLY_FIELDS & request.keys() or _has_tool_with(request, "input_schema"):
        return True
    return any(
        b.get("type") in _ANTHROPIC_ONLY_BLOCKS for m in _messages(request) for b in _blocks(m)
    )


def _serve(argv: Sequence[str]) -> int:
    from server.serve import main

    return main(argv, fallback_upstream=_in_process_emulator)


@contextlib.contextmanager
def _in_process_emulator() -> Iterator[str]:
    """`serve --demo` runs against the emulator (the one wiring point)."""
    from conformance.emulator.testing import running_emulator

    with running_emulator() as emulator:
        yield emulator.base_url


def _emulate(argv: Sequence[str]) -> int:
    from conformance.emulator.serve import main

    return main(argv)


def _bench(argv: Sequence[str]) -> int:
    from loadtests._bench._cli import main

    return main(argv)


def _gate(argv: Sequence[str]) -> int:
    """The bench runner and the judge wired together (compat_gate: both parts, one command)."""
    from compat_gate import gate

    return gate(argv)


def _claude(argv: Sequence[str]) -> int:
    """Claude Code against the proxy, started (`compatkit serve`) or reused (compat_claude)."""
    from compat_claude import launch

    return launch(argv)


def _conformance(argv: Sequence[str]) -> int:
    from conformance.runner.cli import main

    return main(argv)


def _guard(argv: Sequence[str]) -> int:
    from reports.cli import rollout_guard

    return rollout_guard(argv, prog="compatkit guard")


def _assert_latency(argv: Sequence[str]) -> int:
    from reports.cli import assert_latency

    return assert_latency(argv, prog="compatkit assert-latency")


SUBCOMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "convert": (_convert, "convert an Anthropic (or OpenAI) request to a Gemini request"),
    "serve": (_serve, "run the reference proxy"),
    "emulate": (_emulate, "run the strict Gemini / Code Assist emulator"),
    "claude": (
        _claude,
        "run Claude Code against the proxy (started if none answers); ARGS pass on",
    ),
    "conformance": (_conformance, "grade a Claude-compatible proxy, case by case"),
    "bench": (_bench, "open-loop A/B benchmark of proxies; writes results.json"),
    "guard": (_guard, "judge a candidate against a baseline from a result file (rollout-guard)"),
    "gate": (_gate, "benchmark every track and judge it: the CI latency gate (docs/gate.md)"),
    "assert-latency": (_assert_latency, "check absolute objectives on a result file"),
}


def _usage() -> str:
    lines = ["usage: compatkit <command> [options]   (compatkit <command> --help for more)", ""]
    lines += ["commands:"] + [f"  {name:<15} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "options:", "  -h, --help  this help", "  --version   the installed version"]
    return "\n".join(lines)


def version() -> str:
    """The installed compatkit version (from the package metadata)."""
    try:
        return metadata.version("compatkit")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch `compatkit <subcommand> ...`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    if args and args[0] == "--version":
        print(f"compatkit {version()}")
        return 0
    if not args:
        print(_usage(), file=sys.stderr)
        return 2
    if args[0] not in SUBCOMMANDS:
        known = ", ".join(SUBCOMMANDS)
        what = "option" if args[0].startswith("-") else "command"
        print(f"compatkit: unknown {what} {args[0]!r} (commands: {known})", file=sys.stderr)
        return 2
    command, _ = SUBCOMMANDS[args[0]]
    return command(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
