"""The lead list's filters in SQL, shared by ``list_leads`` and the export.

Each filter is on an indexed column, or a bounded text match; ``sla_breached`` is
``domain.sla_breached`` written in SQL (as of a given time).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_

from crm_kit.records.text import normalize_phone
from services.leads.models import Lead

EQUAL_FILTERS = ("status", "pool_id", "owner_id", "source", "campaign_id")


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(stmt, params: dict, now: dt.datetime):
    """``stmt`` (a scoped select of leads) with the filters of ``params`` (loaded ``LeadListQuery``
    or ``LeadExportQuery``), ``sla_breached`` judged as of ``now``."""
    for name in EQUAL_FILTERS:
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
        pattern = f"%{escape_like(params['q'].strip().lower())}%"
        matches = [func.lower(Lead.name).like(pattern, escape="\\"),
                   func.lower(Lead.company).like(pattern, escape="\\")]
        digits = normalize_phone(params["q"])
        if digits and len(digits) >= 3:
            matches.append(Lead.phone_key.like(f"%{digits}%"))
        stmt = stmt.where(or_(*matches))
    return stmt
