"""The payment (回款, seed 004) and its review: a salesperson records money received against a
receivable (optionally an instalment), finance confirms it when the money is there or rejects it
with a reason.

Statuses: ``pending_review`` → ``confirmed`` | ``rejected``; a confirmed payment is never edited:
a refund (a credit entry of its own, with reason and reviewer) reverses it, ``confirmed`` →
``reversed``, and its amount is outstanding again. **A payment above what is still to collect is
refused** (the seed's 提示信息: "若创建的回款金额超过待回款金额后,系统会给出相应提示信息"): the
message states the outstanding amount, and what of it already awaits review.
"""
from __future__ import annotations

from decimal import Decimal

from crm_kit.errors import InvalidState, LimitExceeded

PENDING_REVIEW, CONFIRMED, REJECTED, REVERSED = "pending_review", "confirmed", "rejected", "reversed"
STATUSES = (PENDING_REVIEW, CONFIRMED, REJECTED, REVERSED)
METHODS = ("bank_transfer", "cash", "card", "cheque", "other")
COUNTED = (CONFIRMED,)                     # what makes the receivable's paid amount

# action -> {the status it is allowed in: the status it leaves the payment in}
TRANSITIONS: dict[str, dict[str, str]] = {
    "confirm": {PENDING_REVIEW: CONFIRMED},
    "reject": {PENDING_REVIEW: REJECTED},
    "refund": {CONFIRMED: REVERSED},
}


def check(action: str, status: str) -> str:
    """The status ``action`` leaves the payment in; 409 naming the current state otherwise."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise InvalidState.for_action("payment", action, status)
    return allowed[status]


def allowed_actions(status: str) -> list[str]:
    return [action for action, allowed in TRANSITIONS.items() if status in allowed]


def check_not_above(amount: Decimal, outstanding: Decimal, pending: Decimal, currency: str) -> None:
    """A payment may not be above what is outstanding less what already awaits review
    (``LimitExceeded``, 409: ``limit`` ``outstanding_amount``, ``max`` what may still be submitted,
    ``current`` the amount asked). The message states the outstanding amount."""
    available = outstanding - pending
    if amount <= available:
        return
    detail = f"The payment of {amount} {currency} is above the outstanding amount of {outstanding} {currency}"
    if pending > 0:
        detail += (f" ({pending} {currency} of it already awaits review, so at most {max(available, Decimal(0))} "
                   f"{currency} may be submitted)")
    raise LimitExceeded(detail + ".", {"limit": "outstanding_amount", "max": str(max(available, Decimal(0))),
                                       "current": str(amount)})
