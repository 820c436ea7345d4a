"""Upstream transports: the two arms of `ff_http2_pool_tuning`, and a control client.

Operations:
    Transports(verify, timeouts, http2_prior_knowledge=False)
                                         one per upstream client; `await .aclose()`
        .pooled -> transport             on: one long-lived pooled HTTP/2 transport, tuned limits
                                         (h2c to an http:// upstream with prior knowledge)
        .new_transport() -> transport    off: a fresh HTTP/1.1 transport per attempt (the baseline)
        .control -> httpx.AsyncClient    token refreshes and Code Assist setup (in neither arm)
        .request(url, body, headers) -> httpx.Request
    ClientTransport(client)              a full httpx client seen as a transport (proxies)
    UpstreamTimeouts, POOL_LIMITS
    ssl_verify(upstream_config) -> SSLContext
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import httpx

from server.config import ConfigError, UpstreamConfig
from server.upstream.httpcore_transport import HttpcoreTransport

POOL_LIMITS = httpx.Limits(
    max_connections=512, max_keepalive_connections=128, keepalive_expiry=120.0
)
"""Pooled arm: HTTP/2 multiplexes streams, so few connections serve many requests; the
ceiling only bounds a burst of new connections while the first handshakes are in flight."""

_URL_MEMO_SIZE = 1024  # parsed upstream URLs remembered per client
_env_proxies = bool(urllib.request.getproxies())  # what httpx's trust_env would act on


@dataclass(frozen=True, slots=True)
class UpstreamTimeouts:
    """Seconds. `read` is the longest upstream silence tolerated inside a reply."""

    connect: float = 10.0
    read: float = 300.0
    write: float = 30.0
    pool: float = 30.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class Transports:
    """Both arms' httpx transports (the pooled HTTP/2 one, a fresh HTTP/1.1 one per attempt)
    and a control client for token refreshes and Code Assist setup (rare; in neither arm).

    Attempts go straight to a transport (`send`): httpx's client layers (auth and redirect
    flows, cookie jar, event hooks) do nothing for the proxy and cost ~0.1 ms per request.
    The transports are the proxy's own (server.upstream.httpcore_transport: the loop's own
    sockets, asyncio locks, HTTP/2 streams that wait for their own events) unless proxy
    environment variables ask for httpx's proxy support. Each arm has its own TLS context:
    httpcore sets the context's ALPN protocols on every connect. `http2_prior_knowledge`
    (upstream.http2_prior_knowledge) makes the pooled arm speak h2c to an http:// upstream;
    the per-request arm, the flag's baseline, stays HTTP/1.1.
    """

    def __init__(
        self,
        verify: Callable[[], ssl.SSLContext | bool],
        timeouts: UpstreamTimeouts,
        *,
        http2_prior_knowledge: bool = False,
    ) -> None:
        self._verify = {True: verify(), False: verify()}  # by arm: pooled HTTP/2 or not
        self._prior_knowledge = http2_prior_knowledge
        self._timeout = timeouts.httpx()
        self._extensions = {"timeout": self._timeout.as_dict()}
        # A URL parsed once (IDNA, the host's address form: ~2 % of the proxy's CPU at
        # saturation), the last _URL_MEMO_SIZE of them: the model in the path may be one a
        # client named. httpx.URL is immutable, so requests share it.
        self._parsed = lru_cache(maxsize=_URL_MEMO_SIZE)(httpx.URL)
        self._pooled: httpx.AsyncBaseTransport | None = None
        self._control: httpx.AsyncClient | None = None

    @property
    def control(self) -> httpx.AsyncClient:
        if self._control is None:
            self._control = httpx.AsyncClient(timeout=self._timeout, verify=self._verify[False])
        return self._control

    @property
    def pooled(self) -> httpx.AsyncBaseTransport:
        if self._pooled is None:
            self._pooled = self._transport(http2=True, limits=POOL_LIMITS)
        return self._pooled

    def new_transport(self) -> httpx.AsyncBaseTransport:
        """The baseline arm: a fresh HTTP/1.1 transport, closed after its one exchange."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        return self._transport(http2=False, limits=limits)

    def _transport(self, *, http2: bool, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        verify = self._verify[http2]
        prior_knowledge = http2 and self._prior_knowledge
        if _env_proxies:  # httpx's client: without HTTP/1.1, h2c to http:// (TLS offers h2 only)
            client = httpx.AsyncClient(
                http1=not prior_knowledge, http2=http2, limits=limits, timeout=self._timeout,
                verify=verify,
            )  # fmt: skip
            return ClientTransport(client)
        return HttpcoreTransport(
            http2=http2, limits=limits, verify=verify, http2_prior_knowledge=prior_knowledge
        )

    def request(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Request:
        """A POST with httpx's default headers and the upstream timeouts."""
        return httpx.Request(
            "POST", self._parsed(url), content=body, headers={**DEFAULT_HEADERS, **headers},
            extensions=self._extensions,
        )  # fmt: skip

    async def aclose(self) -> None:
        if self._pooled is not None:
            await self._pooled.aclose()
        if self._control is not None:
            await self._control.aclose()
        self._pooled = self._control = None


DEFAULT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": f"python-httpx/{httpx.__version__}",
}
"""What an httpx client would have added to each upstream request."""


class ClientTransport(httpx.AsyncBaseTransport):
    """A full httpx client seen as a transport (environment proxies, NO_PROXY)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True)

    async def aclose(self) -> None:
        await self._client.aclose()


def ssl_verify(config: UpstreamConfig) -> ssl.SSLContext | bool:
    """The TLS context upstream connections verify with: the system's CAs, or `ca_file`'s
    (ConfigError naming the file when it holds no PEM certificate)."""
    context = ssl.create_default_context()
    if config.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(config.ca_file))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"upstream.ca_file {config.ca_file} is not a PEM file of CA certificates "
                f"({getattr(exc, 'reason', None) or exc})"
            ) from None
    return context
