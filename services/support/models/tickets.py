"""Tickets (工单), their comments, the SLA pauses and flags, and the numbering counters.

- ``tickets``: numbered (``TK-2026-000123``); the customer, contact, product and order it is about
  (optional ids of other contexts), channel, category, priority, subject, description, whether it
  needs on-site service; its group and assignee; ``owner_id`` = the assignee (the creator while
  unassigned) and ``department_id`` = its group's department (else the creator's): the data scopes
  read them; ``created_by``; the status and its times; the SLA the ticket runs by (``sla_policy``,
  ``sla_calendar``: the policy and the group's calendar as they were when chosen, so a later edit
  never moves a running deadline) and ``next_sla_check_at``, the earliest moment a clock may warn
  or breach (indexed: the timer's one query);
- ``ticket_comments``: public (to the customer) or internal notes; by an agent or, through a signed
  link, by the customer's contact (``author_type``);
- ``ticket_pauses``: when the SLA clocks stood still (``waiting_on_customer``; ``resolved`` until a
  reopen), one row per pause, ``ended_at`` null while it lasts;
- ``ticket_sla_flags``: the warnings and breaches raised, once each per ticket and clock (unique);
- ``ticket_number_counters``: the last number taken per prefix and year.

A resolved ticket is found by the suggestions through ``models/knowledge.py``'s ``TICKET_SEARCH``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import UtcDateTime, utcnow
from services.support.domain import tickets as rules
from services.support.models.base import Base

__all__ = ["Ticket", "TicketComment", "TicketPause", "TicketSlaFlag", "TicketNumberCounter"]


class Ticket(Base):
    """Audited as entity ``ticket``; scoped by owner and department, and group membership."""
    __tablename__ = "tickets"
    __audit_entity__ = "ticket"
    __audit_exclude__ = ("search_rowid",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(36))
    customer_level: Mapped[str | None] = mapped_column(String(10))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    product_id: Mapped[str | None] = mapped_column(String(36))
    order_id: Mapped[str | None] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    onsite: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[str | None] = mapped_column(String(36))
    assignee_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default=rules.NEW)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    sla_policy: Mapped[dict | None] = mapped_column(JSON)
    sla_calendar: Mapped[dict | None] = mapped_column(JSON)
    next_sla_check_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # its row in the SQLite full-text index of resolved tickets (models/knowledge.py: TICKET_SEARCH)
    search_rowid: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    pauses: Mapped[list["TicketPause"]] = relationship(
        cascade="all, delete-orphan", order_by="TicketPause.started_at", lazy="selectin")
    flags: Mapped[list["TicketSlaFlag"]] = relationship(
        cascade="all, delete-orphan", order_by="TicketSlaFlag.flagged_at", lazy="selectin")

    @property
    def allowed_actions(self) -> list[str]:
        return rules.allowed_actions(self.status)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_tickets_customer_id_id", "customer_id", "id"),
        Index("ix_tickets_owner_id_id", "owner_id", "id"),
        Index("ix_tickets_department_id_id", "department_id", "id"),
        Index("ix_tickets_group_id_id", "group_id", "id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_status_id", "status", "id"),
        Index("ix_tickets_created_by_id", "created_by", "id"),
        Index("ix_tickets_opened_at", "opened_at"),          # quality figures: the tickets opened in a period
        # the SLA timer: the tickets due for a look, soonest first (most rows: null once settled)
        Index("uq_tickets_search_rowid", "search_rowid", unique=True,
              postgresql_where=text("search_rowid IS NOT NULL"), sqlite_where=text("search_rowid IS NOT NULL")),
        Index("ix_tickets_next_sla_check", "next_sla_check_at", "id",
              postgresql_where=text("next_sla_check_at IS NOT NULL"),
              sqlite_where=text("next_sla_check_at IS NOT NULL")),
    )


class TicketComment(Base):
    """A reply to the customer (``public``) or an internal note; audited as ``ticket_comment``."""
    __tablename__ = "ticket_comments"
    __audit_entity__ = "ticket_comment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[str | None] = mapped_column(String(36))
    # who wrote it: ``user`` (an agent, author_id a user id), ``contact`` (the customer's contact through
    # a signed link, author_id the contact id) or ``customer`` (a link without a contact: the customer id)
    author_type: Mapped[str] = mapped_column(String(10), default="user", server_default="user")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_ticket_comments_ticket_id_id", "ticket_id", "id"),)


class TicketPause(Base):
    """The SLA clocks stood still from ``started_at`` to ``ended_at`` (null: still)."""
    __tablename__ = "ticket_pauses"
    __audit_entity__ = "ticket_pause"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(30))          # waiting_on_customer | resolved
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_ticket_pauses_ticket_id", "ticket_id", "started_at"),)


class TicketSlaFlag(Base):
    """A warning or breach raised for one clock of a ticket, once (the unique key)."""
    __tablename__ = "ticket_sla_flags"
    __audit_entity__ = "ticket_sla_flag"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))           # warning | breached
    due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    flagged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("ticket_id", "clock", "kind", name="uq_ticket_sla_flags_once"),)


class TicketNumberCounter(Base):
    """The last value taken of the ticket numbering (``TK-<year>-<counter>``), per prefix and year."""
    __tablename__ = "ticket_number_counters"
    __audited__ = False

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
