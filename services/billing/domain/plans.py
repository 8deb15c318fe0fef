"""Payment plans (回款计划, seed 004; 分期付款, seed 002): a receivable split into instalments.

Each instalment has an amount, a due date and how many days before it its owner is reminded
(``remind_days_before``); they are numbered 1..n by due date (then as given). **The instalments
always add up to the receivable**: a plan that does not is refused (422), the message stating both
sums and the difference. Setting a plan replaces the live one (its instalments become ``void``);
what was paid is allocated again over the new one (``ledger``).

An instalment's status follows its share of the paid amount (``instalment_status``): ``pending``
(nothing yet), ``partly_paid``, ``paid``, ``overdue`` (the timer found it past its due date not
fully paid; until paid), ``void`` (its plan was replaced, or its receivable written off or closed
before it was paid).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from crm_kit.errors import ValidationFailed

PENDING, PARTLY_PAID, PAID, OVERDUE, VOID = "pending", "partly_paid", "paid", "overdue", "void"
STATUSES = (PENDING, PARTLY_PAID, PAID, OVERDUE, VOID)
OPEN_STATUSES = (PENDING, PARTLY_PAID, OVERDUE)
MAX_INSTALMENTS = 120
DEFAULT_REMIND_DAYS = 3
MAX_REMIND_DAYS = 365


def instalment_status(amount: Decimal, paid: Decimal, overdue: bool, void: bool = False) -> str:
    if paid >= amount:
        return PAID
    if void:
        return VOID
    if overdue:
        return OVERDUE
    return PARTLY_PAID if paid > 0 else PENDING


def numbered(instalments: list[dict], total: Decimal, currency: str = "") -> list[dict]:
    """The instalments of a new plan, checked and numbered: ``[{number, amount, due_date,
    remind_days_before}]`` sorted by due date. ``ValidationFailed`` when there are none, too many,
    an amount is not positive, or they do not add up to ``total`` (stating the difference)."""
    if not instalments:
        raise ValidationFailed.from_messages({"instalments": ["A plan has at least one instalment."]})
    if len(instalments) > MAX_INSTALMENTS:
        raise ValidationFailed.from_messages({"instalments": [f"At most {MAX_INSTALMENTS} instalments."]})
    errors = {f"instalments.{i}.amount": ["Must be greater than 0."]
              for i, item in enumerate(instalments) if Decimal(item["amount"]) <= 0}
    if errors:
        raise ValidationFailed.from_messages(errors)
    check_adds_up([Decimal(item["amount"]) for item in instalments], total, currency)
    order = sorted(range(len(instalments)), key=lambda i: (instalments[i]["due_date"], i))
    return [{"number": n, "amount": Decimal(instalments[i]["amount"]), "due_date": instalments[i]["due_date"],
             "remind_days_before": _remind(instalments[i])} for n, i in enumerate(order, start=1)]


def check_adds_up(amounts: list[Decimal], total: Decimal, currency: str = "") -> None:
    found = sum(amounts, Decimal(0))
    if found == total:
        return
    unit = f" {currency}" if currency else ""
    difference = found - total
    side = "more" if difference > 0 else "less"
    raise ValidationFailed(
        f"The instalments add up to {found}{unit}, the receivable is {total}{unit}: {abs(difference)}{unit} {side}.",
        {"errors": {"instalments": [f"The instalments add up to {found}{unit}, not {total}{unit} "
                                    f"(difference {difference:+}{unit})."]}})


def last_due_date(instalments: list[dict]) -> dt.date:
    return max(item["due_date"] for item in instalments)


def _remind(item: dict) -> int:
    value = item.get("remind_days_before")
    return DEFAULT_REMIND_DAYS if value is None else int(value)
