"""Scenarios of the billing service: receivables opened by sales' ``order_approved`` and closed by its
``order_cancelled``, a plan, payments submitted, confirmed, rejected and refunded (the receivable
settled and reopened), the overdue and the reminder timers, invoices (requested, rejected, issued,
voided) and the dunning run; and its handlers of customers' merges
and owner changes (receivables follow the survivor, and the new owner while being collected)."""
from __future__ import annotations

import datetime as dt

from crm_kit.context import Principal
from services.billing.application import (
    customer_events,
    dunning,
    invoices,
    overdue,
    payments,
    plans,
    receivables,
    refunds,
    reminders,
)
from services.billing.events.consumed_orders import OrderApproved
from services.billing.models import Payment, Receivable
from tests.contract.support import ADMIN, Consuming, Producing, acting_as

FINANCE = Principal("01933b50-1f00-7a00-8000-00000000a009", "finance", "01933b50-1f00-7a00-8000-00000000d001",
                    ("01933b50-1f00-7a00-8000-00000000d001",))
PREVIOUS_OWNER = "01933b50-1f00-7a00-8000-00000000a001"
PAID_AT = "2026-03-10T00:00:00+00:00"


def _open(dbs, order_id: str, **payload) -> str:
    db = dbs("billing")
    body = {"id": order_id, "number": "SO-2026-000123", "customer_id": "01933b50-1f00-7a00-8000-0000000cc001",
            "owner_id": FINANCE.user_id, "department_id": FINANCE.department_id, "total": "1000.00",
            "currency": "CNY", "approved_at": "2026-03-02T09:00:00+00:00",
            "occurred_at": "2026-03-02T09:00:00+00:00", "due_date": "2026-04-01", **payload}
    return receivables.open_receivable(db.uow(), OrderApproved().load(body))


def _pay(dbs, receivable_id: str, amount: str, instalment_id=None) -> str:
    return payments.submit_payment(dbs("billing").uow(), ADMIN, {
        "receivable_id": receivable_id, "instalment_id": instalment_id, "amount": amount, "paid_at": PAID_AT,
        "method": "bank_transfer", "payer": "Initech", "reviewer_id": FINANCE.user_id})["id"]


def paid_refunded(dbs):
    db = dbs("billing")
    receivable_id = _open(dbs, "01933b50-1f00-7a00-8000-0000000bb001")
    plan = plans.set_receivable_plan(db.uow(), ADMIN, receivable_id, {"instalments": [
        {"amount": "400.00", "due_date": "2026-04-01"}, {"amount": "600.00", "due_date": "2026-05-01"}]})
    first = _pay(dbs, receivable_id, "400.00", plan["instalments"][0]["id"])
    payments.confirm_payment(db.uow(), FINANCE, first)
    rejected = _pay(dbs, receivable_id, "600.00")
    payments.reject_payment(db.uow(), FINANCE, rejected, "Not on the bank statement")
    payments.confirm_payment(db.uow(), FINANCE, _pay(dbs, receivable_id, "600.00"))
    refunds.refund_payment(db.uow(), FINANCE, first, "Paid twice by the customer")


def overdue_and_reminded(dbs):
    db = dbs("billing")
    receivable_id = _open(dbs, "01933b50-1f00-7a00-8000-0000000bb002", due_date="2026-06-01")
    plans.set_receivable_plan(db.uow(), ADMIN, receivable_id, {"instalments": [
        {"amount": "500.00", "due_date": "2026-03-15"}, {"amount": "500.00", "due_date": "2026-06-01"}]})
    reminders.remind_instalments(db.uow(), dt.datetime(2026, 3, 13, 1, tzinfo=dt.timezone.utc))
    overdue.mark_overdue_receivables(db.uow(), dt.datetime(2026, 3, 17, 1, tzinfo=dt.timezone.utc))


def invoiced_and_voided(dbs):
    db = dbs("billing")
    receivable_id = _open(dbs, "01933b50-1f00-7a00-8000-0000000bb003")
    request = {"receivable_id": receivable_id, "kind": "special_vat", "title": "Initech Ltd",
               "tax_id": "91310000MA1K000000", "buyer_address": "1 Bund Rd, Shanghai",
               "buyer_bank_account": "ICBC 6222 0000", "amount": "565.00", "tax_rate": "13"}
    rejected = invoices.request_invoice(db.uow(), ADMIN, request)["id"]
    invoices.reject_invoice(db.uow(), FINANCE, rejected, "Wrong tax id")
    issued = invoices.request_invoice(db.uow(), ADMIN, request)["id"]
    invoices.approve_invoice(db.uow(), FINANCE, issued)
    invoices.issue_invoice(db.uow(), FINANCE, issued)
    invoices.void_invoice(db.uow(), FINANCE, issued, "The buyer's title was misspelt")


def dunned(dbs):
    db = dbs("billing")
    _open(dbs, "01933b50-1f00-7a00-8000-0000000bb004", due_date="2026-04-01")
    dunning.dun_receivables(db.uow(), dt.datetime(2026, 4, 9, 1, tzinfo=dt.timezone.utc))


PRODUCERS = [
    Producing(
        "billing", paid_refunded, frozenset({"receivable_opened", "payment_submitted", "payment_confirmed",
                                             "payment_rejected", "receivable_settled", "payment_reversed"})),
    Producing(
        "billing", overdue_and_reminded, frozenset({"receivable_opened", "instalment_due", "receivable_overdue"})),
    Producing(
        "billing", invoiced_and_voided, frozenset({"receivable_opened", "invoice_requested", "invoice_rejected",
                                                   "invoice_issued", "invoice_voided"})),
    Producing("billing", dunned, frozenset({"receivable_opened", "receivable_dunning"})),
]


def _rows(dbs, model) -> list:
    with dbs("billing").session_factory() as session:
        return session.query(model).order_by(model.id).all()


def receivable_opened(dbs, payload: dict) -> None:
    [receivable] = _rows(dbs, Receivable)
    assert (receivable.order_id, str(receivable.amount), receivable.currency, str(receivable.due_date)) == (
        payload["id"], payload["total"], payload["currency"], payload["due_date"])
    assert (receivable.owner_id, receivable.department_id) == (payload["owner_id"], payload["department_id"])


def approved_first(dbs, envelope: dict) -> dict:
    payload = envelope["payload"]
    with acting_as(ADMIN, "req-prepare"):
        _open(dbs, payload["id"], owner_id=payload["owner_id"], department_id=payload["department_id"])
    return envelope


def receivable_closed(dbs, payload: dict) -> None:
    [receivable] = _rows(dbs, Receivable)
    assert receivable.status == "closed" and payload["reason"] in receivable.closed_reason


def merged_customer_receivable(dbs, envelope: dict) -> dict:
    with acting_as(ADMIN, "req-prepare"):
        receivable_id = _open(dbs, "order-merged", customer_id=envelope["payload"]["merged_id"])
        _pay(dbs, receivable_id, "10.00")
    return envelope


def at_the_survivor(dbs, payload: dict) -> None:
    for model in (Receivable, Payment):
        assert {row.customer_id for row in _rows(dbs, model)} == {payload["survivor_id"]}, model.__tablename__


def previous_owners_receivable(dbs, envelope: dict) -> dict:
    payload = envelope["payload"]
    with acting_as(ADMIN, "req-prepare"):
        _open(dbs, "order-owned", customer_id=payload["customer_id"], owner_id=payload["previous_owner_id"])
    return envelope


def at_the_new_owner(dbs, payload: dict) -> None:
    [receivable] = _rows(dbs, Receivable)
    assert (receivable.owner_id, receivable.department_id, receivable.status) == (
        payload["owner_id"], payload["department_id"], "open")


CONSUMERS = {
    ("sales", "order_approved", "billing.handle_order_approved"):
        Consuming(receivables.open_receivable, receivable_opened),
    ("sales", "order_cancelled", "billing.handle_order_cancelled"):
        Consuming(receivables.close_for_cancelled_order, receivable_closed, prepare=approved_first),
    ("customers", "customers_merged", "billing.handle_customers_merged"):
        Consuming(customer_events.record_customers_merged, at_the_survivor, prepare=merged_customer_receivable),
    ("customers", "customer_owner_changed", "billing.handle_customer_owner_changed"):
        Consuming(customer_events.record_customer_owner_changed, at_the_new_owner,
                  prepare=previous_owners_receivable),
}
