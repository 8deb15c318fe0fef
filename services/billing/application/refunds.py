"""Refunds: a confirmed payment is never edited; finance in scope (or an admin) reverses it with a
credit entry of its own (numbered ``RF-<year>-<counter>``, with the reason and the reviewer). The
payment becomes ``reversed`` (its amount, date, method... stay as they were), its amount is
outstanding again -- the receivable (a ``paid`` one reopened) and its instalments follow from the
book -- and ``payment_reversed`` is raised."""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.books import figures, load_book, write_back
from services.billing.application.numbers import take_number
from services.billing.application.payments import dump, for_review
from services.billing.domain import payments as rules
from services.billing.domain.numbering import REFUND_PREFIX
from services.billing.events.payments import PAYMENT_REVERSED
from services.billing.models import Refund
from services.billing.schemas.payments import PaymentRefund, RefundOut

_refund, _refund_out = PaymentRefund(), RefundOut()


def refund_payment(uow: UnitOfWork, principal: Principal, payment_id: str, reason=None) -> dict:
    fields = load(_refund, {"reason": reason})
    with uow:
        session = uow.session
        payment, receivable = for_review(session, principal, payment_id, "refund")
        book = load_book(session, receivable)
        book.reverse(payment.id)
        now = utcnow()
        refund = Refund(id=new_id(), number=take_number(session, REFUND_PREFIX, now.date()), payment_id=payment.id,
                        receivable_id=receivable.id, amount=payment.amount, currency=payment.currency,
                        reason=fields["reason"], reviewer_id=principal.user_id, refunded_at=now)
        session.add(refund)
        payment.status, payment.refund_id, payment.updated_at = rules.REVERSED, refund.id, now
        write_back(receivable, book, now)
        uow.audit_action("refund")
        session.flush()
        uow.emit(PAYMENT_REVERSED, payment, **figures(receivable), refund_id=refund.id, refund_number=refund.number,
                 reason=refund.reason, reviewer_id=refund.reviewer_id, refunded_at=now, occurred_at=now)

        def reply() -> dict:
            out = dump(payment)
            out["refund"] = _refund_out.dump(refund)
            return out
        return uow.commit(reply)
