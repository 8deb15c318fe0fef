"""Merging a duplicate customer into the one that stays (``application.merge_customers``), with
nothing lost: contacts, follow-ups, tags, team, owner history, business entries; the merged id's 404
names the survivor; ``customers_merged`` delivered to leads' handler repoints its converted leads;
and who may merge (domain.md: changing both customers, as a delete does)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.context import principal_var
from crm_kit.errors import Forbidden, NotFound, ValidationFailed
from services.customers import application as app
from services.customers.models import Base, CustomerMerge
from services.leads import application as leads_app
from services.leads.events import CustomerConvertedFromLead, CustomersMerged
from services.leads.models import Base as LeadsBase
from services.leads.models import Lead
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2, MEMBER_SUB

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def customer(db, principal, name, **fields) -> dict:
    return app.create_customer(db.uow(), principal, {"name": name, **fields})


def pair(db):
    """The survivor (user-1's) and its duplicate (user-2's), each with contacts, a follow-up, tags and
    a team member."""
    survivor = customer(db, MEMBER_1, "Keller Logistik GmbH", tags=["vip", "logistics"], industry="Logistics",
                        contacts=[{"name": "Maria Keller", "phone": "+49 30 1111111"}])
    duplicate = customer(db, MEMBER_2, "Keller Logistik", tags=["logistics", "berlin"], region="Berlin",
                         mobile="+86 138 0013 8000", industry="Transport",
                         contacts=[{"name": "Jonas Keller", "phone": "+49 30 2222222", "is_primary": True},
                                   {"name": "Lena Keller", "phone": "+49 30 3333333"}])
    app.add_customer_follow_up(db.uow(), MEMBER_1, survivor["id"], {"kind": "call", "content": "Intro call"})
    app.add_customer_follow_up(db.uow(), MEMBER_2, duplicate["id"], {
        "kind": "visit", "content": "Visited the depot", "next_contact_at": "2030-01-10T09:00:00+00:00"})
    app.set_customer_team_member(db.uow(), MEMBER_2, duplicate["id"], MEMBER_SUB.user_id, "read")
    return survivor, duplicate


def test_nothing_of_the_duplicate_is_lost(db):
    survivor, duplicate = pair(db)
    result = app.merge_customers(db.uow(), MANAGER_D1, survivor["id"], duplicate["id"])

    after = result["customer"]
    assert after["id"] == survivor["id"] and after["name"] == "Keller Logistik GmbH"
    assert after["owner_id"] == MEMBER_1.user_id                       # the survivor's owner stays
    assert after["industry"] == "Logistics"                            # its own fields win
    assert (after["region"], after["mobile"]) == ("Berlin", "+86 138 0013 8000")   # its blanks are filled
    assert sorted(after["tags"]) == ["berlin", "logistics", "vip"]
    contacts = {c["name"]: c for c in app.list_contacts_of(db.uow(), ADMIN, survivor["id"])["items"]}
    assert set(contacts) == {"Maria Keller", "Jonas Keller", "Lena Keller"}
    assert [n for n, c in contacts.items() if c["is_primary"]] == ["Maria Keller"]    # one primary: the survivor's
    assert {c["id"] for c in duplicate["contacts"]} <= {c["id"] for c in contacts.values()}   # same ids
    follow_ups = app.list_customer_follow_ups(db.uow(), ADMIN, survivor["id"], {})["items"]
    assert sorted(f["content"] for f in follow_ups) == ["Intro call", "Visited the depot"]
    assert after["next_contact_at"].startswith("2030-01-10")          # the soonest next contact
    team = {m["user_id"]: m["access"] for m in app.list_customer_team(db.uow(), ADMIN, survivor["id"])["items"]}
    assert team == {MEMBER_2.user_id: "read_write", MEMBER_SUB.user_id: "read"}   # its owner keeps working on it
    owners = app.list_customer_owners(db.uow(), ADMIN, survivor["id"])["items"]
    assert [(o["owner_id"], o["end_kind"]) for o in sorted(owners, key=lambda o: o["from"])] == [
        (MEMBER_1.user_id, None), (MEMBER_2.user_id, "merge")]
    moved = result["merge"]["moved"]
    assert (moved["contacts"], moved["follow_ups"], moved["tags"], moved["team_members"], moved["owner_history"]) == (
        2, 1, 1, 2, 1)
    assert result["merge"]["merged_id"] == duplicate["id"] and result["merge"]["merged_by"] == MANAGER_D1.user_id


def test_the_merged_id_answers_404_naming_the_survivor(db):
    survivor, duplicate = pair(db)
    app.merge_customers(db.uow(), ADMIN, survivor["id"], duplicate["id"])
    with pytest.raises(NotFound) as err:
        app.get_customer(db.uow(), MEMBER_1, duplicate["id"])
    assert err.value.extra["merged_into"] == survivor["id"] and survivor["id"] in err.value.detail
    with pytest.raises(NotFound) as err:                       # to whoever cannot see the survivor: a plain 404
        app.get_customer(db.uow(), MANAGER_D2, duplicate["id"])
    assert "merged_into" not in err.value.extra and survivor["id"] not in err.value.detail
    with pytest.raises(NotFound) as err:                       # merging it again
        app.merge_customers(db.uow(), ADMIN, survivor["id"], duplicate["id"])
    assert err.value.extra["merged_into"] == survivor["id"]


def test_the_merge_is_recorded_and_told(db):
    survivor, duplicate = pair(db)
    app.merge_customers(db.uow(), ADMIN, survivor["id"], duplicate["id"])
    (event,) = db.outbox("customers_merged")
    payload = event.body["payload"]
    assert (payload["survivor_id"], payload["merged_id"]) == (survivor["id"], duplicate["id"])
    assert sorted(payload["contact_ids"]) == sorted(c["id"] for c in duplicate["contacts"])
    (updated,) = [r for r in db.outbox("customer_updated") if r.body["payload"]["customer_id"] == survivor["id"]]
    assert {"tags", "region", "mobile"} <= set(updated.body["payload"]["changed"])
    assert db.count(CustomerMerge) == 1
    entry = app.customer_history(db.uow(), ADMIN, survivor["id"], {})["items"][0]
    assert entry["action"] == "merge" and entry["changes"]["merged_id"] == [None, duplicate["id"]]


def test_a_chain_of_merges_names_the_last_survivor(db):
    a, b, c = (customer(db, ADMIN, name)["id"] for name in ("Alpha", "Beta", "Gamma"))
    app.merge_customers(db.uow(), ADMIN, b, a)
    app.merge_customers(db.uow(), ADMIN, c, b)
    for gone in (a, b):
        with pytest.raises(NotFound) as err:
            app.get_customer(db.uow(), ADMIN, gone)
        assert err.value.extra["merged_into"] == c


def test_the_business_and_the_deal_move_to_the_survivor(db):
    survivor, duplicate = customer(db, ADMIN, "Survivor")["id"], customer(db, ADMIN, "Duplicate")["id"]
    app.apply_business_fact(db.uow(), {"kind": "order", "ref_id": "ord-1", "customer_id": duplicate,
                                       "status": "approved", "amount": "800.00", "occurred_at": T0.isoformat()})
    app.apply_business_fact(db.uow(), {"kind": "payment", "ref_id": "pay-1", "customer_id": survivor,
                                       "status": "confirmed", "amount": "300.00", "occurred_at": T0.isoformat()})
    after = app.merge_customers(db.uow(), ADMIN, survivor, duplicate)["customer"]
    deal = app.customer_overview(db.uow(), ADMIN, survivor)["deal"]
    assert deal["deal_status"] == "deal" and deal["deal_at"].startswith("2024-12-02T09:00")
    assert deal["summary"] == {"opportunity_total": "0.00", "order_total": "800.00", "paid_total": "300.00",
                               "outstanding": "500.00"}
    assert after["deal_status"] == "deal"


def test_merge_across_leads_repoints_the_converted_leads(db, make_db):
    """customers' ``customers_merged``, delivered to leads' handler as the kit delivers it."""
    leads = make_db(LeadsBase, "leads")
    survivor, duplicate = pair(db)
    lead = leads_app.create_lead(leads.uow(), MEMBER_2, {"name": "Jonas Keller", "company": "Keller Logistik",
                                                         "phone": "+49 30 2222222", "source": "trade_show"})
    leads_app.convert_lead(leads.uow(), MEMBER_2, lead["id"], {})
    leads.handle(leads_app.record_conversion, {"event_id": "ccfl-1", "actor": MEMBER_2.user_id, "payload": {
        "lead_id": lead["id"], "customer_id": duplicate["id"], "contact_id": duplicate["contacts"][0]["id"]}},
        CustomerConvertedFromLead, "leads.handle_customer_converted_from_lead")

    token = principal_var.set(ADMIN)                           # the caller, as the kit sets it: the event's actor
    try:
        app.merge_customers(db.uow(), ADMIN, survivor["id"], duplicate["id"])
    finally:
        principal_var.reset(token)
    (event,) = db.outbox("customers_merged")
    envelope = event.body
    leads.handle(leads_app.record_customers_merged, envelope, CustomersMerged, "leads.handle_customers_merged")

    with leads.session() as s:
        stored = s.get(Lead, lead["id"])
        assert (stored.customer_id, stored.contact_id) == (survivor["id"], duplicate["contacts"][0]["id"])
    contacts = {c["id"] for c in app.list_contacts_of(db.uow(), ADMIN, survivor["id"])["items"]}
    assert stored.contact_id in contacts                       # the lead's contact is the survivor's now
    entry = leads_app.lead_history(leads.uow(), ADMIN, lead["id"], {})["items"][0]
    assert (entry["action"], entry["actor_id"]) == ("customers_merged", ADMIN.user_id)


# -- who may merge: whoever may change both customers (domain.md: writing; a merge deletes one) -------
def _shared(db, access):
    """user-1's customer, and user-2's duplicate shared with user-1 as ``access`` (None: not at all)."""
    survivor = customer(db, MEMBER_1, "Mine")["id"]
    duplicate = customer(db, MEMBER_2, "Theirs")["id"]
    if access:
        app.set_customer_team_member(db.uow(), MEMBER_2, duplicate, MEMBER_1.user_id, access)
    return survivor, duplicate


@pytest.mark.parametrize("principal, access, outcome", [
    (ADMIN, None, "merged"),
    (MANAGER_D1, None, "merged"),                    # both owned in their department
    (MANAGER_D2, None, NotFound),                    # neither in their scope
    (MEMBER_1, None, NotFound),                      # cannot see the duplicate
    (MEMBER_1, "read", Forbidden),                   # may see it, not change it
    (MEMBER_1, "read_write", "merged"),              # may change both
    (MEMBER_SUB, None, NotFound),
], ids=lambda v: getattr(v, "user_id", None) or getattr(v, "__name__", None) or str(v))
def test_who_may_merge(db, principal, access, outcome):
    survivor, duplicate = _shared(db, access)
    if outcome == "merged":
        assert app.merge_customers(db.uow(), principal, survivor, duplicate)["merge"]["merged_id"] == duplicate
        return
    with pytest.raises(outcome):
        app.merge_customers(db.uow(), principal, survivor, duplicate)
    assert db.count(CustomerMerge) == 0 and not db.outbox("customers_merged")
    assert app.get_customer(db.uow(), ADMIN, duplicate)["id"] == duplicate


def test_merging_into_a_customer_one_may_only_see_is_forbidden(db):
    survivor, duplicate = customer(db, MEMBER_2, "Theirs")["id"], customer(db, MEMBER_1, "Mine")["id"]
    app.set_customer_team_member(db.uow(), MEMBER_2, survivor, MEMBER_1.user_id, "read")
    with pytest.raises(Forbidden):
        app.merge_customers(db.uow(), MEMBER_1, survivor, duplicate)


@pytest.mark.parametrize("duplicate_id", [None, "", 7, "x" * 37])
def test_a_bad_duplicate_id_is_refused(db, duplicate_id):
    survivor = customer(db, ADMIN, "One")["id"]
    with pytest.raises(ValidationFailed) as err:
        app.merge_customers(db.uow(), ADMIN, survivor, duplicate_id)
    assert "duplicate_id" in err.value.errors


def test_a_customer_cannot_be_merged_into_itself(db):
    survivor = customer(db, ADMIN, "One")["id"]
    with pytest.raises(ValidationFailed) as err:
        app.merge_customers(db.uow(), ADMIN, survivor, survivor)
    assert "duplicate_id" in err.value.errors
