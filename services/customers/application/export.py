"""The CSV export of customers with their primary contact, a page at a time (each page one RPC
reply; the gateway streams them), as leads' export does.

What the caller may see, with the customer list's preset views and filters (``queries``), one row
per customer: its fields, then its primary contact's (the first contact when none is primary) and
how many contacts it has. A pool's hidden fields are masked for its members as in every answer
(``access.mask``). The columns are the import's names (an export imports again: the columns only an export
has are skipped by the import, ``domain.import_columns.EXPORT_ONLY``).

Keyset order by id, newest first: no customer comes twice, every customer that matches from the
first page to the last comes once, and customers created after the first page do not come. The
cursor carries the export's start time and, under ``limit``, the rows still to send.
"""
from __future__ import annotations

import io

from sqlalchemy.orm import selectinload

from crm_kit.context import Principal
from crm_kit.records.csv_files import csv_cell, csv_writer, export_state
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import mask, mask_contacts
from services.customers.application.queries import customer_statement
from services.customers.domain import geo
from services.customers.models import Customer
from services.customers.schemas import ContactOut, CustomerOut
from services.customers.schemas.imports import CustomerExportQuery

CUSTOMER_COLUMNS = ("id", "name", "kind", "level", "industry", "size", "region", "address", "latitude", "longitude",
                    "mobile", "telephone", "email", "website", "gender", "birthday", "source", "tags", "notes",
                    "follow_stage", "deal_status", "owner_id", "department_id", "pool_id", "locked", "claim_count",
                    "last_followed_at", "next_contact_at", "profile_completeness", "opportunity_total",
                    "order_total", "paid_total", "outstanding", "source_lead_id", "created_at", "updated_at")
CONTACT_COLUMNS = ("contact_name", "contact_title", "contact_phone", "contact_email", "contact_birthday")
EXPORT_COLUMNS = CUSTOMER_COLUMNS + CONTACT_COLUMNS + ("contacts_count",)
EXPORT_PAGE_SIZE = 1000   # rows per export page, one RPC reply each
_SUMMARY = ("opportunity_total", "order_total", "paid_total", "outstanding")
_export_query = CustomerExportQuery()
_out = CustomerOut(exclude=("contacts",))      # its primary contact has columns of its own
_contact_out = ContactOut()


def export_customers_page(uow: UnitOfWork, principal: Principal, query: dict | None = None,
                          cursor: str | None = None, page_size: int = EXPORT_PAGE_SIZE) -> dict:
    """One page of the CSV export (UTF-8) of the customers the caller may see, with the list's views
    and filters, newest first: ``{"csv": the page's rows (the first page starts with the header
    row), "next_cursor": str | None}``. The caller asks with ``next_cursor`` until it is null,
    passing the same ``query`` each time."""
    params = load(_export_query, query or {})
    as_of, left = export_state(cursor, params["limit"], utcnow())
    size = page_size if left is None else min(page_size, left)
    stmt = customer_statement(principal, params).options(selectinload(Customer.contacts))   # (one query a page)
    keep = None
    if params.get("radius_km") is not None:      # the bounding box is in SQL; the circle here
        lat, lng, radius = params["lat"], params["lng"], params["radius_km"]
        keep = lambda c: geo.within(lat, lng, radius, c.latitude, c.longitude)  # noqa: E731
    out = io.StringIO()
    writer = csv_writer(out)
    if not cursor:
        writer.writerow(EXPORT_COLUMNS)
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Customer.id, size, cursor, as_of=as_of.isoformat(),
                                     left=None if left is None else left - size)
        for customer in rows:
            if keep is None or keep(customer):
                writer.writerow(_row(uow.session, principal, customer))
    if left is not None and left <= size:
        next_cursor = None                       # the limit is reached
    return {"csv": out.getvalue(), "next_cursor": next_cursor}


def _row(session, principal: Principal, customer: Customer) -> list[str]:
    dumped = mask(session, principal, customer, _out.dump(customer))
    summary = dumped.get("summary") or {}
    values = {**dumped, **{k: summary.get(k) for k in _SUMMARY}, "tags": ";".join(dumped.get("tags") or ())}
    contacts = customer.contacts
    primary = next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
    if primary is not None:
        contact = mask_contacts(session, principal, customer, [_contact_out.dump(primary)])[0]
        values.update({column: contact.get(column[len("contact_"):]) for column in CONTACT_COLUMNS})
    values["contacts_count"] = len(contacts)
    return [csv_cell(values.get(column)) for column in EXPORT_COLUMNS]
