"""Plans: what a benchmark run measures, read from TOML and checked before anything starts.

Operations
    load_plan(path) -> Plan                 a plan file (PlanError names the file and the key)
    parse_plan(table, source=...) -> Plan   the same from a parsed table
    track_plan(name) -> Plan                the built-in plan of a feature-flag track (tracks/)
    TRACKS                                  the track names, in the design's order
    plan.quick_version() -> Plan            the plan with its `[quick]` sizes (for CI)
    plan.with_seed(seed) / plan.with_baseline_root(root) / plan.with_urls(base, cand, key)
    plan.as_table() -> dict                 the plan as the result file records it

A plan file (docs/bench.md has the reference):

    name = "my_plan"            # required; also: track, description, seed
    [emulator]                  # started unless every arm is a URL arm
    tls = true                  # HTTPS with ALPN h2 (the default), false: plain HTTP/1.1
    server = "granian"          # compatkit emulate --server
    network_delay_ms = 0        # > 0: the emulator in a network namespace behind tc netem
    [emulator.scenarios.NAME]   # emulator scenario tables (conformance/emulator/scenarios.py)
    [proxy]                     # the proxies the run starts (flag and process arms)
    credentials = 1             # upstream API keys bench-key-1 .. bench-key-N
    restart = "never"           # "block": a fresh proxy process for every block (state reset)
    config = {...}              # extra `compatkit serve` TOML tables (models, retry, ...)
    env = {...}                 # extra environment of every proxy
    [[arms]]                    # two or more: name, role, kind = "flag" | "process" | "url" |
                                # "upstream" (the emulator itself: the overhead baseline),
                                # flags, description; process: root, env; url: url, api_key
    [load]
    mode = "open"               # open (arrivals on a schedule) | closed (N in flight)
    schedule = "poisson"        # | "constant"
    rate = 20.0                 # open: requests per second offered to the proxy (all arms of
                                # an interleaved block together)
    concurrency = 8             # closed: requests in flight
    requests = 200              # measured requests per arm per round
    warmup = 20                 # requests per arm per block sent first and discarded
    rounds = 6
    interleave = "request"      # "request" (duet, one block per arm per round: flag arms, and
                                # process arms with restart = "never") or "block" (ABBA blocks)
    timeout_s = 30              # the deadline of one request
    attempts = false            # tag requests; count upstream attempts from the emulator
    max_in_flight = 1024
    workloads = [{workload = "small_chat", scenario = "NAME", model = "...", weight = 1}]
    [limits]                    # a block beyond these is INCONCLUSIVE
    client_cpu_share = 0.85
    achieved_rate_ratio = 0.95
    send_lag_p99_ms = 5.0
    [quick]                     # [load] keys for --quick

Goals: every mistake in a plan is found at load time, in one line naming the file and the key
(`plan.toml: load.rate: must be a positive number, got -2`), never as a failure halfway
through a run; a Plan is immutable, so the gate can derive variants without surprises.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from loadtests._common import WorkloadError, workload

__all__ = [
    "TRACKS",
    "Arm",
    "EmulatorSpec",
    "Limits",
    "Load",
    "Plan",
    "PlanError",
    "ProxySpec",
    "WorkloadShare",
    "load_plan",
    "parse_plan",
    "track_plan",
]

TRACKS = (
    "ff_retry_policy_v2",
    "ff_http2_pool_tuning",
    "ff_converter_fast_path",
    "ff_preview_credential_scheduler_v2",
)
ArmKind = Literal["flag", "process", "url", "upstream"]
Role = Literal["baseline", "candidate", "other"]
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,80}")
_FLAG = re.compile(r"ff_[a-z0-9_]+")
_SERVERS = ("granian", "hypercorn")


class PlanError(ValueError):
    """A plan that cannot be run; the message is one line naming the source and the key."""


@dataclass(frozen=True)
class Arm:
    """One side of the comparison."""

    name: str
    role: Role
    kind: ArmKind
    flags: Mapping[str, bool] = field(default_factory=dict)
    root: Path | None = None  # process arms: the source tree (None: this one)
    env: Mapping[str, str] = field(default_factory=dict)  # process arms: extra environment
    url: str | None = None  # url arms
    api_key: str | None = None  # url arms: the key the proxy expects
    description: str = ""


@dataclass(frozen=True)
class WorkloadShare:
    """A workload of the mix, the emulator scenario its requests name, and its weight."""

    workload: str
    scenario: str | None = None
    model: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Load:
    """How requests are sent (see the module docstring)."""

    mode: Literal["open", "closed"] = "open"
    schedule: Literal["poisson", "constant"] = "poisson"
    rate: float | None = None
    concurrency: int | None = None
    requests: int = 200
    warmup: int = 20
    rounds: int = 6
    interleave: Literal["request", "block"] = "request"
    timeout_s: float = 30.0
    attempts: bool = False
    max_in_flight: int = 1024
    workloads: tuple[WorkloadShare, ...] = (WorkloadShare("small_chat"),)


@dataclass(frozen=True)
class EmulatorSpec:
    tls: bool = True
    server: str = "granian"
    network_delay_ms: float = 0.0
    scenarios: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProxySpec:
    credentials: int = 1
    restart: Literal["never", "block"] = "never"
    config: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def api_keys(self) -> list[str]:
        """The upstream credentials, named as scenarios refer to them."""
        return [f"bench-key-{index}" for index in range(1, self.credentials + 1)]


@dataclass(frozen=True)
class Limits:
    """Beyond these, a block measured the client or the machine more than the proxy."""

    client_cpu_share: float = 0.85
    achieved_rate_ratio: float = 0.95
    send_lag_p99_ms: float = 5.0


@dataclass(frozen=True)
class Plan:
    name: str
    arms: tuple[Arm, ...]
    load: Load
    emulator: EmulatorSpec = EmulatorSpec()
    proxy: ProxySpec = ProxySpec()
    limits: Limits = Limits()
    track: str | None = None
    description: str = ""
    seed: int = 1
    quick: Mapping[str, Any] = field(default_factory=dict)
    is_quick: bool = False
    source: str = "plan"

    @property
    def needs_emulator(self) -> bool:
        return any(arm.kind != "url" for arm in self.arms)

    @property
    def interleaved(self) -> bool:
        """Arms chosen per request in one group (a block per arm), with `interleave =
        "request"`: flag arms (one proxy process), process arms that keep their proxies
        (`restart = "never"`: every arm's proxy runs at once, duet benchmarking), and the
        upstream itself beside either. A fresh proxy per block (`restart = "block"`) and URL
        arms keep ABBA blocks."""
        if self.load.interleave != "request":
            return False
        kinds = {arm.kind for arm in self.arms} - {"upstream"}
        return kinds <= {"flag"} or (kinds == {"process"} and self.proxy.restart == "never")

    def quick_version(self) -> Plan:
        """The plan sized by its `[quick]` table (unchanged if it has none)."""
        if self.is_quick:
            return self
        load = _load({**_load_table(self.load), **self.quick}, f"{self.source}: quick")
        return dataclasses.replace(self, load=load, is_quick=True)

    def with_seed(self, seed: int) -> Plan:
        return dataclasses.replace(self, seed=seed)

    def with_baseline_root(self, root: Path, flags_of: Role = "candidate") -> Plan:
        """Process arms: the proxy of `root` (baseline) against this tree's (candidate), both
        with the flags of the plan's `flags_of` arm; interleaved request by request, both
        proxies running at once, unless the plan starts a fresh proxy per block (a flag plan's
        `interleave = "block"` is there to attribute one proxy's CPU, which two need not). An
        open loop that was in blocks gets twice the rate, requests and warm-up per arm: each
        proxy's rate and the round's length stay those of its ABBA blocks."""
        source = next((arm for arm in self.arms if arm.role == flags_of), self.arms[-1])
        root = Path(root).resolve()
        if not (root / "compat_cli.py").is_file():
            raise PlanError(f"--baseline-root {root}: not a compatkit tree (no compat_cli.py)")
        arms = (
            *(arm for arm in self.arms if arm.kind == "upstream"),
            Arm("baseline", "baseline", "process", dict(source.flags), root=root,
                description=f"the proxy of {root}"),
            Arm("candidate", "candidate", "process", dict(source.flags),
                description="the proxy of this tree"),
        )  # fmt: skip
        if self.proxy.restart != "never" or self.load.interleave == "request":
            return dataclasses.replace(self, arms=arms)
        load = dataclasses.replace(self.load, interleave="request")
        quick = dict(self.quick)
        if load.mode == "open":
            # both proxies now take requests for the whole round: at twice the rate each keeps
            # the rate its ABBA block gave it, and a round as long as two blocks holds twice the
            # requests (the power of a quick run: docs/gate.md, "Validating the gate")
            doubled = ("rate", "requests", "warmup")
            load = dataclasses.replace(load, **{k: getattr(load, k) * 2 for k in doubled})
            quick.update({k: quick[k] * 2 for k in doubled if k in quick})
        return dataclasses.replace(self, arms=arms, load=load, quick=quick)

    def with_urls(self, baseline_url: str, candidate_url: str, api_key: str) -> Plan:
        """URL arms: two running proxies, black box."""
        arms = (
            Arm("baseline", "baseline", "url", url=_url(baseline_url, "--baseline-url"),
                api_key=api_key),
            Arm("candidate", "candidate", "url", url=_url(candidate_url, "--candidate-url"),
                api_key=api_key),
        )  # fmt: skip
        return dataclasses.replace(self, arms=arms)

    def as_table(self) -> dict[str, Any]:
        """The plan as read (with the seed and quick flag), for the result file."""
        table: dict[str, Any] = {
            "name": self.name,
            "track": self.track,
            "seed": self.seed,
            "quick": self.is_quick,
            "description": self.description,
            "load": _load_table(self.load),
            "limits": dataclasses.asdict(self.limits),
            "emulator": {**dataclasses.asdict(self.emulator)},
            "proxy": {**dataclasses.asdict(self.proxy)},
            "arms": [_arm_table(arm) for arm in self.arms],
        }
        plain: dict[str, Any] = _plain(table)
        return plain


# --- reading -----------------------------------------------------------------------------


def load_plan(path: str | Path) -> Plan:
    """Read a plan file."""
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlanError(f"{source}: cannot read: {reason}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: not TOML: {exc}") from None
    return parse_plan(table, source=source)


def track_plan(name: str) -> Plan:
    """The built-in plan of a track (loadtests/_bench/tracks/NAME.toml)."""
    if name not in TRACKS:
        raise PlanError(f"unknown track {name!r} (known: {', '.join(TRACKS)})")
    text = resources.files(__package__).joinpath("tracks", f"{name}.toml").read_text("utf-8")
    return parse_plan(tomllib.loads(text), source=f"tracks/{name}.toml")


def parse_plan(table: Mapping[str, Any], *, source: str = "plan") -> Plan:
    """Check a parsed plan table and build the Plan."""
    _keys(table, source, "", {"name", "track", "description", "seed", "emulator", "proxy",
                               "arms", "load", "limits", "quick"})  # fmt: skip
    name = _name(table.get("name"), f"{source}: name")
    track = table.get("track")
    if track is not None and track not in TRACKS:
        raise PlanError(f"{source}: track: {track!r} is not one of {', '.join(TRACKS)}")
    arms = _arms(table.get("arms"), source)
    load = _load(_table(table.get("load", {}), f"{source}: load"), f"{source}: load")
    quick = _table(table.get("quick", {}), f"{source}: quick")
    _load({**_load_table(load), **quick}, f"{source}: quick")  # checked now, used with --quick
    if any(arm.kind == "upstream" for arm in arms):
        for index, share in enumerate(load.workloads):
            if workload(share.workload).direct is None:
                raise PlanError(
                    f"{source}: load.workloads[{index}].workload: {share.workload!r} has no "
                    "direct Gemini twin for the upstream arm (small_chat and small_chat_json do)"
                )
    return Plan(
        name=name,
        arms=arms,
        load=load,
        emulator=_emulator(_table(table.get("emulator", {}), f"{source}: emulator"), source),
        proxy=_proxy(_table(table.get("proxy", {}), f"{source}: proxy"), source),
        limits=_limits(_table(table.get("limits", {}), f"{source}: limits"), source),
        track=track,
        description=str(table.get("description", "")),
        seed=_int(table.get("seed", 1), f"{source}: seed"),
        quick=quick,
        source=source,
    )


def _arms(raw: Any, source: str) -> tuple[Arm, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise PlanError(f"{source}: arms: expected two or more [[arms]] tables")
    arms: list[Arm] = []
    for index, entry in enumerate(raw):
        where = f"{source}: arms[{index}]"
        entry = _table(entry, where)
        _keys(entry, where, "", {"name", "role", "kind", "flags", "root", "env", "url",
                                 "api_key", "description"})  # fmt: skip
        kind = _choice(
            entry.get("kind", "flag"), f"{where}.kind", ("flag", "process", "url", "upstream")
        )
        role = _choice(
            entry.get("role", "other"), f"{where}.role", ("baseline", "candidate", "other")
        )
        flags = _table(entry.get("flags", {}), f"{where}.flags")
        for flag, value in flags.items():
            if _FLAG.fullmatch(flag) is None or not isinstance(value, bool):
                raise PlanError(f"{where}.flags.{flag}: expected ff_... = true | false")
        url = entry.get("url")
        if kind == "url":
            url = _url(url, f"{where}.url")
        elif url is not None:
            raise PlanError(f"{where}.url: only url arms have a url")
        root = entry.get("root")
        if root is not None and kind != "process":
            raise PlanError(f"{where}.root: only process arms have a root")
        arms.append(
            Arm(
                name=_name(entry.get("name"), f"{where}.name"),
                role=role,  # type: ignore[arg-type]
                kind=kind,  # type: ignore[arg-type]
                flags=dict(flags),
                root=Path(str(root)).expanduser() if root is not None else None,
                env=_str_table(entry.get("env", {}), f"{where}.env"),
                url=url,
                api_key=str(entry["api_key"]) if "api_key" in entry else None,
                description=str(entry.get("description", "")),
            )
        )
    names = [arm.name for arm in arms]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise PlanError(f"{source}: arms: the name {duplicate!r} is used twice")
    kinds = {arm.kind for arm in arms} - {"upstream"}
    if "upstream" in {arm.kind for arm in arms} and kinds == {"url"}:
        raise PlanError(
            f"{source}: arms: an upstream arm needs the emulator, which URL arms do not start"
        )
    if "flag" in kinds and len(kinds) > 1:
        raise PlanError(
            f"{source}: arms: flag arms share one proxy and cannot mix with other kinds"
        )
    return tuple(arms)


_LOAD_KEYS = {f.name for f in dataclasses.fields(Load)}


def _load(table: Mapping[str, Any], where: str) -> Load:
    _keys(table, where, "", _LOAD_KEYS)
    default = Load()
    mode = _choice(table.get("mode", default.mode), f"{where}.mode", ("open", "closed"))
    rate = table.get("rate")
    concurrency = table.get("concurrency")
    if mode == "open":
        rate = _positive(rate, f"{where}.rate")
    elif concurrency is None:
        raise PlanError(f"{where}.concurrency: a closed loop needs the number in flight")
    if concurrency is not None:
        concurrency = _int(concurrency, f"{where}.concurrency", minimum=1)
    load = Load(
        mode=mode,  # type: ignore[arg-type]
        schedule=_choice(table.get("schedule", default.schedule), f"{where}.schedule",
                         ("poisson", "constant")),  # type: ignore[arg-type]
        rate=rate,
        concurrency=concurrency,
        requests=_int(table.get("requests", default.requests), f"{where}.requests", minimum=1),
        warmup=_int(table.get("warmup", default.warmup), f"{where}.warmup"),
        rounds=_int(table.get("rounds", default.rounds), f"{where}.rounds", minimum=1),
        interleave=_choice(table.get("interleave", default.interleave), f"{where}.interleave",
                           ("request", "block")),  # type: ignore[arg-type]
        timeout_s=_positive(table.get("timeout_s", default.timeout_s), f"{where}.timeout_s"),
        attempts=_bool(table.get("attempts", default.attempts), f"{where}.attempts"),
        max_in_flight=_int(table.get("max_in_flight", default.max_in_flight),
                           f"{where}.max_in_flight", minimum=1),
        workloads=_workloads(table.get("workloads"), f"{where}.workloads"),
    )  # fmt: skip
    return load


def _workloads(raw: Any, where: str) -> tuple[WorkloadShare, ...]:
    if raw is None:
        return Load().workloads
    if not isinstance(raw, list) or not raw:
        raise PlanError(f"{where}: expected a list of {{workload = NAME, ...}} tables")
    shares = []
    for index, entry in enumerate(raw):
        at = f"{where}[{index}]"
        entry = _table(entry, at)
        _keys(entry, at, "", {"workload", "scenario", "model", "weight"})
        try:
            name = workload(str(entry.get("workload"))).name
        except WorkloadError as exc:
            raise PlanError(f"{at}.workload: {exc}") from None
        scenario = entry.get("scenario")
        if scenario is not None:
            scenario = _name(scenario, f"{at}.scenario")
        shares.append(
            WorkloadShare(
                name,
                scenario,
                str(entry["model"]) if "model" in entry else None,
                _positive(entry.get("weight", 1.0), f"{at}.weight"),
            )
        )
    return tuple(shares)


def _emulator(table: Mapping[str, Any], source: str) -> EmulatorSpec:
    where = f"{source}: emulator"
    _keys(table, where, "", {"tls", "server", "network_delay_ms", "scenarios"})
    scenarios = _table(table.get("scenarios", {}), f"{where}.scenarios")
    for name, scenario in scenarios.items():
        _name(name, f"{where}.scenarios")
        _table(scenario, f"{where}.scenarios.{name}")
    delay = table.get("network_delay_ms", 0.0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise PlanError(f"{where}.network_delay_ms: must be a number >= 0, got {delay!r}")
    return EmulatorSpec(
        tls=_bool(table.get("tls", True), f"{where}.tls"),
        server=_choice(table.get("server", "granian"), f"{where}.server", _SERVERS),
        network_delay_ms=float(delay),
        scenarios=dict(scenarios),
    )


def _proxy(table: Mapping[str, Any], source: str) -> ProxySpec:
    where = f"{source}: proxy"
    _keys(table, where, "", {"credentials", "restart", "config", "env"})
    config = _table(table.get("config", {}), f"{where}.config")
    reserved = {"server", "upstream", "state", "flags"} & set(config)
    if reserved:
        raise PlanError(
            f"{where}.config.{sorted(reserved)[0]}: set by the runner (use arms' flags)"
        )
    return ProxySpec(
        credentials=_int(table.get("credentials", 1), f"{where}.credentials", minimum=1),
        restart=_choice(table.get("restart", "never"), f"{where}.restart", ("never", "block")),  # type: ignore[arg-type]
        config=dict(config),
        env=_str_table(table.get("env", {}), f"{where}.env"),
    )


def _limits(table: Mapping[str, Any], source: str) -> Limits:
    where = f"{source}: limits"
    _keys(table, where, "", {f.name for f in dataclasses.fields(Limits)})
    default = Limits()
    return Limits(
        **{
            f.name: _positive(table.get(f.name, getattr(default, f.name)), f"{where}.{f.name}")
            for f in dataclasses.fields(Limits)
        }
    )


# --- value checks ------------------------------------------------------------------------------


def _keys(table: Mapping[str, Any], where: str, prefix: str, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PlanError(
            f"{where}: unknown key {prefix}{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise PlanError(f"{where}: expected a table, got {value!r}")
    return dict(value)


def _str_table(value: Any, where: str) -> dict[str, str]:
    table = _table(value, where)
    for key, item in table.items():
        if not isinstance(item, str):
            raise PlanError(f"{where}.{key}: expected a string, got {item!r}")
    return table


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise PlanError(f"{where}: expected 1-80 letters, digits, '_', '.', '-', got {value!r}")
    return value


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PlanError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return str(value)


def _int(value: Any, where: str, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise PlanError(f"{where}: must be an integer >= {minimum}, got {value!r}")
    return value


def _positive(value: Any, where: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise PlanError(f"{where}: must be a positive number, got {value!r}")
    return float(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise PlanError(f"{where}: must be true or false, got {value!r}")
    return value


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise PlanError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _load_table(load: Load) -> dict[str, Any]:
    table = dataclasses.asdict(load)
    table["workloads"] = [
        {k: v for k, v in dataclasses.asdict(share).items() if v is not None}
        for share in load.workloads
    ]
    return {k: v for k, v in table.items() if v is not None}


def _arm_table(arm: Arm) -> dict[str, Any]:
    table = {k: v for k, v in dataclasses.asdict(arm).items() if v not in (None, {}, "")}
    table.pop("api_key", None)  # a secret
    return table


def _plain(value: Any) -> Any:
    """JSON-ready: paths as strings, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
