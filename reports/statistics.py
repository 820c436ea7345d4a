"""The gate's numbers: quantile ratios by hierarchical bootstrap, a rank test, proportions.

Operations
    Clustered(values, owners, units)        one arm's observations of one metric in one round:
                                            each value belongs to a unit (a request) of the round
    quantile(values, q) -> float            the inverted-CDF quantile (numpy's `inverted_cdf`)
    quantile_ratios(baseline, candidate, quantiles, *, confidence, resamples, seed)
        -> list[Interval]                   candidate/baseline ratio of each quantile, its
                                            interval, and the difference in the metric's unit
    with_round_spread(pooled, per_round) -> Interval
                                            the pooled interval widened by the rounds'
                                            disagreement beyond their own noise (few rounds)
    paired_ratio(baseline, candidate, *, confidence) -> Interval
                                            a per-round rate (CPU per request, throughput):
                                            Student's t on the rounds' log ratios
    rank_test(baseline, candidate) -> RankTest
                                            Mann-Whitney U p-value and the Hodges-Lehmann shift
    wilson_interval(successes, trials, confidence) -> (low, high)
    proportion_difference(x_candidate, n_candidate, x_baseline, n_baseline, confidence)
        -> Interval                         Newcombe's hybrid score interval from two Wilson ones
    extra_rounds(interval, boundary, rounds, *, log_scale) -> float
                                            rounds to add before the interval clears a boundary

Goals
    Numbers in, numbers out: no result files, no policy, no verdicts here (`reports.verdicts`
    decides). scipy where scipy has the statistic (Mann-Whitney U, binomial intervals), numpy
    for the rest, and the bootstrap vectorised so a gate judges a track in about a second.

Plan
    The bootstrap resamples rounds first (the same picks for both arms: rounds are paired,
    both arms ran in the same time window), then units within each picked round, separately
    per arm. A round picked m times contributes a multinomial draw of m·n units from its n
    units, so one resample is a matrix of unit counts; a quantile of the resample is found in
    the values sorted once, by the cumulative counts (no copy of the data per resample).
    Intervals are percentile intervals of the log ratio (linear interpolation), so swapping
    the arms mirrors them exactly: each arm's draws come from a generator keyed by the arm's
    own label, never by its role.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Elements of a (resamples x values) matrix handled at once: bounds memory for long ITL lists.
_CHUNK_ELEMENTS = 4_000_000
# Pairwise differences for the Hodges-Lehmann shift: larger samples are thinned evenly.
_SHIFT_SAMPLE = 1_000


@dataclass(frozen=True)
class Clustered:
    """One arm's values of one metric in one round; `owners[i]` is the unit of `values[i]`."""

    values: FloatArray
    owners: IntArray
    units: int

    @classmethod
    def per_unit(cls, values: Sequence[float] | FloatArray) -> Clustered:
        """One value per unit (the common case: one latency per request)."""
        array = np.asarray(values, dtype=np.float64)
        return cls(array, np.arange(array.size, dtype=np.int64), int(array.size))


@dataclass(frozen=True)
class Interval:
    """A point estimate with its interval; `difference` is candidate minus baseline."""

    baseline: float
    candidate: float
    ratio: float
    low: float
    high: float
    difference: float
    difference_low: float
    difference_high: float
    confidence: float


@dataclass(frozen=True)
class RankTest:
    """Mann-Whitney U (two-sided) and the Hodges-Lehmann shift, candidate minus baseline."""

    p_value: float
    shift: float
    baseline_n: int
    candidate_n: int


def generator(*key: int | str) -> np.random.Generator:
    """A generator seeded by a tuple of labels (stable across runs and platforms)."""
    entropy = [zlib.crc32(str(part).encode("utf-8")) for part in key]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def quantile(values: Sequence[float] | FloatArray, q: float) -> float:
    """The inverted-CDF quantile: the smallest value whose share at or below it is >= q."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return math.nan
    return float(np.quantile(array, q, method="inverted_cdf"))


def quantile_ratios(
    baseline: Mapping[str, Sequence[Clustered]],
    candidate: Mapping[str, Sequence[Clustered]],
    quantiles: Sequence[float],
    *,
    confidence: float,
    resamples: int,
    seed: tuple[int | str, ...],
    labels: tuple[str, str] = ("baseline", "candidate"),
) -> dict[str, list[Interval]]:
    """Per metric, the candidate/baseline ratio of each quantile with a bootstrap interval.

    `baseline[metric][k]` and `candidate[metric][k]` are round k of each arm (rounds paired);
    the metrics of one arm share its units (requests), so one resample serves them all.
    `labels` key the arms' generators: pass the arm names, and swapping the arms mirrors
    every interval exactly.
    """
    metrics = [m for m in baseline if m in candidate]
    rounds = {len(arm[m]) for arm in (baseline, candidate) for m in metrics}
    if len(rounds) != 1 or rounds == {0}:
        raise ValueError("quantile_ratios needs the same rounds (at least one) in every metric")
    qs = np.asarray(quantiles, dtype=np.float64)
    picks = _round_picks(generator(*seed, "rounds"), rounds.pop(), resamples)
    widest = max(
        max(_pooled(arm[m])[0].size, sum(r.units for r in arm[m]))
        for arm in (baseline, candidate)
        for m in metrics
    )
    chunk = max(1, min(resamples, _CHUNK_ELEMENTS // max(widest, 1)))
    boot_b = _bootstrap_quantiles(baseline, metrics, qs, picks, chunk, generator(*seed, labels[0]))
    boot_c = _bootstrap_quantiles(candidate, metrics, qs, picks, chunk, generator(*seed, labels[1]))
    result: dict[str, list[Interval]] = {}
    for metric in metrics:
        pooled_b, pooled_c = _pooled(baseline[metric])[0], _pooled(candidate[metric])[0]
        result[metric] = [
            _interval(
                quantile(pooled_b, float(q)),
                quantile(pooled_c, float(q)),
                boot_b[metric][:, index],
                boot_c[metric][:, index],
                confidence,
            )
            for index, q in enumerate(qs)
        ]
    return result


def paired_ratio(
    baseline: Sequence[tuple[float, float]],
    candidate: Sequence[tuple[float, float]],
    *,
    confidence: float,
) -> Interval:
    """Candidate/baseline of a per-round rate (numerator / denominator), rounds paired.

    Each item is one round's (numerator, denominator), e.g. (CPU ms, requests) or
    (successful responses, seconds). There is one value per arm per round and only a few
    rounds, so a bootstrap over them would claim too much: the interval is Student's t on
    the rounds' log ratios (scipy's ttest_1samp), the point their geometric mean; the
    difference gets the same on the rounds' differences. One round: unknown (nan).
    """
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("paired_ratio needs the same rounds (at least one) in both arms")
    num_b, den_b = (np.asarray(column, dtype=np.float64) for column in zip(*baseline, strict=True))
    num_c, den_c = (np.asarray(column, dtype=np.float64) for column in zip(*candidate, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_b, rate_c = num_b / den_b, num_c / den_c
        logs = np.log(rate_c) - np.log(rate_b)
        point_b = float(num_b.sum() / den_b.sum())
        point_c = float(num_c.sum() / den_c.sum())
    differences = rate_c - rate_b
    low, high = _t_interval(logs, confidence)
    d_low, d_high = _t_interval(differences, confidence)
    ratio = float(np.exp(logs.mean())) if np.isfinite(logs).all() else math.nan
    return Interval(
        point_b,
        point_c,
        ratio,
        math.exp(low),
        math.exp(high),
        point_c - point_b,
        d_low,
        d_high,
        confidence,
    )


def with_round_spread(pooled: Interval, per_round: Sequence[Interval]) -> Interval:
    """`pooled` widened by the rounds' disagreement beyond what their own noise explains.

    A bootstrap over a handful of rounds understates how far rounds disagree (re-drawing
    three values cannot show the spread of the next three), and on a shared machine the
    noise between rounds is the real noise. So, as in a random-effects meta-analysis
    (DerSimonian and Laird), the rounds' estimates and their own intervals give the variance
    between rounds beyond sampling (Cochran's Q); its share of the pooled estimate, scaled by
    Student's t with rounds - 1 degrees of freedom, is added to the interval's half-widths,
    on the log scale for the ratio and the linear one for the difference. Rounds that agree
    leave the bootstrap's interval as it is.
    """
    if len(per_round) < 2:
        return pooled
    widen = _between_rounds(
        [math.log(r.ratio) if r.ratio > 0 else math.nan for r in per_round],
        [_half_width(math.log, r.low, r.high) for r in per_round],
        pooled.confidence,
    )
    widen_difference = _between_rounds(
        [r.difference for r in per_round],
        [_half_width(float, r.difference_low, r.difference_high) for r in per_round],
        pooled.confidence,
    )
    low, high = pooled.low, pooled.high
    if widen > 0 and all(math.isfinite(v) and v > 0 for v in (low, high, pooled.ratio)):
        center = math.log(pooled.ratio)
        low = math.exp(center - math.hypot(center - math.log(low), widen))
        high = math.exp(center + math.hypot(math.log(high) - center, widen))
    d_low, d_high, d = pooled.difference_low, pooled.difference_high, pooled.difference
    if widen_difference > 0 and all(math.isfinite(v) for v in (d_low, d_high, d)):
        d_low = d - math.hypot(d - d_low, widen_difference)
        d_high = d + math.hypot(d_high - d, widen_difference)
    return dataclasses.replace(
        pooled, low=low, high=high, difference_low=d_low, difference_high=d_high
    )


def _half_width(scale: Any, low: float, high: float) -> float:
    try:
        return float((scale(high) - scale(low)) / 2)
    except ValueError:
        return math.nan


def _between_rounds(
    estimates: Sequence[float], half_widths: Sequence[float], confidence: float
) -> float:
    """Half-width to add for the variance between rounds beyond their sampling noise.

    `half_widths` are the rounds' own intervals at `confidence`; 0 when the rounds agree or
    when a round has no usable interval.
    """
    y = np.asarray(estimates, dtype=np.float64)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    variance = (np.asarray(half_widths, dtype=np.float64) / z) ** 2
    if not (np.isfinite(y).all() and np.isfinite(variance).all() and (variance > 0).all()):
        return 0.0
    weights = 1 / variance
    mean = float((weights * y).sum() / weights.sum())
    q = float((weights * (y - mean) ** 2).sum())
    scale = float(weights.sum() - (weights**2).sum() / weights.sum())
    between = max(0.0, (q - (y.size - 1)) / scale)
    t = float(stats.t.ppf(0.5 + confidence / 2, y.size - 1))
    return t * math.sqrt(between / y.size)


def _t_interval(values: FloatArray, confidence: float) -> tuple[float, float]:
    """Student's t interval of the mean (nan with fewer than two finite values)."""
    if values.size < 2 or not np.isfinite(values).all():
        return math.nan, math.nan
    if np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        return float(values.mean()), float(values.mean())  # identical rounds: no spread
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return float(ci.low), float(ci.high)


def rank_test(
    baseline: Sequence[float] | FloatArray, candidate: Sequence[float] | FloatArray
) -> RankTest:
    """Mann-Whitney U on the pooled samples and the Hodges-Lehmann shift (median difference)."""
    base = np.asarray(baseline, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if base.size == 0 or cand.size == 0:
        return RankTest(math.nan, math.nan, int(base.size), int(cand.size))
    result = stats.mannwhitneyu(cand, base, alternative="two-sided", method="asymptotic")
    shift = float(np.median(np.subtract.outer(_thinned(cand), _thinned(base))))
    return RankTest(float(result.pvalue), shift, int(base.size), int(cand.size))


def wilson_interval(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion (scipy's binomtest); (0, 1) without trials."""
    if trials == 0:
        return 0.0, 1.0
    ci = stats.binomtest(successes, trials).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def proportion_difference(
    x_candidate: int, n_candidate: int, x_baseline: int, n_baseline: int, confidence: float
) -> Interval:
    """Candidate minus baseline proportion with Newcombe's hybrid score interval (method 10).

    `ratio`, `low` and `high` carry the difference too (a ratio of rates near zero says
    little); the baseline and candidate fields are the two proportions.
    """
    p_c = x_candidate / n_candidate if n_candidate else math.nan
    p_b = x_baseline / n_baseline if n_baseline else math.nan
    low_c, high_c = wilson_interval(x_candidate, n_candidate, confidence)
    low_b, high_b = wilson_interval(x_baseline, n_baseline, confidence)
    difference = p_c - p_b
    low = difference - math.hypot(p_c - low_c, high_b - p_b)
    high = difference + math.hypot(high_c - p_c, p_b - low_b)
    return Interval(p_b, p_c, difference, low, high, difference, low, high, confidence)


def extra_rounds(
    low: float, high: float, point: float, boundary: float, rounds: int, *, log_scale: bool
) -> float:
    """Rounds to add so an interval this wide around `point` no longer straddles `boundary`.

    The interval's half-width shrinks as 1/sqrt(rounds); the answer is what that predicts
    (inf when the estimate sits on the boundary), a guide for HOLD, not a promise.
    """
    scale = math.log if log_scale else float
    try:
        half = (scale(high) - scale(low)) / 2
        distance = abs(scale(point) - scale(boundary))
    except ValueError:
        return math.inf
    if not (math.isfinite(half) and math.isfinite(distance)):
        return math.inf
    if distance == 0:
        return math.inf
    return max(0.0, rounds * ((half / distance) ** 2 - 1))


def _pooled(rounds: Sequence[Clustered]) -> tuple[FloatArray, IntArray]:
    """All rounds' values, and each value's unit numbered across rounds."""
    offsets = np.cumsum([0] + [r.units for r in rounds[:-1]])
    values = np.concatenate([r.values for r in rounds]) if rounds else np.empty(0)
    owners = np.concatenate([r.owners + offset for r, offset in zip(rounds, offsets, strict=True)])
    return values.astype(np.float64), owners.astype(np.int64)


def _round_picks(rng: np.random.Generator, rounds: int, resamples: int) -> IntArray:
    """How often each round is drawn in each resample (rows sum to `rounds`)."""
    picks: IntArray = rng.multinomial(rounds, np.full(rounds, 1 / rounds), size=resamples)
    return picks


def _bootstrap_quantiles(
    arm: Mapping[str, Sequence[Clustered]],
    metrics: Sequence[str],
    qs: FloatArray,
    picks: IntArray,
    chunk: int,
    rng: np.random.Generator,
) -> dict[str, FloatArray]:
    """Per metric, the (resamples x quantiles) matrix of the arm's resampled quantiles."""
    out = {}
    grouped = []
    for metric in metrics:
        rounds = arm[metric]
        if all(np.unique(r.owners).size == r.owners.size for r in rounds):
            out[metric] = _OneValuePerUnit(rounds).quantiles(picks, qs, rng)
        else:
            grouped.append((metric, _SeveralValuesPerUnit(rounds)))
            out[metric] = np.full((picks.shape[0], qs.size), np.nan)
    # several values per unit (ITL: the gaps of one request) need every unit's count
    units = [r.units for r in arm[grouped[0][0]]] if grouped else []
    for start in range(0, picks.shape[0] if grouped else 0, chunk):
        counts = _unit_counts(units, picks[start : start + chunk], rng)
        for metric, layout in grouped:
            out[metric][start : start + chunk] = layout.quantiles(counts, qs)
    return out


def _unit_counts(units: Sequence[int], picks: IntArray, rng: np.random.Generator) -> IntArray:
    """Every unit's count in each resample: a round picked m times draws m·n of its n units."""
    columns = [
        rng.multinomial(picks[:, index] * n, np.full(n, 1 / n))
        for index, n in enumerate(units)
        if n
    ]
    counts: IntArray = np.concatenate([*columns, np.zeros((picks.shape[0], 1), np.int64)], axis=1)
    return counts  # the last column is a unit that never counts (padding)


def _targets(totals: IntArray, qs: FloatArray) -> FloatArray:
    """The rank each quantile must reach: ceil(q·n) as numpy's inverted_cdf, at least one.

    `totals` and `qs` broadcast against each other (the caller lines them up).
    """
    return np.maximum(np.ceil(totals * qs), 1)


class _OneValuePerUnit:
    """Resampled quantiles of a metric with one value per unit (a latency per request).

    A round's resample is a multinomial over its sorted values, and the count below a rank,
    given the counts below two ranks around it, is binomial. So a binary search over the
    pooled values draws log2(n) binomials per round, never n counts. Each quantile gets its
    own resample (intervals are read one quantile at a time; that changes none of them).
    """

    def __init__(self, rounds: Sequence[Clustered]) -> None:
        sorted_rounds = [np.sort(r.values) for r in rounds]
        self.units = np.array([r.units for r in rounds], dtype=np.int64)
        self.sizes = np.array([r.values.size for r in rounds], dtype=np.int64)
        self.pooled = np.sort(np.concatenate(sorted_rounds))
        # ranks[k, j]: how many of round k's values are <= pooled[j]
        self.ranks = np.array(
            [np.searchsorted(v, self.pooled, side="right") for v in sorted_rounds], dtype=np.int64
        ).reshape(len(rounds), self.pooled.size)

    def quantiles(self, picks: IntArray, qs: FloatArray, rng: np.random.Generator) -> FloatArray:
        rows, levels = picks.shape[0], qs.size
        if self.pooled.size == 0:
            return np.full((rows, levels), np.nan)
        shape = (rows, levels, self.units.size)
        share = np.divide(
            self.sizes, self.units, out=np.zeros(self.units.size), where=self.units > 0
        )
        # the draws that land on a unit with a value (a failed request has none)
        count_high = rng.binomial(
            np.broadcast_to((picks * self.units)[:, None, :], shape), np.broadcast_to(share, shape)
        )
        count_low = np.zeros(shape, dtype=np.int64)
        rank_high = np.broadcast_to(self.sizes, shape).copy()
        rank_low = np.zeros(shape, dtype=np.int64)
        totals = count_high.sum(axis=2)
        targets = _targets(totals, qs[None, :])
        low = np.full((rows, levels), -1, dtype=np.int64)  # weight there: 0, below any target
        high = np.full((rows, levels), self.pooled.size - 1, dtype=np.int64)  # weight: total
        while np.any(high - low > 1):
            middle = (low + high) // 2
            rank = np.moveaxis(self.ranks[:, np.maximum(middle, 0)], 0, -1)
            span = rank_high - rank_low
            p = np.divide(rank - rank_low, span, out=np.zeros(shape), where=span > 0)
            count = count_low + rng.binomial(count_high - count_low, np.clip(p, 0, 1))
            active = high - low > 1  # a finished search keeps its bracket
            reached = active & (count.sum(axis=2) >= targets)
            missed = active & ~reached
            count_high = np.where(reached[..., None], count, count_high)
            rank_high = np.where(reached[..., None], rank, rank_high)
            count_low = np.where(missed[..., None], count, count_low)
            rank_low = np.where(missed[..., None], rank, rank_low)
            high = np.where(reached, middle, high)
            low = np.where(missed, middle, low)
        result = self.pooled[high]
        result[totals == 0] = np.nan
        return result


class _SeveralValuesPerUnit:
    """Resampled quantiles of a metric with several values per unit (ITL gaps per request).

    The pooled sorted values are cut into cells of consecutive values; a matrix product of
    the units' counts with each unit's values per cell gives the weight of every cell, and
    only the cell that holds a quantile is looked at value by value.
    """

    _CELLS = 64

    def __init__(self, rounds: Sequence[Clustered]) -> None:
        values, owners = _pooled(rounds)
        order = np.argsort(values, kind="stable")
        self.pooled = values[order]
        size = self.pooled.size
        cells = max(1, min(self._CELLS, size))
        self.edges = np.linspace(0, size, cells + 1).astype(np.int64)
        cell_of = np.searchsorted(self.edges, np.arange(size), side="right") - 1
        units = int(sum(r.units for r in rounds))
        self.per_cell = np.zeros((units + 1, cells))  # values of each unit in each cell
        np.add.at(self.per_cell, (owners[order], cell_of), 1)
        width = int(np.diff(self.edges).max()) if size else 0
        # each cell's owners in value order, padded with the unit that never counts
        self.cell_owners = np.full((cells, width), units, dtype=np.int64)
        for cell in range(cells):
            members = owners[order][self.edges[cell] : self.edges[cell + 1]]
            self.cell_owners[cell, : members.size] = members

    def quantiles(self, counts: IntArray, qs: FloatArray) -> FloatArray:
        rows = counts.shape[0]
        if self.pooled.size == 0:
            return np.full((rows, qs.size), np.nan)
        cell_weights = np.rint(counts @ self.per_cell).astype(np.int64)
        cumulative = np.cumsum(cell_weights, axis=1)
        totals = cumulative[:, -1]
        targets = _targets(totals[:, None], qs[None, :])  # (rows, quantiles)
        cell = (cumulative[:, :, None] >= targets[:, None, :]).argmax(axis=1)
        before = np.where(cell > 0, np.take_along_axis(cumulative, np.maximum(cell - 1, 0), 1), 0)
        inside = np.cumsum(counts[np.arange(rows)[:, None, None], self.cell_owners[cell]], axis=2)
        offset = (inside < (targets - before)[..., None]).sum(axis=2)
        positions = np.minimum(self.edges[cell] + offset, self.pooled.size - 1)
        result: FloatArray = self.pooled[positions]
        result[totals == 0] = np.nan
        return result


def _interval(
    point_b: float,
    point_c: float,
    boot_b: FloatArray,
    boot_c: FloatArray,
    confidence: float,
) -> Interval:
    alpha = 1 - confidence
    percentiles = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratios = np.log(boot_c) - np.log(boot_b)
        ratio = point_c / point_b if point_b > 0 else math.nan
    differences = boot_c - boot_b
    # a resample without values (nan) or a zero quantile (an infinite ratio) leaves the
    # interval unknown rather than quietly narrowed to the other resamples
    low, high = (
        (float(v) for v in np.exp(np.percentile(log_ratios, percentiles)))
        if log_ratios.size and np.isfinite(log_ratios).all()
        else (math.nan, math.nan)
    )
    d_low, d_high = (
        (float(v) for v in np.percentile(differences, percentiles))
        if differences.size and np.isfinite(differences).all()
        else (math.nan, math.nan)
    )
    return Interval(
        point_b, point_c, ratio, low, high, point_c - point_b, d_low, d_high, confidence
    )


def _thinned(values: FloatArray) -> FloatArray:
    if values.size <= _SHIFT_SAMPLE:
        return values
    return np.sort(values)[np.linspace(0, values.size - 1, _SHIFT_SAMPLE).astype(np.int64)]
