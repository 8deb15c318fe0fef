"""A TCP proxy the tests can unplug: a real network outage between a service and
RabbitMQ, without stopping the broker every other process uses."""
from __future__ import annotations

import socket

import eventlet

from tests.integration.harness import free_port


class TcpProxy:
    def __init__(self, target=("127.0.0.1", 5672)):
        self.target = target
        self.port = free_port()
        self._listener = None
        self._acceptor = None
        self._sockets: list[socket.socket] = []

    def up(self) -> "TcpProxy":
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._acceptor = eventlet.spawn(self._accept_loop, self._listener)
        return self

    def down(self) -> None:
        """Refuse new connections and cut every open one."""
        if self._acceptor is not None:
            self._acceptor.kill()
        if self._listener is not None:
            self._listener.close()
        for sock in self._sockets:  # the pipes see EOF and close their sockets
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._sockets = []
        self._listener = self._acceptor = None

    def _accept_loop(self, listener):
        while True:
            client, _ = listener.accept()
            try:
                upstream = eventlet.connect(self.target)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            eventlet.spawn(self._pipe, client, upstream)
            eventlet.spawn(self._pipe, upstream, client)

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except Exception:  # OSError, or eventlet's EOFError/IOClosed on a cut socket
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except Exception:
                    pass
                s.close()
