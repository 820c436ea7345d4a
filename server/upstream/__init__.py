"""The proxy's upstream side: one client request becomes one or more calls to Gemini.

Modules:
    client              `Upstream`: generate / open_stream, the retry loop over attempts
    call                `UpstreamCall`: what one call asks for
    surfaces            the Gemini API or Code Assist: URL, body envelope, reply unwrapping
    transports          the two arms of ff_http2_pool_tuning, the control client, timeouts
    httpcore_transport  the proxy's own httpx transport: httpcore's pool, our connections
    connections         httpcore's connections with asyncio locks; HTTP/2 streams that
                        wait for their own events
    network             httpcore's network backend on the asyncio loop's own transports
    attempt             one HTTP exchange with one leased credential
    stream              the open stream handed to the edge
    retry_policy        pure decisions after a failed attempt (v1, v2)
    errors              UpstreamError, the root of this package's errors
"""
