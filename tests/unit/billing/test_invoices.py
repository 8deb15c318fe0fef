"""Invoices' rules as tables (services/billing/domain/invoices.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from crm_kit.errors import InvalidState, LimitExceeded, ValidationFailed
from services.billing.domain import invoices as inv

BASE = {"amount": Decimal("113.00"), "tax_rate": Decimal("13"), "kind": "general_vat", "title": "Acme Ltd",
        "buyer_kind": "company", "tax_id": "91310000MA1K000000"}


@pytest.mark.parametrize("action,status,after", [
    ("approve", "requested", "approved"), ("reject", "requested", "rejected"),
    ("issue", "approved", "issued"), ("void", "issued", "voided"),
])
def test_allowed_transitions(action, status, after):
    assert inv.transition(action, status) == after


@pytest.mark.parametrize("action,status", [
    ("issue", "requested"),         # not without review
    ("approve", "issued"), ("reject", "approved"), ("void", "approved"), ("void", "voided"),
    ("issue", "rejected"), ("approve", "voided"),
])
def test_refused_transitions_name_the_state(action, status):
    with pytest.raises(InvalidState) as err:
        inv.transition(action, status)
    assert status in str(err.value)


@pytest.mark.parametrize("amount,rate,tax,net", [
    ("113.00", "13", "13.00", "100.00"),
    ("100.00", "13", "11.50", "88.50"),          # 11.504... -> 11.50
    ("10.00", "6", "0.57", "9.43"),              # 0.566... -> 0.57
    ("0.05", "9", "0.00", "0.05"),
    ("100.00", "0", "0.00", "100.00"),
])
def test_the_tax_in_a_gross_amount(amount, rate, tax, net):
    assert inv.tax_of(Decimal(amount), Decimal(rate)) == (Decimal(tax), Decimal(net))


def test_a_request_gets_its_tax_and_net():
    checked = inv.check_request(BASE, Decimal("500.00"), [])
    assert (checked["tax_amount"], checked["net_amount"]) == (Decimal("13.00"), Decimal("100.00"))


HELD = [{"id": "i1", "amount": "300.00", "status": "issued", "payment_id": "p1"},
        {"id": "i2", "amount": "100.00", "status": "requested", "payment_id": None},
        {"id": "i3", "amount": "999.00", "status": "rejected", "payment_id": None},   # frees its amount
        {"id": "i4", "amount": "50.00", "status": "voided", "payment_id": "p1"}]      # so does a voided one


@pytest.mark.parametrize("payment,left", [
    (None, Decimal("100.00")),                                        # 500 - (300 + 100)
    ({"id": "p1", "amount": "350.00"}, Decimal("50.00")),             # the payment: 350 - 300
    ({"id": "p2", "amount": "400.00"}, Decimal("100.00")),            # the order's room is smaller
])
def test_what_is_still_available(payment, left):
    assert inv.available(Decimal("500.00"), HELD, payment) == left


def test_more_than_the_order_allows_is_refused_stating_what_is_available():
    with pytest.raises(LimitExceeded) as err:
        inv.check_request({**BASE, "amount": Decimal("100.01")}, Decimal("500.00"), HELD, currency="CNY")
    assert err.value.detail == ("The invoice of 100.01 CNY is above what the order still allows: 100.00 CNY may be "
                                "invoiced (400.00 CNY of its 500.00 CNY already requested or issued).")
    assert err.value.public_extra() == {"limit": "invoiceable_amount", "max": "100.00", "current": "100.01"}
    inv.check_request({**BASE, "amount": Decimal("100.00")}, Decimal("500.00"), HELD)     # exactly what is left


def test_more_than_the_payment_allows_is_refused_stating_it():
    with pytest.raises(LimitExceeded) as err:
        inv.check_request({**BASE, "amount": Decimal("60.00")}, Decimal("500.00"), HELD,
                          {"id": "p1", "amount": "350.00"}, "CNY")
    assert "what the payment still allows: 50.00 CNY may be invoiced" in err.value.detail
    assert err.value.public_extra()["max"] == "50.00"


@pytest.mark.parametrize("status,actions", [
    ("requested", ["approve", "reject"]), ("approved", ["issue"]), ("issued", ["void"]),
    ("rejected", []), ("voided", []),
])
def test_allowed_actions(status, actions):
    assert inv.allowed_actions(status) == actions


@pytest.mark.parametrize("change,field", [
    ({"amount": Decimal("0")}, "amount"),
    ({"tax_rate": Decimal("17")}, "tax_rate"),
    ({"kind": "receipt"}, "kind"),
    ({"title": "  "}, "title"),
    ({"tax_id": ""}, "tax_id"),                                       # a company buyer
    ({"kind": "special_vat", "buyer_address": "Shanghai"}, "buyer_bank_account"),
    ({"kind": "special_vat", "buyer_kind": "person", "tax_id": None}, "tax_id"),
])
def test_invalid_requests_name_the_field(change, field):
    with pytest.raises(ValidationFailed) as err:
        inv.check_request({**BASE, **change}, Decimal("500.00"), [])
    assert field in err.value.errors


def test_a_person_needs_no_tax_id_on_a_general_invoice():
    inv.check_request({**BASE, "buyer_kind": "person", "tax_id": None}, Decimal("500.00"), [])
