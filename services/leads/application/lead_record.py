"""The lead record: create, read, list, edit, delete; its team and its history.

``create_lead`` writes without the ORM (no flush: the lead, its audit entry and its outbox row in
one round trip on PostgreSQL, ``storage``); the others go through the ORM and the kit's scopes.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Duplicate
from crm_kit.records import audit, team_members, teams
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import Dumper, load
from crm_kit.records.scopes import scoped_select
from crm_kit.records.text import normalize_phone
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application import storage
from services.leads.application.access import lead_for_read, lead_for_write, read_extra
from services.leads.application.distribution import distribute, pool_for_new_lead
from services.leads.application.ownership import emit_assigned, log_ownership
from services.leads.application.queries import filtered
from services.leads.events import LEAD_CREATED, LEAD_DELETED, LEAD_UPDATED
from services.leads.models import Lead
from services.leads.schemas import LeadCreate, LeadListQuery, LeadOut, LeadUpdate

# Schemas are built once: construction costs more than a load.
lead_out = Dumper(LeadOut())          # what LeadOut().dump makes, without marshmallow's per-field lookups
lead_create = LeadCreate()
_update = LeadUpdate()
_list_query = LeadListQuery()


def create_lead(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(lead_create, data)
    phone_key = normalize_phone(fields["phone"])
    with uow:
        now = utcnow()
        pool = None
        if fields.get("pool_id"):
            # A pool lead: the pool's distribution decides (default assignee, round robin, least
            # loaded), else it waits unassigned for a pool admin or a claim.
            pool = pool_for_new_lead(uow.session, principal, fields["pool_id"])
            owner_id, department_id = distribute(uow.session, pool)
        else:
            # A lead created by a person is theirs (pending); the platform's own are unassigned.
            owner_id = principal.user_id if not principal.is_system else None
            department_id = principal.department_id if owner_id else None
        template = storage.lead_template(principal, now, owner_id, department_id,
                                         pool.first_response_hours if pool else None)
        row = storage.new_lead_row(template, fields, phone_key)
        try:
            storage.insert_new_leads(uow, [row], [audit.created(row, storage.LEAD_AUDITED)])
            uow.emit(LEAD_CREATED, row)
            if pool is not None and owner_id:
                log_ownership(uow.session, row["id"], row["pool_id"], owner_id, "distribution", now)
                emit_assigned(uow, row, None, "distribution")
            return uow.commit(lead_out.dump(dict(row, sla_breached=domain.sla_breached(row["sla_due_at"], None, now))))
        except Exception as exc:
            if not storage.is_refusal(exc):
                raise
            uow.rollback()
            raise_if_duplicate_phone(uow.session, phone_key)
            # the lead holding the phone is gone again (discarded meanwhile): a clear 409, not a 500
            raise Conflict("A concurrent change to a lead with this phone refused the new lead; retry.",
                           {"field": "phone"}) from None


def raise_if_duplicate_phone(session, phone_key: str | None) -> None:
    """The live-phone unique index refused a write: say which lead holds the phone."""
    if not phone_key:
        return
    existing = session.scalars(select(Lead.id).where(
        Lead.phone_key == phone_key, Lead.status.in_(domain.LIVE_STATUSES))).first()
    if existing:
        raise Duplicate(f"A live lead with this phone already exists: {existing}.",
                        {"existing_id": existing, "field": "phone"})


def get_lead(uow: UnitOfWork, principal: Principal, lead_id: str) -> dict:
    with uow:
        return lead_out.dump(lead_for_read(uow.session, principal, lead_id))


def list_leads(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    params = load(_list_query, query or {})
    stmt = filtered(scoped_select(Lead, principal, read_extra(principal)), params, utcnow())
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Lead.id, params["limit"], params["cursor"])
        return {"items": lead_out.dump(rows, many=True), "next_cursor": next_cursor}


def update_lead(uow: UnitOfWork, principal: Principal, lead_id: str, data: dict, expected_version=None) -> dict:
    """Edit a lead's writable fields (partial). Refused on a converted lead."""
    fields = load(_update, data, partial=True)
    with uow:
        lead = lead_for_write(uow.session, principal, lead_id)
        check_version(lead, expected_version, "lead")
        domain.ensure_editable(lead.status)
        phone_key = normalize_phone(fields["phone"]) if "phone" in fields else None
        if "phone" in fields:
            lead.phone_key = phone_key
        changed = sorted(name for name, value in fields.items() if getattr(lead, name) != value)
        for name, value in fields.items():
            setattr(lead, name, value)
        if not changed:
            return lead_out.dump(lead)
        try:
            uow.session.flush()
        except IntegrityError:
            uow.rollback()
            raise_if_duplicate_phone(uow.session, phone_key)
            raise
        uow.emit(LEAD_UPDATED, lead, changed=changed)
        return uow.commit(lambda: lead_out.dump(lead))


def delete_lead(uow: UnitOfWork, principal: Principal, lead_id: str, expected_version=None) -> None:
    """Delete a lead nothing came of yet (unassigned, pending, invalid, discarded)."""
    with uow:
        lead = lead_for_write(uow.session, principal, lead_id)
        check_version(lead, expected_version, "lead")
        domain.ensure_deletable(lead.status)
        teams.clear(uow.session, teams.team_of(Lead), lead.id)
        uow.session.delete(lead)
        uow.session.flush()
        uow.emit(LEAD_DELETED, lead, deleted_at=utcnow())
        uow.commit(None)


# -- team and history: the kit's use cases on this resource ------------------
def list_lead_team(uow: UnitOfWork, principal: Principal, lead_id: str) -> dict:
    return team_members.list_team(uow, principal, Lead, lead_id, "lead")


def set_lead_team_member(uow: UnitOfWork, principal: Principal, lead_id: str, user_id, access) -> dict:
    return team_members.set_team_member(uow, principal, Lead, lead_id, user_id, access, "lead")


def remove_lead_team_member(uow: UnitOfWork, principal: Principal, lead_id: str, user_id) -> None:
    team_members.remove_team_member(uow, principal, Lead, lead_id, user_id, "lead")


def lead_history(uow: UnitOfWork, principal: Principal, lead_id: str, query: dict | None = None) -> dict:
    # Whoever may read the lead may read its history: pool admins and pool members (unassigned
    # leads of their pools) included, as for get_lead.
    return audit.record_history(uow, principal, Lead, lead_id, "lead", query, read_extra(principal))
