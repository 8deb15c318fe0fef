"""Orders' use cases on SQLite (``application.orders``, ``order_approval``): created as numbered
drafts priced on the server, edited while draft or rejected, approved only through the approval
engine, immutable once approved, copied as drafts priced again, cancelled only while nothing is paid,
shipped and delivered, transferred keeping everything; their events."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import update

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.records.db import utcnow
from services.sales.application import approval_flows, order_approval, orders, products
from services.sales.domain.org import OrgChart, OrgUser
from services.sales.models import Base
from services.sales.models.orders import Order
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1, MEMBER_2

ORG = OrgChart(users={u.id: u for u in (OrgUser("admin-1", "admin", "d0"), OrgUser("mgr-1", "manager", "d1"),
                                        OrgUser("mgr-2", "manager", "d2"), OrgUser("user-1", "member", "d1"),
                                        OrgUser("user-2", "member", "d1"))},
               departments={"d0": None, "d1": "d0", "d1a": "d1", "d2": "d0"})
YEAR = utcnow().year
MANAGER_ELSEWHERE = Principal("mgr-2", "manager", "d2", ("d2",))


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


@pytest.fixture
def catalogue(db) -> dict:
    made = {}
    for sku, price, currency in (("PRN", "1999.00", "CNY"), ("INK", "0.35", "CNY"), ("USB", "9.99", "USD")):
        made[sku] = products.create_product(db.uow(), ADMIN, {"sku": sku, "name": f"{sku} product", "unit": "pcs",
                                                              "unit_price": price, "currency": currency})["id"]
    return made


def events(db, name: str) -> list[dict]:
    return [row.body["payload"] for row in db.outbox(name)]


def draft(db, catalogue, principal=MEMBER_1, **data) -> dict:
    body = {"customer_id": "cust-1", "lines": [{"product_id": catalogue["PRN"], "quantity": "2"},
                                               {"product_id": catalogue["INK"], "quantity": "3",
                                                "discount_percent": "50"}], **data}
    return orders.create_order(db.uow(), principal, body)


def approved(db, catalogue, **data) -> dict:
    """Submitted (no flow applies: the engine's default, the owner's manager) and approved by mgr-1."""
    order = draft(db, catalogue, **data)
    assert order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"])["status"] == "pending_approval"
    return order_approval.approve_order(db.uow(), MANAGER_D1, ORG, order["id"], "ok")


def no_step_flow(db) -> None:
    approval_flows.create_approval_flow(db.uow(), ADMIN, ORG, {"name": "Nothing to approve", "subject_kind": "order"})


def set_columns(db, order_id, **values):
    with db.session() as s:
        s.execute(update(Order).where(Order.id == order_id).values(**values))
        s.commit()


# -- create -------------------------------------------------------------------------------------------
def test_a_draft_is_numbered_priced_and_totalled_on_the_server(db, catalogue):
    first = draft(db, catalogue, discount_percent="10", payment_terms="30 days net", due_days=30)
    second = draft(db, catalogue)
    assert first["number"] == f"SO-{YEAR}-000001" and second["number"] == f"SO-{YEAR}-000002"
    assert first["status"] == "draft" and first["owner_id"] == "user-1" and first["department_id"] == "d1"
    assert first["currency"] == "CNY" and first["approval"] is None
    assert [(x["sku"], x["unit_price"], x["line_total"]) for x in first["lines"]] == [
        ("PRN", "1999.00", "3998.00"), ("INK", "0.35", "0.53")]          # 0.525 -> 0.53 (half up)
    assert (first["subtotal"], first["discount_amount"], first["total"]) == ("3998.53", "399.85", "3598.68")
    assert first["allowed_actions"] == ["edit", "submit", "cancel", "promise", "copy", "transfer"]


@pytest.mark.parametrize("line, field", [
    ({"product_id": "P", "quantity": "1", "unit_price": "1.00"}, "lines"),   # a price from the client: refused
    ({"product_id": "P", "quantity": "0"}, "lines"),
    ({"product_id": "P", "quantity": "1.0001"}, "lines"),
    ({"product_id": "P", "quantity": "1", "discount_percent": "101"}, "lines"),
])
def test_lines_refused(db, catalogue, line, field):
    with pytest.raises(ValidationFailed) as exc:
        orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "lines": [line]})
    assert any(key.startswith(field) for key in exc.value.errors)


@pytest.mark.parametrize("data", [{"total": "1.00"}, {"number": "SO-1"}, {"status": "approved"}, {"lines": []}])
def test_server_owned_and_empty_refused(db, catalogue, data):
    with pytest.raises(ValidationFailed):
        orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "lines": [
            {"product_id": catalogue["PRN"], "quantity": "1"}], **data})


def test_one_currency_per_order(db, catalogue):
    with pytest.raises(ValidationFailed) as exc:
        orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "lines": [
            {"product_id": catalogue["PRN"], "quantity": "1"}, {"product_id": catalogue["USB"], "quantity": "1"}]})
    assert "lines" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "currency": "USD", "lines": [
            {"product_id": catalogue["PRN"], "quantity": "1"}]})
    assert "product_id" in exc.value.errors
    usd = orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "lines": [
        {"product_id": catalogue["USB"], "quantity": "3"}]})
    assert usd["currency"] == "USD" and usd["total"] == "29.97"
    with pytest.raises(ValidationFailed):
        orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "lines": [
            {"product_id": "nope", "quantity": "1"}]})


def test_price_list_price(db, catalogue):
    plist = products.create_price_list(db.uow(), ADMIN, {"name": "Dealers", "currency": "CNY"})
    products.set_price_list_prices(db.uow(), ADMIN, plist["id"], {"prices": [
        {"product_id": catalogue["PRN"], "price": "1500.00"}]})
    order = draft(db, catalogue, price_list_id=plist["id"])
    assert [x["unit_price"] for x in order["lines"]] == ["1500.00", "0.35"]
    assert order["lines"][0]["price_list_id"] == plist["id"] and order["lines"][1]["price_list_id"] is None


# -- edit ---------------------------------------------------------------------------------------------
def test_edit_a_draft_prices_again(db, catalogue):
    order = draft(db, catalogue)
    got = orders.update_order(db.uow(), MEMBER_1, order["id"], {
        "lines": [{"product_id": catalogue["INK"], "quantity": "10"}], "discount_percent": "5"}, order["version"])
    assert [x["sku"] for x in got["lines"]] == ["INK"] and got["total"] == "3.32"   # 3.50 - (0.175 -> 0.18)
    assert got["version"] == order["version"] + 1
    with pytest.raises(StaleVersion):
        orders.update_order(db.uow(), MEMBER_1, order["id"], {"notes": "x"}, order["version"])
    with pytest.raises(ValidationFailed):
        orders.update_order(db.uow(), MEMBER_1, order["id"], {"lines": [{"quantity": "1"}]})
    history = orders.order_history(db.uow(), MEMBER_1, order["id"])["items"]
    assert history[0]["changes"]["lines"][1] == ["INK x 10.000 @ 0.35 -0.00% = 3.50"]


def test_an_approved_order_is_immutable_but_its_promised_date(db, catalogue):
    order = approved(db, catalogue)
    assert order["status"] == "approved"
    for data in ({"notes": "changed"}, {"discount_percent": "50"},
                 {"lines": [{"product_id": catalogue["INK"], "quantity": "1"}]},
                 {"promised_date": "2026-05-01", "notes": "x"}):
        with pytest.raises(InvalidState) as exc:
            orders.update_order(db.uow(), MEMBER_1, order["id"], data)
        assert exc.value.extra["current_state"] == "approved" and "approved" in exc.value.detail
    got = orders.update_order(db.uow(), MEMBER_1, order["id"], {"promised_date": "2026-05-01"})
    assert got["promised_date"] == "2026-05-01" and got["total"] == order["total"]


# -- the approval ---------------------------------------------------------------------------------------
def test_a_flow_without_steps_approves_at_once(db, catalogue):
    no_step_flow(db)
    order = draft(db, catalogue, due_days=30, payment_terms="30 days net")
    order = order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"])
    assert order["status"] == "approved" and order["approval"]["state"] == "approved"
    assert order["due_date"] == (dt.date.fromisoformat(order["approved_at"][:10]) + dt.timedelta(30)).isoformat()
    [submitted] = events(db, "order_submitted")
    assert submitted["approval_state"] == "approved" and submitted["number"] == order["number"]
    [done] = events(db, "order_approved")
    assert done["total"] == order["total"] and done["currency"] == "CNY" and done["payment_terms"] == "30 days net"
    assert done["due_date"] == order["due_date"] and [x["sku"] for x in done["lines"]] == ["PRN", "INK"]
    assert done["subtotal"] == order["subtotal"] and done["discount_amount"] == order["discount_amount"]


def test_named_approver_decides(db, catalogue):
    order = draft(db, catalogue)
    with pytest.raises(InvalidState):                         # no approval without a submission
        order_approval.approve_order(db.uow(), MANAGER_D1, ORG, order["id"])
    got = order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"], "mgr-1")
    assert got["status"] == "pending_approval" and got["approval"]["state"] == "pending"
    with pytest.raises(InvalidState):
        orders.update_order(db.uow(), MEMBER_1, order["id"], {"notes": "x"})
    with pytest.raises(InvalidState):
        order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"], "mgr-1")
    with pytest.raises(Forbidden):                            # the owner does not approve their own order
        order_approval.approve_order(db.uow(), MEMBER_1, ORG, order["id"])
    got = order_approval.approve_order(db.uow(), MANAGER_D1, ORG, order["id"], "ok")
    assert got["status"] == "approved" and got["approved_at"] is not None
    assert len(events(db, "order_approved")) == 1


def test_an_approver_outside_the_scope_decides_others_get_404(db, catalogue):
    order = draft(db, catalogue)
    order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"], "mgr-2")   # manager of d2: out of scope
    with pytest.raises(NotFound):
        order_approval.approve_order(db.uow(), MEMBER_2, ORG, order["id"])
    with pytest.raises(NotFound):
        orders.get_order(db.uow(), MANAGER_ELSEWHERE, order["id"])
    got = order_approval.approve_order(db.uow(), MANAGER_ELSEWHERE, ORG, order["id"])
    assert got["status"] == "approved"


def test_rejected_edited_and_resubmitted(db, catalogue):
    order = draft(db, catalogue)
    order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"], "mgr-1")
    with pytest.raises(ValidationFailed):
        order_approval.reject_order(db.uow(), MANAGER_D1, ORG, order["id"], " ")
    got = order_approval.reject_order(db.uow(), MANAGER_D1, ORG, order["id"], "Discount too deep")
    assert got["status"] == "rejected" and got["rejected_reason"] == "Discount too deep"
    assert events(db, "order_rejected")[0]["reason"] == "Discount too deep"
    got = orders.update_order(db.uow(), MEMBER_1, order["id"], {"discount_percent": "0"})
    assert got["status"] == "rejected"
    got = order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"], "mgr-1")
    assert got["status"] == "pending_approval" and got["approval"]["round"] == 2 and got["rejected_reason"] is None


def test_withdraw(db, catalogue):
    order = draft(db, catalogue)
    with pytest.raises(InvalidState):
        order_approval.withdraw_order(db.uow(), MEMBER_1, order["id"])
    order_approval.submit_order(db.uow(), MEMBER_1, ORG, order["id"], "mgr-1")
    got = order_approval.withdraw_order(db.uow(), MEMBER_1, order["id"])
    assert got["status"] == "draft" and got["approval"]["state"] == "withdrawn"
    with pytest.raises(InvalidState):
        order_approval.approve_order(db.uow(), MANAGER_D1, ORG, order["id"])


def test_a_flow_chosen_by_amount(db, catalogue):
    approval_flows.create_approval_flow(db.uow(), ADMIN, ORG, {
        "name": "Big orders", "subject_kind": "order", "min_amount": "1000.00",
        "steps": [{"approver": "managers", "levels": 1}]})
    approval_flows.create_approval_flow(db.uow(), ADMIN, ORG, {
        "name": "Small orders", "subject_kind": "order", "max_amount": "1000.00"})      # no steps
    small = orders.create_order(db.uow(), MEMBER_1, {"customer_id": "c", "lines": [
        {"product_id": catalogue["INK"], "quantity": "1"}]})
    assert order_approval.submit_order(db.uow(), MEMBER_1, ORG, small["id"])["status"] == "approved"
    big = draft(db, catalogue)
    got = order_approval.submit_order(db.uow(), MEMBER_1, ORG, big["id"])
    assert got["status"] == "pending_approval" and got["approval"]["flow_name"] == "Big orders"
    assert got["approval"]["steps"][0]["approver_ids"] == ["mgr-1"]


# -- copy, transfer, cancel ------------------------------------------------------------------------------
def test_copy_is_a_draft_priced_again(db, catalogue):
    source = approved(db, catalogue, discount_percent="10")
    products.update_product(db.uow(), ADMIN, catalogue["PRN"], {"unit_price": "2100.00"})
    copy = orders.copy_order(db.uow(), MEMBER_1, source["id"])
    assert copy["status"] == "draft" and copy["id"] != source["id"] and copy["number"] != source["number"]
    assert copy["copied_from_id"] == source["id"] and copy["approved_at"] is None and copy["approval"] is None
    assert copy["lines"][0]["unit_price"] == "2100.00" and copy["discount_percent"] == "10.00"
    assert orders.get_order(db.uow(), MEMBER_1, source["id"])["status"] == "approved"


def test_transfer_keeps_everything(db, catalogue):
    order = approved(db, catalogue, promised_date="2030-01-01")
    got = orders.transfer_order(db.uow(), MANAGER_D1, order["id"], "user-2", "d1")
    assert got["owner_id"] == "user-2" and got["status"] == "approved"
    for key in ("number", "total", "lines", "approved_at", "promised_date", "created_by"):
        assert got[key] == order[key]
    assert events(db, "order_owner_changed")[0]["previous_owner_id"] == "user-1"
    with pytest.raises(NotFound):
        orders.get_order(db.uow(), MEMBER_1, order["id"])
    assert orders.get_order(db.uow(), MEMBER_2, order["id"])["owner_id"] == "user-2"


def test_cancel(db, catalogue):
    order = approved(db, catalogue)
    with pytest.raises(ValidationFailed):
        orders.cancel_order(db.uow(), MEMBER_1, order["id"], "")
    set_columns(db, order["id"], paid_amount=Decimal("1.00"))
    with pytest.raises(InvalidState) as exc:
        orders.cancel_order(db.uow(), MEMBER_1, order["id"], "Customer withdrew")
    assert exc.value.extra["current_state"] == "approved (paid)"
    set_columns(db, order["id"], paid_amount=Decimal("0.00"))
    got = orders.cancel_order(db.uow(), MEMBER_1, order["id"], "Customer withdrew")
    assert got["status"] == "cancelled" and got["cancelled_reason"] == "Customer withdrew"
    [event] = events(db, "order_cancelled")
    assert event["previous_status"] == "approved" and event["reason"] == "Customer withdrew"
    with pytest.raises(InvalidState):
        orders.cancel_order(db.uow(), MEMBER_1, order["id"], "again")


# -- fulfilment --------------------------------------------------------------------------------------------
def test_ship_deliver_and_to_ship(db, catalogue):
    order = approved(db, catalogue)
    waiting = draft(db, catalogue)
    assert [o["id"] for o in orders.list_orders_to_ship(db.uow(), MEMBER_1)["items"]] == [order["id"]]
    with pytest.raises(InvalidState):
        orders.ship_order(db.uow(), MEMBER_1, waiting["id"])
    with pytest.raises(InvalidState):
        orders.deliver_order(db.uow(), MEMBER_1, order["id"])
    with pytest.raises(ValidationFailed):
        orders.ship_order(db.uow(), MEMBER_1, order["id"], "2000-01-01T00:00:00Z")
    got = orders.ship_order(db.uow(), MEMBER_1, order["id"])
    assert got["fulfilment"] == "shipped" and got["allowed_actions"] == ["deliver", "promise", "copy", "transfer"]
    assert orders.list_orders_to_ship(db.uow(), MEMBER_1)["items"] == []
    with pytest.raises(InvalidState):
        orders.cancel_order(db.uow(), MEMBER_1, order["id"], "too late")
    got = orders.deliver_order(db.uow(), MEMBER_1, order["id"])
    assert got["fulfilment"] == "delivered" and got["delivered_at"] >= got["shipped_at"]
    assert len(events(db, "order_shipped")) == 1 and len(events(db, "order_delivered")) == 1
    with pytest.raises(InvalidState):
        orders.update_order(db.uow(), MEMBER_1, order["id"], {"promised_date": "2030-01-01"})


# -- lists and scopes ----------------------------------------------------------------------------------------
def test_list_filters_and_pages(db, catalogue):
    mine = [draft(db, catalogue)["id"] for _ in range(3)]
    other = draft(db, catalogue, principal=MEMBER_2, customer_id="cust-2")["id"]
    approved_id = approved(db, catalogue)["id"]
    ids = lambda p, **q: [o["id"] for o in orders.list_orders(db.uow(), p, q)["items"]]   # noqa: E731
    assert ids(MEMBER_1) == [approved_id, *reversed(mine)]
    assert ids(MEMBER_2) == [other]
    assert set(ids(MANAGER_D1)) == set(ids(ADMIN)) == {*mine, other, approved_id}
    assert ids(ADMIN, customer_id="cust-2") == [other]
    assert ids(ADMIN, status="approved") == [approved_id]
    assert ids(ADMIN, owner_id="user-2") == [other]
    assert ids(ADMIN, created_from="2000-01-01T00:00:00Z", created_to="2000-01-02T00:00:00Z") == []
    page = orders.list_orders(db.uow(), ADMIN, {"limit": 3})
    rest = orders.list_orders(db.uow(), ADMIN, {"limit": 3, "cursor": page["next_cursor"]})
    assert len(page["items"]) == 3 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    with pytest.raises(ValidationFailed):
        orders.list_orders(db.uow(), ADMIN, {"status": "shipped"})


WRITES = {
    "update": lambda db, p, oid: orders.update_order(db.uow(), p, oid, {"notes": "x"}),
    "submit": lambda db, p, oid: order_approval.submit_order(db.uow(), p, ORG, oid),
    "withdraw": lambda db, p, oid: order_approval.withdraw_order(db.uow(), p, oid),
    "cancel": lambda db, p, oid: orders.cancel_order(db.uow(), p, oid, "no"),
    "transfer": lambda db, p, oid: orders.transfer_order(db.uow(), p, oid, "user-2", "d1"),
    "ship": lambda db, p, oid: orders.ship_order(db.uow(), p, oid),
    "deliver": lambda db, p, oid: orders.deliver_order(db.uow(), p, oid),
    "copy": lambda db, p, oid: orders.copy_order(db.uow(), p, oid),
    "get": lambda db, p, oid: orders.get_order(db.uow(), p, oid),
    "history": lambda db, p, oid: orders.order_history(db.uow(), p, oid),
    "team": lambda db, p, oid: orders.list_order_team(db.uow(), p, oid),
    "approve": lambda db, p, oid: order_approval.approve_order(db.uow(), p, ORG, oid),
    "reject": lambda db, p, oid: order_approval.reject_order(db.uow(), p, ORG, oid, "no"),
}


@pytest.mark.parametrize("action", WRITES)
@pytest.mark.parametrize("principal", [MEMBER_2, MANAGER_ELSEWHERE])
def test_out_of_scope_is_404_on_every_route(db, catalogue, action, principal):
    order = draft(db, catalogue)
    with pytest.raises(NotFound):
        WRITES[action](db, principal, order["id"])


@pytest.mark.parametrize("action", ["update", "cancel", "transfer", "submit"])
def test_a_read_team_member_may_see_but_not_change(db, catalogue, action):
    order = draft(db, catalogue)
    orders.set_order_team_member(db.uow(), MEMBER_1, order["id"], "user-2", "read")
    assert orders.get_order(db.uow(), MEMBER_2, order["id"])["id"] == order["id"]
    with pytest.raises(Forbidden):
        WRITES[action](db, MEMBER_2, order["id"])


@pytest.mark.parametrize("principal", [MANAGER_D1, ADMIN])
def test_managers_and_admins_act_on_their_scope(db, catalogue, principal):
    order = draft(db, catalogue)
    assert orders.update_order(db.uow(), principal, order["id"], {"notes": "checked"})["notes"] == "checked"
    assert orders.cancel_order(db.uow(), principal, order["id"], "dup")["status"] == "cancelled"
