"""Sales reacts to customers' events: a merge moves every record naming the merged customer to the
survivor (idempotent, whatever the order of the merges, and records created later), and an owner
change moves the open records the previous owner held -- never a stage or a status."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.ids import new_id
from services.sales import models
from services.sales.application import contracts as contracts_app
from services.sales.application import customer_events as app
from services.sales.events.consumed_customers import CustomerOwnerChanged, CustomersMerged
from services.sales.models import Base, Contract, Order, Quote, TargetCollection

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MEMBER = Principal("u-old", "member", "d1", ("d1",))
_ids = itertools.count(1)


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def add(db, model, **values) -> str:
    row_id = new_id()
    extra = {"number": f"N-{next(_ids)}"}
    if model is Quote:
        extra.update(opportunity_id="opp-1", valid_until=dt.date(2025, 12, 31))
    if model is Contract:
        extra.update(name="Framework", amount=0)
    with db.session() as s:
        s.add(model(id=row_id, **extra, **values))
        s.commit()
    return row_id


def merge(db, survivor, merged, event_id=None):
    envelope = {"event_id": event_id or new_id(), "actor": "u-admin", "payload": {
        "survivor_id": survivor, "merged_id": merged, "contact_ids": [], "merged_at": T0.isoformat()}}
    return db.handle(app.record_customers_merged, envelope, CustomersMerged, "sales.handle_customers_merged")


def owner_changed(db, customer, previous, owner, department="d2", at=T0, event_id=None):
    envelope = {"event_id": event_id or new_id(), "actor": "u-admin", "payload": {
        "customer_id": customer, "owner_id": owner, "department_id": department, "previous_owner_id": previous,
        "pool_id": None, "kind": "transfer", "reason": None, "changed_at": at.isoformat()}}
    return db.handle(app.record_customer_owner_changed, envelope, CustomerOwnerChanged,
                     "sales.handle_customer_owner_changed")


def customer_of(db, model, row_id):
    with db.session() as s:
        return s.get(model, row_id).customer_id


def test_every_table_holding_a_customer_id_is_covered():
    names = {m.__tablename__ for m in app.holders()}
    assert {"contracts", "orders", "quotes", "target_collections"} <= names
    if getattr(models, "Opportunity", None) is not None:
        assert "opportunities" in names
    assert "sales_customer_refs" not in names


def test_a_merge_moves_every_record(db):
    rows = [(Order, add(db, Order, customer_id="A", status="approved")), (Quote, add(db, Quote, customer_id="A")),
            (Contract, add(db, Contract, customer_id="A", status="signed"))]
    kept = add(db, Order, customer_id="X")
    with db.session() as s:
        s.add(TargetCollection(payment_id="p-1", customer_id="A", amount=1, currency="CNY", status="confirmed",
                               collected_at=T0, occurred_at=T0))
        s.commit()
    assert merge(db, "B", "A", event_id="ev-1") == {"contracts": 1, "orders": 1, "quotes": 1, "target_collections": 1}
    assert [customer_of(db, m, i) for m, i in rows] == ["B", "B", "B"]
    assert customer_of(db, Order, kept) == "X"
    assert merge(db, "B", "A") == {}                      # again (another delivery): nothing left to move
    audit = db.metadata.tables["audit_log"]
    with db.session() as s:
        entries = s.execute(select(audit).where(audit.c.entity_id == rows[0][1])).all()
    assert [(e.action, e.actor_id, e.changes) for e in entries] == [
        ("customers_merged", "u-admin", {"customer_id": ["A", "B"]})]
    # a record created afterwards naming the merged customer names the survivor
    made = contracts_app.create_contract(db.uow(), MEMBER, {"customer_id": "A", "name": "Late", "amount": "1.00"})
    assert made["customer_id"] == "B"


@pytest.mark.parametrize("order", [("A->B", "B->C"), ("B->C", "A->B")])
def test_chains_of_merges_in_either_order(db, order):
    a, b = add(db, Order, customer_id="A"), add(db, Order, customer_id="B")
    for step in order:
        merged, survivor = step.split("->")
        merge(db, survivor, merged)
    assert (customer_of(db, Order, a), customer_of(db, Order, b)) == ("C", "C")
    with db.session() as s:
        assert app.current_customer_id(s, "A") == "C"


def test_an_owner_change_moves_the_open_records_only(db):
    moving = {Order: add(db, Order, customer_id="C1", owner_id="u-old", department_id="d1", status="draft"),
              Quote: add(db, Quote, customer_id="C1", owner_id="u-old", department_id="d1",
                         status="pending_approval")}
    staying = [(Order, add(db, Order, customer_id="C1", owner_id="u-old", department_id="d1", status="approved")),
               (Quote, add(db, Quote, customer_id="C1", owner_id="u-old", department_id="d1", status="accepted")),
               (Order, add(db, Order, customer_id="C1", owner_id="u-other", department_id="d1", status="draft")),
               (Order, add(db, Order, customer_id="C2", owner_id="u-old", department_id="d1", status="draft")),
               (Contract, add(db, Contract, customer_id="C1", owner_id="u-old", department_id="d1", status="draft"))]
    before = {(m, i): _state(db, m, i) for m, i in [*moving.items(), *staying]}
    assert owner_changed(db, "C1", "u-old", "u-new", event_id="ev-1") == {"orders": 1, "quotes": 1}
    for model, row_id in moving.items():
        with db.session() as s:
            row = s.get(model, row_id)
            assert (row.owner_id, row.department_id, row.status) == ("u-new", "d2", before[(model, row_id)][2])
    for model, row_id in staying:
        assert _state(db, model, row_id) == before[(model, row_id)]
    audit = db.metadata.tables["audit_log"]
    with db.session() as s:
        (entry,) = s.execute(select(audit).where(audit.c.entity_id == moving[Order])).all()
    assert entry.action == "customer_owner_changed"
    assert entry.changes == {"owner_id": ["u-old", "u-new"], "department_id": ["d1", "d2"]}   # no status
    (event,) = db.outbox("order_owner_changed")
    assert {k: event.body["payload"][k] for k in ("id", "owner_id", "previous_owner_id", "status")} == {
        "id": moving[Order], "owner_id": "u-new", "previous_owner_id": "u-old", "status": "draft"}
    assert owner_changed(db, "C1", "u-old", "u-new") == {}      # again: nothing left


def test_into_a_pool_nothing_moves(db):
    row = add(db, Order, customer_id="C1", owner_id="u-old", status="draft")
    assert owner_changed(db, "C1", "u-old", None, department=None) == {}
    assert _state(db, Order, row)[0] == "u-old"


def test_an_older_owner_change_heard_late_goes_to_the_newest_owner(db):
    row = add(db, Order, customer_id="C1", owner_id="u-a", department_id="d1", status="draft")
    owner_changed(db, "C1", "u-b", "u-c", department="d3", at=T0 + dt.timedelta(hours=1))   # newer, first
    assert _state(db, Order, row)[0] == "u-a"
    owner_changed(db, "C1", "u-a", "u-b", department="d2", at=T0)                             # older, late
    assert _state(db, Order, row)[:2] == ("u-c", "d3")


def _state(db, model, row_id):
    with db.session() as s:
        row = s.get(model, row_id)
        return row.owner_id, row.department_id, row.status, row.customer_id
