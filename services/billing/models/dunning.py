"""Dunning notices (催收): which level of the dunning ladder each due was sent, once.

- ``dunning_notices``: one row per due and level sent (``due_key``: the instalment's id for a
  receivable with a plan, else the receivable's; unique with ``level``, so a level is sent once even
  when two runs meet); the receivable and the instalment, the level's offset, when (the run's
  ``as_of``) and the rule with its inputs (``domain.dunning.Reminder.inputs``). The receivable's audit
  entry (action ``dun``) carries the same rule; the notice is not audited on its own.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from services.billing.models.base import Base

__all__ = ["DunningNotice"]


class DunningNotice(Base):
    """A level of the dunning ladder sent for one due (never listed on its own: the receivable's
    history shows it)."""
    __tablename__ = "dunning_notices"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receivable_id: Mapped[str] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"))
    instalment_id: Mapped[str | None] = mapped_column(String(36))
    due_key: Mapped[str] = mapped_column(String(36))
    level: Mapped[str] = mapped_column(String(40))
    offset_days: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    rule: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("due_key", "level", name="uq_dunning_notices_due_level"),
        Index("ix_dunning_notices_receivable_id", "receivable_id"),
    )
