"""Customers use cases: reacting to lead_converted, and scoped reads (no broker)."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from crm_kit.errors import NotFound, ValidationFailed
from crm_kit.runtime.events import EnvelopeSchema
from crm_kit.runtime.uow import DuplicateEvent
from services.customers import application as app
from services.customers.events import (
    ContactDeletedPayload,
    CustomerConvertedFromLeadPayload,
    CustomerCreatedPayload,
    CustomerDeletedPayload,
    LeadConverted,
)
from services.customers.models import Base, Contact, Customer
from services.leads import application as leads_app
from services.leads.events import ContactDeleted, CustomerConvertedFromLead, CustomerDeleted
from services.leads.models import Base as LeadsBase
from services.leads.models import Lead
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2

HANDLER = "customers.handle_lead_converted"


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


@pytest.fixture
def leads_db(make_db):
    return make_db(LeadsBase, "leads")


def converted(leads_db, principal=MEMBER_1, opportunity=None, **lead):
    """Create and convert a real lead; return the lead_converted envelope leads put in its outbox."""
    body = {"name": "Zhang San", "company": "Acme Ltd", "phone": "13800138000", "email": "zs@acme.example",
            "source": "campaign", "campaign_id": "camp-1", "region": "Shanghai", "industry": "Finance"}
    body.update(lead)
    created = leads_app.create_lead(leads_db.uow(), principal, body)
    leads_app.convert_lead(leads_db.uow(), principal, created["id"],
                           {"opportunity": opportunity} if opportunity else {})
    rows = [r for r in leads_db.outbox("lead_converted") if r.body["payload"]["lead_id"] == created["id"]]
    assert len(rows) == 1
    return rows[0].body


def handle(db, envelope):
    db.handle(app.on_lead_converted, envelope, LeadConverted, HANDLER)


def test_new_customer_with_primary_contact_and_two_events(db, leads_db):
    env = converted(leads_db)
    handle(db, env)

    [customer] = db.all(Customer)
    assert customer.name == "Acme Ltd" and customer.kind == "company"
    assert customer.name_key == "acmeltd"
    assert customer.owner_id == "user-1" and customer.department_id == "d1"
    assert customer.source_lead_id == env["payload"]["lead_id"]
    assert customer.source_campaign_id == "camp-1"
    assert customer.industry == "Finance" and customer.region == "Shanghai"
    assert customer.deal_status == "prospect"
    assert customer.created_by == env["actor"]

    [contact] = db.all(Contact)
    assert contact.customer_id == customer.id
    assert contact.is_primary is True
    assert (contact.name, contact.phone, contact.email) == ("Zhang San", "13800138000", "zs@acme.example")
    assert contact.phone_key == "13800138000"
    assert contact.owner_id == "user-1" and contact.department_id == "d1"

    rows = db.outbox()
    assert sorted(r.event_type for r in rows) == ["customer_converted_from_lead", "customer_created"]
    for r in rows:
        assert EnvelopeSchema().validate(r.body) == {}
        assert r.body["producer"] == "customers"
        assert r.exchange == "customers.events"
    created = db.outbox("customer_created")[0].body["payload"]
    assert CustomerCreatedPayload().validate(created) == {}
    assert created["customer_id"] == customer.id and created["primary_contact_id"] == contact.id
    assert created["source_lead_id"] == customer.source_lead_id
    linked = db.outbox("customer_converted_from_lead")[0].body["payload"]
    assert CustomerConvertedFromLeadPayload().validate(linked) == {}
    assert linked == {"lead_id": env["payload"]["lead_id"], "customer_id": customer.id,
                      "contact_id": contact.id, "customer_created": True}
    assert [(r.handler, r.event_id) for r in db.inbox()] == [(HANDLER, env["event_id"])]
    assert len(db.committed) == 1 and len(db.committed[0]) == 2


def test_lead_without_company_becomes_an_individual(db, leads_db):
    handle(db, converted(leads_db, company=None, name="Wang Wu"))
    [customer] = db.all(Customer)
    assert customer.name == "Wang Wu" and customer.kind == "individual"


def test_redelivery_of_same_event_is_a_duplicate(db, leads_db):
    env = converted(leads_db)
    handle(db, env)
    with pytest.raises(DuplicateEvent):
        handle(db, env)
    assert db.count(Customer) == 1
    assert db.count(Contact) == 1
    assert len(db.outbox()) == 2


def test_same_lead_under_a_new_event_id_does_not_create_twice(db, leads_db):
    env = converted(leads_db)
    handle(db, env)
    replay = dict(env, event_id="another-event-id")
    handle(db, replay)
    assert db.count(Customer) == 1
    assert db.count(Contact) == 1
    linked = [r.body["payload"] for r in db.outbox("customer_converted_from_lead")]
    assert [p["customer_created"] for p in linked] == [True, False]
    assert len(db.outbox("customer_created")) == 1


@pytest.mark.parametrize("company", ["acme ltd", "  ACME   LTD ", "AcmeLtd", "ＡＣＭＥ　Ｌｔｄ"])
def test_second_lead_links_to_existing_customer_by_normalised_name(db, leads_db, company):
    first = converted(leads_db)
    handle(db, first)
    second = converted(leads_db, principal=MEMBER_2, company=company, name="Li Si", phone="13900139000",
                       email="ls@acme.example")
    handle(db, second)

    [customer] = db.all(Customer)
    assert customer.name == "Acme Ltd"
    assert customer.source_lead_id == first["payload"]["lead_id"]
    contacts = {c.name: c for c in db.all(Contact)}
    assert set(contacts) == {"Zhang San", "Li Si"}
    assert contacts["Zhang San"].is_primary is True
    assert contacts["Li Si"].is_primary is False
    assert contacts["Li Si"].customer_id == customer.id
    assert len(db.outbox("customer_created")) == 1
    linked = db.outbox("customer_converted_from_lead")[-1].body["payload"]
    assert linked == {"lead_id": second["payload"]["lead_id"], "customer_id": customer.id,
                      "contact_id": contacts["Li Si"].id, "customer_created": False}


def test_linked_lead_with_known_contact_phone_reuses_contact(db, leads_db):
    handle(db, converted(leads_db))
    # The first lead is converted, so the phone is still taken in leads: use another person
    # whose phone only matches after normalisation at customers' side.
    env = converted(leads_db, company="ACME LTD", name="Zhang San (again)", phone="13700137000")
    env["payload"]["phone"] = "+86 138 0013 8000"
    handle(db, env)
    assert db.count(Contact) == 1
    linked = db.outbox("customer_converted_from_lead")[-1].body["payload"]
    assert linked["contact_id"] == db.all(Contact)[0].id and linked["customer_created"] is False


def test_different_company_is_a_different_customer(db, leads_db):
    handle(db, converted(leads_db))
    handle(db, converted(leads_db, company="Acme Holdings", phone="13900139000"))
    assert db.count(Customer) == 2


@pytest.mark.parametrize("payload,fields", [
    ({}, {"lead_id", "name", "company"}),
    ({"lead_id": "l1", "name": None, "company": "A"}, {"name"}),
    ({"lead_id": 5, "name": "A", "company": "A"}, {"lead_id"}),
    ({"lead_id": "l1", "name": "A", "company": "A", "phone": 13800138000}, {"phone"}),
])
def test_invalid_payload_is_refused_before_any_work(db, payload, fields):
    """The handler's declared payload schema refuses it (the kit parks such a message at once)."""
    env = {"event_id": "evt-bad", "event_type": "lead_converted", "payload": payload, "actor": None}
    with pytest.raises(ValidationError) as info:
        handle(db, env)
    assert set(info.value.messages) == fields
    assert db.all(Customer) == [] and db.outbox() == [] and db.inbox() == []


def test_consumer_tolerates_unknown_payload_fields(db, leads_db):
    env = converted(leads_db)
    env["payload"]["added_in_v2"] = {"anything": 1}
    handle(db, env)
    assert db.count(Customer) == 1


def test_full_round_trip_back_to_leads(db, leads_db):
    """lead_converted -> customers -> customer_converted_from_lead -> leads records the ids."""
    env = converted(leads_db, opportunity={"name": "Deal", "amount": "1999"})
    handle(db, env)
    answer = db.outbox("customer_converted_from_lead")[0].body
    leads_db.handle(leads_app.record_conversion, answer, CustomerConvertedFromLead,
                    "leads.handle_customer_converted_from_lead")
    [lead] = [row for row in leads_db.all(Lead) if row.id == env["payload"]["lead_id"]]
    [customer] = db.all(Customer)
    [contact] = db.all(Contact)
    assert (lead.customer_id, lead.contact_id) == (customer.id, contact.id)


def _answer_leads(db, leads_db):
    """leads handles customers' answer, as its handler would."""
    answer = db.outbox("customer_converted_from_lead")[-1].body
    leads_db.handle(leads_app.record_conversion, answer, CustomerConvertedFromLead,
                    "leads.handle_customer_converted_from_lead")


def _tell_leads(db, leads_db, event_type, use_case, payload_schema):
    """leads handles customers' event, as its handler would (the payload loaded with its schema)."""
    [row] = db.outbox(event_type)
    leads_db.handle(use_case, row.body, payload_schema, f"leads.handle_{event_type}")
    return row.body


def test_deleting_a_customer_leaves_no_lead_pointing_at_it(db, leads_db):
    """lead_converted -> customers -> leads records the ids; the customer is deleted ->
    customer_deleted -> the lead's customer and contact ids are cleared."""
    env = converted(leads_db)
    handle(db, env)
    _answer_leads(db, leads_db)
    [customer], [contact] = db.all(Customer), db.all(Contact)
    app.delete_customer(db.uow(), MEMBER_1, customer.id, customer.version)
    event = _tell_leads(db, leads_db, "customer_deleted", leads_app.record_customer_deleted, CustomerDeleted)
    assert CustomerDeletedPayload().validate(event["payload"]) == {}
    assert (event["payload"]["customer_id"], event["payload"]["contact_ids"]) == (customer.id, [contact.id])
    [lead] = leads_db.all(Lead)
    assert (lead.customer_id, lead.contact_id) == (None, None)


def test_customer_deleted_before_leads_heard_of_it(db, leads_db):
    """Deleted right after it was created: leads hears customer_deleted before the answer."""
    handle(db, converted(leads_db))
    [customer] = db.all(Customer)
    app.delete_customer(db.uow(), MEMBER_1, customer.id, None)
    _tell_leads(db, leads_db, "customer_deleted", leads_app.record_customer_deleted, CustomerDeleted)
    _answer_leads(db, leads_db)
    [lead] = leads_db.all(Lead)
    assert (lead.customer_id, lead.contact_id) == (None, None)


def test_deleting_a_contact_emits_contact_deleted_and_leads_forget_it(db, leads_db):
    handle(db, converted(leads_db))
    _answer_leads(db, leads_db)
    [contact] = db.all(Contact)
    app.delete_contact(db.uow(), MEMBER_1, contact.id, contact.version)
    event = _tell_leads(db, leads_db, "contact_deleted", leads_app.record_contact_deleted, ContactDeleted)
    assert ContactDeletedPayload().validate(event["payload"]) == {}
    assert event["producer"] == "customers"
    assert {k: v for k, v in event["payload"].items() if k != "deleted_at"} == {
        "contact_id": contact.id, "customer_id": contact.customer_id, "was_primary": True}
    [lead] = leads_db.all(Lead)
    assert (lead.customer_id, lead.contact_id) == (contact.customer_id, None)


def test_a_refused_contact_delete_emits_nothing(db, leads_db):
    handle(db, converted(leads_db))
    [contact] = db.all(Contact)
    with pytest.raises(NotFound):
        app.delete_contact(db.uow(), MEMBER_2, contact.id, None)
    assert db.outbox("contact_deleted") == [] and db.count(Contact) == 1


# -- reads -------------------------------------------------------------------------

@pytest.fixture
def customer_id(db, leads_db):
    handle(db, converted(leads_db))
    return db.all(Customer)[0].id


def test_get_customer_in_scope(db, customer_id):
    for principal in (MEMBER_1, MANAGER_D1, ADMIN):
        out = app.get_customer(db.uow(), principal, customer_id)
        assert out["id"] == customer_id
    assert out["summary"] == {"opportunity_total": "0.00", "order_total": "0.00", "paid_total": "0.00",
                              "outstanding": "0.00"}
    assert out["deal_status"] == "prospect"
    assert len(out["contacts"]) == 1 and out["contacts"][0]["is_primary"] is True
    assert 0 < out["profile_completeness"] <= 100      # percent: edited / editable fields


@pytest.mark.parametrize("principal", [MEMBER_2, MANAGER_D2])
def test_get_customer_out_of_scope_is_not_found(db, customer_id, principal):
    with pytest.raises(NotFound) as info:
        app.get_customer(db.uow(), principal, customer_id)
    assert info.value.extra == {"resource": "customer", "id": customer_id}
    with pytest.raises(NotFound):
        app.list_contacts_of(db.uow(), principal, customer_id)


def test_list_customers_scoped_and_filtered(db, customer_id):
    assert [c["id"] for c in app.list_customers(db.uow(), MEMBER_1, {})["items"]] == [customer_id]
    assert app.list_customers(db.uow(), MEMBER_2, {})["items"] == []
    assert app.list_customers(db.uow(), ADMIN, {"kind": "individual"})["items"] == []
    assert len(app.list_customers(db.uow(), ADMIN, {"kind": "company", "deal_status": "prospect"})["items"]) == 1
    with pytest.raises(ValidationFailed) as info:
        app.list_customers(db.uow(), ADMIN, {"level": "Z"})
    assert list(info.value.errors) == ["level"]


def test_list_contacts_of(db, customer_id):
    out = app.list_contacts_of(db.uow(), MANAGER_D1, customer_id)
    assert out["next_cursor"] is None
    assert [c["name"] for c in out["items"]] == ["Zhang San"]
