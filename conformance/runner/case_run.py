"""What one case produced, read from both sides: the client's exchanges and the upstream's records.

Operations:
    CaseRun(case, target, exchanges, session)   the facts a check judges
    CaseRun.final                               the last exchange (the follow-up, if any)
    CaseRun.calls(exchange=None)                the generate calls the upstream got (all, or
                                                during one exchange), oldest first
    CaseRun.served(exchange=None)               the last call the upstream answered with 200
    inner_request(record)                       a call's generateContent request (the `request`
                                                inside Code Assist's envelope)
    CaseRun.client_message() / client_completion()   the reply as Anthropic / OpenAI add it up
    CaseRun.sdk()                               the official SDK's view of the final answer (once)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.runner.case import Case
from conformance.runner.client import Exchange, Target, anthropic_message, openai_completion
from conformance.runner.sdk_replay import SDKView, replay

GENERATE_METHODS = (":generateContent", ":streamGenerateContent")
COUNT_METHOD = ":countTokens"
REFUSED_VERDICTS = frozenset(
    {"rejected", "invalid_json", "not_found", "unknown_scenario", "unauthenticated", "too_large"}
)


def is_generate(record: Mapping[str, Any]) -> bool:
    return str(record.get("path", "")).endswith(GENERATE_METHODS)


def is_count(record: Mapping[str, Any]) -> bool:
    return str(record.get("path", "")).endswith(COUNT_METHOD)


def inner_request(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The generateContent request a record holds (unwrapped from Code Assist's envelope)."""
    body = record.get("body")
    if not isinstance(body, Mapping):
        return {}
    if record.get("surface") == "code_assist":
        inner = body.get("request")
        return inner if isinstance(inner, Mapping) else {}
    return body


@dataclass
class CaseRun:
    """The exchanges of one case and every upstream record of the run so far."""

    case: Case
    target: Target
    exchanges: list[Exchange]
    session: list[dict[str, Any]] = field(default_factory=list)
    _sdk: SDKView | None = None

    @property
    def final(self) -> Exchange:
        return self.exchanges[-1]

    @property
    def first(self) -> Exchange:
        return self.exchanges[0]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every upstream record of this case (all its exchanges)."""
        return [record for exchange in self.exchanges for record in exchange.records]

    def calls(self, exchange: Exchange | None = None) -> list[dict[str, Any]]:
        records = self.records if exchange is None else exchange.records
        return [r for r in records if is_generate(r)]

    def counts(self) -> list[dict[str, Any]]:
        return [r for r in self.records if is_count(r)]

    def served(self, exchange: Exchange | None = None) -> dict[str, Any] | None:
        answered = [c for c in self.calls(exchange or self.final) if c.get("status") == 200]
        return answered[-1] if answered else None

    def client_message(self, exchange: Exchange | None = None) -> dict[str, Any] | None:
        return anthropic_message(exchange or self.final)

    def client_completion(self, exchange: Exchange | None = None) -> dict[str, Any] | None:
        return openai_completion(exchange or self.final)

    def sdk(self) -> SDKView:
        if self._sdk is None:
            self._sdk = replay(self.final, self.case.route, self.case.stream)
        return self._sdk
