"""The delivery log of a subscription (its deliveries, newest first, each with its attempts) and
replays: every stored event of the subscription's types that occurred in ``[from, to)`` delivered
again (new deliveries, ``origin`` ``replay:<replay id>``, the same ``webhook-id``: a receiver that
has them dedupes, one that lost them gets them). Admins only."""
from __future__ import annotations

from sqlalchemy import or_, select

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import require_admin
from crm_kit.runtime.uow import UnitOfWork
from services.webhooks.application.intake import delivery_row
from services.webhooks.application.settings import settings
from services.webhooks.application.subscriptions import _get
from services.webhooks.events.subscribed import ALL
from services.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from services.webhooks.schemas.deliveries import (
    WebhookAttemptOut,
    WebhookDeliveryListQuery,
    WebhookDeliveryOut,
    WebhookReplayOut,
    WebhookReplayRequest,
)

_query, _out, _replay_in, _replay_out = (WebhookDeliveryListQuery(), WebhookDeliveryOut(), WebhookReplayRequest(),
                                         WebhookReplayOut())
_attempt = WebhookAttemptOut()


def list_webhook_deliveries(uow: UnitOfWork, principal: Principal, subscription_id: str,
                            query: dict | None = None) -> dict:
    require_admin(principal, "read_webhook_deliveries")
    params = load(_query, query or {})
    with uow:
        session = uow.session
        _get(session, subscription_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        if params["status"]:
            stmt = stmt.where(WebhookDelivery.status == params["status"])
        if params["event_type"]:
            stmt = stmt.where(WebhookDelivery.event_type == params["event_type"])
        rows, next_cursor = paginate(session, stmt, WebhookDelivery.id, params["limit"], params["cursor"])
        log: dict[str, list] = {}
        if rows:
            for a in session.scalars(select(WebhookAttempt).where(
                    WebhookAttempt.delivery_id.in_([r.id for r in rows])).order_by(WebhookAttempt.number)):
                log.setdefault(a.delivery_id, []).append(a)
        items = []
        for row in rows:
            item = _out.dump(row)
            item["attempt_log"] = [_attempt.dump(a) for a in log.get(row.id, [])]
            items.append(item)
        return {"items": items, "next_cursor": next_cursor}


def replay_webhook_events(uow: UnitOfWork, principal: Principal, subscription_id: str, data: dict) -> dict:
    require_admin(principal, "replay_webhook_events")
    fields = load(_replay_in, data)
    config = settings()
    with uow:
        session = uow.session
        subscription = _get(session, subscription_id)
        types = subscription.event_types
        stmt = select(WebhookEvent.event_id, WebhookEvent.event_type, WebhookEvent.order_key).where(
            WebhookEvent.occurred_at >= fields["from"], WebhookEvent.occurred_at < fields["to"])
        if ALL not in types:
            stmt = stmt.where(or_(*(WebhookEvent.event_type == t for t in types)))
        events = session.execute(stmt.order_by(WebhookEvent.event_id).limit(config.replay_max + 1)).all()
        if len(events) > config.replay_max:
            raise ValidationFailed.from_messages({"to": [
                f"More than {config.replay_max} events in this range: replay a shorter one."]})
        replay_id, now = new_id(), utcnow()
        if events:
            uow.insert(WebhookDelivery.__table__, [
                delivery_row(subscription.id, e.event_id, e.event_type, e.order_key, f"replay:{replay_id}", now)
                for e in events])
        uow.audit_record("webhook_subscription", subscription.id, {"replay": [None, {
            "replay_id": replay_id, "from": fields["from"].isoformat(), "to": fields["to"].isoformat(),
            "deliveries": len(events)}]}, action="replay")
        reply = _replay_out.dump({"replay_id": replay_id, "subscription_id": subscription.id, "deliveries": len(events),
                                  "from": fields["from"], "to": fields["to"]})
        return uow.commit(reply)
