"""Configuration: TOML file, COMPATKIT_* env overrides, defaults and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import flags
from server.config import (
    DEFAULT_STATE_PATH,
    RANGES,
    Config,
    ConfigError,
    ModelMap,
    ModelRoute,
    check_servable,
    config_from_mapping,
    listen_address_overridden,
    load_config,
    server_overridden,
)
from server.flags import Flags

FULL_TOML = """
[server]
host = "0.0.0.0"
port = 9000
proxy_keys = ["client-key-one", "client-key-two"]
admin_key = "admin-key-secret"
max_body_bytes = 4096
ping_interval = 5

[upstream]
kind = "gemini"
api_keys = ["AIzaSyA-first-key-0001", "AIzaSyA-second-key-0002"]
gemini_base_url = "https://127.0.0.1:8443/"

[models]
scarce = ["gemini-2.5-pro"]
[models.map]
"claude-*haiku*" = "gemini-2.5-flash-lite"
"claude-*" = "gemini-2.5-pro"

[flags]
ff_retry_policy_v2 = true

[state]
path = ":memory:"

[retry]
base_delay = 0.25
max_attempts = 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compatkit.toml"
    path.write_text(text)
    return path


def test_a_full_file_is_read_into_every_field(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL_TOML), env={})
    assert (config.host, config.port, config.max_body_bytes, config.ping_interval) == (
        "0.0.0.0",
        9000,
        4096,
        5.0,
    )
    assert config.proxy_keys == ("client-key-one", "client-key-two")
    assert config.admin_key == "admin-key-secret"
    assert config.upstream is not None and config.upstream.kind == "gemini"
    assert config.upstream.api_keys == ("AIzaSyA-first-key-0001", "AIzaSyA-second-key-0002")
    assert config.upstream.gemini_base_url == "https://127.0.0.1:8443"
    assert config.flags == Flags.shipped().with_overrides({"ff_retry_policy_v2": True})
    assert config.state_path == ":memory:"
    assert (config.retry.base_delay, config.retry.max_attempts, config.retry.max_delay) == (
        0.25,
        3,
        12.0,
    )


def test_env_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "COMPATKIT_PORT": "9100",
        "COMPATKIT_API_KEYS": "env-key-aaaaaaaa, env-key-bbbbbbbb",
        "COMPATKIT_FF_RETRY_POLICY_V2": "off",
        "COMPATKIT_FF_CONVERTER_FAST_PATH": "on",
        "COMPATKIT_RETRY_MAX_DELAY": "20",
    }
    config = load_config(write(tmp_path, FULL_TOML), env=env)
    assert config.port == 9100
    assert config.upstream is not None
    assert config.upstream.api_keys == ("env-key-aaaaaaaa", "env-key-bbbbbbbb")
    assert config.flags == Flags.shipped().with_overrides(
        {"ff_retry_policy_v2": False, "ff_converter_fast_path": True}
    )
    assert config.retry.max_delay == 20.0


def test_a_config_that_names_no_flag_runs_the_shipped_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert config_from_mapping({}, env={}).flags == Flags.shipped()
    monkeypatch.setattr(flags, "SHIPPED_ON", frozenset({"ff_converter_fast_path"}))
    assert config_from_mapping({}, env={}).flags == Flags(ff_converter_fast_path=True)
    assert Config().flags == Flags(ff_converter_fast_path=True)


def test_a_track_shipped_on_can_still_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flags, "SHIPPED_ON", frozenset({"ff_converter_fast_path"}))
    table = {"flags": {"ff_converter_fast_path": False}}
    assert config_from_mapping(table, env={}).flags == Flags()
    env = {"COMPATKIT_FF_CONVERTER_FAST_PATH": "off"}
    assert config_from_mapping({}, env=env).flags == Flags()


def test_the_config_file_can_be_named_by_env(tmp_path: Path) -> None:
    path = write(tmp_path, FULL_TOML)
    assert load_config(env={"COMPATKIT_CONFIG": str(path)}).port == 9000


def test_no_upstream_configured_means_upstream_is_none() -> None:
    config = load_config(env={})
    assert config.upstream is None


def test_a_served_config_keeps_state_in_a_file_by_default() -> None:
    assert load_config(env={}).state_path == DEFAULT_STATE_PATH
    assert Config().state_path == ":memory:"


def test_code_assist_upstream_takes_oauth_files_and_overridable_urls() -> None:
    env = {
        "COMPATKIT_OAUTH_FILES": "/a/oauth_creds.json,/b/oauth_creds.json",
        "COMPATKIT_CODE_ASSIST_BASE_URL": "https://127.0.0.1:9443",
        "COMPATKIT_OAUTH_TOKEN_URI": "https://127.0.0.1:9443/token",
        "COMPATKIT_PROJECT": "my-project",
    }
    upstream = load_config(env=env).upstream
    assert upstream is not None and upstream.kind == "code_assist"
    assert upstream.oauth_files == (Path("/a/oauth_creds.json"), Path("/b/oauth_creds.json"))
    assert upstream.code_assist_base_url == "https://127.0.0.1:9443"
    assert upstream.oauth_token_uri == "https://127.0.0.1:9443/token"
    assert upstream.project == "my-project"


def test_a_home_relative_oauth_file_is_expanded() -> None:
    upstream = load_config(env={"COMPATKIT_OAUTH_FILES": "~/.gemini/oauth_creds.json"}).upstream
    assert upstream is not None
    assert upstream.oauth_files == (Path.home() / ".gemini" / "oauth_creds.json",)


def test_the_model_map_keeps_file_order_and_first_match_wins(tmp_path: Path) -> None:
    models = load_config(write(tmp_path, FULL_TOML), env={}).models
    assert models.resolve("claude-3-5-haiku-20241022") == "gemini-2.5-flash-lite"
    assert models.resolve("claude-sonnet-4-5") == "gemini-2.5-pro"
    assert models.resolve("gemini-2.5-flash") == "gemini-2.5-flash"  # unmatched: unchanged
    assert models.is_scarce("gemini-2.5-pro") and not models.is_scarce("gemini-2.5-flash-lite")


def test_the_default_model_map_sends_claude_models_to_gemini() -> None:
    models = ModelMap()
    assert models.resolve("claude-3-haiku-20240307") == "gemini-2.5-flash"
    assert models.resolve("claude-opus-4-1") == "gemini-2.5-pro"
    assert ModelMap(routes=(ModelRoute("x*", "y"),)).resolve("claude-opus-4-1") == "claude-opus-4-1"


def test_secrets_are_masked_in_reprs(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL_TOML), env={})
    text = repr(config)
    for secret in ("client-key-one", "admin-key-secret", "AIzaSyA-first-key-0001"):
        assert secret not in text
    assert "***0001" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"server": {"port": "eighty"}}, "server.port must be an integer"),
        ({"server": {"port": 70000}}, "server.port must be a port number"),
        ({"server": {"prot": 1}}, r"unknown key\(s\) in \[server\]: prot"),
        ({"serverr": {}}, r"unknown config section\(s\): serverr"),
        (
            {"upstream": {"kind": "openai"}},
            "upstream kind must be 'gemini', 'code_assist' or 'emulator'",
        ),
        ({"upstream": {"kind": "gemini"}}, "needs at least one API key"),
        ({"upstream": {"kind": "code_assist"}}, "needs at least one OAuth credential file"),
        ({"upstream": {"api_keys": "k"}}, "upstream.api_keys must be a list"),
        ({"upstream": {"api_keys": ["k"], "gemini_base_url": "ftp://x"}}, "must be an http"),
        ({"upstream": {"api_keys": ["k"], "ca_file": "/nonexistent/ca.pem"}}, "does not exist"),
        (
            {"upstream": {"api_keys": ["k"], "max_in_flight": 0}},
            "upstream.max_in_flight must be between 1 and 10000",
        ),
        (
            {"upstream": {"api_keys": ["k"], "max_in_flight_wait": -1}},
            "upstream.max_in_flight_wait must be between 0.01 and 600",
        ),
        (
            {"upstream": {"api_keys": ["k"], "http2_prior_knowledge": "h2c"}},
            "upstream.http2_prior_knowledge must be true/false",
        ),
        ({"flags": {"ff_unknown": True}}, "unknown flag 'ff_unknown'"),
        (
            {"flags": {"ff_retry_policy_v2": "perhaps"}},
            "flags.ff_retry_policy_v2 must be true/false",
        ),
        ({"retry": {"max_delay": -1}}, "retry.max_delay must be between 0.01 and 600"),
        ({"retry": {"base_delay": 20}}, "base_delay must not exceed"),
        ({"models": {"map": {"claude-*": 3}}}, r"models.map\['claude-\*'\] must be a model name"),
        ({"models": {"scarce": "gemini"}}, "models.scarce must be a list"),
    ],
)
def test_bad_values_are_clear_errors_naming_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data, env={})


def test_a_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="COMPATKIT_PORT must be an integer"):
        config_from_mapping({}, env={"COMPATKIT_PORT": "x"})


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[server\n"), env={})


PORTS = st.integers(0, 65535)


@given(file_port=PORTS, env_port=st.one_of(st.none(), PORTS), delay=st.floats(0.01, 12.0))
def test_env_wins_over_the_file_whenever_both_are_set(
    file_port: int, env_port: int | None, delay: float
) -> None:
    data = {"server": {"port": file_port}, "retry": {"base_delay": 0.01}}
    env = {"COMPATKIT_RETRY_BASE_DELAY": repr(delay)}
    if env_port is not None:
        env["COMPATKIT_PORT"] = str(env_port)
    config = config_from_mapping(data, env)
    assert config.port == (file_port if env_port is None else env_port)
    assert config.retry.base_delay == delay


def test_tool_schemas_go_upstream_cleaned_unless_configured_as_json_schema() -> None:
    assert config_from_mapping({}).schema_mode == "parameters"
    file_says = config_from_mapping({"server": {"schema_mode": "parametersJsonSchema"}})
    assert file_says.schema_mode == "parametersJsonSchema"
    env_says = config_from_mapping({}, {"COMPATKIT_SCHEMA_MODE": "parametersJsonSchema"})
    assert env_says.schema_mode == "parametersJsonSchema"
    with pytest.raises(ConfigError, match="schema_mode"):
        config_from_mapping({"server": {"schema_mode": "openapi"}})


def test_the_asgi_server_is_hypercorn_unless_configured() -> None:
    assert config_from_mapping({}).server == "hypercorn"
    assert config_from_mapping({"server": {"server": "granian"}}).server == "granian"
    env_says = config_from_mapping(
        {"server": {"server": "hypercorn"}}, {"COMPATKIT_SERVER": "granian"}
    )
    assert env_says.server == "granian" and env_says.sources["server.server"] == "COMPATKIT_SERVER"
    with pytest.raises(ConfigError, match=r"server\.server must be one of 'hypercorn', 'granian'"):
        config_from_mapping({"server": {"server": "Granian"}})
    assert server_overridden(env_says, "hypercorn").server == "hypercorn"
    with pytest.raises(ConfigError, match="--server must be one of"):
        server_overridden(env_says, "uvicorn")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://cache:6379", "must be a redis://, rediss:// or unix:// URL"),
        ("redis://:hunter2-pass@/0", "must name a host"),
        ("redis://user:hunter2-pass@cache:port/0", "bad port"),
        ("redis://cache:6379/zero", "database must be a number"),
        ("unix://", "must name a socket path"),
    ],
)
def test_a_bad_state_url_is_refused_naming_the_key_never_the_password(
    url: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        load_config(env={"COMPATKIT_STATE_URL": url})
    assert "COMPATKIT_STATE_URL" in str(caught.value) and "hunter2" not in str(caught.value)


def test_the_state_url_and_prefix_come_from_the_file_or_the_env() -> None:
    config = config_from_mapping(
        {"state": {"url": "redis://cache:6379/1", "prefix": "eu:"}},
        env={"COMPATKIT_STATE_PREFIX": "us:"},
    )
    assert (config.state_url, config.state_prefix) == ("redis://cache:6379/1", "us:")
    assert Config().state_url is None and "cache" not in repr(config)


def test_a_credentials_concurrency_limit_is_off_unless_configured() -> None:
    unlimited = config_from_mapping({"upstream": {"api_keys": ["k"]}}, env={})
    assert unlimited.upstream is not None and unlimited.upstream.max_in_flight is None
    limited = config_from_mapping(
        {"upstream": {"api_keys": ["k"], "max_in_flight": 4}},
        env={"COMPATKIT_MAX_IN_FLIGHT_WAIT": "2.5"},
    )
    assert limited.upstream is not None
    assert (limited.upstream.max_in_flight, limited.upstream.max_in_flight_wait) == (4, 2.5)


def test_h2c_to_an_http_upstream_is_off_unless_configured() -> None:
    plain = {"upstream": {"api_keys": ["k"], "gemini_base_url": "http://sidecar:8089"}}
    default = config_from_mapping(plain, env={})
    assert default.upstream is not None and default.upstream.http2_prior_knowledge is False
    chosen = load_config(env={"COMPATKIT_API_KEYS": "k",
                              "COMPATKIT_GEMINI_BASE_URL": "http://sidecar:8089",
                              "COMPATKIT_HTTP2_PRIOR_KNOWLEDGE": "on"})  # fmt: skip
    assert chosen.upstream is not None and chosen.upstream.http2_prior_knowledge is True
    assert chosen.warnings == ()
    assert chosen.sources["upstream.http2_prior_knowledge"] == "COMPATKIT_HTTP2_PRIOR_KNOWLEDGE"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1", "localhost", "proxy.internal", "a-1.b."],
)
def test_a_host_is_an_address_or_a_host_name(host: str) -> None:
    assert config_from_mapping({"server": {"host": host}}).host == host
    assert listen_address_overridden(Config(), host, "0").host == host


@pytest.mark.parametrize(
    "host", ["not a host", "256.0.0.1", "127.0.0.1:8080", "é", "-proxy", "[::1]", "a..b", "x" * 254]
)
def test_anything_else_is_refused_as_a_host(host: str) -> None:
    with pytest.raises(ConfigError, match="COMPATKIT_HOST must be an IP address or a host name"):
        config_from_mapping({}, env={"COMPATKIT_HOST": host})
    with pytest.raises(ConfigError, match="--host must be an IP address or a host name"):
        listen_address_overridden(Config(), host, None)


@pytest.mark.parametrize("port", ["-1", "65536", "70000", "eighty"])
def test_a_command_line_port_is_checked_as_the_setting_is(port: str) -> None:
    with pytest.raises(ConfigError, match="--port must be"):
        listen_address_overridden(Config(), None, port)


# --- failing closed (issues 17.7, 17.9, 16.3) ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("COMPATKIT_PROXY_KEY", "did you mean COMPATKIT_PROXY_KEYS?"),
        ("COMPATKIT_API_KEY", "did you mean COMPATKIT_API_KEYS?"),
        ("COMPATKIT_FF_RETRY_POLICY_2", "did you mean COMPATKIT_FF_RETRY_POLICY_V2?"),
        ("COMPATKIT_STATEPATH", "did you mean COMPATKIT_STATE_PATH?"),
        ("COMPATKIT_ZZZ", r"unknown environment variable COMPATKIT_ZZZ$"),
    ],
)
def test_an_unknown_compatkit_variable_is_an_error_naming_the_nearest(
    name: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env={name: "x"})


@pytest.mark.parametrize(
    "name",
    ["COMPATKIT_LOCUST_MIX", "COMPATKIT_EMULATOR_CONFIG", "COMPATKIT_BENCH_LOCK",
     "COMPATKIT_GATE_OUT", "COMPATKIT_LITELLM", "COMPATKIT_PANEL_SCREENSHOT",
     "COMPATKIT_CLAUDE_CODE", "PATH"],
)  # fmt: skip
def test_variables_of_compatkits_other_tools_are_left_alone(name: str) -> None:
    load_config(env={name: "x"})


@pytest.mark.parametrize(
    ("data", "env", "message"),
    [
        ({}, {"COMPATKIT_PROXY_KEYS": ""}, "COMPATKIT_PROXY_KEYS is empty"),
        ({}, {"COMPATKIT_API_KEYS": " "}, "COMPATKIT_API_KEYS is empty"),
        ({}, {"COMPATKIT_OAUTH_FILES": ","}, "COMPATKIT_OAUTH_FILES is empty"),
        ({"server": {"proxy_keys": []}}, {}, "server.proxy_keys is empty"),
        ({"upstream": {"api_keys": []}}, {}, "upstream.api_keys is empty"),
        ({"upstream": {"api_keys": [" "]}}, {}, "upstream.api_keys must be a list of non-empty"),
    ],
)
def test_an_empty_key_list_is_an_error_not_none(
    data: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data, env)


def test_the_demo_and_an_open_proxy_are_chosen_explicitly() -> None:
    with pytest.raises(ConfigError, match="no upstream configured"):
        check_servable(load_config(env={}))
    with pytest.raises(ConfigError, match="no proxy keys configured"):
        check_servable(load_config(env={"COMPATKIT_API_KEYS": "k"}))
    check_servable(load_config(env={"COMPATKIT_API_KEYS": "k", "COMPATKIT_ALLOW_ANY_KEY": "on"}))
    demo = load_config(env={}, demo=True)
    assert demo.demo and demo.upstream is None
    check_servable(demo)
    assert load_config(env={"COMPATKIT_UPSTREAM": "emulator"}).demo


@pytest.mark.parametrize(
    ("env", "unused"),
    [
        ({"COMPATKIT_API_KEYS": "k", "COMPATKIT_PROJECT": "p"}, "COMPATKIT_PROJECT"),
        (
            {"COMPATKIT_API_KEYS": "k", "COMPATKIT_OAUTH_CLIENT_ID": "c"},
            "COMPATKIT_OAUTH_CLIENT_ID",
        ),
        (
            {"COMPATKIT_OAUTH_FILES": "/x.json", "COMPATKIT_GEMINI_BASE_URL": "http://h"},
            "COMPATKIT_GEMINI_BASE_URL",
        ),
        (
            {"COMPATKIT_STATE_URL": "redis://h/0", "COMPATKIT_STATE_PATH": "s.db"},
            "COMPATKIT_STATE_PATH (state.url wins)",
        ),
        ({"COMPATKIT_STATE_PREFIX": "p:"}, "COMPATKIT_STATE_PREFIX (only the Redis store"),
        (
            {"COMPATKIT_API_KEYS": "k", "COMPATKIT_MAX_IN_FLIGHT_WAIT": "5"},
            "COMPATKIT_MAX_IN_FLIGHT_WAIT (without max_in_flight)",
        ),
        ({"COMPATKIT_UPSTREAM": "emulator", "COMPATKIT_PROJECT": "p"}, "unused with the demo"),
        (  # https negotiates HTTP/2 by ALPN: prior knowledge is for cleartext only
            {"COMPATKIT_API_KEYS": "k", "COMPATKIT_HTTP2_PRIOR_KNOWLEDGE": "on"},
            "COMPATKIT_HTTP2_PRIOR_KNOWLEDGE (only for an http:// upstream URL)",
        ),
        (
            {"COMPATKIT_OAUTH_FILES": "/x.json", "COMPATKIT_HTTP2_PRIOR_KNOWLEDGE": "on"},
            "COMPATKIT_HTTP2_PRIOR_KNOWLEDGE (only for an http:// upstream URL)",
        ),
    ],
)
def test_a_setting_the_configuration_does_not_use_is_a_warning_naming_it(
    env: dict[str, str], unused: str
) -> None:
    [warning] = load_config(env=env).warnings
    assert unused in warning and "unused" in warning


def test_sources_say_where_each_value_came_from(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9000\nhost = '0.0.0.0'\n")
    config = load_config(path, env={"COMPATKIT_PORT": "9001", "COMPATKIT_FF_RETRY_POLICY_V2": "on"})
    assert config.sources == {
        "server.port": "COMPATKIT_PORT",
        "server.host": str(path),
        "flags.ff_retry_policy_v2": "COMPATKIT_FF_RETRY_POLICY_V2",
    }


@pytest.mark.parametrize("key", sorted(RANGES))
@given(data=st.data())
def test_every_number_outside_its_range_is_refused_and_inside_accepted(
    key: str, data: st.DataObject
) -> None:
    section, name = key.split(".")
    low, high = RANGES[key]
    integral = isinstance(low, int)  # the integer settings have integer bounds
    inside = data.draw(st.integers(int(low), int(high)) if integral else st.floats(low, high))
    outside = data.draw(
        st.one_of(st.integers(max_value=int(low) - 1), st.integers(min_value=int(high) + 1))
        if integral
        else st.one_of(
            st.floats(max_value=low, exclude_max=True), st.floats(min_value=high, exclude_min=True)
        ),
    )
    base = {"upstream": {"kind": "code_assist", "oauth_files": ["/x.json"]}}
    table = {**base, section: {**base.get(section, {}), name: inside}}
    if key == "retry.base_delay":
        table["retry"]["max_delay"] = 600.0
    if key == "retry.max_delay":
        table["retry"]["base_delay"] = 0.01
    config_from_mapping(table, env={})
    table[section][name] = outside
    with pytest.raises(ConfigError, match=rf"{key} must be"):
        config_from_mapping(table, env={})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("１２", "in ASCII digits"),
        ("٣", "in ASCII digits"),
        ("1_0", "in ASCII digits"),
        ("0x10", "in ASCII digits"),
        (" 12 ", None),
    ],
)
def test_an_integer_from_the_environment_is_ascii_digits(value: str, message: str | None) -> None:
    if message is None:
        assert config_from_mapping({}, {"COMPATKIT_PORT": value}).port == 12
        return
    with pytest.raises(ConfigError, match=message):
        config_from_mapping({}, {"COMPATKIT_PORT": value})


@pytest.mark.parametrize("value", ["１.5", "nan", "inf", "-inf", "1e999", "0x1p3", "1_0"])
def test_a_number_from_the_environment_is_finite_ascii_decimal(value: str) -> None:
    with pytest.raises(ConfigError, match="COMPATKIT_PING_INTERVAL must be"):
        config_from_mapping({}, {"COMPATKIT_PING_INTERVAL": value})
