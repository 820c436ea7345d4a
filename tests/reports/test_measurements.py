"""reports.measurements: only valid, paired rounds reach the statistics, and the notes say why."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.measurements import ArmError, ArmRef, Source, arms_across, arms_within, measure
from tests.result_format.documents import ARMS, block, document


def two_arms(*blocks: dict) -> list[Source]:
    return [Source("r.json", document(blocks))]


def refs(sources: list[Source]) -> tuple[list[ArmRef], list[ArmRef]]:
    return arms_within(sources)


def test_an_inconclusive_block_is_left_out_with_its_reasons_and_its_partner_too() -> None:
    sources = two_arms(
        block("baseline", 0, [1, 2]),
        block("candidate", 0, [1, 2]),
        block("baseline", 1, [1, 2]),
        block("candidate", 1, [1, 2], inconclusive=["client CPU share 0.91 > 0.85"]),
    )
    measured = measure(sources, *refs(sources))
    [condition] = measured.conditions
    assert [r.label for r in condition.baseline] == ["round 0"]
    assert measured.excluded_blocks == 1
    assert measured.notes == [
        "r.json: blocks[3] (candidate, round 1, small_chat, closed, 1 in flight): inconclusive, "
        "not judged (client CPU share 0.91 > 0.85)",
        "small_chat, closed, 1 in flight: round 1 has no valid candidate block; its baseline "
        "block is not judged (rounds are compared in pairs)",
    ]


def test_failed_requests_count_as_requests_but_carry_no_latency() -> None:
    sources = two_arms(
        block(
            "baseline", 0, [1.0, 50.0, 3.0], ttft_ms=[0.5, 0.1, 0.7], failed=[False, True, False]
        ),
        block("candidate", 0, [1.0, 2.0, 3.0]),
    )
    [condition] = measure(sources, *refs(sources)).conditions
    base = condition.baseline[0]
    assert (base.requests, base.successes) == (3, 2)
    assert base.clustered("e2e").values.tolist() == [1.0, 3.0]
    assert base.clustered("e2e").owners.tolist() == [0, 2]
    assert base.clustered("ttft").units == 3
    assert base.error_types == {"http: rate_limit_error": 1}


def test_open_loop_latencies_are_measured_from_the_intended_send() -> None:
    open_block = block(
        "baseline",
        0,
        [10.0, 10.0],
        ttft_ms=[4.0, 4.0],
        tpot_ms=[1.0, 1.0],
        lag_ms=[0.0, 5.0],
        mode="open",
        intended_rate=2.0,
    )
    sources = two_arms(
        open_block, block("candidate", 0, [1.0, 1.0], mode="open", intended_rate=2.0)
    )
    [corrected] = measure(sources, *refs(sources)).conditions
    assert corrected.baseline[0].latency["e2e"].tolist() == [10.0, 15.0]
    assert corrected.baseline[0].latency["ttft"].tolist() == [4.0, 9.0]
    assert corrected.baseline[0].latency["tpot"].tolist() == [1.0, 1.0]  # a gap: no lag in it
    [service] = measure(sources, *refs(sources), coordinated_omission=False).conditions
    assert service.baseline[0].latency["e2e"].tolist() == [10.0, 10.0]
    assert corrected.name == "small_chat, open 2 req/s"


def test_itl_gaps_belong_to_their_request() -> None:
    sources = two_arms(
        block("baseline", 0, [1.0, 1.0, 1.0], itl_ms=[[0.1, 0.2], [], [0.3]]),
        block("candidate", 0, [1.0, 1.0, 1.0], itl_ms=[[0.1], [0.1], [0.1]]),
    )
    [condition] = measure(sources, *refs(sources)).conditions
    gaps = condition.baseline[0].clustered("itl")
    assert (gaps.values.tolist(), gaps.owners.tolist(), gaps.units) == (
        [0.1, 0.2, 0.3],
        [0, 0, 2],
        3,
    )
    assert condition.has("itl") and not condition.has("ttfb")


def test_conditions_are_compared_separately() -> None:
    sources = two_arms(
        block("baseline", 0, [1.0], workload="small_chat"),
        block("candidate", 0, [1.0], workload="small_chat"),
        block("baseline", 0, [9.0], workload="agent_turn"),
        block("candidate", 0, [9.0], workload="agent_turn"),
    )
    names = [c.name for c in measure(sources, *refs(sources)).conditions]
    assert names == ["small_chat, closed, 1 in flight", "agent_turn, closed, 1 in flight"]


def test_blocks_of_one_arm_round_and_condition_are_merged() -> None:
    sources = two_arms(
        block("baseline", 0, [1.0, 2.0], proxy_cpu_s=0.5),
        block("baseline", 0, [3.0], proxy_cpu_s=0.25),
        block("candidate", 0, [1.0], proxy_cpu_s=None),
    )
    [condition] = measure(sources, *refs(sources)).conditions
    merged = condition.baseline[0]
    assert (merged.requests, merged.duration_s, merged.proxy_cpu_s) == (3, 3.0, 0.75)
    assert condition.candidate[0].proxy_cpu_s is None


def test_runs_of_one_plan_add_their_rounds_up() -> None:
    run = [block("baseline", 0, [1.0]), block("candidate", 0, [1.0])]
    sources = [Source("first.json", document(run)), Source("second.json", document(run))]
    [condition] = measure(sources, *arms_within(sources)).conditions
    assert [r.label for r in condition.baseline] == ["first.json round 0", "second.json round 0"]


def test_one_file_per_arm_pairs_rounds_by_number() -> None:
    locust = [{"name": "locust", "role": "other", "kind": "locust"}]
    sources = [
        Source(
            "a.json", document([block("locust", 0, [1.0]), block("locust", 1, [1.0])], arms=locust)
        ),
        Source("b.json", document([block("locust", 1, [2.0])], arms=locust)),
    ]
    base, cand = arms_across(sources)
    assert (base, cand) == ([ArmRef(0, "locust")], [ArmRef(1, "locust")])
    measured = measure(sources, base, cand)
    [condition] = measured.conditions
    assert [r.label for r in condition.candidate] == ["round 1"]
    assert "round 0 has no valid candidate block" in measured.notes[0]


@pytest.mark.parametrize(
    ("arms", "call", "message"),
    [
        (
            ARMS,
            lambda s: arms_within(s, baseline="ghost"),
            "r.json: no arm 'ghost' (arms: baseline, candidate)",
        ),
        (
            ARMS,
            lambda s: arms_within(s, baseline="candidate"),
            "r.json: the baseline and the candidate are the same arm 'candidate'",
        ),
        (
            [{**ARMS[0]}, {**ARMS[1], "role": "baseline"}],
            arms_within,
            "r.json: arms: 2 arms have role 'baseline' (baseline, candidate); name the arm with --baseline",
        ),
    ],
)
def test_arms_that_cannot_be_found_are_named(arms: list, call: object, message: str) -> None:
    sources = [Source("r.json", document([], arms=arms))]
    with pytest.raises(ArmError) as raised:
        call(sources)  # type: ignore[operator]
    assert str(raised.value) == message


def test_a_round_without_samples_has_no_values_and_nan_nowhere() -> None:
    sources = two_arms(block("baseline", 0, []), block("candidate", 0, [1.0]))
    [condition] = measure(sources, *refs(sources)).conditions
    assert condition.baseline[0].requests == 0
    assert not np.isnan(condition.candidate[0].latency["e2e"]).any()
    assert not condition.has("e2e")
    assert math.isclose(condition.candidate[0].duration_s, 1.0)


def test_open_loop_rates_within_a_fifth_of_each_other_are_one_load_level() -> None:
    def at(arm: str, round_: int, rate: float) -> dict:
        return block(arm, round_, [1.0], mode="open", intended_rate=rate)

    sources = two_arms(
        at("baseline", 0, 59.6),
        at("candidate", 0, 60.8),
        at("baseline", 1, 61.0),
        at("candidate", 1, 58.9),
        at("baseline", 0, 9.8),
        at("candidate", 0, 10.3),
    )
    names = [(c.name, len(c.baseline)) for c in measure(sources, *refs(sources)).conditions]
    assert names == [("small_chat, open 60 req/s", 2), ("small_chat, open 10 req/s", 1)]
