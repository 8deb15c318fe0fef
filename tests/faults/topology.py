"""``make up`` against the fault suite's own servers.

``scripts/platform_up.py up`` runs every process on its own with its own PostgreSQL database,
here on the suite's cluster and broker (``tests.faults.servers``), on free ports, with short
deadlines. Two replicas of ``leads`` (the RPC side of the faults) and two of ``customers`` (the
consumer of ``lead_converted``, the event side). ``leads-0`` and ``customers-0`` reach RabbitMQ
through a :class:`~tests.faults.holdproxy.HoldProxy` (``UP_PROCESS_ENV``), so a test can hold what
they send -- a crash between commit and ack on demand.

The test process reads the services' databases directly (SQLAlchemy) to count what was done.
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from crm_kit.config import ALL_PROCESSES, SERVICES
from tests.faults.holdproxy import HoldProxy
from tests.faults.servers import MARKER, Servers, free_port
from tests.faults.settings import CLIENT_TIMEOUT, DEADLINE
from tests.integration.harness import ADMIN_PASSWORD, eventually

REPO = Path(__file__).resolve().parents[2]
PLATFORM_UP = REPO / "scripts" / "platform_up.py"

REPLICAS = {"leads": 2, "customers": 2}
PROXIED = ("leads-0", "customers-0")
HANDLER_QUEUE = "evt-leads-lead_converted--customers.handle_lead_converted"


def _free_metrics_base(replicas: int) -> int:
    for _ in range(100):
        base = random.randrange(20000, 40000)
        ports = [base + i + 100 * r for i in range(len(SERVICES)) for r in range(replicas)]
        socks = []
        try:
            for port in ports:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range for the metrics ports")


class Topology:
    def __init__(self, servers: Servers, workdir: Path):
        self.servers = servers
        self.workdir = Path(workdir)
        self.var_dir = self.workdir / "up"
        self.gateway_port = free_port()
        self.metrics_base = _free_metrics_base(max(REPLICAS.values()))
        self.base_url = f"http://127.0.0.1:{self.gateway_port}"
        marker = {MARKER: str(servers.root)}
        self.proxies = {
            label: HoldProxy(servers.rabbit.port, free_port(), free_port(), dict(os.environ, **marker),
                             self.workdir / f"proxy-{label}.log")
            for label in PROXIED}
        self.env = dict(os.environ)
        self.env.update(marker)
        self.env.update({
            "AMQP_URI": servers.rabbit.uri(),
            "UP_DATABASE_URL_BASE": servers.pg.url_base,
            "UP_DB_PREFIX": "crm",
            "UP_VAR_DIR": str(self.var_dir),
            "UP_METRICS_PORT_BASE": str(self.metrics_base),
            "UP_STOP_TIMEOUT": "15",
            "UP_READY_TIMEOUT": "120",
            "UP_PROCESS_ENV": json.dumps({label: {"AMQP_URI": f"amqp://guest:guest@127.0.0.1:{proxy.port}/"}
                                          for label, proxy in self.proxies.items()}),
            **{f"UP_REPLICAS_{name.upper()}": str(n) for name, n in REPLICAS.items()},
            "GATEWAY_PORT": str(self.gateway_port),
            "GATEWAY_HOST": "127.0.0.1",
            "RPC_TIMEOUT_SECONDS": str(DEADLINE),
            "LOG_LEVEL": "INFO",
            "EVENT_MAX_ATTEMPTS": "3",
            "EVENT_RETRY_BACKOFF_SECONDS": "0.05",
            "OUTBOX_SWEEP_INTERVAL_SECONDS": "0.5",
            "OUTBOX_SWEEP_MIN_AGE_SECONDS": "1",
            "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "JWT_SECRET": f"fault-secret-{uuid.uuid4().hex}",
            "RATE_LIMIT_TOKEN_PER_IP": "100000/minute",
            "RATE_LIMIT_TOKEN_PER_USER": "100000/minute",
            "PYTHONWARNINGS": "ignore",
        })
        self.env.pop("PYTHONPATH", None)
        self._engines = {}
        self._token = None

    # -- lifecycle -----------------------------------------------------------
    def platform_up(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, str(PLATFORM_UP), *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 and args[0] != "down":
            raise RuntimeError(f"platform_up.py {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def up(self) -> "Topology":
        self.platform_up("up")
        return self

    def down(self) -> None:
        try:
            self.platform_up("down", timeout=120)
        finally:
            for engine in self._engines.values():
                engine.dispose()
            for proxy in self.proxies.values():
                proxy.close()

    def instances(self) -> list[tuple[str, int]]:
        return [(name, r) for name in ALL_PROCESSES for r in range(REPLICAS.get(name, 1))]

    def pid(self, name: str, replica: int = 0) -> int | None:
        try:
            pid = int((self.var_dir / f"{name}-{replica}.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        ours = b"crm_kit" in cmdline and b"serve" in cmdline      # `python -m crm_kit...cli serve <name>`
        return pid if ours and state not in ("Z", "X") else None

    def signal(self, name: str, replica: int, sig: int) -> None:
        pid = self.pid(name, replica)
        assert pid, f"{name}-{replica} is not running"
        os.kill(pid, sig)

    def kill9(self, name: str, replica: int) -> None:
        pid = self.pid(name, replica)
        assert pid, f"{name}-{replica} is not running"
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: self.pid(name, replica) is None, timeout=10, interval=0.02)

    def start(self, *labels: str) -> None:
        """Start instances that are not running (``platform_up.py start``), waiting for /readyz."""
        self.platform_up("start", *labels)

    def log(self, name: str, replica: int = 0) -> str:
        path = self.var_dir / f"{name}-{replica}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_mark(self) -> dict[str, int]:
        return {p.name: p.stat().st_size for p in self.var_dir.glob("*.log")}

    def logs_since(self, mark: dict[str, int]) -> list[tuple[str, str]]:
        out = []
        for path in sorted(self.var_dir.glob("*.log")):
            with open(path, "rb") as f:
                f.seek(mark.get(path.name, 0))
                out += [(path.name, line) for line in f.read().decode(errors="replace").splitlines()]
        return out

    def log_count(self, name: str, needle: str) -> int:
        return sum(self.log(name, r).count(needle) for r in range(REPLICAS.get(name, 1)))

    def heal(self) -> None:
        """Whatever a previous test left broken (it failed half-way): servers up, no alarm, nothing
        stopped or held, every instance running and ready."""
        rabbit, pg = self.servers.rabbit, self.servers.pg
        for proxy in self.proxies.values():
            proxy.release()
        for name, replica in self.instances():
            pid = self.pid(name, replica)
            if pid:
                os.kill(pid, signal.SIGCONT)
        if not pg.running():
            pg.start()
        if not rabbit.running():
            rabbit.start()
        if rabbit.alarms() not in ("[]", ""):
            rabbit.clear_memory_alarm()
        missing = [f"{n}-{r}" for n, r in self.instances() if self.pid(n, r) is None]
        if missing:
            self.start(*missing)
        eventually(lambda: self.ready(), timeout=120, interval=0.5)
        eventually(lambda: self.api_works(), timeout=60, interval=0.5)

    def ready(self) -> bool:
        return self.readiness() == "ok"

    def readiness(self) -> str:
        """``"ok"`` when the gateway's /readyz says so, else what it said (the failing checks), so
        that a wait that runs out names what never came back."""
        try:
            resp = requests.get(self.base_url + "/readyz", timeout=5)
        except requests.RequestException as exc:
            return f"no answer: {type(exc).__name__}"
        if resp.status_code == 200:
            return "ok"
        try:
            checks = resp.json().get("checks", {})
            return "; ".join(f"{k}: {v}" for k, v in sorted(checks.items()) if v != "ok") or resp.text
        except ValueError:
            return f"{resp.status_code} {resp.text[:200]}"

    def api_works(self) -> bool:
        try:
            return self.get("/api/v1/leads", params={"limit": 1}, timeout=10).status_code == 200
        except requests.RequestException:
            return False

    # -- HTTP ----------------------------------------------------------------
    @property
    def token(self) -> str:
        if self._token is None:
            resp = requests.post(self.base_url + "/api/v1/auth/token",
                                 json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=15)
            assert resp.status_code == 200, resp.text
            self._token = resp.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, session: requests.Session | None = None, **kwargs):
        kwargs.setdefault("timeout", CLIENT_TIMEOUT)
        headers = {"Authorization": f"Bearer {self.token}", **(kwargs.pop("headers", None) or {})}
        return (session or requests).request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    # -- the databases ---------------------------------------------------------
    def engine(self, service: str):
        if service not in self._engines:
            self._engines[service] = create_engine(f"{self.servers.pg.url_base}/crm_{service}", pool_size=2,
                                                   max_overflow=2, pool_pre_ping=True)
        return self._engines[service]

    def rows(self, service: str, sql: str, **params) -> list:
        with self.engine(service).connect() as conn:
            return list(conn.execute(text(sql), params))

    def dispose_engines(self) -> None:
        """After the cluster was stopped: drop pooled connections (pre-ping would too, but at once is cleaner)."""
        for engine in self._engines.values():
            engine.dispose()

    def queue(self, name: str) -> dict:
        return self.servers.rabbit.queues().get(name, {"messages": 0, "messages_unacknowledged": 0})

    def dlq_depths(self) -> dict[str, int]:
        return {name: q["messages"] for name, q in self.servers.rabbit.queues().items() if name.endswith(".dlq")}

    def parked_since(self, before: dict[str, int]) -> dict[str, int]:
        """Messages parked in a .dlq since ``before`` (a :meth:`dlq_depths`)."""
        return {q: n - before.get(q, 0) for q, n in self.dlq_depths().items() if n > before.get(q, 0)}
