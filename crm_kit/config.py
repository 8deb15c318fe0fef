"""Configuration from the environment (12-factor).

Every setting has an embedded default that works on a developer machine
(SQLite files under ``var/``, a local RabbitMQ). Production overrides them
with environment variables (see deploy/k8s).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("leads", "customers", "sales", "billing", "marketing", "support", "analytics", "webhooks")
ALL_PROCESSES = SERVICES + ("gateway",)
# What a process reads from a Kubernetes Secret of its own, beside its database and broker
# credentials: process -> ((variable, Secret, key), ...). deploy/k8s/generate.py writes the
# references into the process's Deployment and fake values into the dev overlay; deploy/README.md
# says how to create them. (The gateway's crm-gateway-auth is written by hand in its directory.)
SECRET_ENV = {
    "support": (("SUPPORT_LINK_SECRET", "crm-support-links", "link-secret"),),   # customers' signed links
    "webhooks": (("WEBHOOKS_SEALING_KEYS", "crm-webhooks-sealing", "keys"),),    # signing secrets at rest
}

# Local default ports for the per-service metrics/health HTTP server.
DEFAULT_METRICS_PORTS = {name: 9101 + i for i, name in enumerate(SERVICES)}

REPO_ROOT = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    raw = env(name)
    return int(raw) if raw is not None else default


def env_float(name: str, default: float) -> float:
    raw = env(name)
    return float(raw) if raw is not None else default


def var_dir() -> Path:
    path = Path(env("CRM_VAR_DIR", str(REPO_ROOT / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str) -> str:
    """``<SERVICE>_DATABASE_URL``, defaulting to a SQLite file under var/."""
    return env(f"{service.upper()}_DATABASE_URL") or f"sqlite:///{var_dir() / (service + '.db')}"


def amqp_uri() -> str:
    return env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


@dataclass(frozen=True)
class Settings:
    service: str
    amqp_uri: str
    database_url: str
    log_level: str
    metrics_port: int
    max_workers: int
    event_max_attempts: int
    event_retry_backoff: float
    outbox_sweep_interval: float
    outbox_sweep_min_age: float
    rpc_timeout: float

    @classmethod
    def for_service(cls, service: str) -> "Settings":
        return cls(
            service=service,
            amqp_uri=amqp_uri(),
            database_url=database_url(service),
            log_level=env("LOG_LEVEL", "INFO").upper(),
            metrics_port=env_int("METRICS_PORT", DEFAULT_METRICS_PORTS.get(service, 0)),
            max_workers=env_int("MAX_WORKERS", 100 if service == "gateway" else 10),
            event_max_attempts=env_int("EVENT_MAX_ATTEMPTS", 5),
            event_retry_backoff=env_float("EVENT_RETRY_BACKOFF_SECONDS", 0.5),
            outbox_sweep_interval=env_float("OUTBOX_SWEEP_INTERVAL_SECONDS", 2.0),
            outbox_sweep_min_age=env_float("OUTBOX_SWEEP_MIN_AGE_SECONDS", 5.0),
            rpc_timeout=env_float("RPC_TIMEOUT_SECONDS", 10.0),
        )

    def nameko_config(self) -> dict:
        """The dict nameko's container reads, plus our own keys (``CRM_*``)."""
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "serializer": "json",
            "HEARTBEAT": 30,
            "CRM_SETTINGS": self,
            "WEB_SERVER_ADDRESS": f"{env('GATEWAY_HOST', '0.0.0.0')}:{env_int('GATEWAY_PORT', 8000)}",
        }
