"""From result documents to what the gate compares: two arms, their conditions, paired rounds.

Operations
    Source(name, document)          one loaded result file (`result_format.load`)
    ArmRef(source, arm)             an arm of one source
    arms_within(sources, baseline=None, candidate=None) -> (list[ArmRef], list[ArmRef])
                                    the two arms of one run, or of several runs of one plan
    arms_across(baseline_source, candidate_source, baseline=None, candidate=None)
                                    one file per arm (e.g. two Locust runs)
    measure(sources, baseline, candidate, *, coordinated_omission) -> Measured
                                    every condition's rounds that both arms measured validly
    measure_arm(sources, arm, *, coordinated_omission) -> (rounds per condition, notes)
                                    one arm's valid rounds (for absolute objectives)
    condition_names(sources) -> {(source, block): name}
                                    what each block measured: workload and load level
    ArmError                        a requested arm is missing or ambiguous (one line)

Goals
    What reaches the statistics is only what may be judged: blocks the runner marked
    inconclusive are left out and named in the notes, rounds are paired (a round missing in
    one arm is dropped from both), and failed requests carry no latency (a quick 429 must
    not look like a fast answer). Open-loop latencies are corrected for coordinated
    omission (latency + lag_ms: measured from the intended send) unless told otherwise.

Plan
    A condition is what a block measured: its workload and load (open at a rate, or closed
    at a concurrency); conditions are compared separately. Blocks of one arm, one round and
    one condition are merged into one `RoundData`. Rounds pair by (file, round) when both
    arms come from the same files, and by round number when each arm has its own file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from reports.statistics import Clustered

# measured from the send, so the send's lag is added in an open loop; ITL and TPOT are gaps
_FROM_SEND = ("ttfb", "ttft", "e2e")
_PER_REQUEST = ("ttfb", "ttft", "tpot", "e2e")

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class ArmError(ValueError):
    """The arms to compare cannot be found as asked; the message is one line."""


@dataclass(frozen=True)
class Source:
    """One result file: the name it is reported by, and its validated document."""

    name: str
    document: dict[str, Any]

    @property
    def arm_names(self) -> list[str]:
        return [arm["name"] for arm in self.document["arms"]]


@dataclass(frozen=True)
class ArmRef:
    """An arm of one source."""

    source: int
    arm: str


@dataclass
class RoundData:
    """One arm's requests in one round of one condition (its blocks merged)."""

    label: str
    mode: str
    ok: BoolArray
    latency: dict[str, FloatArray]  # per request; nan where absent or the request failed
    itl_values: FloatArray
    itl_owners: npt.NDArray[np.int64]
    start_s: FloatArray
    lag_ms: FloatArray
    duration_s: float
    proxy_cpu_s: float | None
    error_types: Counter[str]
    blocks: list[str]

    @property
    def requests(self) -> int:
        return int(self.ok.size)

    @property
    def successes(self) -> int:
        return int(self.ok.sum())

    def clustered(self, metric: str) -> Clustered:
        """The metric's values, each owned by its request (for the bootstrap)."""
        if metric == "itl":
            return Clustered(self.itl_values, self.itl_owners, self.requests)
        values = self.latency[metric]
        present = np.flatnonzero(~np.isnan(values))
        return Clustered(values[present], present.astype(np.int64), self.requests)


@dataclass
class ConditionData:
    """One condition, with the rounds both arms measured validly, in the same order."""

    name: str
    mode: str
    baseline: list[RoundData]
    candidate: list[RoundData]

    def has(self, metric: str) -> bool:
        """Whether both arms measured the metric at all."""
        return all(
            any(r.clustered(metric).values.size for r in arm)
            for arm in (self.baseline, self.candidate)
        )


@dataclass
class Measured:
    """What the comparison may judge, and what it had to leave out (the validity notes)."""

    conditions: list[ConditionData]
    notes: list[str] = field(default_factory=list)
    excluded_blocks: int = 0


def arms_within(
    sources: Sequence[Source], baseline: str | None = None, candidate: str | None = None
) -> tuple[list[ArmRef], list[ArmRef]]:
    """The two arms of one run (or of several runs of one plan): by name, else by role."""
    first = sources[0]
    base = baseline or _by_role(first, "baseline", "--baseline")
    cand = candidate or _by_role(first, "candidate", "--candidate")
    if base == cand:
        raise ArmError(f"{first.name}: the baseline and the candidate are the same arm {base!r}")
    for source in sources:
        for name in (base, cand):
            if name not in source.arm_names:
                raise ArmError(
                    f"{source.name}: no arm {name!r} (arms: {', '.join(source.arm_names)})"
                )
    return (
        [ArmRef(i, base) for i in range(len(sources))],
        [ArmRef(i, cand) for i in range(len(sources))],
    )


def arms_across(
    sources: Sequence[Source], baseline: str | None = None, candidate: str | None = None
) -> tuple[list[ArmRef], list[ArmRef]]:
    """One file per arm: the baseline's from the first file, the candidate's from the second."""
    base_source, cand_source = sources
    return (
        [ArmRef(0, _only_arm(base_source, baseline, "baseline"))],
        [ArmRef(1, _only_arm(cand_source, candidate, "candidate"))],
    )


def measure(
    sources: Sequence[Source],
    baseline: Sequence[ArmRef],
    candidate: Sequence[ArmRef],
    *,
    coordinated_omission: bool = True,
) -> Measured:
    """Every condition's paired valid rounds, and notes on what was left out and why."""
    shared_files = {a.source for a in baseline} == {a.source for a in candidate}
    measured = Measured([])
    names = condition_names(sources)
    sides = [
        _collect(sources, refs, names, shared_files, coordinated_omission, measured)
        for refs in (baseline, candidate)
    ]
    for condition in dict.fromkeys([*sides[0], *sides[1]]):
        base_rounds, cand_rounds = (side.get(condition, {}) for side in sides)
        paired = sorted(set(base_rounds) & set(cand_rounds), key=_sort_key)
        for key in sorted(set(base_rounds) ^ set(cand_rounds), key=_sort_key):
            side = "baseline" if key in base_rounds else "candidate"
            measured.notes.append(
                f"{condition}: {_round_label(sources, key)} has no valid {_other(side)} "
                f"block; its {side} block is not judged (rounds are compared in pairs)"
            )
        if paired:
            mode = base_rounds[paired[0]].mode
            measured.conditions.append(
                ConditionData(
                    condition,
                    mode,
                    [base_rounds[key] for key in paired],
                    [cand_rounds[key] for key in paired],
                )
            )
    return measured


def measure_arm(
    sources: Sequence[Source], arm: ArmRef, *, coordinated_omission: bool = True
) -> tuple[dict[str, list[RoundData]], list[str]]:
    """One arm's valid rounds per condition (for absolute objectives), and the notes."""
    measured = Measured([])
    collected = _collect(
        sources, [arm], condition_names(sources), len(sources) > 1, coordinated_omission, measured
    )
    rounds = {
        c: [by_key[k] for k in sorted(by_key, key=_sort_key)] for c, by_key in collected.items()
    }
    return rounds, measured.notes


def _collect(
    sources: Sequence[Source],
    refs: Sequence[ArmRef],
    names: dict[tuple[int, int], str],
    by_file: bool,
    coordinated_omission: bool,
    measured: Measured,
) -> dict[str, dict[Any, RoundData]]:
    """The arm's valid blocks as rounds, per condition; inconclusive blocks go to the notes."""
    locations: dict[str, dict[Any, list[tuple[int, int]]]] = {}
    for ref in refs:
        for index, block in enumerate(sources[ref.source].document["blocks"]):
            if block["arm"] != ref.arm:
                continue
            if block["validity"]["status"] != "valid":
                reasons = "; ".join(block["validity"]["reasons"]) or "no reason given"
                measured.notes.append(
                    f"{sources[ref.source].name}: blocks[{index}] ({block['arm']}, round "
                    f"{block['round']}, {names[ref.source, index]}): inconclusive, not judged "
                    f"({reasons})"
                )
                measured.excluded_blocks += 1
                continue
            key = (ref.source, block["round"]) if by_file else block["round"]
            by_key = locations.setdefault(names[ref.source, index], {})
            by_key.setdefault(key, []).append((ref.source, index))
    return {
        condition: {
            key: _round(sources, key, where, coordinated_omission) for key, where in by_key.items()
        }
        for condition, by_key in locations.items()
    }


def condition_names(sources: Sequence[Source]) -> dict[tuple[int, int], str]:
    """What each block measured, as a person reads it: `small_chat, open 60 req/s`.

    Blocks with the same name are one condition. A runner that draws a schedule per block
    offers 59.6 or 60.8 requests per second for a plan's 60, so open-loop rates within 20 %
    of each other are one load level, named by their median to two significant digits.
    """
    blocks = {
        (s, i): block
        for s, source in enumerate(sources)
        for i, block in enumerate(source.document["blocks"])
    }
    rates = sorted(
        {
            b["intended_rate"]
            for b in blocks.values()
            if b["mode"] == "open" and b.get("intended_rate") is not None
        }
    )
    level: dict[float, float] = {}
    group: list[float] = []
    for rate in [*rates, math.inf]:
        if group and rate > group[0] * 1.2:
            median = float(np.median(group))
            level.update({member: median for member in group})
            group = []
        group.append(rate)
    return {key: _condition(block, level) for key, block in blocks.items()}


def _condition(block: dict[str, Any], level: dict[float, float]) -> str:
    if block["mode"] == "open":
        rate = block.get("intended_rate")
        load = f"open {float(f'{level[rate]:.2g}'):g} req/s" if rate is not None else "open"
    else:
        concurrency = block.get("concurrency")
        load = f"closed, {concurrency} in flight" if concurrency is not None else "closed"
    return f"{block['workload']}, {load}"


def _by_role(source: Source, role: str, option: str) -> str:
    names: list[str] = [arm["name"] for arm in source.document["arms"] if arm["role"] == role]
    if len(names) != 1:
        found = "none" if not names else ", ".join(names)
        raise ArmError(
            f"{source.name}: arms: {len(names)} arms have role {role!r} ({found}); "
            f"name the arm with {option}"
        )
    return names[0]


def _only_arm(source: Source, name: str | None, role: str) -> str:
    if name is not None:
        if name not in source.arm_names:
            raise ArmError(f"{source.name}: no arm {name!r} (arms: {', '.join(source.arm_names)})")
        return name
    if len(source.arm_names) == 1:
        return source.arm_names[0]
    return _by_role(source, role, f"--{role}")


def _other(side: str) -> str:
    return "candidate" if side == "baseline" else "baseline"


def _sort_key(key: Any) -> tuple[int, int]:
    return key if isinstance(key, tuple) else (0, key)


def _round_label(sources: Sequence[Source], key: Any) -> str:
    if isinstance(key, tuple) and len(sources) > 1:
        return f"{sources[key[0]].name} round {key[1]}"
    return f"round {key[1] if isinstance(key, tuple) else key}"


def _round(
    sources: Sequence[Source],
    key: Any,
    locations: Iterable[tuple[int, int]],
    coordinated_omission: bool,
) -> RoundData:
    """Merge one arm's blocks of one round and condition into arrays."""
    blocks = [sources[s].document["blocks"][i] for s, i in locations]
    samples = [sample for block in blocks for sample in block["samples"]]
    open_loop = [block["mode"] == "open" and coordinated_omission for block in blocks]
    shifted = np.array(
        [flag for block, flag in zip(blocks, open_loop, strict=True) for _ in block["samples"]],
        dtype=bool,
    )
    ok = np.array([_succeeded(s) for s in samples], dtype=bool)
    lag = np.array([s["lag_ms"] for s in samples], dtype=np.float64)
    latency = {}
    for metric in _PER_REQUEST:
        values = np.array(
            [
                s.get(f"{metric}_ms") if s.get(f"{metric}_ms") is not None else math.nan
                for s in samples
            ],
            dtype=np.float64,
        )
        values[~ok] = math.nan
        if metric in _FROM_SEND:
            values = values + np.where(shifted, lag, 0.0)
        latency[metric] = values
    itl = [
        (owner, gap)
        for owner, s in enumerate(samples)
        if ok[owner]
        for gap in s.get("itl_ms") or ()
    ]
    cpu = [block["resources"].get("proxy_cpu_s") for block in blocks]
    return RoundData(
        label=_round_label(sources, key),
        mode=blocks[0]["mode"],
        ok=ok,
        latency=latency,
        itl_values=np.array([gap for _, gap in itl], dtype=np.float64),
        itl_owners=np.array([owner for owner, _ in itl], dtype=np.int64),
        start_s=np.array([s["start_s"] for s in samples], dtype=np.float64),
        lag_ms=lag,
        duration_s=float(sum(block["ended_s"] - block["started_s"] for block in blocks)),
        proxy_cpu_s=None if any(c is None for c in cpu) else float(sum(cpu)),
        error_types=Counter(_error_type(s) for s in samples if not _succeeded(s)),
        blocks=[f"blocks[{i}]" for _, i in locations],
    )


def _succeeded(sample: dict[str, Any]) -> bool:
    status = sample["status"]
    return sample["error"] is None and status is not None and 200 <= status < 300


def _error_type(sample: dict[str, Any]) -> str:
    error = sample["error"]
    if error is not None:
        return f"{error['kind']}: {error['type']}"
    return f"http {sample['status']}" if sample["status"] is not None else "no response"
