"""The timers' rules: a receivable or an instalment past its due date (``overdue``), an instalment
whose reminder day has come (``reminder``). Pure: the time comes in as ``as_of``; each answer names
the rule that fired and its inputs (``applied()``: recorded in the audit entry and the event).

- a receivable is overdue once the (UTC) day after its due date has begun, or one of its live
  instalments is, while it is ``open`` or ``partially_paid`` (rules ``due_date_passed``,
  ``instalment_overdue``); marked once (``overdue_at``), until paid;
- an instalment is overdue once the day after its due date has begun while not fully paid
  (``instalment_due_date_passed``);
- an instalment's owner is reminded once, from ``remind_days_before`` days before its due date to
  the due date itself, while it is not fully paid (``instalment_due_soon``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.billing.domain import plans
from services.billing.domain import receivables as rec

DUE_DATE_PASSED, INSTALMENT_OVERDUE = "due_date_passed", "instalment_overdue"
INSTALMENT_DUE_DATE_PASSED, INSTALMENT_DUE_SOON = "instalment_due_date_passed", "instalment_due_soon"


def day_of(as_of: dt.datetime) -> dt.date:
    return as_of.astimezone(dt.timezone.utc).date()


@dataclass(frozen=True)
class Fired:
    """A rule that fired, and its inputs."""
    rule: str
    due_date: dt.date
    as_of: dt.datetime
    days: int                      # days overdue (overdue rules) / days until due (the reminder)
    instalment_number: int | None = None

    def applied(self) -> dict:
        out = {"rule": self.rule, "due_date": self.due_date.isoformat(), "as_of": self.as_of.isoformat()}
        out["days_until_due" if self.rule == INSTALMENT_DUE_SOON else "days_overdue"] = self.days
        if self.instalment_number is not None:
            out["instalment_number"] = self.instalment_number
        return out


def instalment_overdue(status: str, due_date: dt.date, number: int, as_of: dt.datetime) -> Fired | None:
    today = day_of(as_of)
    if status not in (plans.PENDING, plans.PARTLY_PAID) or today <= due_date:
        return None
    return Fired(INSTALMENT_DUE_DATE_PASSED, due_date, as_of, (today - due_date).days, number)


def receivable_overdue(status: str, due_date: dt.date | None, as_of: dt.datetime,
                       overdue_instalments: list[Fired] = ()) -> Fired | None:
    """``overdue_instalments``: the live instalments found overdue (now or before), earliest first."""
    if status not in (rec.OPEN, rec.PARTIALLY_PAID):
        return None
    today = day_of(as_of)
    if due_date is not None and today > due_date:
        return Fired(DUE_DATE_PASSED, due_date, as_of, (today - due_date).days)
    if overdue_instalments:
        first = overdue_instalments[0]
        return Fired(INSTALMENT_OVERDUE, first.due_date, as_of, (today - first.due_date).days,
                     first.instalment_number)
    return None


def reminder(status: str, due_date: dt.date, remind_days_before: int, reminded: bool, number: int,
             as_of: dt.datetime) -> Fired | None:
    if reminded or status not in (plans.PENDING, plans.PARTLY_PAID):
        return None
    today = day_of(as_of)
    if not due_date - dt.timedelta(days=int(remind_days_before)) <= today <= due_date:
        return None
    return Fired(INSTALMENT_DUE_SOON, due_date, as_of, (due_date - today).days, number)
