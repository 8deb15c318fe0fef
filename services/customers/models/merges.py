"""Which duplicate customer was merged into which (the duplicate itself is gone)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from services.customers.models.base import Base


class CustomerMerge(Base):
    """A merge: ``merged_id`` (deleted, its name kept here) went into ``survivor_id``; ``moved``
    counts what moved (contacts, follow-ups, tags, team members, owner history). A request for the
    merged id answers 404 naming the survivor."""
    __tablename__ = "customer_merges"
    __audited__ = False        # the survivor's audit entry records the merge

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(String(36))
    merged_id: Mapped[str] = mapped_column(String(36), unique=True)
    merged_name: Mapped[str] = mapped_column(String(200))
    merged_by: Mapped[str | None] = mapped_column(String(36))
    merged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    moved: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_customer_merges_survivor_id", "survivor_id"),)
