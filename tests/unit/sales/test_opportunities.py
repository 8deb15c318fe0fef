"""Opportunities on SQLite (``application.opportunities``, ``opportunity_queries``): create with lines
priced on the server, the stage moves and their history and events, reopen by the owner's manager, the
kanban's running totals inside the data scopes, the lists' views and filters."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from crm_kit.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from services.sales.application import opportunities as opps
from services.sales.application import opportunity_queries as queries
from services.sales.application import products
from services.sales.domain.org import OrgChart, OrgUser
from services.sales.models import Base, Opportunity
from services.sales.models.opportunities import opportunity_stage_totals
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2, MEMBER_SUB

ORG = OrgChart(users={u.id: u for u in (
    OrgUser("admin-1", "admin", "d0"), OrgUser("mgr-1", "manager", "d1"), OrgUser("mgr-2", "manager", "d2"),
    OrgUser("user-1", "member", "d1"), OrgUser("user-2", "member", "d1"), OrgUser("user-3", "member", "d1a"))},
    departments={"d0": None, "d1": "d0", "d1a": "d1", "d2": "d0"})


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def create(db, principal=MEMBER_1, **data):
    return opps.create_opportunity(db.uow(), principal, {"customer_id": "cust-1", "name": "ERP rollout",
                                                         "amount": "1000.00", **data})


def move(db, ident, stage, principal=MEMBER_1, **data):
    return opps.change_opportunity_stage(db.uow(), principal, ident, {"stage": stage, **data})


def events(db, event_type):
    return [json.loads(r.body)["payload"] if isinstance(r.body, str) else r.body["payload"]
            for r in db.outbox(event_type)]


def test_create_starts_in_the_first_stage_of_the_default_pipeline(db):
    got = create(db, expected_close_date="2027-03-31", contact_ids=["ct-1"])
    assert (got["stage"], got["probability"], got["status"], got["amount"]) == ("qualification", 10, "open", "1000.00")
    assert got["owner_id"] == MEMBER_1.user_id and got["department_id"] == "d1" and got["closed_at"] is None
    [created] = events(db, "opportunity_created")
    assert created["id"] == got["id"] and created["customer_id"] == "cust-1" and created["amount"] == "1000.00"
    [entry] = queries.list_opportunity_stages(db.uow(), MEMBER_1, got["id"])["items"]
    assert entry["action"] == "created" and entry["to_stage"] == "qualification"
    with pytest.raises(ValidationFailed) as exc:
        create(db, status="won")
    assert "status" in exc.value.errors
    with pytest.raises(ValidationFailed):
        create(db, stage="won")


def test_lines_are_priced_on_the_server_and_make_the_amount(db):
    product = products.create_product(db.uow(), ADMIN, {"sku": "P-1", "name": "Licence", "unit_price": "333.33"})
    lines = [{"product_id": product["id"], "quantity": "3", "discount_percent": "10"}]
    got = opps.create_opportunity(db.uow(), MEMBER_1, {"customer_id": "c", "name": "Licences", "lines": lines})
    assert got["lines"][0]["unit_price"] == "333.33" and got["lines"][0]["total"] == "899.99"
    assert got["amount"] == "899.99"
    with pytest.raises(ValidationFailed) as exc:
        opps.create_opportunity(db.uow(), MEMBER_1, {"customer_id": "c", "name": "x", "lines": lines, "amount": "1"})
    assert "amount" in exc.value.errors
    with pytest.raises(ValidationFailed):
        opps.create_opportunity(db.uow(), MEMBER_1, {"customer_id": "c", "name": "x", "lines": [
            {"product_id": product["id"], "quantity": "1", "unit_price": "0.01"}]})
    with pytest.raises(ValidationFailed):
        opps.update_opportunity(db.uow(), MEMBER_1, got["id"], {"amount": "5.00"}, 1)
    got = opps.update_opportunity(db.uow(), MEMBER_1, got["id"], {"lines": [
        {"product_id": product["id"], "quantity": "1"}]}, 1)
    assert got["amount"] == "333.33" and got["version"] == 2
    [updated] = events(db, "opportunity_updated")
    assert set(updated["changed"]) == {"amount", "lines"}


def test_moves_history_and_events(db):
    ident = create(db)["id"]
    with pytest.raises(ValidationFailed) as exc:
        move(db, ident, "proposal")
    assert "note" in exc.value.errors
    assert move(db, ident, "negotiation", note="Skipping ahead")["probability"] == 70
    assert move(db, ident, "needs_analysis", note="Back: new stakeholder")["stage"] == "needs_analysis"
    with pytest.raises(ValidationFailed):
        move(db, ident, "lost", lost_reason="Weather")
    lost = move(db, ident, "lost", lost_reason="Price", note="Too dear")
    assert lost["status"] == "lost" and lost["probability"] == 0 and lost["closed_at"] is not None
    with pytest.raises(InvalidState):
        move(db, ident, "proposal", note="again")
    history = queries.list_opportunity_stages(db.uow(), MEMBER_1, ident)["items"]
    assert [(h["action"], h["from_stage"], h["to_stage"], h["note"]) for h in history] == [
        ("created", None, "qualification", None), ("forward", "qualification", "negotiation", "Skipping ahead"),
        ("backward", "negotiation", "needs_analysis", "Back: new stakeholder"),
        ("lost", "needs_analysis", "lost", "Too dear")]
    assert all(h["changed_by"] == MEMBER_1.user_id for h in history[1:])
    changed = events(db, "opportunity_stage_changed")
    assert [(e["from_stage"], e["to_stage"]) for e in changed] == [
        ("qualification", "negotiation"), ("negotiation", "needs_analysis")]
    [lost_event] = events(db, "opportunity_lost")
    assert lost_event["lost_reason"] == "Price" and lost_event["status"] == "lost"


def test_won_records_closed_at_apart_from_the_expected_date(db):
    ident = create(db, expected_close_date="2030-01-01")["id"]
    won = move(db, ident, "won")
    assert won["status"] == "won" and won["probability"] == 100 and won["expected_close_date"] == "2030-01-01"
    assert dt.datetime.fromisoformat(won["closed_at"]).date() == dt.datetime.now(dt.timezone.utc).date()
    [event] = events(db, "opportunity_won")
    assert event["closed_at"] == won["closed_at"]
    with pytest.raises(InvalidState):
        opps.update_opportunity(db.uow(), MEMBER_1, ident, {"name": "x"}, None)


def test_reopen_by_the_owners_manager_or_an_admin(db):
    ident = create(db)["id"]
    move(db, ident, "proposal", note="Demo done")
    move(db, ident, "lost", lost_reason="No budget")
    data = {"note": "Budget found"}
    with pytest.raises(Forbidden):
        opps.reopen_opportunity(db.uow(), MEMBER_1, ORG, ident, data)        # the owner
    with pytest.raises(NotFound):
        opps.reopen_opportunity(db.uow(), MANAGER_D2, ORG, ident, data)      # out of scope
    with pytest.raises(ValidationFailed):
        opps.reopen_opportunity(db.uow(), MANAGER_D1, ORG, ident, {"note": ""})
    got = opps.reopen_opportunity(db.uow(), MANAGER_D1, ORG, ident, data)
    assert (got["status"], got["stage"], got["probability"], got["closed_at"], got["lost_reason"]) == (
        "open", "proposal", 50, None, None)
    with pytest.raises(InvalidState):
        opps.reopen_opportunity(db.uow(), ADMIN, ORG, ident, data)
    move(db, ident, "invalid")
    assert opps.reopen_opportunity(db.uow(), ADMIN, ORG, ident, {"note": "Real", "stage": "negotiation"})[
        "stage"] == "negotiation"
    assert queries.list_opportunity_stages(db.uow(), MEMBER_1, ident)["items"][-1]["action"] == "reopen"


def test_scopes_for_reading_and_writing(db):
    ident = create(db)["id"]
    assert opps.get_opportunity(db.uow(), MANAGER_D1, ident)["id"] == ident
    for principal in (MEMBER_2, MANAGER_D2, MEMBER_SUB):
        with pytest.raises(NotFound):
            opps.get_opportunity(db.uow(), principal, ident)
    opps.set_opportunity_team_member(db.uow(), MEMBER_1, ident, MEMBER_2.user_id, "read")
    assert opps.get_opportunity(db.uow(), MEMBER_2, ident)["id"] == ident
    with pytest.raises(Forbidden):
        move(db, ident, "won", principal=MEMBER_2)


def _columns(kanban):
    return {c["stage"]: (c["count"], [(a["currency"], a["count"], a["amount"]) for a in c["amounts"]])
            for c in kanban["columns"]}


def test_kanban_counts_and_sums_per_stage_and_currency_in_scope(db):
    a = create(db, amount="100.10")["id"]
    create(db, amount="200.20", currency="USD")
    b = create(db, MEMBER_2, amount="50.00")["id"]
    create(db, MANAGER_D2, amount="7.00")
    move(db, a, "proposal", note="Demo")
    lost = create(db, amount="999.00")["id"]
    move(db, lost, "lost", lost_reason="Price")
    admin = _columns(queries.opportunity_kanban(db.uow(), ADMIN, {}))
    assert admin["qualification"] == (3, [("CNY", 2, "57.00"), ("USD", 1, "200.20")])
    assert admin["proposal"] == (1, [("CNY", 1, "100.10")]) and admin["negotiation"] == (0, [])
    assert _columns(queries.opportunity_kanban(db.uow(), MANAGER_D1, {}))["qualification"] == (
        2, [("CNY", 1, "50.00"), ("USD", 1, "200.20")])
    assert _columns(queries.opportunity_kanban(db.uow(), MEMBER_2, {}))["proposal"] == (0, [])
    opps.set_opportunity_team_member(db.uow(), MEMBER_1, a, MEMBER_2.user_id, "read")
    member2 = _columns(queries.opportunity_kanban(db.uow(), MEMBER_2, {}))
    assert member2["proposal"] == (1, [("CNY", 1, "100.10")]) and member2["qualification"][0] == 1
    opps.update_opportunity(db.uow(), MEMBER_2, b, {"amount": "60.00"}, None)
    assert _columns(queries.opportunity_kanban(db.uow(), MEMBER_2, {}))["qualification"] == (1, [("CNY", 1, "60.00")])
    # an owner change by any path through the ORM moves the totals (a handler of another subject)
    with db.session() as session:
        row = session.get(Opportunity, b)
        row.owner_id, row.department_id = MANAGER_D2.user_id, "d2"
        session.commit()
    assert _columns(queries.opportunity_kanban(db.uow(), MEMBER_2, {}))["qualification"] == (0, [])
    assert _columns(queries.opportunity_kanban(db.uow(), MANAGER_D2, {}))["qualification"] == (
        2, [("CNY", 2, "67.00")])
    totals = db.all(Opportunity)
    with db.session() as session:
        stored = session.execute(opportunity_stage_totals.select()).all()
    assert sum(r.opportunity_count for r in stored) == sum(1 for o in totals if o.status == "open")
    assert sum((r.amount for r in stored), Decimal(0)) == sum((o.amount for o in totals if o.status == "open"),
                                                              Decimal(0))
    with pytest.raises(NotFound):
        queries.opportunity_kanban(db.uow(), ADMIN, {"pipeline_id": "nope"})


def test_lists_views_filters_and_pages(db):
    mine = [create(db, expected_close_date=f"2027-0{i}-01")["id"] for i in range(1, 4)]
    other = create(db, MEMBER_2)["id"]
    sub = create(db, MEMBER_SUB)["id"]
    move(db, mine[0], "won")

    def ids(principal, **query):
        return [o["id"] for o in queries.list_opportunities(db.uow(), principal, query)["items"]]

    assert ids(MEMBER_1) == mine[::-1]
    assert ids(MANAGER_D1) == [sub, other, *mine[::-1]]
    assert ids(MANAGER_D1, scope="subordinates") == [sub, other, *mine[::-1]]
    assert ids(MANAGER_D1, scope="mine") == [] and ids(MEMBER_1, scope="subordinates") == []
    assert ids(MANAGER_D1, status="won") == [mine[0]] and ids(MANAGER_D1, owner_id=MEMBER_2.user_id) == [other]
    assert ids(MEMBER_1, expected_close_from="2027-02-01", expected_close_to="2027-03-01") == [mine[2], mine[1]]
    assert ids(MEMBER_1, stage="qualification", status="open") == [mine[2], mine[1]]
    opps.set_opportunity_team_member(db.uow(), MEMBER_1, mine[1], MEMBER_2.user_id, "read")
    assert ids(MEMBER_2, scope="team") == [mine[1]]
    page = queries.list_opportunities(db.uow(), MANAGER_D1, {"limit": 2})
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = queries.list_opportunities(db.uow(), MANAGER_D1, {"limit": 2, "cursor": page["next_cursor"]})
    assert [o["id"] for o in page["items"] + rest["items"]] == ids(MANAGER_D1)[:4]
    assert [o["id"] for o in queries.customer_opportunities(db.uow(), MEMBER_1, "cust-1", 10)["items"]] == [
        mine[2], mine[1]]
