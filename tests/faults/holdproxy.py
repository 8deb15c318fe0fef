"""A TCP proxy that can *hold* what a process sends: the moment between commit and ack, on demand.

One process of the platform reaches RabbitMQ through it (``UP_PROCESS_ENV`` of
``scripts/platform_up.py``). ``hold`` stops forwarding what that process sends (its
acknowledgements, its RPC replies, its events) while the broker's deliveries still reach it:
it keeps taking messages and committing their effects, and none of them is acknowledged. ``cut``
then closes every connection without forwarding what was held -- together with a kill -9 of the
process, exactly a crash between commit and ack. ``release`` forwards normally again.

It runs as its own process (threads and plain sockets, no eventlet), controlled over a local TCP
port with one-line commands (``hold``, ``release``, ``cut``, ``stats``); :class:`HoldProxy`
starts it and sends them.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


# --------------------------------------------------------------------------
# the proxy process
# --------------------------------------------------------------------------
class _Proxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.held = threading.Event()
        self.lock = threading.Lock()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.held_bytes = 0
        self.generation = 0        # bumped by cut: bytes held before it are dropped

    def serve(self, listener: socket.socket) -> None:
        while True:
            client, _ = listener.accept()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, outgoing: bool) -> None:
        generation = self.generation
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if outgoing and self.held.is_set():
                    with self.lock:
                        self.held_bytes += len(data)
                    while self.held.is_set() and self.generation == generation:
                        time.sleep(0.01)
                    if self.generation != generation:
                        break                   # cut while held: these bytes never reach the broker
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src, dst)

    @staticmethod
    def _close(*socks: socket.socket) -> None:
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def command(self, line: str) -> str:
        cmd = line.strip().lower()
        if cmd == "hold":
            self.held.set()
        elif cmd == "release":
            self.held.clear()
        elif cmd == "cut":
            with self.lock:
                self.generation += 1
                pairs, self.pairs = self.pairs, []
            for client, upstream in pairs:
                self._close(client, upstream)
        elif cmd != "stats":
            return f"error unknown command {cmd!r}"
        with self.lock:
            return f"ok held={int(self.held.is_set())} held_bytes={self.held_bytes} connections={len(self.pairs)}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--target", required=True, help="host:port")
    args = parser.parse_args(argv)
    host, port = args.target.rsplit(":", 1)
    proxy = _Proxy((host, int(port)))
    listener = socket.create_server(("127.0.0.1", args.listen), reuse_port=False)
    control = socket.create_server(("127.0.0.1", args.control))
    threading.Thread(target=proxy.serve, args=(listener,), daemon=True).start()
    while True:
        conn, _ = control.accept()
        with conn, conn.makefile("rw") as stream:
            for line in stream:
                stream.write(proxy.command(line) + "\n")
                stream.flush()


# --------------------------------------------------------------------------
# the test side
# --------------------------------------------------------------------------
class HoldProxy:
    def __init__(self, target_port: int, listen_port: int, control_port: int, env: dict, log: Path):
        self.port = listen_port
        self.control_port = control_port
        self.log_path = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--listen", str(listen_port),
                 "--control", str(control_port), "--target", f"127.0.0.1:{target_port}"],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.send("stats")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"hold proxy exited: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
        raise RuntimeError("hold proxy did not start")

    def send(self, command: str) -> str:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as conn:
            conn.sendall(command.encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = conn.recv(1024)
                if not chunk:
                    break
                reply += chunk
        text = reply.decode().strip()
        if not text.startswith("ok"):
            raise RuntimeError(f"hold proxy: {command}: {text}")
        return text

    def hold(self) -> None:
        self.send("hold")

    def release(self) -> None:
        self.send("release")

    def cut(self) -> None:
        self.send("cut")

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in (p.split("=") for p in self.send("stats").split()[1:])}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


if __name__ == "__main__":
    os.environ.pop("PYTHONPATH", None)
    sys.exit(main())
