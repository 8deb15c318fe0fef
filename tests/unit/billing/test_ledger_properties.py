"""Money never drifts (issue 13, item 7): over random receivables, plans and sequences of payments --
submitted, confirmed, rejected, reversed by refunds, re-planned, and every action delivered twice
(a redelivered event, a retried request) -- the receivable and its plan agree to the cent and
nothing goes negative. Driven on the domain (``domain.ledger.Book``), as every use case is.

After each step:
- paid = the confirmed payments; outstanding = amount − paid, never below 0, never above amount;
- the instalments' shares add up to paid, each between 0 and its amount; the plan adds up to the amount;
- pending + paid never passes the amount (the overpayment refusal holds even across submissions);
- the status is the one the money says;
- a refused action (a wrong state, an overpayment) changes nothing, and a repeated one is refused.
"""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_kit.errors import CrmError
from services.billing.domain import payments as pay
from services.billing.domain import plans
from services.billing.domain import receivables as rec
from services.billing.domain.ledger import Book, Term

CENT = Decimal("0.01")


def _split(total_cents: int, cuts: list[int]) -> list[Decimal]:
    """``total_cents`` split at the (distinct) cut points: positive parts adding up to it."""
    points = sorted({c for c in cuts if 0 < c < total_cents})
    bounds = [0, *points, total_cents]
    return [Decimal(b - a) * CENT for a, b in zip(bounds, bounds[1:])]


amounts = st.integers(min_value=1, max_value=10_000_000)          # cents: up to 100,000.00
actions = st.lists(st.tuples(
    st.sampled_from(["submit", "submit_to", "confirm", "reject", "refund", "replan", "overdue"]),
    st.integers(min_value=0, max_value=40),                            # which payment / instalment
    st.integers(min_value=1, max_value=10_000_000),                    # an amount, in cents
    st.lists(st.integers(min_value=1, max_value=10_000_000), max_size=5),   # a new plan's cuts
    st.booleans()),                                                    # delivered twice
    min_size=1, max_size=40)


def _terms(book_amount: Decimal, cuts: list[int], revision: int) -> list[Term]:
    parts = _split(int(book_amount / CENT), cuts)
    return [Term(f"r{revision}-i{n}", n, part, dt.date(2026, 1, 1) + dt.timedelta(days=30 * n))
            for n, part in enumerate(parts, start=1)]


def _apply(book: Book, action, ids: list[str], revision: list[int]) -> None:
    kind, which, cents, cuts, _ = action
    amount = Decimal(cents) * CENT
    if kind in ("submit", "submit_to"):
        terms = sorted(book.terms, key=lambda t: t.number)
        instalment = terms[which % len(terms)].id if kind == "submit_to" and terms else None
        payment_id = f"p{len(ids):03d}"
        book.submit(payment_id, min(amount, book.outstanding - book.pending) if which % 3 else amount, instalment)
        ids.append(payment_id)
    elif kind in ("confirm", "reject", "refund") and ids:
        payment_id = ids[which % len(ids)]
        {"confirm": book.confirm, "reject": book.reject, "refund": book.reverse}[kind](payment_id)
    elif kind == "replan":
        revision[0] += 1
        book.replan(_terms(book.amount, cuts, revision[0]))
    elif kind == "overdue":
        book.mark_overdue()


def _state(book: Book):
    return (book.final, book.overdue, [(t.id, t.amount, t.overdue) for t in book.terms],
            {k: (e.amount, e.status, e.instalment_id) for k, e in book.entries.items()})


def _check(book: Book) -> None:
    paid = sum((e.amount for e in book.entries.values() if e.status == pay.CONFIRMED), Decimal(0))
    assert book.paid == paid
    assert Decimal(0) <= book.paid <= book.amount
    assert Decimal(0) <= book.outstanding == book.amount - book.paid
    assert book.pending >= 0 and book.paid + book.pending <= book.amount
    if book.terms:
        assert sum(t.amount for t in book.terms) == book.amount
        share = book.allocation()
        assert sum(share.values()) == book.paid
        for term in book.terms:
            assert Decimal(0) <= share[term.id] <= term.amount
        statuses = book.instalment_statuses()
        for term in book.terms:
            if share[term.id] == term.amount:
                assert statuses[term.id] == plans.PAID
            elif share[term.id] > 0 and not term.overdue:
                assert statuses[term.id] == plans.PARTLY_PAID
    assert book.status == rec.status_of(book.amount, book.paid, book.overdue, book.final)
    for value in (book.paid, book.pending, book.outstanding, *book.allocation().values()):
        assert value == value.quantize(CENT)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=amounts, cuts=st.lists(st.integers(min_value=1, max_value=10_000_000), max_size=6), steps=actions)
def test_the_receivable_and_its_plan_agree_to_the_cent(amount, cuts, steps):
    book = Book(Decimal(amount) * CENT, "CNY")
    revision = [1]
    if cuts:
        book.replan(_terms(book.amount, cuts, 1))
    ids: list[str] = []
    for action in steps:
        applied = []
        for delivery in range(2 if action[4] else 1):
            before = _state(book)
            try:
                _apply(book, action, ids, revision)
            except CrmError:
                assert _state(book) == before, f"a refused {action[0]} changed the book"
                applied.append(False)
            else:
                applied.append(_state(book) != before)
            _check(book)
        if action[0] in ("confirm", "reject", "refund"):
            assert applied != [True, True], f"{action[0]} applied twice"


@settings(max_examples=100, deadline=None)
@given(amount=amounts, cents=st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=15))
def test_confirmed_payments_never_pass_the_amount_whatever_the_order(amount, cents):
    """Submit as many as fit, confirm them in reverse order, refund every other one, confirm again."""
    book = Book(Decimal(amount) * CENT, "CNY")
    accepted = []
    for n, c in enumerate(cents):
        try:
            book.submit(f"p{n:03d}", Decimal(c) * CENT)
            accepted.append(f"p{n:03d}")
        except CrmError:
            pass
        _check(book)
    for payment_id in reversed(accepted):
        book.confirm(payment_id)
        _check(book)
    for payment_id in accepted[::2]:
        book.reverse(payment_id)
        _check(book)
    assert book.outstanding == book.amount - sum(book.entries[p].amount for p in accepted[1::2])
    snapshot = copy.deepcopy(_state(book))
    for payment_id in accepted:
        try:
            book.confirm(payment_id)            # confirmed or reversed already: refused
        except CrmError:
            pass
    assert _state(book) == snapshot
