"""Sales targets (销售目标): what a target is for, who may set it, and its attainment (no I/O).

A target is for a year (``month`` null) or one month of it, for the company, a department (its
subtree counts) or a person, for one metric -- ``order_amount`` (approved orders: their total, by
the time they were approved; a cancelled one no longer counts) or ``collected_amount`` (payments
collected, from billing's facts) -- in one currency. There is one target per period, scope, metric
and currency (``key``).

Who sets them: admins any; a manager those of the departments of their subtree and of the people
in it, never the company's nor their own (their own is set above them). Who sees them: admins all;
everyone the company's, their own department's and their own; managers also those they may set.

Attainment: the amount attained in the period, and the percentage of the target (two places,
ROUND_HALF_UP; none for a target of zero).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from crm_kit.context import Principal
from crm_kit.errors import Forbidden

SCOPES = ("company", "department", "user")
METRICS = ("order_amount", "collected_amount")
UTC = dt.timezone.utc
CENT = Decimal("0.01")


def period(year: int, month: int | None) -> str:
    """``2026`` or ``2026-03``."""
    return f"{year:04d}" if month is None else f"{year:04d}-{month:02d}"


def bounds(year: int, month: int | None) -> tuple[dt.datetime, dt.datetime]:
    """The period as ``[start, end)`` in UTC."""
    if month is None:
        return dt.datetime(year, 1, 1, tzinfo=UTC), dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    start = dt.datetime(year, month, 1, tzinfo=UTC)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def scope_key(scope: str, department_id: str | None, user_id: str | None) -> str:
    """What a target is for, as one value: ``company``, ``department:<id>``, ``user:<id>``."""
    return {"company": "company", "department": f"department:{department_id}", "user": f"user:{user_id}"}[scope]


@dataclass(frozen=True)
class Subject:
    """What a target is for: its scope, the department (a department's, or the person's), the person."""
    scope: str
    department_id: str | None = None
    user_id: str | None = None


def may_set(principal: Principal, subject: Subject) -> bool:
    """Admins any target; managers those of their subtree's departments and people, not their own."""
    if principal.is_admin:
        return True
    if principal.role != "manager" or subject.scope == "company":
        return False
    if subject.scope == "user" and subject.user_id == principal.user_id:
        return False
    return subject.department_id is not None and subject.department_id in principal.scope_department_ids


def check_may_set(principal: Principal, subject: Subject) -> None:
    if not may_set(principal, subject):
        raise Forbidden("Only admins set company targets, and managers those of their departments and people.",
                        {"action": "set_target"})


def attainment(target: Decimal, attained: Decimal) -> Decimal | None:
    """The percentage of ``target`` attained (two places, ROUND_HALF_UP); None for a zero target."""
    if target <= 0:
        return None
    return (attained * 100 / target).quantize(CENT, rounding=ROUND_HALF_UP)


def subtree(departments: dict[str, str | None], root: str) -> set[str]:
    """``root`` and every department below it (``departments``: id -> parent id)."""
    children: dict[str | None, list[str]] = {}
    for child, parent in departments.items():
        children.setdefault(parent, []).append(child)
    out, todo = set(), [root]
    while todo:
        current = todo.pop()
        if current not in out:
            out.add(current)
            todo.extend(children.get(current, ()))
    return out


def supersedes(current_occurred_at: dt.datetime | None, occurred_at: dt.datetime) -> bool:
    """A collection fact replaces the one kept only when it is newer (a redelivery changes nothing)."""
    return current_occurred_at is None or occurred_at > current_occurred_at
