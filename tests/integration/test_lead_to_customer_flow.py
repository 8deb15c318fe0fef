"""The first flow through the gateway, against the real broker and databases."""
import json
import re

import requests

from crm_kit.ids import new_id


def create_lead(platform, **overrides):
    digits = new_id()[-8:].translate(str.maketrans("abcdef", "123456"))
    body = {"name": "王小明", "company": f"Acme {new_id()[-8:]}", "phone": f"139{digits}",
            "email": "xiaoming@example.com", "source": "trade_show"}
    body.update(overrides)
    resp = platform.post("/api/v1/leads", json=body)
    assert resp.status_code == 201, resp.text
    return resp


def test_create_read_convert_lead_creates_customer_and_contact(platform):
    request_id = f"flow-{new_id()}"
    created = platform.post(
        "/api/v1/leads", json={"name": "李雷", "company": f"韩梅梅贸易 {new_id()[-6:]}",
                               "phone": "+86 138 " + new_id()[-8:].translate(str.maketrans("abcdef", "123456")),
                               "source": "web_form"},
        headers={"X-Request-ID": request_id})
    assert created.status_code == 201, created.text
    lead = created.json()
    assert created.headers["Location"] == f"/api/v1/leads/{lead['id']}"
    assert created.headers["X-Request-ID"] == request_id
    assert lead["status"] == "pending" and lead["version"] == 1

    read = platform.get(f"/api/v1/leads/{lead['id']}")
    assert read.status_code == 200 and read.json()["name"] == "李雷"

    converted = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={},
                              headers={"X-Request-ID": request_id})
    assert converted.status_code == 200, converted.text
    assert converted.json()["status"] == "converted"

    def lead_with_customer():
        body = platform.get(f"/api/v1/leads/{lead['id']}").json()
        return body if body["customer_id"] else None

    final = platform.eventually(lead_with_customer)
    assert final["status"] == "converted" and final["contact_id"]

    customer = platform.get(f"/api/v1/customers/{final['customer_id']}")
    assert customer.status_code == 200, customer.text
    customer = customer.json()
    assert customer["name"] == lead["company"] and customer["kind"] == "company"
    assert customer["source_lead_id"] == lead["id"]
    assert [c["id"] for c in customer["contacts"]] == [final["contact_id"]]
    assert customer["contacts"][0]["is_primary"] and customer["contacts"][0]["name"] == "李雷"
    assert customer["summary"] == {"opportunity_total": "0.00", "order_total": "0.00",
                                   "paid_total": "0.00", "outstanding": "0.00"}

    contacts = platform.get(f"/api/v1/customers/{final['customer_id']}/contacts").json()
    assert [c["id"] for c in contacts["items"]] == [final["contact_id"]]

    # The request id is in the JSON log lines of every process the request touched.
    for name in ("gateway", "leads", "customers"):
        lines = [json.loads(line) for line in platform.log(name).splitlines() if line.startswith("{")]
        assert any(rec.get("request_id") == request_id for rec in lines), f"{name}: no log line with {request_id}"


def test_converting_twice_is_a_conflict_naming_the_state(platform):
    lead = create_lead(platform).json()
    assert platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}).status_code == 200
    again = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={})
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"
    problem = again.json()
    assert problem["current_state"] == "converted" and "converted" in problem["detail"]


def test_list_leads_is_keyset_paginated(platform):
    ids = [create_lead(platform, source="referral").json()["id"] for _ in range(3)]
    page1 = platform.get("/api/v1/leads", params={"limit": 2, "source": "referral"}).json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = platform.get("/api/v1/leads", params={"limit": 2, "source": "referral",
                                                  "cursor": page1["next_cursor"]}).json()
    seen = [i["id"] for i in page1["items"] + page2["items"]]
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_metrics_count_requests_by_route_template(platform):
    lead = create_lead(platform).json()
    platform.get(f"/api/v1/leads/{lead['id']}")
    text = platform.get("/metrics").text
    assert re.search(r'crm_http_requests_total\{method="GET",route="/api/v1/leads/<lead_id>",status="200"\} \d', text)
    leads_metrics = requests.get(f"http://127.0.0.1:{platform.metrics_ports['leads']}/metrics", timeout=5).text
    assert 'crm_rpc_requests_total{method="create_lead",outcome="success",service="leads"}' in leads_metrics
    assert 'crm_events_published_total{event_type="lead_created",service="leads"}' in leads_metrics


def test_health_and_readiness(platform):
    assert platform.get("/healthz").json() == {"status": "ok"}
    ready = platform.get("/readyz")
    assert ready.status_code == 200, ready.text
    for name in ("leads", "customers", "sales", "billing", "marketing", "support", "analytics"):
        r = requests.get(f"http://127.0.0.1:{platform.metrics_ports[name]}/readyz", timeout=5)
        # every service has at least its RPC consumer, watched (crm_kit.runtime.consumer_health)
        assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "broker": "ok", "consumers": "ok"}
        live = requests.get(f"http://127.0.0.1:{platform.metrics_ports[name]}/healthz", timeout=5)
        assert live.status_code == 200 and live.json()["consumers"] == "ok", live.text


def converted_lead_with_customer(platform) -> dict:
    lead = create_lead(platform).json()
    assert platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}).status_code == 200

    def lead_with_customer():
        body = platform.get(f"/api/v1/leads/{lead['id']}").json()
        return body if body["customer_id"] and body["contact_id"] else None

    return platform.eventually(lead_with_customer)


def test_deleting_the_customer_of_a_converted_lead_clears_it_on_the_lead(platform):
    """No lead points at nothing: customers' customer_deleted reaches leads."""
    lead = converted_lead_with_customer(platform)
    customer = platform.get(f"/api/v1/customers/{lead['customer_id']}").json()
    request_id = f"delete-customer-{new_id()}"
    deleted = platform.request("DELETE", f"/api/v1/customers/{customer['id']}",
                               headers={"If-Match": str(customer["version"]), "X-Request-ID": request_id})
    assert deleted.status_code == 204, deleted.text
    assert platform.get(f"/api/v1/customers/{customer['id']}").status_code == 404

    def lead_without_customer():
        body = platform.get(f"/api/v1/leads/{lead['id']}").json()
        return body if body["customer_id"] is None else None

    final = platform.eventually(lead_without_customer)
    assert final["contact_id"] is None and final["status"] == "converted"
    history = platform.get(f"/api/v1/leads/{lead['id']}/history").json()["items"]
    entry = next(e for e in history if e["action"] == "customer_deleted")
    assert entry["changes"] == {"customer_id": [customer["id"], None], "contact_id": [lead["contact_id"], None]}
    assert entry["actor_id"] == platform.get("/api/v1/me").json()["id"]
    assert entry["request_id"] == request_id


def test_deleting_the_contact_of_a_converted_lead_clears_it_on_the_lead(platform):
    lead = converted_lead_with_customer(platform)
    contact = platform.get(f"/api/v1/contacts/{lead['contact_id']}").json()
    deleted = platform.request("DELETE", f"/api/v1/contacts/{contact['id']}",
                               headers={"If-Match": str(contact["version"])})
    assert deleted.status_code == 204, deleted.text

    def lead_without_contact():
        body = platform.get(f"/api/v1/leads/{lead['id']}").json()
        return body if body["contact_id"] is None else None

    final = platform.eventually(lead_without_contact)
    assert final["customer_id"] == lead["customer_id"]
