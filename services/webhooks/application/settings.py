"""The operator's settings of the webhooks service (environment, read when used, so one process's
tests may change them):

====================================  ========================================  ======================
``WEBHOOKS_ALLOW_PRIVATE``            deliveries to private/loopback addresses  ``false``
``WEBHOOKS_RETRY_SCHEDULE``           waits after each failed attempt (s, csv)  5,300,1800,7200,18000,36000,36000
``WEBHOOKS_RETRY_JITTER``             +- fraction of each wait                  0.2
``WEBHOOKS_TIMEOUT_SECONDS``          connect and read timeout of an attempt    10
``WEBHOOKS_CONCURRENCY``              attempts in flight (green threads)        20
``WEBHOOKS_BATCH``                    deliveries claimed per round              200
``WEBHOOKS_DISABLE_AFTER_FAILURES``   failed attempts in a row that disable     100
``WEBHOOKS_DISABLE_AFTER_SECONDS``    ... and for at least this long            432000 (5 days)
``WEBHOOKS_ROTATION_OVERLAP_SECONDS`` the old secret still signs after rotate   86400
``WEBHOOKS_RETENTION_DAYS``           events and finished deliveries kept       30
``WEBHOOKS_REPLAY_MAX``               events one replay may send                10000
====================================  ========================================  ======================
"""
from __future__ import annotations

from dataclasses import dataclass

from crm_kit.config import env, env_float, env_int
from services.webhooks.domain import backoff, failures


@dataclass(frozen=True)
class Settings:
    allow_private: bool
    schedule: tuple[float, ...]
    jitter: float
    timeout: float
    concurrency: int
    batch: int
    disable_after_failures: int
    disable_after_seconds: float
    rotation_overlap: float
    retention_days: float
    replay_max: int


def settings() -> Settings:
    return Settings(
        allow_private=(env("WEBHOOKS_ALLOW_PRIVATE", "false") or "").lower() in ("1", "true", "yes"),
        schedule=backoff.parse_schedule(env("WEBHOOKS_RETRY_SCHEDULE")),
        jitter=env_float("WEBHOOKS_RETRY_JITTER", backoff.DEFAULT_JITTER),
        timeout=env_float("WEBHOOKS_TIMEOUT_SECONDS", 10.0),
        concurrency=max(1, env_int("WEBHOOKS_CONCURRENCY", 20)),
        batch=max(1, env_int("WEBHOOKS_BATCH", 200)),
        disable_after_failures=max(1, env_int("WEBHOOKS_DISABLE_AFTER_FAILURES", failures.DEFAULT_LIMIT)),
        disable_after_seconds=env_float("WEBHOOKS_DISABLE_AFTER_SECONDS", failures.DEFAULT_MIN_SECONDS),
        rotation_overlap=env_float("WEBHOOKS_ROTATION_OVERLAP_SECONDS", 86400.0),
        retention_days=env_float("WEBHOOKS_RETENTION_DAYS", 30.0),
        replay_max=max(1, env_int("WEBHOOKS_REPLAY_MAX", 10000)),
    )
