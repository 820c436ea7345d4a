"""CompatkitUser: the FastHttpUser every profile builds on, and what its tasks send.

Operations
    CompatkitUser                       abstract; host http://127.0.0.1:8080 by default,
                                        read timeouts from --compatkit-timeout
    user.send(workload_name) -> Exchanged
                                        one request of a shared workload (loadtests/_common):
                                        the run's model, the scenario marker, measured and
                                        reported (loadtests/_locust/_exchange.py)
    user.agent_session()                one Claude Code session of --compatkit-agent-turns
                                        requests: tool_use -> tool_result round trips, and the
                                        user's next instruction after a text answer
    user.count_tokens()                 POST /v1/messages/count_tokens of the agent's first turn
    user.scenario(default=None)         the marker to send: --compatkit-scenario, else the
                                        shape's (storm, long_streams), else `default`

Names in Locust's tables: `/v1/messages [small_chat]` (the route, then the workload).
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from locust import FastHttpUser, between

from loadtests._common import request_body, request_headers, workload
from loadtests._locust._conversation import assistant_message, next_user_turn
from loadtests._locust._exchange import Exchanged, Request, exchange
from loadtests._locust._hooks import run_of
from loadtests._locust._options import DEFAULT_HOST, Settings
from loadtests._locust._run import RunLog
from loadtests._locust._shapes import ScenarioShape

__all__ = ["AGENT_TOOL_SCENARIO", "CompatkitUser"]

AGENT_WORKLOAD = "agent_start"
AGENT_TOOL_SCENARIO = "thinking_tool"  # the emulator thinks, then calls a declared tool
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
_COUNT_TOKENS_FIELDS = ("model", "system", "messages", "tools", "tool_choice", "thinking")


class CompatkitUser(FastHttpUser):
    """A client of an Anthropic/OpenAI-compatible proxy (abstract: see loadtests/users.py)."""

    abstract = True
    host = DEFAULT_HOST
    wait_time = between(0.5, 1.5)
    mix_name: ClassVar[str] = ""  # the name --compatkit-mix gives it

    def __init__(self, environment: Any) -> None:
        self.run_log: RunLog = run_of(environment)
        self.settings: Settings = self.run_log.settings
        self.network_timeout = self.connection_timeout = self.settings.timeout
        super().__init__(environment)

    def scenario(self, default: str | None = None) -> str | None:
        """The scenario marker of the next request."""
        if self.settings.scenario:
            return self.settings.scenario
        shape = self.environment.shape_class
        chosen = shape.current_scenario() if isinstance(shape, ScenarioShape) else None
        return chosen or default

    def send(self, workload_name: str) -> Exchanged:
        """One request of the shared workload `workload_name`."""
        chosen = workload(workload_name)
        body = request_body(chosen, model=self.settings.model, scenario=self.scenario())
        return exchange(self, Request(
            label=f"{chosen.path} [{chosen.name}]", protocol=chosen.protocol, path=chosen.path,
            body=body, headers=request_headers(chosen, self.settings.key), stream=chosen.stream,
            workload=chosen.name,
        ))  # fmt: skip

    def agent_session(self) -> None:
        """A Claude Code session from its first turn, --compatkit-agent-turns requests long
        (fewer if one fails): each reply's tool calls answered with tool results, a text
        answer followed by the user's next instruction, the history growing every turn."""
        start = workload(AGENT_WORKLOAD)
        history: list[dict[str, Any]] = list(start.template["messages"])
        turns = self.settings.agent_turns
        for turn in range(turns):
            scenario = self.settings.scenario or AGENT_TOOL_SCENARIO
            body = request_body(start, model=self.settings.model, scenario=scenario,
                                messages=history)  # fmt: skip
            exchanged = exchange(self, Request(
                label=f"{start.path} [agent]", protocol="anthropic", path=start.path, body=body,
                headers=request_headers(start, self.settings.key), stream=True,
                workload="agent", keep_body=True,
            ))  # fmt: skip
            if exchanged.measured.error is not None:
                return
            reply = assistant_message(exchanged.body)
            if reply is None:
                return
            history += [reply, next_user_turn(reply, turn)]

    def count_tokens(self) -> Exchanged:
        """Count the tokens of the agent's first turn (24 tools, the long system prompt)."""
        start = workload(AGENT_WORKLOAD)
        fields = {k: v for k, v in start.template.items() if k in _COUNT_TOKENS_FIELDS}
        if self.settings.model:
            fields["model"] = self.settings.model
        return exchange(self, Request(
            label=f"{COUNT_TOKENS_PATH} [{AGENT_WORKLOAD}]", protocol="anthropic",
            path=COUNT_TOKENS_PATH, body=orjson.dumps(fields),
            headers=request_headers(start, self.settings.key), stream=False,
            workload="count_tokens",
        ))  # fmt: skip
