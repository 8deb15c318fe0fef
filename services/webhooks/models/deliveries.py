"""The events received (kept ``WEBHOOKS_RETENTION_DAYS`` for replays), the deliveries (one per event
and matching subscription, and one per replayed event) and their attempts: the delivery log.

These are bookkeeping rows written with Core statements (like the outbox): not audited."""
from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime
from services.webhooks.models.base import Base

__all__ = ["WebhookEvent", "WebhookDelivery", "WebhookAttempt", "PENDING", "SUCCEEDED", "FAILED", "STATUSES"]

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
STATUSES = (PENDING, SUCCEEDED, FAILED)


class WebhookEvent(Base):
    """An event as it was consumed; ``body`` is the exact JSON every delivery of it sends (and signs)."""
    __tablename__ = "webhook_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    producer: Mapped[str] = mapped_column(String(50), nullable=False)
    order_key: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at = mapped_column(UtcDateTime, nullable=False)
    received_at = mapped_column(UtcDateTime, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_webhook_events_occurred_at", "occurred_at", "event_id"),)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(36), nullable=False)
    event_id: Mapped[str] = mapped_column(String(36), nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    order_key: Mapped[str] = mapped_column(String(200), nullable=False)
    origin: Mapped[str] = mapped_column(String(50), nullable=False)      # "event" or "replay:<replay id>"
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at = mapped_column(UtcDateTime, nullable=True)         # null once finished
    claimed_until = mapped_column(UtcDateTime, nullable=True)           # a sender's lease while it sends
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_response_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    completed_at = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", "origin"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", "event_id"),
        Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
        Index("ix_webhook_deliveries_key", "subscription_id", "order_key", "event_id"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), nullable=False)
    subscription_id: Mapped[str] = mapped_column(String(36), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at = mapped_column(UtcDateTime, nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    response_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_webhook_attempts_delivery_id", "delivery_id", "number"),
        Index("ix_webhook_attempts_started_at", "started_at"),
    )
