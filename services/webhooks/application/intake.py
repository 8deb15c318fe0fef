"""Every event consumed (a handler per event of the catalogue, the kit's idempotent consumers): the
event is stored as the JSON its deliveries send, and a pending delivery is written for each active
subscription taking its type -- in the transaction that marks the event processed, so an event is
either consumed with all its deliveries or not at all (and then redelivered by the broker)."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import or_, select

from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.webhooks.domain.ordering import order_key
from services.webhooks.events.subscribed import ALL
from services.webhooks.models import (
    PENDING,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    WebhookSubscriptionEventType,
)

EVENT_ORIGIN = "event"


def body_of(envelope: dict) -> str:
    """What a delivery sends (and signs): the envelope as the catalogue documents it, compact JSON."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def record_event(uow: UnitOfWork, envelope: dict) -> int:
    """Store the event and a delivery per matching active subscription; returns how many."""
    with uow:
        session, now = uow.session, utcnow()
        name = envelope["event_type"]
        key = order_key(envelope)
        if session.get(WebhookEvent, envelope["event_id"]) is None:
            uow.insert(WebhookEvent.__table__, [{
                "event_id": envelope["event_id"], "event_type": name, "producer": envelope["producer"],
                "order_key": key[:200], "occurred_at": _when(envelope["occurred_at"]), "received_at": now,
                "body": body_of(envelope)}])
        subscriptions = session.scalars(
            select(WebhookSubscription.id).join(WebhookSubscriptionEventType).where(
                WebhookSubscription.active.is_(True),
                or_(WebhookSubscriptionEventType.event_type == name, WebhookSubscriptionEventType.event_type == ALL),
            ).distinct()).all()
        if subscriptions:
            uow.insert(WebhookDelivery.__table__, [
                delivery_row(subscription_id, envelope["event_id"], name, key, EVENT_ORIGIN, now)
                for subscription_id in sorted(subscriptions)])
        uow.commit()
        return len(subscriptions)


def delivery_row(subscription_id: str, event_id: str, event_type: str, key: str, origin: str,
                 now: dt.datetime) -> dict:
    return {"id": new_id(), "subscription_id": subscription_id, "event_id": event_id, "event_type": event_type,
            "order_key": key[:200], "origin": origin, "status": PENDING, "attempts": 0, "next_attempt_at": now,
            "claimed_until": None, "last_status_code": None, "last_error": None, "last_response_ms": None,
            "created_at": now, "completed_at": None}


def _when(text) -> dt.datetime:
    value = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
