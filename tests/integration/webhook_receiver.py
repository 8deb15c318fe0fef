"""A real HTTP receiver of webhooks on loopback, for the tests: it verifies each delivery's Standard
Webhooks signature (``services.webhooks.domain.signatures.verify``, what the README's receiver does),
fails on purpose while told to (``fail_next``: that many requests answered 503; ``failing``: every
request), and dedupes by ``webhook-id`` as a receiver should (``events``: each id once, in arrival
order; ``requests``: every request, duplicates included)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.webhooks.domain import signatures


class _Server(ThreadingHTTPServer):
    # the standard library's backlog of 5 overflows under a sender's 20 connections at once: the
    # kernel drops the SYNs beyond it and the client retries a second later (1 s per attempt)
    request_queue_size = 256
    daemon_threads = True


class Receiver:
    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.lock = threading.Lock()
        self.fail_next = 0
        self.failing = False
        self.requests: list[dict] = []       # every request: id, status answered, valid signature
        self.events: dict[str, dict] = {}     # deduped by webhook-id: the envelopes accepted
        self.arrived: list[tuple[str, float]] = []   # (id, time.time()) of each first acceptance
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver.handle(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/crm"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, headers: dict, body: bytes) -> int:
        with self.lock:
            try:
                msg_id = signatures.verify(self.secret, headers, body, time.time())
            except signatures.SignatureError:
                self.bad_signatures += 1
                self.requests.append({"id": headers.get("webhook-id"), "status": 401})
                return 401
            if self.failing or self.fail_next > 0:
                self.fail_next = max(0, self.fail_next - 1)
                self.requests.append({"id": msg_id, "status": 503})
                return 503
            self.requests.append({"id": msg_id, "status": 200})
            if msg_id not in self.events:           # the dedupe: a retry or replay changes nothing
                self.events[msg_id] = json.loads(body)
                self.arrived.append((msg_id, time.time()))
            return 200
