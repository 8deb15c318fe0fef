"""Public pools (公海): create, read, list, update; their admins and members.

Who may create and manage a pool, and the rules between its fields (one recycle rule per level,
``warning_days`` before the shortest clock, recycling needs a rule), are the domain's
(``domain.permissions``, ``domain.pools``). The admin and member lists are rows of
``customer_pool_users`` (with the user's department when the gateway gives it), audited on the pool
as ``admin_ids`` / ``member_ids`` changes.
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
from crm_kit.records.scopes import scoped_select
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import mask, pool_for, pool_scope_clause, pool_users, read_extra
from services.customers.domain import permissions
from services.customers.domain import pools as rules
from services.customers.models import Customer, CustomerPool, CustomerPoolUser
from services.customers.schemas.lists import CustomerListItemOut
from services.customers.schemas.pools import (
    CustomerPoolCreate,
    CustomerPoolListQuery,
    CustomerPoolOut,
    CustomerPoolUpdate,
    PoolCustomerListQuery,
)

_create = CustomerPoolCreate()
_update = CustomerPoolUpdate()
_out = CustomerPoolOut()
_query = CustomerPoolListQuery()
_customers_query = PoolCustomerListQuery()
_customer_out = CustomerListItemOut()       # as every customer list shows them: without their contacts
_LISTS = ((rules.ADMIN_ROLE, "admin_ids"), (rules.MEMBER_ROLE, "member_ids"))
_DEDUPED = ("recycle_department_ids", "hidden_fields", "return_reasons")


def create_customer_pool(uow: UnitOfWork, principal: Principal, data: dict, user_departments=None) -> dict:
    """Admins create pools. ``user_departments`` ({user_id: department_id}, from the gateway) is kept
    with each admin and member."""
    permissions.ensure_may_create_pool(principal)
    fields = _tidy(load(_create, data))
    departments = _departments(user_departments)
    admin_ids, member_ids = fields.pop("admin_ids"), fields.pop("member_ids")
    fields["recycle_rules"] = [rules.normalize_rule(r) for r in fields["recycle_rules"]]
    with uow:
        _raise_if_duplicate_name(uow.session, fields["name"])
        now = utcnow()
        pool = CustomerPool(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        uow.session.add(pool)
        uow.session.flush()
        _set_users(uow, pool, rules.ADMIN_ROLE, admin_ids, departments)
        _set_users(uow, pool, rules.MEMBER_ROLE, member_ids, departments)
        _flush_or_duplicate(uow, fields["name"])
        return uow.commit(lambda: dump_pool(uow.session, pool))


def get_customer_pool(uow: UnitOfWork, principal: Principal, pool_id: str) -> dict:
    with uow:
        return dump_pool(uow.session, pool_for(uow.session, principal, pool_id))


def list_customer_pools(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Pools the caller may see (``pool_scope_clause``), newest first."""
    params = load(_query, query or {})
    with uow:
        stmt = select(CustomerPool).where(pool_scope_clause(principal))
        rows, next_cursor = paginate(uow.session, stmt, CustomerPool.id, params["limit"], params["cursor"])
        return {"items": [dump_pool(uow.session, p) for p in rows], "next_cursor": next_cursor}


def list_customer_pool_customers(uow: UnitOfWork, principal: Principal, pool_id: str,
                                 query: dict | None = None) -> dict:
    """The customers in a pool (newest first, as lists show them: without their contacts), for
    whoever may see the pool: admins and the pool's admins as they are, its members with the pool's
    hidden fields masked (``access.mask``)."""
    params = load(_customers_query, query or {})
    with uow:
        session = uow.session
        pool = pool_for(session, principal, pool_id)
        stmt = scoped_select(Customer, principal, read_extra(principal)).where(Customer.pool_id == pool.id)
        if params.get("level"):
            stmt = stmt.where(Customer.level == params["level"])
        rows, next_cursor = paginate(session, stmt, Customer.id, params["limit"], params["cursor"])
        return {"items": [mask(session, principal, c, _customer_out.dump(c)) for c in rows],
                "next_cursor": next_cursor}


def update_customer_pool(uow: UnitOfWork, principal: Principal, pool_id: str, data: dict,
                         expected_version=None, user_departments=None) -> dict:
    """Admins and the pool's admins change a pool (partial; lists replace the whole list); the rules
    between its fields hold for the pool as changed (``domain.pools.pool_update``)."""
    fields = _tidy(load(_update, data, partial=True))
    departments = _departments(user_departments)
    with uow:
        session = uow.session
        pool = pool_for(session, principal, pool_id, manage=True)
        check_version(pool, expected_version, "customer pool")
        fields = rules.pool_update({"recycle_enabled": pool.recycle_enabled, "recycle_rules": pool.recycle_rules},
                                   fields)
        if "name" in fields and fields["name"] != pool.name:
            _raise_if_duplicate_name(session, fields["name"])
        for role, key in _LISTS:
            if key in fields:
                _set_users(uow, pool, role, fields.pop(key), departments)
        for name, value in fields.items():
            if getattr(pool, name) != value:
                setattr(pool, name, value)
        _flush_or_duplicate(uow, fields.get("name", pool.name))
        return uow.commit(lambda: dump_pool(session, pool))


def dump_pool(session, pool: CustomerPool) -> dict:
    users = session.scalars(select(CustomerPoolUser).where(CustomerPoolUser.pool_id == pool.id)
                            .order_by(CustomerPoolUser.user_id)).all()
    out = _out.dump(pool)
    for role, key in _LISTS:
        out[key] = [u.user_id for u in users if u.role == role]
    return out


def _tidy(fields: dict) -> dict:
    """Lists of names hold each once, in the order given."""
    for name in _DEDUPED:
        if name in fields:
            fields[name] = list(dict.fromkeys(fields[name]))
    return fields


def _set_users(uow: UnitOfWork, pool: CustomerPool, role: str, user_ids: list[str], departments: dict) -> None:
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
            session.add(CustomerPoolUser(pool_id=pool.id, user_id=user_id, role=role,
                                         department_id=departments.get(user_id)))
    before, after = sorted(current), sorted(wanted)
    if before != after:
        uow.audit_record("customer_pool", pool.id, {f"{role}_ids": [before, after]})


def _departments(user_departments) -> dict:
    if user_departments is None:
        return {}
    if not isinstance(user_departments, dict):
        raise ValidationFailed.from_messages({"user_departments": ["Expected {user_id: department_id}."]})
    return {str(k): (str(v) if v is not None else None) for k, v in user_departments.items()}


def _flush_or_duplicate(uow: UnitOfWork, name: str) -> None:
    """Flush; a pool created with the same name meanwhile is ``Duplicate`` (the unique index)."""
    try:
        uow.session.flush()
    except IntegrityError:
        uow.rollback()
        _raise_if_duplicate_name(uow.session, name)
        raise


def _raise_if_duplicate_name(session, name: str) -> None:
    existing = session.scalars(select(CustomerPool.id).where(CustomerPool.name == name)).first()
    if existing:
        raise Duplicate(f"A customer pool named '{name}' already exists: {existing}.",
                        {"existing_id": existing, "field": "name"})
