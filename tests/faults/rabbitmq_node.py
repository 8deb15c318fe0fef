"""The fault suite's own RabbitMQ node (see ``tests/faults/servers.py``)."""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.faults.procs import MARKER, ServerError, free_port, pid_alive, port_open, wait_gone

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
_counter = itertools.count()


class RabbitNode:
    def __init__(self, root: Path):
        self.dir = root / "rabbitmq"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.node = f"crmfaults{os.getpid()}x{next(_counter)}@localhost"
        self.port = free_port()
        self.dist_port = free_port({self.port})
        self.proc: subprocess.Popen | None = None
        self.listening_at: float | None = None     # time.monotonic() when the last start opened the AMQP port
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "rabbitmq.conf").write_text("\n".join([
            f"listeners.tcp.local = 127.0.0.1:{self.port}",
            "loopback_users.guest = true",
            "log.console = true",
            "log.console.level = warning",
            "log.file.level = info",
            # free disk on a test machine may be low: never let the disk alarm decide a test
            "disk_free_limit.absolute = 1MB",
            "vm_memory_high_watermark.relative = 0.4",
            "",
        ]))

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            MARKER: str(self.root),
            "HOME": str(self.dir),                       # the node's and the CLI's .erlang.cookie
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "beam.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        })
        return env

    def uri(self, vhost: str = "") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def ctl(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-q", "-n", self.node, *args], env=self.env,
                              cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise ServerError(f"rabbitmqctl {' '.join(args)}: {proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def start(self, timeout: float = 90) -> "RabbitNode":
        if self.running():
            return self
        if port_open(self.port):
            raise ServerError(f"port {self.port} is taken: cannot start {self.node}")
        (self.dir / "beam.pid").unlink(missing_ok=True)
        self.listening_at = None
        log = open(self.dir / "console.log", "ab")
        try:
            self.proc = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=self.env, cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.node} exited with {self.proc.returncode}:\n{self.console()[-3000:]}")
            if port_open(self.port):
                self.listening_at = self.listening_at or time.monotonic()
                if self.ctl("await_startup", "--timeout", "5", check=False).returncode == 0:
                    return self
            time.sleep(0.3)
        raise ServerError(f"{self.node} not up after {timeout}s:\n{self.console()[-3000:]}")

    def console(self) -> str:
        path = self.dir / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def beam_pid(self) -> int | None:
        try:
            pid = int((self.dir / "beam.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (``rabbitmqctl stop``): clients see their connections closed."""
        if not self.running():
            return
        self.ctl("stop", timeout=timeout, check=False)
        if not wait_gone(self.proc.pid, timeout):
            self.kill()

    def kill(self) -> None:
        """kill -9 of the Erlang VM (and of its start script and helpers)."""
        if self.proc is None:
            return
        beam = self.beam_pid()
        if beam:
            os.kill(beam, signal.SIGKILL)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        wait_gone(self.proc.pid, 30)
        if beam:
            wait_gone(beam, 30)
        deadline = time.monotonic() + 30
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def set_memory_alarm(self) -> None:
        """Publishers blocked: the memory high watermark below what the node uses."""
        self.ctl("set_vm_memory_high_watermark", "absolute", "1")

    def clear_memory_alarm(self) -> None:
        self.ctl("set_vm_memory_high_watermark", "0.4")

    def alarms(self) -> str:
        return self.ctl("eval", "rabbit_alarm:get_alarms().").stdout.strip()

    def queues(self) -> dict[str, dict]:
        """Every queue of the default vhost: {name: {messages, messages_ready, messages_unacknowledged}}."""
        out = self.ctl("list_queues", "name", "messages", "messages_ready", "messages_unacknowledged",
                       "--formatter", "json").stdout
        return {q["name"]: q for q in json.loads(out or "[]")}
