"""The webhooks use cases on SQLite with a real HTTP receiver on loopback: subscriptions (admins, the
SSRF check, the secret shown once), intake of events, the sender's rounds (signed, retried by the
schedule, ordered per key, the log), disabling after failures, replays."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Forbidden, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from services.webhooks.application import deliveries, intake, sending, subscriptions
from services.webhooks.application.settings import settings
from services.webhooks.models import Base, WebhookDelivery, WebhookSubscription
from tests.integration.webhook_receiver import Receiver
from tests.unit.conftest import ADMIN, MANAGER_D1


@pytest.fixture
def db(make_db, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("WEBHOOKS_RETRY_SCHEDULE", "0,0,0")
    monkeypatch.setenv("WEBHOOKS_TIMEOUT_SECONDS", "3")
    return make_db(Base, "webhooks")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _subscribe(db, receiver, **data) -> dict:
    created = subscriptions.create_webhook_subscription(db.uow(), ADMIN, {
        "url": receiver.url, "event_types": ["lead_created", "lead_updated"], **data})
    receiver.secret = created["secret"]
    return created


def _event(name="lead_created", record="L1", producer="leads") -> dict:
    return {"event_id": new_id(), "event_type": name, "schema_version": 1, "occurred_at": utcnow().isoformat(),
            "producer": producer, "actor": None, "correlation_id": "req-1", "payload": {"id": record}}


def _consume(db, envelope) -> int:
    uow = db.uow(inbox_key=("webhooks.on_x", envelope["event_id"]))
    return intake.record_event(uow, envelope)


def _send(db, **kwargs):
    return sending.send_due(db.uow(), utcnow(), **kwargs)


def test_only_admins_manage_subscriptions(db, receiver):
    with pytest.raises(Forbidden):
        subscriptions.create_webhook_subscription(db.uow(), MANAGER_D1, {"url": receiver.url, "event_types": ["*"]})
    created = _subscribe(db, receiver)
    for call in (lambda: subscriptions.get_webhook_subscription(db.uow(), MANAGER_D1, created["id"]),
                 lambda: deliveries.list_webhook_deliveries(db.uow(), MANAGER_D1, created["id"])):
        with pytest.raises(Forbidden):
            call()


def test_the_secret_is_shown_on_create_and_rotate_only(db, receiver):
    created = _subscribe(db, receiver)
    assert created["secret"].startswith("whsec_")
    assert "secret" not in subscriptions.get_webhook_subscription(db.uow(), ADMIN, created["id"])
    assert all("secret" not in s for s in subscriptions.list_webhook_subscriptions(db.uow(), ADMIN)["items"])
    rotated = subscriptions.rotate_webhook_secret(db.uow(), ADMIN, created["id"])
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_until"]


@pytest.mark.parametrize("url, allowed", [
    ("http://127.0.0.1:9/hook", "false"), ("http://10.0.0.8/hook", "false"), ("http://169.254.169.254/", "false"),
    ("http://localhost:9/hook", "false"), ("ftp://example.com/", "true"),
])
def test_refused_urls(db, monkeypatch, url, allowed):
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", allowed)
    with pytest.raises(ValidationFailed) as caught:
        subscriptions.create_webhook_subscription(db.uow(), ADMIN, {"url": url, "event_types": ["*"]})
    assert "url" in caught.value.extra["errors"]


def test_unknown_event_types_are_refused(db, receiver):
    with pytest.raises(ValidationFailed):
        subscriptions.create_webhook_subscription(db.uow(), ADMIN, {"url": receiver.url, "event_types": ["nope"]})


def test_a_consumed_event_is_delivered_signed_and_logged(db, receiver):
    sub = _subscribe(db, receiver)
    other = _subscribe(db, receiver, event_types=["order_approved"])     # another type: nothing for it
    receiver.secret = sub["secret"]
    envelope = _event()
    assert _consume(db, envelope) == 1
    totals = _send(db)
    assert totals["succeeded"] == 1 and receiver.bad_signatures == 0
    assert receiver.events[envelope["event_id"]] == envelope            # the envelope, as consumed
    log = deliveries.list_webhook_deliveries(db.uow(), ADMIN, sub["id"])["items"]
    assert [(d["event_id"], d["status"], d["attempts"]) for d in log] == [(envelope["event_id"], "succeeded", 1)]
    assert log[0]["attempt_log"][0]["status_code"] == 200 and log[0]["attempt_log"][0]["response_ms"] >= 0
    assert deliveries.list_webhook_deliveries(db.uow(), ADMIN, other["id"])["items"] == []


def test_failures_are_retried_by_the_schedule_then_given_up(db, receiver, monkeypatch):
    sub = _subscribe(db, receiver)
    receiver.fail_next = 2
    envelope = _event()
    _consume(db, envelope)
    _send(db)                                           # 503, 503, 200 (waits of 0 s)
    log = deliveries.list_webhook_deliveries(db.uow(), ADMIN, sub["id"])["items"][0]
    assert (log["status"], log["attempts"]) == ("succeeded", 3)
    assert [a["status_code"] for a in log["attempt_log"]] == [503, 503, 200]
    receiver.failing = True
    second = _event("lead_updated")
    _consume(db, second)
    _send(db)                                           # 4 attempts (schedule of 3 waits), then failed
    failed = deliveries.list_webhook_deliveries(db.uow(), ADMIN, sub["id"], {"status": "failed"})["items"]
    assert [(d["event_id"], d["attempts"]) for d in failed] == [(second["event_id"], 4)]


def test_a_real_schedule_waits_between_attempts(db, receiver, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_RETRY_SCHEDULE", "")          # the default: 5 s after the first failure
    sub = _subscribe(db, receiver)
    receiver.failing = True
    _consume(db, _event())
    before = utcnow()
    _send(db, rand=lambda: 0.5)
    delivery = db.all(WebhookDelivery)[0]
    assert delivery.attempts == 1 and delivery.status == "pending"
    assert 4.5 <= (delivery.next_attempt_at - before).total_seconds() <= 6
    assert db.all(WebhookSubscription)[0].consecutive_failures == 1
    assert sub["id"] == delivery.subscription_id


def test_ordered_subscriptions_deliver_a_key_in_order_while_failing(db, receiver, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_RETRY_SCHEDULE", "0,0,0,0,0,0,0,0")
    _subscribe(db, receiver, ordered=True)
    receiver.fail_next = 3
    events = [_event("lead_created" if i == 0 else "lead_updated", record="L1") for i in range(4)]
    events += [_event("lead_created", record="L2")]
    for envelope in events:
        _consume(db, envelope)
    _send(db)
    l1 = [i for i, _ in receiver.arrived if i in {e["event_id"] for e in events[:4]}]
    assert l1 == [e["event_id"] for e in events[:4]]
    assert set(receiver.events) == {e["event_id"] for e in events}


def test_a_run_of_failures_disables_with_an_event_and_active_again_sends_what_waited(db, receiver, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_RETRY_SCHEDULE", "0,0,0,0,0,0")
    monkeypatch.setenv("WEBHOOKS_DISABLE_AFTER_FAILURES", "3")
    monkeypatch.setenv("WEBHOOKS_DISABLE_AFTER_SECONDS", "0")
    sub = _subscribe(db, receiver)
    receiver.failing = True
    envelope = _event()
    _consume(db, envelope)
    totals = _send(db)
    assert totals["disabled"] == 1
    got = subscriptions.get_webhook_subscription(db.uow(), ADMIN, sub["id"])
    assert got["active"] is False and got["consecutive_failures"] == 3 and "3 failed attempts" in got["disabled_reason"]
    (event,) = db.outbox("webhook_subscription_disabled")
    assert event.body["payload"]["rule"]["rule"] == "webhooks.disable_after_failures"
    assert event.body["payload"]["last_error"] == "HTTP 503"
    assert _send(db)["attempts"] == 0                     # disabled: nothing goes
    receiver.failing = False
    subscriptions.update_webhook_subscription(db.uow(), ADMIN, sub["id"], {"active": True})
    assert _send(db)["succeeded"] == 1 and envelope["event_id"] in receiver.events


def test_a_replay_sends_the_range_again_with_the_same_ids(db, receiver):
    sub = _subscribe(db, receiver)
    first, second = _event(), _event("lead_updated")
    for envelope in (first, second):
        _consume(db, envelope)
    _send(db)
    now = utcnow()
    replay = deliveries.replay_webhook_events(db.uow(), ADMIN, sub["id"], {
        "from": (now - dt.timedelta(minutes=5)).isoformat(), "to": (now + dt.timedelta(minutes=1)).isoformat()})
    assert replay["deliveries"] == 2
    _send(db)
    assert [r["id"] for r in receiver.requests] == [first["event_id"], second["event_id"]] * 2
    assert len(receiver.events) == 2                      # deduped by webhook-id
    with pytest.raises(ValidationFailed):
        deliveries.replay_webhook_events(db.uow(), ADMIN, sub["id"], {"from": now.isoformat(), "to": now.isoformat()})


def test_dns_rebinding_is_refused_at_delivery(db, receiver, monkeypatch):
    sub = _subscribe(db, receiver)
    _consume(db, _event())
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", "false")        # the name now resolves to loopback: refused
    _send(db)
    attempt = deliveries.list_webhook_deliveries(db.uow(), ADMIN, sub["id"])["items"][0]["attempt_log"][0]
    assert attempt["error"].startswith("refused:") and attempt["address"] is None and receiver.requests == []


def test_the_settings_defaults():
    s = settings()
    assert s.allow_private is False and s.disable_after_failures == 100


def test_a_duplicate_event_is_consumed_once(db, receiver):
    _subscribe(db, receiver)
    envelope = _event()
    _consume(db, envelope)
    from crm_kit.runtime.uow import DuplicateEvent
    with pytest.raises(DuplicateEvent):
        _consume(db, envelope)
    assert db.count(WebhookDelivery) == 1


def test_a_subscription_is_deleted_with_its_pending_deliveries(db, receiver):
    sub = _subscribe(db, receiver)
    receiver.failing = True
    _consume(db, _event())
    subscriptions.delete_webhook_subscription(db.uow(), ADMIN, sub["id"])
    assert db.count(WebhookDelivery) == 0 and db.count(WebhookSubscription) == 0


