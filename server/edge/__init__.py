"""The proxy's edge: what a client meets, from its request's first byte to its answer's last.

Modules:
    generation_routes   POST /v1/messages, POST /v1/chat/completions (raw ASGI)
    stream_relay        an open upstream stream relayed to the client as SSE, with pings
    token_count_routes  POST /v1/messages/count_tokens (Quart)
    model_list_routes   GET /v1/models, GET /v1/models/{id} (Quart)
    admin_routes        /admin/flags, /admin/credentials (Quart, admin key)
    health_routes       /healthz, /readyz, /metrics (Quart)
    route_steps         the steps the routes share: key, body, flags, model, metrics and log
    auth                proxy and admin keys, compared in constant time
    early_answers       `connection: close` on HTTP/1.x answers that leave the body unread
    envelopes           a ProxyError in the route's envelope (Anthropic or OpenAI)
    model_catalogue     which client model names exist, and their Anthropic shapes
    services            `Services`: the parts of one app the routes share
    start_report        what the proxy says about itself at start and on /readyz (mode,
                        credentials, flags and their sources, state)
    demo_marker         `x-compatkit-upstream: emulator` on every answer of the demo

Everything the edge raises to answer a client is a `server.errors.ProxyError`.
"""
