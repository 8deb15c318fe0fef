"""Follow-up activities (跟进记录) of a customer."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from services.customers.models.base import Base, partial_index


class CustomerFollowUp(Base):
    """One activity (``kind``: call, email, visit, sms, meeting, event, other), optionally with one
    of the customer's contacts, its outcome and the next contact time it sets. Audited as
    ``customer_follow_up``; visible and writable exactly when its customer is."""
    __tablename__ = "customer_follow_ups"
    __audit_entity__ = "customer_follow_up"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(500))
    next_contact_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    author_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_customer_follow_ups_customer_id_id", "customer_id", "id"),
        partial_index("ix_customer_follow_ups_author_next_contact", ("author_id", "next_contact_at"),
                      "next_contact_at IS NOT NULL"),
    )


from services.customers.models.records import Customer  # noqa: E402  (the scope parent)

CustomerFollowUp.__scope_parent__ = (CustomerFollowUp.customer_id, Customer)
