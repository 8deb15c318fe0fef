"""The approval engine's tables: the flows admins configure (with their steps), and the approval
requests made by submissions of orders, quotes and contracts, with their resolved steps, each
step's approvers, the people copied, and every decision.

A subject (``subject_kind``, ``subject_id``: an order, quote or contract of another subject's
tables, so no foreign key) has one request per submission (``round`` 1, 2, ...); at most one is
``pending`` at a time (a partial unique index)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base

__all__ = ["ApprovalFlow", "ApprovalFlowStep", "ApprovalRequest", "ApprovalRequestStep", "ApprovalStepApprover",
           "ApprovalRequestCc", "ApprovalDecision"]


class ApprovalFlow(Base):
    """A flow: its conditions (empty: any), its priority (highest first), what a rejection restarts,
    the fallback approver, the people copied. Audited as ``approval_flow``."""
    __tablename__ = "approval_flows"
    __audit_entity__ = "approval_flow"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    subject_kind: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(50))
    currency: Mapped[str | None] = mapped_column(String(3))
    min_amount: Mapped[Decimal | None] = mapped_column(Money)
    max_amount: Mapped[Decimal | None] = mapped_column(Money)
    min_discount_percent: Mapped[Decimal | None] = mapped_column(Money)
    department_ids: Mapped[list] = mapped_column(JSON, default=list)
    restart: Mapped[str] = mapped_column(String(20), default="first")
    fallback_approver_id: Mapped[str | None] = mapped_column(String(36))
    cc_user_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("uq_approval_flows_name", "name", unique=True),)


class ApprovalFlowStep(Base):
    """One step of a flow, in ``position`` order: ``approver`` ``user`` (``user_ids``), ``role``
    (``role``) or ``managers`` (``levels`` up the owner's chain, one step per level)."""
    __tablename__ = "approval_flow_steps"
    __audited__ = False        # the flow's own audit entry names its steps

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flow_id: Mapped[str] = mapped_column(ForeignKey("approval_flows.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    approver: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10), default="any")
    user_ids: Mapped[list] = mapped_column(JSON, default=list)
    role: Mapped[str | None] = mapped_column(String(20))
    levels: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("uq_approval_flow_steps_flow_id_position", "flow_id", "position", unique=True),)


class ApprovalRequest(Base):
    """One submission of a subject for approval: the facts it was judged on, the flow chosen, its state
    (``pending`` -> ``approved`` | ``rejected`` | ``withdrawn``) and the step being decided."""
    __tablename__ = "approval_requests"
    __audit_entity__ = "approval_request"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(36))
    round: Mapped[int] = mapped_column(Integer, default=1)
    flow_id: Mapped[str | None] = mapped_column(String(36))        # null: the default or a named approver
    flow_version: Mapped[int | None] = mapped_column(Integer)      # a carried step needs the same flow, unchanged
    flow_name: Mapped[str] = mapped_column(String(200))
    restart: Mapped[str] = mapped_column(String(20), default="first")
    previous_request_id: Mapped[str | None] = mapped_column(String(36))
    submitted_by: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    discount_percent: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    kind: Mapped[str | None] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    current_position: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_approval_requests_subject_kind_subject_id_round", "subject_kind", "subject_id", "round",
              unique=True),
        Index("uq_approval_requests_pending_subject", "subject_kind", "subject_id", unique=True,
              postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'")),
        Index("ix_approval_requests_submitted_by_id", "submitted_by", "id"),
    )


class ApprovalRequestStep(Base):
    """A step of a request, approvers resolved at submission: ``waiting`` -> ``pending`` (being decided)
    -> ``approved`` | ``rejected``; or ``skipped`` (nobody but the submitter); ``carried_from_request_id``:
    approved in the earlier request (``restart: rejected``)."""
    __tablename__ = "approval_request_steps"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    carried_from_request_id: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("uq_approval_request_steps_request_id_position", "request_id", "position",
                            unique=True),)


class ApprovalStepApprover(Base):
    """Who may decide a step (one row per approver), and what they decided."""
    __tablename__ = "approval_step_approvers"
    __audited__ = False

    step_id: Mapped[str] = mapped_column(ForeignKey("approval_request_steps.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"))
    decision: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (Index("ix_approval_step_approvers_user_id_request_id", "user_id", "request_id"),)


class ApprovalRequestCc(Base):
    """Someone copied on a request for information (``/me/approvals`` lists it with ``kind: cc``)."""
    __tablename__ = "approval_request_cc"
    __audited__ = False

    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)

    __table_args__ = (Index("ix_approval_request_cc_user_id_request_id", "user_id", "request_id"),)


class ApprovalDecision(Base):
    """Every decision on a request, kept: who, when, which step, ``approve`` | ``reject`` | ``skip``
    (a step the submitter was alone in) | ``withdraw``, and the comment."""
    __tablename__ = "approval_decisions"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"))
    position: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[str | None] = mapped_column(String(36))
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_approval_decisions_request_id_id", "request_id", "id"),)
