"""The server's errors: `ServerError`, the root of every exception the server raises on
purpose, and `ProxyError`, the one vocabulary for a request answered with an error, raised
anywhere while answering (the edge and the upstream client alike) and rendered by
`server.edge.envelopes` in the route's own envelope.

Each room has its own root under ServerError (server.upstream.errors.UpstreamError,
server.credentials.errors.CredentialError, server.state.errors.StoreError), and so have the
top-level modules (server.config.ConfigError, server.flags.FlagError); `StartupError` is a
server that cannot start (the socket, the TLS files, the app's start-up hooks).

Goals: one vocabulary inside the proxy (the Anthropic error types of
docs/reference/anthropic.md#errors), mapped into each client's envelope by the protocol core
(`compat.error_body`; upstream Google errors by `compat.anthropic_error_for` /
`compat.openai_error_for`) and rendered by `server.edge.envelopes`; secrets never appear in a
message because messages are composed here, not copied from headers.
"""

from __future__ import annotations

import compat


class ServerError(Exception):
    """The root of every exception the server package raises on purpose."""


class StartupError(ServerError):
    """A server that cannot start: its message is the one-line reason (`compatkit serve`
    prints it and exits with status 2)."""


class ProxyError(ServerError):
    """A failure to answer a request, in the Anthropic error vocabulary.

    `param` names the offending request field (OpenAI's `param`); `headers` go on the
    error response (`retry-after`); `google` is the upstream error this one stands for,
    so each envelope can use the protocol core's own mapping for it.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        google: compat.GoogleError | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.param = param
        self.headers = dict(headers or {})
        self.google = google

    @classmethod
    def invalid_request(cls, message: str, *, param: str | None = None) -> ProxyError:
        """400 invalid_request_error; `param` is the JSON path of the offending field."""
        text = f"{param}: {message}" if param and not message.startswith(param) else message
        return cls(400, "invalid_request_error", text, param=param)

    @classmethod
    def from_request_error(cls, error: compat.RequestError) -> ProxyError:
        """A conversion failure of the protocol core: the client's fault, naming the field."""
        return cls.invalid_request(error.message, param=error.path or None)

    @classmethod
    def from_google(cls, google: compat.GoogleError) -> ProxyError:
        """An upstream error as the client sees it; `retry-after` from RetryInfo when given,
        and `x-should-retry: false` for a terminal quota (the SDKs honour it: their own
        retries would wait out `retry-after` twice for a quota that is back in hours)."""
        status, body = compat.anthropic_error_for(google)
        headers = {}
        if google.retry_after is not None:
            headers["retry-after"] = str(google.retry_after)
        if google.is_terminal_quota:
            headers["x-should-retry"] = "false"
        return cls(status, body["error"]["type"], google.message, headers=headers, google=google)
