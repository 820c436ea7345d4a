"""The gate's policy: tolerances, floors, expected wins and the bootstrap's settings, per track.

Operations
    Policy                          one comparison's settings (frozen)
        .tolerance_for(metric, stat) / .floor_for(metric, stat)
        .quantile_levels            the quantiles as fractions (p99 -> 0.99)
    PolicyBook                      a policy file merged over the defaults
        .for_track(track) -> Policy the top level, with the track's table merged over it
    load_policy(path=None) -> PolicyBook
                                    the embedded defaults (default_policy.toml), or a file
                                    merged over them key by key
    PolicyError                     one line naming the file and the key

Goals
    A policy is data a release owner edits, so a mistake in it is named, never ignored: an
    unknown key (a typo), a wrong type, a tolerance that is negative, a quantile that is not
    one. Every track table is checked when the file is loaded, not when the track runs.

Plan
    TOML (tomllib) -> nested dicts -> deep merge (defaults <- file <- track) -> checked
    dataclass. `[tolerance]` and `[floor_ms]` hold one number per statistic (p50, p99.9,
    mean) for every metric, and may hold a table per metric whose numbers win for it.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from reports.vocabulary import (
    CPU_METRIC,
    LATENCY_METRICS,
    RATE_METRICS,
    THROUGHPUT_METRIC,
    parse_quantile,
)

_JUDGED = (*LATENCY_METRICS, CPU_METRIC)
_SCALARS: dict[str, tuple[type, ...]] = {
    "confidence": (float,),
    "resamples": (int,),
    "seed": (int,),
    "min_rounds": (int,),
    "max_extra_rounds": (int,),
    "coordinated_omission": (bool,),
    "min_improvement": (float, int),
    "error_rate_max_increase": (float, int),
    "throughput_max_decrease": (float, int),
}
_LISTS = ("metrics", "quantiles", "improve")
_TABLES = ("tolerance", "floor_ms")


class PolicyError(ValueError):
    """A policy that cannot be used; the message is one line naming the file and key."""


@dataclass(frozen=True)
class Policy:
    """What one comparison is judged by (docs/gate.md explains each field)."""

    track: str | None
    confidence: float
    resamples: int
    seed: int
    min_rounds: int
    max_extra_rounds: int
    metrics: tuple[str, ...]
    quantiles: tuple[str, ...]
    coordinated_omission: bool
    improve: tuple[str, ...]
    min_improvement: float
    error_rate_max_increase: float
    throughput_max_decrease: float
    tolerance: Mapping[str, Any]
    floor_ms: Mapping[str, Any]

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        return tuple(parse_quantile(name) for name in self.quantiles)

    def tolerance_for(self, metric: str, stat: str) -> float:
        """The relative increase allowed for `metric` at `stat` (p50, mean, ...)."""
        return _lookup(self.tolerance, metric, stat)

    def floor_for(self, metric: str, stat: str) -> float:
        """The absolute difference (ms) below which a change of `metric` is immaterial."""
        return _lookup(self.floor_ms, metric, stat)

    def expects(self, metric: str, stat: str | None = None) -> bool:
        """Whether `metric` (at `stat`) is one of the track's expected wins."""
        return (metric if stat is None else f"{metric}.{stat}") in self.improve or (
            stat is not None and metric == CPU_METRIC and metric in self.improve
        )


@dataclass(frozen=True)
class PolicyBook:
    """A policy file merged over the defaults; one Policy per track."""

    source: str
    settings: Mapping[str, Any]

    def for_track(self, track: str | None) -> Policy:
        merged = dict(self.settings)
        tracks = merged.pop("tracks", {})
        if track is not None and track in tracks:
            merged = _merge(merged, tracks[track])
        return _policy(merged, track, self.source, f"tracks.{track}." if track in tracks else "")

    @property
    def tracks(self) -> tuple[str, ...]:
        return tuple(self.settings.get("tracks", {}))


def load_policy(path: str | Path | None = None) -> PolicyBook:
    """The embedded defaults, or the file at `path` merged over them; checked whole."""
    defaults = tomllib.loads(
        resources.files(__package__).joinpath("default_policy.toml").read_text("utf-8")
    )
    if path is None:
        book = PolicyBook("default policy", defaults)
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise PolicyError(f"{source}: cannot read: {reason}") from None
        try:
            given = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{source}: not TOML: {exc}") from None
        _check_keys(given, source, "")
        if not isinstance(given.get("tracks", {}), dict):
            raise PolicyError(f"{source}: tracks: must be a table of [tracks.NAME] tables")
        for track, table in given.get("tracks", {}).items():
            if not isinstance(table, dict):
                raise PolicyError(f"{source}: tracks.{track}: must be a table")
            _check_keys(table, source, f"tracks.{track}.", allow_tracks=False)
        book = PolicyBook(source, _merge(defaults, given))
    book.for_track(None)
    for track in book.tracks:
        book.for_track(track)
    return book


def _check_keys(
    table: Mapping[str, Any], source: str, prefix: str, *, allow_tracks: bool = True
) -> None:
    known = {*_SCALARS, *_LISTS, *_TABLES} | ({"tracks"} if allow_tracks else set())
    for key in table:
        if key not in known:
            raise PolicyError(
                f"{source}: {prefix}{key}: unknown key (known: {', '.join(sorted(known))})"
            )


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` merged into a copy of `base`: tables key by key, everything else replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _policy(settings: Mapping[str, Any], track: str | None, source: str, prefix: str) -> Policy:
    def fail(key: str, reason: str) -> PolicyError:
        return PolicyError(f"{source}: {prefix}{key}: {reason}")

    for key, types in _SCALARS.items():
        value = settings.get(key)
        if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
            names = " or ".join("number" if t in (int, float) else t.__name__ for t in types)
            raise fail(key, f"{value!r} is not a {'whole number' if types == (int,) else names}")
    if not 0.5 <= settings["confidence"] < 1:
        raise fail("confidence", f"{settings['confidence']} is not in [0.5, 1)")
    if settings["resamples"] < 100:
        raise fail("resamples", f"{settings['resamples']} is fewer than 100")
    for key in ("min_rounds", "max_extra_rounds"):
        if settings[key] < (1 if key == "min_rounds" else 0):
            raise fail(key, f"{settings[key]} is too small")
    for key in ("min_improvement", "error_rate_max_increase", "throughput_max_decrease"):
        if not 0 <= settings[key] < 1:
            raise fail(key, f"{settings[key]} is not a fraction in [0, 1)")
    for key in _LISTS:
        value = settings.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, "must be a list of strings")
    for metric in settings["metrics"]:
        if metric not in _JUDGED:
            raise fail("metrics", f"{metric!r} is not a judged metric ({', '.join(_JUDGED)})")
    for name in settings["quantiles"]:
        try:
            parse_quantile(name)
        except ValueError as exc:
            raise fail("quantiles", str(exc)) from None
    for target in settings["improve"]:
        _check_target(target, fail)
    for key in _TABLES:
        _check_table(settings.get(key), key, fail)
    policy = Policy(
        track=track,
        confidence=float(settings["confidence"]),
        resamples=settings["resamples"],
        seed=settings["seed"],
        min_rounds=settings["min_rounds"],
        max_extra_rounds=settings["max_extra_rounds"],
        metrics=tuple(settings["metrics"]),
        quantiles=tuple(settings["quantiles"]),
        coordinated_omission=settings["coordinated_omission"],
        improve=tuple(settings["improve"]),
        min_improvement=float(settings["min_improvement"]),
        error_rate_max_increase=float(settings["error_rate_max_increase"]),
        throughput_max_decrease=float(settings["throughput_max_decrease"]),
        tolerance=copy.deepcopy(settings["tolerance"]),
        floor_ms=copy.deepcopy(settings["floor_ms"]),
    )
    for key, lookup in (("tolerance", policy.tolerance_for), ("floor_ms", policy.floor_for)):
        for metric in policy.metrics:
            for stat in ("mean",) if metric == CPU_METRIC else policy.quantiles:
                try:
                    lookup(metric, stat)
                except KeyError:
                    raise fail(key, f"no value for {metric} {stat} (add {stat} = ...)") from None
    return policy


def _check_target(target: str, fail: Any) -> None:
    metric, _, stat = target.partition(".")
    if metric in (*RATE_METRICS, THROUGHPUT_METRIC, CPU_METRIC) and (not stat or stat == "mean"):
        return
    if metric in LATENCY_METRICS and stat:
        try:
            parse_quantile(stat)
            return
        except ValueError as exc:
            raise fail("improve", f"{target!r}: {exc}") from None
    raise fail(
        "improve",
        f"{target!r} is not a metric to improve (a latency with its quantile like 'ttfb.p50', "
        f"or {CPU_METRIC}, success_rate, error_rate, throughput)",
    )


def _check_table(table: Any, key: str, fail: Any) -> None:
    if not isinstance(table, dict):
        raise fail(key, "must be a table")
    for name, value in table.items():
        if isinstance(value, dict):
            if name not in _JUDGED:
                raise fail(f"{key}.{name}", f"not a judged metric ({', '.join(_JUDGED)})")
            _check_table(value, f"{key}.{name}", fail)
            continue
        if name != "mean":
            try:
                parse_quantile(name)
            except ValueError as exc:
                raise fail(f"{key}.{name}", str(exc)) from None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail(f"{key}.{name}", f"{value!r} is not a number >= 0")


def _lookup(table: Mapping[str, Any], metric: str, stat: str) -> float:
    own = table.get(metric)
    if isinstance(own, Mapping) and stat in own:
        return float(own[stat])
    return float(table[stat])
