"""Signed webhooks over the real broker: leads created and updated through the gateway reach a real
HTTP receiver on loopback that verifies every signature and fails on purpose for a while; once it
recovers every event has arrived (deduped by ``webhook-id``), in order per lead for the ordered
subscription, and the delivery log shows the failed attempts. A receiver that never recovers has its
subscription disabled, and the ``webhook_subscription_disabled`` event goes out through the broker
(to a third receiver subscribed to it). A replay sends a time range again with the same ids.

Loopback receivers are allowed by the operator's ``WEBHOOKS_ALLOW_PRIVATE``; the retry waits are
short (``WEBHOOKS_RETRY_SCHEDULE``); a subscription is disabled after 8 failed attempts in a row."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.harness import Platform
from tests.integration.webhook_receiver import Receiver

LEADS = 6
FAIL_FIRST = 6          # the flaky receiver answers 503 to its first six requests


@pytest.fixture(scope="module")
def hooks_platform(tmp_path_factory):
    plat = Platform(tmp_path_factory.mktemp("webhooks"), backend="sqlite", services=("leads", "webhooks", "gateway"),
                    extra_env={"WEBHOOKS_ALLOW_PRIVATE": "true",
                               "WEBHOOKS_RETRY_SCHEDULE": "0.2,0.2,0.4,0.4,0.8,0.8,1,1,1,1,1,1",
                               "WEBHOOKS_DISABLE_AFTER_FAILURES": "8", "WEBHOOKS_DISABLE_AFTER_SECONDS": "0",
                               "WEBHOOKS_SEND_INTERVAL_SECONDS": "0.2", "WEBHOOKS_TIMEOUT_SECONDS": "5"})
    receivers = []
    try:
        plat.start()
        plat.receivers = receivers
        yield plat
    finally:
        for receiver in receivers:
            receiver.stop()
        plat.destroy()


def _receiver(plat) -> Receiver:
    receiver = Receiver().start()
    plat.receivers.append(receiver)
    return receiver


def _subscribe(plat, receiver, **data) -> dict:
    resp = plat.post("/api/v1/webhooks", json={"url": receiver.url, **data})
    assert resp.status_code == 201, resp.text
    receiver.secret = resp.json()["secret"]
    return resp.json()


def test_every_event_arrives_signed_in_order_once_the_receiver_recovers(hooks_platform):
    plat = hooks_platform
    flaky, watcher, dead = _receiver(plat), _receiver(plat), _receiver(plat)
    flaky.fail_next = FAIL_FIRST
    dead.failing = True
    ordered = _subscribe(plat, flaky, event_types=["lead_created", "lead_updated"], ordered=True)
    assert ordered["secret"].startswith("whsec_") and ordered["active"] is True
    assert "secret" not in plat.get(f"/api/v1/webhooks/{ordered['id']}").json()
    notified = _subscribe(plat, watcher, event_types=["webhook_subscription_disabled"])
    doomed = _subscribe(plat, dead, event_types=["lead_created"])

    started = dt.datetime.now(dt.timezone.utc)
    expected: dict[str, list[str]] = {}        # lead id -> its event types, in the order raised
    for i in range(LEADS):
        lead = plat.post("/api/v1/leads", json={"name": f"Hooked {i}", "company": "Receivers Inc"})
        assert lead.status_code == 201, lead.text
        lead = lead.json()
        updated = plat.request("PATCH", f"/api/v1/leads/{lead['id']}", json={"company": f"Renamed {i}"},
                               headers={"If-Match": str(lead["version"])})
        assert updated.status_code == 200, updated.text
        expected[lead["id"]] = ["lead_created", "lead_updated"]

    def arrived():
        got = [env for env in list(flaky.events.values()) if env["payload"].get("lead_id") in expected]
        return got if len(got) == 2 * LEADS else None

    envelopes = plat.eventually(arrived, timeout=60)
    assert flaky.bad_signatures == 0
    assert sum(1 for r in flaky.requests if r["status"] == 503) == FAIL_FIRST
    # in order per lead (the ordered subscription's key): created before updated, by arrival
    by_arrival = {msg_id: n for n, (msg_id, _) in enumerate(flaky.arrived)}
    for lead_id, types in expected.items():
        mine = sorted((e for e in envelopes if e["payload"]["lead_id"] == lead_id),
                      key=lambda e: by_arrival[e["event_id"]])
        assert [e["event_type"] for e in mine] == types
    # the delivery log shows the failed attempts, their status and response time
    log = plat.eventually(lambda: (lambda items: items if all(d["status"] == "succeeded" for d in items)
                                   and len(items) == 2 * LEADS else None)(
        plat.get(f"/api/v1/webhooks/{ordered['id']}/deliveries", params={"limit": 100}).json()["items"]))
    attempts = [a for d in log for a in d["attempt_log"]]
    assert sum(1 for a in attempts if a["status_code"] == 503) == FAIL_FIRST
    assert all(a["response_ms"] >= 0 and a["address"] == "127.0.0.1" for a in attempts)
    assert any(d["attempts"] > 1 for d in log)
    page = plat.get(f"/api/v1/webhooks/{ordered['id']}/deliveries", params={"limit": 5}).json()
    assert len(page["items"]) == 5 and page["next_cursor"]

    # the receiver that never recovers: disabled after 8 failures in a row, and the event says so
    disabled = plat.eventually(lambda: (lambda s: s if s["active"] is False else None)(
        plat.get(f"/api/v1/webhooks/{doomed['id']}").json()), timeout=60)
    assert disabled["consecutive_failures"] >= 8 and "the limit: 8" in disabled["disabled_reason"]
    notice = plat.eventually(lambda: [e for e in watcher.events.values()
                                      if e["event_type"] == "webhook_subscription_disabled"], timeout=30)
    assert notice[0]["payload"]["id"] == doomed["id"] and notice[0]["payload"]["last_error"] == "HTTP 503"
    assert notice[0]["payload"]["rule"]["rule"] == "webhooks.disable_after_failures"
    assert watcher.bad_signatures == 0 and notified["id"] != doomed["id"]

    # a replay of the range: every event sent again with the same webhook-id; the receiver dedupes
    before = len(flaky.requests)
    replay = plat.post(f"/api/v1/webhooks/{ordered['id']}/replay", json={
        "from": (started - dt.timedelta(seconds=5)).isoformat(),
        "to": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)).isoformat()})
    assert replay.status_code == 202, replay.text
    assert replay.json()["deliveries"] == 2 * LEADS
    plat.eventually(lambda: len(flaky.requests) >= before + 2 * LEADS, timeout=30)
    assert len(flaky.events) == 2 * LEADS and flaky.bad_signatures == 0


def test_admin_only_and_ssrf_refusals_through_the_gateway(hooks_platform):
    plat = hooks_platform
    resp = plat.post("/api/v1/webhooks", json={"url": "ftp://127.0.0.1/", "event_types": ["*"]})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    resp = plat.post("/api/v1/webhooks", json={"url": "https://example.com/", "event_types": ["no_such_event"]})
    assert resp.status_code == 422
    user = plat.post("/api/v1/users", json={"username": "hooks-member", "password": "a long password",
                                            "role": "member"})
    assert user.status_code == 201, user.text
    token = plat.login("hooks-member", "a long password")
    assert plat.get("/api/v1/webhooks", token=token).status_code == 403
    receiver = _receiver(plat)
    created = _subscribe(plat, receiver, event_types=["*"])
    rotated = plat.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    gone = plat.request("DELETE", f"/api/v1/webhooks/{created['id']}",
                        headers={"If-Match": str(rotated.json()["version"])})
    assert gone.status_code == 204, gone.text
    assert plat.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
