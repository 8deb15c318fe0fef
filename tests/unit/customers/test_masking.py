"""Hidden fields (公海隐藏字段): what a pool's admin marks hidden is masked for the pool's members until
they claim the customer -- the rule (``domain.masking``) as tables, then through the use cases that
show a pool's customers (``access.mask``): the pool's list, get, contacts, and the claim's reply."""
from __future__ import annotations

import pytest

from crm_kit.errors import NotFound
from crm_kit.records.text import normalize_phone
from services.customers import application as app
from services.customers.domain import masking
from services.customers.models import Contact
from tests.unit.conftest import ADMIN
from tests.unit.customers import pool_support
from tests.unit.customers.pool_support import M1, M2, POOL_ADMIN, in_pool, owned, pool

db, clock = pool_support.db, pool_support.clock      # the fixtures

DUMPED = {"id": "c1", "name": "Initech", "mobile": "138", "telephone": "010", "email": "a@b.c", "address": "Road 1",
          "latitude": 31.2, "longitude": 121.5, "website": "w", "notes": "n", "birthday": "1990-01-01",
          "contacts": [{"id": "k1", "name": "Peter", "phone": "139", "email": "p@b.c", "notes": "x"},
                       {"id": "k2", "name": "Milton", "phone": None, "email": None, "notes": None}]}

# hidden_fields -> (customer keys masked, contact keys masked)
TABLE = {
    "phone": (["phone"], {"mobile", "telephone"}, {"phone"}),
    "mobile only": (["mobile"], {"mobile"}, set()),
    "telephone only": (["telephone"], {"telephone"}, set()),
    "address (with the location)": (["address"], {"address", "latitude", "longitude"}, set()),
    "email": (["email"], {"email"}, {"email"}),
    "phone and address": (["phone", "address"], {"mobile", "telephone", "address", "latitude", "longitude"},
                          {"phone"}),
    "notes, birthday, website": (["notes", "birthday", "website"], {"notes", "birthday", "website"}, {"notes"}),
    "an unknown name hides nothing more": (["phone", "salary"], {"mobile", "telephone"}, {"phone"}),
}


@pytest.mark.parametrize("name", TABLE)
def test_what_each_hidden_field_masks(name):
    hidden, own, of_contacts = TABLE[name]
    out = masking.mask_customer(DUMPED, hidden)
    assert {k for k in DUMPED if k != "contacts" and out[k] is None} == own
    for before, after in zip(DUMPED["contacts"], out["contacts"]):
        assert {k for k in before if after[k] is None and before[k] is not None} == (of_contacts & {
            k for k in before if before[k] is not None})
        assert after["name"] == before["name"]
    assert out["masked_fields"] == sorted(own) + sorted(f"contacts.{k}" for k in of_contacts)
    assert out["name"] == "Initech" and DUMPED["mobile"] == "138"            # the input is not changed


def test_nothing_hidden_changes_nothing():
    assert masking.mask_customer(DUMPED, []) is DUMPED
    assert "masked_fields" not in masking.mask_customer(DUMPED, None)


@pytest.mark.parametrize("in_pool_, platform_admin, pool_admin, masked", [
    (True, False, False, True),          # a member browsing the pool (or a former team member)
    (True, True, False, False),          # a platform admin
    (True, False, True, False),          # the pool's admin
    (False, False, False, False),        # claimed: no pool, nothing masked
])
def test_who_sees_it_masked(in_pool_, platform_admin, pool_admin, masked):
    assert masking.masked_for(in_pool=in_pool_, platform_admin=platform_admin, pool_admin=pool_admin) is masked


# -- through the use cases ----------------------------------------------------------------------------
def pooled(db, p) -> str:
    cid = in_pool(db, p["id"], mobile="+86 138 0013 8000", mobile_key=normalize_phone("+86 138 0013 8000"),
                  telephone="010-1234", email="info@initech.example", address="1 Initech Road", latitude=31.2,
                  longitude=121.5, industry="Software")
    with db.session() as s:
        s.add(Contact(id=f"k-{cid}", customer_id=cid, name="Peter", phone="139 0000 0001", email="p@initech.example"))
        s.commit()
    return cid


def test_pool_members_see_hidden_fields_masked_until_they_claim(db, clock):
    p = pool(db, hidden_fields=["phone", "address"])
    cid = pooled(db, p)
    [listed] = app.list_customer_pool_customers(db.uow(), M1, p["id"], {})["items"]
    assert (listed["mobile"], listed["telephone"], listed["address"], listed["latitude"]) == (None, None, None, None)
    assert listed["email"] == "info@initech.example" and listed["industry"] == "Software"   # not hidden
    assert listed["masked_fields"] == ["address", "latitude", "longitude", "mobile", "telephone"]
    assert "contacts" not in listed                                        # a list shows none
    got = app.get_customer(db.uow(), M2, cid)
    assert got["mobile"] is None and got["masked_fields"] == [
        "address", "latitude", "longitude", "mobile", "telephone", "contacts.phone"]
    assert [c["phone"] for c in got["contacts"]] == [None]
    [contact] = app.list_contacts_of(db.uow(), M2, cid)["items"]
    assert contact["phone"] is None and contact["name"] == "Peter"
    # the pool's admin and a platform admin see everything
    for principal in (POOL_ADMIN, ADMIN):
        seen = app.list_customer_pool_customers(db.uow(), principal, p["id"], {})["items"][0]
        assert seen["mobile"] == "+86 138 0013 8000" and "masked_fields" not in seen
    # the claimer sees everything from the claim's reply on; the others no longer see it at all
    claimed = app.claim_customer(db.uow(), M1, cid)
    assert claimed["mobile"] == "+86 138 0013 8000" and claimed["address"] == "1 Initech Road"
    assert "masked_fields" not in claimed and claimed["contacts"][0]["phone"] == "139 0000 0001"
    assert app.get_customer(db.uow(), M1, cid)["telephone"] == "010-1234"
    with pytest.raises(NotFound):
        app.get_customer(db.uow(), M2, cid)


def test_a_former_owner_kept_on_the_team_sees_it_masked_once_in_the_pool(db, clock):
    p = pool(db, hidden_fields=["email"], member_ids=["m2"])
    cid = owned(db, M1)
    app.update_customer(db.uow(), M1, cid, {"email": "ceo@initech.example"}, None)
    app.transfer_customer(db.uow(), M1, cid, "m2", "read", owner_department_id="d2")
    assert app.get_customer(db.uow(), M1, cid)["email"] == "ceo@initech.example"     # owned: nothing masked
    app.return_customer(db.uow(), M2, cid, "No budget", p["id"])
    got = app.get_customer(db.uow(), M1, cid)
    assert got["email"] is None and got["masked_fields"] == ["email"]


def test_a_pool_without_hidden_fields_masks_nothing(db, clock):
    p = pool(db)
    cid = pooled(db, p)
    got = app.get_customer(db.uow(), M1, cid)
    assert got["mobile"] == "+86 138 0013 8000" and "masked_fields" not in got
