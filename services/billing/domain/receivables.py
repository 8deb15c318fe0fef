"""The receivable (应收) and its state machine (domain.md, Billing; issue 13).

One receivable per approved order: its amount (the order's total), currency, due date (the payment
terms: the order's ``due_date``, else approval day + ``due_days``; a payment plan's last instalment
once a plan is set), paid (the confirmed payments less the refunded ones), pending (the payments
awaiting review) and outstanding (amount − paid).

Statuses: ``open`` → ``partially_paid`` → ``paid`` follow the money (``status_of``: derived, never
set by hand); ``overdue`` once the overdue timer found it past its due date (or one of its
instalments past its own) while not paid -- it stays overdue, partly paid or not, until paid;
``written_off`` by finance with a reason (what is outstanding is given up); ``closed`` when its
order was cancelled while nothing was paid. ``written_off`` and ``closed`` are final. A refund can
take a ``paid`` receivable back to ``partially_paid`` / ``open`` / ``overdue``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from crm_kit.errors import InvalidState

OPEN, PARTIALLY_PAID, PAID, OVERDUE, WRITTEN_OFF, CLOSED = (
    "open", "partially_paid", "paid", "overdue", "written_off", "closed")
STATUSES = (OPEN, PARTIALLY_PAID, PAID, OVERDUE, WRITTEN_OFF, CLOSED)
FINAL = (WRITTEN_OFF, CLOSED)
UNPAID = (OPEN, PARTIALLY_PAID, OVERDUE)           # what is still being collected
CENT = Decimal("0.01")

# action -> the statuses it is allowed in
ALLOWED: dict[str, tuple[str, ...]] = {
    "submit_payment": UNPAID,
    "confirm_payment": UNPAID,
    "plan": UNPAID,
    "write_off": UNPAID,
    "close": (OPEN, OVERDUE),                        # and nothing paid (``check_close``)
    "mark_overdue": (OPEN, PARTIALLY_PAID),
    "refund": (PARTIALLY_PAID, PAID, OVERDUE, WRITTEN_OFF),
}


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def status_of(amount: Decimal, paid: Decimal, overdue: bool, final: str | None = None) -> str:
    """The status the money says: a final status stays; paid in full is ``paid``; else ``overdue``
    once marked so, else ``partially_paid`` or ``open``."""
    if final in FINAL:
        return final
    if paid >= amount:
        return PAID
    if overdue:
        return OVERDUE
    return PARTIALLY_PAID if paid > 0 else OPEN


def check(action: str, status: str) -> None:
    """``InvalidState`` (409, naming the current state) when ``action`` is not allowed in ``status``."""
    if status not in ALLOWED[action]:
        raise InvalidState.for_action("receivable", action.replace("_", " "), status)


def check_close(status: str, paid: Decimal) -> None:
    """A cancelled order closes its receivable only while nothing is paid."""
    if paid > 0:
        raise InvalidState(f"Cannot close a receivable with {paid} paid: refund the payments first.",
                           {"action": "close", "current_state": f"{status} (paid)"})
    check("close", status)


def check_write_off(status: str, pending_count: int) -> None:
    check("write_off", status)
    if pending_count:
        raise InvalidState(f"Cannot write off a receivable while {pending_count} payment(s) await review: "
                           "confirm or reject them first.",
                           {"action": "write off", "current_state": f"{status} (payments pending review)"})


def terms_due_date(due_date: dt.date | None, approved_at: dt.datetime | None, due_days: int | None) -> dt.date | None:
    """The due date of the payment terms: the order's own, else ``due_days`` after its approval
    (UTC day), else none (a receivable without a due date is never overdue)."""
    if due_date is not None:
        return due_date
    if approved_at is not None and due_days is not None:
        return approved_at.astimezone(dt.timezone.utc).date() + dt.timedelta(days=int(due_days))
    return None


def allowed_actions(status: str, paid: Decimal = Decimal(0)) -> list[str]:
    out = [action for action, states in ALLOWED.items() if status in states and action != "mark_overdue"]
    if paid > 0 and "close" in out:
        out.remove("close")
    return out
