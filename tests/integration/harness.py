"""Runs the real platform for integration tests: real RabbitMQ, real databases,
each service and the gateway in its own process (``crm serve``), exactly as
``make run`` does.

Isolation: every Platform gets its own RabbitMQ virtual host (so queues and
leftovers of other runs never mix) and its own databases: SQLite files in a
temporary directory, or one PostgreSQL database per service.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import requests

from crm_kit.config import ALL_PROCESSES, SERVICES

ADMIN_PASSWORD = "admin-password-for-tests"
RABBIT_HOST = os.environ.get("CRM_TEST_RABBIT_HOST", "127.0.0.1")
PG_DSN = os.environ.get("CRM_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_BASE = os.environ.get("CRM_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rabbitmqctl(*args) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhost() -> str:
    vhost = f"crm-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return vhost


def delete_vhost(vhost: str) -> None:
    try:
        rabbitmqctl("delete_vhost", vhost)
    except Exception:
        pass


def postgres_reachable() -> bool:
    try:
        import psycopg2
        psycopg2.connect(PG_DSN, connect_timeout=3).close()
        return True
    except Exception:
        return False


def create_pg_databases(prefix: str, names) -> dict[str, str]:
    import psycopg2
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    urls = {}
    with conn.cursor() as cur:
        for name in names:
            db = f"{prefix}_{name}"
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
            cur.execute(f'CREATE DATABASE "{db}"')
            urls[name] = f"{PG_URL_BASE}/{db}"
    conn.close()
    return urls


def drop_pg_databases(urls: dict[str, str]) -> None:
    import psycopg2
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        for url in urls.values():
            cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


# What a platform runs unless a module asks otherwise: every process but webhooks, which consumes every
# event of the catalogue (a quorum queue and a dead-letter queue per event: the broker's file handles
# and a slow declaration, paid by every module for nothing). The modules that need it name it
# (``services=ALL_PROCESSES``: test_webhooks_http, test_openapi, test_python_client).
DEFAULT_PROCESSES = tuple(name for name in ALL_PROCESSES if name != "webhooks")


class Platform:
    def __init__(self, workdir: Path, backend: str = "sqlite", services=DEFAULT_PROCESSES, extra_env=None,
                 process_env: dict[str, dict] | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        self.names = tuple(services)
        self.vhost = create_vhost()
        self.amqp_uri = f"amqp://guest:guest@{RABBIT_HOST}:5672/{quote(self.vhost, safe='')}"
        self.gateway_port = free_port()
        self.metrics_ports = {name: free_port() for name in SERVICES}
        self.replica_metrics_ports: dict[tuple[str, int], int] = {}
        if backend == "postgresql":
            self.db_urls = create_pg_databases(f"crmtest_{uuid.uuid4().hex[:6]}", ALL_PROCESSES)
        else:
            self.db_urls = {name: f"sqlite:///{self.workdir / (name + '.db')}" for name in ALL_PROCESSES}
        self.env = dict(os.environ)
        self.env.update({
            "AMQP_URI": self.amqp_uri,
            "GATEWAY_PORT": str(self.gateway_port),
            "GATEWAY_HOST": "127.0.0.1",
            "LOG_LEVEL": "INFO",
            "EVENT_MAX_ATTEMPTS": "3",
            "EVENT_RETRY_BACKOFF_SECONDS": "0.05",
            "OUTBOX_SWEEP_INTERVAL_SECONDS": "0.5",
            "OUTBOX_SWEEP_MIN_AGE_SECONDS": "1",
            "RPC_TIMEOUT_SECONDS": "10",
            "CRM_VAR_DIR": str(self.workdir),
            "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "JWT_SECRET": f"test-secret-{uuid.uuid4().hex}",
            # tests sign in often from one address; the limits themselves are tested on their own platform
            "RATE_LIMIT_TOKEN_PER_IP": "100000/minute",
            "RATE_LIMIT_TOKEN_PER_USER": "100000/minute",
            # small export pages, so that every export through the gateway crosses page boundaries
            "LEADS_EXPORT_PAGE_SIZE": "10",
            # the gateway is ready when the services this platform runs are
            "GATEWAY_READINESS_SERVICES": ",".join(n for n in self.names if n in SERVICES),
        })
        for name, url in self.db_urls.items():
            self.env[f"{name.upper()}_DATABASE_URL"] = url
        self.env.update(extra_env or {})
        self.process_env = process_env or {}   # per-process overrides, e.g. AMQP_URI through a proxy
        self.procs: dict[str, list[subprocess.Popen]] = {}
        self.base_url = f"http://127.0.0.1:{self.gateway_port}"

    # -- lifecycle ---------------------------------------------------------
    def env_for(self, name: str) -> dict:
        return dict(self.env, **self.process_env.get(name, {}))

    def migrate(self, name: str) -> None:
        subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "migrate", name], env=self.env_for(name),
                       check=True, capture_output=True, timeout=120)

    def start(self) -> "Platform":
        for name in self.names:
            self.migrate(name)
        for name in self.names:
            self.spawn(name)
        self.wait_ready()
        return self

    def spawn(self, name: str, replica: int = 0) -> subprocess.Popen:
        env = self.env_for(name)
        if name in SERVICES:
            port = self.metrics_ports[name] if replica == 0 else free_port()
            env["METRICS_PORT"] = str(port)
            self.replica_metrics_ports[(name, replica)] = port
        log = open(self.workdir / f"{name}-{replica}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "crm_kit.ops.cli", "serve", name], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        self.procs.setdefault(name, []).append(proc)
        return proc

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                for proc in self.procs.get(name, []):
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} exited early:\n{self.log(name)[-3000:]}")
                url = (f"{self.base_url}/healthz" if name == "gateway"
                       else f"http://127.0.0.1:{self.metrics_ports[name]}/readyz")
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        pending.discard(name)
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready after {timeout}s: {sorted(pending)}")
        # nameko consumers are declared before readiness answers; give them a beat to bind.
        time.sleep(0.3)

    def stop(self) -> None:
        for procs in self.procs.values():
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
        for procs in self.procs.values():
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.procs = {}

    def halt(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process (every replica): SIGTERM lets it finish its workers, SIGKILL does not."""
        for proc in self.procs.pop(name, []):
            if proc.poll() is None:
                proc.send_signal(sig)
            proc.wait(30)

    def resume(self, name: str) -> None:
        """Start a halted process again and wait until it is ready."""
        self.spawn(name)
        self.wait_ready()

    def destroy(self) -> None:
        self.stop()
        delete_vhost(self.vhost)
        if self.backend == "postgresql":
            drop_pg_databases(self.db_urls)
        self.check_logs()

    # Lines no run may log: the kit's own alarms about a service's code (see crm_kit.runtime.dependencies).
    FORBIDDEN_LOG_LINES = ("committed without recording its reply",)

    def check_logs(self) -> None:
        """Fail (at teardown) when a process logged what must never happen: a writing RPC whose reply
        is not recorded with its effect would be applied twice on redelivery."""
        found = [f"{path.name}: {line[:300]}" for path in sorted(self.workdir.glob("*.log"))
                 for line in path.read_text(errors="replace").splitlines()
                 if any(text in line for text in self.FORBIDDEN_LOG_LINES)]
        assert not found, "\n".join(found[:20])

    def log(self, name: str, replica: int = 0) -> str:
        path = self.workdir / f"{name}-{replica}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- HTTP --------------------------------------------------------------
    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        resp = requests.post(self.base_url + "/api/v1/auth/token",
                             json={"username": username, "password": password}, timeout=15)
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]

    @property
    def admin_token(self) -> str:
        if getattr(self, "_admin_token", None) is None:
            self._admin_token = self.login()
        return self._admin_token

    def request(self, method: str, path: str, token: str | bool | None = None, **kwargs) -> requests.Response:
        """``token``: None = the administrator's, False = none, a string = that token."""
        kwargs.setdefault("timeout", 15)
        headers = dict(kwargs.pop("headers", None) or {})
        if token is None and path.startswith("/api/"):
            token = self.admin_token
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        return requests.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def eventually(self, fn, timeout: float = 20, interval: float = 0.1):
        return eventually(fn, timeout, interval)


def eventually(fn, timeout: float = 20, interval: float = 0.1):
    """Poll ``fn`` until it returns a truthy value (events are asynchronous)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
