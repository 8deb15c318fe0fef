"""A receivable's payment plan (回款计划): read it, or set it -- the new instalments (numbered by due
date, adding up to the receivable: ``domain.plans``) replace the live ones (``void``), what is
paid is allocated again over them (``domain.ledger``), and the receivable is due on the last one.
Its owner (and who may change the receivable: managers in scope, finance in scope, admins) sets it
while the receivable is being collected. A plan prepared on the order in sales arrives with its
``order_approved`` and is made live the same way when the receivable opens (``apply_plan``, from
``application.receivables``; audited with its origin, ``from_order``).
"""
from __future__ import annotations

from decimal import Decimal

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import for_read, for_write
from services.billing.application.books import load_book, write_back
from services.billing.domain import plans as rules
from services.billing.domain.ledger import Term
from services.billing.models import Instalment, Receivable
from services.billing.schemas.receivables import PlanOut, PlanSet

SUBJECT = "receivable"
ZERO = Decimal("0.00")
_out, _set = PlanOut(), PlanSet()


def get_receivable_plan(uow: UnitOfWork, principal: Principal, receivable_id: str) -> dict:
    with uow:
        return _out.dump(for_read(uow.session, Receivable, receivable_id, principal, SUBJECT))


def set_receivable_plan(uow: UnitOfWork, principal: Principal, receivable_id: str, data: dict) -> dict:
    fields = load(_set, data)
    with uow:
        session = uow.session
        receivable = for_write(session, Receivable, receivable_id, principal, SUBJECT)
        items = rules.numbered(fields["instalments"], receivable.amount, receivable.currency)
        apply_plan(session, receivable, items, utcnow())
        uow.audit_action("plan")
        session.flush()
        return uow.commit(lambda: _out.dump(receivable))


def apply_plan(session, receivable: Receivable, items: list[dict], now) -> list[Instalment]:
    """Make ``items`` (``domain.plans.numbered``: checked, numbered) the receivable's live plan: the
    live instalments become ``void``, what is paid is allocated again over the new ones, and the
    receivable is due on the last one. (Setting a plan, and a plan prepared on the order when its
    ``order_approved`` opens the receivable.)"""
    book = load_book(session, receivable)
    revision = receivable.plan_revision + 1
    new = [Instalment(id=new_id(), receivable_id=receivable.id, plan_revision=revision, number=item["number"],
                      amount=item["amount"], paid_amount=ZERO,
                      due_date=item["due_date"], remind_days_before=item["remind_days_before"],
                      status=rules.PENDING, created_at=now) for item in items]
    book.replan([Term(i.id, i.number, i.amount, i.due_date) for i in new])
    for old in receivable.plan:
        old.status = rules.VOID
    receivable.instalments.extend(new)
    receivable.plan_revision = revision
    receivable.due_date = rules.last_due_date(items)
    write_back(receivable, book, now)
    return new
