"""A redelivered event changes nothing: the same lead_converted twice makes one customer."""
import datetime as dt
import json
import re

import requests
from kombu import Connection

from crm_kit.ids import new_id
from crm_kit.runtime.amqp import ConfirmingPublisher, event_exchange


def lead_converted_envelope(lead_id, company):
    return {
        "event_id": new_id(), "event_type": "lead_converted", "schema_version": 1,
        "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(), "producer": "leads",
        "actor": "tester", "correlation_id": f"dup-{lead_id}",
        "payload": {"lead_id": lead_id, "name": "赵六", "company": company, "phone": None, "email": None,
                    "source": "other", "campaign_id": None, "region": None, "industry": None,
                    "owner_id": "tester", "department_id": None,
                    "converted_at": dt.datetime.now(dt.timezone.utc).isoformat(), "opportunity": None},
    }


def all_customers(platform):
    items, cursor = [], None
    while True:
        page = platform.get("/api/v1/customers", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def handler_outcome(platform, outcome):
    text = requests.get(f"http://127.0.0.1:{platform.metrics_ports['customers']}/metrics", timeout=5).text
    m = re.search(r'crm_event_handler_messages_total\{event_type="lead_converted",'
                  r'handler="customers.handle_lead_converted",outcome="%s",service="customers"\} ([\d.]+)'
                  % outcome, text)
    return float(m.group(1)) if m else 0.0


def test_same_event_delivered_twice_creates_one_customer(platform):
    lead_id = new_id()
    company = f"Redelivery Ltd {lead_id[-6:]}"
    envelope = lead_converted_envelope(lead_id, company)
    duplicates_before = handler_outcome(platform, "duplicate")
    publisher = ConfirmingPublisher(platform.amqp_uri)
    try:
        for _ in range(2):  # exactly what a redelivery looks like: same body, same event id
            publisher.publish(envelope, exchange=event_exchange("leads"), routing_key="lead_converted",
                              headers={}, message_id=envelope["event_id"])
    finally:
        publisher.close()

    platform.eventually(lambda: handler_outcome(platform, "duplicate") >= duplicates_before + 1)
    matches = [c for c in all_customers(platform) if c["source_lead_id"] == lead_id]
    assert len(matches) == 1
    assert matches[0]["name"] == company
    contacts = platform.get(f"/api/v1/customers/{matches[0]['id']}/contacts").json()["items"]
    assert len(contacts) == 1
    # A duplicate is business as usual: one INFO line, no ERROR and no traceback to wake an SRE.
    lines = [json.loads(line) for line in platform.log("customers").splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == envelope["correlation_id"]]
    assert any(line["level"] == "INFO" and line["message"].endswith("duplicate") for line in mine), mine
    assert not [line for line in mine if line["level"] in ("ERROR", "CRITICAL") or "exc_info" in line], mine


def test_queues_have_dead_letter_policy(platform):
    with Connection(platform.amqp_uri) as conn, conn.channel() as channel:
        # passive declares succeed only if both queues exist
        channel.queue_declare("evt-leads-lead_converted--customers.handle_lead_converted", passive=True)
        channel.queue_declare("evt-leads-lead_converted--customers.handle_lead_converted.dlq", passive=True)
