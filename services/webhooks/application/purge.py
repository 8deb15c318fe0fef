"""What is kept: events (for replays) and finished deliveries with their attempts, for
``WEBHOOKS_RETENTION_DAYS`` (30) after they arrived or finished; pending deliveries are never purged
(their events stay while one waits)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, select

from crm_kit.runtime.uow import UnitOfWork
from services.webhooks.application.settings import settings
from services.webhooks.models import PENDING, WebhookAttempt, WebhookDelivery, WebhookEvent


def purge(uow: UnitOfWork, as_of: dt.datetime) -> dict:
    cutoff = as_of - dt.timedelta(days=settings().retention_days)
    D = WebhookDelivery
    with uow:
        session = uow.session
        old = select(D.id).where(D.status != PENDING, D.completed_at < cutoff)
        attempts = session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old))).rowcount
        deliveries = session.execute(delete(D).where(D.status != PENDING, D.completed_at < cutoff)).rowcount
        events = session.execute(delete(WebhookEvent).where(
            WebhookEvent.received_at < cutoff,
            ~exists().where(D.event_id == WebhookEvent.event_id, D.status == PENDING))).rowcount
        uow.commit()
    return {"cutoff": cutoff.isoformat(), "events": events, "deliveries": deliveries, "attempts": attempts}
