"""Proxy configuration: a TOML file plus `COMPATKIT_*` environment variables (env wins).

Operations:
    load_config(path=None, env=os.environ) -> Config   file (or $COMPATKIT_CONFIG) + env
    config_from_mapping(data, env={}) -> Config         the same from an already-parsed table
    listen_address_overridden(config, host, port)       with `--host` / `--port`, checked alike
    Config / UpstreamConfig / RetryConfig / ModelMap    frozen dataclasses; secrets masked in repr
    ModelMap.resolve(client_model) -> upstream model    first matching glob wins
    ModelMap.is_scarce(upstream_model) -> bool
    ModelMap.upstream_models() -> frozenset[str]        its targets and scarce models
    ConfigError                                         every bad value, with where it came from

File layout (every key optional):

    [server]    host, port, proxy_keys = [..], admin_key, max_body_bytes, ping_interval,
                schema_mode = "parameters" | "parametersJsonSchema" (how tool schemas go upstream)
    [upstream]  kind = "gemini" | "code_assist", api_keys = [..], oauth_files = [..],
                gemini_base_url, code_assist_base_url, code_assist_api_version,
                oauth_token_uri, oauth_client_id, oauth_client_secret, ca_file, project,
                onboard_timeout, onboard_poll_interval,
                max_in_flight (leases per credential at once, across every instance sharing
                the state), max_in_flight_wait (seconds to wait for a free slot)
    [models]    map = { "claude-*haiku*" = "gemini-2.5-flash", ... }   (order kept)
                scarce = ["gemini-2.5-pro", ...]
    [flags]     ff_retry_policy_v2 = true, ...
    [state]     path = "compatkit-state.sqlite3" | ":memory:"   (the embedded SQLite store)
                url = "redis://host:6379/0"   (Redis, shared by every instance; wins over path)
                prefix = "compatkit:"         (the Redis key prefix: one per shared state)
    [retry]     base_delay, max_delay, deadline, max_attempts, v1_interval,
                capacity_cooldown, quota_cooldown
    [panel]     reports_dir = "reports/out"   (where the control panel finds the gate's reports)

Environment: COMPATKIT_HOST, _PORT, _PROXY_KEYS (comma list), _ADMIN_KEY, _MAX_BODY_BYTES,
_PING_INTERVAL, _SCHEMA_MODE, _UPSTREAM (kind), _API_KEYS (comma list), _OAUTH_FILES (comma list),
_GEMINI_BASE_URL, _CODE_ASSIST_BASE_URL, _CODE_ASSIST_API_VERSION, _OAUTH_TOKEN_URI,
_OAUTH_CLIENT_ID, _OAUTH_CLIENT_SECRET, _CA_FILE, _PROJECT, _ONBOARD_TIMEOUT,
_ONBOARD_POLL_INTERVAL, _MAX_IN_FLIGHT, _MAX_IN_FLIGHT_WAIT, _STATE_PATH, _STATE_URL, _STATE_PREFIX, _RETRY_BASE_DELAY, _RETRY_MAX_DELAY, _RETRY_DEADLINE,
_RETRY_MAX_ATTEMPTS, _RETRY_V1_INTERVAL, _RETRY_CAPACITY_COOLDOWN, _RETRY_QUOTA_COOLDOWN,
_PANEL_REPORTS_DIR,
and one per flag in upper case (COMPATKIT_FF_RETRY_POLICY_V2=on).

With no credentials configured anywhere, `Config.upstream` is None: the serve command then
runs the emulator in-process.
"""

from __future__ import annotations

import codecs
import fnmatch
import ipaddress
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
    admin_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 32 * 1024 * 1024
    ping_interval: float = 10.0
    schema_mode: SchemaMode = "parameters"
    upstream: UpstreamConfig | None = None
    models: ModelMap = field(default_factory=ModelMap)
    flags: Flags = field(default_factory=Flags.shipped)
    state_path: str = ":memory:"
    state_url: str | None = field(default=None, repr=False)  # may hold a password
    state_prefix: str = "compatkit:"
    panel_reports_dir: str = "reports/out"
    retry: RetryConfig = field(default_factory=RetryConfig)


# --- loading -------------------------------------------------------------------------------


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file at `path` (or $COMPATKIT_CONFIG, or none) and apply env overrides."""
    env = os.environ if env is None else env
    path = path if path is not None else env.get(ENV_PREFIX + "CONFIG") or None
    data = _read_toml_file(path) if path is not None else {}
    data.setdefault("state", {})
    if isinstance(data["state"], dict):
        data["state"].setdefault("path", DEFAULT_STATE_PATH)
    return config_from_mapping(data, env)


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


def config_from_mapping(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Build a Config from a parsed TOML table and env overrides; raise ConfigError on bad input."""
    reader = _Reader(data, env or {})
    unknown = set(data) - {"server", "upstream", "models", "flags", "state", "retry", "panel"}
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
    defaults = Config()
    config = Config(
        host=reader.get("server", "host", "HOST", _host, defaults.host),
        port=reader.get("server", "port", "PORT", _port, defaults.port),
        proxy_keys=reader.get("server", "proxy_keys", "PROXY_KEYS", _str_list, _NONE),
        admin_key=reader.get("server", "admin_key", "ADMIN_KEY", _str, None),
        max_body_bytes=reader.get(
            "server", "max_body_bytes", "MAX_BODY_BYTES", _positive_int, defaults.max_body_bytes
        ),
        ping_interval=reader.get(
            "server", "ping_interval", "PING_INTERVAL", _positive_float, defaults.ping_interval
        ),
        schema_mode=reader.get("server", "schema_mode", "SCHEMA_MODE", _schema_mode, "parameters"),
        upstream=_read_upstream(reader),
        models=_read_models(reader),
        flags=_read_flags(reader),
        state_path=reader.get("state", "path", "STATE_PATH", _str, defaults.state_path),
        state_url=reader.get("state", "url", "STATE_URL", _redis_url, None),
        state_prefix=reader.get("state", "prefix", "STATE_PREFIX", _str, defaults.state_prefix),
        panel_reports_dir=reader.get(
            "panel", "reports_dir", "PANEL_REPORTS_DIR", _str, defaults.panel_reports_dir
        ),
        retry=_read_retry(reader),
    )
    return config


def _read_upstream(reader: _Reader) -> UpstreamConfig | None:
    d = UpstreamConfig(kind="gemini")
    api_keys = reader.get("upstream", "api_keys", "API_KEYS", _str_list, _NONE)
    oauth_files = reader.get("upstream", "oauth_files", "OAUTH_FILES", _str_list, _NONE)
    implied: str | None = "gemini" if api_keys else "code_assist" if oauth_files else None
    kind = reader.get("upstream", "kind", "UPSTREAM", _str, implied)
    if kind is None:
        return None
    if kind not in ("gemini", "code_assist"):
        raise ConfigError(f"upstream kind must be 'gemini' or 'code_assist', got {kind!r}")
    if kind == "gemini" and not api_keys:
        raise ConfigError("upstream kind 'gemini' needs at least one API key (upstream.api_keys)")
    if kind == "code_assist" and not oauth_files:
        raise ConfigError(
            "upstream kind 'code_assist' needs at least one OAuth credential file "
            "(upstream.oauth_files)"
        )
    ca_file = reader.get("upstream", "ca_file", "CA_FILE", _str, None)
    if ca_file is not None and not Path(ca_file).expanduser().is_file():
        exists = Path(ca_file).expanduser().exists()
        raise ConfigError(
            f"upstream.ca_file {ca_file} {'is not a regular file' if exists else 'does not exist'}"
        )
    return UpstreamConfig(
        kind=kind,  # type: ignore[arg-type]
        api_keys=api_keys if kind == "gemini" else (),
        oauth_files=tuple(Path(p).expanduser() for p in oauth_files)
        if kind == "code_assist"
        else (),
        gemini_base_url=reader.get(
            "upstream", "gemini_base_url", "GEMINI_BASE_URL", _url, d.gemini_base_url
        ),
        code_assist_base_url=reader.get(
            "upstream", "code_assist_base_url", "CODE_ASSIST_BASE_URL", _url, d.code_assist_base_url
        ),
        code_assist_api_version=reader.get(
            "upstream",
            "code_assist_api_version",
            "CODE_ASSIST_API_VERSION",
            _str,
            d.code_assist_api_version,
        ),
        oauth_token_uri=reader.get(
            "upstream", "oauth_token_uri", "OAUTH_TOKEN_URI", _url, d.oauth_token_uri
        ),
        oauth_client_id=reader.get("upstream", "oauth_client_id", "OAUTH_CLIENT_ID", _str, None),
        oauth_client_secret=reader.get(
            "upstream", "oauth_client_secret", "OAUTH_CLIENT_SECRET", _str, None
        ),
        ca_file=Path(ca_file).expanduser() if ca_file is not None else None,
        project=reader.get("upstream", "project", "PROJECT", _str, None),
        onboard_timeout=reader.get(
            "upstream", "onboard_timeout", "ONBOARD_TIMEOUT", _positive_float, d.onboard_timeout
        ),
        onboard_poll_interval=reader.get(
            "upstream",
            "onboard_poll_interval",
            "ONBOARD_POLL_INTERVAL",
            _positive_float,
            d.onboard_poll_interval,
        ),
        max_in_flight=reader.get(
            "upstream", "max_in_flight", "MAX_IN_FLIGHT", _positive_int, d.max_in_flight
        ),
        max_in_flight_wait=reader.get(
            "upstream",
            "max_in_flight_wait",
            "MAX_IN_FLIGHT_WAIT",
            _positive_float,
            d.max_in_flight_wait,
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
    scarce = _str_list(table.get("scarce", []), "models.scarce")
    return ModelMap(routes=routes, scarce=frozenset(scarce))


def _read_flags(reader: _Reader) -> Flags:
    values: dict[str, bool] = {}
    table = reader.section("flags")
    for name in table:
        if name not in FLAG_NAMES:
            raise ConfigError(f"unknown flag {name!r} in [flags]; known: {', '.join(FLAG_NAMES)}")
    for name in FLAG_NAMES:
        value = reader.get("flags", name, name.upper(), _bool, None)
        if value is not None:
            values[name] = value
    return Flags.shipped().with_overrides(values)


def _read_retry(reader: _Reader) -> RetryConfig:
    d = RetryConfig()

    def number(key: str, default: float) -> float:
        return reader.get("retry", key, "RETRY_" + key.upper(), _positive_float, default)

    retry = RetryConfig(
        base_delay=number("base_delay", d.base_delay),
        max_delay=number("max_delay", d.max_delay),
        deadline=number("deadline", d.deadline),
        max_attempts=reader.get(
            "retry", "max_attempts", "RETRY_MAX_ATTEMPTS", _positive_int, d.max_attempts
        ),
        v1_interval=number("v1_interval", d.v1_interval),
        capacity_cooldown=number("capacity_cooldown", d.capacity_cooldown),
        quota_cooldown=number("quota_cooldown", d.quota_cooldown),
    )
    if retry.base_delay > retry.max_delay:
        raise ConfigError("retry.base_delay must not exceed retry.max_delay")
    return retry


class _Reader:
    """Looks a key up in env (COMPATKIT_<NAME>) first, then in the file section."""

    _SECTION_KEYS: Mapping[str, frozenset[str]] = {
        "server": frozenset(
            {
                "host",
                "port",
                "proxy_keys",
                "admin_key",
                "max_body_bytes",
                "ping_interval",
                "schema_mode",
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
            }
        ),
        "state": frozenset({"path", "url", "prefix"}),
        "panel": frozenset({"reports_dir"}),
        "retry": frozenset(RetryConfig.__dataclass_fields__),
    }

    def __init__(self, data: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self._data = data
        self._env = env
        for name, keys in self._SECTION_KEYS.items():
            unknown = set(self.section(name)) - keys
            if unknown:
                raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")

    def section(self, name: str) -> Mapping[str, Any]:
        table = self._data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
        return table

    def get(
        self,
        section: str,
        key: str,
        env_name: str,
        convert: Callable[[Any, str], _T],
        default: _T,
    ) -> _T:
        env_key = ENV_PREFIX + env_name
        if env_key in self._env:
            return convert(self._env[env_key], env_key)
        table = self.section(section)
        if key in table:
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


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and where.startswith(ENV_PREFIX):  # env: comma separated
        items = [item.strip() for item in value.split(",")]
        return tuple(item for item in items if item)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where} must be an integer, got {value!r}") from None


def _positive_int(value: Any, where: str) -> int:
    number = _int(value, where)
    if number <= 0:
        raise ConfigError(f"{where} must be positive, got {number}")
    return number


def _port(value: Any, where: str) -> int:
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
        config = replace(config, port=_port(port, "--port"))
    return config


def _positive_float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise ConfigError(f"{where} must be a positive finite number, got {value!r}")
    return number


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_flag_value(value)
        except FlagError:
            pass
    raise ConfigError(f"{where} must be true/false (or on/off), got {value!r}")
