"""The lead record (``application.lead_record``): create, read, list, its dump; driven with a unit
of work on SQLite (no broker)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.context import principal_var, request_id_var
from crm_kit.errors import Conflict, Duplicate, NotFound, ValidationFailed
from crm_kit.runtime.events import EnvelopeSchema
from services.leads import application as app
from services.leads.application import lead_record
from services.leads.models import Lead
from services.leads.schemas import LeadOut
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2, MEMBER_SUB, SYSTEM
from tests.unit.leads.support import SERVER_MSG, UTC, create, lead, pool, set_status

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
    set_status(db, first["id"], status)
    with pytest.raises(Duplicate):
        create(db, phone="13800138000")


def test_discarded_lead_does_not_block_its_phone(db):
    first = create(db)
    set_status(db, first["id"], "discarded")
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


def test_a_refused_create_whose_phone_holder_is_gone_again_is_a_conflict_not_a_500(db, monkeypatch):
    """The unique index refused the lead, but by the time we look the holder was discarded: 409."""
    app.create_lead(db.uow(), ADMIN, {"name": "First", "phone": "13800004321"})
    monkeypatch.setattr(lead_record, "raise_if_duplicate_phone", lambda session, phone_key: None)
    with pytest.raises(Conflict) as info:
        app.create_lead(db.uow(), ADMIN, {"name": "Second", "phone": "138 0000 4321"})
    assert info.value.status == 409 and info.value.extra["field"] == "phone"
    with db.session() as s:
        assert s.query(Lead).count() == 1


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


def test_list_filters(db):
    p = pool(db)
    a = lead(db, p["id"], name="Alpha Trading", company="Acme 100%", source="campaign", campaign_id="c1")
    b = lead(db, principal=MEMBER_1, name="Beta", company="Other", phone="13711112222")

    def ids(query):
        return [x["id"] for x in app.list_leads(db.uow(), ADMIN, query)["items"]]
    assert ids({"pool_id": p["id"]}) == [a["id"]]
    assert ids({"campaign_id": "c1"}) == [a["id"]]
    assert ids({"source": "campaign", "status": "unassigned"}) == [a["id"]]
    assert ids({"owner_id": "user-1"}) == [b["id"]]
    assert ids({"q": "alpha"}) == [a["id"]]
    assert ids({"q": "100%"}) == [a["id"]]
    assert ids({"q": "1111"}) == [b["id"]]
    assert ids({"q": "_"}) == []
    now = dt.datetime.now(UTC)
    assert set(ids({"created_from": (now - dt.timedelta(minutes=5)).isoformat()})) == {a["id"], b["id"]}
    assert ids({"created_to": (now - dt.timedelta(minutes=5)).isoformat()}) == []
    with pytest.raises(ValidationFailed):
        app.list_leads(db.uow(), ADMIN, {"sla_breached": "maybe"})
    with pytest.raises(ValidationFailed):
        app.list_leads(db.uow(), ADMIN, {"created_from": "yesterday"})


def test_leads_are_dumped_exactly_as_leadout_dumps_them(db):
    """The RPCs return leads through crm_kit.records.schemas.Dumper: the same dict LeadOut().dump makes."""
    made = app.create_lead(db.uow(), ADMIN, {"name": "Dumped", "company": "Acme", "phone": "13800001234",
                                             "email": "d@example.com", "source": "referral"})
    with db.session() as s:
        row = s.get(Lead, made["id"])
        assert made == LeadOut().dump(row) == lead_record.lead_out.dump(row)
        assert lead_record.lead_out.dump([row], many=True) == LeadOut().dump([row], many=True)
