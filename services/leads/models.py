"""Leads' tables (its own database): leads and their team, pools and their users, follow-ups, the
ownership log, and what leads knows of customers' records. Column defaults declared here are the
only place those facts live (the bulk insert reads them: ``services.leads.application.storage``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, make_base, utcnow
from crm_kit.records.teams import attach_team
from services.leads.domain import DEFAULT_DISTRIBUTION, DEFAULT_SOURCE, sla_breached

Base = make_base()


def _partial_index(name: str, columns: tuple[str, ...], where: str) -> Index:
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class Lead(Base):
    """Audited (crm_kit.records.audit) as entity ``lead``; scoped by owner, department and team."""
    __tablename__ = "leads"
    __audit_entity__ = "lead"
    __audit_exclude__ = ("phone_key",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(30), default=DEFAULT_SOURCE)
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    region: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    pool_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    last_followed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    customer_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    opportunity_id: Mapped[str | None] = mapped_column(String(36))
    converted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # pool bookkeeping: when the current owner got it, their first response, the SLA target
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sla_due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    next_contact_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    previous_owner_id: Mapped[str | None] = mapped_column(String(36))
    return_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The duplicate rule as a constraint: one live (not discarded) lead per phone,
        # race-free under concurrent creates and imports.
        Index("uq_leads_live_phone_key", "phone_key", unique=True,
              postgresql_where=text("status <> 'discarded' AND phone_key IS NOT NULL"),
              sqlite_where=text("status <> 'discarded' AND phone_key IS NOT NULL")),
        Index("ix_leads_owner_id_id", "owner_id", "id"),
        Index("ix_leads_department_id_id", "department_id", "id"),
        Index("ix_leads_status_id", "status", "id"),
        # Partial where most leads hold NULL (no pool, no campaign, no SLA target, no next contact): the lists
        # filter on a value, which implies NOT NULL, and an import or a create skips the index.
        _partial_index("ix_leads_pool_id_status_id", ("pool_id", "status", "id"), "pool_id IS NOT NULL"),
        Index("ix_leads_source_id", "source", "id"),
        _partial_index("ix_leads_campaign_id_id", ("campaign_id", "id"), "campaign_id IS NOT NULL"),
        Index("ix_leads_created_at", "created_at"),
        _partial_index("ix_leads_sla_due_at", ("sla_due_at",), "sla_due_at IS NOT NULL"),
        _partial_index("ix_leads_owner_id_next_contact_at", ("owner_id", "next_contact_at"),
                       "next_contact_at IS NOT NULL"),
        # The leads a deleted customer or contact leaves (customers' customer_deleted / contact_deleted).
        _partial_index("ix_leads_customer_id", ("customer_id",), "customer_id IS NOT NULL"),
        _partial_index("ix_leads_contact_id", ("contact_id",), "contact_id IS NOT NULL"),
    )

    @property
    def sla_breached(self) -> bool:
        """Past the pool's first-response target (computed at read time, never stored)."""
        return sla_breached(self.sla_due_at, self.first_response_at, utcnow())


# Users the lead is shared with (read / read_write): crm_kit.records.teams, crm_kit.records.scopes.
lead_team = attach_team(Lead)


class LeadPool(Base):
    """A lead pool (线索池): who administers it, who works it, and its rules. Audited as ``lead_pool``."""
    __tablename__ = "lead_pools"
    __audit_entity__ = "lead_pool"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    distribution: Mapped[str] = mapped_column(String(20), default=DEFAULT_DISTRIBUTION)
    default_assignee_id: Mapped[str | None] = mapped_column(String(36))
    claiming_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_held: Mapped[int | None] = mapped_column(Integer)
    max_claims_per_day: Mapped[int | None] = mapped_column(Integer)
    reclaim_cooldown_days: Mapped[int] = mapped_column(Integer, default=0)
    recycle_after_days: Mapped[int | None] = mapped_column(Integer)
    recycle_warning_days: Mapped[int | None] = mapped_column(Integer)
    first_response_hours: Mapped[int | None] = mapped_column(Integer)
    rr_cursor: Mapped[str | None] = mapped_column(String(36))   # last member given a lead (round robin)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __audit_exclude__ = ("rr_cursor",)
    __table_args__ = (Index("uq_lead_pools_name", "name", unique=True),)


class LeadPoolUser(Base):
    """A pool's admins and members (one row per user and role), with the user's department
    when known (copied onto the leads they get)."""
    __tablename__ = "lead_pool_users"
    __audited__ = False   # recorded on the pool as admin_ids / member_ids changes (application)

    pool_id: Mapped[str] = mapped_column(String(36), ForeignKey("lead_pools.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)   # admin | member
    department_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (Index("ix_lead_pool_users_user_id_role", "user_id", "role"),)


class LeadFollowUp(Base):
    """One follow-up record (call, visit, ...) on a lead. Audited as ``lead_follow_up``."""
    __tablename__ = "lead_follow_ups"
    __audit_entity__ = "lead_follow_up"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(500))
    next_contact_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    author_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_lead_follow_ups_lead_id_id", "lead_id", "id"),)


class LeadOwnership(Base):
    """Who got a lead when and how (``assign`` / ``claim`` / ``distribution``), and who let it go
    (``return`` / ``recycle``): claims per day and the reclaim cooldown are counted here.
    Not audited itself: the lead's own audit entries carry the same change."""
    __tablename__ = "lead_ownership_log"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), ForeignKey("leads.id", ondelete="CASCADE"))
    pool_id: Mapped[str | None] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_lead_ownership_log_user_kind_at", "user_id", "kind", "at"),
        Index("ix_lead_ownership_log_lead_user_kind", "lead_id", "user_id", "kind"),
    )


class CustomerReference(Base):
    """A customer or contact of the customers service, as far as leads knows it: pointed at by a
    recorded conversion (``recorded_at``) and/or deleted (``deleted_at``, from ``customer_deleted``
    / ``contact_deleted``), or merged into another customer (``merged_into``, from
    ``customers_merged``). Recording a conversion and hearing of a deletion or a merge all write the row of
    the id they concern, after reading it first: whichever comes first, the second sees it, and two
    running at once meet at this row (its primary key, its version) and the later one is retried.
    So a conversion recorded after its customer was deleted never points at it. Not audited: the
    lead's own entries carry what changed on the lead."""
    __tablename__ = "customer_references"
    __audited__ = False

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)      # customer | contact
    ref_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # a customer merged into another (customers' ``customers_merged``): the survivor it went into
    merged_into: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
