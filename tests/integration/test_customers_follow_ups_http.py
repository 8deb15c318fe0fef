"""Customers' follow-ups, the gathered reminders and recycling, end to end through the gateway.

A platform of its own (leads, customers, gateway on SQLite): its customers recycle timer runs every
half second, and the last test stops leads to show its part of the reminders marked unavailable
(the shared platform cannot lose a service)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import create_engine, text

from crm_kit.ids import new_id
from tests.integration.harness import Platform

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def plat(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("customers-follow-ups"), backend="sqlite",
                        services=("leads", "customers", "gateway"),
                        extra_env={"CUSTOMERS_RECYCLE_INTERVAL_SECONDS": "0.5",
                                   "GATEWAY_REMINDERS_DEADLINE_SECONDS": "1"})
    try:
        platform.start()
        yield platform
    finally:
        platform.destroy()


@pytest.fixture(scope="module")
def crew(plat):
    tag = new_id()[-6:]
    dept = plat.post("/api/v1/departments", json={"name": f"Follow-up sales {tag}"}).json()
    users, tokens = {}, {}
    for name in ("m1", "m2"):
        username = f"{name}-{tag}"
        resp = plat.post("/api/v1/users", json={"username": username, "password": "a long password",
                                                "role": "member", "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), plat.login(username, "a long password")
    return {"dept": dept, "users": users, "tokens": tokens}


def customer(plat, token, name=None, **fields) -> dict:
    resp = plat.post("/api/v1/customers", json={"name": name or f"Customer {new_id()[-8:]}", **fields}, token=token)
    assert resp.status_code == 201, resp.text
    return resp.json()


def backdate(plat, customer_id: str, days: int) -> None:
    """The owner received the customer ``days`` ago (nothing in the API can move that clock)."""
    engine = create_engine(plat.db_urls["customers"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET owner_since = :t WHERE id = :id"),
                     {"t": (dt.datetime.now(UTC) - days * DAY).replace(tzinfo=None), "id": customer_id})
    engine.dispose()


def recycle_pool(plat, rules, **extra) -> dict:
    resp = plat.post("/api/v1/customer-pools", json={"name": f"Pool {new_id()[-8:]}", "recycle_enabled": True,
                                                     "recycle_rules": rules, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_follow_ups(plat, crew):
    t = crew["tokens"]
    c = customer(plat, t["m1"])
    soon = (dt.datetime.now(UTC) + 2 * DAY).replace(microsecond=0)
    created = plat.post(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m1"], json={
        "kind": "visit", "content": "Visited the plant", "outcome": "wants a quote",
        "next_contact_at": soon.isoformat()})
    assert created.status_code == 201, created.text
    fu = created.json()
    assert created.headers["Location"].endswith(f"/api/v1/customers/{c['id']}/follow-ups/{fu['id']}")
    assert (fu["kind"], fu["author_id"]) == ("visit", crew["users"]["m1"]["id"])
    listed = plat.get(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m1"]).json()
    assert [x["id"] for x in listed["items"]] == [fu["id"]]
    assert plat.get(f"/api/v1/customers/{c['id']}/follow-ups/{fu['id']}", token=t["m1"]).json()["content"] == \
        "Visited the plant"
    got = plat.get(f"/api/v1/customers/{c['id']}", token=t["m1"]).json()
    assert got["last_followed_at"] == fu["created_at"]
    # another member sees none of it, exactly as if it did not exist
    assert plat.get(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m2"]).status_code == 404
    assert plat.post(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m2"],
                     json={"kind": "call", "content": "x"}).status_code == 404
    bad = plat.post(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m1"], json={"kind": "fax", "content": "x"})
    assert bad.status_code == 422 and "kind" in bad.json()["errors"]


def test_reminders_gathered_from_leads_and_customers(plat, crew):
    t, now = crew["tokens"], dt.datetime.now(UTC)
    lead = plat.post("/api/v1/leads", json={"name": "Li Lei", "company": "Acme"}, token=t["m2"]).json()
    assert plat.post(f"/api/v1/leads/{lead['id']}/follow-ups", token=t["m2"], json={
        "kind": "call", "content": "x", "next_contact_at": (now - DAY).isoformat()}).status_code == 201
    c = customer(plat, t["m2"], "Initech, Ltd.; 北京")
    assert plat.post(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m2"], json={
        "kind": "call", "content": "x", "next_contact_at": (now - 2 * DAY).isoformat()}).status_code == 201
    contact = plat.post("/api/v1/contacts", token=t["m2"], json={
        "customer_id": c["id"], "name": "Peter", "birthday": now.date().replace(year=1980).isoformat()})
    assert contact.status_code == 201, contact.text
    got = plat.get("/api/v1/me/reminders", token=t["m2"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["complete"] is True and body["next_cursor"] is None
    assert {k: (v["available"], v["count"]) for k, v in body["parts"].items()} == {
        "leads": (True, 1), "customers": (True, 2)}
    assert [(i["source"], i["kind"]) for i in body["items"]] == [
        ("customers", "next_contact"), ("leads", "next_contact"), ("customers", "birthday")]
    assert body["items"][1]["lead_id"] == lead["id"] and body["items"][2]["contact_id"] == contact.json()["id"]
    assert plat.get("/api/v1/me/reminders", token=t["m1"]).json()["items"] == []      # only one's own
    assert plat.get("/api/v1/me/reminders?limit=0", token=t["m2"]).status_code == 422
    # the calendar feed: the same reminders, parsed back
    feed = plat.get("/api/v1/me/reminders.ics", token=t["m2"])
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    raw = feed.content.decode("utf-8")
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n"))
    lines = raw.replace("\r\n ", "").split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    summaries = [line.split(":", 1)[1] for line in lines if line.startswith("SUMMARY:")]
    assert sorted(summaries) == sorted(["Contact customer Initech\\, Ltd.\\; 北京", "Contact lead Li Lei (Acme)",
                                        "Birthday: Peter (Initech\\, Ltd.\\; 北京)"])
    assert lines.count("BEGIN:VALARM") == 3 and len({x for x in lines if x.startswith("UID:")}) == 3
    assert any(re.fullmatch(r"DTSTART;VALUE=DATE:\d{8}", x) for x in lines)
    assert plat.get("/api/v1/me/reminders.ics", token=False).status_code == 401


def test_recycle_now_dry_run_then_for_real(plat, crew):
    t = crew["tokens"]
    pool = recycle_pool(plat, [{"level": None, "no_follow_up_days": 10, "warning_days": 2}],
                        recycle_department_ids=[crew["dept"]["id"]])
    c = customer(plat, t["m1"])
    later = (dt.datetime.now(UTC) + 11 * DAY).isoformat()
    dry = plat.post(f"/api/v1/customer-pools/{pool['id']}/recycle", json={"as_of": later, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert c["id"] in {i["customer_id"] for i in dry.json()["items"]} and dry.json()["dry_run"] is True
    assert plat.get(f"/api/v1/customers/{c['id']}").json()["owner_id"] == crew["users"]["m1"]["id"]
    # the owner is warned from two days before
    warned = plat.get(f"/api/v1/me/reminders?due_before={(dt.datetime.now(UTC) + 9 * DAY).isoformat()}"
                      .replace("+", "%2B"), token=t["m1"]).json()["items"]
    assert ("recycle_warning", c["id"], pool["id"]) in {(i["kind"], i.get("customer_id"), i["pool_id"])
                                                       for i in warned}
    assert plat.post(f"/api/v1/customer-pools/{pool['id']}/recycle", json={"as_of": later},
                     token=t["m1"]).status_code in (403, 404)
    done = plat.post(f"/api/v1/customer-pools/{pool['id']}/recycle", json={"as_of": later})
    assert done.status_code == 200 and c["id"] in {i["customer_id"] for i in done.json()["items"]}
    got = plat.get(f"/api/v1/customers/{c['id']}").json()
    assert (got["owner_id"], got["pool_id"]) == (None, pool["id"])
    history = plat.get(f"/api/v1/customers/{c['id']}/history").json()["items"]
    [entry] = [e for e in history if "recycle_rule" in e["changes"]]
    assert entry["action"] == "recycle" and entry["changes"]["recycle_rule"][1]["clock"] == "no_follow_up"
    bad = plat.post(f"/api/v1/customer-pools/{pool['id']}/recycle", json={"as_of": "soon"})
    assert bad.status_code == 422 and "as_of" in bad.json()["errors"]


def test_the_timer_recycles_by_itself(plat, crew):
    t = crew["tokens"]
    # (priority: this pool, not the earlier test's for the same department, takes the customers)
    pool = recycle_pool(plat, [{"level": None, "no_follow_up_days": 5}], recycle_department_ids=[crew["dept"]["id"]],
                        priority=10)
    stale, fresh = customer(plat, t["m2"]), customer(plat, t["m2"])
    backdate(plat, stale["id"], 6)
    got = plat.eventually(lambda: (lambda c: c if c["owner_id"] is None else None)(
        plat.get(f"/api/v1/customers/{stale['id']}").json()))
    assert got["pool_id"] == pool["id"] and got["previous_owner_id"] == crew["users"]["m2"]["id"]
    assert plat.get(f"/api/v1/customers/{fresh['id']}").json()["owner_id"] == crew["users"]["m2"]["id"]
    history = plat.get(f"/api/v1/customers/{stale['id']}/history").json()["items"]
    [entry] = [e for e in history if "recycle_rule" in e["changes"]]
    assert entry["actor_id"] == "customers" and entry["changes"]["recycle_rule"][1]["pool_id"] == pool["id"]


def test_a_stopped_service_leaves_its_part_unavailable(plat, crew):
    """(Last: it stops leads.)"""
    t = crew["tokens"]
    c = customer(plat, t["m1"])
    plat.post(f"/api/v1/customers/{c['id']}/follow-ups", token=t["m1"], json={
        "kind": "call", "content": "x", "next_contact_at": (dt.datetime.now(UTC) - DAY).isoformat()})
    for proc in plat.procs["leads"]:
        proc.terminate()
        proc.wait(30)
    got = plat.get("/api/v1/me/reminders", token=t["m1"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["complete"] is False
    assert (body["parts"]["leads"]["available"], body["parts"]["leads"]["reason"]) == (False, "not_answered")
    assert body["parts"]["customers"]["available"] is True
    assert c["id"] in {i.get("customer_id") for i in body["items"]}
    feed = plat.get("/api/v1/me/reminders.ics", token=t["m1"])
    assert feed.status_code == 503 and feed.headers.get("Retry-After")
