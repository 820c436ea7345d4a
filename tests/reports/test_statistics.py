"""reports.statistics: the bootstrap is the resampling it claims to be, its intervals cover
known truths, and the scipy-backed statistics agree with scipy and with published values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from reports import statistics
from reports.statistics import Clustered


def _lognormal_rounds(
    rng: np.random.Generator, factor: float, rounds: int, n: int
) -> list[Clustered]:
    return [Clustered.per_unit(rng.lognormal(np.log(5), 0.3, n) * factor) for _ in range(rounds)]


def _explicit_resample_quantiles(
    rounds: list[Clustered], picks: np.ndarray, qs: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The textbook hierarchical bootstrap, one resample at a time (slow, obviously right)."""
    out = np.empty((picks.shape[0], qs.size))
    for row, counts in enumerate(picks):
        values = []
        for round_, times in zip(rounds, counts, strict=True):
            value_of = dict(zip(round_.owners.tolist(), round_.values.tolist(), strict=True))
            for unit in rng.integers(0, round_.units, times * round_.units):
                values.extend([value_of[unit]] if unit in value_of else [])
        out[row] = np.quantile(values, qs, method="inverted_cdf")
    return out


def test_point_estimates_are_numpy_inverted_cdf_quantiles_of_the_pooled_rounds() -> None:
    rng = np.random.default_rng(1)
    base, cand = _lognormal_rounds(rng, 1.0, 3, 50), _lognormal_rounds(rng, 1.2, 3, 50)
    result = statistics.quantile_ratios(
        {"e2e": base}, {"e2e": cand}, [0.5, 0.9], confidence=0.95, resamples=200, seed=(1,)
    )
    pooled_b = np.concatenate([r.values for r in base])
    pooled_c = np.concatenate([r.values for r in cand])
    for interval, q in zip(result["e2e"], (0.5, 0.9), strict=True):
        assert interval.baseline == np.quantile(pooled_b, q, method="inverted_cdf")
        assert interval.candidate == np.quantile(pooled_c, q, method="inverted_cdf")
        assert interval.ratio == pytest.approx(interval.candidate / interval.baseline)
        assert interval.difference == pytest.approx(interval.candidate - interval.baseline)


def test_one_value_per_unit_resamples_have_the_explicit_bootstraps_distribution() -> None:
    # units without a value are failed requests: drawn, but they add no latency
    rng = np.random.default_rng(5)
    rounds = [
        Clustered(rng.lognormal(0, 1, 30), np.arange(30), 40),
        Clustered(rng.lognormal(0.3, 1, 20), np.arange(20) * 2, 45),
    ]
    qs = np.array([0.1, 0.5, 0.9])
    picks = statistics._round_picks(np.random.default_rng(1), 2, 4000)
    lazy = statistics._OneValuePerUnit(rounds).quantiles(picks, qs, np.random.default_rng(2))
    explicit = _explicit_resample_quantiles(rounds, picks, qs, np.random.default_rng(3))
    for column in range(qs.size):
        assert stats.ks_2samp(lazy[:, column], explicit[:, column]).pvalue > 0.01


def test_several_values_per_unit_give_the_quantiles_of_the_expanded_resample_exactly() -> None:
    rng = np.random.default_rng(5)

    def gaps(requests: int, per_request: int) -> Clustered:
        owners = np.repeat(np.arange(requests), per_request)
        keep = rng.random(owners.size) < 0.8  # requests with fewer gaps, some with none
        return Clustered(rng.lognormal(0, 1, owners.size)[keep], owners[keep], requests)

    rounds = [gaps(30, 3), gaps(20, 4)]
    qs = np.array([0.1, 0.5, 0.99])
    picks = statistics._round_picks(np.random.default_rng(1), 2, 500)
    counts = statistics._unit_counts([30, 20], picks, np.random.default_rng(2))
    fast = statistics._SeveralValuesPerUnit(rounds).quantiles(counts, qs)
    values = np.concatenate([r.values for r in rounds])
    owners = np.concatenate([rounds[0].owners, rounds[1].owners + 30])
    for row in range(picks.shape[0]):
        expanded = np.repeat(values, counts[row, owners])
        assert list(fast[row]) == list(np.quantile(expanded, qs, method="inverted_cdf"))


@pytest.mark.parametrize("level", [0.5, 0.9, 0.99])
def test_the_interval_covers_a_known_ratio_at_least_about_as_often_as_it_claims(
    level: float,
) -> None:
    rng = np.random.default_rng(11)
    covered = 0
    trials = 120
    for trial in range(trials):
        base, cand = _lognormal_rounds(rng, 1.0, 4, 300), _lognormal_rounds(rng, 1.1, 4, 300)
        [interval] = statistics.quantile_ratios(
            {"m": base}, {"m": cand}, [level], confidence=0.9, resamples=400, seed=(trial,)
        )["m"]
        covered += interval.low <= 1.1 <= interval.high
    # nominal 90 %. Resampling requests on top of rounds counts the requests' noise twice
    # when the rounds agree (as here), so the interval is conservative, never narrow.
    assert covered / trials >= 0.85


def _interval_of(ratio: float, half: float, difference: float = 0.0) -> statistics.Interval:
    return statistics.Interval(
        1.0,
        ratio,
        ratio,
        ratio * np.exp(-half),
        ratio * np.exp(half),
        difference,
        difference - half,
        difference + half,
        0.9,
    )


def test_rounds_that_agree_leave_the_pooled_interval_as_it_is() -> None:
    pooled = _interval_of(1.1, 0.02)
    rounds = [_interval_of(1.1, 0.05), _interval_of(1.11, 0.05), _interval_of(1.09, 0.05)]
    assert statistics.with_round_spread(pooled, rounds) == pooled
    assert statistics.with_round_spread(pooled, rounds[:1]) == pooled


def test_rounds_that_disagree_beyond_their_noise_widen_it_both_ways() -> None:
    pooled = _interval_of(1.1, 0.02, difference=0.5)
    rounds = [
        _interval_of(1.0, 0.01, 0.0),
        _interval_of(1.2, 0.01, 1.0),
        _interval_of(1.1, 0.01, 0.5),
    ]
    widened = statistics.with_round_spread(pooled, rounds)
    assert widened.low < pooled.low and widened.high > pooled.high
    assert (
        widened.difference_low
        < pooled.difference_low
        < pooled.difference_high
        < widened.difference_high
    )
    assert widened.ratio == pooled.ratio
    # mirrored rounds give the mirrored widening
    mirrored = statistics.with_round_spread(
        _interval_of(1 / 1.1, 0.02, -0.5),
        [_interval_of(1 / r.ratio, 0.01, -r.difference) for r in rounds],
    )
    assert mirrored.low == pytest.approx(1 / widened.high)
    assert mirrored.difference_high == pytest.approx(-widened.difference_low)


def test_widened_intervals_cover_when_each_arms_rounds_drift_apart() -> None:
    # the noise a block-interleaved run meets: each arm's block drifts on its own (8 %)
    rng = np.random.default_rng(21)
    covered, covered_alone, trials = 0, 0, 100
    for trial in range(trials):
        base, cand = (
            [
                Clustered.per_unit(rng.lognormal(np.log(5) + rng.normal(0, 0.08), 0.3, 120))
                for _ in range(4)
            ]
            for _ in range(2)
        )
        pooled = statistics.quantile_ratios(
            {"m": base}, {"m": cand}, [0.5], confidence=0.9, resamples=300, seed=(trial,)
        )["m"][0]
        rounds = [
            statistics.quantile_ratios(
                {"m": [b]}, {"m": [c]}, [0.5], confidence=0.9, resamples=100, seed=(trial, k)
            )["m"][0]
            for k, (b, c) in enumerate(zip(base, cand, strict=True))
        ]
        widened = statistics.with_round_spread(pooled, rounds)
        covered += widened.low <= 1 <= widened.high
        covered_alone += pooled.low <= 1 <= pooled.high
    assert covered_alone / trials < 0.88  # the bootstrap of four rounds alone: too narrow
    assert covered / trials >= 0.88  # nominal 0.9


@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.floats(0.7, 1.5))
def test_swapping_the_arms_mirrors_every_interval(seed: int, rounds: int, factor: float) -> None:
    rng = np.random.default_rng(seed)
    a, b = _lognormal_rounds(rng, 1.0, rounds, 40), _lognormal_rounds(rng, factor, rounds, 40)
    kwargs = {"confidence": 0.9, "resamples": 200, "seed": (seed,)}
    forward = statistics.quantile_ratios(
        {"m": a}, {"m": b}, [0.5, 0.99], labels=("a", "b"), **kwargs
    )
    backward = statistics.quantile_ratios(
        {"m": b}, {"m": a}, [0.5, 0.99], labels=("b", "a"), **kwargs
    )
    for there, back in zip(forward["m"], backward["m"], strict=True):
        assert there.low == pytest.approx(1 / back.high, rel=1e-12)
        assert there.high == pytest.approx(1 / back.low, rel=1e-12)
        assert there.difference_low == pytest.approx(-back.difference_high, abs=1e-12)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another() -> None:
    rng = np.random.default_rng(3)
    a, b = _lognormal_rounds(rng, 1.0, 3, 100), _lognormal_rounds(rng, 1.0, 3, 100)

    def run(seed: int) -> statistics.Interval:
        return statistics.quantile_ratios(
            {"m": a}, {"m": b}, [0.9], confidence=0.95, resamples=300, seed=(seed,)
        )["m"][0]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_rank_test_is_scipys_mann_whitney_and_the_shift_the_median_pairwise_difference() -> None:
    rng = np.random.default_rng(2)
    base, cand = rng.normal(10, 1, 300), rng.normal(10.5, 1, 250)
    result = statistics.rank_test(base, cand)
    expected = stats.mannwhitneyu(cand, base, alternative="two-sided", method="asymptotic")
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.shift == pytest.approx(np.median(np.subtract.outer(cand, base)))
    assert result.shift == pytest.approx(0.5, abs=0.2)
    assert (result.baseline_n, result.candidate_n) == (300, 250)


def test_the_shift_of_large_samples_is_estimated_from_an_even_thinning() -> None:
    rng = np.random.default_rng(4)
    base, cand = rng.normal(0, 1, 20_000), rng.normal(0.3, 1, 20_000)
    assert statistics.rank_test(base, cand).shift == pytest.approx(0.3, abs=0.05)


def test_wilson_and_newcombe_intervals_match_newcombes_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872: 81/263 (Wilson) and method 10
    assert statistics.wilson_interval(81, 263, 0.95) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    first = statistics.proportion_difference(56, 70, 48, 80, 0.95)
    assert (first.difference_low, first.difference_high) == pytest.approx(
        (0.0524, 0.3339), abs=1e-4
    )
    second = statistics.proportion_difference(9, 10, 3, 10, 0.95)
    assert (second.difference_low, second.difference_high) == pytest.approx(
        (0.1705, 0.8090), abs=1e-4
    )


def test_a_proportion_without_trials_is_all_uncertainty() -> None:
    assert statistics.wilson_interval(0, 0, 0.95) == (0.0, 1.0)


def test_a_per_round_rate_gets_students_t_on_the_rounds_log_ratios() -> None:
    base = [(2.0, 100.0), (3.0, 100.0), (2.5, 100.0)]
    cand = [(3.0, 100.0), (3.3, 100.0), (3.0, 100.0)]
    interval = statistics.paired_ratio(base, cand, confidence=0.95)
    logs = np.log([3.0 / 2.0, 3.3 / 3.0, 3.0 / 2.5])
    expected = stats.t.interval(0.95, 2, loc=logs.mean(), scale=stats.sem(logs))
    assert (np.log(interval.low), np.log(interval.high)) == pytest.approx(expected)
    assert interval.ratio == pytest.approx(np.exp(logs.mean()))
    assert (interval.baseline, interval.candidate) == pytest.approx((7.5 / 300, 9.3 / 300))
    swapped = statistics.paired_ratio(cand, base, confidence=0.95)
    assert swapped.low == pytest.approx(1 / interval.high)


def test_one_round_leaves_a_per_round_rate_unknown() -> None:
    interval = statistics.paired_ratio([(2.0, 100.0)], [(3.0, 100.0)], confidence=0.95)
    assert interval.ratio == pytest.approx(1.5)
    assert np.isnan(interval.low) and np.isnan(interval.difference_high)


def test_extra_rounds_follow_the_square_root_law() -> None:
    # an interval twice as wide as the distance to the boundary needs four times the rounds
    assert statistics.extra_rounds(1.0, 3.0, 2.0, 2.5, 4, log_scale=False) == pytest.approx(12)
    assert statistics.extra_rounds(1.0, 3.0, 2.0, 3.5, 4, log_scale=False) == 0
    assert statistics.extra_rounds(1.0, 3.0, 2.0, 2.0, 4, log_scale=False) == float("inf")
