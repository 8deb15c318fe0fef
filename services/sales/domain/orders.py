"""The order's state machine (domain.md, Sales; seed 004 订单审批 / 撤回 / 更换负责人) and its
fulfilment and lateness rules: pure tables and functions, no I/O, the time given as ``as_of``.

Statuses: ``draft`` → ``pending_approval`` (submit) → ``approved`` | ``rejected`` (only through
the approval engine's answer); ``withdraw``: pending → ``draft``; a ``rejected`` order may be
edited and submitted again; ``cancelled`` from ``draft`` or ``rejected``, and from ``approved``
only while nothing has been paid (``paid_amount``, kept from billing's events) and nothing shipped.
An approved order is immutable: a change is a new order (``copy``) or a cancellation; the one
field that still changes is the fulfilment's ``promised_date`` (until delivered). Fulfilment
(seed 000) is a phase of an approved order, not a status (consumers count ``approved`` orders):
``to_ship`` → ``shipped`` → ``delivered``, each only once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from crm_kit.errors import InvalidState

DRAFT, PENDING, APPROVED, REJECTED, CANCELLED = "draft", "pending_approval", "approved", "rejected", "cancelled"
STATUSES = (DRAFT, PENDING, APPROVED, REJECTED, CANCELLED)
# phases of an approved order (its fulfilment)
TO_SHIP, SHIPPED, DELIVERED = "to_ship", "shipped", "delivered"
FULFILMENT = (TO_SHIP, SHIPPED, DELIVERED)

# action -> {status it is allowed in: the status it leaves the order in (None: unchanged)}
TRANSITIONS: dict[str, dict[str, str | None]] = {
    "edit": {DRAFT: None, REJECTED: None},
    "submit": {DRAFT: PENDING, REJECTED: PENDING},
    "approve": {PENDING: APPROVED},       # the engine's answer "approved" (or "pending": more steps)
    "reject": {PENDING: REJECTED},
    "withdraw": {PENDING: DRAFT},
    "cancel": {DRAFT: CANCELLED, REJECTED: CANCELLED, APPROVED: CANCELLED},
    "ship": {APPROVED: None},
    "deliver": {APPROVED: None},
    "promise": {DRAFT: None, REJECTED: None, APPROVED: None},   # promised_date
    "copy": {status: None for status in STATUSES},
    "transfer": {status: None for status in STATUSES},
}
# an approved order's phase each fulfilment action needs
PHASE_NEEDED = {"ship": (TO_SHIP,), "deliver": (SHIPPED,), "promise": (TO_SHIP, SHIPPED),
                "cancel": (TO_SHIP,)}
# the fields a PATCH may change, by status (anything else on an approved order: 409)
EDITABLE = ("customer_id", "opportunity_id", "contract_id", "currency", "price_list_id", "discount_percent",
            "lines", "payment_terms", "due_days", "promised_date", "notes", "payment_plan")
FULFILMENT_EDITABLE = ("promised_date",)


def phase(status: str, shipped_at, delivered_at) -> str | None:
    """The fulfilment phase of an approved order (``None`` for any other status)."""
    if status != APPROVED:
        return None
    return DELIVERED if delivered_at else SHIPPED if shipped_at else TO_SHIP


def state_name(status: str, shipped_at=None, delivered_at=None) -> str:
    """What a refusal names as the current state: the status, with the phase of an approved order
    when it is not ``to_ship`` (``approved (shipped)``)."""
    current = phase(status, shipped_at, delivered_at)
    return f"{status} ({current})" if current not in (None, TO_SHIP) else status


def check(action: str, status: str, shipped_at=None, delivered_at=None, paid_amount: Decimal = Decimal(0)) -> str:
    """The status ``action`` leaves the order in; ``InvalidState`` (409, naming the current state)
    when the action is not allowed now."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise InvalidState.for_action("order", action, state_name(status, shipped_at, delivered_at))
    current = phase(status, shipped_at, delivered_at)
    if current is not None and action in PHASE_NEEDED and current not in PHASE_NEEDED[action]:
        raise InvalidState.for_action("order", action, state_name(status, shipped_at, delivered_at))
    if action == "cancel" and status == APPROVED and Decimal(paid_amount or 0) > 0:
        raise InvalidState(
            f"Cannot cancel an order in state 'approved (paid)': {paid_amount} has been paid.",
            {"action": action, "current_state": "approved (paid)"})
    target = allowed[status]
    return status if target is None else target


def allowed_actions(status: str, shipped_at=None, delivered_at=None, paid_amount: Decimal = Decimal(0)) -> list[str]:
    """The actions allowed now (the order's output shows them): those ``check`` lets through. They
    depend on the status, the phase and whether anything is paid only, so each combination is
    worked out once (every order's output shows them)."""
    key = (status, phase(status, shipped_at, delivered_at), Decimal(paid_amount or 0) > 0)
    found = _ALLOWED.get(key)
    if found is None:
        found = _ALLOWED[key] = tuple(_allowed(status, shipped_at, delivered_at, paid_amount))
    return list(found)


_ALLOWED: dict[tuple, tuple[str, ...]] = {}


def _allowed(status: str, shipped_at, delivered_at, paid_amount) -> list[str]:
    out = []
    for action in TRANSITIONS:
        try:
            check(action, status, shipped_at, delivered_at, paid_amount)
        except InvalidState:
            continue
        out.append(action)
    return out


def check_edit(status: str, fields, shipped_at=None, delivered_at=None) -> None:
    """A PATCH of ``fields``: the whole order while draft or rejected; on an approved order only
    ``promised_date`` (until delivered); else 409 naming the state."""
    fields = set(fields)
    if status == APPROVED and fields and fields <= set(FULFILMENT_EDITABLE):
        check("promise", status, shipped_at, delivered_at)
        return
    check("edit", status, shipped_at, delivered_at)


def due_date(approved_on: dt.date | None, due_days: int | None) -> dt.date | None:
    """Payment due ``due_days`` days after approval (none without both)."""
    if approved_on is None or due_days is None:
        return None
    return approved_on + dt.timedelta(days=int(due_days))


def effective_discount_percent(gross: Decimal, total: Decimal, line_discounts=(), order_discount=Decimal(0)) -> Decimal:
    """The discount the approval flows judge: the largest of the order's discount, any line's
    discount, and the whole discount the customer gets (``(gross − total) / gross``, gross being
    the lines at their unit prices), to two places."""
    whole = Decimal(0) if not gross else (Decimal(gross) - Decimal(total)) * 100 / Decimal(gross)
    found = max([Decimal(order_discount or 0), whole, *(Decimal(d or 0) for d in line_discounts)])
    return found.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Lateness:
    """Why an order is late: the rule, and its inputs (recorded in the audit and the event)."""
    rule: str
    promised_date: dt.date
    as_of: dt.datetime
    days_late: int

    def applied(self) -> dict:
        return {"rule": self.rule, "promised_date": self.promised_date.isoformat(),
                "as_of": self.as_of.isoformat(), "days_late": self.days_late}


LATE_RULE = "promised_date_passed"


def lateness(status: str, promised_date: dt.date | None, delivered_at, late_notified_at,
             as_of: dt.datetime) -> Lateness | None:
    """An approved order is late once the (UTC) day after its promised date has begun without a
    delivery; reported once (``late_notified_at``: cleared when a new promised date is set)."""
    if status != APPROVED or promised_date is None or delivered_at is not None or late_notified_at is not None:
        return None
    today = as_of.astimezone(dt.timezone.utc).date()
    if today <= promised_date:
        return None
    return Lateness(LATE_RULE, promised_date, as_of, (today - promised_date).days)
