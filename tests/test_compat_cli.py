"""The `compatkit` command as a user runs it (a real process): the dispatcher and `convert`.

- `compatkit --version` prints the installed version; an unknown command or option is one
  line on stderr and exit 2; no command at all prints the usage on stderr, exit 2;
- `compatkit convert` reads a file or stdin, converts for the model `--model` names (mapped as
  the proxy maps it, or by `--config`'s map), reports on stderr the fields that do not reach
  Gemini, and hints at `--openai` when the body is the other dialect's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def compatkit(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 256,
    "metadata": {"user_id": "user_abc"},
    "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    "output_config": {"effort": "high"},
    "messages": [
        {"role": "user", "content": "List the files"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
    ],
}
OPENAI = {
    "model": "gpt-4o-mini",
    "max_completion_tokens": 64,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ],
}


def test_version_prints_the_installed_version() -> None:
    run = compatkit("--version")
    assert (run.returncode, run.stdout) == (0, f"compatkit {metadata.version('compatkit')}\n")


@pytest.mark.parametrize("word", ["frobnicate", "--frobnicate"])
def test_an_unknown_command_is_one_line_on_stderr_and_exit_2(word: str) -> None:
    run = compatkit(word)
    assert run.returncode == 2 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert repr(word) in line and "convert, serve, emulate" in line


def test_no_command_prints_the_usage_on_stderr_and_exit_2() -> None:
    run = compatkit()
    assert run.returncode == 2 and run.stdout == ""
    assert "usage: compatkit <command>" in run.stderr and "--version" in run.stderr


def test_help_prints_the_usage_on_stdout() -> None:
    run = compatkit("--help")
    assert run.returncode == 0 and "commands:" in run.stdout


def test_convert_reads_a_file_as_it_reads_stdin(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(ANTHROPIC))
    from_file, from_stdin = (
        compatkit("convert", str(path)),
        compatkit("convert", stdin=path.read_text()),
    )
    assert from_file.returncode == from_stdin.returncode == 0, from_file.stderr
    assert from_file.stdout == from_stdin.stdout
    assert json.loads(from_file.stdout)["contents"][0]["parts"] == [{"text": "List the files"}]


def test_convert_of_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = compatkit("convert", str(tmp_path / "absent.json"))
    assert run.returncode == 2
    assert (
        run.stderr
        == f"compatkit convert: cannot read {tmp_path / 'absent.json'}: No such file or directory\n"
    )


def function_call_part(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    body = json.loads(run.stdout)
    (part,) = body["contents"][1]["parts"]
    assert "functionCall" in part
    return dict(part)


def test_model_previews_the_conversion_for_that_model() -> None:
    # Gemini 3 needs a thought signature on the first function call of a model turn.
    gemini3 = compatkit("convert", "--model", "gemini-3-pro-preview", stdin=json.dumps(ANTHROPIC))
    assert gemini3.returncode == 0, gemini3.stderr
    assert function_call_part(gemini3)["thoughtSignature"] == "skip_thought_signature_validator"
    assert "model gemini-3-pro-preview -> gemini-3-pro-preview" in gemini3.stderr
    haiku = compatkit("convert", "--model", "claude-haiku-4-5", stdin=json.dumps(ANTHROPIC))
    assert "thoughtSignature" not in function_call_part(haiku)
    assert "model claude-haiku-4-5 -> gemini-2.5-flash (the built-in model map)" in haiku.stderr


def test_model_is_mapped_by_the_configured_map(tmp_path: Path) -> None:
    config = tmp_path / "compatkit.toml"
    config.write_text('[models]\nmap = { "claude-*" = "gemini-3-flash-preview" }\n')
    run = compatkit("convert", "--config", str(config), stdin=json.dumps(ANTHROPIC))
    assert f"model claude-sonnet-4-5 -> gemini-3-flash-preview ({config})" in run.stderr
    assert "thoughtSignature" in function_call_part(run)


def test_a_model_the_proxy_does_not_serve_is_noted() -> None:
    run = compatkit("convert", "--model", "llama-3", stdin=json.dumps(ANTHROPIC))
    assert run.returncode == 0
    assert "the proxy answers 404 for model 'llama-3'" in run.stderr


def test_the_fields_that_do_not_reach_gemini_are_reported_on_stderr() -> None:
    run = compatkit("convert", stdin=json.dumps(ANTHROPIC))
    assert run.returncode == 0
    report = run.stderr.splitlines()
    assert "compatkit convert: 3 request field(s) not sent to Gemini" in report[1]
    assert report[2:] == [
        "  metadata.user_id",
        "  context_management.edits",
        "  output_config.effort",
    ]
    assert "user_abc" not in run.stdout  # and the body really lacks them


def test_an_openai_body_without_openai_gets_the_hint_when_refused() -> None:
    run = compatkit("convert", stdin=json.dumps(OPENAI))
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1] == (
        "compatkit convert: max_tokens: field required "
        "(this looks like an OpenAI Chat request: add --openai)"
    )


def test_an_openai_body_that_happens_to_convert_still_gets_the_hint() -> None:
    run = compatkit("convert", stdin=json.dumps({**OPENAI, "max_tokens": 64}))
    assert run.returncode == 0
    assert "max_completion_tokens" in run.stderr  # reported as not sent
    assert "note: this looks like an OpenAI Chat request: add --openai" in run.stderr


def test_with_openai_the_same_body_converts_without_a_hint() -> None:
    run = compatkit("convert", "--openai", stdin=json.dumps(OPENAI))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert "looks like" not in run.stderr and "not sent" not in run.stderr


def test_an_anthropic_body_with_openai_gets_the_opposite_hint() -> None:
    run = compatkit("convert", "--openai", stdin=json.dumps(ANTHROPIC))
    assert run.returncode == 2
    assert run.stderr.rstrip().endswith(
        "(this looks like an Anthropic Messages request: leave out --openai)"
    )
