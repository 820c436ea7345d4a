"""Schedules: seeded Poisson arrivals at the asked rate, balanced interleaving, ABBA blocks."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from loadtests._bench._schedule import arrivals, block_order, interleaved_arms, workload_picks

_RATES = st.floats(min_value=0.1, max_value=5_000, allow_nan=False)


@given(st.integers(1, 2_000), _RATES, st.integers(0, 2**32))
def test_poisson_arrivals_are_reproducible_ordered_and_span_n_over_rate(
    n: int, rate: float, seed: int
) -> None:
    times = arrivals(n, rate, "poisson", random.Random(seed))
    assert times == arrivals(n, rate, "poisson", random.Random(seed))
    assert times[0] == 0.0 and times == sorted(times) and len(times) == n
    assert times[-1] <= n / rate * (1 + 1e-9)  # the last gap ends exactly at n / rate


@given(st.integers(0, 2**32))
def test_different_seeds_give_different_poisson_schedules(seed: int) -> None:
    assert arrivals(50, 10.0, "poisson", random.Random(seed)) != arrivals(
        50, 10.0, "poisson", random.Random(seed + 1)
    )


@pytest.mark.parametrize("seed", range(5))
def test_poisson_gaps_are_exponential_at_the_rate(seed: int) -> None:
    """Kolmogorov-Smirnov against Exp(rate); rescaling to n / rate keeps the shape."""
    rate, n = 40.0, 4_000
    times = arrivals(n, rate, "poisson", random.Random(seed))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 0.001
    assert (n - 1) / times[-1] == pytest.approx(rate, rel=0.05)


def test_constant_arrivals_are_evenly_spaced_and_do_not_draw() -> None:
    rng = random.Random(1)
    assert arrivals(4, 2.0, "constant", rng) == [0.0, 0.5, 1.0, 1.5]
    assert rng.random() == random.Random(1).random()
    assert arrivals(0, 2.0, "poisson", rng) == []
    with pytest.raises(ValueError, match="rate"):
        arrivals(3, 0.0, "poisson", rng)


@given(st.lists(st.text(min_size=1), min_size=1, max_size=4, unique=True), st.integers(0, 40),
       st.integers(0, 2**32))  # fmt: skip
def test_interleaving_puts_every_arm_once_in_each_run(
    arms: list[str], pairs: int, seed: int
) -> None:
    order = interleaved_arms(arms, pairs, random.Random(seed))
    runs = [order[i : i + len(arms)] for i in range(0, len(order), len(arms))]
    assert len(runs) == pairs and all(sorted(run) == sorted(arms) for run in runs)


def test_interleaving_varies_the_order_within_runs() -> None:
    order = interleaved_arms(["a", "b"], 200, random.Random(3))
    firsts = Counter(order[i] for i in range(0, len(order), 2))
    assert 60 < firsts["a"] < 140


def test_blocks_alternate_abba() -> None:
    assert [block_order(["a", "b"], r) for r in range(4)] == [["a", "b"], ["b", "a"]] * 2


def test_workload_picks_follow_the_weights_and_the_seed() -> None:
    picks = workload_picks([3.0, 1.0], 4_000, random.Random(9))
    assert picks == workload_picks([3.0, 1.0], 4_000, random.Random(9))
    assert Counter(picks)[0] / 4_000 == pytest.approx(0.75, abs=0.03)
    assert workload_picks([1.0], 3, random.Random(9)) == [0, 0, 0]
