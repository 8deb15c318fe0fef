"""Leads use cases: each takes a unit of work and the caller, and returns plain data.

No nameko here: ``service.py`` is a thin adapter over these functions, and
tests call them directly with a unit of work on SQLite.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from types import SimpleNamespace

from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm_kit.records import audit, team_members, teams
from crm_kit.concurrency import in_parallel, pause, run_ahead
from crm_kit.context import Principal
from crm_kit.records.db import one_of, utcnow
from crm_kit.errors import Conflict, Duplicate, Forbidden, LimitExceeded, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.pagination import cursor_state, paginate
from crm_kit.records.schemas import Dumper, TextRowsLoader, load
from crm_kit.records.scopes import get_for_read, get_for_write, scope_clause, scoped_select, write_scope_clause
from crm_kit.records.text import normalize_phone
from crm_kit.runtime.uow import UnitOfWork
from crm_kit.records.versioning import check_version
from services.leads import domain
from services.leads.events import (
    LEAD_ASSIGNED, LEAD_CONVERTED, LEAD_CREATED, LEAD_DELETED, LEAD_RECYCLED, LEAD_RETURNED,
    LEAD_STATUS_CHANGED, LEAD_UPDATED, ContactDeleted, CustomerConvertedFromLead, CustomerDeleted)
from services.leads.models import (
    CustomerReference, Lead, LeadFollowUp, LeadOwnership, LeadPool, LeadPoolUser, lead_team)
from services.leads.schemas import (
    AssignRequest, ConvertRequest, FollowUpCreate, FollowUpListQuery, FollowUpOut, LeadCreate,
    LeadExportQuery, LeadListQuery, LeadOut, LeadPoolCreate, LeadPoolListQuery, LeadPoolOut, LeadPoolUpdate,
    LeadUpdate, RecycleRequest, RecycleResult, ReminderOut, ReminderQuery, ReturnRequest, pool_rule_errors)

# Schemas are built once: construction costs more than a load.
_out = Dumper(LeadOut())          # what LeadOut().dump makes, without marshmallow's per-field lookups
_create = LeadCreate()
_create_rows = TextRowsLoader(_create)      # the same validation, for CSV rows in bulk
_update = LeadUpdate()
_convert = ConvertRequest()
_list_query = LeadListQuery()
_export_query = LeadExportQuery()
_assign = AssignRequest()
_return = ReturnRequest()
_follow_up = FollowUpCreate()
_follow_up_out = FollowUpOut()
_follow_up_query = FollowUpListQuery()
_reminder_query = ReminderQuery()
_reminder_out = ReminderOut()
_pool_create = LeadPoolCreate()
_pool_update = LeadPoolUpdate()
_pool_out = LeadPoolOut()
_pool_query = LeadPoolListQuery()
_recycle_request = RecycleRequest()
_recycle_out = RecycleResult()
_REPORT_COUNTS = {"created": "created", "duplicate": "duplicates", "invalid": "invalid"}
ADMIN_ROLE, MEMBER_ROLE = "admin", "member"


def _require(principal: Principal | None) -> Principal:
    if principal is None:
        raise Forbidden("No authenticated principal on this call.")
    return principal


def create_lead(uow: UnitOfWork, principal: Principal | None, data: dict) -> dict:
    principal = _require(principal)
    fields = load(_create, data)
    phone_key = normalize_phone(fields["phone"])
    with uow:
        now = utcnow()
        pool = None
        if fields.get("pool_id"):
            # A pool lead: the pool's distribution decides (default assignee, round robin, least
            # loaded), else it waits unassigned for a pool admin or a claim.
            pool = _pool_for_new_lead(uow.session, principal, fields["pool_id"])
            owner_id, department_id = _distribute(uow.session, pool)
        else:
            # A lead created by a person is theirs (pending); the platform's own are unassigned.
            owner_id = principal.user_id if not principal.is_system else None
            department_id = principal.department_id if owner_id else None
        row = _new_lead_row(_lead_template(principal, now, owner_id, department_id,
                                           pool.first_response_hours if pool else None), fields, phone_key)
        refused = _refused(uow.session.connection())
        try:
            _insert_new_leads(uow, [row], [audit.created(row, _LEAD_AUDITED)])
            uow.emit_dumped(LEAD_CREATED, [LEAD_CREATED.dump(row)])
            if pool is not None and owner_id:
                lead = SimpleNamespace(**row)
                _log_ownership(uow.session, lead, owner_id, "distribution", now)
                _emit_assigned(uow, lead, None, "distribution")
            return uow.commit(_out.dump(dict(row, sla_breached=domain.sla_breached(row["sla_due_at"], None, now))))
        except refused:
            uow.rollback()
            _raise_if_duplicate_phone(uow.session, phone_key)
            # the lead holding the phone is gone again (discarded meanwhile): a clear 409, not a 500
            raise Conflict("A concurrent change to a lead with this phone refused the new lead; retry.",
                           {"field": "phone"}) from None


def _new_lead_row(template: dict, fields: dict, phone_key: str | None) -> dict:
    """Every column of a new lead (the model's defaults included), as the ORM would insert it."""
    return dict(template, **fields, id=new_id(), phone_key=phone_key)


def _lead_template(principal: Principal, now: dt.datetime, owner_id: str | None, department_id: str | None,
                   sla_hours) -> dict:
    """The columns new leads made now by this principal for this owner share."""
    return dict(_LEAD_BLANK, status=domain.initial_status(owner_id), owner_id=owner_id, department_id=department_id,
                created_by=principal.user_id, created_at=now, updated_at=now,
                assigned_at=now if owner_id else None,
                sla_due_at=domain.sla_due_at(now, sla_hours) if owner_id else None)


def _insert_new_leads(uow: UnitOfWork, rows: list[dict], changes: list[dict]) -> None:
    """New leads without the ORM (its per-object flush costs more than the insert itself), and
    the audit entries a flush would write for them (``changes``: ``audit.created`` of each)."""
    uow.insert(Lead.__table__, rows)              # at commit, with the outbox rows: one round trip
    if uow.audit is not None:
        uow.insert(uow.audit.table, uow.audit.rows(
            _LEAD_ENTITY, [(row["id"], change) for row, change in zip(rows, changes)], "create", safe=True))


def _refused(connection) -> tuple:
    """What a unique index's refusal raises on this connection."""
    return (IntegrityError,) + ((connection.dialect.dbapi.IntegrityError,)
                                if connection.dialect.name == "postgresql" else ())


def _raise_if_duplicate_phone(session, phone_key: str | None) -> None:
    """The live-phone unique index refused a write: say which lead holds the phone."""
    if not phone_key:
        return
    existing = session.scalars(select(Lead.id).where(
        Lead.phone_key == phone_key, Lead.status.in_(domain.LIVE_STATUSES))).first()
    if existing:
        raise Duplicate(f"A live lead with this phone already exists: {existing}.",
                        {"existing_id": existing, "field": "phone"})


# -- data scopes: the kit's owner/department/team rules, plus the pools -------------
# Pool admins see and manage every lead of their pools; pool members see the unassigned
# leads of their pools (so they can claim them). Passed to the kit as the extra way in.
def _pools_of(user_id: str, role: str | None = None):
    stmt = select(LeadPoolUser.pool_id).where(LeadPoolUser.user_id == user_id)
    return stmt.where(LeadPoolUser.role == role) if role else stmt


def _read_extra(principal: Principal):
    uid = principal.user_id
    return or_(teams.member_clause(Lead, lead_team, uid),
               Lead.pool_id.in_(_pools_of(uid, ADMIN_ROLE)),
               and_(Lead.status == domain.UNASSIGNED, Lead.pool_id.in_(_pools_of(uid))))


def _write_extra(principal: Principal):
    uid = principal.user_id
    return or_(teams.member_clause(Lead, lead_team, uid, write=True), Lead.pool_id.in_(_pools_of(uid, ADMIN_ROLE)))


def _lead_for_read(session, principal: Principal, lead_id: str) -> Lead:
    return get_for_read(session, Lead, lead_id, principal, "lead", _read_extra(principal))


def _lead_for_write(session, principal: Principal, lead_id: str) -> Lead:
    """``get_for_write`` with different extra rules for reading and for writing: ``NotFound``
    if the caller cannot see the lead, ``Forbidden`` if they may see but not change it."""
    if principal.is_admin:
        return get_for_write(session, Lead, lead_id, principal, "lead")
    writable = case((write_scope_clause(Lead, principal, _write_extra(principal)), True), else_=False)
    found = session.execute(select(Lead, writable).where(
        Lead.id == lead_id, scope_clause(Lead, principal, _read_extra(principal)))).first()
    if found is None:
        raise NotFound.of("lead", lead_id)
    if not found[1]:
        raise Forbidden(f"You may see lead {lead_id} but not change it.", {"resource": "lead", "id": str(lead_id)})
    return found[0]


def _can_write(session, principal: Principal, lead_id: str) -> bool:
    return principal.is_admin or session.execute(select(Lead.id).where(
        Lead.id == lead_id, write_scope_clause(Lead, principal, _write_extra(principal)))).first() is not None


def get_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str) -> dict:
    principal = _require(principal)
    with uow:
        return _out.dump(_lead_for_read(uow.session, principal, lead_id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(stmt, params: dict, now: dt.datetime):
    """The list filters (each on an indexed column, or a bounded text match)."""
    for name in ("status", "pool_id", "owner_id", "source", "campaign_id"):
        if params.get(name):
            stmt = stmt.where(getattr(Lead, name) == params[name])
    if params.get("created_from"):
        stmt = stmt.where(Lead.created_at >= params["created_from"])
    if params.get("created_to"):
        stmt = stmt.where(Lead.created_at < params["created_to"])
    if params.get("sla_breached") is not None:
        # Written out both ways (no NOT over NULL-able comparisons): domain.sla_breached in SQL.
        unanswered, answered = Lead.first_response_at.is_(None), Lead.first_response_at.is_not(None)
        breached = and_(Lead.sla_due_at.is_not(None), or_(
            and_(unanswered, Lead.sla_due_at < now), and_(answered, Lead.first_response_at > Lead.sla_due_at)))
        within = or_(Lead.sla_due_at.is_(None), and_(unanswered, Lead.sla_due_at >= now),
                     and_(answered, Lead.first_response_at <= Lead.sla_due_at))
        stmt = stmt.where(breached if params["sla_breached"] else within)
    if params.get("q"):
        pattern = f"%{_escape_like(params['q'].strip().lower())}%"
        matches = [func.lower(Lead.name).like(pattern, escape="\\"),
                   func.lower(Lead.company).like(pattern, escape="\\")]
        digits = normalize_phone(params["q"])
        if digits and len(digits) >= 3:
            matches.append(Lead.phone_key.like(f"%{digits}%"))
        stmt = stmt.where(or_(*matches))
    return stmt


def list_leads(uow: UnitOfWork, principal: Principal | None, query: dict) -> dict:
    params = load(_list_query, query or {})
    principal = _require(principal)
    stmt = _filtered(scoped_select(Lead, principal, _read_extra(principal)), params, utcnow())
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Lead.id, params["limit"], params["cursor"])
        return {"items": _out.dump(rows, many=True), "next_cursor": next_cursor}


def convert_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str, data: dict | None) -> dict:
    principal = _require(principal)
    request = load(_convert, data or {})
    with uow:
        lead = _lead_for_write(uow.session, principal, lead_id)
        lead.status = domain.transition("convert", lead.status)
        uow.audit_action("convert")
        lead.converted_at = utcnow()
        uow.session.flush()
        uow.emit(LEAD_CONVERTED, {
            "lead_id": lead.id, "name": lead.name, "company": lead.company, "phone": lead.phone,
            "email": lead.email, "source": lead.source, "campaign_id": lead.campaign_id,
            "region": lead.region, "industry": lead.industry, "owner_id": lead.owner_id,
            "department_id": lead.department_id, "converted_at": lead.converted_at,
            "opportunity": request["opportunity"],
        })
        return uow.commit(lambda: _out.dump(lead))


def update_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str, data: dict,
                expected_version=None) -> dict:
    """Edit a lead's writable fields (partial). Refused on a converted lead."""
    principal = _require(principal)
    fields = load(_update, data, partial=True)
    with uow:
        lead = _lead_for_write(uow.session, principal, lead_id)
        check_version(lead, expected_version, "lead")
        domain.ensure_editable(lead.status)
        phone_key = normalize_phone(fields["phone"]) if "phone" in fields else None
        if "phone" in fields:
            lead.phone_key = phone_key
        changed = sorted(name for name, value in fields.items() if getattr(lead, name) != value)
        for name, value in fields.items():
            setattr(lead, name, value)
        if not changed:
            return _out.dump(lead)
        try:
            uow.session.flush()
        except IntegrityError:
            uow.rollback()
            _raise_if_duplicate_phone(uow.session, phone_key)
            raise
        uow.emit(LEAD_UPDATED, {
            "lead_id": lead.id, "version": lead.version, "changed": changed, "name": lead.name,
            "company": lead.company, "source": lead.source, "campaign_id": lead.campaign_id,
            "status": lead.status, "owner_id": lead.owner_id, "department_id": lead.department_id,
            "updated_at": lead.updated_at,
        })
        return uow.commit(lambda: _out.dump(lead))


def delete_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str, expected_version=None) -> None:
    """Delete a lead nothing came of yet (unassigned, pending, invalid, discarded)."""
    principal = _require(principal)
    with uow:
        lead = _lead_for_write(uow.session, principal, lead_id)
        check_version(lead, expected_version, "lead")
        domain.ensure_deletable(lead.status)
        teams.clear(uow.session, teams.team_of(Lead), lead.id)
        uow.session.delete(lead)
        uow.session.flush()
        uow.emit(LEAD_DELETED, {
            "lead_id": lead.id, "status": lead.status, "campaign_id": lead.campaign_id,
            "owner_id": lead.owner_id, "department_id": lead.department_id, "deleted_at": utcnow(),
        })
        uow.commit(None)


# -- team and history: the kit's use cases on this resource ------------------
def list_lead_team(uow: UnitOfWork, principal: Principal | None, lead_id: str) -> dict:
    return team_members.list_team(uow, principal, Lead, lead_id, "lead")


def set_lead_team_member(uow: UnitOfWork, principal: Principal | None, lead_id: str, user_id, access) -> dict:
    return team_members.set_team_member(uow, principal, Lead, lead_id, user_id, access, "lead")


def remove_lead_team_member(uow: UnitOfWork, principal: Principal | None, lead_id: str, user_id) -> None:
    team_members.remove_team_member(uow, principal, Lead, lead_id, user_id, "lead")


def lead_history(uow: UnitOfWork, principal: Principal | None, lead_id: str, query: dict | None = None) -> dict:
    # Whoever may read the lead may read its history: pool admins and pool members (unassigned
    # leads of their pools) included, as for get_lead.
    extra = _read_extra(principal) if principal is not None else None
    return audit.record_history(uow, principal, Lead, lead_id, "lead", query, extra)


def record_conversion(uow: UnitOfWork, envelope: dict) -> None:
    """customers created/linked the customer: remember its ids on the lead -- unless leads has
    heard already that the customer (or the contact) was deleted (``record_customer_deleted``
    may come first: the events travel in different queues, and either may be retried)."""
    try:
        payload = CustomerConvertedFromLead(unknown=EXCLUDE).load(envelope["payload"])
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages, "customer_converted_from_lead payload is invalid") from None
    customer_id, contact_id = payload["customer_id"], payload["contact_id"]
    with uow:
        session = uow.session
        # What leads heard of them, read before anything else (CustomerReference): a customer or
        # contact deleted before this answer arrived is not recorded on the lead.
        refs = _references(session, {CUSTOMER_REF: [customer_id], CONTACT_REF: [contact_id] if contact_id else []})
        lead = session.get(Lead, payload["lead_id"])
        if lead is None:
            raise ValidationFailed(f"lead {payload['lead_id']} does not exist",
                                   {"errors": {"lead_id": ["Unknown lead."]}})
        uow.audit_action("conversion_recorded")
        customer_gone = _deleted(refs.get((CUSTOMER_REF, customer_id)))
        contact_gone = customer_gone or (contact_id is not None and _deleted(refs.get((CONTACT_REF, contact_id))))
        now = utcnow()
        if not customer_gone:
            _touch(session, refs, CUSTOMER_REF, customer_id, now)
        if contact_id is not None and not contact_gone:
            _touch(session, refs, CONTACT_REF, contact_id, now)
        lead.customer_id = None if customer_gone else customer_id
        lead.contact_id = None if contact_gone else contact_id
        uow.commit()


# -- customers' deletions: no lead points at a deleted customer or contact ----------------
CUSTOMER_REF, CONTACT_REF = "customer", "contact"


def record_customer_deleted(uow: UnitOfWork, envelope: dict) -> None:
    """customers deleted a customer and its contacts: leads pointing at them lose the ids
    (audited as ``customer_deleted``, by the user who deleted it), and a conversion answer
    naming them that arrives later records neither. Idempotent: the kit records the event id
    with the change, and doing it again would change nothing besides."""
    payload = _load(CustomerDeleted, envelope, "customer_deleted")
    customer_id, contact_ids = payload["customer_id"], list(dict.fromkeys(payload["contact_ids"]))
    with uow:
        uow.audit_actor = envelope.get("actor")
        uow.audit_action("customer_deleted")
        session = uow.session
        refs = _references(session, {CUSTOMER_REF: [customer_id], CONTACT_REF: contact_ids})
        _mark_deleted(session, refs, CUSTOMER_REF, [customer_id], payload["deleted_at"])
        _mark_deleted(session, refs, CONTACT_REF, contact_ids, payload["deleted_at"])
        pointing = Lead.customer_id == customer_id
        if contact_ids:
            pointing = or_(pointing, Lead.contact_id.in_(contact_ids))
        for lead in session.scalars(select(Lead).where(pointing).order_by(Lead.id)):
            if lead.customer_id == customer_id:
                lead.customer_id = None
                lead.contact_id = None
            else:
                lead.contact_id = None
        uow.commit()


def record_contact_deleted(uow: UnitOfWork, envelope: dict) -> None:
    """A user deleted a contact: leads pointing at it lose ``contact_id`` (audited as
    ``contact_deleted``); a conversion answer naming it that arrives later does not record it."""
    payload = _load(ContactDeleted, envelope, "contact_deleted")
    contact_id = payload["contact_id"]
    with uow:
        uow.audit_actor = envelope.get("actor")
        uow.audit_action("contact_deleted")
        session = uow.session
        refs = _references(session, {CONTACT_REF: [contact_id]})
        _mark_deleted(session, refs, CONTACT_REF, [contact_id], payload["deleted_at"])
        for lead in session.scalars(select(Lead).where(Lead.contact_id == contact_id).order_by(Lead.id)):
            lead.contact_id = None
        uow.commit()


def _load(schema, envelope: dict, event_name: str) -> dict:
    try:
        return schema(unknown=EXCLUDE).load(envelope["payload"])
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages, f"{event_name} payload is invalid") from None


def _references(session, ids: dict[str, list[str]]) -> dict[tuple[str, str], CustomerReference]:
    """The rows of these ids, ``{(kind, id): row}``. Read first: a writer that read a row (or its
    absence) meets, at its flush, any other that wrote it since (``version``, primary key)."""
    out = {}
    for kind, values in ids.items():
        if values:
            for ref in session.scalars(select(CustomerReference).where(
                    CustomerReference.kind == kind, CustomerReference.ref_id.in_(values))):
                out[(kind, ref.ref_id)] = ref
    return out


def _deleted(ref: CustomerReference | None) -> bool:
    return ref is not None and ref.deleted_at is not None


def _touch(session, refs: dict, kind: str, ref_id: str, now: dt.datetime) -> None:
    """A lead now points at it: its row is written (created, or its version moves on)."""
    ref = refs.get((kind, ref_id))
    if ref is None:
        session.add(CustomerReference(kind=kind, ref_id=ref_id, recorded_at=now))
    else:
        ref.recorded_at = now


def _mark_deleted(session, refs: dict, kind: str, ref_ids: list[str], deleted_at: dt.datetime) -> None:
    if deleted_at.tzinfo is None:       # (the contract says RFC 3339 with an offset; be lenient)
        deleted_at = deleted_at.replace(tzinfo=dt.timezone.utc)
    for ref_id in ref_ids:
        ref = refs.get((kind, ref_id))
        if ref is None:
            session.add(CustomerReference(kind=kind, ref_id=ref_id, deleted_at=deleted_at))
        elif ref.deleted_at is None:
            ref.deleted_at = deleted_at


# -- pools: membership, distribution -------------------------------------------------
def _pool_users(session, pool_id: str, role: str) -> list[LeadPoolUser]:
    return list(session.scalars(select(LeadPoolUser).where(
        LeadPoolUser.pool_id == pool_id, LeadPoolUser.role == role).order_by(LeadPoolUser.user_id)))


def _pool_roles(session, pool_id: str | None, user_id: str) -> set[str]:
    if not pool_id:
        return set()
    return set(session.scalars(select(LeadPoolUser.role).where(
        LeadPoolUser.pool_id == pool_id, LeadPoolUser.user_id == user_id)))


def _pool_for_new_lead(session, principal: Principal, pool_id: str) -> LeadPool:
    """The pool a new lead goes to (locked: distribution moves its cursor). Admins and the
    pool's admins and members may add leads to it; to anyone else it does not exist."""
    pool = session.get(LeadPool, pool_id, with_for_update=True)
    if pool is None or not (principal.is_admin or _pool_roles(session, pool_id, principal.user_id)):
        raise ValidationFailed.from_messages({"pool_id": ["Unknown lead pool."]})
    return pool


def _held_counts(session, pool_id: str, user_ids) -> dict[str, int]:
    rows = session.execute(select(Lead.owner_id, func.count()).where(
        Lead.pool_id == pool_id, Lead.status.in_(domain.HELD_STATUSES), Lead.owner_id.in_(list(user_ids)))
        .group_by(Lead.owner_id)).all()
    return {owner: count for owner, count in rows}


def _distribute(session, pool: LeadPool) -> tuple[str | None, str | None]:
    """(owner_id, department_id) the pool gives a new lead to, or (None, None): unassigned."""
    members = {m.user_id: m.department_id for m in _pool_users(session, pool.id, MEMBER_ROLE)}
    if pool.distribution == domain.MANUAL:
        owner = pool.default_assignee_id if pool.default_assignee_id in members else None
        return owner, members.get(owner)
    held = _held_counts(session, pool.id, members)
    eligible = {m: held.get(m, 0) for m in members if pool.max_held is None or held.get(m, 0) < pool.max_held}
    if pool.distribution == domain.ROUND_ROBIN:
        owner = domain.next_round_robin(list(eligible), pool.rr_cursor)
        if owner is not None:
            # Core update: moving the cursor is not an edit of the pool (no version bump).
            table = LeadPool.__table__
            session.execute(update(table).where(table.c.id == pool.id)
                            .values(rr_cursor=owner, updated_at=table.c.updated_at))
    else:
        owner = domain.least_loaded(eligible)
    return owner, members.get(owner)


def _log_ownership(session, lead: Lead, user_id: str, kind: str, at: dt.datetime, reason: str | None = None):
    session.add(LeadOwnership(id=new_id(), lead_id=lead.id, pool_id=lead.pool_id, user_id=user_id, kind=kind,
                              reason=reason, at=at))


def _emit_assigned(uow: UnitOfWork, lead: Lead, previous_owner_id: str | None, via: str) -> None:
    uow.emit(LEAD_ASSIGNED, {
        "lead_id": lead.id, "pool_id": lead.pool_id, "owner_id": lead.owner_id,
        "department_id": lead.department_id, "previous_owner_id": previous_owner_id, "via": via,
        "status": lead.status, "assigned_at": lead.assigned_at})


def _emit_status_changed(uow: UnitOfWork, lead: Lead, action: str, before: str, now: dt.datetime) -> None:
    uow.emit(LEAD_STATUS_CHANGED, {
        "lead_id": lead.id, "action": action, "from_status": before, "to_status": lead.status,
        "pool_id": lead.pool_id, "owner_id": lead.owner_id, "department_id": lead.department_id,
        "changed_at": now})


def _give(session, lead: Lead, pool: LeadPool | None, owner_id: str, department_id: str | None, via: str,
          now: dt.datetime) -> str | None:
    """Make ``owner_id`` the owner; returns the previous owner. The SLA clock restarts."""
    previous = lead.owner_id
    if previous and previous != owner_id:
        lead.previous_owner_id = previous
    lead.owner_id = owner_id
    lead.department_id = department_id
    lead.assigned_at = now
    lead.first_response_at = None
    lead.sla_due_at = domain.sla_due_at(now, pool.first_response_hours if pool else None)
    _log_ownership(session, lead, owner_id, via, now)
    return previous


def _release(session, lead: Lead, kind: str, now: dt.datetime, reason: str | None = None) -> str | None:
    """The owner lets go (return, recycle, restore): back to unassigned, the owner remembered
    (cooldown before they may claim it again)."""
    previous = lead.owner_id
    if previous:
        lead.previous_owner_id = previous
        _log_ownership(session, lead, previous, kind, now, reason)
    lead.owner_id = None
    lead.department_id = None
    lead.assigned_at = None
    lead.first_response_at = None
    lead.sla_due_at = None
    lead.next_contact_at = None
    return previous


def _remember_department(session, pool_id: str | None, user_id: str, department_id: str | None) -> None:
    """Keep the pool member's department up to date (copied onto leads the pool gives them)."""
    if pool_id and department_id:
        session.execute(update(LeadPoolUser.__table__).where(
            LeadPoolUser.__table__.c.pool_id == pool_id, LeadPoolUser.__table__.c.user_id == user_id)
            .values(department_id=department_id))


# -- actions on a lead ------------------------------------------------------------------
def assign_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str, owner_id,
                owner_department_id: str | None = None) -> dict:
    """Give the lead to ``owner_id`` (admin, the pool's admins, or a manager who may change the lead).
    ``owner_department_id`` is the new owner's department (the gateway knows users; the service
    does not): copied onto the lead; when None, the pool's record of that member is used."""
    principal = _require(principal)
    request = load(_assign, {"owner_id": owner_id})
    with uow:
        lead = _lead_for_read(uow.session, principal, lead_id)
        allowed = principal.is_admin or ADMIN_ROLE in _pool_roles(uow.session, lead.pool_id, principal.user_id) \
            or (principal.role == "manager" and _can_write(uow.session, principal, lead_id))
        if not allowed:
            raise Forbidden("Only an admin, the pool's admins or a manager may assign a lead.",
                            {"resource": "lead", "id": str(lead_id), "action": "assign"})
        status = domain.transition("assign", lead.status)
        target = request["owner_id"]
        if lead.owner_id == target:
            return _out.dump(lead)
        department = owner_department_id
        if department is None and lead.pool_id:
            department = uow.session.scalars(select(LeadPoolUser.department_id).where(
                LeadPoolUser.pool_id == lead.pool_id, LeadPoolUser.user_id == target,
                LeadPoolUser.department_id.is_not(None))).first()
        _remember_department(uow.session, lead.pool_id, target, owner_department_id)
        uow.audit_action("assign")
        now = utcnow()
        pool = uow.session.get(LeadPool, lead.pool_id) if lead.pool_id else None
        previous = _give(uow.session, lead, pool, target, department, "assign", now)
        lead.status = status
        uow.session.flush()
        _emit_assigned(uow, lead, previous, "assign")
        return uow.commit(lambda: _out.dump(lead))


def _start_of_day(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def claim_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str) -> dict:
    """A pool member takes an unassigned lead of the pool, within the pool's limits."""
    principal = _require(principal)
    with uow:
        lead = _lead_for_read(uow.session, principal, lead_id)
        status = domain.transition("claim", lead.status)
        if not lead.pool_id:
            raise Conflict(f"Lead {lead_id} is not in a pool: it cannot be claimed.",
                           {"action": "claim", "current_state": lead.status})
        pool = uow.session.get(LeadPool, lead.pool_id, with_for_update=True)
        if MEMBER_ROLE not in _pool_roles(uow.session, pool.id, principal.user_id):
            raise Forbidden("Only the pool's members may claim its leads.",
                            {"resource": "lead", "id": str(lead_id), "action": "claim"})
        if not pool.claiming_enabled:
            raise Forbidden(f"Pool '{pool.name}' does not allow claiming; ask a pool admin to assign the lead.",
                            {"resource": "lead", "id": str(lead_id), "action": "claim"})
        now = utcnow()
        _check_claim_limits(uow.session, pool, lead, principal.user_id, now)
        _remember_department(uow.session, pool.id, principal.user_id, principal.department_id)
        uow.audit_action("claim")
        previous = _give(uow.session, lead, pool, principal.user_id, principal.department_id, "claim", now)
        lead.status = status
        uow.session.flush()
        _emit_assigned(uow, lead, previous, "claim")
        return uow.commit(lambda: _out.dump(lead))


def _check_claim_limits(session, pool: LeadPool, lead: Lead, user_id: str, now: dt.datetime) -> None:
    if pool.max_held is not None:
        held = _held_counts(session, pool.id, [user_id]).get(user_id, 0)
        if held >= pool.max_held:
            raise LimitExceeded(
                f"Limit max_held reached: you hold {held} leads of pool '{pool.name}', the most it allows "
                f"({pool.max_held}).", {"limit": "max_held", "max": pool.max_held, "current": held})
    if pool.max_claims_per_day is not None:
        claimed = session.scalar(select(func.count()).select_from(LeadOwnership).where(
            LeadOwnership.user_id == user_id, LeadOwnership.kind == "claim", LeadOwnership.pool_id == pool.id,
            LeadOwnership.at >= _start_of_day(now)))
        if claimed >= pool.max_claims_per_day:
            raise LimitExceeded(
                f"Limit max_claims_per_day reached: you claimed {claimed} leads of pool '{pool.name}' today, "
                f"the most it allows ({pool.max_claims_per_day}).",
                {"limit": "max_claims_per_day", "max": pool.max_claims_per_day, "current": claimed})
    if pool.reclaim_cooldown_days:
        since = now - dt.timedelta(days=pool.reclaim_cooldown_days)
        released = session.scalar(select(func.max(LeadOwnership.at)).where(
            LeadOwnership.lead_id == lead.id, LeadOwnership.user_id == user_id,
            LeadOwnership.kind.in_(("return", "recycle", "restore")), LeadOwnership.at > since))
        if released is not None:
            if released.tzinfo is None:
                released = released.replace(tzinfo=dt.timezone.utc)
            available = released + dt.timedelta(days=pool.reclaim_cooldown_days)
            raise LimitExceeded(
                f"Limit reclaim_cooldown_days: you gave this lead up less than {pool.reclaim_cooldown_days} "
                f"day(s) ago; you may claim it again from {available.isoformat()}.",
                {"limit": "reclaim_cooldown_days", "max": pool.reclaim_cooldown_days,
                 "available_at": available.isoformat()})


def return_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str, reason) -> dict:
    """The owner (or whoever may change the lead) gives it back to its pool, with a reason."""
    principal = _require(principal)
    request = load(_return, {"reason": reason})
    with uow:
        lead = _lead_for_write(uow.session, principal, lead_id)
        before = lead.status
        status = domain.transition("return", before)
        if not lead.pool_id:
            raise Conflict(f"Lead {lead_id} is not in a pool: there is nowhere to return it.",
                           {"action": "return", "current_state": before})
        uow.audit_action("return")
        now = utcnow()
        previous = _release(uow.session, lead, "return", now, request["reason"])
        lead.return_reason = request["reason"]
        lead.status = status
        uow.session.flush()
        uow.emit(LEAD_RETURNED, {"lead_id": lead.id, "pool_id": lead.pool_id, "previous_owner_id": previous,
                                 "reason": request["reason"], "from_status": before, "returned_at": now})
        return uow.commit(lambda: _out.dump(lead))


def _simple_action(uow: UnitOfWork, principal: Principal | None, lead_id: str, action: str) -> dict:
    principal = _require(principal)
    with uow:
        lead = _lead_for_write(uow.session, principal, lead_id)
        before = lead.status
        lead.status = domain.transition(action, before)
        uow.audit_action(action)
        now = utcnow()
        uow.session.flush()
        _emit_status_changed(uow, lead, action, before, now)
        return uow.commit(lambda: _out.dump(lead))


def invalidate_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str) -> dict:
    """Could not be reached: ``invalid`` (a later follow-up makes it ``following`` again)."""
    return _simple_action(uow, principal, lead_id, "invalidate")


def discard_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str) -> dict:
    """Junk: ``discarded`` (its phone no longer blocks a new lead; only an admin restores it)."""
    return _simple_action(uow, principal, lead_id, "discard")


def restore_lead(uow: UnitOfWork, principal: Principal | None, lead_id: str) -> dict:
    """Admin only: a discarded lead goes back to ``unassigned`` (refused if its phone is live again)."""
    principal = _require(principal)
    with uow:
        lead = _lead_for_read(uow.session, principal, lead_id)
        if not principal.is_admin or principal.is_system:
            raise Forbidden("Only an admin may restore a discarded lead.",
                            {"resource": "lead", "id": str(lead_id), "action": "restore"})
        before = lead.status
        status = domain.transition("restore", before)
        uow.audit_action("restore")
        now = utcnow()
        _release(uow.session, lead, "restore", now)
        lead.status = status
        try:
            uow.session.flush()
        except IntegrityError:
            uow.rollback()
            _raise_if_duplicate_phone(uow.session, lead.phone_key)
            raise
        _emit_status_changed(uow, lead, "restore", before, now)
        return uow.commit(lambda: _out.dump(lead))


# -- follow-ups ---------------------------------------------------------------------------
def add_lead_follow_up(uow: UnitOfWork, principal: Principal | None, lead_id: str, data: dict) -> dict:
    """Record a follow-up: ``pending``/``invalid`` -> ``following``; sets ``last_followed_at``, the
    first response (SLA) and the next contact time (the owner's reminder)."""
    principal = _require(principal)
    fields = load(_follow_up, data)
    with uow:
        lead = _lead_for_write(uow.session, principal, lead_id)
        before = lead.status
        status = domain.transition("follow_up", before)
        uow.audit_action("follow_up")
        now = utcnow()
        record = LeadFollowUp(id=new_id(), lead_id=lead.id, author_id=principal.user_id, created_at=now, **fields)
        uow.session.add(record)
        lead.status = status
        lead.last_followed_at = now
        if lead.first_response_at is None:
            lead.first_response_at = now
        lead.next_contact_at = fields["next_contact_at"]
        uow.session.flush()
        if status != before:
            _emit_status_changed(uow, lead, "follow_up", before, now)
        return uow.commit(lambda: _follow_up_out.dump(record))


def list_lead_follow_ups(uow: UnitOfWork, principal: Principal | None, lead_id: str, query: dict | None = None) -> dict:
    """A lead's follow-ups, newest first (whoever may read the lead)."""
    principal = _require(principal)
    params = load(_follow_up_query, query or {})
    with uow:
        get_for_read(uow.session, Lead, lead_id, principal, "lead", _read_extra(principal))
        stmt = select(LeadFollowUp).where(LeadFollowUp.lead_id == lead_id)
        rows, next_cursor = paginate(uow.session, stmt, LeadFollowUp.id, params["limit"], params["cursor"])
        return {"items": _follow_up_out.dump(rows, many=True), "next_cursor": next_cursor}


def get_lead_follow_up(uow: UnitOfWork, principal: Principal | None, lead_id: str, follow_up_id: str) -> dict:
    """One follow-up of a lead (whoever may read the lead); ``NotFound`` alike when the lead is out
    of scope or missing and when the follow-up is missing or belongs to another lead."""
    principal = _require(principal)
    with uow:
        _lead_for_read(uow.session, principal, lead_id)
        record = uow.session.scalar(select(LeadFollowUp).where(LeadFollowUp.id == follow_up_id,
                                                               LeadFollowUp.lead_id == lead_id))
        if record is None:
            raise NotFound.of("lead follow-up", follow_up_id)
        return _follow_up_out.dump(record)


# -- reminders -------------------------------------------------------------------------------
def lead_reminders(uow: UnitOfWork, principal: Principal | None, query: dict | None = None) -> dict:
    """The caller's reminders from leads they own: next contact times due by ``due_before``
    (default now), and recycle warnings (the pool will take the lead back at ``due_at``)."""
    principal = _require(principal)
    params = load(_reminder_query, query or {})
    due_before = params["due_before"] or utcnow()
    limit = params["limit"]
    items = []
    with uow:
        owned = and_(Lead.owner_id == principal.user_id, Lead.status.in_(domain.HELD_STATUSES))
        for lead in uow.session.scalars(select(Lead).where(owned, Lead.next_contact_at <= due_before)
                                        .order_by(Lead.next_contact_at).limit(limit)):
            items.append(_reminder("next_contact", lead, lead.next_contact_at))
        rows = uow.session.execute(select(Lead, LeadPool).join(LeadPool, LeadPool.id == Lead.pool_id).where(
            owned, LeadPool.recycle_after_days.is_not(None), LeadPool.recycle_warning_days.is_not(None))
            .limit(1000)).all()
        for lead, pool in rows:
            due = domain.recycle_at(lead.last_followed_at, lead.assigned_at or lead.created_at,
                                    pool.recycle_after_days)
            warn = domain.warning_at(due, pool.recycle_warning_days)
            if warn is not None and warn <= due_before:
                items.append(_reminder("recycle_warning", lead, due))
    items.sort(key=lambda item: (item["due_at"], item["lead_id"]))
    return {"items": _reminder_out.dump(items[:limit], many=True), "next_cursor": None}


def _reminder(kind: str, lead: Lead, due_at) -> dict:
    return {"kind": kind, "lead_id": lead.id, "lead_name": lead.name, "company": lead.company,
            "pool_id": lead.pool_id, "due_at": due_at}


# -- pools (CRUD) ------------------------------------------------------------------------------
def pool_scope_clause(principal: Principal):
    """The pools a principal may see: admins every pool, others those they administer or work in."""
    if principal.is_admin:
        return LeadPool.id.is_not(None)
    return LeadPool.id.in_(_pools_of(principal.user_id))


def _pool_dump(session, pool: LeadPool) -> dict:
    users = session.scalars(select(LeadPoolUser).where(LeadPoolUser.pool_id == pool.id)
                            .order_by(LeadPoolUser.user_id)).all()
    out = _pool_out.dump(pool)
    out["admin_ids"] = [u.user_id for u in users if u.role == ADMIN_ROLE]
    out["member_ids"] = [u.user_id for u in users if u.role == MEMBER_ROLE]
    return out


def _set_pool_users(uow: UnitOfWork, pool: LeadPool, role: str, user_ids: list[str],
                    departments: dict) -> None:
    session = uow.session
    current = {u.user_id: u for u in _pool_users(session, pool.id, role)}
    wanted = list(dict.fromkeys(user_ids))
    for user_id, row in current.items():
        if user_id not in wanted:
            session.delete(row)
    for user_id in wanted:
        if user_id in current:
            if departments.get(user_id):
                current[user_id].department_id = departments[user_id]
        else:
            session.add(LeadPoolUser(pool_id=pool.id, user_id=user_id, role=role,
                                     department_id=departments.get(user_id)))
    before, after = sorted(current), sorted(wanted)
    if before != after:
        uow.audit_record("lead_pool", pool.id, {f"{role}_ids": [before, after]})


def _departments(user_departments) -> dict:
    if user_departments is None:
        return {}
    if not isinstance(user_departments, dict):
        raise ValidationFailed.from_messages({"user_departments": ["Expected {user_id: department_id}."]})
    return {str(k): (str(v) if v is not None else None) for k, v in user_departments.items()}


def _raise_if_duplicate_pool_name(session, name: str) -> None:
    existing = session.scalars(select(LeadPool.id).where(LeadPool.name == name)).first()
    if existing:
        raise Duplicate(f"A lead pool named '{name}' already exists: {existing}.",
                        {"existing_id": existing, "field": "name"})


def create_lead_pool(uow: UnitOfWork, principal: Principal | None, data: dict, user_departments=None) -> dict:
    """Admins create pools. ``user_departments`` ({user_id: department_id}, from the gateway) lets
    leads the pool distributes carry their owner's department."""
    principal = _require(principal)
    if not principal.is_admin:
        raise Forbidden("Only an admin may create a lead pool.", {"resource": "lead pool"})
    fields = load(_pool_create, data)
    departments = _departments(user_departments)
    admin_ids, member_ids = fields.pop("admin_ids"), fields.pop("member_ids")
    with uow:
        _raise_if_duplicate_pool_name(uow.session, fields["name"])
        now = utcnow()
        pool = LeadPool(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        uow.session.add(pool)
        uow.session.flush()
        _set_pool_users(uow, pool, ADMIN_ROLE, admin_ids, departments)
        _set_pool_users(uow, pool, MEMBER_ROLE, member_ids, departments)
        try:
            uow.session.flush()
            return uow.commit(_pool_dump(uow.session, pool))
        except IntegrityError:
            uow.rollback()
            _raise_if_duplicate_pool_name(uow.session, fields["name"])
            raise


def _pool_for(session, principal: Principal, pool_id: str, manage: bool = False) -> LeadPool:
    pool = session.scalars(select(LeadPool).where(LeadPool.id == pool_id, pool_scope_clause(principal))).first()
    if pool is None:
        raise NotFound.of("lead pool", pool_id)
    if manage and not principal.is_admin and ADMIN_ROLE not in _pool_roles(session, pool_id, principal.user_id):
        raise Forbidden(f"Only an admin or the pool's admins may manage lead pool {pool_id}.",
                        {"resource": "lead pool", "id": str(pool_id)})
    return pool


def get_lead_pool(uow: UnitOfWork, principal: Principal | None, pool_id: str) -> dict:
    principal = _require(principal)
    with uow:
        return _pool_dump(uow.session, _pool_for(uow.session, principal, pool_id))


def list_lead_pools(uow: UnitOfWork, principal: Principal | None, query: dict | None = None) -> dict:
    """Pools the caller may see (``pool_scope_clause``), newest first."""
    principal = _require(principal)
    params = load(_pool_query, query or {})
    with uow:
        stmt = select(LeadPool).where(pool_scope_clause(principal))
        rows, next_cursor = paginate(uow.session, stmt, LeadPool.id, params["limit"], params["cursor"])
        return {"items": [_pool_dump(uow.session, p) for p in rows], "next_cursor": next_cursor}


def update_lead_pool(uow: UnitOfWork, principal: Principal | None, pool_id: str, data: dict,
                     expected_version=None, user_departments=None) -> dict:
    """Admins and the pool's admins change a pool (partial; lists replace the whole list)."""
    principal = _require(principal)
    fields = load(_pool_update, data, partial=True)
    departments = _departments(user_departments)
    with uow:
        pool = _pool_for(uow.session, principal, pool_id, manage=True)
        check_version(pool, expected_version, "lead pool")
        merged = {name: getattr(pool, name) for name in ("distribution", "default_assignee_id",
                                                         "recycle_after_days", "recycle_warning_days")}
        merged["member_ids"] = [u.user_id for u in _pool_users(uow.session, pool.id, MEMBER_ROLE)]
        merged.update(fields)
        if "distribution" in fields and fields["distribution"] != domain.MANUAL and "default_assignee_id" not in fields:
            merged["default_assignee_id"] = fields["default_assignee_id"] = None
        errors = pool_rule_errors(merged)
        if errors:
            raise ValidationFailed.from_messages(errors)
        if "name" in fields and fields["name"] != pool.name:
            _raise_if_duplicate_pool_name(uow.session, fields["name"])
        for role, key in ((ADMIN_ROLE, "admin_ids"), (MEMBER_ROLE, "member_ids")):
            if key in fields:
                _set_pool_users(uow, pool, role, fields.pop(key), departments)
        for name, value in fields.items():
            setattr(pool, name, value)
        try:
            uow.session.flush()
        except IntegrityError:
            uow.rollback()
            _raise_if_duplicate_pool_name(uow.session, fields.get("name", pool.name))
            raise
        out = _pool_dump(uow.session, pool)
        return uow.commit(out)


# -- recycling ---------------------------------------------------------------------------------
def _recycle(uow: UnitOfWork, pool: LeadPool, as_of: dt.datetime) -> list[str]:
    """Held leads of the pool with no follow-up (nor assignment) for ``recycle_after_days``."""
    if pool.recycle_after_days is None:
        return []
    cutoff = as_of - dt.timedelta(days=pool.recycle_after_days)
    stale = uow.session.scalars(select(Lead).where(
        Lead.pool_id == pool.id, Lead.status.in_(domain.HELD_STATUSES),
        func.coalesce(Lead.assigned_at, Lead.created_at) <= cutoff,
        or_(Lead.last_followed_at.is_(None), Lead.last_followed_at <= cutoff)).order_by(Lead.id)).all()
    recycled = []
    uow.audit_action("recycle")
    now = utcnow()
    for lead in stale:
        before = lead.status
        if not domain.is_due_for_recycle(lead.last_followed_at, lead.assigned_at or lead.created_at,
                                         pool.recycle_after_days, as_of):
            continue
        last = domain.last_activity(lead.last_followed_at, lead.assigned_at or lead.created_at)
        lead.status = domain.transition("recycle", before)
        previous = _release(uow.session, lead, "recycle", now)
        uow.session.flush()
        uow.emit(LEAD_RECYCLED, {"lead_id": lead.id, "pool_id": pool.id, "previous_owner_id": previous,
                                 "from_status": before, "last_activity_at": last, "recycled_at": now})
        recycled.append(lead.id)
    return recycled


def recycle_pool(uow: UnitOfWork, principal: Principal | None, pool_id: str, as_of=None) -> dict:
    """Run the pool's recycle rule now (admins, the pool's admins, the platform's timer)."""
    principal = _require(principal)
    request = load(_recycle_request, {"as_of": as_of})
    with uow:
        pool = _pool_for(uow.session, principal, pool_id, manage=True)
        when = request["as_of"] or utcnow()
        recycled = _recycle(uow, pool, when)
        return uow.commit(lambda: _recycle_out.dump({"pool_id": pool.id, "as_of": when, "recycled": recycled}))


def recycle_all_pools(uow: UnitOfWork, as_of: dt.datetime | None = None) -> dict[str, list[str]]:
    """The periodic rule (the service's timer): every pool that recycles, one transaction each."""
    system = Principal.system("leads")
    with uow:
        pool_ids = list(uow.session.scalars(select(LeadPool.id).where(LeadPool.recycle_after_days.is_not(None))))
    done = {}
    for pool_id in pool_ids:
        try:
            result = recycle_pool(uow, system, pool_id, as_of)
        except NotFound:
            continue
        if result["recycled"]:
            done[pool_id] = result["recycled"]
    return done


# -- import / export ------------------------------------------------------------------------------
IMPORT_COLUMNS = ("name", "company", "phone", "email", "source", "campaign_id", "region", "industry", "notes")
EXPORT_COLUMNS = ("id", "name", "company", "phone", "email", "source", "campaign_id", "region", "industry",
                  "status", "pool_id", "owner_id", "last_followed_at", "next_contact_at", "sla_breached",
                  "created_at")
MAX_IMPORT_ROWS = 5000
EXPORT_PAGE_SIZE = 2000   # rows per export page, one RPC reply each (about 0.5 MB of CSV)


def import_leads(uow: UnitOfWork, principal: Principal | None, csv_text, pool_id: str | None = None) -> dict:
    """Leads from CSV (UTF-8, with or without BOM, a header row naming ``IMPORT_COLUMNS``). Each
    row is reported: created, duplicate (with the live lead's id) or invalid (why); a bad row
    never stops or half-writes the others. Rows are written in chunks (``_import_chunks``), a
    pool import row by row."""
    principal = _require(principal)
    if not isinstance(csv_text, str):
        raise ValidationFailed.from_messages({"_body": ["Expected CSV text."]})
    if pool_id is not None and not isinstance(pool_id, str):
        raise ValidationFailed.from_messages({"pool_id": ["Not a valid string."]})
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValidationFailed.from_messages({"_body": ["The CSV file is empty (a header row is required)."]}) from None
    except csv.Error as exc:
        raise ValidationFailed.from_messages({"_body": [f"Not valid CSV: {exc}."]}) from None
    unknown = [h for h in header if h not in IMPORT_COLUMNS]
    if unknown or "name" not in header or len(set(header)) != len(header):
        raise ValidationFailed.from_messages({"_header": [
            f"The header must name distinct columns among {', '.join(IMPORT_COLUMNS)} (name is required)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "") + "."]})
    rows, report = [], {"created": 0, "duplicates": 0, "invalid": 0, "rows": []}
    try:
        for line_no, values in enumerate(reader, start=2):
            if not "".join(values).strip():        # a blank line
                continue
            rows.append((line_no, values))
            if len(rows) > MAX_IMPORT_ROWS:
                raise ValidationFailed.from_messages({"_body": [f"At most {MAX_IMPORT_ROWS} rows per import."]})
    except csv.Error as exc:
        raise ValidationFailed.from_messages({"_body": [f"Not valid CSV: {exc}."]}) from None
    entries = []
    for line_no, values in rows:
        entry = {"row": line_no, "outcome": "created", "id": None, "existing_id": None, "errors": {}}
        entries.append(entry)
        if len(values) != len(header):
            entry.update(outcome="invalid", errors={"_row": [f"Expected {len(header)} values, got {len(values)}."]})
            continue
        entry["_values"] = values
    if pool_id:
        # A pool import: the pool's distribution decides each lead in turn (one transaction a row).
        for entry in entries:
            if "_values" in entry:
                _import_one(uow, principal, entry, dict(_row_data(header, entry.pop("_values")), pool_id=pool_id))
    else:
        _import_chunks(uow, principal, header, entries)
    for entry in entries:
        report[_REPORT_COUNTS[entry["outcome"]]] += 1
    report["rows"] = entries      # each entry holds exactly ImportRow's fields: as ImportReport dumps it
    with uow:    # the report, as this request's reply (the rows were committed chunk by chunk)
        return uow.commit(report)


IMPORT_CHUNK = 1000   # rows validated, duplicate-checked and inserted together (one transaction)
IMPORT_WRITERS = 2    # chunks written at once on PostgreSQL (each on its own connection)
PAUSE_EVERY = 25      # rows prepared between two pauses (~0.5 ms: the writer waits no longer for the CPU)
_LEAD_ENTITY = audit.entity_name(Lead)
_LEAD_BLANK = {c.key: None for c in Lead.__table__.columns}
_LEAD_BLANK.update(source="other", version=1)          # the column defaults the model declares
_LEAD_AUDITED = tuple(attr.key for attr in Lead.__mapper__.column_attrs
                      if attr.key not in audit.AUDIT_EXCLUDED | set(Lead.__audit_exclude__))


def _import_one(uow: UnitOfWork, principal: Principal, entry: dict, data: dict) -> None:
    """One row as its own transaction, through create_lead (pool imports, and the fallback)."""
    try:      # (a sibling: this row's reply is not the import's)
        entry["id"] = create_lead(uow.sibling(), principal, data)["id"]
    except Duplicate as exc:
        _mark_duplicate(entry, exc.extra.get("existing_id"))
    except ValidationFailed as exc:
        entry.update(outcome="invalid", errors=exc.errors)


def _mark_duplicate(entry: dict, existing_id) -> None:
    entry.update(outcome="duplicate", existing_id=existing_id,
                 errors={"phone": ["A live lead with this phone already exists."]})


def _row_data(header: list[str], values: list[str]) -> dict:
    """A CSV row as create_lead's input: the non-empty cells, stripped."""
    return {k: cell for k, v in zip(header, values) if (cell := v.strip())}


class _ImportState:
    """What an import's chunks share: the phones this file has given a lead so far (a later row
    with one of them is a duplicate of that lead), and the ids that changed when a refused chunk
    was redone row by row (a duplicate found before may name the id it had)."""

    def __init__(self):
        self.seen: dict[str, str] = {}
        self.renamed: dict[str, str] = {}


def _import_chunks(uow: UnitOfWork, principal: Principal, header: list[str], entries: list[dict]) -> None:
    """Rows without a pool, in bulk, ``IMPORT_CHUNK`` rows to a transaction: each chunk is
    prepared (validated, built, checked for duplicates) while the one before it is written
    (``crm_kit.concurrency.run_ahead``)."""
    state = _ImportState()
    chunks = [entries[start:start + IMPORT_CHUNK] for start in range(0, len(entries), IMPORT_CHUNK)]
    prepare = functools.partial(_prepare_chunk, uow.session_factory, state, principal, header)
    # Chunks hold no phone in common (prepare kept only a phone's first row), so they may be
    # written at once on PostgreSQL, each in its own transaction; SQLite has one writer at a time
    # (and its lock wait would block an eventlet process).
    parallel = IMPORT_WRITERS if uow.session_factory.kw["bind"].dialect.name == "postgresql" else 1
    in_parallel(lambda kept: _write_chunk(uow.sibling() if parallel > 1 else uow, principal, state, kept),
                run_ahead(prepare, chunks), parallel)
    if state.renamed:
        for entry in entries:
            if entry["outcome"] == "duplicate" and entry["existing_id"] in state.renamed:
                entry["existing_id"] = state.renamed[entry["existing_id"]]


def _prepare_chunk(session_factory, state: _ImportState, principal: Principal, header: list[str],
                   entries: list[dict]) -> list[tuple]:
    """Everything but the writing (no request context; its own session, so it runs while the
    chunk before is written): validate each row, build the lead create_lead would make of it,
    its ``lead_created`` payload and its audit entry's changes, and tell duplicates -- of a live
    lead (one query for the chunk's phones) or of an earlier row of the file (the first wins).
    Invalid rows and duplicates are marked in their entries; the others are returned as
    ``(entry, data, row, payload, changes)``, to be inserted."""
    todo = [(entry, _row_data(header, entry.pop("_values"))) for entry in entries if "_values" in entry]
    owner_id = principal.user_id if not principal.is_system else None
    template = _lead_template(principal, utcnow(), owner_id, principal.department_id if owner_id else None, None)
    # every row is the template but for its fields, id and phone key: what they share is made once
    varying = _create_rows.attributes | {"id", "phone_key"}
    payload_of = LEAD_CREATED.dumper_sharing(template, varying)
    changes_of = audit.created_sharing(template, _LEAD_AUDITED, varying)
    built = []
    loaded, seen_values = [], {}
    for start in range(0, len(todo), PAUSE_EVERY):     # pause: let the write of the chunk before go on
        loaded += _create_rows.load_many([data for _, data in todo[start:start + PAUSE_EVERY]], seen_values)
        pause()
    for i, ((entry, data), (fields, errors)) in enumerate(zip(todo, loaded)):
        if i % PAUSE_EVERY == PAUSE_EVERY - 1:
            pause()
        if errors is not None:
            entry.update(outcome="invalid", errors=errors)
            continue
        row = _new_lead_row(template, fields, normalize_phone(fields["phone"]))
        built.append((entry, data, row, payload_of(row), changes_of(row)))
    keys = list({row["phone_key"] for _, _, row, _, _ in built if row["phone_key"]} - set(state.seen))
    holders = {}
    if keys:
        with session_factory() as session:
            holders = dict(session.execute(select(Lead.phone_key, Lead.id).where(
                one_of(Lead.phone_key, keys, session.get_bind().dialect.name),
                Lead.status.in_(domain.LIVE_STATUSES))).all())
    kept = []
    for item in built:
        entry, _, row, _, _ = item
        phone_key = row["phone_key"]
        if phone_key:
            holder = state.seen.get(phone_key) or holders.get(phone_key)
            if holder:
                _mark_duplicate(entry, holder)
                continue
            state.seen[phone_key] = row["id"]
        kept.append(item)
    return kept


def _write_chunk(uow: UnitOfWork, principal: Principal, state: _ImportState, kept: list[tuple]) -> None:
    """The new leads of a chunk, their audit entries and their ``lead_created`` outbox rows, in one
    transaction. If the insert is refused (a lead with one of these phones was created meanwhile
    by someone else), the chunk is rolled back and every row is done on its own by create_lead,
    which reports it; the ids that changed are noted in ``state.renamed``."""
    if not kept:
        return
    with uow:
        uow.emit_dumped(LEAD_CREATED, [payload for _, _, _, payload, _ in kept])
        refused = _refused(uow.session.connection())
        try:
            _insert_new_leads(uow, [row for _, _, row, _, _ in kept], [changes for _, _, _, _, changes in kept])
            uow.commit()
        except refused:
            uow.rollback()
        else:
            for entry, _, row, _, _ in kept:
                entry["id"] = row["id"]
            return
    # Refused: nothing of the chunk was written; redo its rows one by one.
    for entry, data, row, _, _ in kept:
        entry.update(outcome="created", id=None, existing_id=None, errors={})
        _import_one(uow, principal, entry, data)
        holder = entry["id"] if entry["outcome"] == "created" else entry["existing_id"]
        if holder:
            state.renamed[row["id"]] = holder


def export_leads_page(uow: UnitOfWork, principal: Principal | None, query: dict | None = None,
                      cursor: str | None = None, page_size: int = EXPORT_PAGE_SIZE) -> dict:
    """One page of the CSV export (UTF-8) of the leads the caller may see, with the list's filters,
    newest first: ``{"csv": the page's rows (the first page starts with the header row),
    "next_cursor": str | None}``. The caller asks with ``next_cursor`` until it is null, passing the
    same ``query`` each time.

    Keyset order by id: no lead comes twice, every lead that matches from the first page to the last
    comes once, and leads created after the first page do not come (their ids are newer).
    The cursor carries the export's start time, so ``sla_breached`` (column and filter) is judged as
    of then on every page, and under ``limit`` the rows still to send."""
    principal = _require(principal)
    params = load(_export_query, query or {})
    as_of, left = _export_state(cursor, params["limit"])
    size = page_size if left is None else min(page_size, left)
    stmt = _filtered(scoped_select(Lead, principal, _read_extra(principal)), params, as_of)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if not cursor:
        writer.writerow(EXPORT_COLUMNS)
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Lead.id, size, cursor, as_of=as_of.isoformat(),
                                     left=None if left is None else left - size)
        for lead in rows:
            writer.writerow([_csv_cell(domain.sla_breached(lead.sla_due_at, lead.first_response_at, as_of)
                                       if column == "sla_breached" else getattr(lead, column))
                             for column in EXPORT_COLUMNS])
    if left is not None and left <= size:
        next_cursor = None                       # the limit is reached
    return {"csv": out.getvalue(), "next_cursor": next_cursor}


def _export_state(cursor: str | None, limit: int | None) -> tuple[dt.datetime, int | None]:
    """(the export's start time, the rows it may still send or None): a new export's, or the
    previous page's from its cursor."""
    if not cursor:
        return utcnow(), limit
    state = cursor_state(cursor)
    try:
        as_of, left = dt.datetime.fromisoformat(state["as_of"]), state.get("left")
        if as_of.tzinfo is None or not (left is None or type(left) is int and left > 0):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None
    return as_of, left


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
