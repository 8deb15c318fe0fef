"""The CSV import and export of products.

Import (``import_products``, admins only): a UTF-8 file (with or without BOM) whose header names
columns among ``IMPORT_COLUMNS`` (``sku``, ``name`` and ``unit_price`` required; the export's own
``id``, ``created_at``, ``updated_at`` are read-only and skipped, so an exported file imports
again); at most ``MAX_IMPORT_ROWS`` rows. Each row is reported: ``created``; ``updated`` (mode
``upsert``, the sku exists: the non-empty cells change it); ``duplicate`` (mode ``create``, the sku
exists, or an earlier row of the file has it: ``existing_id`` names that product); ``invalid``
(``errors``, as the API's validation says them). An empty cell is an absent field (the model's
default; unchanged on an update). A bad row never stops another; the rows and the report are one
transaction. The same rows as a job of any size: ``product_jobs``.

Export (``export_products_page``): the product list's filters, newest first by id, page by page
(the gateway streams them); the cursor carries the start time and the rows still to send.
"""
from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Conflict, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.csv_files import csv_cell, csv_writer, export_state, read_csv
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application.products import ensure_admin, filtered_products, tidy_product
from services.sales.models.products import Product
from services.sales.schemas.products import ProductCreate, ProductExportQuery, ProductUpdate

IMPORT_COLUMNS = ("sku", "name", "category", "unit", "unit_price", "currency", "active", "description")
READ_ONLY_COLUMNS = ("id", "created_at", "updated_at")
EXPORT_COLUMNS = ("id", *IMPORT_COLUMNS, "created_at", "updated_at")
REQUIRED_COLUMNS = ("sku", "name", "unit_price")
MAX_IMPORT_ROWS = 5000
EXPORT_PAGE_SIZE = 2000
MODES = ("create", "upsert")
_COUNTS = {"created": "created", "updated": "updated", "duplicate": "duplicates", "invalid": "invalid"}
_create, _update, _export_query = ProductCreate(), ProductUpdate(), ProductExportQuery()


def check_mode(mode: str | None) -> str:
    mode = mode or "create"
    if mode not in MODES:
        raise ValidationFailed.from_messages({"mode": [f"Must be one of: {', '.join(MODES)}."]})
    return mode


def import_products(uow: UnitOfWork, principal: Principal, csv_text, mode: str | None = None) -> dict:
    """Products from CSV, each row reported (``ProductImportReport``)."""
    ensure_admin(principal, "import_products")
    mode = check_mode(mode)
    header, rows = read_file(csv_text)
    with uow:
        entries = apply_rows(uow, principal, header, rows, mode, {})
        report = report_counts(entries)
        report["rows"] = entries
        try:
            return uow.commit(report)
        except IntegrityError:          # a sku of the file created meanwhile (the unique index)
            raise Conflict("A product with one of these skus was created meanwhile: import the file again.",
                           {"field": "sku"}) from None


def apply_rows(uow: UnitOfWork, principal: Principal, header: list[str], rows: list[tuple[int, list[str]]],
               mode: str, seen: dict[str, str]) -> list[dict]:
    """Each row created, updated, or reported a duplicate or invalid, in ``uow``'s transaction (not
    committed); ``seen`` (sku -> product id of an earlier row of the file) is updated. The rows'
    report entries, in order."""
    entries, parsed = [], []
    for line_no, values in rows:
        entry = {"row": line_no, "outcome": "created", "id": None, "existing_id": None, "errors": {}}
        entries.append(entry)
        if len(values) != len(header):
            entry.update(outcome="invalid", errors={"_row": [f"Expected {len(header)} values, got {len(values)}."]})
            continue
        data = {column: value.strip() for column, value in zip(header, values)
                if column in IMPORT_COLUMNS and value.strip()}
        parsed.append((entry, data))
    session = uow.session
    skus = {data.get("sku") for _, data in parsed if data.get("sku")}
    existing = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))} if skus else {}
    now = utcnow()
    for entry, data in parsed:
        sku = data.get("sku")
        product = existing.get(sku) if mode == "upsert" else None
        try:
            fields = tidy_product(load(_update, data, partial=True) if product is not None
                                  else load(_create, data))
        except ValidationFailed as exc:
            entry.update(outcome="invalid", errors=exc.errors)
            continue
        sku = fields.get("sku", sku)
        if sku in seen:
            entry.update(outcome="duplicate", existing_id=seen[sku])
            continue
        if product is None and sku in existing:
            entry.update(outcome="duplicate", existing_id=existing[sku].id)
            continue
        if product is None:
            product = Product(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now,
                              **fields)
            session.add(product)
        else:
            for name, value in fields.items():
                if getattr(product, name) != value:
                    setattr(product, name, value)
            entry["outcome"] = "updated"
        seen[sku] = entry["id"] = product.id
    uow.audit_action("import")
    return entries


def report_counts(entries: list[dict]) -> dict:
    report = {"created": 0, "updated": 0, "duplicates": 0, "invalid": 0}
    for entry in entries:
        report[_COUNTS[entry["outcome"]]] += 1
    return report


def export_products_page(uow: UnitOfWork, principal: Principal, query: dict | None = None,
                         cursor: str | None = None, page_size: int = EXPORT_PAGE_SIZE) -> dict:
    """One page of the CSV export of the products the filters match, newest first: ``{"csv": the
    page's rows (the first page starts with the header row), "next_cursor": str | None}``. Ask with
    ``next_cursor`` until it is null, passing the same ``query``."""
    params = load(_export_query, query or {})
    as_of, left = export_state(cursor, params["limit"], utcnow())
    size = page_size if left is None else min(page_size, left)
    stmt = filtered_products(params)
    out = io.StringIO()
    writer = csv_writer(out)
    if not cursor:
        writer.writerow(EXPORT_COLUMNS)
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Product.id, size, cursor, as_of=as_of.isoformat(),
                                     left=None if left is None else left - size)
        for product in rows:
            writer.writerow([csv_cell(getattr(product, column)) for column in EXPORT_COLUMNS])
    if left is not None and left <= size:
        next_cursor = None
    return {"csv": out.getvalue(), "next_cursor": next_cursor}


def read_file(csv_text, max_rows: int = MAX_IMPORT_ROWS) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The file's header (lower-cased, checked) and rows (``ValidationFailed`` for the file itself)."""
    header, rows = read_csv(csv_text, max_rows)
    header = [h.lower() for h in header]
    unknown = [h for h in header if h not in IMPORT_COLUMNS and h not in READ_ONLY_COLUMNS]
    missing = [h for h in REQUIRED_COLUMNS if h not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise ValidationFailed.from_messages({"_header": [
            f"The header must name distinct columns among {', '.join(IMPORT_COLUMNS)} "
            f"({', '.join(REQUIRED_COLUMNS)} required)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "") + "."]})
    return header, rows
