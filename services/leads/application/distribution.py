"""A new lead in a pool: the pool it goes to, and who the pool gives it to.

The facts -- the pool's members and their departments, what each holds -- are read here; the choice
is ``domain.distribution.choose_owner``. A round robin moves the pool's cursor without editing the
pool (no version bump).
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from services.leads import domain
from services.leads.application.access import pool_roles, pool_users
from services.leads.models import Lead, LeadPool


def pool_for_new_lead(session, principal: Principal, pool_id: str) -> LeadPool:
    """The pool a new lead goes to (locked: distribution moves its cursor). Admins and the
    pool's admins and members may add leads to it; to anyone else it does not exist."""
    pool = session.get(LeadPool, pool_id, with_for_update=True)
    if pool is None or not domain.may_add_to_pool(principal, pool_roles(session, pool_id, principal.user_id)):
        raise ValidationFailed.from_messages({"pool_id": ["Unknown lead pool."]})
    return pool


def held_counts(session, pool_id: str, user_ids) -> dict[str, int]:
    """``{user_id: leads of the pool they hold}`` (those holding none are left out)."""
    rows = session.execute(select(Lead.owner_id, func.count()).where(
        Lead.pool_id == pool_id, Lead.status.in_(domain.HELD_STATUSES), Lead.owner_id.in_(list(user_ids)))
        .group_by(Lead.owner_id)).all()
    return {owner: count for owner, count in rows}


def distribute(session, pool: LeadPool) -> tuple[str | None, str | None]:
    """(owner_id, department_id) the pool gives a new lead to, or (None, None): unassigned."""
    members = {m.user_id: m.department_id for m in pool_users(session, pool.id, domain.MEMBER_ROLE)}
    held = held_counts(session, pool.id, members) if domain.needs_held_counts(pool.distribution) else {}
    owner = domain.choose_owner(pool.distribution, list(members), held, pool.max_held, pool.rr_cursor,
                                pool.default_assignee_id)
    if owner is not None and pool.distribution == domain.ROUND_ROBIN:
        # Core update: moving the cursor is not an edit of the pool (no version bump).
        table = LeadPool.__table__
        session.execute(update(table).where(table.c.id == pool.id)
                        .values(rr_cursor=owner, updated_at=table.c.updated_at))
    return owner, members.get(owner)
