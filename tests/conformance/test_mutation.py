"""The runner judged by mutation: our proxy (`compatkit serve`) with one injected defect at a time,
from relays in front of it and behind it (tests/conformance/mutation.py). The runner must flag at
least 95 % of the mutants, each by the case written for that defect; without the defect those
cases pass, so it is the defect that is flagged.

The figure, mutant by mutant: `python -m tests.conformance.mutation` (add --full to run every
case against every mutant)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.runner.client import Target
from conformance.runner.fuzz import FAMILIES, fuzz, replay
from conformance.runner.results import Outcome, RunResult
from conformance.runner.run import Runner
from tests.conformance.mutation import MUTANTS, PROXY_KEY, Bench, mutation_bench

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    with mutation_bench(tmp_path_factory.mktemp("mutation")) as running:
        yield running


def test_there_are_at_least_twenty_mutants_each_with_a_known_case(bench: Bench) -> None:
    assert len(MUTANTS) >= 20
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    for mutant in MUTANTS:
        assert mutant.side in {"front", "behind"}
        assert set(mutant.flagged_by) <= set(bench.cases), mutant.name


def test_without_a_mutant_every_flagging_case_passes(bench: Bench) -> None:
    cases = sorted({case for mutant in MUTANTS for case in mutant.flagged_by})
    outcomes = bench.run(None, cases)
    assert {case: o for case, o in outcomes.items() if o != Outcome.PASS} == {}


def test_the_runner_flags_at_least_95_percent_of_the_mutants_each_by_its_case(
    bench: Bench,
) -> None:
    missed = [m.name for m in MUTANTS if set(bench.flagged(m)) != set(m.flagged_by)]
    flagged = len(MUTANTS) - len(missed)
    print(
        f"mutation figure: {flagged}/{len(MUTANTS)} flagged ({100 * flagged / len(MUTANTS):.1f} %)"
    )
    assert flagged / len(MUTANTS) >= 0.95, f"missed: {missed}"


def test_fuzz_finds_a_lone_surrogate_crash_shrinks_it_and_saves_a_replayable_example(
    bench: Bench, tmp_path: Path
) -> None:
    crash = next(m for m in MUTANTS if m.name == "crash_on_lone_surrogate")
    unicode_family = tuple(f for f in FAMILIES if f.name == "unicode")
    target = Target(bench.front.url, PROXY_KEY, "gemini-api")
    run = RunResult(target.url, "gemini-api", "now")
    bench.front.mutant = crash
    runner = Runner(target, bench.emulator)
    try:
        fuzz(runner, run, count=60, seconds=60, out=tmp_path, families=unicode_family)
        (failure,) = run.fuzz_failures
        assert "5xx" in failure.problem
        saved = Path(failure.replay_file)
        assert saved.exists() and "--replay" in failure.replay_command
        example = __import__("json").loads(saved.read_text())
        assert "\\ud" in example["body"].lower()  # shrunk to what matters: a lone surrogate
        assert replay(target, bench.emulator, example, 0)  # still failing with the defect
        bench.front.mutant = None
        assert replay(target, bench.emulator, example, 0) == []  # and fine without it
    finally:
        bench.front.mutant = None
        runner.close()
