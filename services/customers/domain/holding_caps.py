"""The holding caps (客户拥有上限): how many customers one user may own across the platform, and how
many of them they may lock.

The customer settings hold a list of caps, each ``{"department_id": ...}`` (the users of that
department), ``{"role": ...}`` (the users of that role: ``admin``, ``manager``, ``member``) or
neither (everyone: the default), with

- ``max_held``: customers the user may own at once (``None``: no cap);
- ``count_deals``: whether deal customers (成交客户) count toward ``max_held`` (default ``True``);
- ``max_locked``: customers the user may have locked at once (``None``: no cap).

**The most specific cap applies**, whole: the user's department's, else their role's, else the
default; none at all means no cap. Where the user's role is not known (an assign or a transfer
names another user, and a converted lead's owner: the gateway passes their department, not their
role) the department's cap applies, else the default -- a role's cap is skipped, and the README
says so.

The holding cap is checked whenever a user is about to receive a customer: claim, assign,
transfer, lead conversion (``LimitExceeded`` ``limit`` ``holding_cap``, ``max``, ``current``); the
locked cap when they lock one (``locked_cap``). Neither is a matter of time: no ``available_at``.
"""
from __future__ import annotations

from dataclasses import dataclass

from crm_kit.context import ROLES
from crm_kit.errors import LimitExceeded

HOLDING_CAP, LOCKED_CAP = "holding_cap", "locked_cap"
DEPARTMENT, ROLE, DEFAULT = "department", "role", "default"
CAP_KEYS = ("department_id", "role", "max_held", "max_locked", "count_deals")


@dataclass(frozen=True)
class HoldingCap:
    """The cap that applies to one user, and where it comes from (``applies_by``: ``department``,
    ``role`` or ``default``; ``key``: the department id or role)."""
    max_held: int | None
    max_locked: int | None
    count_deals: bool
    applies_by: str
    key: str | None = None

    @property
    def what(self) -> str:
        return {DEPARTMENT: f"the cap of department {self.key}", ROLE: f"the cap of role {self.key}",
                DEFAULT: "the default cap"}[self.applies_by]


def normalize_cap(entry: dict) -> dict:
    """A cap entry with every key (absent: no department, no role, no limits, deals counted)."""
    return {"department_id": entry.get("department_id"), "role": entry.get("role"),
            "max_held": entry.get("max_held"), "max_locked": entry.get("max_locked"),
            "count_deals": True if entry.get("count_deals") is None else bool(entry["count_deals"])}


def cap_errors(entries: list[dict]) -> dict:
    """``{"<index>.<field>": [message]}`` of what is wrong with a list of caps (each at most one of
    ``department_id`` / ``role``; no two for the same department, role, or two defaults)."""
    errors: dict = {}
    seen: dict = {}
    for index, entry in enumerate(entries):
        entry = normalize_cap(entry)
        if entry["department_id"] and entry["role"]:
            errors[f"{index}.role"] = ["A cap is for a department or for a role, not both."]
            continue
        if entry["role"] is not None and entry["role"] not in ROLES:
            errors[f"{index}.role"] = [f"Must be one of: {', '.join(ROLES)}."]
            continue
        key = (DEPARTMENT, entry["department_id"]) if entry["department_id"] else \
            (ROLE, entry["role"]) if entry["role"] else (DEFAULT, None)
        if key in seen:
            what = {DEPARTMENT: f"department {key[1]}", ROLE: f"role {key[1]}", DEFAULT: "the default"}[key[0]]
            errors[f"{index}._schema"] = [f"Two caps for {what} (the other is #{seen[key]})."]
        seen.setdefault(key, index)
    return errors


def cap_for(entries: list[dict], department_id: str | None, role: str | None) -> HoldingCap | None:
    """The cap that applies to a user of ``department_id`` and ``role`` (``None``: not known), or
    ``None`` when no cap applies."""
    entries = [normalize_cap(e) for e in entries or ()]
    found = None
    if department_id:
        found = next(((DEPARTMENT, e) for e in entries if e["department_id"] == department_id), None)
    if found is None and role:
        found = next(((ROLE, e) for e in entries if not e["department_id"] and e["role"] == role), None)
    if found is None:
        found = next(((DEFAULT, e) for e in entries if not e["department_id"] and not e["role"]), None)
    if found is None:
        return None
    by, e = found
    return HoldingCap(e["max_held"], e["max_locked"], bool(e["count_deals"]), by,
                      e["department_id"] if by == DEPARTMENT else e["role"] if by == ROLE else None)


def check_holding_cap(cap: HoldingCap | None, held: int, user_id: str) -> None:
    """``held``: what the user owns now (as ``cap.count_deals`` counts); receiving one more must
    stay within ``cap.max_held``."""
    if cap is None or cap.max_held is None or held < cap.max_held:
        return
    deals = "" if cap.count_deals else " (deal customers not counted)"
    raise LimitExceeded(
        f"Limit holding_cap reached: user {user_id} owns {held} customers{deals}, the most {cap.what} allows "
        f"({cap.max_held}).", {"limit": HOLDING_CAP, "max": cap.max_held, "current": held})


def check_locked_cap(cap: HoldingCap | None, locked: int, user_id: str) -> None:
    """``locked``: the user's locked customers now; locking one more must stay within ``max_locked``."""
    if cap is None or cap.max_locked is None or locked < cap.max_locked:
        return
    raise LimitExceeded(
        f"Limit locked_cap reached: user {user_id} has {locked} locked customers, the most {cap.what} allows "
        f"({cap.max_locked}).", {"limit": LOCKED_CAP, "max": cap.max_locked, "current": locked})
