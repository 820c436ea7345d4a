"""Proxy configuration: a TOML file plus `COMPATKIT_*` environment variables (env wins).

Operations:
    load_config(path=None, env=os.environ) -> Config   file (or $COMPATKIT_CONFIG) + env
    config_from_mapping(data, env={}) -> Config         the same from an already-parsed table
    listen_address_overridden(config, host, port)       with `--host` / `--port`, checked alike
    server_overridden(config, server)                   with `--server`, checked alike
    SERVERS, DEFAULT_SERVER                             the ASGI servers `serve` can run on
    Config / UpstreamConfig / RetryConfig / ModelMap    frozen dataclasses; secrets masked in repr
    ModelMap.resolve(client_model) -> upstream model    first matching glob wins
    ModelMap.is_scarce(upstream_model) -> bool
    ModelMap.upstream_models() -> frozenset[str]        its targets and scarce models
    ConfigError                                         every bad value, with where it came from
    check_servable(config) -> None                      what `serve` needs on top: an explicit
                                                        upstream (or the demo) and client keys
                                                        (or an explicit allow_any_key)
    RANGES                                              (low, high) of every numeric setting
    known_keys() -> {"section.key": env name | None}    every key the loader reads
    parse_port(value, where) -> int                     0-65535, ASCII digits only

File layout (every key optional):

    [server]    host, port, proxy_keys = [..], allow_any_key, admin_key, max_body_bytes,
                ping_interval,
                schema_mode = "parameters" | "parametersJsonSchema" (how tool schemas go upstream),
                server = "hypercorn" | "granian" (the ASGI server the proxy runs on)
    [upstream]  kind = "gemini" | "code_assist" | "emulator" (the demo),
                api_keys = [..], oauth_files = [..],
                gemini_base_url, code_assist_base_url, code_assist_api_version,
                oauth_token_uri, oauth_client_id, oauth_client_secret, ca_file, project,
                onboard_timeout, onboard_poll_interval,
                max_in_flight (leases per credential at once, across every instance sharing
                the state), max_in_flight_wait (seconds to wait for a free slot),
                http2_prior_knowledge (the pooled arm speaks HTTP/2 to an http:// upstream)
    [models]    map = { "claude-*haiku*" = "gemini-2.5-flash", ... }   (order kept)
                scarce = ["gemini-2.5-pro", ...]
    [flags]     ff_retry_policy_v2 = true, ...
    [state]     path = "compatkit-state.sqlite3" | ":memory:"   (the embedded SQLite store)
                url = "redis://host:6379/0"   (Redis, shared by every instance; wins over path)
                prefix = "compatkit:"         (the Redis key prefix: one per shared state)
    [retry]     base_delay, max_delay, deadline, max_attempts, v1_interval,
                capacity_cooldown, quota_cooldown
    [panel]     reports_dir = "reports/out"   (where the control panel finds the gate's reports)

Environment: COMPATKIT_CONFIG (the file), COMPATKIT_HOST, _PORT, _PROXY_KEYS (comma list),
_ALLOW_ANY_KEY, _ADMIN_KEY, _MAX_BODY_BYTES,
_PING_INTERVAL, _SCHEMA_MODE, _SERVER, _UPSTREAM (kind), _API_KEYS (comma list), _OAUTH_FILES (comma list),
_GEMINI_BASE_URL, _CODE_ASSIST_BASE_URL, _CODE_ASSIST_API_VERSION, _OAUTH_TOKEN_URI,
_OAUTH_CLIENT_ID, _OAUTH_CLIENT_SECRET, _CA_FILE, _PROJECT, _ONBOARD_TIMEOUT,
_ONBOARD_POLL_INTERVAL, _MAX_IN_FLIGHT, _MAX_IN_FLIGHT_WAIT, _HTTP2_PRIOR_KNOWLEDGE, _STATE_PATH, _STATE_URL, _STATE_PREFIX, _RETRY_BASE_DELAY, _RETRY_MAX_DELAY, _RETRY_DEADLINE,
_RETRY_MAX_ATTEMPTS, _RETRY_V1_INTERVAL, _RETRY_CAPACITY_COOLDOWN, _RETRY_QUOTA_COOLDOWN,
_PANEL_REPORTS_DIR,
and one per flag in upper case (COMPATKIT_FF_RETRY_POLICY_V2=on).

Any other COMPATKIT_* variable is an error naming the nearest known one (a typo such as
COMPATKIT_PROXY_KEY must not leave the proxy open), except those of compatkit's other tools
(OTHER_TOOLS_ENV). An empty key list is an error, as is a number outside RANGES or written
with other than ASCII digits. Settings that conflict are errors; settings the chosen upstream
does not use become `Config.warnings` (logged at start). `Config.sources` says where each
value set came from (a file key or an environment variable).

With no credentials configured anywhere, `Config.upstream` is None; `upstream.kind =
"emulator"` (or `compatkit serve --demo`) sets `Config.demo`: the serve command then runs
the emulator in-process. `check_servable` refuses neither-nor, and an open proxy not chosen.
"""

from __future__ import annotations

import codecs
import difflib
import fnmatch
import ipaddress
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from compat._options import SchemaMode
from server.errors import ServerError
from server.flags import FLAG_NAMES, FlagError, Flags, parse_flag_value
from server.state.redis import redacted_url

UpstreamKind = Literal["gemini", "code_assist"]
ENV_PREFIX = "COMPATKIT_"
DEFAULT_STATE_PATH = "compatkit-state.sqlite3"
DEMO_KIND = "emulator"
ServerName = Literal["hypercorn", "granian"]
SERVERS: tuple[ServerName, ...] = ("hypercorn", "granian")
DEFAULT_SERVER: ServerName = "hypercorn"
"""The ASGI servers `compatkit serve` runs the proxy on (server.hosting; docs/server.md,
section 2, says why the default is the default)."""

OTHER_TOOLS_ENV = (
    "COMPATKIT_LOCUST_",  # loadtests' Locust profiles
    "COMPATKIT_EMULATOR_",  # compatkit emulate's workers
    "COMPATKIT_BENCH_",  # .ci's benchmark lock
    "COMPATKIT_GATE_",  # .ci's gate output
    "COMPATKIT_LITELLM",  # the LiteLLM conformance test
    "COMPATKIT_PANEL_SCREENSHOT",  # the panel's browser test
    "COMPATKIT_CLAUDE_CODE",  # compatkit claude: which Claude Code to run
)
"""Prefixes of COMPATKIT_* variables other compatkit tools read: `serve` lets them be."""

RANGES: Mapping[str, tuple[float, float]] = {
    "server.port": (0, 65535),
    "server.max_body_bytes": (1024, 1024**3),
    "server.ping_interval": (0.5, 300.0),
    "upstream.onboard_timeout": (1.0, 600.0),
    "upstream.onboard_poll_interval": (0.01, 60.0),
    "upstream.max_in_flight": (1, 10000),
    "upstream.max_in_flight_wait": (0.01, 600.0),
    "retry.base_delay": (0.01, 60.0),
    "retry.max_delay": (0.01, 600.0),
    "retry.deadline": (1.0, 3600.0),
    "retry.max_attempts": (1, 20),
    "retry.v1_interval": (0.01, 60.0),
    "retry.capacity_cooldown": (0.1, 3600.0),
    "retry.quota_cooldown": (0.1, 86400.0),
}
"""Inclusive bounds of every numeric setting (docs/server.md, section 2); outside is an error."""

_CODE_ASSIST_ONLY = (
    "code_assist_base_url",
    "code_assist_api_version",
    "oauth_token_uri",
    "oauth_client_id",
    "oauth_client_secret",
    "project",
    "onboard_timeout",
    "onboard_poll_interval",
)

_T = TypeVar("_T")
_NONE: tuple[str, ...] = ()


class ConfigError(ServerError, ValueError):
    """A configuration value that cannot be used; the message names the key and its source."""


def mask_secret(secret: str) -> str:
    """A secret shortened for logs and reprs: its length and last 4 characters at most."""
    if len(secret) <= 8:
        return "***"
    return f"***{secret[-4:]}"


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """Client model names matching `pattern` (fnmatch glob) go to `upstream_model`."""

    pattern: str
    upstream_model: str


DEFAULT_MODEL_ROUTES = (
    ModelRoute("claude-*haiku*", "gemini-2.5-flash"),
    ModelRoute("claude-*", "gemini-2.5-pro"),
    ModelRoute("gpt-*", "gemini-2.5-flash"),
)


@dataclass(frozen=True, slots=True)
class ModelMap:
    """Client model name → upstream model, and which upstream models are scarce."""

    routes: tuple[ModelRoute, ...] = DEFAULT_MODEL_ROUTES
    scarce: frozenset[str] = frozenset()

    def upstream_models(self) -> frozenset[str]:
        """Every upstream model the map names: its routes' targets and the scarce models."""
        return frozenset(route.upstream_model for route in self.routes) | self.scarce

    def resolve(self, client_model: str) -> str:
        """The upstream model for `client_model`; unmatched names pass through unchanged."""
        for route in self.routes:
            if fnmatch.fnmatchcase(client_model, route.pattern):
                return route.upstream_model
        return client_model

    def is_scarce(self, upstream_model: str) -> bool:
        """Whether requests for this upstream model use the health-aware scheduler."""
        return upstream_model in self.scarce


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """Where requests go and with which credentials."""

    kind: UpstreamKind
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    oauth_files: tuple[Path, ...] = ()
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    code_assist_base_url: str = "https://cloudcode-pa.googleapis.com"
    code_assist_api_version: str = "v1internal"
    oauth_token_uri: str = "https://oauth2.googleapis.com/token"
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    project: str | None = None
    onboard_timeout: float = 30.0
    onboard_poll_interval: float = 5.0
    max_in_flight: int | None = None
    max_in_flight_wait: float = 10.0
    http2_prior_knowledge: bool = False  # h2c to an http:// upstream (the pooled arm only)

    def __repr__(self) -> str:
        keys = ", ".join(mask_secret(k) for k in self.api_keys)
        return (
            f"UpstreamConfig(kind={self.kind!r}, api_keys=[{keys}], "
            f"oauth_files={[str(p) for p in self.oauth_files]!r}, "
            f"gemini_base_url={self.gemini_base_url!r}, "
            f"code_assist_base_url={self.code_assist_base_url!r}, "
            f"oauth_token_uri={self.oauth_token_uri!r}, ca_file={self.ca_file!r}, "
            f"project={self.project!r})"
        )


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Retry policy settings (seconds). v1 is the fixed-interval baseline, v2 the candidate."""

    base_delay: float = 0.5
    max_delay: float = 12.0
    deadline: float = 60.0
    max_attempts: int = 5
    v1_interval: float = 1.0
    capacity_cooldown: float = 30.0
    quota_cooldown: float = 300.0


@dataclass(frozen=True, slots=True)
class Config:
    """Everything `create_app` needs. Built in code (tests) or by `load_config` (serve).

    `state_path` defaults to `:memory:` here so that code-built configs leave no files;
    `load_config` defaults it to DEFAULT_STATE_PATH so a served proxy survives restarts.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    proxy_keys: tuple[str, ...] = field(default=(), repr=False)
    allow_any_key: bool = False  # the operator chose an open proxy (no proxy keys)
    admin_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 32 * 1024 * 1024
    ping_interval: float = 10.0
    schema_mode: SchemaMode = "parameters"
    server: ServerName = DEFAULT_SERVER
    upstream: UpstreamConfig | None = None
    models: ModelMap = field(default_factory=ModelMap)
    flags: Flags = field(default_factory=Flags.shipped)
    state_path: str = ":memory:"
    state_url: str | None = field(default=None, repr=False)  # may hold a password
    state_prefix: str = "compatkit:"
    panel_reports_dir: str = "reports/out"
    retry: RetryConfig = field(default_factory=RetryConfig)
    demo: bool = False  # the upstream is the in-process emulator (`serve --demo`)
    warnings: tuple[str, ...] = ()  # settings that are unused, said at start
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    """"section.key" -> where its value came from ("COMPATKIT_PORT", "file.toml"), if set."""


# --- loading -------------------------------------------------------------------------------


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, *, demo: bool = False
) -> Config:
    """Read the TOML file at `path` (or $COMPATKIT_CONFIG, or none) and apply env overrides.

    `demo` is `serve --demo`: the same as `upstream.kind = "emulator"`.
    """
    env = os.environ if env is None else env
    _check_env_names(env)
    path = path if path is not None else env.get(ENV_PREFIX + "CONFIG") or None
    data = _read_toml_file(path) if path is not None else {}
    config = config_from_mapping(data, env, origin=str(path) if path else "file", demo=demo)
    if "state.path" not in config.sources:
        config = replace(config, state_path=DEFAULT_STATE_PATH)
    return config


def _read_toml_file(path: str | Path) -> dict[str, Any]:
    """The table of the TOML file at `path`; ConfigError for anything but a readable UTF-8
    TOML regular file. The type is checked before opening: a FIFO nobody writes would block."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ConfigError(f"config file {path} is {kind}")
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(f"config file {path} is UTF-16 text; a TOML file is UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); a TOML file is UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"config file {path} nests arrays or inline tables too deeply") from None


def config_from_mapping(
    data: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    origin: str = "file",
    demo: bool = False,
) -> Config:
    """Build a Config from a parsed TOML table and env overrides; raise ConfigError on bad input.

    `origin` names the table in `Config.sources` (the file's path).
    """
    reader = _Reader(data, env or {}, origin)
    unknown = set(data) - {"server", "upstream", "models", "flags", "state", "retry", "panel"}
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
    defaults = Config()
    proxy_keys = reader.get("server", "proxy_keys", _str_list, _NONE)
    allow_any_key = reader.get("server", "allow_any_key", _bool, False)
    if proxy_keys and allow_any_key:
        raise ConfigError(
            f"{reader.where('server', 'proxy_keys')} and "
            f"{reader.where('server', 'allow_any_key')} conflict: keys, or any client, not both"
        )
    demo, upstream = _read_upstream(reader, demo)
    config = Config(
        host=reader.get("server", "host", _host, defaults.host),
        port=reader.get("server", "port", parse_port, defaults.port),
        proxy_keys=proxy_keys,
        allow_any_key=allow_any_key,
        admin_key=reader.get("server", "admin_key", _str, None),
        max_body_bytes=reader.get("server", "max_body_bytes", _ranged_int, defaults.max_body_bytes),
        ping_interval=reader.get("server", "ping_interval", _ranged_float, defaults.ping_interval),
        schema_mode=reader.get("server", "schema_mode", _schema_mode, "parameters"),
        server=reader.get("server", "server", _server_name, defaults.server),
        upstream=upstream,
        models=_read_models(reader),
        flags=_read_flags(reader),
        state_path=reader.get("state", "path", _str, defaults.state_path),
        state_url=reader.get("state", "url", _redis_url, None),
        state_prefix=reader.get("state", "prefix", _str, defaults.state_prefix),
        panel_reports_dir=reader.get("panel", "reports_dir", _str, defaults.panel_reports_dir),
        retry=_read_retry(reader),
        demo=demo,
    )
    return replace(config, warnings=_unused(reader, config), sources=dict(reader.sources))


def check_servable(config: Config) -> None:
    """What serving needs on top of valid values: ConfigError if it would fail open.

    An upstream, or the demo emulator chosen explicitly; proxy keys, or any client accepted
    by choice (`allow_any_key`; the demo accepts any client unless keys are set).
    """
    if config.upstream is None and not config.demo:
        raise ConfigError(
            "no upstream configured: set upstream.api_keys (COMPATKIT_API_KEYS) or "
            "upstream.oauth_files (COMPATKIT_OAUTH_FILES), or run `compatkit serve --demo` "
            "to try the proxy against its built-in emulator"
        )
    if not config.demo and not config.proxy_keys and not config.allow_any_key:
        raise ConfigError(
            "no proxy keys configured: set server.proxy_keys (COMPATKIT_PROXY_KEYS), or "
            "server.allow_any_key = true (COMPATKIT_ALLOW_ANY_KEY=on) to accept any client"
        )


def known_keys() -> dict[str, str | None]:
    """Every "section.key" the loader reads, with its environment variable (None: file only)."""
    keys: dict[str, str | None] = {
        f"{section}.{key}": ENV_PREFIX + _env_name(section, key)
        for section, names in _Reader.SECTION_KEYS.items()
        for key in sorted(names)
    }
    keys.update({f"flags.{name}": ENV_PREFIX + name.upper() for name in FLAG_NAMES})
    keys.update({"models.map": None, "models.scarce": None})
    return keys


def _check_env_names(env: Mapping[str, str]) -> None:
    """Refuse a COMPATKIT_* variable no part of compatkit reads, naming the nearest known one."""
    known = {name for name in known_keys().values() if name} | {ENV_PREFIX + "CONFIG"}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known or name.startswith(OTHER_TOOLS_ENV):
            continue
        suffixes = sorted(k.removeprefix(ENV_PREFIX) for k in known)  # the prefix is no match
        nearest = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), suffixes, n=1)
        hint = f" (did you mean {ENV_PREFIX}{nearest[0]}?)" if nearest else ""
        raise ConfigError(f"unknown environment variable {name}{hint}")


def _unused(reader: _Reader, config: Config) -> tuple[str, ...]:
    """Settings that were given but that this configuration does not use."""
    kind = config.upstream.kind if config.upstream is not None else None
    unused = []
    if kind != "code_assist":
        unused += [
            reader.where("upstream", k) for k in _CODE_ASSIST_ONLY if reader.given("upstream", k)
        ]
    if kind != "gemini" and reader.given("upstream", "gemini_base_url"):
        unused.append(reader.where("upstream", "gemini_base_url"))
    limit = config.upstream.max_in_flight if config.upstream is not None else None
    if limit is None and reader.given("upstream", "max_in_flight_wait"):
        unused.append(reader.where("upstream", "max_in_flight_wait") + " (without max_in_flight)")
    if reader.given("upstream", "http2_prior_knowledge") and not _cleartext(config.upstream):
        unused.append(
            reader.where("upstream", "http2_prior_knowledge")
            + " (only for an http:// upstream URL)"
        )
    if config.state_url is not None and reader.given("state", "path"):
        unused.append(reader.where("state", "path") + " (state.url wins)")
    if config.state_url is None and reader.given("state", "prefix"):
        unused.append(reader.where("state", "prefix") + " (only the Redis store uses it)")
    what = "the demo emulator" if config.demo else f"upstream kind {kind!r}"
    return tuple(f"{item} is set but unused with {what}" for item in unused)


def _cleartext(upstream: UpstreamConfig | None) -> bool:
    """Whether the upstream's base URL is http:// (where HTTP/2 needs prior knowledge)."""
    if upstream is None:  # the demo: its emulator's URL is the proxy's own choice
        return False
    base = upstream.gemini_base_url if upstream.kind == "gemini" else upstream.code_assist_base_url
    return base.startswith("http://")


def _read_upstream(reader: _Reader, demo: bool) -> tuple[bool, UpstreamConfig | None]:
    """(demo, upstream): the demo emulator (chosen by `demo` or kind "emulator"), a real
    upstream, or (False, None) when nothing is configured."""
    d = UpstreamConfig(kind="gemini")
    api_keys = reader.get("upstream", "api_keys", _str_list, _NONE)
    oauth_files = reader.get("upstream", "oauth_files", _str_list, _NONE)
    if api_keys and oauth_files:
        raise ConfigError(
            f"{reader.where('upstream', 'api_keys')} and {reader.where('upstream', 'oauth_files')} "
            "conflict: one upstream kind at a time (API keys for gemini, OAuth files for "
            "code_assist)"
        )
    implied: str | None = "gemini" if api_keys else "code_assist" if oauth_files else None
    kind = reader.get("upstream", "kind", _str, DEMO_KIND if demo else implied)
    if demo and kind != DEMO_KIND:
        raise ConfigError(f"--demo conflicts with {reader.where('upstream', 'kind')} = {kind!r}")
    if kind == DEMO_KIND:
        given = [
            reader.where("upstream", k)
            for k in ("api_keys", "oauth_files")
            if reader.given("upstream", k)
        ]
        if given:
            raise ConfigError(
                f"the demo emulator uses no upstream credentials: {' and '.join(given)} "
                "would be ignored"
            )
        return True, None
    if kind is None:
        return False, None
    if kind not in ("gemini", "code_assist"):
        raise ConfigError(
            f"upstream kind must be 'gemini', 'code_assist' or 'emulator', got {kind!r}"
        )
    if kind == "gemini" and not api_keys:
        raise ConfigError("upstream kind 'gemini' needs at least one API key (upstream.api_keys)")
    if kind == "code_assist" and not oauth_files:
        raise ConfigError(
            "upstream kind 'code_assist' needs at least one OAuth credential file "
            "(upstream.oauth_files)"
        )
    ca_file = reader.get("upstream", "ca_file", _str, None)
    if ca_file is not None and not Path(ca_file).expanduser().is_file():
        exists = Path(ca_file).expanduser().exists()
        raise ConfigError(
            f"upstream.ca_file {ca_file} {'is not a regular file' if exists else 'does not exist'}"
        )
    return False, UpstreamConfig(
        kind=kind,  # type: ignore[arg-type]
        api_keys=api_keys,
        oauth_files=tuple(Path(p).expanduser() for p in oauth_files),
        gemini_base_url=reader.get("upstream", "gemini_base_url", _url, d.gemini_base_url),
        code_assist_base_url=reader.get(
            "upstream", "code_assist_base_url", _url, d.code_assist_base_url
        ),
        code_assist_api_version=reader.get(
            "upstream", "code_assist_api_version", _str, d.code_assist_api_version
        ),
        oauth_token_uri=reader.get("upstream", "oauth_token_uri", _url, d.oauth_token_uri),
        oauth_client_id=reader.get("upstream", "oauth_client_id", _str, None),
        oauth_client_secret=reader.get("upstream", "oauth_client_secret", _str, None),
        ca_file=Path(ca_file).expanduser() if ca_file is not None else None,
        project=reader.get("upstream", "project", _str, None),
        onboard_timeout=reader.get("upstream", "onboard_timeout", _ranged_float, d.onboard_timeout),
        onboard_poll_interval=reader.get(
            "upstream", "onboard_poll_interval", _ranged_float, d.onboard_poll_interval
        ),
        max_in_flight=reader.get("upstream", "max_in_flight", _ranged_int, d.max_in_flight),
        max_in_flight_wait=reader.get(
            "upstream", "max_in_flight_wait", _ranged_float, d.max_in_flight_wait
        ),
        http2_prior_knowledge=reader.get(
            "upstream", "http2_prior_knowledge", _bool, d.http2_prior_knowledge
        ),
    )


def _read_models(reader: _Reader) -> ModelMap:
    table = reader.section("models")
    unknown = set(table) - {"map", "scarce"}
    if unknown:
        raise ConfigError(f"unknown key(s) in [models]: {', '.join(sorted(unknown))}")
    routes: tuple[ModelRoute, ...] = DEFAULT_MODEL_ROUTES
    if "map" in table:
        mapping = table["map"]
        if not isinstance(mapping, dict):
            raise ConfigError("models.map must be a table of glob = upstream model")
        for pattern, target in mapping.items():
            if not isinstance(target, str) or not target:
                raise ConfigError(f"models.map[{pattern!r}] must be a model name, got {target!r}")
        routes = tuple(ModelRoute(str(p), str(t)) for p, t in mapping.items())
    scarce: tuple[str, ...] = ()
    if table.get("scarce", []) != []:  # an empty list is "no scarce model"
        scarce = _str_list(table["scarce"], "models.scarce")
    return ModelMap(routes=routes, scarce=frozenset(scarce))


def _read_flags(reader: _Reader) -> Flags:
    values: dict[str, bool] = {}
    table = reader.section("flags")
    for name in table:
        if name not in FLAG_NAMES:
            raise ConfigError(f"unknown flag {name!r} in [flags]; known: {', '.join(FLAG_NAMES)}")
    for name in FLAG_NAMES:
        value = reader.get("flags", name, _bool, None)
        if value is not None:
            values[name] = value
    return Flags.shipped().with_overrides(values)


def _read_retry(reader: _Reader) -> RetryConfig:
    d = RetryConfig()

    def number(key: str, default: float) -> float:
        return reader.get("retry", key, _ranged_float, default)

    retry = RetryConfig(
        base_delay=number("base_delay", d.base_delay),
        max_delay=number("max_delay", d.max_delay),
        deadline=number("deadline", d.deadline),
        max_attempts=reader.get("retry", "max_attempts", _ranged_int, d.max_attempts),
        v1_interval=number("v1_interval", d.v1_interval),
        capacity_cooldown=number("capacity_cooldown", d.capacity_cooldown),
        quota_cooldown=number("quota_cooldown", d.quota_cooldown),
    )
    if retry.base_delay > retry.max_delay:
        raise ConfigError("retry.base_delay must not exceed retry.max_delay")
    return retry


def _env_name(section: str, key: str) -> str:
    """The COMPATKIT_ variable of a key, without the prefix: server and upstream keys by
    their own name (upstream.kind is UPSTREAM), other sections' with the section first."""
    if (section, key) == ("upstream", "kind"):
        return "UPSTREAM"
    if section in ("server", "upstream", "flags"):
        return key.upper()
    return f"{section}_{key}".upper()


class _Reader:
    """Looks a key up in env (COMPATKIT_<NAME>) first, then in the file section; remembers
    where each value it returned came from (`sources`)."""

    SECTION_KEYS: Mapping[str, frozenset[str]] = {
        "server": frozenset(
            {
                "host",
                "port",
                "proxy_keys",
                "allow_any_key",
                "admin_key",
                "max_body_bytes",
                "ping_interval",
                "schema_mode",
                "server",
            }
        ),
        "upstream": frozenset(
            {
                "kind",
                "api_keys",
                "oauth_files",
                "gemini_base_url",
                "code_assist_base_url",
                "code_assist_api_version",
                "oauth_token_uri",
                "oauth_client_id",
                "oauth_client_secret",
                "ca_file",
                "project",
                "onboard_timeout",
                "onboard_poll_interval",
                "max_in_flight",
                "max_in_flight_wait",
                "http2_prior_knowledge",
            }
        ),
        "state": frozenset({"path", "url", "prefix"}),
        "panel": frozenset({"reports_dir"}),
        "retry": frozenset(RetryConfig.__dataclass_fields__),
    }

    def __init__(self, data: Mapping[str, Any], env: Mapping[str, str], origin: str) -> None:
        self._data = data
        self._env = env
        self._origin = origin
        self.sources: dict[str, str] = {}
        for name, keys in self.SECTION_KEYS.items():
            unknown = set(self.section(name)) - keys
            if unknown:
                raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")

    def section(self, name: str) -> Mapping[str, Any]:
        table = self._data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
        return table

    def given(self, section: str, key: str) -> bool:
        """Whether the env or the file sets this key."""
        return ENV_PREFIX + _env_name(section, key) in self._env or key in self.section(section)

    def where(self, section: str, key: str) -> str:
        """How an error names the key: its variable when the env sets it, else section.key."""
        env_key = ENV_PREFIX + _env_name(section, key)
        return env_key if env_key in self._env else f"{section}.{key}"

    def get(self, section: str, key: str, convert: Callable[[Any, str], _T], default: _T) -> _T:
        env_key = ENV_PREFIX + _env_name(section, key)
        if env_key in self._env:
            self.sources[f"{section}.{key}"] = env_key
            return convert(self._env[env_key], env_key)
        table = self.section(section)
        if key in table:
            self.sources[f"{section}.{key}"] = self._origin
            return convert(table[key], f"{section}.{key}")
        return default


# --- value converters: (raw value, where it came from) -> typed value -----------------------


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value.strip()


def _url(value: Any, where: str) -> str:
    text = _str(value, where)
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"{where} must be an http:// or https:// URL, got {text!r}")
    return text.rstrip("/")


def _redis_url(value: Any, where: str) -> str:
    """redis://[user:password@]host[:port][/db], rediss:// (TLS) or unix:///path.sock."""
    text = _str(value, where)
    shown = redacted_url(text)
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{where} must be a redis://, rediss:// or unix:// URL, got {shown!r}")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise ConfigError(f"{where} has a bad port: {shown!r}") from None
    if parts.scheme == "unix" and not parts.path:
        raise ConfigError(f"{where} must name a socket path: {shown!r}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"{where} must name a host: {shown!r}")
    db = parts.path.lstrip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise ConfigError(f"{where} database must be a number, got {db!r}")
    return text


def _schema_mode(value: Any, where: str) -> SchemaMode:
    if value == "parameters":
        return "parameters"
    if value == "parametersJsonSchema":
        return "parametersJsonSchema"
    raise ConfigError(f'{where} must be "parameters" or "parametersJsonSchema", got {value!r}')


def _server_name(value: Any, where: str) -> ServerName:
    for name in SERVERS:
        if value == name:
            return name
    raise ConfigError(f"{where} must be one of {', '.join(map(repr, SERVERS))}, got {value!r}")


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    """A non-empty list: an empty one (`COMPATKIT_PROXY_KEYS=''`) is an error, never "none"."""
    if isinstance(value, str) and where.startswith(ENV_PREFIX):  # env: comma separated
        items = tuple(item.strip() for item in value.split(","))
        if not any(items):
            raise ConfigError(f"{where} is empty: give at least one value, or unset it")
        if not all(items):  # never echo the value: a list of keys is a list of secrets
            empty = items.index("") + 1
            raise ConfigError(f"{where} has an empty item (item {empty} of {len(items)})")
        return items
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings")
    if not value:
        raise ConfigError(f"{where} is empty: give at least one value, or leave it out")
    return tuple(v.strip() for v in value)


def _int(value: Any, where: str) -> int:
    """An integer: a TOML integer, or ASCII digits with an optional sign (no `１２`, no `1_0`)."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text, flags=re.ASCII):
        raise ConfigError(f"{where} must be an integer in ASCII digits, got {value!r}")
    return int(text)


def _float(value: Any, where: str) -> float:
    """A finite number: a TOML number, or ASCII decimal notation (no `nan`, no `１`)."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and re.fullmatch(_DECIMAL, value.strip(), flags=re.ASCII):
        number = float(value.strip())
    else:
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return number


_DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def _in_range(number: float, where: str) -> None:
    low, high = RANGES[_key_of(where)]
    if not low <= number <= high:
        raise ConfigError(
            f"{where} must be between {_text(low)} and {_text(high)}, got {_text(number)}"
        )


def _text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _key_of(where: str) -> str:
    """The "section.key" an error location names (an env variable or the key itself)."""
    if where.startswith(ENV_PREFIX):
        return next(key for key, env in known_keys().items() if env == where)
    return where


def _ranged_int(value: Any, where: str) -> int:
    number = _int(value, where)
    _in_range(number, where)
    return number


def _ranged_float(value: Any, where: str) -> float:
    number = _float(value, where)
    _in_range(number, where)
    return number


def parse_port(value: Any, where: str) -> int:
    """A port number 0-65535 in ASCII digits (`１２` is no port); ConfigError naming `where`."""
    number = _int(value, where)
    if not 0 <= number <= 65535:
        raise ConfigError(f"{where} must be a port number 0-65535, got {number}")
    return number


_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _host(value: Any, where: str) -> str:
    """An IPv4 or IPv6 address, or a host name (ASCII labels, not all digits: 256.0.0.1 is
    a bad address, not a name)."""
    text = _str(value, where)
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not _HOST_NAME.fullmatch(text) or labels[-1].isdigit():
        hint = " (the port is a setting of its own)" if re.search(r":\d+$", text) else ""
        raise ConfigError(f"{where} must be an IP address or a host name, got {text!r}{hint}")
    return text


def listen_address_overridden(config: Config, host: str | None, port: str | None) -> Config:
    """`config` with the command line's `--host` / `--port` (checked as the settings are)."""
    if host is not None:
        config = replace(config, host=_host(host, "--host"))
    if port is not None:
        config = replace(config, port=parse_port(port, "--port"))
    return config


def server_overridden(config: Config, server: str | None) -> Config:
    """`config` with the command line's `--server` (checked as the setting is)."""
    if server is None:
        return config
    return replace(config, server=_server_name(server, "--server"))


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_flag_value(value)
        except FlagError:
            pass
    raise ConfigError(f"{where} must be true/false (or on/off), got {value!r}")
