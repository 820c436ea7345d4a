"""The `compatkit` command: one entry point, one subcommand per part.

Each subcommand imports its part lazily, so `compatkit convert` never loads Quart and
a missing optional part only fails the subcommand that needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence


def _convert(argv: Sequence[str]) -> int:
    """Read an Anthropic Messages request (JSON) on stdin, print the Gemini request."""
    parser = argparse.ArgumentParser(
        prog="compatkit convert",
        description="Convert an Anthropic Messages request read on stdin to a Gemini request.",
    )
    parser.add_argument("--openai", action="store_true", help="the input is an OpenAI Chat request")
    parser.add_argument(
        "--json-schema",
        action="store_true",
        help="send tool schemas as parametersJsonSchema instead of parameters",
    )
    args = parser.parse_args(argv)

    import compat

    raw = sys.stdin.buffer.read()
    try:
        request = compat.loads(raw)
        options = compat.ConversionOptions(
            schema_mode="parametersJsonSchema" if args.json_schema else "parameters"
        )
        convert = compat.openai_to_gemini_request if args.openai else compat.to_gemini_request
        gemini = convert(request, options=options)
    except (compat.RequestError, compat.JSONError) as exc:
        sys.stderr.write(f"compatkit convert: {exc}\n")
        return 2
    sys.stdout.buffer.write(compat.dumps(gemini, indent=True) + b"\n")
    return 0


def _serve(argv: Sequence[str]) -> int:
    from server.serve import main

    return main(argv, fallback_upstream=_in_process_emulator)


@contextlib.contextmanager
def _in_process_emulator() -> Iterator[str]:
    """`serve` with no upstream configured runs against the emulator (the one wiring point)."""
    from conformance.emulator.testing import running_emulator

    with running_emulator() as emulator:
        yield emulator.base_url


def _emulate(argv: Sequence[str]) -> int:
    from conformance.emulator.serve import main

    return main(argv)


SUBCOMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "convert": (_convert, "convert an Anthropic (or OpenAI) request on stdin to Gemini"),
    "serve": (_serve, "run the reference proxy"),
    "emulate": (_emulate, "run the strict Gemini / Code Assist emulator"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch `compatkit <subcommand> ...`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args[0] not in SUBCOMMANDS:
        lines = ["usage: compatkit <command> [options]", "", "commands:"]
        lines += [f"  {name:<10} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
        print("\n".join(lines), file=sys.stdout if args else sys.stderr)
        return 0 if args and args[0] in {"-h", "--help"} else 2
    command, _ = SUBCOMMANDS[args[0]]
    return command(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
