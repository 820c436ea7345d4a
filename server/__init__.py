"""The reference proxy: Claude- and OpenAI-compatible routes in front of Gemini.

    create_app(config) -> Quart     the app factory (server.app); `compatkit serve` runs it

Rooms, by role (each package's `__init__` says what it holds):
    edge/         what a client meets: routes, keys, envelopes, the stream relay
    upstream/     what Gemini meets: surfaces, transports, attempts, the retry loop
    credentials/  upstream credentials: files, OAuth refresh, Code Assist setup, scheduling
    state/        the durable store: its interface, the factory, SQLite, Redis
    app, config, flags, metrics, logs, errors, hosting, serve   the proxy as a whole
"""

from server.app import create_app

__all__ = ["create_app"]
