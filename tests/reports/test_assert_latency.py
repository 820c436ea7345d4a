"""reports.assert_latency: a small strict grammar, objectives checked per condition."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.assert_latency import Objective, ObjectiveError, evaluate, parse_objective
from reports.measurements import Source
from tests.result_format.documents import block, document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("candidate.ttft.p50 <= 5ms", ("candidate", "ttft", "p50", "<=", 5.0)),
        ("candidate.ttft.p50<=5ms", ("candidate", "ttft", "p50", "<=", 5.0)),
        ("base.e2e.p99.9 < 1.5s", ("base", "e2e", "p99.9", "<", 1500.0)),
        ("a.b-c.itl.max > 250us", ("a.b-c", "itl", "max", ">", 0.25)),
        ("candidate.tpot.mean >= 2 ms", ("candidate", "tpot", "mean", ">=", 2.0)),
        ("candidate.error_rate <= 0.1%", ("candidate", "error_rate", None, "<=", 0.001)),
        ("candidate.success_rate >= 0.999", ("candidate", "success_rate", None, ">=", 0.999)),
        ("baseline.throughput >= 40/s", ("baseline", "throughput", None, ">=", 40.0)),
        ("baseline.throughput >= 4e1rps", ("baseline", "throughput", None, ">=", 40.0)),
        ("candidate.cpu_per_request <= 0.8ms", ("candidate", "cpu_per_request", "mean", "<=", 0.8)),
    ],
)
def test_objectives_parse(text: str, expected: tuple) -> None:
    objective = parse_objective(text)
    assert (
        objective.arm,
        objective.metric,
        objective.stat,
        objective.operator,
        objective.threshold,
    ) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("candidate.ttft.p50 <= 5", "ttft is a time: give a unit (ms, s or us), not 'none'"),
        ("candidate.ttft.p50 <= 5kg", "ttft is a time: give a unit (ms, s or us), not 'kg'"),
        ("candidate.ttft <= 5ms", "ttft needs a statistic: .p50, .p99, .p99.9, .mean or .max"),
        ("candidate.ttft.p999 <= 5ms", "'p999' is not a quantile"),
        ("candidate.latency.p50 <= 5ms", "unknown metric 'latency' (known: ttfb, ttft"),
        ("ttft.p50 <= 5ms", "start with the arm: ARM.ttft.p50"),
        ("candidate.ttft.p50 == 5ms", "no comparison: use <=, <, >= or >"),
        ("candidate.error_rate.p50 <= 1%", "error_rate takes no statistic (drop .p50)"),
        ("candidate.error_rate <= 1ms", "error_rate is a share: give a percentage"),
        ("candidate.error_rate <= 120%", "error_rate: 120% is more than all requests"),
        ("candidate.throughput >= 40", "throughput is a rate: give it per second"),
        ("candidate.cpu_per_request.p99 <= 1ms", "cpu_per_request is a mean per request"),
        ("nonsense", "write ARM.METRIC[.STAT] OP VALUE"),
    ],
)
def test_a_bad_objective_says_what_is_wrong_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ObjectiveError) as raised:
        parse_objective(text)
    assert str(raised.value).startswith(repr(text) + ": ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@given(st.text(max_size=40))
def test_any_text_either_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        assert isinstance(parse_objective(text), Objective)
    except ObjectiveError as error:
        assert "\n" not in str(error)


def source() -> Source:
    return Source(
        "r.json",
        document(
            [
                block(
                    "baseline",
                    0,
                    [10.0] * 99 + [100.0],
                    ttft_ms=[1.0] * 100,
                    proxy_cpu_s=0.1,
                    workload="small_chat",
                ),
                block(
                    "baseline",
                    1,
                    [10.0] * 100,
                    ttft_ms=[3.0] * 100,
                    proxy_cpu_s=0.1,
                    workload="small_chat",
                ),
                block(
                    "baseline",
                    0,
                    [20.0] * 100,
                    failed=[i < 5 for i in range(100)],
                    workload="agent_turn",
                ),
                block("candidate", 0, [5.0] * 10, inconclusive=["loader CPU 97 %"]),
            ]
        ),
    )


def outcome_values(text: str) -> dict[str, float]:
    outcomes, _ = evaluate(source(), [parse_objective(text)])
    return {o.condition.split(",")[0]: o.value for o in outcomes}


def test_an_objective_is_measured_on_each_condition_of_its_arm() -> None:
    assert outcome_values("baseline.e2e.p50 <= 15ms") == {"small_chat": 10.0, "agent_turn": 20.0}
    assert outcome_values("baseline.e2e.max <= 15ms")["small_chat"] == 100.0
    assert outcome_values("baseline.ttft.mean <= 15ms")["small_chat"] == 2.0
    assert outcome_values("baseline.error_rate <= 1%") == {"small_chat": 0.0, "agent_turn": 0.05}
    assert outcome_values("baseline.success_rate >= 99%")["agent_turn"] == 0.95
    assert outcome_values("baseline.throughput >= 1/s")["small_chat"] == 1.0
    assert outcome_values("baseline.cpu_per_request <= 1ms")["small_chat"] == pytest.approx(1.0)
    assert math.isnan(outcome_values("baseline.cpu_per_request <= 1ms")["agent_turn"])


def test_met_and_missed_follow_the_operator() -> None:
    outcomes, _ = evaluate(source(), [parse_objective("baseline.e2e.p50 < 15ms")])
    assert [o.met for o in outcomes] == [True, False]
    outcomes, _ = evaluate(source(), [parse_objective("baseline.cpu_per_request <= 1ms")])
    assert [o.met for o in outcomes] == [True, False]  # not measured is not met
    assert outcomes[1].note == "proxy CPU not measured per arm"


def test_a_quantile_from_too_few_values_is_flagged() -> None:
    outcomes, _ = evaluate(source(), [parse_objective("baseline.e2e.p99 <= 50ms")])
    assert (
        outcomes[0].note
        == "p99 from 200 values: a distribution-free 95 % interval needs 368; read it as rough"
    )
    outcomes, _ = evaluate(source(), [parse_objective("baseline.e2e.p50 <= 50ms")])
    assert outcomes[0].note == ""


def test_only_valid_blocks_count_and_the_left_out_ones_are_noted() -> None:
    outcomes, notes = evaluate(source(), [parse_objective("candidate.e2e.p50 <= 1ms")])
    assert [(o.condition, o.met) for o in outcomes] == [("(no valid block)", False)]
    assert notes == [
        "r.json: blocks[3] (candidate, round 0, small_chat, closed, 1 in flight): "
        "inconclusive, not judged (loader CPU 97 %)"
    ]


def test_an_arm_may_be_named_by_its_role_but_must_exist() -> None:
    doc = document([block("x", 0, [1.0])], arms=[{"name": "x", "role": "candidate", "kind": "url"}])
    outcomes, _ = evaluate(Source("r.json", doc), [parse_objective("candidate.e2e.p50 <= 2ms")])
    assert outcomes[0].met
    with pytest.raises(ObjectiveError, match=r"r\.json has no arm 'ghost' \(arms: x\)"):
        evaluate(Source("r.json", doc), [parse_objective("ghost.e2e.p50 <= 2ms")])
