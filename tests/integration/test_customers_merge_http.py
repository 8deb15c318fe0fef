"""Merging duplicate customers and the customer's overview through the gateway, on the real platform:
a converted lead's customer merged into another loses nothing, its id answers 404 naming the
survivor, and leads points the lead at the survivor (``customers_merged``); who may merge; the
overview gathers its parts within the deadline and marks those whose service does not answer (a
hung process: SIGSTOP) unavailable instead of failing the page."""
from __future__ import annotations

import signal
import time

import pytest

from crm_kit.ids import new_id

DEADLINE = 2.0          # GATEWAY_OVERVIEW_DEADLINE_SECONDS (the default)
GRACE = 0.5             # the RPC client's reply grace
PASSWORD = "a long password"


def _phone() -> str:
    return "139" + new_id()[-8:].translate(str.maketrans("abcdef", "123456"))


def _ok(resp, status=200):
    assert resp.status_code == status, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def pair(platform):
    """A customer made from a converted lead (the duplicate, with a follow-up), and the one by hand
    that stays (with a contact and tags)."""
    tag = new_id()[-6:]
    lead = _ok(platform.post("/api/v1/leads", json={"name": "Jonas Keller", "company": f"Keller {tag}",
                                                    "phone": _phone(), "source": "trade_show"}), 201)
    _ok(platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}))
    converted = platform.eventually(lambda: platform.get(f"/api/v1/leads/{lead['id']}").json()["customer_id"] and
                                    platform.get(f"/api/v1/leads/{lead['id']}").json())
    duplicate = _ok(platform.get(f"/api/v1/customers/{converted['customer_id']}"))
    _ok(platform.request("PATCH", f"/api/v1/customers/{duplicate['id']}", json={"tags": ["berlin"], "region": "Berlin"},
                         headers={"If-Match": str(duplicate["version"])}))
    _ok(platform.post(f"/api/v1/customers/{duplicate['id']}/follow-ups",
                      json={"kind": "visit", "content": "Visited the depot"}), 201)
    survivor = _ok(platform.post("/api/v1/customers", json={
        "name": f"Keller Logistik {tag}", "tags": ["vip"],
        "contacts": [{"name": "Maria Keller", "phone": _phone()}]}), 201)
    return {"lead": converted, "duplicate": duplicate, "survivor": survivor}


@pytest.fixture(scope="module")
def merged(platform, pair):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    return _ok(platform.post(f"/api/v1/customers/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}))


def test_the_merge_keeps_everything_and_names_the_survivor(platform, pair, merged):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    after = merged["customer"]
    assert after["id"] == survivor["id"] and after["source_lead_id"] == pair["lead"]["id"]
    assert sorted(after["tags"]) == ["berlin", "vip"] and after["region"] == "Berlin"
    assert {c["id"] for c in after["contacts"]} == {c["id"] for c in survivor["contacts"] + duplicate["contacts"]}
    follow_ups = _ok(platform.get(f"/api/v1/customers/{survivor['id']}/follow-ups"))["items"]
    assert [f["content"] for f in follow_ups] == ["Visited the depot"]
    assert merged["merge"]["merged_id"] == duplicate["id"] and merged["merge"]["moved"]["contacts"] == 1
    gone = platform.get(f"/api/v1/customers/{duplicate['id']}")
    assert gone.status_code == 404 and survivor["id"] in gone.json()["detail"]


def test_leads_points_the_converted_lead_at_the_survivor(platform, pair, merged):
    lead_id, survivor = pair["lead"]["id"], pair["survivor"]["id"]
    lead = platform.eventually(lambda: (body := platform.get(f"/api/v1/leads/{lead_id}").json())
                               ["customer_id"] == survivor and body)
    assert lead["contact_id"] == pair["lead"]["contact_id"]             # its contact is the survivor's now
    history = _ok(platform.get(f"/api/v1/leads/{lead_id}/history"))["items"]
    assert history[0]["action"] == "customers_merged"


def test_the_overview_gathers_every_part(platform, pair, merged):
    survivor = pair["survivor"]["id"]
    page = platform.eventually(lambda: (body := _ok(platform.get(f"/api/v1/customers/{survivor}/overview")))
                               ["source_lead"]["available"] and body)
    assert page["customer"]["id"] == survivor and len(page["customer"]["contacts"]) == 2
    assert [f["content"] for f in page["follow_ups"]] == ["Visited the depot"]
    assert page["deal"]["deal_status"] == "prospect" and page["deal"]["summary"]["outstanding"] == "0.00"
    assert page["source_lead"]["data"]["id"] == pair["lead"]["id"]
    assert page["source_lead_follow_ups"] == {"available": True, "items": [], "reason": None, "detail": None}
    # sales, billing and support answer (nothing for this customer)
    for name in ("open_opportunities", "recent_orders", "open_receivables", "tickets"):
        assert page[name] == {"available": True, "items": [], "reason": None, "detail": None}
    assert page["unavailable"] == []


def test_the_overview_marks_a_hung_service_unavailable_within_the_deadline(platform, pair, merged):
    survivor = pair["survivor"]["id"]
    stopped = [platform.procs[name][0] for name in ("leads", "sales")]
    for proc in stopped:
        proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        resp = platform.get(f"/api/v1/customers/{survivor}/overview")
        elapsed = time.monotonic() - started
    finally:
        for proc in stopped:
            proc.send_signal(signal.SIGCONT)
    page = _ok(resp)
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + GRACE + 2, elapsed      # waited for leads, not longer
    for name in ("source_lead", "source_lead_follow_ups"):
        assert page[name]["available"] is False and page[name]["reason"] == "not_answered", page[name]
    assert page["customer"]["id"] == survivor and page["follow_ups"]        # the rest of the page is there
    assert set(page["unavailable"]) >= {"source_lead", "source_lead_follow_ups"}
    again = platform.eventually(lambda: (body := _ok(platform.get(f"/api/v1/customers/{survivor}/overview")))
                                ["source_lead"]["available"] and body, timeout=15)
    assert again["source_lead"]["data"]["id"] == pair["lead"]["id"]


def test_the_overview_of_a_merged_id_is_a_404_naming_the_survivor(platform, pair, merged):
    resp = platform.get(f"/api/v1/customers/{pair['duplicate']['id']}/overview")
    assert resp.status_code == 404 and pair["survivor"]["id"] in resp.json()["detail"]


def test_who_may_merge(platform):
    """Whoever may change both: an owner with a read member's access to the other is refused (403),
    one who cannot see it is told 404; a manager of both owners' department merges them."""
    tag = new_id()[-6:]
    dept = _ok(platform.post("/api/v1/departments", json={"name": f"Merge {tag}"}), 201)
    users, tokens = {}, {}
    for name, role in (("one", "member"), ("two", "member"), ("boss", "manager")):
        users[name] = _ok(platform.post("/api/v1/users", json={
            "username": f"{name}-{tag}", "password": PASSWORD, "role": role, "department_id": dept["id"]}), 201)
        tokens[name] = platform.login(f"{name}-{tag}", PASSWORD)
    mine = _ok(platform.post("/api/v1/customers", json={"name": f"Mine {tag}"}, token=tokens["one"]), 201)
    theirs = _ok(platform.post("/api/v1/customers", json={"name": f"Theirs {tag}"}, token=tokens["two"]), 201)
    url = f"/api/v1/customers/{mine['id']}/merge"

    assert platform.post(url, json={"duplicate_id": theirs["id"]}, token=tokens["one"]).status_code == 404
    _ok(platform.post(f"/api/v1/customers/{theirs['id']}/team", json={"user_id": users["one"]["id"],
                                                                      "access": "read"}, token=tokens["two"]))
    assert platform.post(url, json={"duplicate_id": theirs["id"]}, token=tokens["one"]).status_code == 403
    bad = platform.post(url, json={"duplicate_id": mine["id"]}, token=tokens["one"])
    assert bad.status_code == 422 and "duplicate_id" in bad.json()["errors"]
    assert _ok(platform.get(f"/api/v1/customers/{theirs['id']}"))["id"] == theirs["id"]   # nothing merged
    done = _ok(platform.post(url, json={"duplicate_id": theirs["id"]}, token=tokens["boss"]))
    assert done["merge"]["merged_by"] == users["boss"]["id"]
    team = _ok(platform.get(f"/api/v1/customers/{mine['id']}/team"))["items"]
    assert {(m["user_id"], m["access"]) for m in team} == {(users["two"]["id"], "read_write")}
