"""Webhook subscriptions: where events go, signed with whose secret, which event types, in order or
not, and the run of failures that may disable them."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import UtcDateTime
from crm_kit.records.sealed import Sealed
from services.webhooks.models.base import Base

__all__ = ["SEALING_KEYS", "WebhookSubscription", "WebhookSubscriptionEventType"]

SEALING_KEYS = "WEBHOOKS_SEALING_KEYS"      # the keys the signing secrets are sealed with (crm_kit.records.sealed)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Sealed at rest (it must sign every delivery, so it cannot be hashed): the README's security note.
    secret: Mapped[str] = mapped_column(Sealed(SEALING_KEYS), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(Sealed(SEALING_KEYS), nullable=True)
    previous_secret_until = mapped_column(UtcDateTime, nullable=True)
    ordered: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_at = mapped_column(UtcDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failing_since = mapped_column(UtcDateTime, nullable=True)
    last_success_at = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    updated_at = mapped_column(UtcDateTime, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    event_type_rows: Mapped[list["WebhookSubscriptionEventType"]] = relationship(
        cascade="all, delete-orphan", order_by="WebhookSubscriptionEventType.event_type", lazy="selectin")
    __audit_lists__ = {"event_types": ("event_type_rows", "event_type")}
    __audit_exclude__ = ("secret", "previous_secret")

    @property
    def event_types(self) -> list[str]:
        return [row.event_type for row in self.event_type_rows]


class WebhookSubscriptionEventType(Base):
    """One event type a subscription takes (``*``: every event)."""
    __tablename__ = "webhook_subscription_event_types"

    subscription_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_webhook_subscription_event_types_event_type", "event_type"),)
