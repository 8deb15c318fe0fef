"""A customer's follow-ups (``application.follow_ups``): recorded, listed, read, in the customer's
scope; what they do to the customer and the event they raise."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound, ValidationFailed
from services.customers import application as app
from services.customers.models import Base, Customer
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2

UTC = dt.timezone.utc
SERVER_MSG = "This field is set by the server and cannot be written."


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def customer(db, principal=MEMBER_1, name="Initech"):
    return app.create_customer(db.uow(), principal, {"name": name})


def test_record_a_follow_up(db):
    c = customer(db)
    contact = app.create_contact(db.uow(), MEMBER_1, {"customer_id": c["id"], "name": "Peter"})
    at = dt.datetime(2030, 1, 2, 9, tzinfo=UTC)
    got = app.add_customer_follow_up(db.uow(), MEMBER_1, c["id"], {
        "kind": "visit", "content": "Visited the plant", "outcome": "wants a quote", "contact_id": contact["id"],
        "next_contact_at": "2030-01-02T09:00:00"})          # no offset: UTC
    assert (got["kind"], got["contact_id"], got["author_id"], got["customer_id"]) == (
        "visit", contact["id"], MEMBER_1.user_id, c["id"])
    assert dt.datetime.fromisoformat(got["next_contact_at"]) == at
    with db.session() as s:
        row = s.get(Customer, c["id"])
        assert row.next_contact_at == at
        assert row.last_followed_at == dt.datetime.fromisoformat(got["created_at"])
    [event] = [r.body["payload"] for r in db.outbox("follow_up_recorded")]
    assert event == {"follow_up_id": got["id"], "customer_id": c["id"], "contact_id": contact["id"], "kind": "visit",
                     "author_id": MEMBER_1.user_id, "next_contact_at": got["next_contact_at"],
                     "created_at": got["created_at"]}
    # the next one without a next contact time clears it
    app.add_customer_follow_up(db.uow(), MEMBER_1, c["id"], {"kind": "call", "content": "Called"})
    with db.session() as s:
        assert s.get(Customer, c["id"]).next_contact_at is None
    history = app.customer_history(db.uow(), MEMBER_1, c["id"], {})["items"]
    assert history[0]["action"] == "follow_up" and "last_followed_at" in history[0]["changes"]


def test_list_and_read(db):
    c, other = customer(db), customer(db, name="Other")
    ids = [app.add_customer_follow_up(db.uow(), MEMBER_1, c["id"], {"kind": k, "content": k})["id"]
           for k in ("call", "email", "sms")]
    app.add_customer_follow_up(db.uow(), MEMBER_1, other["id"], {"kind": "call", "content": "x"})
    page = app.list_customer_follow_ups(db.uow(), MEMBER_1, c["id"], {"limit": 2})
    assert [f["id"] for f in page["items"]] == ids[::-1][:2] and page["next_cursor"]
    rest = app.list_customer_follow_ups(db.uow(), MEMBER_1, c["id"], {"limit": 2, "cursor": page["next_cursor"]})
    assert [f["id"] for f in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert app.get_customer_follow_up(db.uow(), MEMBER_1, c["id"], ids[1])["kind"] == "email"
    with pytest.raises(NotFound):          # another customer's follow-up, through this customer
        app.get_customer_follow_up(db.uow(), MEMBER_1, other["id"], ids[1])
    with pytest.raises(NotFound):
        app.get_customer_follow_up(db.uow(), MEMBER_1, c["id"], "no-such-id")


BAD = {
    "no kind": ({"content": "x"}, "kind"),
    "unknown kind": ({"kind": "fax", "content": "x"}, "kind"),
    "blank content": ({"kind": "call", "content": "   "}, "content"),
    "outcome too long": ({"kind": "call", "content": "x", "outcome": "o" * 501}, "outcome"),
    "bad time": ({"kind": "call", "content": "x", "next_contact_at": "soon"}, "next_contact_at"),
    "far-off year": ({"kind": "call", "content": "x", "next_contact_at": "9999-01-01T00:00:00Z"}, "next_contact_at"),
    "server-owned author": ({"kind": "call", "content": "x", "author_id": "me"}, "author_id"),
    "unknown field": ({"kind": "call", "content": "x", "mood": "good"}, "mood"),
    "someone else's contact": ({"kind": "call", "content": "x", "contact_id": "OTHER"}, "contact_id"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_changes_nothing(db, case):
    c, other = customer(db), customer(db, name="Other")
    foreign = app.create_contact(db.uow(), MEMBER_1, {"customer_id": other["id"], "name": "Bill"})
    data, field = BAD[case]
    data = {k: (foreign["id"] if v == "OTHER" else v) for k, v in data.items()}
    with pytest.raises(ValidationFailed) as info:
        app.add_customer_follow_up(db.uow(), MEMBER_1, c["id"], data)
    assert field in info.value.errors
    if field == "author_id":
        assert info.value.errors[field] == [SERVER_MSG]
    assert db.outbox("follow_up_recorded") == []
    assert app.list_customer_follow_ups(db.uow(), MEMBER_1, c["id"])["items"] == []


def test_visible_and_writable_exactly_when_the_customer_is(db):
    c = customer(db)
    app.set_customer_team_member(db.uow(), MEMBER_1, c["id"], MEMBER_2.user_id, "read")
    reader, outsider = MEMBER_2, Principal("stranger", "member", "d9", ("d9",))
    note = {"kind": "call", "content": "x"}
    for principal in (ADMIN, MANAGER_D1, MEMBER_1):
        app.add_customer_follow_up(db.uow(), principal, c["id"], note)
    assert len(app.list_customer_follow_ups(db.uow(), reader, c["id"])["items"]) == 3
    with pytest.raises(Forbidden):
        app.add_customer_follow_up(db.uow(), reader, c["id"], note)
    for principal in (outsider, MANAGER_D2):
        with pytest.raises(NotFound):
            app.add_customer_follow_up(db.uow(), principal, c["id"], note)
        with pytest.raises(NotFound):
            app.list_customer_follow_ups(db.uow(), principal, c["id"])
