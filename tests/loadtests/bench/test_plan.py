"""Plans: read from TOML, every mistake refused at load time in one line naming the key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from loadtests._bench import TRACKS, PlanError, load_plan, parse_plan, track_plan

ROOT = Path(__file__).resolve().parents[3]
MINIMAL: dict[str, Any] = {
    "name": "p",
    "arms": [
        {"name": "off", "role": "baseline", "flags": {"ff_converter_fast_path": False}},
        {"name": "on", "role": "candidate", "flags": {"ff_converter_fast_path": True}},
    ],
    "load": {"rate": 5.0},
}


def _plan(**changes: Any) -> dict[str, Any]:
    table = copy.deepcopy(MINIMAL)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        target = table
        for part in path:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        target[key] = value
    return table


def test_a_minimal_plan_takes_the_documented_defaults() -> None:
    plan = parse_plan(MINIMAL, source="p.toml")
    assert plan.load.mode == "open" and plan.load.schedule == "poisson"
    assert (plan.load.requests, plan.load.warmup, plan.load.rounds) == (200, 20, 6)
    assert plan.load.workloads[0].workload == "small_chat"
    assert plan.emulator.tls is True and plan.needs_emulator and plan.interleaved
    assert plan.proxy.api_keys == ["bench-key-1"]


@pytest.mark.parametrize("name", TRACKS)
def test_every_track_has_a_plan_in_its_own_scenario(name: str) -> None:
    plan = track_plan(name)
    assert plan.track == name and plan.name == name
    roles = {arm.role: arm for arm in plan.arms}
    assert roles["baseline"].flags == {name: False} and roles["candidate"].flags == {name: True}
    quick = plan.quick_version()
    assert quick.is_quick and quick.load.rounds >= 2
    assert quick.load.requests * quick.load.rounds < plan.load.requests * plan.load.rounds


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"load__rate": -2}, "p.toml: load.rate: must be a positive number, got -2"),
        ({"load__mode": "closed"}, "p.toml: load.concurrency: a closed loop needs the number in flight"),
        ({"load__requests": 0}, "p.toml: load.requests: must be an integer >= 1, got 0"),
        ({"load__rounds": 1.5}, "p.toml: load.rounds: must be an integer >= 1, got 1.5"),
        ({"load__speed": 1}, "p.toml: load: unknown key 'speed'"),
        ({"load__workloads": [{"workload": "nope"}]}, "p.toml: load.workloads[0].workload: unknown workload 'nope'"),
        ({"load__workloads": [{"workload": "small_chat", "scenario": "a b"}]}, "load.workloads[0].scenario: expected 1-80"),
        ({"arms__0__kind": "docker"}, "p.toml: arms[0].kind: 'docker' is not one of flag, process, url"),
        ({"arms__0__flags": {"ff_x": "yes"}}, "p.toml: arms[0].flags.ff_x: expected ff_... = true | false"),
        ({"arms__1__name": "off"}, "p.toml: arms: the name 'off' is used twice"),
        ({"arms__1__kind": "process"}, "flag arms share one proxy and cannot mix with other kinds"),
        ({"arms__0__kind": "url", "arms__1__kind": "url"}, "p.toml: arms[0].url: expected an http:// or https:// URL"),
        ({"arms": [MINIMAL["arms"][0]]}, "p.toml: arms: expected two or more [[arms]] tables"),
        ({"track": "ff_nope"}, "p.toml: track: 'ff_nope' is not one of"),
        ({"emulator__server": "nginx"}, "p.toml: emulator.server: 'nginx' is not one of granian, hypercorn"),
        ({"emulator__network_delay_ms": -1}, "emulator.network_delay_ms: must be a number >= 0"),
        ({"proxy__config": {"server": {}}}, "p.toml: proxy.config.server: set by the runner"),
        ({"proxy__restart": "always"}, "p.toml: proxy.restart: 'always' is not one of never, block"),
        ({"limits__client_cpu_share": 0}, "p.toml: limits.client_cpu_share: must be a positive number"),
        ({"quick__rate": "fast"}, "p.toml: quick.rate: must be a positive number, got 'fast'"),
        ({"surprise": 1}, "p.toml: unknown key 'surprise'"),
        ({"name": ""}, "p.toml: name: expected 1-80 letters"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_refused_in_one_line_naming_the_key(
    changes: dict[str, Any], expected: str
) -> None:
    with pytest.raises(PlanError) as raised:
        parse_plan(_plan(**changes), source="p.toml")
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_plan_file_that_is_not_toml_or_not_there(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed\n")
    with pytest.raises(PlanError, match=r"broken.toml: not TOML: "):
        load_plan(broken)
    with pytest.raises(PlanError, match=r"missing.toml: cannot read: No such file"):
        load_plan(tmp_path / "missing.toml")


def test_the_baseline_root_turns_arms_into_two_trees_with_the_candidates_flags(
    tmp_path: Path,
) -> None:
    plan = track_plan("ff_http2_pool_tuning").with_baseline_root(ROOT)
    assert [(a.name, a.role, a.kind, a.root) for a in plan.arms] == [
        ("baseline", "baseline", "process", ROOT), ("candidate", "candidate", "process", None)
    ]  # fmt: skip
    assert all(arm.flags == {"ff_http2_pool_tuning": True} for arm in plan.arms)
    # two proxies run at once, interleaved request by request: each one's CPU stays its own
    assert track_plan("ff_http2_pool_tuning").load.interleave == "block" and plan.interleaved
    stateful = track_plan("ff_retry_policy_v2").with_baseline_root(ROOT)
    assert stateful.proxy.restart == "block" and not stateful.interleaved
    assert stateful.load == track_plan("ff_retry_policy_v2").load
    with pytest.raises(PlanError, match="not a compatkit tree"):
        plan.with_baseline_root(tmp_path)


@pytest.mark.parametrize("quick_first", [True, False])
def test_an_open_loop_in_blocks_keeps_each_proxys_rate_and_round_length_when_interleaved(
    quick_first: bool,
) -> None:
    blocks = track_plan("ff_converter_fast_path")  # 60 req/s, 120 requests per arm when quick
    plan = blocks.quick_version().with_baseline_root(ROOT) if quick_first else (
        blocks.with_baseline_root(ROOT).quick_version())  # fmt: skip
    quick = blocks.quick_version().load
    assert plan.interleaved and plan.load.rate == 2 * quick.rate
    assert (plan.load.requests, plan.load.warmup) == (2 * quick.requests, 2 * quick.warmup)
    assert plan.load.rounds == quick.rounds
    # the pool track's closed loop keeps its sizes (each proxy gets half the streams)
    pool = track_plan("ff_http2_pool_tuning")
    assert pool.with_baseline_root(ROOT).load.concurrency == pool.load.concurrency


@pytest.mark.parametrize(
    ("kind", "interleave", "restart", "interleaved"),
    [
        ("flag", "request", "never", True),
        ("flag", "block", "never", False),
        ("process", "request", "never", True),  # duet: both proxies run at once
        ("process", "block", "never", False),
        ("process", "request", "block", False),  # a fresh proxy per block keeps ABBA blocks
        ("url", "request", "never", False),
    ],
)
def test_arms_are_interleaved_request_by_request_where_the_plan_and_their_kind_allow(
    kind: str, interleave: str, restart: str, interleaved: bool
) -> None:
    changes: dict[str, Any] = {"arms__0__kind": kind, "arms__1__kind": kind,
                               "load__interleave": interleave, "proxy__restart": restart}  # fmt: skip
    if kind != "flag":
        changes |= {"arms__0__flags": {}, "arms__1__flags": {}}
    if kind == "url":
        changes |= {"arms__0__url": "http://127.0.0.1:1", "arms__1__url": "http://127.0.0.1:2"}
    assert parse_plan(_plan(**changes)).interleaved is interleaved


def test_url_arms_need_no_emulator_and_keep_the_key_out_of_the_record() -> None:
    plan = parse_plan(MINIMAL).with_urls("http://127.0.0.1:1/", "https://example.invalid", "k")
    assert not plan.needs_emulator and plan.arms[0].url == "http://127.0.0.1:1"
    assert "api_key" not in str(plan.as_table())
    with pytest.raises(PlanError, match="--candidate-url: expected an http"):
        parse_plan(MINIMAL).with_urls("http://a", "ftp://b", "k")


def test_the_plan_as_recorded_reads_back_as_the_same_plan() -> None:
    plan = track_plan("ff_converter_fast_path").quick_version().with_seed(7)
    table = plan.as_table()
    assert table["seed"] == 7 and table["quick"] is True
    reread = parse_plan({k: table[k] for k in ("name", "track", "seed", "load", "arms")})
    assert reread.load == plan.load and reread.arms == plan.arms


def test_the_docs_example_plan_is_valid() -> None:
    text = (ROOT / "docs" / "bench.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    parse_plan(tomllib.loads(example), source="docs/bench.md")


def test_an_upstream_arm_is_the_overhead_baseline_beside_flag_arms() -> None:
    direct = {"name": "direct", "kind": "upstream"}
    plan = parse_plan({**MINIMAL, "arms": [direct, *MINIMAL["arms"]]})
    assert plan.interleaved and plan.needs_emulator
    with pytest.raises(PlanError, match=r"'agent_turn' has no direct Gemini twin"):
        parse_plan({**MINIMAL, "arms": [direct, *MINIMAL["arms"]],
                    "load": {"rate": 5.0, "workloads": [{"workload": "agent_turn"}]}})  # fmt: skip
    url = {"name": "u", "kind": "url", "url": "http://127.0.0.1:9"}
    with pytest.raises(PlanError, match="an upstream arm needs the emulator"):
        parse_plan({**MINIMAL, "arms": [direct, url]})
