"""What customers answer for themselves through signed links (``domain/links.py``).

- ``portal_link_uses``: every link accepted, once: its id (``jti``) is the primary key, so of two
  concurrent uses of one link one inserts and the other meets the key (refused ``used``); with what
  the use made (``effect_type``, ``effect_id``: the survey, the comment, the ticket);
- ``ticket_surveys``: the satisfaction survey (``csat`` 1-5, a comment) and the NPS answer (0-10)
  after a resolution, one per ticket and resolution (``resolution_round`` = the ticket's
  ``reopen_count`` then: a reopened ticket resolved again asks again); the group and assignee the
  ticket had then, which quality figures count by.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime
from services.support.models.base import Base

__all__ = ["PortalLinkUse", "TicketSurvey"]


class PortalLinkUse(Base):
    """A signed link used (good once: the key)."""
    __tablename__ = "portal_link_uses"
    __audited__ = False

    link_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(36))
    used_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    effect_type: Mapped[str | None] = mapped_column(String(20))
    effect_id: Mapped[str | None] = mapped_column(String(36))


class TicketSurvey(Base):
    """A customer's answer after a resolution; audited as ``ticket_survey``."""
    __tablename__ = "ticket_surveys"
    __audit_entity__ = "ticket_survey"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    link_id: Mapped[str] = mapped_column(String(36), unique=True)
    resolution_round: Mapped[int] = mapped_column(Integer, default=0)
    group_id: Mapped[str | None] = mapped_column(String(36))
    assignee_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    csat: Mapped[int] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("ticket_id", "resolution_round", name="uq_ticket_surveys_once_per_resolution"),
        Index("ix_ticket_surveys_submitted_at", "submitted_at"),
    )
