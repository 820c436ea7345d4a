"""Scenario configuration (conformance.emulator.scenarios): validated at load, explicit defaults."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.emulator.scenarios import (
    ConfigError,
    Distribution,
    UnknownScenario,
    load_config,
    parse_config,
    scenario_marker,
)


def test_the_packaged_file_loads_and_names_its_default() -> None:
    config = load_config()
    assert config.scenario(None).name == "default"
    assert config.scenario("tool_bash").tool_calls[0].name == "Bash"
    with pytest.raises(UnknownScenario):
        config.scenario("no-such-scenario")


def test_a_toml_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'default_scenario = "quick"\n[scenarios.quick]\ntext_tokens = 2\n'
        'latency = {chunk_gap_ms = {dist = "lognormal", median = 20, sigma = 0.3}}\n'
    )
    config = load_config(path)
    assert config.scenario(None).text_tokens == 2
    assert config.scenario(None).latency.chunk_gap_ms.kind == "lognormal"


@pytest.mark.parametrize(
    ("mapping", "names"),
    [
        ({"scenarios": {"a": {"text_tokns": 3}}}, "scenarios.a.text_tokns"),
        ({"scenarios": {"a": {"finish_reason": "DONE"}}}, "scenarios.a.finish_reason"),
        (
            {"scenarios": {"a": {"faults": [{"kind": "explode", "every": 1}]}}},
            "scenarios.a.faults[0].kind",
        ),
        ({"scenarios": {"a": {"faults": [{"kind": "internal"}]}}}, "say when it fires"),
        ({"scenarios": {"a": {"faults": [{"kind": "internal", "probability": 2}]}}}, "probability"),
        ({"scenarios": {"a": {"latency": {"headers_ms": {"dist": "zipf"}}}}}, "headers_ms"),
        ({"scenarios": {"a": {"latency": {"headers_ms": -1}}}}, "must not be negative"),
        ({"scenarios": {"a": {"chunk_tokens": 0}}}, "chunk_tokens"),
        ({"scenarios": {"a": {"framing": "cr"}}}, "framing"),
        ({"auth": {"keys": []}}, "auth.keys"),
    ],
)
def test_invalid_configurations_fail_at_load_naming_the_key(mapping: dict, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("]", r"\]")):
        parse_config(mapping)


@given(st.sampled_from(["lognormal", "uniform", "exponential", "normal"]), st.integers(0, 1000))
def test_distribution_draws_are_seeded_and_never_negative(kind: str, seed: int) -> None:
    params = {
        "lognormal": {"median": 10.0, "sigma": 1.0},
        "uniform": {"low": 0.0, "high": 5.0},
        "exponential": {"mean": 3.0},
        "normal": {"mean": 1.0, "stddev": 5.0},
    }[kind]
    dist = Distribution(kind=kind, params=tuple(sorted(params.items())))
    first = [dist.sample(random.Random(seed)) for _ in range(3)]
    assert first == [dist.sample(random.Random(seed)) for _ in range(3)]
    assert all(x >= 0 for x in first)


def test_lognormal_median_is_the_configured_median() -> None:
    dist = Distribution(kind="lognormal", params=(("median", 50.0), ("sigma", 0.5)))
    rng = random.Random(0)
    assert statistics.median(dist.sample(rng) for _ in range(4001)) == pytest.approx(50, rel=0.05)


def test_scenario_marker_is_found_in_text() -> None:
    assert scenario_marker("please [scenario:tool_bash] run") == "tool_bash"
    assert scenario_marker("no marker here") is None
