"""The customer record (``application.customer_record``, ``contacts``): its fields, created with its
contacts in one transaction, the duplicate checks (name, mobile / telephone, contacts' phones),
profile completeness and claim count as the API shows them."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Duplicate, ValidationFailed
from services.customers import application as app
from services.customers.application import ownership
from services.customers.models import Base, Contact, Customer, CustomerOwnership
from tests.unit.conftest import MEMBER_1, MEMBER_2

UTC = dt.timezone.utc


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def create(db, principal=MEMBER_1, **data):
    return app.create_customer(db.uow(), principal, {"name": "Initech", **data})


def test_every_field_of_the_record(db):
    got = create(db, kind="individual", name="Wang Wei", mobile="+86 138-0013-8000", telephone="(021) 6123 4567",
                 gender="male", birthday="1980-05-17", source="trade_show", address="1 Nanjing Rd, Shanghai",
                 latitude=31.2304, longitude=121.4737, tags=["vip", "north", "vip"], email="w@example.com",
                 website="https://wang.example", industry="retail", level="A", region="east", notes="met at fair")
    assert {k: got[k] for k in ("kind", "mobile", "telephone", "gender", "birthday", "source", "latitude",
                                "longitude", "tags", "owner_id", "claim_count")} == {
        "kind": "individual", "mobile": "+86 138-0013-8000", "telephone": "(021) 6123 4567", "gender": "male",
        "birthday": "1980-05-17", "source": "trade_show", "latitude": 31.2304, "longitude": 121.4737,
        "tags": ["north", "vip"], "owner_id": MEMBER_1.user_id, "claim_count": 0}
    with db.session() as s:
        row = s.get(Customer, got["id"])
        assert (row.name_key, row.mobile_key, row.telephone_key) == ("wangwei", "13800138000", "02161234567")
        assert row.profile_completeness == got["profile_completeness"]
        [stretch] = s.query(CustomerOwnership).all()           # the owner history starts with it
        assert (stretch.owner_id, stretch.start_kind) == (MEMBER_1.user_id, "created")
    # 16 of 18 editable fields of an individual (size, follow_stage left empty)
    assert got["profile_completeness"] == 89
    assert got == app.get_customer(db.uow(), MEMBER_1, got["id"])


@pytest.mark.parametrize("data, errors", [
    ({"gender": "male"}, {"gender"}),                                     # a company has no gender
    ({"kind": "company", "birthday": "1990-01-01"}, {"birthday"}),
    ({"latitude": 31.2}, {"longitude"}),                                  # a location is both
    ({"latitude": 91, "longitude": 0}, {"latitude"}),
    ({"mobile": "12"}, {"mobile"}),
    ({"source": "tv"}, {"source"}),
    ({"kind": "individual", "gender": "x"}, {"gender"}),
    ({"kind": "individual", "birthday": "2999-01-01"}, {"birthday"}),
    ({"mobile_key": "1"}, {"mobile_key"}),                                # server-owned
    ({"claim_count": 3}, {"claim_count"}),
    ({"contacts": [{"name": "A", "phone": "13800000001"}, {"name": "B", "phone": "+86 13800000001"}]},
     {"contacts.1.phone"}),                                               # twice in one request
    ({"contacts": [{"name": "A", "customer_id": "x"}]}, {"contacts.0.customer_id"}),
])
def test_refused_input(db, data, errors):
    with pytest.raises(ValidationFailed) as info:
        create(db, **data)
    assert set(info.value.errors) == errors
    assert db.count(Customer) == 0


def test_created_with_its_contacts_in_one_transaction(db):
    got = create(db, contacts=[{"name": "Peter", "phone": "+86 139 0000 0001"},
                               {"name": "Milton", "title": "Stapler", "is_primary": True}])
    assert [(c["name"], c["is_primary"], c["owner_id"]) for c in got["contacts"]] == [
        ("Peter", False, MEMBER_1.user_id), ("Milton", True, MEMBER_1.user_id)]
    created = db.outbox("customer_created")[0].body["payload"]
    assert created["primary_contact_id"] == next(c["id"] for c in got["contacts"] if c["name"] == "Milton")
    assert [r.body["payload"]["name"] for r in db.outbox("contact_created")] == ["Peter", "Milton"]
    with db.session() as s:
        assert s.get(Contact, got["contacts"][0]["id"]).phone_key == "13900000001"
    # without a primary flag the first is primary
    other = create(db, name="Other", contacts=[{"name": "A"}, {"name": "B"}])
    assert [c["is_primary"] for c in other["contacts"]] == [True, False]


def test_a_duplicate_contact_phone_creates_nothing(db):
    first = create(db, contacts=[{"name": "Peter", "phone": "13900000001"}])
    with pytest.raises(Duplicate) as info:
        create(db, name="Other", contacts=[{"name": "A"}, {"name": "B", "phone": "+86 139-0000-0001"}])
    assert info.value.extra == {"existing_id": first["contacts"][0]["id"], "field": "contacts[1].phone"}
    assert db.count(Customer) == 1 and db.count(Contact) == 1
    assert len(db.outbox("customer_created")) == 1


@pytest.mark.parametrize("first, second, field", [
    ({"name": "Initech"}, {"name": " INITECH "}, "name"),                             # normalised name
    ({"mobile": "13800000001"}, {"mobile": "+86 138 0000 0001"}, "mobile"),
    ({"telephone": "021-61234567"}, {"telephone": "(021) 6123 4567"}, "telephone"),
    ({"telephone": "13800000001"}, {"mobile": "138-0000-0001"}, "mobile"),            # across the two
    ({"mobile": "13800000001"}, {"telephone": "13800000001"}, "telephone"),
])
def test_duplicate_customer(db, first, second, field):
    existing = create(db, **{"name": "Initech", **first})
    with pytest.raises(Duplicate) as info:
        create(db, principal=MEMBER_2, **{"name": "Other", **second})
    assert info.value.extra == {"existing_id": existing["id"], "field": field}
    assert info.value.status == 409


def test_duplicates_on_update(db):
    a = create(db, mobile="13800000001")
    b = create(db, name="Other", telephone="02161234567")
    for data, field in (({"name": "initech"}, "name"), ({"mobile": "+86 13800000001"}, "mobile"),
                        ({"telephone": "138 0000 0001"}, "telephone")):
        with pytest.raises(Duplicate) as info:
            app.update_customer(db.uow(), MEMBER_1, b["id"], data, None)
        assert info.value.extra == {"existing_id": a["id"], "field": field}
    # its own values are not duplicates of itself
    same = app.update_customer(db.uow(), MEMBER_1, a["id"], {"mobile": "138-0000-0001", "level": "B"}, None)
    assert same["mobile"] == "138-0000-0001" and same["version"] == 2


def test_update_keeps_keys_completeness_and_the_kind_rules(db):
    c = create(db)
    assert c["profile_completeness"] == 13
    got = app.update_customer(db.uow(), MEMBER_1, c["id"], {"mobile": "+86 13900000009", "industry": "x",
                                                          "latitude": 1.5, "longitude": 2.5}, c["version"])
    assert got["profile_completeness"] == 31          # name, kind, industry, location, mobile: 5/16
    with db.session() as s:
        assert s.get(Customer, c["id"]).mobile_key == "13900000009"
        assert s.get(Customer, c["id"]).profile_completeness == 31
    event = db.outbox("customer_updated")[-1].body["payload"]
    assert event["changed"] == ["industry", "latitude", "longitude", "mobile"]
    with pytest.raises(ValidationFailed) as info:
        app.update_customer(db.uow(), MEMBER_1, c["id"], {"gender": "male"}, None)
    assert set(info.value.errors) == {"gender"}
    with pytest.raises(ValidationFailed) as info:
        app.update_customer(db.uow(), MEMBER_1, c["id"], {"latitude": None}, None)
    assert set(info.value.errors) == {"latitude"}
    person = app.update_customer(db.uow(), MEMBER_1, c["id"], {"kind": "individual", "gender": "female"}, None)
    assert person["gender"] == "female" and person["profile_completeness"] == 33    # 6/18
    with pytest.raises(ValidationFailed) as info:          # back to a company: the gender must go with it
        app.update_customer(db.uow(), MEMBER_1, c["id"], {"kind": "company"}, None)
    assert set(info.value.errors) == {"kind"}
    back = app.update_customer(db.uow(), MEMBER_1, c["id"], {"kind": "company", "gender": None}, None)
    assert back["kind"] == "company" and back["gender"] is None


def test_claim_count_is_the_number_of_owner_changes(db):
    c = create(db)
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)
    for owner, day in ((MEMBER_2, 1), (MEMBER_1, 2), (MEMBER_1, 3)):       # the last one changes nothing
        uow = db.uow()
        with uow:
            row = uow.session.get(Customer, c["id"])
            ownership.give(uow, row, owner.user_id, owner.department_id, "assign", "admin-1",
                           now + dt.timedelta(days=day))
            uow.commit()
    got = app.get_customer(db.uow(), MEMBER_1, c["id"])
    assert (got["claim_count"], got["owner_id"], got["previous_owner_id"]) == (2, MEMBER_1.user_id, MEMBER_2.user_id)


def test_contact_phone_is_a_duplicate_key(db):
    c = create(db, contacts=[{"name": "Peter", "phone": "13900000001"}])
    with pytest.raises(Duplicate) as info:
        app.create_contact(db.uow(), MEMBER_1, {"customer_id": c["id"], "name": "B", "phone": "+86 139 0000 0001"})
    assert info.value.extra == {"existing_id": c["contacts"][0]["id"], "field": "phone"}
    other = app.create_contact(db.uow(), MEMBER_1, {"customer_id": c["id"], "name": "B", "phone": "13900000002"})
    with pytest.raises(Duplicate):
        app.update_contact(db.uow(), MEMBER_1, other["id"], {"phone": "139-0000-0001"}, None)
    same = app.update_contact(db.uow(), MEMBER_1, other["id"], {"phone": "139 0000 0002", "title": "CTO"}, None)
    assert same["title"] == "CTO"
    [updated] = [r.body["payload"] for r in db.outbox("contact_updated")]
    assert updated["changed"] == ["phone", "title"] and updated["contact_id"] == other["id"]
