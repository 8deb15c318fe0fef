"""One receivable's book: its amount, its live plan's instalments and its payments, and every figure
derived from them -- so the receivable and its plan agree to the cent, whatever the order of the
actions (``tests/unit/billing/test_ledger_properties.py`` checks it over random sequences).

- ``paid`` = the confirmed payments (a refunded one is ``reversed``: no longer counted);
  ``pending`` = those awaiting review; ``outstanding`` = amount − paid, never below 0: a payment is
  refused above ``outstanding − pending`` when submitted and above ``outstanding`` when confirmed;
- the instalments' shares (``allocation``): each confirmed payment naming a live instalment goes to
  it first (up to its amount), everything else -- the rest of those and the payments naming no
  instalment -- fills the instalments in number order. So the shares add up to ``paid`` (the plan
  adds up to the amount, and paid never passes it), and a replaced plan, a refund or a late
  confirmation is allocated again from scratch, never patched;
- the statuses (``domain.receivables.status_of``, ``domain.plans.instalment_status``).

The use cases load a ``Book`` from the rows (``application.books``), act on it, and write its
figures back; nothing else computes money.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from crm_kit.errors import ValidationFailed
from services.billing.domain import payments as pay
from services.billing.domain import plans
from services.billing.domain import receivables as rec

ZERO = Decimal("0.00")


@dataclass
class Term:
    """An instalment of the live plan."""
    id: str
    number: int
    amount: Decimal
    due_date: dt.date
    overdue: bool = False          # the timer found it past due (``overdue_at``)


@dataclass
class Entry:
    """A payment, as the book counts it."""
    id: str
    amount: Decimal
    status: str = pay.PENDING_REVIEW
    instalment_id: str | None = None


@dataclass
class Book:
    amount: Decimal
    currency: str = "CNY"
    final: str | None = None        # written_off / closed
    overdue: bool = False           # the timer marked the receivable overdue (``overdue_at``)
    terms: list[Term] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)

    # -- figures -----------------------------------------------------------------------------
    @property
    def paid(self) -> Decimal:
        return sum((e.amount for e in self.entries.values() if e.status in pay.COUNTED), ZERO)

    @property
    def pending(self) -> Decimal:
        return sum((e.amount for e in self.entries.values() if e.status == pay.PENDING_REVIEW), ZERO)

    @property
    def pending_count(self) -> int:
        return sum(1 for e in self.entries.values() if e.status == pay.PENDING_REVIEW)

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.paid, ZERO)

    @property
    def status(self) -> str:
        return rec.status_of(self.amount, self.paid, self.overdue, self.final)

    def allocation(self) -> dict[str, Decimal]:
        """Each live instalment's share of the paid amount (see the module's docstring)."""
        terms = sorted(self.terms, key=lambda t: t.number)
        share = {t.id: ZERO for t in terms}
        size = {t.id: t.amount for t in terms}
        rest = ZERO
        counted = sorted((e for e in self.entries.values() if e.status in pay.COUNTED), key=lambda e: e.id)
        for entry in counted:
            if entry.instalment_id in share:
                take = min(size[entry.instalment_id] - share[entry.instalment_id], entry.amount)
                share[entry.instalment_id] += take
                rest += entry.amount - take
            else:
                rest += entry.amount
        for term in terms:
            take = min(size[term.id] - share[term.id], rest)
            share[term.id] += take
            rest -= take
        return share

    def instalment_statuses(self) -> dict[str, str]:
        share = self.allocation()
        return {t.id: plans.instalment_status(t.amount, share[t.id], t.overdue, void=self.final is not None)
                for t in self.terms}

    # -- actions -------------------------------------------------------------------------------
    def submit(self, entry_id: str, amount: Decimal, instalment_id: str | None = None) -> Entry:
        rec.check("submit_payment", self.status)
        amount = rec.money(amount)
        if amount <= 0:
            raise ValidationFailed.from_messages({"amount": ["Must be greater than 0."]})
        if instalment_id is not None and instalment_id not in {t.id for t in self.terms}:
            raise ValidationFailed.from_messages({"instalment_id": [
                "Not an instalment of this receivable's plan."]})
        pay.check_not_above(amount, self.outstanding, self.pending, self.currency)
        entry = self.entries[entry_id] = Entry(entry_id, amount, pay.PENDING_REVIEW, instalment_id)
        return entry

    def confirm(self, entry_id: str) -> Entry:
        entry = self.entries[entry_id]
        target = pay.check("confirm", entry.status)
        rec.check("confirm_payment", self.status)
        pay.check_not_above(entry.amount, self.outstanding, ZERO, self.currency)
        entry.status = target
        return entry

    def reject(self, entry_id: str) -> Entry:
        entry = self.entries[entry_id]
        entry.status = pay.check("reject", entry.status)
        return entry

    def reverse(self, entry_id: str) -> Entry:
        """A refund: the confirmed payment no longer counts; its amount is outstanding again."""
        entry = self.entries[entry_id]
        target = pay.check("refund", entry.status)
        rec.check("refund", self.status)
        entry.status = target
        return entry

    def replan(self, terms: list[Term]) -> None:
        rec.check("plan", self.status)
        plans.check_adds_up([t.amount for t in terms], self.amount, self.currency)
        self.terms = sorted(terms, key=lambda t: t.number)

    def write_off(self) -> None:
        rec.check_write_off(self.status, self.pending_count)
        self.final = rec.WRITTEN_OFF

    def close(self) -> list[Entry]:
        """The order was cancelled: closed while nothing is paid; the payments awaiting review are
        rejected with it (returned)."""
        rec.check_close(self.status, self.paid)
        self.final = rec.CLOSED
        rejected = [e for e in self.entries.values() if e.status == pay.PENDING_REVIEW]
        for entry in rejected:
            entry.status = pay.REJECTED
        return rejected

    def mark_overdue(self) -> None:
        rec.check("mark_overdue", self.status)
        self.overdue = True
