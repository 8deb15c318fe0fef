"""Recycling: a pool takes back the held leads nobody followed up for its ``recycle_after_days``.

``recycle_pool`` runs one pool's rule now (admins, the pool's admins); ``recycle_all_pools`` runs
every recycling pool's, one transaction each, as the platform (the service's periodic job). When a
lead is due is the domain's (``domain.recycling``); the query only narrows the candidates.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from crm_kit.context import Principal
from crm_kit.errors import NotFound
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application.access import pool_for
from services.leads.application.ownership import release
from services.leads.events import LEAD_RECYCLED
from services.leads.models import Lead, LeadPool
from services.leads.schemas import RecycleRequest, RecycleResult

_recycle_request = RecycleRequest()
_recycle_out = RecycleResult()


def recycle_pool(uow: UnitOfWork, principal: Principal, pool_id: str, as_of=None) -> dict:
    """Run the pool's recycle rule now (admins, the pool's admins, the platform's job)."""
    request = load(_recycle_request, {"as_of": as_of})
    with uow:
        pool = pool_for(uow.session, principal, pool_id, manage=True)
        when = request["as_of"] or utcnow()
        recycled = _recycle(uow, pool, when)
        return uow.commit(lambda: _recycle_out.dump({"pool_id": pool.id, "as_of": when, "recycled": recycled}))


def recycle_all_pools(uow: UnitOfWork, as_of: dt.datetime | None = None) -> dict[str, list[str]]:
    """The periodic rule (the service's job): every pool that recycles, one transaction each;
    ``{pool_id: [lead ids recycled]}`` of the pools that recycled something."""
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


def _recycle(uow: UnitOfWork, pool: LeadPool, as_of: dt.datetime) -> list[str]:
    """Held leads of the pool due for recycling as of ``as_of``, sent back (``lead_recycled`` each)."""
    if pool.recycle_after_days is None:
        return []
    since = domain.stale_since(as_of, pool.recycle_after_days)
    candidates = uow.session.scalars(select(Lead).where(
        Lead.pool_id == pool.id, Lead.status.in_(domain.HELD_STATUSES),
        func.coalesce(Lead.assigned_at, Lead.created_at) <= since,
        or_(Lead.last_followed_at.is_(None), Lead.last_followed_at <= since)).order_by(Lead.id)).all()
    recycled = []
    uow.audit_action("recycle")
    now = utcnow()
    for lead in candidates:
        if not domain.lead_due_for_recycle(lead, pool.recycle_after_days, as_of):
            continue
        before = lead.status
        last = domain.lead_last_activity(lead)
        lead.status = domain.transition("recycle", before)
        previous = release(uow.session, lead, "recycle", now)
        uow.session.flush()
        uow.emit(LEAD_RECYCLED, lead, previous_owner_id=previous, from_status=before, last_activity_at=last,
                 recycled_at=now)
        recycled.append(lead.id)
    return recycled
