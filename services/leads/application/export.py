"""The CSV export of leads, a page at a time (each page one RPC reply; the gateway streams them).

Keyset order by id: no lead comes twice, every lead that matches from the first page to the last
comes once, and leads created after the first page do not come (their ids are newer). The cursor
carries the export's start time, so ``sla_breached`` (column and filter) is judged as of then on
every page, and under ``limit`` the rows still to send.
"""
from __future__ import annotations

import io

from crm_kit.context import Principal
from crm_kit.records.csv_files import csv_cell, csv_writer, export_state
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scoped_select
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application.access import read_extra
from services.leads.application.queries import filtered
from services.leads.models import Lead
from services.leads.schemas import LeadExportQuery

EXPORT_COLUMNS = ("id", "name", "company", "phone", "email", "source", "campaign_id", "region", "industry",
                  "status", "pool_id", "owner_id", "last_followed_at", "next_contact_at", "sla_breached",
                  "created_at")
EXPORT_PAGE_SIZE = 2000   # rows per export page, one RPC reply each (about 0.5 MB of CSV)
_export_query = LeadExportQuery()


def export_leads_page(uow: UnitOfWork, principal: Principal, query: dict | None = None,
                      cursor: str | None = None, page_size: int = EXPORT_PAGE_SIZE) -> dict:
    """One page of the CSV export (UTF-8) of the leads the caller may see, with the list's filters,
    newest first: ``{"csv": the page's rows (the first page starts with the header row),
    "next_cursor": str | None}``. The caller asks with ``next_cursor`` until it is null, passing the
    same ``query`` each time."""
    params = load(_export_query, query or {})
    as_of, left = export_state(cursor, params["limit"], utcnow())
    size = page_size if left is None else min(page_size, left)
    stmt = filtered(scoped_select(Lead, principal, read_extra(principal)), params, as_of)
    out = io.StringIO()
    writer = csv_writer(out)
    if not cursor:
        writer.writerow(EXPORT_COLUMNS)
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Lead.id, size, cursor, as_of=as_of.isoformat(),
                                     left=None if left is None else left - size)
        for lead in rows:
            writer.writerow([csv_cell(domain.sla_breached(lead.sla_due_at, lead.first_response_at, as_of)
                                       if column == "sla_breached" else getattr(lead, column))
                             for column in EXPORT_COLUMNS])
    if left is not None and left <= size:
        next_cursor = None                       # the limit is reached
    return {"csv": out.getvalue(), "next_cursor": next_cursor}
