"""An order's payment plan (回款计划 prepared on the order; seed 004, 分期付款 seed 002): pure rules.

A draft (or rejected) order may carry a plan: instalments ``{amount | percent, due_date | due_days,
remind_days_before?}`` -- each names **either** an ``amount`` (in the order's currency) **or** a
``percent`` of the order's total, and **either** a ``due_date`` **or** ``due_days`` (days after the
order's approval). A percent instalment's amount is the total × percent / 100, rounded half up to
the cent; when the plan covers the total exactly before rounding (percents summing with the fixed
amounts to the whole), the last percent instalment takes the rounding remainder, so ``50% / 50%`` of
``0.01`` still adds up.

**The instalments add up to the order's total**: otherwise 422, ``The instalments add up to 900.00
CNY, the order is 1000.00 CNY: 100.00 CNY less.`` (on ``errors.payment_plan`` the signed difference).
It is checked when the plan is written, and again at submit (the lines, hence the total, may have
changed since). Once approved the plan is frozen with the order and resolved (``resolved``: amounts,
due dates as dates, numbered by due date) into ``order_approved``, where billing makes it the
receivable's live plan.

The plan's status follows the order's (``status_of``): ``prepared`` while draft or pending approval,
``live`` once approved, ``void`` when rejected or cancelled (a rejected order edited and submitted
again prepares it again).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from crm_kit.errors import ValidationFailed

PREPARED, LIVE, VOID = "prepared", "live", "void"
PLAN_STATUSES = (PREPARED, LIVE, VOID)
_BY_ORDER_STATUS = {"draft": PREPARED, "pending_approval": PREPARED, "approved": LIVE,
                    "rejected": VOID, "cancelled": VOID}
MAX_INSTALMENTS = 120
DEFAULT_REMIND_DAYS = 3          # billing's default
MAX_REMIND_DAYS = 365
MAX_DUE_DAYS = 3650
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
FIELD = "payment_plan"


def status_of(order_status: str, plan) -> str | None:
    """The plan's status on an order of ``order_status`` (None: no plan)."""
    if not plan:
        return None
    return _BY_ORDER_STATUS.get(order_status)


def normalized(items: list[dict] | None) -> list[dict] | None:
    """The plan as the order stores it (JSON: decimals as strings, dates ISO), each instalment's
    shape checked: exactly one of ``amount`` / ``percent`` (> 0; a percent at most 100), exactly one
    of ``due_date`` / ``due_days``. ``None`` or ``[]``: no plan."""
    if not items:
        return None
    if len(items) > MAX_INSTALMENTS:
        raise ValidationFailed.from_messages({FIELD: [f"At most {MAX_INSTALMENTS} instalments."]})
    errors: dict[str, list[str]] = {}
    out = []
    for i, item in enumerate(items):
        amount, percent = item.get("amount"), item.get("percent")
        due_date, due_days = item.get("due_date"), item.get("due_days")
        where = f"{FIELD}.{i}"
        if (amount is None) == (percent is None):
            errors[where] = ["Give either an amount or a percent of the order's total."]
        elif amount is not None and Decimal(amount) <= 0:
            errors[f"{where}.amount"] = ["Must be greater than 0."]
        elif percent is not None and not 0 < Decimal(percent) <= HUNDRED:
            errors[f"{where}.percent"] = ["Must be greater than 0 and at most 100."]
        if (due_date is None) == (due_days is None):
            errors.setdefault(where, []).append("Give either a due_date or due_days (after the approval).")
        out.append({
            "amount": None if amount is None else str(Decimal(amount).quantize(CENT)),
            "percent": None if percent is None else str(Decimal(percent).quantize(CENT)),
            "due_date": None if due_date is None else _date(due_date).isoformat(),
            "due_days": None if due_days is None else int(due_days),
            "remind_days_before": DEFAULT_REMIND_DAYS if item.get("remind_days_before") is None
            else int(item["remind_days_before"])})
    if errors:
        raise ValidationFailed.from_messages(errors)
    return out


def amounts(plan: list[dict], total: Decimal) -> list[Decimal]:
    """Each instalment's amount: its own, or its percent of ``total`` (rounded half up; the last
    percent one takes the rounding remainder when the plan covers the total exactly)."""
    total = Decimal(total)
    out = [Decimal(item["amount"]) if item.get("amount") is not None
           else (total * Decimal(item["percent"]) / HUNDRED).quantize(CENT, ROUND_HALF_UP) for item in plan]
    percents = [i for i, item in enumerate(plan) if item.get("amount") is None]
    exact = sum((Decimal(item["amount"]) if item.get("amount") is not None
                 else total * Decimal(item["percent"]) / HUNDRED for item in plan), Decimal(0))
    if percents and exact == total:
        out[percents[-1]] += total - sum(out, Decimal(0))
    return out


def check_adds_up(plan: list[dict] | None, total: Decimal, currency: str = "") -> None:
    """``ValidationFailed`` (422) when the plan's instalments do not add up to the order's total,
    the message stating both sums and the difference."""
    if not plan:
        return
    total = Decimal(total).quantize(CENT)
    found = sum(amounts(plan, total), Decimal(0)).quantize(CENT)
    if found == total:
        return
    unit = f" {currency}" if currency else ""
    difference = found - total
    side = "more" if difference > 0 else "less"
    raise ValidationFailed(
        f"The instalments add up to {found}{unit}, the order is {total}{unit}: {abs(difference)}{unit} {side}.",
        {"errors": {FIELD: [f"The instalments add up to {found}{unit}, not {total}{unit} "
                            f"(difference {difference:+}{unit})."]}})


def adds_up(plan: list[dict] | None, total: Decimal) -> bool:
    """Whether a plan (there is one) adds up to ``total``."""
    if not plan:
        return False
    return sum(amounts(plan, total), Decimal(0)) == Decimal(total)


def resolved(plan: list[dict] | None, total: Decimal, approved_on: dt.date | None) -> list[dict] | None:
    """The plan with amounts and due dates: ``[{number, amount, due_date, remind_days_before}]``,
    numbered 1..n by due date (then as given). ``due_days`` count from ``approved_on``; before the
    approval (None) such a due date is unknown (None, numbered after the dated ones)."""
    if not plan:
        return None
    values = amounts(plan, total)
    rows = []
    for i, item in enumerate(plan):
        if item.get("due_date") is not None:
            due = _date(item["due_date"])
        elif approved_on is not None:
            due = approved_on + dt.timedelta(days=int(item["due_days"]))
        else:
            due = None
        rows.append((due, i, {"amount": values[i], "due_date": due,
                              "remind_days_before": int(item.get("remind_days_before", DEFAULT_REMIND_DAYS))}))
    rows.sort(key=lambda row: (row[0] is None, row[0] or dt.date.min, row[1]))
    return [{"number": n, **row[2]} for n, row in enumerate(rows, start=1)]


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
