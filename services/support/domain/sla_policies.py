"""Which SLA a ticket runs by: the stored policies (``sla_policies``), else these defaults, and the
group's calendar as stored (JSON) -- plain values in and out, no I/O.

Defaults (seed 000: 回复 within 24 hours, a technician on site within 48 hours), in business time of
the group's calendar (default Asia/Shanghai, Monday to Friday 09:00-18:00):

| priority | first response | resolution | on-site arrival |
|---|---|---|---|
| low | 48 h | 240 h | 72 h |
| normal | 24 h | 120 h | 48 h |
| high | 8 h | 48 h | 24 h |
| urgent | 2 h | 24 h | 8 h |

The arrival clock runs only for a ticket that needs on-site service (``onsite``).
"""
from __future__ import annotations

import datetime as dt

from services.support.domain.calendar import BusinessCalendar
from services.support.domain.sla import CLOCKS, WARN_FRACTION, Policy

H = 60
DEFAULT_POLICIES = (
    Policy("default-low", "low", None, 48 * H, 240 * H, 72 * H),
    Policy("default-normal", "normal", None, 24 * H, 120 * H, 48 * H),
    Policy("default-high", "high", None, 8 * H, 48 * H, 24 * H),
    Policy("default-urgent", "urgent", None, 2 * H, 24 * H, 8 * H),
)


def policy_to_dict(policy: Policy) -> dict:
    return {"name": policy.name, "priority": policy.priority, "customer_level": policy.customer_level,
            **{f"{c}_minutes": getattr(policy, f"{c}_minutes") for c in CLOCKS},
            "warn_fraction": policy.warn_fraction}


def policy_from_dict(data: dict) -> Policy:
    return Policy(data["name"], data["priority"], data.get("customer_level"),
                  *(data.get(f"{c}_minutes") for c in CLOCKS), float(data.get("warn_fraction") or WARN_FRACTION))


def calendar_from(data: dict | None) -> BusinessCalendar:
    """A stored calendar (the shape of ``BusinessCalendar.describe()``; None: the default one).
    ``ValueError`` when it does not make a calendar (an unknown zone, periods out of a day)."""
    if not data:
        return BusinessCalendar()
    kwargs: dict = {}
    if data.get("tz"):
        kwargs["tz"] = data["tz"]
    if data.get("week") is not None:
        kwargs["week"] = {int(d): tuple(tuple(p) for p in ps) for d, ps in data["week"].items()}
    for name in ("holidays", "workdays"):
        if data.get(name):
            kwargs[name] = frozenset(dt.date.fromisoformat(str(d)) for d in data[name])
    if data.get("workday_periods"):
        kwargs["workday_periods"] = tuple(tuple(p) for p in data["workday_periods"])
    try:
        return BusinessCalendar(**kwargs)
    except (KeyError, LookupError) as exc:          # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {data.get('tz')!r}") from exc
