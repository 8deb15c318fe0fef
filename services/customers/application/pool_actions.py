"""The actions between a customer and the public pools: claim (a member takes it from its pool),
assign (an admin, a pool admin or a manager gives it to a user), return (its owner gives it back to
a pool, with a reason), move (to another pool).

Who may do each, in which state, and the claim limits are the domain's (``domain.permissions``,
``domain.claim_limits``, ``domain.pools``); here the facts are read (the caller's roles in the pool,
what they hold and claimed today, when they last owned the customer, where it may be returned) and
the change is made through ``ownership`` (owner history, ``customer_owner_changed``), with its
audit action and its own event. A claim, an assign and a lead conversion check the new owner's
holding cap (``settings``) inside ``ownership.give``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application import ownership, settings
from services.customers.application.access import (
    ADMIN_ROLE,
    MEMBER_ROLE,
    can_write,
    customer_for_read,
    mask,
    pool_for,
    pool_roles,
)
from services.customers.domain import claim_limits, permissions
from services.customers.domain import pools as pool_rules
from services.customers.events import CUSTOMER_CLAIMED, CUSTOMER_RETURNED
from services.customers.models import Customer, CustomerOwnership, CustomerPool, CustomerPoolUser
from services.customers.schemas import CustomerOut
from services.customers.schemas.ownership import AssignRequest, MoveRequest, ReturnRequest

_out = CustomerOut()
_assign = AssignRequest()
_return = ReturnRequest()
_move = MoveRequest()


def reply(session, principal: Principal, customer: Customer) -> dict:
    """The customer as the caller may see it now (masked where they see it as a pool member)."""
    return mask(session, principal, customer, _out.dump(customer))


def claim_customer(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """A pool member takes a customer of the pool, within the pool's limits and their holding cap."""
    with uow:
        session = uow.session
        customer = customer_for_read(session, principal, customer_id)
        permissions.ensure_in_pool(customer, "claim")
        pool = session.get(CustomerPool, customer.pool_id, with_for_update=True)   # claims of a pool take turns
        session.refresh(customer)           # as the claim before ours (that we waited for) left it
        permissions.ensure_in_pool(customer, "claim")
        if customer.pool_id != pool.id:     # moved meanwhile: the other pool's turn and limits
            pool = session.get(CustomerPool, customer.pool_id, with_for_update=True)
        permissions.ensure_may_claim(customer_id, pool.name, claiming_enabled=pool.claiming_enabled,
                                     member=MEMBER_ROLE in pool_roles(session, pool.id, principal.user_id))
        now = utcnow()
        claim_limits.check_claim_limits(claim_limits.ClaimLimits.of(pool),
                                        claim_facts(session, pool, customer, principal.user_id, now), now)
        uow.audit_action("claim")
        ownership.give(uow, customer, principal.user_id, principal.department_id, "claim", principal.user_id, now,
                       role=principal.role)
        uow.emit(CUSTOMER_CLAIMED, customer, pool_id=pool.id, claimed_at=now)
        return uow.commit(lambda: reply(session, principal, customer))


def claim_facts(session, pool: CustomerPool, customer: Customer, user_id: str,
                now: dt.datetime) -> claim_limits.ClaimFacts:
    """What the claim limits are judged on, in one query: the customers ``user_id`` holds that came
    from the pool, their claims from it today, and when they last stopped owning ``customer``."""
    o = CustomerOwnership
    held = select(func.count()).select_from(o).where(o.owner_id == user_id, o.ended_at.is_(None),
                                                     o.pool_id == pool.id)
    claimed = select(func.count()).select_from(o).where(
        o.owner_id == user_id, o.start_kind == "claim", o.pool_id == pool.id,
        o.started_at >= claim_limits.day_start(now))
    owned_until = select(func.max(o.ended_at)).where(o.customer_id == customer.id, o.owner_id == user_id,
                                                     o.ended_at.is_not(None))
    held_now, claimed_today, until = session.execute(
        select(held.scalar_subquery(), claimed.scalar_subquery(), owned_until.scalar_subquery())).one()
    return claim_limits.ClaimFacts(held=held_now, claimed_today=claimed_today, owned_until=_aware(until),
                                   pool_since=_aware(customer.pool_since))


def _aware(value):
    """A time read back from an aggregate (SQLite gives it as text or without its offset): UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def assign_customer(uow: UnitOfWork, principal: Principal, customer_id: str, owner_id,
                    owner_department_id: str | None = None) -> dict:
    """Give the customer -- in a pool, or owned -- to ``owner_id`` (an admin, the pool's admins, a
    manager who may change it), within the new owner's holding cap. ``owner_department_id``: the
    new owner's department (the gateway knows users; when None, the pool's record of that user)."""
    request = load(_assign, {"owner_id": owner_id})
    with uow:
        session = uow.session
        customer = customer_for_read(session, principal, customer_id)
        permissions.ensure_may_assign(
            principal, customer_id, may_change=can_write(session, principal, customer_id),
            pool_admin=ADMIN_ROLE in pool_roles(session, customer.pool_id, principal.user_id))
        target = request["owner_id"]
        if customer.owner_id == target and customer.pool_id is None:
            return reply(session, principal, customer)
        department = owner_department_id
        if department is None and customer.pool_id:
            department = session.scalars(select(CustomerPoolUser.department_id).where(
                CustomerPoolUser.pool_id == customer.pool_id, CustomerPoolUser.user_id == target,
                CustomerPoolUser.department_id.is_not(None))).first()
        uow.audit_action("assign")
        ownership.give(uow, customer, target, department, "assign", principal.user_id, utcnow())
        return uow.commit(lambda: reply(session, principal, customer))


def return_customer(uow: UnitOfWork, principal: Principal, customer_id: str, reason,
                    pool_id: str | None = None) -> dict:
    """The owner (a manager, an admin) gives an owned, unlocked customer back to a pool, with a
    reason (one of the pool's ``return_reasons``, else of the platform's, when there are any). Where it
    may go: :func:`return_candidates`; ``pool_id`` chooses among them (``domain.pools.choose_return_pool``).
    A deal customer may be returned too (seed 004: for the next sale)."""
    request = load(_return, {"reason": reason, "pool_id": pool_id})
    with uow:
        session = uow.session
        customer = customer_for_read(session, principal, customer_id)
        permissions.ensure_may_hold_action(principal, customer, "return",
                                           may_change=can_write(session, principal, customer_id))
        permissions.ensure_returnable(customer)
        stretch = ownership.open_stretch(session, customer.id)
        target = pool_rules.choose_return_pool(customer.id, return_candidates(session, principal, customer),
                                               request["pool_id"], stretch.pool_id if stretch else None)
        pool = session.get(CustomerPool, target)
        errors = pool_rules.return_reason_errors(settings.return_reasons(session, pool), request["reason"])
        if errors:
            raise ValidationFailed.from_messages(errors)
        now = utcnow()
        previous = customer.owner_id
        uow.audit_action("return")
        ownership.release_to_pool(uow, customer, pool.id, "return", request["reason"], principal.user_id, now)
        uow.emit(CUSTOMER_RETURNED, customer, previous_owner_id=previous, pool_id=pool.id, reason=request["reason"],
                 returned_at=now)
        return uow.commit(lambda: reply(session, principal, customer))


def return_candidates(session, principal: Principal, customer: Customer) -> list[str]:
    """The pools ``customer`` may be returned to, highest ``priority`` first: for an admin every
    pool; else the pools its owner is a member or admin of, and those taking its owner's
    department's customers (``recycle_department_ids`` naming it, or empty: everyone's)."""
    pools = session.execute(select(CustomerPool.id, CustomerPool.recycle_department_ids)
                            .order_by(CustomerPool.priority.desc(), CustomerPool.name)).all()
    if principal.is_admin:
        return [p.id for p in pools]
    belongs = set(session.scalars(select(CustomerPoolUser.pool_id).where(
        CustomerPoolUser.user_id == customer.owner_id)))
    return [p.id for p in pools if p.id in belongs
            or pool_rules.takes_department(p.recycle_department_ids, customer.department_id)]


def customer_return_options(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """Where the caller may return the customer and with which reasons: the pools of
    :func:`return_candidates` (highest priority first) with their ``return_reasons`` (empty: any
    reason), and ``default_pool_id`` (where a return without ``pool_id`` goes; null: choose one).
    For whoever may return it (``domain.permissions``)."""
    with uow:
        session = uow.session
        customer = customer_for_read(session, principal, customer_id)
        permissions.ensure_may_hold_action(principal, customer, "return",
                                           may_change=can_write(session, principal, customer_id))
        permissions.ensure_returnable(customer)
        candidates = return_candidates(session, principal, customer)
        pools = {p.id: p for p in session.scalars(select(CustomerPool).where(CustomerPool.id.in_(candidates)))}
        stretch = ownership.open_stretch(session, customer.id)
        came_from = stretch.pool_id if stretch else None
        default = came_from if came_from in candidates else candidates[0] if len(candidates) == 1 else None
        return {"customer_id": customer.id, "default_pool_id": default,
                "items": [{"pool_id": pid, "name": pools[pid].name,
                           "return_reasons": settings.return_reasons(session, pools[pid])} for pid in candidates]}


def move_customer(uow: UnitOfWork, principal: Principal, customer_id: str, pool_id) -> dict:
    """An admin or an admin of its pool moves a customer of a pool to another pool the caller can
    see (公海-公海). Its protection period starts again there (it is new to that pool)."""
    request = load(_move, {"pool_id": pool_id})
    with uow:
        session = uow.session
        customer = customer_for_read(session, principal, customer_id)
        permissions.ensure_may_move(principal, customer_id,
                                    pool_admin=ADMIN_ROLE in pool_roles(session, customer.pool_id, principal.user_id))
        permissions.ensure_in_pool(customer, "move")
        target = pool_for(session, principal, request["pool_id"])
        if target.id == customer.pool_id:
            return reply(session, principal, customer)
        uow.audit_action("move")
        ownership.move_to_pool(uow, customer, target.id, utcnow())
        return uow.commit(lambda: reply(session, principal, customer))
