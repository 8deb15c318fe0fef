"""When a run of failures disables a subscription.

Every attempt that fails (a status outside 2xx, a timeout, a refused connection, an address the SSRF
rules refuse) adds one to the subscription's run of consecutive failures; any 2xx ends the run. The
subscription is disabled (``active`` false, event ``webhook_subscription_disabled`` with the rule
and its inputs) when the run reaches ``limit`` attempts **and** has lasted ``min_seconds`` -- by
default 100 attempts over 5 days (``WEBHOOKS_DISABLE_AFTER_FAILURES``,
``WEBHOOKS_DISABLE_AFTER_SECONDS``): longer than any delivery's retries (27.6 h), so a receiver down
for a day loses nothing. Its pending deliveries stay pending: an admin who sets ``active`` again gets
them sent (and can replay what gave up).
"""
from __future__ import annotations

import datetime as dt

DEFAULT_LIMIT = 100
DEFAULT_MIN_SECONDS = 5 * 24 * 3600.0
RULE = "webhooks.disable_after_failures"


def disable_rule(consecutive_failures: int, failing_since: dt.datetime | None, now: dt.datetime,
                 limit: int = DEFAULT_LIMIT, min_seconds: float = DEFAULT_MIN_SECONDS) -> dict | None:
    """The rule and its inputs when the run of failures disables the subscription, else None."""
    if failing_since is None or consecutive_failures < limit:
        return None
    lasted = (now - failing_since).total_seconds()
    if lasted < min_seconds:
        return None
    return {"rule": RULE, "consecutive_failures": consecutive_failures, "limit": limit,
            "failing_since": failing_since.isoformat(), "failing_seconds": round(lasted, 3),
            "min_seconds": min_seconds, "as_of": now.isoformat()}
