"""Who owned a customer, from when until when, and why: the owner history (``GET
/customers/{id}/owners``), and the facts of the claim limits (claims per day, the reclaim cooldown)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from services.customers.models.base import Base, partial_index


class CustomerOwnership(Base):
    """One stretch of ownership. ``start_kind``: how the owner got it (``created``, ``converted``,
    ``claim``, ``assign``, ``transfer``, ``merge``); ``end_kind``: how it ended (``return``,
    ``recycle``, ``assign``, ``transfer``, ``merge``, ``delete``), with the reason and who did it.
    The open stretch (``ended_at`` NULL) is the current owner's. Not audited itself: the customer's
    own audit entry carries the same change."""
    __tablename__ = "customer_ownership"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    pool_id: Mapped[str | None] = mapped_column(String(36))        # the pool it was claimed or assigned from
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    start_kind: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[str | None] = mapped_column(String(36))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    end_kind: Mapped[str | None] = mapped_column(String(20))
    end_reason: Mapped[str | None] = mapped_column(String(500))
    ended_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_customer_ownership_customer_id_started_at", "customer_id", "started_at"),
        Index("ix_customer_ownership_owner_id_start_kind_started_at", "owner_id", "start_kind", "started_at"),
        partial_index("ix_customer_ownership_customer_owner_ended", ("customer_id", "owner_id", "ended_at"),
                      "ended_at IS NOT NULL"),
    )
