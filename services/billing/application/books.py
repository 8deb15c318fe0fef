"""A receivable's ``domain.ledger.Book``, loaded from its rows (the receivable, its live plan, its
payments), and the book's figures written back: the receivable's paid, pending and outstanding
amounts and status, each live instalment's share and status. Every use case that moves money goes
through here, so the figures are only ever the book's.

Writing back always touches the receivable (``updated_at``): its version moves on, so two changes
of one receivable's money at once meet there and the later is refused (409, retried), never merged.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.billing.domain import receivables as rules
from services.billing.domain.ledger import Book, Entry, Term
from services.billing.models import Payment, Receivable


def load_book(session, receivable: Receivable) -> Book:
    payments = session.scalars(select(Payment).where(Payment.receivable_id == receivable.id)).all()
    return Book(
        amount=receivable.amount, currency=receivable.currency,
        final=receivable.status if receivable.status in rules.FINAL else None,
        overdue=receivable.overdue_at is not None,
        terms=[Term(i.id, i.number, i.amount, i.due_date, i.overdue_at is not None) for i in receivable.plan],
        entries={p.id: Entry(p.id, p.amount, p.status, p.instalment_id) for p in payments})


def write_back(receivable: Receivable, book: Book, now: dt.datetime) -> bool:
    """The book's figures onto the rows; True when the receivable has just become paid."""
    was = receivable.status
    receivable.paid_amount, receivable.pending_amount = book.paid, book.pending
    receivable.outstanding_amount, receivable.status = book.outstanding, book.status
    settled = receivable.status == rules.PAID and was != rules.PAID
    if settled:
        receivable.settled_at = now
    elif receivable.status != rules.PAID:
        receivable.settled_at = None
    share, statuses = book.allocation(), book.instalment_statuses()
    for instalment in receivable.plan:
        instalment.paid_amount, instalment.status = share[instalment.id], statuses[instalment.id]
    receivable.updated_at = now
    return settled


def figures(receivable: Receivable) -> dict:
    """What a payment's event says of its receivable after it."""
    return {"receivable_paid_amount": receivable.paid_amount,
            "receivable_outstanding_amount": receivable.outstanding_amount,
            "receivable_status": receivable.status}
