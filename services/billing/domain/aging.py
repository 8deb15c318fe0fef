"""The receivables aging report (账龄): what is owed, by how long it is overdue, per currency.

The rule
--------
- What is aged is a *due*: an outstanding amount with the date it fell due -- an instalment of a
  payment plan when the receivable has one (each instalment ages from its own due date), else
  the receivable itself. Paid, void and written-off amounts are not owed and are not aged.
- Days overdue on ``as_of`` = ``as_of - due_date`` in whole days. ``0`` or less is **current**
  (not yet due, or due today); then ``1-30``, ``31-60``, ``61-90`` and ``90+``.
- Amounts are summed exactly (Decimal, to the cent, nothing rounded) per currency; currencies are
  never added together. Each currency's buckets add up to its total, and a count of dues goes
  with every bucket.

``as_of`` is the report's day; passing one in the past or the future previews the report as of
that day (what a due's bucket would be), over the dues as they stand now.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from crm_kit.errors import ValidationFailed

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
_LIMITS = ((0, "current"), (30, "1-30"), (60, "31-60"), (90, "61-90"))
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Due:
    """One amount owed: ``outstanding`` in ``currency`` since ``due_date`` (``key`` names it);
    ``count`` > 1: that many dues of one currency and due date, summed (the report counts each)."""
    key: str
    currency: str
    outstanding: Decimal
    due_date: dt.date
    count: int = 1


def days_overdue(due_date: dt.date, as_of: dt.date) -> int:
    return (as_of - due_date).days


def bucket_of(due_date: dt.date, as_of: dt.date) -> str:
    """The aging bucket of a due on ``as_of``."""
    days = days_overdue(due_date, as_of)
    for limit, name in _LIMITS:
        if days <= limit:
            return name
    return "90+"


def _empty() -> dict:
    return {"total": ZERO, "count": 0, "buckets": {b: {"amount": ZERO, "count": 0} for b in BUCKETS}}


def aging(dues: Iterable[Due], as_of: dt.date) -> dict[str, dict]:
    """``{currency: {"total", "count", "buckets": {bucket: {"amount", "count"}}}}``, currencies in
    alphabetical order; a due with nothing outstanding is left out, a negative one refused (it
    would hide a debt behind a credit)."""
    report: dict[str, dict] = {}
    for due in dues:
        amount = Decimal(due.outstanding)
        if amount < 0:
            raise ValidationFailed(f"due {due.key} has a negative outstanding amount ({amount})")
        if amount == 0:
            continue
        row = report.setdefault(due.currency, _empty())
        cell = row["buckets"][bucket_of(due.due_date, as_of)]
        cell["amount"] += amount
        cell["count"] += due.count
        row["total"] += amount
        row["count"] += due.count
    return dict(sorted(report.items()))


def as_rows(report: dict[str, dict]) -> list[dict]:
    """The report as a list (for the API): ``[{"currency", "total", "count", "buckets": [{"bucket",
    "amount", "count"}, ...in BUCKETS order]}]``."""
    return [{"currency": currency, "total": row["total"], "count": row["count"],
             "buckets": [{"bucket": b, **row["buckets"][b]} for b in BUCKETS]} for currency, row in report.items()]
