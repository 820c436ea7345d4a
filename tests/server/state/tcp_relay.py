"""A TCP relay on 127.0.0.1: each connection it accepts goes to the next of its target ports in
turn (a layer-4 load balancer), and every chunk of bytes, either way, waits `delay` seconds
before it is passed on (0: passed at once). The slow-Redis tests put it between the proxies and
a real redis-server and turn the delay up and down while they run; the scale-out Locust run
puts it in front of two proxy instances."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from types import TracebackType

from tests.server.state.redis_server import free_port


class Relay:
    """Listens on `port`, relays round-robin to 127.0.0.1:`target_ports`; `delay` may change live."""

    def __init__(self, *target_ports: int) -> None:
        self._targets = itertools.cycle(target_ports)
        self.port = free_port()
        self.delay = 0.0
        self._listener = socket.create_server(("127.0.0.1", self.port), backlog=1024)
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Relay:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(("127.0.0.1", next(self._targets)))
            except OSError:
                return
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if self.delay > 0:
                    time.sleep(self.delay)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                sock.close()
