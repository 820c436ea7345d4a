"""compatkit's own command-line options for `locust -f loadtests`, and the settings they give.

Operations
    add_options(parser)                 the `init_command_line_parser` listener: the options
                                        below, in Locust's parser (and its web UI's form)
    Settings.of(environment) -> Settings    the options of a run, read once, checked
    SettingsError                       a bad value, named by its option (one line)
    DEFAULT_HOST                        http://127.0.0.1:8080, a local `compatkit serve`

Options (each also an environment variable, Locust's own mechanism: COMPATKIT_LOCUST_*)
    --compatkit-key KEY          the proxy key the users present (x-api-key / Bearer)
    --compatkit-model MODEL      the model every request asks for (default: each workload's)
    --compatkit-scenario NAME    the emulator's `[scenario:NAME]` marker on every request
    --compatkit-mix USER=W,...   user weights by short name (anthropic, anthropic_json, agent,
                                 openai, openai_json, count_tokens); a user left out gets 0
    --compatkit-shape NAME       the load shape of CompatkitShape (steady, ramp, spike, soak,
                                 storm, long_streams; loadtests/_locust/_shapes.py)
    --compatkit-results FILE     write the raw samples as a result file (results-v1)
    --compatkit-arm NAME, --compatkit-role ROLE
                                 the arm the result file names (default locust, candidate)
    --compatkit-slo OBJECTIVE    an objective checked on the results at the end, repeatable
                                 (`locust.ttft.p95 <= 800ms`, `locust.error_rate <= 1%`;
                                 assert-latency's grammar); a missed one exits with status 3
    --compatkit-timeout SECONDS  how long a read may wait for the next byte (default 60)
    --compatkit-agent-turns N    the agent's turns per session at most (default 8)
    --compatkit-proxy-pid PID    a local proxy's process: the soak shape logs its memory
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from loadtests._common import WorkloadError, request_body, workload

__all__ = ["DEFAULT_HOST", "USER_NAMES", "Settings", "SettingsError", "add_options"]

DEFAULT_HOST = "http://127.0.0.1:8080"
DEFAULT_KEY = "sk-compatkit-locust"
USER_NAMES = ("anthropic", "anthropic_json", "agent", "openai", "openai_json", "count_tokens")
SHAPE_NAMES = ("steady", "ramp", "spike", "soak", "storm", "long_streams")
ROLES = ("candidate", "baseline", "other")
_MIX_ITEM = re.compile(r"\s*([a-z_]+)\s*=\s*([0-9]+)\s*")
_ARM = re.compile(r"[A-Za-z0-9_.-]+")


class SettingsError(ValueError):
    """A bad option value; the message names the option."""


def add_options(parser: Any) -> None:
    """Add compatkit's options to Locust's parser (an `init_command_line_parser` listener)."""
    # Locust's own add_argument (not a group's): it knows include_in_web_ui and is_secret
    parser.add_argument(
        "--compatkit-key",
        default=DEFAULT_KEY,
        env_var="COMPATKIT_LOCUST_KEY",
        is_secret=True,
        help="the proxy key the users present (default: %(default)s)",
    )
    parser.add_argument(
        "--compatkit-model",
        default="",
        env_var="COMPATKIT_LOCUST_MODEL",
        help="the model every request asks for (default: each workload's own)",
    )
    parser.add_argument(
        "--compatkit-scenario",
        default="",
        env_var="COMPATKIT_LOCUST_SCENARIO",
        help="the emulator scenario marker [scenario:NAME] on every request",
    )
    parser.add_argument(
        "--compatkit-mix",
        default="",
        env_var="COMPATKIT_LOCUST_MIX",
        include_in_web_ui=False,  # weights are read once, at start-up
        help="user weights, e.g. anthropic=4,agent=2,openai=1 "
        f"(names: {', '.join(USER_NAMES)}; a user left out gets weight 0)",
    )
    parser.add_argument(
        "--compatkit-shape",
        default="steady",
        choices=SHAPE_NAMES,
        env_var="COMPATKIT_LOCUST_SHAPE",
        help="the load shape (default: steady, which is -u/-r/-t)",
    )
    parser.add_argument(
        "--compatkit-results",
        default="",
        env_var="COMPATKIT_LOCUST_RESULTS",
        help="write every request's raw sample to this result file (results-v1)",
    )
    parser.add_argument(
        "--compatkit-arm",
        default="locust",
        env_var="COMPATKIT_LOCUST_ARM",
        help="the arm's name in the result file (default: %(default)s)",
    )
    parser.add_argument(
        "--compatkit-role",
        default="candidate",
        choices=ROLES,
        env_var="COMPATKIT_LOCUST_ROLE",
        help="the arm's role in the result file (default: %(default)s)",
    )
    parser.add_argument(
        "--compatkit-slo",
        action="append",
        default=[],
        metavar="OBJECTIVE",
        include_in_web_ui=False,
        help="an objective on the results, e.g. 'locust.ttft.p95 <= 800ms'; "
        "repeatable; a missed one makes the exit status 3",
    )
    parser.add_argument(
        "--compatkit-timeout",
        type=float,
        default=60.0,
        env_var="COMPATKIT_LOCUST_TIMEOUT",
        help="seconds a read may wait for the next byte (default: %(default)s)",
    )
    parser.add_argument(
        "--compatkit-proxy-pid",
        type=int,
        default=0,
        env_var="COMPATKIT_LOCUST_PROXY_PID",
        help="a local proxy's process id: the soak shape logs its resident memory and CPU",
    )
    parser.add_argument(
        "--compatkit-agent-turns",
        type=int,
        default=8,
        env_var="COMPATKIT_LOCUST_AGENT_TURNS",
        help="the agent's turns per session at most (default: %(default)s)",
    )


@dataclass(frozen=True)
class Settings:
    """The compatkit options of one run, checked."""

    key: str = DEFAULT_KEY
    model: str | None = None
    scenario: str | None = None
    mix: dict[str, int] | None = None
    shape: str = "steady"
    results: str | None = None
    arm: str = "locust"
    role: str = "candidate"
    slo: tuple[str, ...] = ()
    timeout: float = 60.0
    agent_turns: int = 8

    @classmethod
    def of(cls, environment: Any) -> Settings:
        """The settings of `environment.parsed_options` (defaults when there are none)."""
        options = environment.parsed_options
        if options is None:
            return cls()
        return cls.parse(
            key=options.compatkit_key,
            model=options.compatkit_model,
            scenario=options.compatkit_scenario,
            mix=options.compatkit_mix,
            shape=options.compatkit_shape,
            results=options.compatkit_results,
            arm=options.compatkit_arm,
            role=options.compatkit_role,
            slo=options.compatkit_slo or [],
            timeout=options.compatkit_timeout,
            agent_turns=options.compatkit_agent_turns,
        )

    @classmethod
    def parse(cls, **values: Any) -> Settings:
        """Settings from option values as Locust parsed them; SettingsError names a bad one."""
        scenario = values.get("scenario") or None
        if scenario is not None:
            try:  # the marker's own rule, from the workload code
                request_body(workload("small_chat"), scenario=scenario)
            except WorkloadError as exc:
                raise SettingsError(f"--compatkit-scenario: {exc}") from None
        arm = values.get("arm") or "locust"
        if _ARM.fullmatch(arm) is None:
            raise SettingsError(f"--compatkit-arm {arm!r}: letters, digits, '_', '.', '-'")
        timeout = float(values.get("timeout", 60.0))
        if not timeout > 0:
            raise SettingsError(f"--compatkit-timeout {timeout:g}: must be more than 0")
        turns = int(values.get("agent_turns", 8))
        if turns < 1:
            raise SettingsError(f"--compatkit-agent-turns {turns}: must be 1 or more")
        shape = values.get("shape") or "steady"
        if shape not in SHAPE_NAMES:
            raise SettingsError(f"--compatkit-shape {shape!r}: one of {', '.join(SHAPE_NAMES)}")
        return cls(
            key=values.get("key") or DEFAULT_KEY,
            model=values.get("model") or None,
            scenario=scenario,
            mix=parse_mix(values.get("mix") or ""),
            shape=shape,
            results=values.get("results") or None,
            arm=arm,
            role=values.get("role") or "candidate",
            slo=tuple(values.get("slo") or ()),
            timeout=timeout,
            agent_turns=turns,
        )


def parse_mix(text: str) -> dict[str, int] | None:
    """`anthropic=4,agent=2` as weights by user name; None for an empty text."""
    if not text.strip():
        return None
    weights: dict[str, int] = {}
    for item in text.split(","):
        match = _MIX_ITEM.fullmatch(item)
        if match is None:
            raise SettingsError(f"--compatkit-mix: {item.strip()!r} is not NAME=WEIGHT")
        name, weight = match.group(1), int(match.group(2))
        if name not in USER_NAMES:
            raise SettingsError(
                f"--compatkit-mix: unknown user {name!r} (known: {', '.join(USER_NAMES)})"
            )
        weights[name] = weight
    if not any(weights.values()):
        raise SettingsError("--compatkit-mix: every weight is 0")
    return weights
