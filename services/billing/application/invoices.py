"""Invoices (发票): requested against a receivable or one of its confirmed payments by whoever may
change the receivable (its owner, managers in scope, finance in scope, admins); reviewed by
**billing's own finance review** -- finance in scope or an admin approves or rejects (with a reason),
issues an approved one (its number ``INV-<year>-<counter>`` and the issue date taken then) and voids
an issued one (with a reason). Sales' approval engine is not used: an invoice is a finance document
of billing's records, reviewed by the role that reviews payments (``domain.review``).

**Never more than the order allows** (``domain.invoices``): the receivable's amount less the invoices
requested, approved or issued (rejected and voided ones free their amount); against a payment, also
the payment's amount less what is invoiced against it. A request above it is 409 ``LimitExceeded``
stating the amount still invoiceable. A request touches its receivable (``updated_at``: its version
moves on), so two requests of one order at once meet there and the later is refused (409), never both
counted against the same room.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import InvalidState, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause, for_read, for_write, list_in_scope
from services.billing.application.numbers import take_number
from services.billing.domain import invoices as rules
from services.billing.domain import payments as payment_rules
from services.billing.domain import receivables as receivable_rules
from services.billing.domain.numbering import INVOICE_PREFIX
from services.billing.domain.review import require_review
from services.billing.events.invoices import INVOICE_ISSUED, INVOICE_REJECTED, INVOICE_REQUESTED, INVOICE_VOIDED
from services.billing.models import Invoice, Payment, Receivable
from services.billing.schemas.invoices import InvoiceCreate, InvoiceListQuery, InvoiceOut, InvoiceReject, InvoiceVoid

SUBJECT = "invoice"
_out, _create, _query = InvoiceOut(), InvoiceCreate(), InvoiceListQuery()
_reject, _void = InvoiceReject(), InvoiceVoid()


def dump(invoice: Invoice) -> dict:
    return _out.dump(invoice)


def _target(session, principal: Principal, fields: dict) -> tuple[Receivable, Payment | None]:
    """The receivable (for write: 404 / 403) and the payment named, which must be confirmed."""
    payment = None
    if fields["payment_id"] is not None:
        payment = for_read(session, Payment, fields["payment_id"], principal, "payment")
        if fields["receivable_id"] not in (None, payment.receivable_id):
            raise ValidationFailed.from_messages({"payment_id": ["Is not a payment of that receivable."]})
        fields["receivable_id"] = payment.receivable_id
    elif fields["receivable_id"] is None:
        raise ValidationFailed.from_messages({"receivable_id": ["A receivable_id or a payment_id is required."]})
    receivable = for_write(session, Receivable, fields["receivable_id"], principal, "receivable")
    if receivable.status == receivable_rules.CLOSED:
        raise InvalidState.for_action("receivable", "invoice", receivable.status)
    if payment is not None and payment.status != payment_rules.CONFIRMED:
        raise InvalidState(f"Only a confirmed payment is invoiced; this one is {payment.status}.",
                           {"action": "invoice", "current_state": payment.status})
    return receivable, payment


def _held(session, receivable_id: str) -> list[dict]:
    rows = session.execute(select(Invoice.id, Invoice.amount, Invoice.status, Invoice.payment_id)
                           .where(Invoice.receivable_id == receivable_id)).all()
    return [{"id": r.id, "amount": r.amount, "status": r.status, "payment_id": r.payment_id} for r in rows]


def request_invoice(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_create, data)
    with uow:
        session = uow.session
        receivable, payment = _target(session, principal, fields)
        checked = rules.check_request(
            fields, receivable.amount, _held(session, receivable.id),
            None if payment is None else {"id": payment.id, "amount": payment.amount}, receivable.currency)
        now = utcnow()
        invoice = Invoice(
            id=new_id(), receivable_id=receivable.id, payment_id=payment.id if payment else None,
            order_id=receivable.order_id, order_number=receivable.order_number, customer_id=receivable.customer_id,
            owner_id=receivable.owner_id, department_id=receivable.department_id, kind=checked["kind"],
            title=checked["title"].strip(), tax_id=(checked["tax_id"] or "").strip() or None,
            buyer_kind=checked["buyer_kind"], buyer_address=checked["buyer_address"],
            buyer_bank_account=checked["buyer_bank_account"], currency=receivable.currency,
            amount=checked["amount"], tax_rate=str(checked["tax_rate"]), tax_amount=checked["tax_amount"],
            net_amount=checked["net_amount"], notes=checked["notes"], status=rules.REQUESTED,
            requested_by=principal.user_id, version=1, created_at=now, updated_at=now)
        session.add(invoice)
        receivable.updated_at = now           # (the version moves on: concurrent requests meet here)
        uow.audit_action("request_invoice")
        session.flush()
        uow.emit(INVOICE_REQUESTED, invoice, occurred_at=now)
        return uow.commit(lambda: dump(invoice))


def _for_review(session, principal: Principal, invoice_id: str, action: str) -> Invoice:
    invoice = for_write(session, Invoice, invoice_id, principal, SUBJECT)
    require_review(principal, invoice.department_id, action, SUBJECT)
    return invoice


def _act(uow: UnitOfWork, principal: Principal, invoice_id: str, action: str, change, event=None) -> dict:
    """Finance's action on an invoice: checked (403 / 409), changed, audited, its event raised."""
    with uow:
        session = uow.session
        invoice = _for_review(session, principal, invoice_id, action)
        status = rules.transition(action, invoice.status)
        now = utcnow()
        change(session, invoice, now)
        invoice.status, invoice.updated_at = status, now
        uow.audit_action(action)
        session.flush()
        if event is not None:
            uow.emit(event, invoice, occurred_at=now)
        return uow.commit(lambda: dump(invoice))


def approve_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str) -> dict:
    def change(session, invoice, now):
        invoice.reviewed_by, invoice.reviewed_at = principal.user_id, now
    return _act(uow, principal, invoice_id, "approve", change)


def reject_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason=None) -> dict:
    fields = load(_reject, {"reason": reason})

    def change(session, invoice, now):
        invoice.reviewed_by, invoice.reviewed_at, invoice.rejected_reason = principal.user_id, now, fields["reason"]
    return _act(uow, principal, invoice_id, "reject", change, INVOICE_REJECTED)


def issue_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str) -> dict:
    """An approved invoice issued: its number and the issue date (today, UTC) are taken now."""
    def change(session, invoice, now):
        invoice.number = take_number(session, INVOICE_PREFIX, now.date())
        invoice.issue_date, invoice.issued_at, invoice.issued_by = now.date(), now, principal.user_id
    return _act(uow, principal, invoice_id, "issue", change, INVOICE_ISSUED)


def void_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason=None) -> dict:
    """An issued invoice voided (红冲), with the reason: its amount may be invoiced again."""
    fields = load(_void, {"reason": reason})

    def change(session, invoice, now):
        invoice.voided_by, invoice.voided_at, invoice.void_reason = principal.user_id, now, fields["reason"]
    return _act(uow, principal, invoice_id, "void", change, INVOICE_VOIDED)


def get_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str) -> dict:
    with uow:
        return dump(for_read(uow.session, Invoice, invoice_id, principal, SUBJECT))


def list_invoices(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Invoices in scope (finance: its departments'), newest first; filters: status, receivable,
    payment, order, customer."""
    return list_in_scope(uow, principal, Invoice, load(_query, query or {}),
                         ("status", "receivable_id", "payment_id", "order_id", "customer_id"), dump)


def invoice_history(uow: UnitOfWork, principal: Principal, invoice_id: str, query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Invoice, invoice_id, SUBJECT, query,
                                finance_clause(Invoice, principal))


