"""The payment plan prepared on an order, through the order's use cases on SQLite: written with the
order (create, PATCH), adding up to its total (422 stating the difference), checked again at submit,
frozen once approved and resolved into ``order_approved``; ``prepared`` → ``live`` | ``void``."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import InvalidState, ValidationFailed
from services.sales.application import order_approval, orders, products
from services.sales.models import Base
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1
from tests.unit.sales.test_orders import ORG, events


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


@pytest.fixture
def catalogue(db) -> dict:
    return {"PRN": products.create_product(db.uow(), ADMIN, {"sku": "PRN", "name": "Printer", "unit": "pcs",
                                                             "unit_price": "1999.00", "currency": "CNY"})["id"]}

PLAN = [{"percent": "25", "due_days": 10, "remind_days_before": 5}, {"amount": "2998.50", "due_date": "2030-06-01"}]


def _draft(db, catalogue, quantity="2", **data) -> dict:       # 2 x 1999.00 = 3998.00
    return orders.create_order(db.uow(), MEMBER_1, {
        "customer_id": "cust-1", "lines": [{"product_id": catalogue["PRN"], "quantity": quantity}], **data})


def test_a_plan_is_prepared_with_the_order_and_must_add_up(db, catalogue):
    with pytest.raises(ValidationFailed) as err:
        _draft(db, catalogue, payment_plan=[{"amount": "3000.00", "due_days": 30}])
    assert err.value.detail == "The instalments add up to 3000.00 CNY, the order is 3998.00 CNY: 998.00 CNY less."
    with pytest.raises(ValidationFailed) as err:
        _draft(db, catalogue, payment_plan=[{"amount": "3000.00", "percent": "10", "due_days": 30}])
    assert "payment_plan.0" in err.value.extra["errors"]
    order = _draft(db, catalogue, payment_plan=PLAN)
    assert order["payment_plan_status"] == "prepared"
    assert order["payment_plan"][0] == {"amount": None, "percent": "25.00", "due_date": None, "due_days": 10,
                                        "remind_days_before": 5}
    assert [(i["number"], i["amount"], i["due_date"]) for i in order["payment_plan_instalments"]] == [
        (1, "2998.50", "2030-06-01"), (2, "999.50", None)]
    # a plan of the wrong sum in a PATCH: 422, nothing changes
    with pytest.raises(ValidationFailed) as err:
        orders.update_order(db.uow(), MEMBER_1, order["id"], {"payment_plan": [{"amount": "1.00", "due_days": 1}]})
    assert "3997.00 CNY less" in err.value.detail
    assert orders.get_order(db.uow(), MEMBER_1, order["id"])["payment_plan"] == order["payment_plan"]
    cleared = orders.update_order(db.uow(), MEMBER_1, order["id"], {"payment_plan": None})
    assert (cleared["payment_plan"], cleared["payment_plan_status"]) == (None, None)


def test_submit_checks_the_plan_again_and_approval_resolves_it(db, catalogue):
    order = _draft(db, catalogue, payment_plan=PLAN)
    # the lines change (3 x 1999.00 = 5997.00): the plan of a fixed amount no longer adds up
    orders.update_order(db.uow(), MEMBER_1, order["id"], {"lines": [{"product_id": catalogue["PRN"], "quantity": "3"}]})
    with pytest.raises(ValidationFailed) as err:
        order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"])
    assert err.value.detail == "The instalments add up to 4497.75 CNY, the order is 5997.00 CNY: 1499.25 CNY less."
    assert orders.get_order(db.uow(), MEMBER_1, order["id"])["status"] == "draft"
    orders.update_order(db.uow(), MEMBER_1, order["id"], {"payment_plan": [
        {"percent": "25", "due_days": 10, "remind_days_before": 5}, {"percent": "75", "due_date": "2030-06-01"}]})
    pending = order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"])
    assert (pending["status"], pending["payment_plan_status"]) == ("pending_approval", "prepared")
    done = order_approval.approve_order(db.uow(), MANAGER_D1, ORG, order["id"], "ok")
    assert (done["status"], done["payment_plan_status"]) == ("approved", "live")
    [approved] = events(db, "order_approved")
    approved_on = done["approved_at"][:10]
    ten_days = (dt.date.fromisoformat(approved_on) + dt.timedelta(days=10)).isoformat()
    assert approved["payment_plan"] == [
        {"number": 1, "amount": "1499.25", "due_date": ten_days, "remind_days_before": 5},
        {"number": 2, "amount": "4497.75", "due_date": "2030-06-01", "remind_days_before": 3}]
    # frozen with the order
    with pytest.raises(InvalidState):
        orders.update_order(db.uow(), MEMBER_1, order["id"], {"payment_plan": None})


def test_rejected_and_cancelled_orders_void_their_plan(db, catalogue):
    order = _draft(db, catalogue, payment_plan=PLAN)
    order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"])
    rejected = order_approval.reject_order(db.uow(), MANAGER_D1, ORG, order["id"], "No")
    assert (rejected["status"], rejected["payment_plan_status"]) == ("rejected", "void")
    # edited and submitted again: prepared again
    again = order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"])
    assert again["payment_plan_status"] == "prepared"
    order_approval.withdraw_order(db.uow(), MEMBER_1, order["id"])
    cancelled = orders.cancel_order(db.uow(), MEMBER_1, order["id"], "Customer withdrew")
    assert (cancelled["status"], cancelled["payment_plan_status"]) == ("cancelled", "void")
    assert events(db, "order_approved") == []


def test_a_copy_keeps_a_plan_that_still_adds_up(db, catalogue):
    percents = _draft(db, catalogue, payment_plan=[{"percent": "100", "due_days": 30}])
    assert orders.copy_order(db.uow(), MEMBER_1, percents["id"])["payment_plan_status"] == "prepared"
    amounts = _draft(db, catalogue, payment_plan=[{"amount": "3998.00", "due_days": 30}])
    copy = orders.copy_order(db.uow(), MEMBER_1, amounts["id"])
    assert copy["payment_plan"] == amounts["payment_plan"]      # same prices: it adds up
