"""Scenarios of the webhooks service: a subscription whose receiver keeps failing is disabled
(``webhook_subscription_disabled``, through the sender's real rounds with an attempt that fails); and
its handler of every event of the catalogue: the example stored with a delivery for a subscription to
every event."""
from __future__ import annotations

import dataclasses

from crm_kit.records.db import utcnow
from services.webhooks.application import intake, sending, subscriptions
from services.webhooks.application.settings import settings
from services.webhooks.application.transport import Outcome
from services.webhooks.entrypoints.intake import handler_name
from services.webhooks.events.subscribed import subscribed
from services.webhooks.models import WebhookDelivery, WebhookEvent
from tests.contract.support import ADMIN, Consuming, Producing


def _public(host, port):
    return ["93.184.215.14"]


def _subscribe(dbs, types) -> str:
    return subscriptions.create_webhook_subscription(dbs("webhooks").uow(), ADMIN, {
        "url": "https://hooks.example.com/crm", "event_types": types}, resolver=_public)["id"]


def disabled_after_failures(dbs):
    db = dbs("webhooks")
    _subscribe(dbs, ["*"])
    intake.record_event(db.uow(inbox_key=("webhooks.on_leads_lead_created", "e-1")), {
        "event_id": "01933b50-1f00-7a00-8000-0000000e0001", "event_type": "lead_created", "schema_version": 1,
        "occurred_at": utcnow().isoformat(), "producer": "leads", "actor": None, "correlation_id": None,
        "payload": {"id": "L1"}})
    config = dataclasses.replace(settings(), schedule=(0.0, 0.0), disable_after_failures=2, disable_after_seconds=0)

    def failing(url, secrets_, msg_id, body, now, timeout, resolver, allow_private):
        return Outcome(False, 503, "HTTP 503", 3, "93.184.215.14")

    sending.send_due(db.uow(), utcnow(), attempt=failing, config=config)


PRODUCERS = [Producing("webhooks", disabled_after_failures, frozenset({"webhook_subscription_disabled"}))]


def _every_event(dbs, envelope):
    _subscribe(dbs, ["*"])
    return envelope


def _stored_with_a_delivery(dbs, payload):
    with dbs("webhooks").session_factory() as session:
        assert session.query(WebhookEvent).count() == 1
        assert session.query(WebhookDelivery).count() == 1


CONSUMERS = {
    (producer, event, f"webhooks.{handler_name(producer, event)}"):
        Consuming(intake.record_event, _stored_with_a_delivery, prepare=_every_event)
    for producer, event in subscribed()
}
