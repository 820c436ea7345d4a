"""reports.cli: `rollout-guard` and `assert-latency` as a user runs them: exit codes, one-line
errors naming the file and field, the four reports, GitHub's step summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import result_format
from reports.cli import assert_latency, rollout_guard
from tests.reports.synthetic import Arms, comparison

BIN = Path(sys.executable).parent


def results(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    path = tmp_path / name
    result_format.dump(doc, path)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("results")
    return {
        "same": results(tmp, "same.json", comparison(1, rounds=4, requests=300)),
        "slower": results(
            tmp, "slower.json", comparison(2, Arms(factor=1.3), rounds=4, requests=300)
        ),
        "few": results(tmp, "few.json", comparison(3, rounds=2, requests=100)),
    }


@pytest.mark.parametrize(
    ("name", "code", "headline"),
    [
        ("same", 0, "PROMOTE"),
        ("slower", 1, "ROLLBACK"),
        ("few", 3, "HOLD"),
    ],
)
def test_the_exit_code_is_the_verdict(
    files: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    code: int,
    headline: str,
) -> None:
    assert rollout_guard([files[name], "--out", str(tmp_path)]) == code
    out = capsys.readouterr().out
    assert out.startswith(f"## rollout-guard: {headline}")
    assert f"{headline} (exit code {code}); reports in {tmp_path}/" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junit.xml",
        "report.html",
        "summary.md",
        "verdict.json",
    ]
    assert json.loads((tmp_path / "verdict.json").read_text())["exit_code"] == code


def test_an_invalid_file_is_one_line_naming_the_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = comparison(1, rounds=2, requests=5)
    doc["blocks"][1]["samples"][3]["ttft_ms"] = -1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert rollout_guard([str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert (
        error
        == f"rollout-guard: {path}: blocks[1].samples[3].ttft_ms: -1 is less than the minimum of 0\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.json"], "rollout-guard: missing.json: cannot read: No such file or directory\n"),
        ([], "rollout-guard: the following arguments are required: RESULTS.json (see --help)\n"),
        (
            ["a.json", "b.json", "c.json"],
            "rollout-guard: give one result file, or two (the baseline's, then the candidate's) (see --help)\n",
        ),
        (
            ["{same}", "--baseline", "nobody"],
            "rollout-guard: {same}: no arm 'nobody' (arms: baseline, candidate)\n",
        ),
        (
            ["{same}", "--policy", "missing.toml"],
            "rollout-guard: missing.toml: cannot read: No such file or directory\n",
        ),
        (
            ["{same}", "--frobnicate"],
            "rollout-guard: unrecognized arguments: --frobnicate (see --help)\n",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert rollout_guard([a.format(**files) for a in argv]) == 2
    assert capsys.readouterr().err == message.format(**files)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert rollout_guard(["--help"]) == 0
    assert "PROMOTE (exit 0), ROLLBACK (1), HOLD (3" in capsys.readouterr().out


def test_a_policy_file_changes_the_verdict(files: dict[str, str], tmp_path: Path) -> None:
    lenient = tmp_path / "lenient.toml"
    lenient.write_text("[tolerance]\np50 = 0.5\np90 = 0.5\np99 = 0.5\n")
    assert (
        rollout_guard([files["slower"], "--policy", str(lenient), "--out", str(tmp_path / "o")])
        == 0
    )


def test_two_files_are_one_per_arm(tmp_path: Path) -> None:
    doc = comparison(4, Arms(factor=1.3), rounds=3, requests=200)
    base = {**doc, "blocks": [b for b in doc["blocks"] if b["arm"] == "baseline"]}
    cand = {**doc, "blocks": [b for b in doc["blocks"] if b["arm"] == "candidate"]}
    argv = [results(tmp_path, "b.json", base), results(tmp_path, "c.json", cand)]
    assert rollout_guard([*argv, "--out", str(tmp_path / "o")]) == 1
    verdict = json.loads((tmp_path / "o" / "verdict.json").read_text())
    assert verdict["comparisons"][0]["sources"] == argv


def test_the_summary_is_appended_to_githubs_step_summary(
    files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    rollout_guard([files["same"], "--out", str(tmp_path / "o")])
    text = step.read_text()
    assert text.startswith("earlier step\n## rollout-guard: PROMOTE")
    assert text.endswith((tmp_path / "o" / "summary.md").read_text() + "\n")


def test_the_default_directory_is_a_utc_stamp_under_reports_out(
    files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rollout_guard([files["same"]])
    rollout_guard([files["same"]])
    made = sorted(p.name for p in (tmp_path / "reports" / "out").iterdir())
    assert len(made) == 2
    assert made[0].endswith("Z") and made[0][8] == "T"


def test_assert_latency_exits_0_when_met_and_1_when_missed(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    met = ["--slo", "candidate.e2e.p50 <= 1s", "--slo", "candidate.error_rate <= 0.1%"]
    assert assert_latency([files["same"], *met, "--out", str(tmp_path / "a")]) == 0
    assert "## assert-latency: SLOs MET" in capsys.readouterr().out
    assert (
        assert_latency(
            [files["same"], "--slo", "baseline.ttft.p99 < 1ms", "--out", str(tmp_path / "b")]
        )
        == 1
    )
    junit = (tmp_path / "b" / "junit.xml").read_text()
    assert 'failures="1"' in junit


def test_assert_latency_refuses_a_bad_objective_in_one_line(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert assert_latency([files["same"], "--slo", "candidate.ttft.p50 <= 5"]) == 2
    assert capsys.readouterr().err == (
        "assert-latency: 'candidate.ttft.p50 <= 5': ttft is a time: give a unit (ms, s or us), "
        "not 'none'\n"
    )


def test_the_console_scripts_and_the_compatkit_subcommands_are_installed(
    files: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, "GITHUB_STEP_SUMMARY": ""}
    for argv, code in [
        ([str(BIN / "rollout-guard"), files["slower"]], 1),
        ([str(BIN / "compatkit"), "guard", files["same"]], 0),
        ([str(BIN / "assert-latency"), files["same"], "--slo", "candidate.ttft.p50 <= 1us"], 1),
        ([str(BIN / "compatkit"), "assert-latency", files["same"], "--slo", "x.y"], 2),
    ]:
        done = subprocess.run(
            [*argv, "--out", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
