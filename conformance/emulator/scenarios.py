"""Scenarios: what the emulator answers, how slowly, and how it fails.

Operations:
- `load_config(path)` / `parse_config(mapping)`: read the emulator's TOML configuration (scenarios,
  accepted credentials, OAuth clients, models) into frozen dataclasses.
- `Distribution.sample(rng)`: a fixed value or a seeded draw (lognormal, uniform, exponential, normal).
- `EmulatorConfig.scenario(name)`: look a scenario up by name (`UnknownScenario` if absent).
- `scenario_marker(text)`: the `[scenario:NAME]` marker a client without custom headers puts in its
  message; `request_marker(request)`: the marker of a generateContent request, read from its latest
  user turn only, so a marker scripts the request that carries it and not the rest of the
  conversation (whose history still holds it).

Goals: a scenario file is the whole script of a test run, so everything is explicit, validated at load
time (a typo in a scenario fails loudly at start, not silently at request time) and immutable.
Unspecified fields take the built-in defaults below, never another scenario's values.

TOML shape (see default_scenarios.toml for a commented example):
    default_scenario = "default"
    models = ["gemini-2.5-flash", ...]
    max_records = 10000                                   # recorded requests kept (oldest dropped)
    [auth]  api_keys = [...], access_tokens = [...]      # omitted: any credential is accepted
            refused_api_keys = {KEY = "expired" | "suspended" | "forbidden"}
    [oauth] refresh_tokens = [...], clients = [{client_id, client_secret}], access_token_ttl_s
    [codeassist] onboarding_polls = 1                     # getOperation polls until onboarding is done
    [scenarios.NAME] text_tokens | text, lone_surrogate_at, chunk_tokens, finish_reason,
        omit_finish_reason, block_reason, thoughts_tokens,
        tool_call | tool_calls, call_declared_tools, framing, gzip, seed,
        [scenarios.NAME.latency] headers_ms, first_chunk_ms, chunk_gap_ms,
        [[scenarios.NAME.faults]] kind, probability | requests | every, credentials, ...,
        [scenarios.NAME.capacity] per_credential = {rate, burst}, per_model = {rate, burst},
            credentials
    `credentials` (a list of API keys or bearer tokens) limits a fault, or the per-credential
    buckets, to those credentials: one hot or failing credential among several. They are kept
    as credential ids (`credential_id`, the hash records show), never as secrets.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_scenarios.toml")

DEFAULT_MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-3.1-pro-preview",
)

FINISH_REASONS = frozenset(
    {
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
    }
)
BLOCK_REASONS = frozenset({"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"})

FAULT_KINDS = frozenset(
    {
        "rate_limit",  # 429 RESOURCE_EXHAUSTED, RATE_LIMIT_EXCEEDED, with RetryInfo
        "capacity_429",  # 429 RESOURCE_EXHAUSTED, MODEL_CAPACITY_EXHAUSTED
        "capacity_503",  # 503 UNAVAILABLE, MODEL_CAPACITY_EXHAUSTED
        "quota_exhausted",  # 429 RESOURCE_EXHAUSTED, QUOTA_EXHAUSTED (terminal)
        "internal",  # 500 INTERNAL
        "unavailable",  # 503 UNAVAILABLE
        "invalid_argument",  # 400 INVALID_ARGUMENT with `message`
        "unauthenticated",  # 401 UNAUTHENTICATED
        "permission_denied",  # 403 PERMISSION_DENIED with `message`
        "not_found",  # 404 NOT_FOUND with `message`
        "drop",  # stream: connection dropped after `after_chunks` chunks
        "stall",  # stream: `stall_ms` of silence after `after_chunks` chunks, then the rest
        "malformed_chunk",  # stream: one truncated JSON event after `after_chunks` chunks
    }
)
STATUS_FAULTS = frozenset(
    {
        "rate_limit",
        "capacity_429",
        "capacity_503",
        "quota_exhausted",
        "internal",
        "unavailable",
        "invalid_argument",
        "unauthenticated",
        "permission_denied",
        "not_found",
    }
)
REFUSED_KEY_KINDS = frozenset({"expired", "suspended", "forbidden"})
MAX_STALL_MS = 120_000.0
MAX_ONBOARDING_POLLS = 100

_MARKER = re.compile(r"\[scenario:([A-Za-z0-9_.\-]+)\]")


def credential_id(secret: str) -> str:
    """The id a credential (API key or bearer token) is recorded under: a short hash, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _credential_ids(secrets: Any, where: str) -> frozenset[str]:
    """The ids a request authenticated with one of `secrets` gets (as a key or a bearer token)."""
    if (
        not isinstance(secrets, list)
        or not secrets
        or not all(isinstance(s, str) and s for s in secrets)
    ):
        raise ConfigError(f"{where}: expected a non-empty list of API keys or bearer tokens")
    return frozenset(
        f"{kind}:{credential_id(secret)}" for secret in secrets for kind in ("key", "bearer")
    )


class ConfigError(ValueError):
    """The emulator configuration is invalid; the message names the offending key."""


class UnknownScenario(LookupError):
    """A request asked for a scenario the configuration does not define."""


@dataclass(frozen=True)
class Distribution:
    """A non-negative quantity: fixed, or drawn from a seeded distribution."""

    kind: str = "fixed"
    value: float = 0.0
    params: tuple[tuple[str, float], ...] = ()

    def sample(self, rng: random.Random) -> float:
        """One draw (clamped at 0); a fixed distribution never touches `rng`."""
        if self.kind == "fixed":
            return self.value
        p = dict(self.params)
        if self.kind == "lognormal":
            draw = rng.lognormvariate(math.log(p["median"]), p.get("sigma", 0.5))
        elif self.kind == "uniform":
            draw = rng.uniform(p["low"], p["high"])
        elif self.kind == "exponential":
            draw = rng.expovariate(1.0 / p["mean"]) if p["mean"] > 0 else 0.0
        else:  # normal
            draw = rng.gauss(p["mean"], p.get("stddev", 0.0))
        return max(0.0, draw)

    @property
    def is_zero(self) -> bool:
        return self.kind == "fixed" and self.value == 0.0


_DISTRIBUTION_PARAMS = {
    "lognormal": ({"median"}, {"sigma"}),
    "uniform": ({"low", "high"}, set()),
    "exponential": ({"mean"}, set()),
    "normal": ({"mean"}, {"stddev"}),
}


@dataclass(frozen=True)
class Latency:
    """Delays in milliseconds: before the headers, before the first chunk, between chunks."""

    headers_ms: Distribution = Distribution()
    first_chunk_ms: Distribution = Distribution()
    chunk_gap_ms: Distribution = Distribution()

    @property
    def is_zero(self) -> bool:
        return self.headers_ms.is_zero and self.first_chunk_ms.is_zero and self.chunk_gap_ms.is_zero


@dataclass(frozen=True)
class Fault:
    """One scripted failure and when it fires (by probability, request number, or every n-th)."""

    kind: str
    probability: float = 0.0
    requests: frozenset[int] = frozenset()
    every: int = 0
    retry_delay_s: float = 26.0
    after_chunks: int = 1
    stall_ms: float = 5_000.0
    array_body: bool = False
    message: str = ""
    credentials: frozenset[str] = frozenset()  # credential ids it is limited to; empty: all

    def fires(self, request_number: int, rng: random.Random, credential: str | None = None) -> bool:
        """Whether this fault fires on the n-th request (1-based) of its scenario, made with
        `credential` (an id)."""
        if self.credentials and credential not in self.credentials:
            return False
        if request_number in self.requests:
            return True
        if self.every and request_number % self.every == 0:
            return True
        return self.probability > 0 and rng.random() < self.probability


@dataclass(frozen=True)
class ScriptedCall:
    """A function call the scenario makes the model emit: a declared tool's name and arguments."""

    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class BucketSpec:
    """A token bucket: `rate` requests per second refill, at most `burst` stored."""

    rate: float
    burst: float


@dataclass(frozen=True)
class Scenario:
    """The full script for one kind of request; see the module docstring for the TOML keys."""

    name: str
    seed: int = 0
    text_tokens: int = 12
    text: str | None = None  # the reply's exact text, instead of `text_tokens` random words
    lone_surrogate_at: int | None = None  # put a lone surrogate in the reply text at this index
    chunk_tokens: Distribution = Distribution(value=4.0)
    finish_reason: str = "STOP"
    omit_finish_reason: bool = False  # the stream ends cleanly with no finishReason at all
    block_reason: str | None = None
    thoughts_tokens: int = 0
    tool_calls: tuple[ScriptedCall, ...] = ()
    call_declared_tools: int = 0
    framing: str = "crlf"
    gzip: bool = False
    latency: Latency = Latency()
    faults: tuple[Fault, ...] = ()
    credential_bucket: BucketSpec | None = None
    model_bucket: BucketSpec | None = None
    bucket_credentials: frozenset[str] = frozenset()  # ids with a credential bucket; empty: all

    @property
    def crlf(self) -> bool:
        return self.framing == "crlf"


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator is told at start; immutable for the life of the app."""

    scenarios: Mapping[str, Scenario]
    default_scenario: str = "default"
    models: tuple[str, ...] = DEFAULT_MODELS
    api_keys: frozenset[str] | None = None
    access_tokens: frozenset[str] | None = None
    refused_api_keys: Mapping[str, str] = field(default_factory=dict)  # key -> REFUSED_KEY_KINDS
    refresh_tokens: frozenset[str] = frozenset({"emulator-refresh-token"})
    oauth_clients: tuple[OAuthClient, ...] = ()
    access_token_ttl_s: int = 3599
    max_records: int = 10_000
    onboarding_polls: int = 1  # 0: onboardUser answers a finished operation

    def scenario(self, name: str | None) -> Scenario:
        """The scenario called `name`, or the default one when `name` is None."""
        key = self.default_scenario if name is None else name
        try:
            return self.scenarios[key]
        except KeyError:
            raise UnknownScenario(key) from None


def scenario_marker(text: str) -> str | None:
    """The NAME of the first `[scenario:NAME]` marker in `text`, if any."""
    if "[scenario:" not in text:
        return None
    match = _MARKER.search(text)
    return match.group(1) if match else None


def request_marker(request: Mapping[str, Any]) -> str | None:
    """The first marker in a text part of the request's latest user turn (clients such as Claude
    Code put system reminders before the user's own words, so any part may carry it)."""
    contents = request.get("contents")
    if not isinstance(contents, list):
        return None
    for content in reversed(contents):
        if isinstance(content, Mapping) and content.get("role", "user") == "user":
            for part in content.get("parts") or ():
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    name = scenario_marker(part["text"])
                    if name is not None:
                        return name
            return None
    return None


def load_config(path: str | Path | None = None) -> EmulatorConfig:
    """Read a TOML configuration file (the packaged default_scenarios.toml when None)."""
    source = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    with source.open("rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
    return parse_config(data)


def parse_config(data: Mapping[str, Any]) -> EmulatorConfig:
    """Validate a configuration mapping (as read from TOML) into an `EmulatorConfig`."""
    _only_keys(
        data,
        "",
        {"default_scenario", "models", "auth", "oauth", "codeassist", "scenarios", "max_records"},
    )
    raw_scenarios = data.get("scenarios", {})
    if not isinstance(raw_scenarios, Mapping):
        raise ConfigError("scenarios: expected a table of scenario tables")
    scenarios = {name: parse_scenario(name, spec) for name, spec in raw_scenarios.items()}
    default_name = str(data.get("default_scenario", "default"))
    scenarios.setdefault(default_name, Scenario(name=default_name))
    auth = data.get("auth", {})
    _only_keys(auth, "auth.", {"api_keys", "access_tokens", "refused_api_keys"})
    refused = auth.get("refused_api_keys", {})
    if not isinstance(refused, Mapping):
        raise ConfigError("auth.refused_api_keys: expected a table of key = kind")
    for key, kind in refused.items():
        if kind not in REFUSED_KEY_KINDS:
            raise ConfigError(
                f"auth.refused_api_keys.{key}: {kind!r} is not one of {sorted(REFUSED_KEY_KINDS)}"
            )
    oauth = data.get("oauth", {})
    _only_keys(oauth, "oauth.", {"refresh_tokens", "clients", "access_token_ttl_s"})
    clients = tuple(
        OAuthClient(str(c["client_id"]), str(c["client_secret"])) for c in oauth.get("clients", [])
    )
    codeassist = data.get("codeassist", {})
    _only_keys(codeassist, "codeassist.", {"onboarding_polls"})
    onboarding_polls = _non_negative_int(
        codeassist.get("onboarding_polls", 1), "codeassist.onboarding_polls"
    )
    if onboarding_polls > MAX_ONBOARDING_POLLS:
        raise ConfigError(f"codeassist.onboarding_polls: at most {MAX_ONBOARDING_POLLS}")
    return EmulatorConfig(
        scenarios=scenarios,
        default_scenario=default_name,
        models=tuple(str(m) for m in data.get("models", DEFAULT_MODELS)),
        api_keys=_optional_set(auth.get("api_keys")),
        access_tokens=_optional_set(auth.get("access_tokens")),
        refused_api_keys={str(k): str(v) for k, v in refused.items()},
        refresh_tokens=frozenset(
            str(t) for t in oauth.get("refresh_tokens", ["emulator-refresh-token"])
        ),
        oauth_clients=clients,
        access_token_ttl_s=int(oauth.get("access_token_ttl_s", 3599)),
        max_records=int(data.get("max_records", 10_000)),
        onboarding_polls=onboarding_polls,
    )


_SCENARIO_KEYS = {
    "seed",
    "text_tokens",
    "text",
    "lone_surrogate_at",
    "omit_finish_reason",
    "chunk_tokens",
    "finish_reason",
    "block_reason",
    "thoughts_tokens",
    "tool_call",
    "tool_calls",
    "call_declared_tools",
    "framing",
    "gzip",
    "latency",
    "faults",
    "capacity",
}


def parse_scenario(name: str, spec: Mapping[str, Any]) -> Scenario:
    """Validate one `[scenarios.NAME]` table."""
    where = f"scenarios.{name}."
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where[:-1]}: expected a table")
    _only_keys(spec, where, _SCENARIO_KEYS)
    finish_reason = str(spec.get("finish_reason", "STOP"))
    if finish_reason not in FINISH_REASONS:
        raise ConfigError(
            f"{where}finish_reason: {finish_reason!r} is not one of {sorted(FINISH_REASONS)}"
        )
    block_reason = spec.get("block_reason")
    if block_reason is not None and block_reason not in BLOCK_REASONS:
        raise ConfigError(
            f"{where}block_reason: {block_reason!r} is not one of {sorted(BLOCK_REASONS)}"
        )
    framing = str(spec.get("framing", "crlf"))
    if framing not in {"crlf", "lf"}:
        raise ConfigError(f"{where}framing: expected 'crlf' or 'lf'")
    calls = list(spec.get("tool_calls", []))
    if "tool_call" in spec:
        calls.insert(0, spec["tool_call"])
    capacity = spec.get("capacity", {})
    _only_keys(capacity, where + "capacity.", {"per_credential", "per_model", "credentials"})
    chunk_tokens = _distribution(spec.get("chunk_tokens", 4), where + "chunk_tokens")
    if chunk_tokens.is_zero:
        raise ConfigError(f"{where}chunk_tokens: must be positive")
    return Scenario(
        name=name,
        seed=int(spec.get("seed", 0)),
        text_tokens=_non_negative_int(spec.get("text_tokens", 12), where + "text_tokens"),
        text=_optional_text(spec.get("text"), where + "text"),
        lone_surrogate_at=(
            None
            if spec.get("lone_surrogate_at") is None
            else _non_negative_int(spec["lone_surrogate_at"], where + "lone_surrogate_at")
        ),
        omit_finish_reason=bool(spec.get("omit_finish_reason", False)),
        chunk_tokens=chunk_tokens,
        finish_reason=finish_reason,
        block_reason=block_reason,
        thoughts_tokens=_non_negative_int(
            spec.get("thoughts_tokens", 0), where + "thoughts_tokens"
        ),
        tool_calls=tuple(_scripted_call(c, where + "tool_calls") for c in calls),
        call_declared_tools=_non_negative_int(
            spec.get("call_declared_tools", 0), where + "call_declared_tools"
        ),
        framing=framing,
        gzip=bool(spec.get("gzip", False)),
        latency=_latency(spec.get("latency", {}), where + "latency."),
        faults=tuple(
            _fault(f, f"{where}faults[{i}].") for i, f in enumerate(spec.get("faults", []))
        ),
        credential_bucket=_bucket(
            capacity.get("per_credential"), where + "capacity.per_credential"
        ),
        model_bucket=_bucket(capacity.get("per_model"), where + "capacity.per_model"),
        bucket_credentials=(
            _credential_ids(capacity["credentials"], where + "capacity.credentials")
            if "credentials" in capacity
            else frozenset()
        ),
    )


def _latency(spec: Mapping[str, Any], where: str) -> Latency:
    _only_keys(spec, where, {"headers_ms", "first_chunk_ms", "chunk_gap_ms"})
    return Latency(
        headers_ms=_distribution(spec.get("headers_ms", 0), where + "headers_ms"),
        first_chunk_ms=_distribution(spec.get("first_chunk_ms", 0), where + "first_chunk_ms"),
        chunk_gap_ms=_distribution(spec.get("chunk_gap_ms", 0), where + "chunk_gap_ms"),
    )


def _distribution(spec: Any, where: str) -> Distribution:
    if isinstance(spec, bool):
        raise ConfigError(f"{where}: expected a number or a distribution table")
    if isinstance(spec, int | float):
        if spec < 0:
            raise ConfigError(f"{where}: must not be negative")
        return Distribution(value=float(spec))
    if not isinstance(spec, Mapping) or spec.get("dist") not in _DISTRIBUTION_PARAMS:
        raise ConfigError(
            f"{where}: expected a number or {{dist = one of {sorted(_DISTRIBUTION_PARAMS)}, ...}}"
        )
    kind = str(spec["dist"])
    required, optional = _DISTRIBUTION_PARAMS[kind]
    params = {k: v for k, v in spec.items() if k != "dist"}
    missing = required - params.keys()
    unknown = params.keys() - required - optional
    if missing or unknown:
        raise ConfigError(f"{where}: {kind} needs {sorted(required)} (optional {sorted(optional)})")
    if kind == "lognormal" and float(params["median"]) <= 0:
        raise ConfigError(f"{where}: lognormal median must be positive")
    return Distribution(kind=kind, params=tuple(sorted((k, float(v)) for k, v in params.items())))


def _fault(spec: Mapping[str, Any], where: str) -> Fault:
    _only_keys(
        spec,
        where,
        {
            "kind",
            "probability",
            "requests",
            "every",
            "retry_delay_s",
            "after_chunks",
            "stall_ms",
            "array_body",
            "message",
            "credentials",
        },
    )
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise ConfigError(f"{where}kind: {kind!r} is not one of {sorted(FAULT_KINDS)}")
    probability = float(spec.get("probability", 0.0))
    if not 0.0 <= probability <= 1.0:
        raise ConfigError(f"{where}probability: must be within [0, 1]")
    requests = frozenset(int(n) for n in spec.get("requests", []))
    every = _non_negative_int(spec.get("every", 0), where + "every")
    if not (probability or requests or every):
        raise ConfigError(f"{where}: say when it fires: probability, requests or every")
    stall_ms = float(spec.get("stall_ms", 5_000.0))
    if not 0 <= stall_ms <= MAX_STALL_MS:
        raise ConfigError(f"{where}stall_ms: must be within [0, {MAX_STALL_MS}]")
    return Fault(
        kind=str(kind),
        probability=probability,
        requests=requests,
        every=every,
        retry_delay_s=float(spec.get("retry_delay_s", 26.0)),
        after_chunks=_non_negative_int(spec.get("after_chunks", 1), where + "after_chunks"),
        stall_ms=stall_ms,
        array_body=bool(spec.get("array_body", False)),
        message=str(spec.get("message", "")),
        credentials=(
            _credential_ids(spec["credentials"], where + "credentials")
            if "credentials" in spec
            else frozenset()
        ),
    )


def _scripted_call(spec: Any, where: str) -> ScriptedCall:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError(f'{where}: expected {{name = "...", args = {{...}}}}')
    args = spec.get("args", {})
    if not isinstance(args, Mapping):
        raise ConfigError(f"{where}.args: expected a table")
    return ScriptedCall(name=spec["name"], args=dict(args))


def _bucket(spec: Any, where: str) -> BucketSpec | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or "rate" not in spec:
        raise ConfigError(f"{where}: expected {{rate = <per second>, burst = <count>}}")
    rate = float(spec["rate"])
    burst = float(spec.get("burst", max(1.0, rate)))
    if rate < 0 or burst < 1:
        raise ConfigError(f"{where}: rate must be >= 0 and burst >= 1")
    return BucketSpec(rate=rate, burst=burst)


def _non_negative_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: expected a non-negative integer")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _optional_set(values: Any) -> frozenset[str] | None:
    return None if values is None else frozenset(str(v) for v in values)


def _only_keys(spec: Any, where: str, allowed: set[str]) -> None:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a table")
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"{where}{sorted(unknown)[0]}: unknown key (allowed: {sorted(allowed)})")
