"""Payments (回款): recorded against a receivable (optionally an instalment of its plan) by whoever
may change the receivable, for finance to review; confirmed or rejected by finance in scope (or an
admin), read and listed within the data scopes.

Every figure comes from the receivable's book (``books``): a payment above what is outstanding less
what already awaits review is refused when submitted (``LimitExceeded``: the message states the
outstanding amount), and above what is outstanding when confirmed; confirming updates the
receivable and the instalments and raises ``payment_confirmed`` (and ``receivable_settled`` when it
pays the receivable off).
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause, for_read, for_write, list_in_scope
from services.billing.application.books import figures, load_book, write_back
from services.billing.application.numbers import take_number
from services.billing.domain import payments as rules
from services.billing.domain.numbering import PAYMENT_PREFIX
from services.billing.domain.receivables import money
from services.billing.domain.review import require_another_reviewer, require_review
from services.billing.events.payments import PAYMENT_CONFIRMED, PAYMENT_REJECTED, PAYMENT_SUBMITTED
from services.billing.events.receivables import RECEIVABLE_SETTLED
from services.billing.models import Payment, Receivable
from services.billing.schemas.payments import PaymentCreate, PaymentListQuery, PaymentOut, PaymentReject

SUBJECT = "payment"
_out, _create, _query, _reject = PaymentOut(), PaymentCreate(), PaymentListQuery(), PaymentReject()


def dump(payment: Payment) -> dict:
    return _out.dump(payment)


def submit_payment(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_create, data)
    now = utcnow()
    if fields["paid_at"] > now:
        raise ValidationFailed.from_messages({"paid_at": ["Must not be in the future."]})
    with uow:
        session = uow.session
        receivable = for_write(session, Receivable, fields["receivable_id"], principal, "receivable")
        book = load_book(session, receivable)
        payment_id = new_id()
        book.submit(payment_id, fields["amount"], fields["instalment_id"])
        payment = Payment(
            id=payment_id, number=take_number(session, PAYMENT_PREFIX, now.date()), receivable_id=receivable.id,
            order_id=receivable.order_id, customer_id=receivable.customer_id, instalment_id=fields["instalment_id"],
            owner_id=receivable.owner_id, department_id=receivable.department_id, amount=money(fields["amount"]),
            currency=receivable.currency, paid_at=fields["paid_at"], method=fields["method"], payer=fields["payer"],
            attachment_ref=fields["attachment_ref"], notes=fields["notes"], reviewer_id=fields["reviewer_id"],
            status=rules.PENDING_REVIEW, submitted_by=principal.user_id, version=1, created_at=now, updated_at=now)
        session.add(payment)
        write_back(receivable, book, now)
        uow.audit_action("submit")
        session.flush()
        uow.emit(PAYMENT_SUBMITTED, payment, **figures(receivable), occurred_at=now)
        return uow.commit(lambda: dump(payment))


def for_review(session, principal: Principal, payment_id: str, action: str) -> tuple[Payment, Receivable]:
    payment = for_write(session, Payment, payment_id, principal, SUBJECT)
    require_review(principal, payment.department_id, action, SUBJECT)
    return payment, session.get(Receivable, payment.receivable_id)


def confirm_payment(uow: UnitOfWork, principal: Principal, payment_id: str) -> dict:
    """The money is there (finance in scope, admins): the receivable and its instalments count it."""
    with uow:
        session = uow.session
        payment, receivable = for_review(session, principal, payment_id, "confirm")
        require_another_reviewer(principal, payment.submitted_by, "confirm", SUBJECT)
        book = load_book(session, receivable)
        book.confirm(payment.id)
        now = utcnow()
        payment.status, payment.reviewed_by, payment.reviewed_at = rules.CONFIRMED, principal.user_id, now
        payment.updated_at = now
        settled = write_back(receivable, book, now)
        uow.audit_action("confirm")
        session.flush()
        uow.emit(PAYMENT_CONFIRMED, payment, **figures(receivable), occurred_at=now)
        if settled:
            uow.emit(RECEIVABLE_SETTLED, receivable, occurred_at=now)
        return uow.commit(lambda: dump(payment))


def reject_payment(uow: UnitOfWork, principal: Principal, payment_id: str, reason=None) -> dict:
    """Not received (finance in scope, admins), with the reason: it no longer awaits review."""
    fields = load(_reject, {"reason": reason})
    with uow:
        session = uow.session
        payment, receivable = for_review(session, principal, payment_id, "reject")
        book = load_book(session, receivable)
        book.reject(payment.id)
        now = utcnow()
        payment.status, payment.reviewed_by, payment.reviewed_at = rules.REJECTED, principal.user_id, now
        payment.rejected_reason, payment.updated_at = fields["reason"], now
        write_back(receivable, book, now)
        uow.audit_action("reject")
        session.flush()
        uow.emit(PAYMENT_REJECTED, payment, **figures(receivable), occurred_at=now)
        return uow.commit(lambda: dump(payment))


def get_payment(uow: UnitOfWork, principal: Principal, payment_id: str) -> dict:
    with uow:
        return dump(for_read(uow.session, Payment, payment_id, principal, SUBJECT))


def list_payments(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Payments in scope (finance: its departments'), newest first; filters: status, receivable,
    order, customer, reviewer."""
    return list_in_scope(uow, principal, Payment, load(_query, query or {}),
                         ("status", "receivable_id", "order_id", "customer_id", "reviewer_id"), dump)


def payment_history(uow: UnitOfWork, principal: Principal, payment_id: str, query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Payment, payment_id, SUBJECT, query,
                                finance_clause(Payment, principal))
