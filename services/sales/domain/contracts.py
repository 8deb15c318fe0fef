"""Contracts (合同): their state machine, their numbers, signing, renewal terms and the rules of
their end (no I/O: the time comes in as ``as_of``).

States: ``draft`` → ``pending_approval`` (submitted to the approval engine) → ``approved`` |
``rejected``; a rejected contract is edited and submitted again (the engine starts it over);
the owner may withdraw a pending one back to ``draft``. An approved contract is ``signed`` once both
signing dates are there (ours and the customer's; they may be recorded one at a time); a signed
contract ``expired`` after its end date (the periodic job). ``void`` (with a reason) from any state
but ``expired`` (and ``void`` itself). Only ``draft`` and ``rejected`` contracts are edited: an
approved one changes only by signing, voiding or a renewal (a new draft linked to it).

The end of a contract (seeds 002, 003: "如果某合同即将到期,企业可以及时提醒相关人员,确保合同的顺利续签"):
:func:`expiring_notice` says when its renewal reminder (``contract_expiring``) is due -- signed, not
reminded yet, and ``as_of`` within ``notice_days`` of its end (inclusive); :func:`expiry` when it
is past its end. Each answers the rule and its inputs, which the use case records in the audit and
the event.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from crm_kit.errors import InvalidState, ValidationFailed

STATUSES = ("draft", "pending_approval", "approved", "rejected", "signed", "expired", "void")
EDITABLE = ("draft", "rejected")

# action -> the states it is allowed in
ALLOWED = {
    "update": EDITABLE,
    "submit": EDITABLE,
    "approve": ("pending_approval",),
    "reject": ("pending_approval",),
    "withdraw": ("pending_approval",),
    "sign": ("approved",),
    "expire": ("signed",),
    "void": tuple(s for s in STATUSES if s not in ("expired", "void")),
    "renew": ("signed", "expired"),
}
ACTIONS = tuple(ALLOWED)

NUMBER_PREFIX = "CT"
EXPIRING_RULE = "contract_expiring"
EXPIRED_RULE = "contract_expired"


def check(action: str, status: str) -> None:
    """``InvalidState`` (409, ``current_state``) unless ``action`` is allowed in ``status``."""
    if status not in ALLOWED[action]:
        raise InvalidState.for_action("contract", action, status)


def after_submit(answer: str) -> str:
    """The state after submitting, from the approval engine's answer (``approved``: nothing to approve)."""
    return "approved" if answer == "approved" else "pending_approval"


def after_decision(answer: str) -> str:
    """The state after a decision (the engine's answer: ``pending`` while more steps wait)."""
    return {"approved": "approved", "rejected": "rejected"}.get(answer, "pending_approval")


def after_signing(our_signed_on: dt.date | None, customer_signed_on: dt.date | None) -> str:
    """An approved contract is signed once both sides' signing dates are there."""
    return "signed" if our_signed_on is not None and customer_signed_on is not None else "approved"


def number(year: int, sequence: int) -> str:
    """``CT-2026-000123``: the year's own counter, six digits (more once past 999999)."""
    return f"{NUMBER_PREFIX}-{year}-{sequence:06d}"


def check_period(start_date: dt.date | None, end_date: dt.date | None) -> None:
    """The end is on or after the start (422 on ``end_date``)."""
    if start_date is not None and end_date is not None and end_date < start_date:
        raise ValidationFailed.from_messages({"end_date": ["Must be on or after start_date."]})


def check_signing(our_signed_on: dt.date | None, customer_signed_on: dt.date | None, today: dt.date) -> None:
    """Signing dates are not in the future (``today``: the caller's as-of date, UTC)."""
    errors = {name: ["Must not be in the future."] for name, value in
              (("our_signed_on", our_signed_on), ("customer_signed_on", customer_signed_on))
              if value is not None and value > today}
    if errors:
        raise ValidationFailed.from_messages(errors)


def renewal_period(start_date: dt.date | None, end_date: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """A renewal starts the day after the contract ends and lasts as long (both dates inclusive);
    without an end, the renewal's dates are left for the user."""
    if end_date is None:
        return None, None
    start = end_date + dt.timedelta(days=1)
    if start_date is None:
        return start, None
    return start, start + (end_date - start_date)


@dataclass(frozen=True)
class Rule:
    """An automatic change: which rule fired, with which inputs (JSON-safe)."""
    rule: str
    inputs: dict

    def applied(self) -> dict:
        return {"rule": self.rule, **self.inputs}


def expiring_notice(status: str, end_date: dt.date | None, notified: bool, as_of: dt.date,
                    notice_days: int) -> Rule | None:
    """The renewal reminder is due: a signed contract, not reminded yet, whose end is from ``as_of``
    to ``as_of + notice_days`` (inclusive)."""
    if status != "signed" or end_date is None or notified:
        return None
    days_left = (end_date - as_of).days
    if not 0 <= days_left <= notice_days:
        return None
    return Rule(EXPIRING_RULE, {"end_date": end_date.isoformat(), "as_of": as_of.isoformat(),
                                "notice_days": notice_days, "days_left": days_left})


def expiry(status: str, end_date: dt.date | None, as_of: dt.date) -> Rule | None:
    """A signed contract whose end date is before ``as_of`` has expired."""
    if status != "signed" or end_date is None or end_date >= as_of:
        return None
    return Rule(EXPIRED_RULE, {"end_date": end_date.isoformat(), "as_of": as_of.isoformat()})


def approval_facts(amount: Decimal, currency: str, owner_id: str | None, department_id: str | None,
                   renews: bool) -> dict:
    """What the approval engine chooses a contract's flow by (``kind``: ``renewal`` or ``new``)."""
    return {"amount": amount, "discount_percent": Decimal("0"), "department_id": department_id,
            "owner_id": owner_id, "kind": "renewal" if renews else "new", "currency": currency}
