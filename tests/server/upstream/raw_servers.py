"""Servers on 127.0.0.1 that a test drives byte by byte, for the upstream client's transport.

raw_server(handler) as url      a plain TCP server running `handler` per connection
read_request(reader)            read an HTTP/1.1 request head
H2Server                        an HTTP/2 server (prior knowledge) that answers on command
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import h2.config
import h2.connection
import h2.events

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A plain TCP server on 127.0.0.1 running `handler` per connection; yields its URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


class H2Server:
    """A plain-TCP HTTP/2 server (prior knowledge) that answers only when the test says so:
    `answer(i)` sends the response headers and one DATA frame on the i-th request's stream,
    `hang_up()` closes every connection. It counts each request's body bytes (`received`),
    notes the streams whose request ended (`ended`), the client's SETTINGS (`settings`: code
    -> value) and the streams each WINDOW_UPDATE opened (`window_updates`, 0: the connection)."""

    def __init__(self) -> None:
        self.streams: list[int] = []
        self.requests_seen = asyncio.Event()
        self.expected = 0
        self.received: dict[int, int] = {}
        self.ended: set[int] = set()
        self.settings: dict[int, int] = {}
        self.window_updates: list[int] = []
        self._writers: list[tuple[h2.connection.H2Connection, asyncio.StreamWriter]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False)
        connection = h2.connection.H2Connection(config=config)
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        self._writers.append((connection, writer))
        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    self.streams.append(event.stream_id)
                    if len(self.streams) == self.expected:
                        self.requests_seen.set()
                elif isinstance(event, h2.events.DataReceived):
                    size = event.flow_controlled_length
                    self.received[event.stream_id] = self.received.get(event.stream_id, 0) + size
                    connection.acknowledge_received_data(size, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(event.stream_id)
                elif isinstance(event, h2.events.RemoteSettingsChanged):
                    changed = event.changed_settings.items()
                    self.settings.update({code: s.new_value for code, s in changed})
                elif isinstance(event, h2.events.WindowUpdated):
                    self.window_updates.append(event.stream_id)
            writer.write(connection.data_to_send())

    def answer(self, index: int) -> None:
        connection, writer = self._writers[0]
        stream_id = self.streams[index]
        connection.send_headers(stream_id, [(":status", "200")])
        connection.send_data(stream_id, b"first chunk")
        writer.write(connection.data_to_send())

    def hang_up(self) -> None:
        for _, writer in self._writers:
            writer.close()
