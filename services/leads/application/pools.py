"""Lead pools (线索池): create, read, list, update; their admins and members.

Who may create and manage a pool, and the configuration rule of its fields, are the domain's
(``domain.permissions``, ``domain.pools``). The admin and member lists are rows of
``lead_pool_users`` (with the member's department when the gateway gives it), audited on the pool as
``admin_ids`` / ``member_ids`` changes.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application.access import pool_for, pool_scope_clause, pool_users
from services.leads.models import LeadPool, LeadPoolUser
from services.leads.schemas import LeadPoolCreate, LeadPoolListQuery, LeadPoolOut, LeadPoolUpdate

_pool_create = LeadPoolCreate()
_pool_update = LeadPoolUpdate()
_pool_out = LeadPoolOut()
_pool_query = LeadPoolListQuery()
_LISTS = ((domain.ADMIN_ROLE, "admin_ids"), (domain.MEMBER_ROLE, "member_ids"))


def create_lead_pool(uow: UnitOfWork, principal: Principal, data: dict, user_departments=None) -> dict:
    """Admins create pools. ``user_departments`` ({user_id: department_id}, from the gateway) lets
    leads the pool distributes carry their owner's department."""
    domain.ensure_may_create_pool(principal)
    fields = load(_pool_create, data)
    departments = _departments(user_departments)
    admin_ids, member_ids = fields.pop("admin_ids"), fields.pop("member_ids")
    with uow:
        _raise_if_duplicate_name(uow.session, fields["name"])
        now = utcnow()
        pool = LeadPool(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        uow.session.add(pool)
        uow.session.flush()
        _set_users(uow, pool, domain.ADMIN_ROLE, admin_ids, departments)
        _set_users(uow, pool, domain.MEMBER_ROLE, member_ids, departments)
        try:
            uow.session.flush()
            return uow.commit(_dump(uow.session, pool))
        except IntegrityError:
            uow.rollback()
            _raise_if_duplicate_name(uow.session, fields["name"])
            raise


def get_lead_pool(uow: UnitOfWork, principal: Principal, pool_id: str) -> dict:
    with uow:
        return _dump(uow.session, pool_for(uow.session, principal, pool_id))


def list_lead_pools(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Pools the caller may see (``pool_scope_clause``), newest first."""
    params = load(_pool_query, query or {})
    with uow:
        stmt = select(LeadPool).where(pool_scope_clause(principal))
        rows, next_cursor = paginate(uow.session, stmt, LeadPool.id, params["limit"], params["cursor"])
        return {"items": [_dump(uow.session, p) for p in rows], "next_cursor": next_cursor}


def update_lead_pool(uow: UnitOfWork, principal: Principal, pool_id: str, data: dict,
                     expected_version=None, user_departments=None) -> dict:
    """Admins and the pool's admins change a pool (partial; lists replace the whole list); the
    configuration rule holds for the pool as changed (``domain.pool_update``)."""
    fields = load(_pool_update, data, partial=True)
    departments = _departments(user_departments)
    with uow:
        pool = pool_for(uow.session, principal, pool_id, manage=True)
        check_version(pool, expected_version, "lead pool")
        current = {name: getattr(pool, name) for name in domain.RULE_FIELDS}
        current["member_ids"] = [u.user_id for u in pool_users(uow.session, pool.id, domain.MEMBER_ROLE)]
        fields = domain.pool_update(current, fields)
        if "name" in fields and fields["name"] != pool.name:
            _raise_if_duplicate_name(uow.session, fields["name"])
        for role, key in _LISTS:
            if key in fields:
                _set_users(uow, pool, role, fields.pop(key), departments)
        for name, value in fields.items():
            setattr(pool, name, value)
        try:
            uow.session.flush()
        except IntegrityError:
            uow.rollback()
            _raise_if_duplicate_name(uow.session, fields.get("name", pool.name))
            raise
        return uow.commit(_dump(uow.session, pool))


def _dump(session, pool: LeadPool) -> dict:
    users = session.scalars(select(LeadPoolUser).where(LeadPoolUser.pool_id == pool.id)
                            .order_by(LeadPoolUser.user_id)).all()
    out = _pool_out.dump(pool)
    for role, key in _LISTS:
        out[key] = [u.user_id for u in users if u.role == role]
    return out


def _set_users(uow: UnitOfWork, pool: LeadPool, role: str, user_ids: list[str], departments: dict) -> None:
    session = uow.session
    current = {u.user_id: u for u in pool_users(session, pool.id, role)}
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


def _raise_if_duplicate_name(session, name: str) -> None:
    existing = session.scalars(select(LeadPool.id).where(LeadPool.name == name)).first()
    if existing:
        raise Duplicate(f"A lead pool named '{name}' already exists: {existing}.",
                        {"existing_id": existing, "field": "name"})
