"""Invoices on SQLite: requested within what the order (or a payment) allows -- 409 stating the amount
still invoiceable above it --, the tax derived, billing's own finance review (approve, reject, issue
with a number and a date, void freeing the amount), who may do what, their events and history."""
from __future__ import annotations

import pytest

from crm_kit.errors import Forbidden, InvalidState, LimitExceeded, NotFound, ValidationFailed
from services.billing.application import invoices, payments
from tests.unit.billing.support import ADMIN, FINANCE, OTHER_FINANCE, OWNER, events, open_receivable, paid_at

REQUEST = {"kind": "special_vat", "title": "Initech Ltd", "tax_id": "91310000MA1K000000",
           "buyer_address": "1 Bund Rd, Shanghai", "buyer_bank_account": "ICBC 6222 0000", "tax_rate": "13"}


def _request(db, receivable_id, amount, principal=OWNER, **extra):
    return invoices.request_invoice(db.uow(), principal, {**REQUEST, "receivable_id": receivable_id,
                                                          "amount": amount, **extra})


def test_an_invoice_goes_requested_approved_issued_with_a_number_and_its_tax(db):
    receivable = open_receivable(db)                                     # 1000.00 CNY
    invoice = _request(db, receivable["id"], "565.00")
    assert (invoice["status"], invoice["number"], invoice["tax_amount"], invoice["net_amount"]) == (
        "requested", None, "65.00", "500.00")
    assert invoice["allowed_actions"] == ["approve", "reject"] and invoice["currency"] == "CNY"
    with pytest.raises(Forbidden):
        invoices.approve_invoice(db.uow(), OWNER, invoice["id"])         # a member never reviews
    with pytest.raises(NotFound):
        invoices.approve_invoice(db.uow(), OTHER_FINANCE, invoice["id"])  # another department's finance
    with pytest.raises(InvalidState):
        invoices.issue_invoice(db.uow(), FINANCE, invoice["id"])         # not before its approval
    approved = invoices.approve_invoice(db.uow(), FINANCE, invoice["id"])
    assert (approved["status"], approved["reviewed_by"]) == ("approved", FINANCE.user_id)
    issued = invoices.issue_invoice(db.uow(), FINANCE, invoice["id"])
    assert issued["status"] == "issued" and issued["number"].startswith("INV-") and issued["issue_date"]
    second = _request(db, receivable["id"], "100.00")
    invoices.approve_invoice(db.uow(), ADMIN, second["id"])
    number = invoices.issue_invoice(db.uow(), ADMIN, second["id"])["number"]
    assert int(number.rsplit("-", 1)[1]) == int(issued["number"].rsplit("-", 1)[1]) + 1
    [event, _] = sorted(events(db, "invoice_issued"), key=lambda e: e["number"])
    assert (event["number"], event["amount"], event["tax_amount"], event["tax_rate"]) == (
        issued["number"], "565.00", "65.00", "13")
    assert len(events(db, "invoice_requested")) == 2
    history = invoices.invoice_history(db.uow(), FINANCE, invoice["id"], {})["items"]
    assert {"request_invoice", "approve", "issue"} <= {entry["action"] for entry in history}


def test_never_more_than_the_order_allows_and_void_or_reject_frees_the_amount(db):
    receivable = open_receivable(db)
    first = _request(db, receivable["id"], "600.00")
    with pytest.raises(LimitExceeded) as err:
        _request(db, receivable["id"], "400.01")
    assert err.value.public_extra() == {"limit": "invoiceable_amount", "max": "400.00", "current": "400.01"}
    assert "400.00 CNY may be invoiced" in err.value.detail
    rejected = invoices.reject_invoice(db.uow(), FINANCE, _request(db, receivable["id"], "400.00")["id"], "Wrong title")
    assert (rejected["status"], rejected["rejected_reason"]) == ("rejected", "Wrong title")
    assert events(db, "invoice_rejected")[0]["reason"] == "Wrong title"
    invoices.approve_invoice(db.uow(), FINANCE, first["id"])
    invoices.issue_invoice(db.uow(), FINANCE, first["id"])
    with pytest.raises(ValidationFailed):
        invoices.void_invoice(db.uow(), FINANCE, first["id"], " ")       # a reason is required
    with pytest.raises(Forbidden):
        invoices.void_invoice(db.uow(), OWNER, first["id"], "typo")
    voided = invoices.void_invoice(db.uow(), FINANCE, first["id"], "The title was misspelt")
    assert (voided["status"], voided["void_reason"], voided["allowed_actions"]) == ("voided", "The title was misspelt",
                                                                                   [])
    assert events(db, "invoice_voided")[0]["number"] == voided["number"]
    assert _request(db, receivable["id"], "1000.00")["status"] == "requested"     # all of it free again


def test_against_a_payment_only_confirmed_and_within_it(db):
    receivable = open_receivable(db)
    payment = payments.submit_payment(db.uow(), OWNER, {
        "receivable_id": receivable["id"], "amount": "300.00", "paid_at": paid_at(), "method": "cash",
        "reviewer_id": FINANCE.user_id})
    with pytest.raises(InvalidState):
        _request(db, None, "100.00", payment_id=payment["id"])            # awaiting review
    payments.confirm_payment(db.uow(), FINANCE, payment["id"])
    with pytest.raises(LimitExceeded) as err:
        _request(db, None, "300.01", payment_id=payment["id"])
    assert err.value.public_extra()["max"] == "300.00" and "the payment" in err.value.detail
    invoice = _request(db, None, "300.00", payment_id=payment["id"])
    assert (invoice["payment_id"], invoice["receivable_id"]) == (payment["id"], receivable["id"])
    other = open_receivable(db)
    with pytest.raises(ValidationFailed):
        _request(db, other["id"], "1.00", payment_id=payment["id"])       # not that receivable's payment
    with pytest.raises(ValidationFailed):
        _request(db, None, "1.00")                                        # neither named


@pytest.mark.parametrize("principal, outcome", [
    (OWNER, "ok"), (FINANCE, "ok"), (ADMIN, "ok"), (OTHER_FINANCE, "404"),
])
def test_who_may_request_and_read(db, principal, outcome):
    receivable = open_receivable(db)
    if outcome == "404":
        with pytest.raises(NotFound):
            _request(db, receivable["id"], "10.00", principal)
        return
    invoice = _request(db, receivable["id"], "10.00", principal)
    assert invoices.get_invoice(db.uow(), principal, invoice["id"])["id"] == invoice["id"]
    listed = invoices.list_invoices(db.uow(), principal, {"receivable_id": receivable["id"]})["items"]
    assert [i["id"] for i in listed] == [invoice["id"]]
    assert invoices.list_invoices(db.uow(), OTHER_FINANCE, {})["items"] == []


def test_a_general_invoice_for_a_person_needs_no_tax_id(db):
    receivable = open_receivable(db)
    invoice = invoices.request_invoice(db.uow(), OWNER, {
        "receivable_id": receivable["id"], "kind": "electronic", "title": "Li Lei", "buyer_kind": "person",
        "amount": "10.00", "tax_rate": "6"})
    assert (invoice["tax_amount"], invoice["net_amount"], invoice["tax_id"]) == ("0.57", "9.43", None)
    with pytest.raises(ValidationFailed) as err:
        invoices.request_invoice(db.uow(), OWNER, {"receivable_id": receivable["id"], "kind": "general_vat",
                                                   "title": "Initech", "amount": "10.00", "tax_rate": "6"})
    assert "tax_id" in err.value.errors
