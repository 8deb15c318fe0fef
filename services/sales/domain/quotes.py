"""Quotes (报价): their state machine, validity and the facts the approval engine decides on (no
I/O: the date comes in as ``today``).

States: ``draft`` → ``pending_approval`` (submitted to the approval engine) → ``approved`` |
``rejected``; the owner may withdraw a pending quote back to ``draft``; a rejected quote is edited
and submitted again (the engine starts it over). An approved quote is ``accepted`` by the customer
(it becomes a draft order with its lines), ``declined``, or ``expired`` once ``valid_until`` has
passed (:func:`effective_status`: an approved quote past its date *is* expired for every action and
every answer, before the daily job writes it: :func:`expiry`). Only ``draft`` and ``rejected``
quotes are edited; ``accepted``, ``declined`` and ``expired`` are terminal.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from crm_kit.errors import InvalidState, ValidationFailed

STATUSES = ("draft", "pending_approval", "approved", "rejected", "accepted", "declined", "expired")
EDITABLE = ("draft", "rejected")
TERMINAL = ("accepted", "declined", "expired")
NUMBER_PREFIX = "QT"
DEFAULT_VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 366
CLOSED_OPPORTUNITY_STATUSES = ("lost", "invalid")     # no new quote for them

# action -> the states it is allowed in (the effective status: an approved quote past its date is expired)
ALLOWED = {
    "update": EDITABLE,
    "submit": EDITABLE,
    "approve": ("pending_approval",),
    "reject": ("pending_approval",),
    "withdraw": ("pending_approval",),
    "accept": ("approved",),
    "decline": ("approved",),
    "expire": ("approved",),
}
# action -> the state it leads to (approve/submit: when the engine answers "approved"; see next_status)
AFTER = {
    "withdraw": "draft",
    "reject": "rejected",
    "accept": "accepted",
    "decline": "declined",
    "expire": "expired",
}


def effective_status(status: str, valid_until: dt.date | None, today: dt.date) -> str:
    """``expired`` for an approved quote whose ``valid_until`` is before ``today``, else ``status``."""
    if status == "approved" and valid_until is not None and valid_until < today:
        return "expired"
    return status


def check_action(action: str, status: str) -> None:
    """``InvalidState`` (409, ``current_state``) unless ``action`` is allowed in ``status``."""
    if status not in ALLOWED.get(action, ()):
        raise InvalidState.for_action("quote", action, status)


def next_status(action: str, status: str, engine_answer: str | None = None) -> str:
    """The status after ``action`` from ``status`` (checked), given what the approval engine answered
    for ``submit`` (``approved`` | ``pending``) and ``approve`` (``approved`` | ``pending`` |
    ``rejected``)."""
    check_action(action, status)
    if action == "submit":
        return {"approved": "approved", "pending": "pending_approval"}[engine_answer]
    if action == "approve":
        return {"approved": "approved", "pending": "pending_approval", "rejected": "rejected"}[engine_answer]
    return AFTER[action]


def validity(valid_until: dt.date | None, today: dt.date) -> dt.date:
    """A quote's ``valid_until``: the date given (not before ``today``, at most ``MAX_VALIDITY_DAYS``
    ahead), else ``today`` + ``DEFAULT_VALIDITY_DAYS``."""
    if valid_until is None:
        return today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    if valid_until < today:
        raise ValidationFailed.from_messages({"valid_until": ["Must not be in the past."]})
    if valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        raise ValidationFailed.from_messages({"valid_until": [f"At most {MAX_VALIDITY_DAYS} days ahead."]})
    return valid_until


@dataclass(frozen=True)
class Expiry:
    """Why an approved quote expired: the rule and its inputs (the audit entry records them)."""
    rule: str
    valid_until: dt.date
    as_of: dt.date


def expiry(status: str, valid_until: dt.date | None, as_of: dt.date) -> Expiry | None:
    """The expiry rule: an approved quote whose ``valid_until`` is before ``as_of``."""
    if status == "approved" and valid_until is not None and valid_until < as_of:
        return Expiry("quote_valid_until_passed", valid_until, as_of)
    return None


def effective_discount_percent(gross: Decimal, total: Decimal) -> Decimal:
    """The discount the quote gives over its list prices, in percent (0.01, half up): what the
    approval engine's discount conditions read -- line discounts and the quote's own together."""
    if gross <= 0:
        return Decimal("0.00")
    return ((gross - total) * 100 / gross).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
