"""Customers as records through the gateway: created with contacts, duplicates as problem+json, the
preset views with real users and departments, a radius filter, a sort with its cursor."""
import random

import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"


def phone() -> str:
    return f"+86 13{random.randint(0, 9)} {random.randint(0, 99999999):08d}"


@pytest.fixture(scope="module")
def crew(platform):
    """A sales department with a sub-department: its manager, two members, one member below; and
    an outsider in another department."""
    tag = new_id()[-6:]
    sales = platform.post("/api/v1/departments", json={"name": f"Sales {tag}"}).json()
    east = platform.post("/api/v1/departments", json={"name": f"Sales east {tag}", "parent_id": sales["id"]}).json()
    other = platform.post("/api/v1/departments", json={"name": f"Other {tag}"}).json()
    users, tokens = {}, {}
    for name, role, dept in (("boss", "manager", sales), ("m1", "member", sales), ("m2", "member", sales),
                             ("east", "member", east), ("outsider", "member", other)):
        username = f"{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": role,
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name] = resp.json()
        tokens[name] = platform.login(username, PASSWORD)
    return {"tag": tag, "users": users, "tokens": tokens}


def create(platform, crew, who, name, **body):
    resp = platform.post("/api/v1/customers", json={"name": f"{name} {crew['tag']}", **body},
                         token=crew["tokens"][who])
    assert resp.status_code == 201, resp.text
    return resp.json()


def names(resp):
    assert resp.status_code == 200, resp.text
    return {c["name"].rsplit(" ", 1)[0] for c in resp.json()["items"]}


def test_create_with_contacts_in_one_transaction(platform, crew):
    mobile, contact_phone = phone(), phone()
    got = create(platform, crew, "m1", "Keller Logistik", kind="company", mobile=mobile, source="trade_show",
                 tags=["vip"], address="1 Nanjing Rd", latitude=31.2304, longitude=121.4737,
                 contacts=[{"name": "Maria", "phone": contact_phone, "is_primary": True}, {"name": "Jonas"}])
    assert [(c["name"], c["is_primary"]) for c in got["contacts"]] == [("Maria", True), ("Jonas", False)]
    assert got["owner_id"] == crew["users"]["m1"]["id"] and got["claim_count"] == 0
    assert 0 < got["profile_completeness"] < 100
    read = platform.get(f"/api/v1/customers/{got['id']}", token=crew["tokens"]["m1"]).json()
    assert read["mobile"] == mobile and len(read["contacts"]) == 2
    contacts = platform.get(f"/api/v1/customers/{got['id']}/contacts", token=crew["tokens"]["m1"]).json()["items"]
    assert {c["name"] for c in contacts} == {"Maria", "Jonas"}
    # a refused contact: nothing of the request is created
    bad = platform.post("/api/v1/customers", json={"name": f"Half {crew['tag']}", "contacts": [{"title": "x"}]},
                        token=crew["tokens"]["m1"])
    assert bad.status_code == 422 and "contacts.0.name" in bad.json()["errors"]
    assert names(platform.get("/api/v1/customers", params={"name": f"Half {crew['tag']}"})) == set()


def test_duplicates_are_409_problems_naming_the_record(platform, crew):
    mobile, contact_phone = phone(), phone()
    first = create(platform, crew, "m1", "Dup Original", mobile=mobile,
                   contacts=[{"name": "P", "phone": contact_phone}])
    cases = [
        ({"name": f"  dup ORIGINAL {crew['tag']} "}, "name", first["id"]),
        ({"name": f"Dup mobile {crew['tag']}", "mobile": mobile.replace(" ", "-")}, "mobile", first["id"]),
        ({"name": f"Dup tel {crew['tag']}", "telephone": mobile[4:]}, "telephone", first["id"]),
        ({"name": f"Dup contact {crew['tag']}", "contacts": [{"name": "Q", "phone": contact_phone}]},
         "contacts[0].phone", first["contacts"][0]["id"]),
    ]
    for body, field, existing in cases:
        resp = platform.post("/api/v1/customers", json=body, token=crew["tokens"]["m2"])
        assert resp.status_code == 409, resp.text
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        problem = resp.json()
        assert (problem["field"], problem["existing_id"]) == (field, existing), problem
    contact = platform.post("/api/v1/contacts", json={"customer_id": first["id"], "name": "Z", "phone": contact_phone},
                            token=crew["tokens"]["m1"])
    assert contact.status_code == 409 and contact.json()["field"] == "phone"


def test_preset_views_with_real_users(platform, crew):
    t = crew["tokens"]
    for who in ("boss", "m1", "m2", "east", "outsider"):
        create(platform, crew, who, f"View {who}", tags=[f"v{crew['tag']}"])
    shared = create(platform, crew, "outsider", "View shared", tags=[f"v{crew['tag']}"])
    assert platform.post(f"/api/v1/customers/{shared['id']}/team", token=t["outsider"],
                         json={"user_id": crew["users"]["m1"]["id"], "access": "read"}).status_code == 200
    q = {"tags": f"v{crew['tag']}"}
    view = {scope: names(platform.get("/api/v1/customers", params={**q, "scope": scope}, token=t["boss"]))
            for scope in ("all", "mine", "team", "subordinates")}
    assert view == {"all": {"View boss", "View m1", "View m2", "View east"}, "mine": {"View boss"},
                    "team": set(), "subordinates": {"View m1", "View m2", "View east"}}
    assert names(platform.get("/api/v1/customers", params={**q, "scope": "team"}, token=t["m1"])) == {"View shared"}
    assert names(platform.get("/api/v1/customers", params={**q, "scope": "mine"}, token=t["m1"])) == {"View m1"}
    assert names(platform.get("/api/v1/customers", params={**q, "scope": "subordinates"}, token=t["m1"])) == set()
    assert names(platform.get("/api/v1/customers", params=q, token=t["m1"])) == {"View m1", "View shared"}
    contacts = platform.get("/api/v1/contacts", params={"scope": "subordinates"}, token=t["boss"])
    assert contacts.status_code == 200
    bad = platform.get("/api/v1/customers", params={"scope": "everyone"}, token=t["boss"])
    assert bad.status_code == 422 and "scope" in bad.json()["errors"]


def test_radius_filter(platform, crew):
    tag = f"r{crew['tag']}"
    for name, (lat, lng) in {"Bund": (31.2400, 121.4900), "Jingan": (31.2290, 121.4480),
                             "Corner": (31.2700, 121.5100), "Suzhou": (31.2990, 120.5853)}.items():
        create(platform, crew, "m2", f"Near {name}", latitude=lat, longitude=lng, tags=[tag])
    near = {"lat": 31.2304, "lng": 121.4737, "radius_km": 5, "tags": tag}
    assert names(platform.get("/api/v1/customers", params=near, token=crew["tokens"]["m2"])) == {
        "Near Bund", "Near Jingan"}
    assert names(platform.get("/api/v1/customers", params={**near, "radius_km": 200},
                              token=crew["tokens"]["m2"])) == {"Near Bund", "Near Jingan", "Near Corner", "Near Suzhou"}
    half = platform.get("/api/v1/customers", params={"lat": 31.2}, token=crew["tokens"]["m2"])
    assert half.status_code == 422 and {"lng", "radius_km"} <= set(half.json()["errors"])


def test_sort_and_cursor(platform, crew):
    tag = f"s{crew['tag']}"
    levels = {"Sort a": "B", "Sort b": None, "Sort c": "A", "Sort d": "C", "Sort e": "A"}
    for name, level in levels.items():
        create(platform, crew, "east", name, level=level, tags=[tag])
    for sort, direction, expected in (
            ("name", "asc", ["Sort a", "Sort b", "Sort c", "Sort d", "Sort e"]),
            ("name", "desc", ["Sort e", "Sort d", "Sort c", "Sort b", "Sort a"])):
        seen, cursor = [], None
        while True:
            params = {"tags": tag, "sort": sort, "direction": direction, "limit": 2, **({"cursor": cursor} if cursor
                                                                                        else {})}
            page = platform.get("/api/v1/customers", params=params, token=crew["tokens"]["east"]).json()
            seen += [c["name"].rsplit(" ", 1)[0] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == expected
    page = platform.get("/api/v1/customers", params={"tags": tag, "sort": "level", "direction": "asc"},
                        token=crew["tokens"]["east"]).json()
    assert [c["level"] for c in page["items"]] == ["A", "A", "B", "C", None]        # no level: last ascending
    first = platform.get("/api/v1/customers", params={"tags": tag, "sort": "level", "limit": 1},
                         token=crew["tokens"]["east"]).json()
    other = platform.get("/api/v1/customers", params={"tags": tag, "sort": "name", "cursor": first["next_cursor"]},
                         token=crew["tokens"]["east"])
    assert other.status_code == 422 and other.json()["errors"] == {"cursor": ["Invalid cursor."]}
