"""compatkit's Locust users: the clients of an Anthropic/OpenAI-compatible proxy.

    locust -f loadtests                                   the web UI, every user below
    locust -f loadtests --headless -u 32 -r 8 -t 60s      a terminal or CI run
    locust -f loadtests --headless ... AnthropicStreamingUser ClaudeCodeAgent   some users
    locust -f loadtests --headless ... -T stream          tasks tagged `stream` only

Users (weight: how many of each per 11 users; --compatkit-mix NAME=W,... changes them)
    AnthropicStreamingUser  anthropic        4  streamed chats: short, with thinking, long
    AnthropicJsonUser       anthropic_json   1  the short chat as one JSON body
    ClaudeCodeAgent         agent            2  Claude Code sessions: 24 tools, thinking,
                                                tool_use -> tool_result turns, a growing history
    OpenAIStreamingUser     openai           2  Chat Completions streamed with the usage chunk
    OpenAIJsonUser          openai_json      1  Chat Completions as one JSON body
    CountTokensUser         count_tokens     1  POST /v1/messages/count_tokens

Tags: anthropic, openai, stream, json, chat, thinking, long, agent, count_tokens.

Each request is reported as E2E (the failures, typed), TTFB, TTFT, ITL and TPOT rows named
by route and workload; the options, shapes and the result file are in docs/locust.md. The
requests are the shared workloads of loadtests/_common (the bench runner's), not a copy.
"""

from __future__ import annotations

from locust import between, events, tag, task

from loadtests._locust._hooks import install
from loadtests._locust._user import CompatkitUser

install(events)


class AnthropicStreamingUser(CompatkitUser):
    """Anthropic Messages, streamed: mostly short chats, some with thinking, a few long."""

    weight = 4
    mix_name = "anthropic"

    @tag("anthropic", "stream", "chat")
    @task(6)
    def small_chat(self) -> None:
        self.send("small_chat")

    @tag("anthropic", "stream", "thinking")
    @task(2)
    def thinking_chat(self) -> None:
        self.send("thinking_chat")

    @tag("anthropic", "stream", "long")
    @task(1)
    def long_stream(self) -> None:
        self.send("long_stream")


class AnthropicJsonUser(CompatkitUser):
    """Anthropic Messages answered as one JSON body."""

    weight = 1
    mix_name = "anthropic_json"

    @tag("anthropic", "json", "chat")
    @task
    def small_chat_json(self) -> None:
        self.send("small_chat_json")


class ClaudeCodeAgent(CompatkitUser):
    """Claude Code: a session of tool turns, each reply's tool calls answered in the next."""

    weight = 2
    mix_name = "agent"
    wait_time = between(0.2, 0.8)  # the tools' own running time between turns

    @tag("anthropic", "stream", "agent", "thinking")
    @task
    def session(self) -> None:
        self.agent_session()


class OpenAIStreamingUser(CompatkitUser):
    """OpenAI Chat Completions, streamed with the usage chunk."""

    weight = 2
    mix_name = "openai"

    @tag("openai", "stream", "chat")
    @task
    def openai_chat(self) -> None:
        self.send("openai_chat")


class OpenAIJsonUser(CompatkitUser):
    """OpenAI Chat Completions answered as one JSON body."""

    weight = 1
    mix_name = "openai_json"

    @tag("openai", "json", "chat")
    @task
    def openai_chat_json(self) -> None:
        self.send("openai_chat_json")


class CountTokensUser(CompatkitUser):
    """Token counts of a Claude Code first turn, as Claude Code asks before sending."""

    weight = 1
    mix_name = "count_tokens"

    @tag("anthropic", "json", "count_tokens")
    @task
    def count_tokens_of_agent_start(self) -> None:
        self.count_tokens()
