"""Scenarios of sales' handlers of customers' events: a merge moves the merged customer's contracts,
orders and opportunities to the survivor; an owner change moves the previous owner's open records of
that customer to the new owner -- and no stage or status changes."""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.ids import new_id
from services.sales.application import contracts as contracts_app
from services.sales.application import customer_events as sales_app
from services.sales.application import opportunities as opportunities_app
from services.sales.models import Contract, Opportunity, Order
from tests.contract.support import Consuming, acting_as

PRODUCERS: list = []


def _as(user_id: str) -> Principal:
    return Principal(user_id, "member", "01933b50-1f00-7a00-8000-00000000d000",
                     ("01933b50-1f00-7a00-8000-00000000d000",))


def _records(dbs, customer_id: str, owner: Principal) -> None:
    """What sales holds of a customer: a contract, an open opportunity, a draft and an approved order."""
    db = dbs("sales")
    with acting_as(owner, "req-prepare"):
        contracts_app.create_contract(db.uow(), owner, {"customer_id": customer_id, "name": "Frame",
                                                        "amount": "1000.00"})
        opportunities_app.create_opportunity(db.uow(), owner, {"customer_id": customer_id, "name": "Fleet"})
    with db.session_factory() as session:
        for status in ("draft", "approved"):
            session.add(Order(id=new_id(), number=f"SO-T-{status}", customer_id=customer_id, status=status,
                              owner_id=owner.user_id, department_id=owner.department_id))
        session.commit()


def _rows(dbs, model) -> list:
    with dbs("sales").session_factory() as session:
        return session.query(model).order_by(model.id).all()


def merged_customer_records(dbs, envelope: dict) -> dict:
    _records(dbs, envelope["payload"]["merged_id"], _as("u-sales-1"))
    return envelope


def records_at_the_survivor(dbs, payload: dict) -> None:
    for model in (Contract, Opportunity, Order):
        assert {row.customer_id for row in _rows(dbs, model)} == {payload["survivor_id"]}, model.__tablename__


def previous_owners_records(dbs, envelope: dict) -> dict:
    _records(dbs, envelope["payload"]["customer_id"], _as(envelope["payload"]["previous_owner_id"]))
    dbs("sales").stages_before = {o.id: (o.stage, o.status, o.probability) for o in _rows(dbs, Opportunity)}
    return envelope


def open_records_at_the_new_owner(dbs, payload: dict) -> None:
    new, previous = payload["owner_id"], payload["previous_owner_id"]
    (opportunity,) = _rows(dbs, Opportunity)
    assert (opportunity.owner_id, opportunity.department_id) == (new, payload["department_id"])
    # an owner change never touches a stage (nor a status, nor a probability)
    assert {o.id: (o.stage, o.status, o.probability) for o in _rows(dbs, Opportunity)} == dbs("sales").stages_before
    assert {(o.status, o.owner_id) for o in _rows(dbs, Order)} == {("draft", new), ("approved", previous)}
    assert [c.owner_id for c in _rows(dbs, Contract)] == [previous]           # contracts stay


CONSUMERS = {
    ("customers", "customers_merged", "sales.handle_customers_merged"):
        Consuming(sales_app.record_customers_merged, records_at_the_survivor, prepare=merged_customer_records),
    ("customers", "customer_owner_changed", "sales.handle_customer_owner_changed"):
        Consuming(sales_app.record_customer_owner_changed, open_records_at_the_new_owner,
                  prepare=previous_owners_records),
}
