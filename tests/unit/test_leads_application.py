"""Leads use cases, driven directly with a unit of work on SQLite (no broker)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from crm_kit.context import principal_var, request_id_var
from sqlalchemy.exc import IntegrityError

from crm_kit.errors import Duplicate, Forbidden, InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.runtime.events import EnvelopeSchema
from crm_kit.runtime.uow import DuplicateEvent
from services.leads import application as app
from services.leads.events import LEAD_CONVERTED, LeadConvertedPayload
from services.leads.models import Base, CustomerReference, Lead
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2, MEMBER_SUB, SYSTEM

SERVER_MSG = "This field is set by the server and cannot be written."


@pytest.fixture
def db(make_db):
    return make_db(Base, "leads")


def create(db, principal=MEMBER_1, **data):
    body = {"name": "Zhang San", "company": "Acme Ltd", "phone": "+86 138-0013-8000",
            "email": "zs@acme.example", "source": "trade_show"}
    body.update(data)
    return app.create_lead(db.uow(), principal, body)


def _set_status(db, lead_id, status):
    with db.session() as s:
        s.get(Lead, lead_id).status = status
        s.commit()


# -- create ------------------------------------------------------------------

def test_create_lead_pending_owned_by_caller(db):
    lead = create(db)
    assert lead["status"] == "pending"
    assert lead["owner_id"] == MEMBER_1.user_id
    assert lead["department_id"] == MEMBER_1.department_id
    assert lead["phone"] == "+86 138-0013-8000"
    assert lead["version"] == 1
    assert lead["id"]
    stored = db.all(Lead)[0]
    assert stored.phone_key == "13800138000"
    assert stored.created_by == MEMBER_1.user_id


def test_create_lead_emits_lead_created(db):
    principal_var.set(MEMBER_1)
    request_id_var.set("req-1")
    lead = create(db, campaign_id="camp-1")
    rows = db.outbox("lead_created")
    assert len(rows) == 1
    body = rows[0].body
    assert EnvelopeSchema().validate(body) == {}
    assert body["producer"] == "leads" and body["actor"] == "user-1" and body["correlation_id"] == "req-1"
    assert body["payload"]["lead_id"] == lead["id"]
    assert body["payload"]["status"] == "pending"
    assert body["payload"]["campaign_id"] == "camp-1"
    assert body["payload"]["owner_id"] == "user-1"
    assert body["payload"]["department_id"] == "d1"
    assert db.committed == [[rows[0].id]]


def test_create_by_the_platform_is_an_unassigned_pool_lead(db):
    lead = create(db, principal=SYSTEM)
    assert lead["status"] == "unassigned"
    assert lead["owner_id"] is None and lead["department_id"] is None


def test_create_without_principal_forbidden(db):
    with pytest.raises(Forbidden):
        create(db, principal=None)
    assert db.all(Lead) == []


def test_minimal_lead(db):
    lead = app.create_lead(db.uow(), MEMBER_1, {"name": "Li Si"})
    assert lead["source"] == "other" and lead["phone"] is None and lead["status"] == "pending"
    # Leads without a phone never collide with each other.
    app.create_lead(db.uow(), MEMBER_1, {"name": "Li Si"})
    assert db.count(Lead) == 2


def test_duplicate_live_phone_refused_with_existing_id(db):
    first = create(db)
    with pytest.raises(Duplicate) as info:
        create(db, principal=MEMBER_2, phone="0086 13800138000", name="Other")
    assert info.value.extra["existing_id"] == first["id"]
    assert info.value.extra["field"] == "phone"
    assert info.value.status == 409
    assert db.count(Lead) == 1
    assert len(db.outbox("lead_created")) == 1


@pytest.mark.parametrize("status", ["unassigned", "pending", "following", "invalid", "converted"])
def test_every_live_status_blocks_the_phone(db, status):
    first = create(db)
    _set_status(db, first["id"], status)
    with pytest.raises(Duplicate):
        create(db, phone="13800138000")


def test_discarded_lead_does_not_block_its_phone(db):
    first = create(db)
    _set_status(db, first["id"], "discarded")
    second = create(db, phone="138 0013 8000")
    assert second["id"] != first["id"]
    assert db.count(Lead) == 2


def test_full_width_phone_is_a_duplicate(db):
    """The same mobile typed with a Chinese IME (full-width digits) is the same lead."""
    create(db, phone="13800138000")
    with pytest.raises(Duplicate):
        create(db, phone="１３８００１３８０００")


def test_validation_errors_name_the_fields(db):
    with pytest.raises(ValidationFailed) as info:
        app.create_lead(db.uow(), MEMBER_1, {"name": "", "phone": "12", "email": "not-an-email",
                                              "source": "tv", "notes": "x" * 5001})
    assert set(info.value.errors) == {"name", "phone", "email", "source", "notes"}
    assert info.value.errors["phone"] == ["Not a valid phone number."]
    assert db.all(Lead) == [] and db.outbox() == []


def test_missing_name(db):
    with pytest.raises(ValidationFailed) as info:
        app.create_lead(db.uow(), MEMBER_1, {"phone": "13800138000"})
    assert list(info.value.errors) == ["name"]


@pytest.mark.parametrize("field", ["id", "status", "owner_id", "version", "department_id",
                                   "customer_id", "converted_at", "last_followed_at"])
def test_server_owned_fields_refused(db, field):
    with pytest.raises(ValidationFailed) as info:
        app.create_lead(db.uow(), MEMBER_1, {"name": "A", field: "x"})
    assert info.value.errors == {field: [SERVER_MSG]}


def test_unknown_field_refused(db):
    with pytest.raises(ValidationFailed) as info:
        app.create_lead(db.uow(), MEMBER_1, {"name": "A", "favourite_colour": "red"})
    assert info.value.errors == {"favourite_colour": ["Unknown field."]}


@pytest.mark.parametrize("body", [None, [], "name=A"])
def test_non_object_body_refused(db, body):
    with pytest.raises(ValidationFailed):
        app.create_lead(db.uow(), MEMBER_1, body)


# -- read / list ---------------------------------------------------------------

def test_get_in_scope(db):
    lead = create(db)
    assert app.get_lead(db.uow(), MEMBER_1, lead["id"])["id"] == lead["id"]
    assert app.get_lead(db.uow(), MANAGER_D1, lead["id"])["id"] == lead["id"]
    assert app.get_lead(db.uow(), ADMIN, lead["id"])["id"] == lead["id"]


@pytest.mark.parametrize("principal", [MEMBER_2, MEMBER_SUB, MANAGER_D2])
def test_get_out_of_scope_is_not_found(db, principal):
    lead = create(db)
    with pytest.raises(NotFound) as out:
        app.get_lead(db.uow(), principal, lead["id"])
    with pytest.raises(NotFound) as missing:
        app.get_lead(db.uow(), principal, "no-such-lead")
    assert out.value.detail == f"lead {lead['id']} was not found."
    assert missing.value.detail == "lead no-such-lead was not found."
    assert set(out.value.extra) == set(missing.value.extra) == {"resource", "id"}


def test_get_without_principal_forbidden(db):
    lead = create(db)
    with pytest.raises(Forbidden):
        app.get_lead(db.uow(), None, lead["id"])


def test_list_is_scoped_filtered_and_paginated(db):
    mine = [create(db, phone=f"1380013800{i}")["id"] for i in range(3)]
    theirs = create(db, principal=MEMBER_2, phone="13900139000")["id"]
    page = app.list_leads(db.uow(), MEMBER_1, {"limit": 2})
    assert [i["id"] for i in page["items"]] == sorted(mine, reverse=True)[:2]
    rest = app.list_leads(db.uow(), MEMBER_1, {"limit": 2, "cursor": page["next_cursor"]})
    assert [i["id"] for i in rest["items"]] == sorted(mine, reverse=True)[2:]
    assert rest["next_cursor"] is None
    everything = app.list_leads(db.uow(), MANAGER_D1, {})
    assert {i["id"] for i in everything["items"]} == set(mine) | {theirs}
    only_theirs = app.list_leads(db.uow(), MANAGER_D1, {"owner_id": MEMBER_2.user_id})
    assert [i["id"] for i in only_theirs["items"]] == [theirs]
    assert app.list_leads(db.uow(), MANAGER_D2, None)["items"] == []


def test_list_rejects_bad_filters(db):
    with pytest.raises(ValidationFailed) as info:
        app.list_leads(db.uow(), MEMBER_1, {"status": "won", "limit": "999", "colour": "red"})
    assert set(info.value.errors) == {"status", "limit", "colour"}


# -- convert -------------------------------------------------------------------

OPPORTUNITY = {"name": "First order", "amount": "1999", "expected_close_date": "2025-03-31"}


def test_convert_marks_converted_and_emits_lead_converted(db):
    principal_var.set(MEMBER_1)
    request_id_var.set("req-convert")
    lead = create(db, campaign_id="camp-9", region="Shanghai", industry="Finance")
    result = app.convert_lead(db.uow(), MEMBER_1, lead["id"], {"opportunity": OPPORTUNITY})
    assert result["status"] == "converted"
    assert result["converted_at"] is not None
    assert result["version"] == 2

    rows = db.outbox("lead_converted")
    assert len(rows) == 1
    body = rows[0].body
    assert EnvelopeSchema().validate(body) == {}
    assert body["actor"] == "user-1" and body["correlation_id"] == "req-convert"
    assert body["schema_version"] == LEAD_CONVERTED.version
    payload = body["payload"]
    assert LeadConvertedPayload().validate(payload) == {}
    assert payload["opportunity"] == {"name": "First order", "amount": "1999.00",
                                      "expected_close_date": "2025-03-31"}
    assert isinstance(payload["opportunity"]["amount"], str)
    assert payload["lead_id"] == lead["id"]
    assert payload["company"] == "Acme Ltd" and payload["name"] == "Zhang San"
    assert payload["phone"] == "+86 138-0013-8000" and payload["email"] == "zs@acme.example"
    assert payload["campaign_id"] == "camp-9" and payload["region"] == "Shanghai"
    assert payload["owner_id"] == "user-1" and payload["department_id"] == "d1"
    assert dt.datetime.fromisoformat(payload["converted_at"]).tzinfo is not None
    assert db.all(Lead)[0].status == "converted"


@pytest.mark.parametrize("amount,expected", [("1999", "1999.00"), (1999.5, "1999.50"),
                                             ("0.1", "0.10"), (Decimal("12345678.90"), "12345678.90")])
def test_opportunity_amount_is_an_exact_decimal_string(db, amount, expected):
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {"opportunity": {"name": "D", "amount": amount}})
    opp = db.outbox("lead_converted")[0].body["payload"]["opportunity"]
    assert opp == {"name": "D", "amount": expected, "expected_close_date": None}


def test_convert_without_opportunity(db):
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], None)
    assert db.outbox("lead_converted")[0].body["payload"]["opportunity"] is None


@pytest.mark.parametrize("body,fields", [
    ({"opportunity": {"name": "D", "amount": "-1"}}, {"opportunity.amount"}),
    ({"opportunity": {"name": "", "amount": "abc"}}, {"opportunity.name", "opportunity.amount"}),
    ({"opportunity": {"amount": "1"}}, {"opportunity.name"}),
    ({"opportunity": {"name": "D", "amount": "1", "expected_close_date": "soon"}},
     {"opportunity.expected_close_date"}),
    ({"opportunity": {"name": "D", "amount": "1", "id": "x"}}, {"opportunity.id"}),
    ({"customer_id": "c1"}, {"customer_id"}),
])
def test_convert_validation_names_fields(db, body, fields):
    lead = create(db)
    with pytest.raises(ValidationFailed) as info:
        app.convert_lead(db.uow(), MEMBER_1, lead["id"], body)
    assert set(info.value.errors) == fields
    assert db.all(Lead)[0].status == "pending"
    assert db.outbox("lead_converted") == []


def test_converting_twice_is_invalid_state(db):
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    with pytest.raises(InvalidState) as info:
        app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    assert info.value.extra["current_state"] == "converted"
    assert info.value.extra["action"] == "convert"
    assert "converted" in info.value.detail
    assert info.value.status == 409
    assert len(db.outbox("lead_converted")) == 1


@pytest.mark.parametrize("status,ok", [("pending", True), ("following", True), ("invalid", True),
                                       ("unassigned", False), ("discarded", False)])
def test_convert_allowed_states(db, status, ok):
    lead = create(db)
    _set_status(db, lead["id"], status)
    if ok:
        assert app.convert_lead(db.uow(), ADMIN, lead["id"], {})["status"] == "converted"
    else:
        with pytest.raises(InvalidState) as info:
            app.convert_lead(db.uow(), ADMIN, lead["id"], {})
        assert info.value.extra["current_state"] == status


def test_convert_out_of_scope_is_not_found_and_changes_nothing(db):
    lead = create(db)
    with pytest.raises(NotFound):
        app.convert_lead(db.uow(), MEMBER_2, lead["id"], {})
    assert db.all(Lead)[0].status == "pending"
    assert db.outbox("lead_converted") == []


def test_manager_converts_team_lead(db):
    lead = create(db, principal=MEMBER_SUB)
    assert app.convert_lead(db.uow(), MANAGER_D1, lead["id"], {})["status"] == "converted"


# -- record_conversion (customers' answer) ------------------------------------

def _answer(lead_id, **payload):
    body = {"lead_id": lead_id, "customer_id": "cust-1", "contact_id": "cont-1", "customer_created": True,
            "something_new": "ignored"}
    body.update(payload)
    return {"event_id": "evt-ccfl-1", "event_type": "customer_converted_from_lead", "payload": body}


def test_record_conversion_stores_ids(db):
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    app.record_conversion(db.uow(inbox_key=("leads.h", "evt-ccfl-1")), _answer(lead["id"]))
    stored = db.all(Lead)[0]
    assert (stored.customer_id, stored.contact_id) == ("cust-1", "cont-1")
    assert stored.status == "converted"
    out = app.get_lead(db.uow(), MEMBER_1, lead["id"])
    assert out["customer_id"] == "cust-1" and out["contact_id"] == "cont-1"


def test_record_conversion_null_contact(db):
    lead = create(db)
    app.record_conversion(db.uow(), _answer(lead["id"], contact_id=None))
    assert db.all(Lead)[0].contact_id is None and db.all(Lead)[0].customer_id == "cust-1"


def test_record_conversion_is_idempotent(db):
    lead = create(db)
    key = ("leads.handle_customer_converted_from_lead", "evt-ccfl-1")
    app.record_conversion(db.uow(inbox_key=key), _answer(lead["id"]))
    with pytest.raises(DuplicateEvent):
        app.record_conversion(db.uow(inbox_key=key), _answer(lead["id"], customer_id="cust-2"))
    assert db.all(Lead)[0].customer_id == "cust-1"


def test_record_conversion_unknown_lead(db):
    with pytest.raises(ValidationFailed) as info:
        app.record_conversion(db.uow(), _answer("no-such-lead"))
    assert "lead_id" in info.value.errors


def test_record_conversion_invalid_payload_is_validation_failed(db):
    """Services raise only crm_kit.errors classes (errors.py); customers' handler wraps
    marshmallow's error the same way."""
    lead = create(db)
    with pytest.raises(ValidationFailed) as info:
        app.record_conversion(db.uow(), _answer(lead["id"], customer_id=None))
    assert "customer_id" in info.value.errors


def test_record_conversion_invalid_payload_changes_nothing(db):
    lead = create(db)
    with pytest.raises((ValidationFailed, ValidationError)):
        app.record_conversion(db.uow(), {"event_id": "e", "payload": {"lead_id": lead["id"]}})
    assert db.all(Lead)[0].customer_id is None


# -- customer_deleted / contact_deleted: no lead points at what customers deleted ------

DELETED_HANDLER, CONTACT_HANDLER = "leads.handle_customer_deleted", "leads.handle_contact_deleted"


def _customer_deleted(customer_id="cust-1", contact_ids=("cont-1",), event_id="evt-cd-1", actor="user-9"):
    return {"event_id": event_id, "event_type": "customer_deleted", "actor": actor, "payload": {
        "customer_id": customer_id, "name": "Acme Ltd", "owner_id": "user-1", "department_id": "d1",
        "contact_ids": list(contact_ids), "deleted_at": "2024-11-27T16:45:00+00:00"}}


def _contact_deleted(contact_id="cont-1", customer_id="cust-1", event_id="evt-kd-1", actor="user-9"):
    return {"event_id": event_id, "event_type": "contact_deleted", "actor": actor, "payload": {
        "contact_id": contact_id, "customer_id": customer_id, "was_primary": True,
        "deleted_at": "2024-11-27T16:40:00+00:00"}}


def _converted(db, phone, customer_id="cust-1", contact_id="cont-1", event_id=None):
    """A converted lead whose conversion customers answered (recorded)."""
    lead = create(db, phone=phone)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    app.record_conversion(db.uow(inbox_key=("leads.handle_customer_converted_from_lead", event_id or phone)),
                          _answer(lead["id"], customer_id=customer_id, contact_id=contact_id))
    return lead["id"]


def _ids(db, lead_id):
    with db.session() as s:
        lead = s.get(Lead, lead_id)
        return lead.customer_id, lead.contact_id


def test_customer_deleted_clears_the_leads_pointing_at_it_audited(db):
    first = _converted(db, "13800000001")
    linked = _converted(db, "13800000002", contact_id="cont-2")       # linked by name: same customer
    other = _converted(db, "13800000003", customer_id="cust-9", contact_id="cont-9")

    app.record_customer_deleted(db.uow(inbox_key=(DELETED_HANDLER, "evt-cd-1")),
                                _customer_deleted(contact_ids=["cont-1", "cont-2"]))

    assert _ids(db, first) == (None, None) and _ids(db, linked) == (None, None)
    assert _ids(db, other) == ("cust-9", "cont-9")
    entry = app.lead_history(db.uow(), ADMIN, first, {})["items"][0]
    assert (entry["action"], entry["actor_id"]) == ("customer_deleted", "user-9")
    assert entry["changes"] == {"customer_id": ["cust-1", None], "contact_id": ["cont-1", None]}
    assert [e["action"] for e in app.lead_history(db.uow(), ADMIN, other, {})["items"]][0] == "conversion_recorded"
    assert db.outbox() and {r.event_type for r in db.outbox()} <= {"lead_created", "lead_converted"}  # no new events


def test_customer_deleted_before_its_conversion_answer_is_never_recorded(db):
    """The customer was deleted right after it was created: customer_deleted is handled first."""
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    app.record_customer_deleted(db.uow(inbox_key=(DELETED_HANDLER, "evt-cd-1")), _customer_deleted())
    app.record_conversion(db.uow(inbox_key=("leads.handle_customer_converted_from_lead", "evt-ccfl-1")),
                          _answer(lead["id"]))
    assert _ids(db, lead["id"]) == (None, None)
    assert db.all(Lead)[0].status == "converted"


def test_contact_of_a_deleted_customer_is_not_recorded_either(db):
    """The customer's own row says deleted; its contacts go with it even when the event did not
    list the one this answer names."""
    lead = create(db)
    app.record_customer_deleted(db.uow(), _customer_deleted(contact_ids=[]))
    app.record_conversion(db.uow(), _answer(lead["id"], contact_id="cont-new"))
    assert _ids(db, lead["id"]) == (None, None)


def test_contact_deleted_clears_only_the_contact(db):
    lead = _converted(db, "13800000001")
    other = _converted(db, "13800000002", contact_id="cont-2")
    app.record_contact_deleted(db.uow(inbox_key=(CONTACT_HANDLER, "evt-kd-1")), _contact_deleted())
    assert _ids(db, lead) == ("cust-1", None) and _ids(db, other) == ("cust-1", "cont-2")
    entry = app.lead_history(db.uow(), ADMIN, lead, {})["items"][0]
    assert (entry["action"], entry["actor_id"], entry["changes"]) == (
        "contact_deleted", "user-9", {"contact_id": ["cont-1", None]})


def test_contact_deleted_before_the_conversion_answer(db):
    lead = create(db)
    app.record_contact_deleted(db.uow(), _contact_deleted())
    app.record_conversion(db.uow(), _answer(lead["id"]))
    assert _ids(db, lead["id"]) == ("cust-1", None)


def test_deletions_are_idempotent(db):
    lead = _converted(db, "13800000001")
    key = (DELETED_HANDLER, "evt-cd-1")
    app.record_customer_deleted(db.uow(inbox_key=key), _customer_deleted())
    history = app.lead_history(db.uow(), ADMIN, lead, {})["items"]
    with pytest.raises(DuplicateEvent):                  # the same event again: nothing at all
        app.record_customer_deleted(db.uow(inbox_key=key), _customer_deleted())
    # The same news under another event id (a producer's retry) changes nothing either.
    app.record_customer_deleted(db.uow(inbox_key=(DELETED_HANDLER, "evt-cd-2")),
                                _customer_deleted(event_id="evt-cd-2"))
    app.record_contact_deleted(db.uow(inbox_key=(CONTACT_HANDLER, "evt-kd-1")), _contact_deleted())
    assert app.lead_history(db.uow(), ADMIN, lead, {})["items"] == history
    assert _ids(db, lead) == (None, None)
    refs = {(r.kind, r.ref_id): r.deleted_at for r in db.all(CustomerReference)}
    assert refs == {("customer", "cust-1"): dt.datetime(2024, 11, 27, 16, 45, tzinfo=dt.timezone.utc),
                    ("contact", "cont-1"): dt.datetime(2024, 11, 27, 16, 45, tzinfo=dt.timezone.utc)}


@pytest.mark.parametrize("handle, payload, field", [
    (app.record_customer_deleted, {"customer_id": None, "contact_ids": [], "deleted_at": "2024-11-27T16:45:00Z"},
     "customer_id"),
    (app.record_customer_deleted, {"customer_id": "c", "deleted_at": "2024-11-27T16:45:00Z"}, "contact_ids"),
    (app.record_contact_deleted, {"deleted_at": "2024-11-27T16:45:00Z"}, "contact_id"),
    (app.record_contact_deleted, {"contact_id": "k", "deleted_at": "yesterday"}, "deleted_at"),
])
def test_deletion_with_an_invalid_payload_is_validation_failed(db, handle, payload, field):
    with pytest.raises(ValidationFailed) as info:
        handle(db.uow(), {"event_id": "e", "payload": payload})
    assert field in info.value.errors
    assert db.all(CustomerReference) == []


def _between(monkeypatch, run):
    """Run ``run()`` once, right after the next use case read its customer references (the
    moment two handlers running at once can interleave), as a second handler would."""
    real, done = app._references, []

    def references(session, ids):
        out = real(session, ids)
        if not done:
            done.append(True)
            run()
        return out
    monkeypatch.setattr(app, "_references", references)


@pytest.mark.parametrize("known", [False, True], ids=["first-lead-of-the-customer", "customer-known"])
def test_a_conversion_racing_the_deletion_is_retried_and_not_recorded(db, monkeypatch, known):
    """The answer read 'not deleted', then the deletion committed (finding no lead pointing at
    the customer yet): the answer's commit meets the deletion's write and fails; retried (as the
    kit retries a failing handler), it leaves the lead without the deleted customer."""
    if known:
        _converted(db, "13800000009")           # another lead already points at cust-1
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    key = ("leads.handle_customer_converted_from_lead", "evt-ccfl-1")
    _between(monkeypatch, lambda: app.record_customer_deleted(db.uow(inbox_key=(DELETED_HANDLER, "evt-cd-1")),
                                                              _customer_deleted()))
    with pytest.raises((StaleVersion, IntegrityError)):
        app.record_conversion(db.uow(inbox_key=key), _answer(lead["id"]))
    assert _ids(db, lead["id"]) == (None, None)
    app.record_conversion(db.uow(inbox_key=key), _answer(lead["id"]))           # the retry
    assert _ids(db, lead["id"]) == (None, None)
    assert all(ids == (None, None) for ids in (_ids(db, row.id) for row in db.all(Lead)))


@pytest.mark.parametrize("known", [False, True], ids=["first-lead-of-the-customer", "customer-known"])
def test_a_deletion_racing_the_conversion_is_retried_and_clears_it(db, monkeypatch, known):
    """The deletion read the customer's row, then the answer committed: the deletion's commit
    fails; retried, it finds the lead and clears it."""
    if known:
        _converted(db, "13800000009")
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    _between(monkeypatch, lambda: app.record_conversion(
        db.uow(inbox_key=("leads.handle_customer_converted_from_lead", "evt-ccfl-1")), _answer(lead["id"])))
    key = (DELETED_HANDLER, "evt-cd-1")
    with pytest.raises((StaleVersion, IntegrityError)):
        app.record_customer_deleted(db.uow(inbox_key=key), _customer_deleted())
    assert _ids(db, lead["id"]) == ("cust-1", "cont-1")
    app.record_customer_deleted(db.uow(inbox_key=key), _customer_deleted())   # the retry
    assert all(ids == (None, None) for ids in (_ids(db, row.id) for row in db.all(Lead)))


def test_leads_are_dumped_exactly_as_leadout_dumps_them(db):
    """The RPCs return leads through crm_kit.records.schemas.Dumper: the same dict LeadOut().dump makes."""
    from services.leads.schemas import LeadOut
    made = app.create_lead(db.uow(), ADMIN, {"name": "Dumped", "company": "Acme", "phone": "13800001234",
                                             "email": "d@example.com", "source": "referral"})
    with db.session() as s:
        row = s.get(Lead, made["id"])
        assert made == LeadOut().dump(row) == app._out.dump(row)
        assert app._out.dump([row], many=True) == LeadOut().dump([row], many=True)


def test_a_refused_create_whose_phone_holder_is_gone_again_is_a_conflict_not_a_500(db, monkeypatch):
    """The unique index refused the lead, but by the time we look the holder was discarded: 409."""
    from crm_kit.errors import Conflict
    app.create_lead(db.uow(), ADMIN, {"name": "First", "phone": "13800004321"})
    monkeypatch.setattr(app, "_raise_if_duplicate_phone", lambda session, phone_key: None)
    with pytest.raises(Conflict) as info:
        app.create_lead(db.uow(), ADMIN, {"name": "Second", "phone": "138 0000 4321"})
    assert info.value.status == 409 and info.value.extra["field"] == "phone"
    with db.session() as s:
        assert s.query(Lead).count() == 1
