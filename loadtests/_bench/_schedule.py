"""Schedules: when each request is meant to leave, which arm and workload it is, block order.

Operations
    arrivals(n, rate, kind, rng) -> [seconds]       intended send times from the block's start:
                                                    seeded Poisson (exponential gaps) or constant
    interleaved_arms(arms, pairs, rng) -> [arm]     request by request: each run of len(arms)
                                                    requests holds every arm once, shuffled
    block_order(arms, round_) -> [arm]              ABBA: forward in even rounds, reversed in odd
    workload_picks(weights, n, rng) -> [index]      the workload of each request, by weight

Goals: reproducible (everything is drawn from a `random.Random` the caller seeds from the
plan's seed and the round, so both arms of a round get the same arrivals and payloads) and
open-loop honest: a Poisson schedule is rescaled so its span is exactly n / rate (vLLM's
practice: the sum of n exponential gaps strays a few percent from n / rate, which would make
two seeds offer different loads), while keeping the exponential shape of the gaps.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Literal, TypeVar

__all__ = ["arrivals", "block_order", "interleaved_arms", "workload_picks"]

T = TypeVar("T")


def arrivals(
    n: int, rate: float, kind: Literal["poisson", "constant"], rng: random.Random
) -> list[float]:
    """`n` intended send times in seconds from 0, `rate` per second on average; the first at 0."""
    if n <= 0:
        return []
    if rate <= 0:
        raise ValueError("rate must be positive")
    if kind == "constant":
        return [index / rate for index in range(n)]
    gaps = [rng.expovariate(rate) for _ in range(n)]
    scale = (n / rate) / sum(gaps)
    times = list(itertools.accumulate(gap * scale for gap in gaps))
    return [0.0, *times[:-1]]


def interleaved_arms(arms: Sequence[T], pairs: int, rng: random.Random) -> list[T]:
    """`pairs` runs of every arm once, each run in a random order."""
    order: list[T] = []
    for _ in range(pairs):
        run = list(arms)
        rng.shuffle(run)
        order.extend(run)
    return order


def block_order(arms: Sequence[T], round_: int) -> list[T]:
    """The arms' blocks in round `round_`: A B, then B A, ... (ABBA over two rounds)."""
    return list(arms) if round_ % 2 == 0 else list(reversed(arms))


def workload_picks(weights: Sequence[float], n: int, rng: random.Random) -> list[int]:
    """The index of the workload of each of `n` requests, drawn by weight."""
    if len(weights) == 1:
        return [0] * n
    return rng.choices(range(len(weights)), weights=weights, k=n)
