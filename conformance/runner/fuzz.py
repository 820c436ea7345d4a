"""Fuzz mode (`--fuzz N`): hypothesis draws requests, sends them black-box, the same oracles judge.

Operations:
    fuzz(runner, run, count, seconds, out)   up to `count` examples within `seconds`, split over
        FAMILIES; each failure is shrunk by hypothesis, saved as out/fuzz/<flavor>-<n>.json and
        added to `run.fuzz_failures` with the command that replays it
    replay(target, emulator, example, since) -> [problem]   send a saved example again, judge it
    problems(run) -> [str]                   the oracle for one drawn request (below)

The oracle, for any drawn request: an answer always comes, never a 5xx. A 4xx is the route's
error envelope and the upstream was not called. A 200 is a valid answer in the route's grammar
that the official SDK reads; the upstream accepted every call; nothing of the client's content
was lost or invented on the way up and the reply came back exactly (valid requests only: for
hostile input a 200 only has to be well formed and accepted upstream).

Families draw from conformance.strategies (the building blocks the property suites use too):
`anthropic` valid requests, `hostile` junk and damaged requests, `schemas` a tool with a random
JSON Schema the emulator then calls, `unicode` text with lone surrogates and controls, `openai`
valid Chat Completions requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.checks.violation import Violation
from conformance.runner import oracle_client as client_checks
from conformance.runner import oracle_upstream as upstream_checks
from conformance.runner.bodies import js_json
from conformance.runner.case import Case
from conformance.runner.case_run import CaseRun
from conformance.runner.client import SentRequest, Target, build_request
from conformance.runner.results import FuzzFailure, RunResult
from conformance.runner.run import Runner
from conformance.runner.upstream import EmulatorLink
from conformance.strategies import anthropic_requests, openai_requests, schemas, unicode

MESSAGES_MODEL = "claude-sonnet-4-5"
CHAT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class Family:
    """One kind of drawn request: its route, strategy, scenario and whether it is valid input."""

    name: str
    route: str
    strategy: st.SearchStrategy[Any]
    valid: bool
    scenario: dict[str, Any]


def _schema_requests() -> st.SearchStrategy[dict[str, Any]]:
    return schemas.tool_input_schemas().map(
        lambda schema: {
            "model": MESSAGES_MODEL,
            "max_tokens": 256,
            "tools": [{"name": "fuzzed_tool", "description": "A tool", "input_schema": schema}],
            "messages": [{"role": "user", "content": "Use the tool."}],
        }
    )


def _unicode_requests() -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(unicode.hostile_text(), unicode.hostile_text()).map(
        lambda texts: {
            "model": MESSAGES_MODEL,
            "max_tokens": 256,
            "system": texts[0] or "s",
            "messages": [{"role": "user", "content": texts[1] or "u"}],
        }
    )


FAMILIES = (
    Family("anthropic", "messages", anthropic_requests.requests(), True, {}),
    Family("hostile", "messages", anthropic_requests.hostile_requests(), False, {}),
    Family("schemas", "messages", _schema_requests(), True, {"call_declared_tools": 1}),
    Family("unicode", "messages", _unicode_requests(), True, {}),
    Family("openai", "chat", openai_requests.valid_openai_requests(), True, {}),
)


def problems(run: CaseRun, *, valid: bool) -> list[str]:
    """What is wrong with the answer to one drawn request (see the module docstring)."""
    checks: list[tuple[Callable[[CaseRun, Any], None], Any]]
    status = run.final.status
    if status is None or status >= 500:
        checks = [(client_checks.no_5xx, None)]
    elif status >= 400:
        checks = [(client_checks.error, "any"), (upstream_checks.upstream, "none")]
    else:
        checks = [
            (client_checks.grammar, None),
            (client_checks.sdk, None),
            (upstream_checks.upstream, "valid"),
        ]
        if valid:
            checks += [(upstream_checks.content, None), (client_checks.reply, "exact")]
    found = []
    for check, argument in checks:
        try:
            check(run, argument)
        except Violation as violation:
            found.append(f"{check.__name__}: {violation}")
    return found


def _case(family: Family, stream: bool) -> Case:
    return Case(
        id=f"fuzz.{family.name}",
        level="MUST",
        section="fuzz",
        description=f"a drawn {family.name} request",
        category="fuzz",
        route=family.route,
        stream=stream,
        model=CHAT_MODEL if family.route == "chat" else MESSAGES_MODEL,
        scenario=family.scenario,
    )


def _sent(case: Case, target: Target, body: Any) -> SentRequest:
    template = build_request(replace(case, request={}), target)
    if isinstance(body, dict) and case.stream:
        body = {**body, "stream": True}
    elif isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "stream"}
    return replace(template, body=js_json(body, allow_nan=True))


def fuzz(
    runner: Runner,
    run: RunResult,
    count: int,
    seconds: float,
    out: Path,
    families: tuple[Family, ...] = FAMILIES,
    fuzz_seed: int | None = None,
) -> None:
    """Run up to `count` drawn examples (shrinking included) within about `seconds`; with
    `fuzz_seed` the same examples every time (CI), else new ones each run."""
    deadline = time.monotonic() + seconds
    share = max(1, count // len(families))
    for family in families:
        if time.monotonic() > deadline:
            run.notes.append(f"fuzz: time bound reached before the {family.name} family")
            break
        failure = _fuzz_family(runner, run, family, share, deadline, out, fuzz_seed)
        if failure is not None:
            run.fuzz_failures.append(failure)


def _fuzz_family(
    runner: Runner,
    run: RunResult,
    family: Family,
    count: int,
    deadline: float,
    out: Path,
    fuzz_seed: int | None,
) -> FuzzFailure | None:
    last_failure: list[tuple[Any, bool, list[str]]] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(body=family.strategy, stream=st.booleans())
    def example(body: Any, stream: bool) -> None:
        if time.monotonic() > deadline:
            return  # bounded in time: the rest of the examples pass unsent
        case = _case(family, stream)
        exchange = runner.exchange(_sent(case, runner.target, body), case.id, family.scenario)
        run.fuzz_examples += 1
        found = problems(CaseRun(case, runner.target, [exchange], []), valid=family.valid)
        if found:
            last_failure[:] = [(body, stream, found)]
            raise AssertionError("; ".join(found))

    try:
        (example if fuzz_seed is None else seed(fuzz_seed)(example))()
    except AssertionError:
        if not last_failure:
            raise
        body, stream, found = last_failure[0]
        return _saved(runner.target, family, body, stream, found, out)
    return None


def _saved(
    target: Target, family: Family, body: Any, stream: bool, found: list[str], out: Path
) -> FuzzFailure:
    folder = out / "fuzz"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{target.flavor}-{family.name}.json"
    example = {
        "family": family.name,
        "route": family.route,
        "stream": stream,
        "valid": family.valid,
        "scenario": family.scenario,
        "body": js_json(body, allow_nan=True).decode("utf-8"),
        "problems": found,
    }
    path.write_text(json.dumps(example, indent=1, ensure_ascii=False))
    command = (
        f"compatkit conformance --replay {path} --proxy {target.url} "
        f"--upstream-flavor {target.flavor}" + (" --proxy-key $PROXY_KEY" if target.key else "")
    )
    return FuzzFailure(family.name, body, "; ".join(found), str(path), command)


def replay(
    target: Target, emulator: EmulatorLink, example: dict[str, Any], since: int
) -> list[str]:
    """Send a saved example once more and judge it the same way."""
    family = next(f for f in FAMILIES if f.name == example["family"])
    case = _case(family, bool(example["stream"]))
    runner = Runner(target, emulator, session_since=since)
    try:
        template = build_request(replace(case, request={}), target)
        sent = replace(template, body=example["body"].encode("utf-8"))
        exchange = runner.exchange(sent, case.id, example.get("scenario") or {})
    finally:
        runner.close()
    return problems(CaseRun(case, target, [exchange], []), valid=bool(example["valid"]))
