"""Errors raised by the protocol core.

compat never answers HTTP itself; callers (the proxy, the CLI) turn these into the
protocol's own error envelope: `RequestError` is always the client's fault (400).
"""

from __future__ import annotations


class RequestError(ValueError):
    """A client request that cannot be converted faithfully.

    `path` is the JSON path of the offending value in the client's request, in the
    dotted/bracket form the Anthropic API uses (`messages[2].content[0].source.type`).
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
