"""The customer and contact lists (``application.queries``): preset views inside the data scope,
filters, the radius filter, keyset pages in the sort the client chooses."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import ValidationFailed
from crm_kit.records.pagination import encode_cursor
from services.customers import application as app
from services.customers.application import queries
from services.customers.models import Base, Customer
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2, MEMBER_SUB

UTC = dt.timezone.utc
T0 = dt.datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def create(db, principal, name, **data):
    return app.create_customer(db.uow(), principal, {"name": name, **data})["id"]


def patch_rows(db, ids, **values):
    """Server-owned values (pool, deal status, times) set as the platform would."""
    with db.session() as s:
        for ident in ids:
            row = s.get(Customer, ident)
            for name, value in values.items():
                setattr(row, name, value)
        s.commit()


def names(page):
    return [item["name"] for item in page["items"]]


def listed(db, principal, **query):
    return set(names(app.list_customers(db.uow(), principal, query)))


@pytest.fixture
def world(db):
    ids = {
        "mgr": create(db, MANAGER_D1, "Mgr own"),
        "m1": create(db, MEMBER_1, "Member one"),
        "m2": create(db, MEMBER_2, "Member two"),
        "sub": create(db, MEMBER_SUB, "Sub dept"),
        "d2": create(db, MANAGER_D2, "Other dept"),
    }
    app.set_customer_team_member(db.uow(), MEMBER_2, ids["m2"], MEMBER_1.user_id, "read")
    app.set_customer_team_member(db.uow(), MANAGER_D2, ids["d2"], MANAGER_D1.user_id, "read")
    return ids


@pytest.mark.parametrize("principal, scope, expected", [
    (MANAGER_D1, "all", {"Mgr own", "Member one", "Member two", "Sub dept", "Other dept"}),
    (MANAGER_D1, "mine", {"Mgr own"}),
    (MANAGER_D1, "team", {"Other dept"}),
    (MANAGER_D1, "subordinates", {"Member one", "Member two", "Sub dept"}),
    (MEMBER_1, "all", {"Member one", "Member two"}),
    (MEMBER_1, "mine", {"Member one"}),
    (MEMBER_1, "team", {"Member two"}),
    (MEMBER_1, "subordinates", set()),                       # a member has no subordinates
    (MANAGER_D2, "subordinates", set()),                     # d2 has nobody else: d1 stays out of scope
    (MANAGER_D2, "team", set()),
    (ADMIN, "all", {"Mgr own", "Member one", "Member two", "Sub dept", "Other dept"}),
    (ADMIN, "mine", set()),
    (ADMIN, "subordinates", {"Mgr own", "Member one", "Member two", "Sub dept", "Other dept"}),
])
def test_preset_views_inside_the_data_scope(db, world, principal, scope, expected):
    assert listed(db, principal, scope=scope) == expected


def test_contact_views(db, world):
    for i, key in enumerate(world):
        app.create_contact(db.uow(), ADMIN, {"customer_id": world[key], "name": f"Contact {key}",
                                             "phone": f"1390000000{i}"})

    def contacts(principal, **query):
        return {c["name"] for c in app.list_contacts(db.uow(), principal, query)["items"]}
    assert contacts(MANAGER_D1, scope="subordinates") == {"Contact m1", "Contact m2", "Contact sub"}
    assert contacts(MANAGER_D1, scope="mine") == {"Contact mgr"}
    assert contacts(MANAGER_D1, scope="team") == {"Contact d2"}
    assert contacts(MEMBER_1) == {"Contact m1", "Contact m2"}
    assert contacts(MEMBER_1, scope="team") == {"Contact m2"}
    assert contacts(MEMBER_1, scope="subordinates") == set()
    assert contacts(ADMIN, name="Contact m") == {"Contact m1", "Contact m2", "Contact mgr"}
    assert contacts(ADMIN, phone="+86 139 0000 0001") == {"Contact m1"}
    assert contacts(MEMBER_1, customer_id=world["m2"]) == {"Contact m2"}
    page = app.list_contacts(db.uow(), ADMIN, {"sort": "name", "direction": "asc", "limit": 2})
    seen = [c["name"] for c in page["items"]]
    while page["next_cursor"]:
        page = app.list_contacts(db.uow(), ADMIN, {"sort": "name", "direction": "asc", "limit": 2,
                                                   "cursor": page["next_cursor"]})
        seen += [c["name"] for c in page["items"]]
    assert seen == sorted(f"Contact {k}" for k in world)


def test_filters(db):
    a = create(db, ADMIN, "Alpha Trading", level="A", industry="retail", region="east", tags=["vip", "north"],
               mobile="13800000001", source="referral", contacts=[{"name": "P", "phone": "13900000009"}])
    b = create(db, ADMIN, "Alpine Tools", level="B", industry="software", region="west", tags=["north"],
               telephone="021-61234567")
    c = create(db, ADMIN, "Beta", kind="individual", tags=["partner"])
    patch_rows(db, [a], deal_status="deal", pool_id="pool-1", owner_id=None, last_followed_at=T0,
               created_at=T0 - dt.timedelta(days=30))
    patch_rows(db, [b], last_followed_at=T0 + dt.timedelta(days=5), created_at=T0 - dt.timedelta(days=3))
    patch_rows(db, [c], created_at=T0)
    cases = [
        ({"level": "A"}, {"Alpha Trading"}),
        ({"deal_status": "prospect"}, {"Alpine Tools", "Beta"}),
        ({"industry": "software"}, {"Alpine Tools"}),
        ({"region": "east"}, {"Alpha Trading"}),
        ({"kind": "individual"}, {"Beta"}),
        ({"source": "referral"}, {"Alpha Trading"}),
        ({"tags": "vip,partner"}, {"Alpha Trading", "Beta"}),                  # any of
        ({"tags": ["north"]}, {"Alpha Trading", "Alpine Tools"}),
        ({"owner_id": ADMIN.user_id}, {"Alpine Tools", "Beta"}),
        ({"pool_id": "pool-1"}, {"Alpha Trading"}),
        ({"followed_before": (T0 + dt.timedelta(days=1)).isoformat()}, {"Alpha Trading"}),   # never followed: no
        ({"followed_after": (T0 + dt.timedelta(days=1)).isoformat()}, {"Alpine Tools"}),
        ({"created_from": (T0 - dt.timedelta(days=10)).isoformat(), "created_to": T0.isoformat()}, {"Alpine Tools"}),
        ({"name": "al"}, {"Alpha Trading", "Alpine Tools"}),                   # prefix of the normalised name
        ({"name": " ALPHA t"}, {"Alpha Trading"}),
        ({"name": "%"}, set()),                                                # no wildcard
        ({"phone": "+86 138 0000 0001"}, {"Alpha Trading"}),                   # mobile
        ({"phone": "(021) 6123-4567"}, {"Alpine Tools"}),                      # telephone
        ({"phone": "139 0000 0009"}, {"Alpha Trading"}),                       # a contact's phone
        ({"level": "A", "region": "west"}, set()),                             # every filter must match
    ]
    for query, expected in cases:
        assert listed(db, ADMIN, **query) == expected, query


@pytest.mark.parametrize("query, field", [
    ({"scope": "everyone"}, "scope"), ({"sort": "email"}, "sort"), ({"direction": "up"}, "direction"),
    ({"lat": 31.0}, "lng"), ({"lat": 1, "lng": 1, "radius_km": 0}, "radius_km"),
    ({"lat": 1, "lng": 1, "radius_km": 5000}, "radius_km"), ({"tags": ""}, "tags"),
    ({"followed_before": "yesterday"}, "followed_before"), ({"phone": "1"}, "phone"),
])
def test_invalid_queries(db, query, field):
    with pytest.raises(ValidationFailed) as info:
        app.list_customers(db.uow(), ADMIN, query)
    assert field in info.value.errors


SHANGHAI = {"lat": 31.2304, "lng": 121.4737}


def test_near_a_point(db, monkeypatch):
    monkeypatch.setattr(queries, "NEAR_BATCH", 2)           # the exact distance decides across batches
    points = {"Bund": (31.2400, 121.4900), "Jingan": (31.2290, 121.4480), "East 4.4km": (31.2304, 121.5200),
              "Corner": (31.2700, 121.5100), "East 5.4km": (31.2304, 121.5300), "Suzhou": (31.2990, 120.5853),
              "Near 2": (31.2310, 121.4740), "Near 3": (31.2320, 121.4750)}
    for name, (lat, lng) in points.items():
        create(db, MEMBER_1, name, latitude=lat, longitude=lng)
    create(db, MEMBER_1, "Nowhere")
    create(db, MEMBER_2, "Other's Bund", latitude=31.2400, longitude=121.4900)    # out of scope
    inside = {"Bund", "Jingan", "East 4.4km", "Near 2", "Near 3"}
    assert listed(db, MEMBER_1, radius_km=5, **SHANGHAI) == inside
    seen, cursor = [], None
    while True:
        page = app.list_customers(db.uow(), MEMBER_1, {"radius_km": 5, "limit": 2, "cursor": cursor, **SHANGHAI})
        seen += names(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(inside) and set(seen) == inside
    assert listed(db, MEMBER_1, radius_km=100, **SHANGHAI) == set(points)
    assert listed(db, MEMBER_1, radius_km=5, lat=0, lng=0) == set()


def _all_pages(db, principal, query):
    out, cursor = [], None
    while True:
        page = app.list_customers(db.uow(), principal, {**query, "cursor": cursor})
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


@pytest.mark.parametrize("sort", ["created_at", "updated_at", "name", "last_followed_at", "level", None])
@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_sorted_keyset_pages(db, sort, direction):
    levels = ["A", None, "B", "A", None, "C", "B", None, "A"]
    ids = []
    for i, level in enumerate(levels):
        ident = create(db, ADMIN, f"Name {(i * 5) % 9}", level=level)
        ids.append(ident)
        patch_rows(db, [ident], created_at=T0 + dt.timedelta(hours=i % 4), updated_at=T0 + dt.timedelta(hours=i % 3),
                   last_followed_at=None if i % 3 == 0 else T0 - dt.timedelta(days=i % 2))
    with db.session() as s:
        rows = [s.get(Customer, i) for i in ids]
    column = {"name": "name_key", None: "id"}.get(sort, sort)
    desc = direction == "desc"

    def key(row):       # values missing sort above every value; ties by id
        value = getattr(row, column)
        return (value is None, value if value is not None else "", row.id)
    expected = [r.id for r in sorted(rows, key=key, reverse=desc)]
    query = {"limit": 2, "direction": direction, **({"sort": sort} if sort else {})}
    got = _all_pages(db, ADMIN, query)
    assert [c["id"] for c in got] == expected
    whole = app.list_customers(db.uow(), ADMIN, {**query, "limit": 200})
    assert [c["id"] for c in whole["items"]] == expected and whole["next_cursor"] is None


def test_a_cursor_belongs_to_its_sort(db):
    for i in range(3):
        create(db, ADMIN, f"C{i}", level="A")
    page = app.list_customers(db.uow(), ADMIN, {"sort": "level", "limit": 1})
    for query in ({"sort": "name"}, {"sort": "level", "direction": "asc"}, {}):
        with pytest.raises(ValidationFailed) as info:
            app.list_customers(db.uow(), ADMIN, {**query, "cursor": page["next_cursor"]})
        assert info.value.errors == {"cursor": ["Invalid cursor."]}
    for bad in ("not a cursor!", encode_cursor("x", sort="created_at", dir="desc", v="tomorrow"),
                encode_cursor("x", sort="created_at", dir="desc", v=None),
                encode_cursor("x", sort="created_at", dir="desc", v=3)):
        with pytest.raises(ValidationFailed):
            app.list_customers(db.uow(), ADMIN, {"sort": "created_at", "cursor": bad})


def test_list_items_are_masked_for_pool_members_and_carry_no_contacts(db):
    from services.customers.models import CustomerPool, CustomerPoolUser
    ident = create(db, ADMIN, "Pooled", mobile="13800000001", contacts=[{"name": "P"}])
    with db.session() as s:
        s.add(CustomerPool(id="pool-1", name="Pool", hidden_fields=["phone"]))
        s.add(CustomerPoolUser(pool_id="pool-1", user_id=MEMBER_1.user_id, role="member"))
        s.commit()
    patch_rows(db, [ident], pool_id="pool-1", owner_id=None, department_id=None)
    [item] = app.list_customers(db.uow(), MEMBER_1, {"pool_id": "pool-1"})["items"]
    assert item["mobile"] is None and item["masked_fields"] == ["mobile", "telephone"]
    assert "contacts" not in item
    [admin_item] = app.list_customers(db.uow(), ADMIN, {"pool_id": "pool-1"})["items"]
    assert admin_item["mobile"] == "13800000001"
