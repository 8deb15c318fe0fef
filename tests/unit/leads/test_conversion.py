"""Converting a lead and what customers tells back (``application.conversion``): the answers are
delivered as the kit delivers them (``db.handle``: the payload loaded with the schema the handler
declares, the envelope's actor the audit's)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from crm_kit.context import principal_var, request_id_var
from crm_kit.errors import InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.runtime.events import EnvelopeSchema
from crm_kit.runtime.uow import DuplicateEvent
from services.leads import application as app
from services.leads.application import conversion
from services.leads.events import (
    LEAD_CONVERTED,
    ContactDeleted,
    CustomerConvertedFromLead,
    CustomerDeleted,
    LeadConvertedPayload,
)
from services.leads.models import CustomerReference, Lead
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1, MEMBER_2, MEMBER_SUB
from tests.unit.leads.support import create, set_status

ANSWER_HANDLER = "leads.handle_customer_converted_from_lead"


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
    set_status(db, lead["id"], status)
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
def _answer(lead_id, event_id="evt-ccfl-1", **payload):
    body = {"lead_id": lead_id, "customer_id": "cust-1", "contact_id": "cont-1", "customer_created": True,
            "something_new": "ignored"}
    body.update(payload)
    return {"event_id": event_id, "event_type": "customer_converted_from_lead", "actor": "user-1",
            "payload": body}


def answered(db, envelope, handler=ANSWER_HANDLER):
    """customers' answer, delivered to record_conversion as the kit does."""
    db.handle(app.record_conversion, envelope, CustomerConvertedFromLead, handler)


def test_record_conversion_stores_ids(db):
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    answered(db, _answer(lead["id"]))
    stored = db.all(Lead)[0]
    assert (stored.customer_id, stored.contact_id) == ("cust-1", "cont-1")
    assert stored.status == "converted"
    out = app.get_lead(db.uow(), MEMBER_1, lead["id"])
    assert out["customer_id"] == "cust-1" and out["contact_id"] == "cont-1"
    entry = app.lead_history(db.uow(), ADMIN, lead["id"], {})["items"][0]
    assert (entry["action"], entry["actor_id"]) == ("conversion_recorded", "user-1")   # the envelope's actor


def test_record_conversion_null_contact(db):
    lead = create(db)
    answered(db, _answer(lead["id"], contact_id=None))
    assert db.all(Lead)[0].contact_id is None and db.all(Lead)[0].customer_id == "cust-1"


def test_record_conversion_is_idempotent(db):
    lead = create(db)
    answered(db, _answer(lead["id"]))
    with pytest.raises(DuplicateEvent):
        answered(db, _answer(lead["id"], customer_id="cust-2"))
    assert db.all(Lead)[0].customer_id == "cust-1"


def test_record_conversion_unknown_lead(db):
    with pytest.raises(ValidationFailed) as info:
        answered(db, _answer("no-such-lead"))
    assert "lead_id" in info.value.errors


@pytest.mark.parametrize("payload, field", [
    ({"customer_id": None}, "customer_id"),
    ({"customer_id": 7}, "customer_id"),
    ({"contact_id": ["c"]}, "contact_id"),
])
def test_an_invalid_answer_is_refused_before_any_work(db, payload, field):
    """The handler's declared payload schema refuses it (the kit parks such a message at once)."""
    lead = create(db)
    with pytest.raises(ValidationError) as info:
        answered(db, _answer(lead["id"], **payload))
    assert field in info.value.messages
    assert db.all(Lead)[0].customer_id is None and db.inbox() == []


def test_an_answer_missing_its_fields_changes_nothing(db):
    lead = create(db)
    with pytest.raises(ValidationError) as info:
        answered(db, {"event_id": "e", "payload": {"lead_id": lead["id"]}})
    assert set(info.value.messages) == {"customer_id", "contact_id"}
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


def customer_deleted(db, envelope):
    db.handle(app.record_customer_deleted, envelope, CustomerDeleted, DELETED_HANDLER)


def contact_deleted(db, envelope):
    db.handle(app.record_contact_deleted, envelope, ContactDeleted, CONTACT_HANDLER)


def _converted(db, phone, customer_id="cust-1", contact_id="cont-1", event_id=None):
    """A converted lead whose conversion customers answered (recorded)."""
    lead = create(db, phone=phone)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    answered(db, _answer(lead["id"], event_id=event_id or phone, customer_id=customer_id, contact_id=contact_id))
    return lead["id"]


def _ids(db, lead_id):
    with db.session() as s:
        lead = s.get(Lead, lead_id)
        return lead.customer_id, lead.contact_id


def test_customer_deleted_clears_the_leads_pointing_at_it_audited(db):
    first = _converted(db, "13800000001")
    linked = _converted(db, "13800000002", contact_id="cont-2")       # linked by name: same customer
    other = _converted(db, "13800000003", customer_id="cust-9", contact_id="cont-9")

    customer_deleted(db, _customer_deleted(contact_ids=["cont-1", "cont-2"]))

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
    customer_deleted(db, _customer_deleted())
    answered(db, _answer(lead["id"]))
    assert _ids(db, lead["id"]) == (None, None)
    assert db.all(Lead)[0].status == "converted"


def test_contact_of_a_deleted_customer_is_not_recorded_either(db):
    """The customer's own row says deleted; its contacts go with it even when the event did not
    list the one this answer names."""
    lead = create(db)
    customer_deleted(db, _customer_deleted(contact_ids=[]))
    answered(db, _answer(lead["id"], contact_id="cont-new"))
    assert _ids(db, lead["id"]) == (None, None)


def test_contact_deleted_clears_only_the_contact(db):
    lead = _converted(db, "13800000001")
    other = _converted(db, "13800000002", contact_id="cont-2")
    contact_deleted(db, _contact_deleted())
    assert _ids(db, lead) == ("cust-1", None) and _ids(db, other) == ("cust-1", "cont-2")
    entry = app.lead_history(db.uow(), ADMIN, lead, {})["items"][0]
    assert (entry["action"], entry["actor_id"], entry["changes"]) == (
        "contact_deleted", "user-9", {"contact_id": ["cont-1", None]})


def test_contact_deleted_before_the_conversion_answer(db):
    lead = create(db)
    contact_deleted(db, _contact_deleted())
    answered(db, _answer(lead["id"]))
    assert _ids(db, lead["id"]) == ("cust-1", None)


def test_deletions_are_idempotent(db):
    lead = _converted(db, "13800000001")
    customer_deleted(db, _customer_deleted())
    history = app.lead_history(db.uow(), ADMIN, lead, {})["items"]
    with pytest.raises(DuplicateEvent):                  # the same event again: nothing at all
        customer_deleted(db, _customer_deleted())
    # The same news under another event id (a producer's retry) changes nothing either.
    customer_deleted(db, _customer_deleted(event_id="evt-cd-2"))
    contact_deleted(db, _contact_deleted())
    assert app.lead_history(db.uow(), ADMIN, lead, {})["items"] == history
    assert _ids(db, lead) == (None, None)
    refs = {(r.kind, r.ref_id): r.deleted_at for r in db.all(CustomerReference)}
    assert refs == {("customer", "cust-1"): dt.datetime(2024, 11, 27, 16, 45, tzinfo=dt.timezone.utc),
                    ("contact", "cont-1"): dt.datetime(2024, 11, 27, 16, 45, tzinfo=dt.timezone.utc)}


@pytest.mark.parametrize("deliver, payload, field", [
    (customer_deleted, {"customer_id": None, "contact_ids": [], "deleted_at": "2024-11-27T16:45:00Z"},
     "customer_id"),
    (customer_deleted, {"customer_id": "c", "deleted_at": "2024-11-27T16:45:00Z"}, "contact_ids"),
    (contact_deleted, {"deleted_at": "2024-11-27T16:45:00Z"}, "contact_id"),
    (contact_deleted, {"contact_id": "k", "deleted_at": "yesterday"}, "deleted_at"),
])
def test_a_deletion_with_an_invalid_payload_is_refused_before_any_work(db, deliver, payload, field):
    """The handler's declared payload schema refuses it (the kit parks such a message at once)."""
    with pytest.raises(ValidationError) as info:
        deliver(db, {"event_id": "e", "payload": payload})
    assert field in info.value.messages
    assert db.all(CustomerReference) == [] and db.inbox() == []


def _between(monkeypatch, run):
    """Run ``run()`` once, right after the next use case read its customer references (the
    moment two handlers running at once can interleave), as a second handler would."""
    real, done = conversion.references, []

    def references(session, ids):
        out = real(session, ids)
        if not done:
            done.append(True)
            run()
        return out
    monkeypatch.setattr(conversion, "references", references)


@pytest.mark.parametrize("known", [False, True], ids=["first-lead-of-the-customer", "customer-known"])
def test_a_conversion_racing_the_deletion_is_retried_and_not_recorded(db, monkeypatch, known):
    """The answer read 'not deleted', then the deletion committed (finding no lead pointing at
    the customer yet): the answer's commit meets the deletion's write and fails; retried (as the
    kit retries a failing handler), it leaves the lead without the deleted customer."""
    if known:
        _converted(db, "13800000009")           # another lead already points at cust-1
    lead = create(db)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    _between(monkeypatch, lambda: customer_deleted(db, _customer_deleted()))
    with pytest.raises((StaleVersion, IntegrityError)):
        answered(db, _answer(lead["id"]))
    assert _ids(db, lead["id"]) == (None, None)
    answered(db, _answer(lead["id"]))           # the retry
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
    _between(monkeypatch, lambda: answered(db, _answer(lead["id"])))
    with pytest.raises((StaleVersion, IntegrityError)):
        customer_deleted(db, _customer_deleted())
    assert _ids(db, lead["id"]) == ("cust-1", "cont-1")
    customer_deleted(db, _customer_deleted())   # the retry
    assert all(ids == (None, None) for ids in (_ids(db, row.id) for row in db.all(Lead)))
