"""The products' long work as jobs (``crm_kit.runtime.work_jobs``): the CSV import of any size and
the CSV export, run in batches by the service, each batch's writes committed with its progress.

- **import** (``import_products``, admins): the file checked when it is submitted (the header, the
  size, the ``mode``: a 422 before any row); then batches of ``JOB_BATCH`` rows, each applied as the
  synchronous import applies its rows (``product_csv.apply_rows``: created, updated in mode
  ``upsert``, duplicate, invalid) and committed with its job batch row (the per-row report) in one
  transaction. A sku met again later in the file is a duplicate of the earlier row's product, as
  in one file imported at once; a job resumed after a restart skips the batches committed (their
  products exist now: a later row with such a sku is a duplicate in mode ``create`` and an update in
  mode ``upsert``). A batch refused by the unique sku (a product created meanwhile) is applied
  again once (that sku is then an existing product).
- **export** (``export_products``): the list's filters, ``export_products_page`` a page at a time,
  each page committed as a batch with the cursor the next one starts from, judged as of the
  export's start.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Conflict
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from crm_kit.runtime.work_job_batches import JobRun, check_export_params, check_params, export_in_batches
from services.sales.application.product_csv import (
    apply_rows,
    check_mode,
    export_products_page,
    read_file,
    report_counts,
)
from services.sales.application.products import ensure_admin, filtered_products
from services.sales.schemas.products import ProductExportQuery

IMPORT_KIND, EXPORT_KIND = "import_products", "export_products"
JOB_BATCH = 1000             # rows a batch (one transaction with its progress)
MAX_JOB_ROWS = 1_000_000     # rows of one import job
EXPORT_JOB_PAGE = 2000       # products a batch of an export job


def check_import(params: dict, csv_text: str | None) -> None:
    """Refuse, before the job is queued, what would fail every row: parameters, the file."""
    check_params(params, ("mode",))
    check_mode(params.get("mode"))
    read_file(csv_text, MAX_JOB_ROWS)


def check_export(params: dict, _text: str | None) -> None:
    check_export_params(params, ProductExportQuery())


def import_products_job(uow: UnitOfWork, principal: Principal, job: JobRun) -> dict:
    """Run (or resume) an import job; returns its counts."""
    ensure_admin(principal, "import_products")
    mode = check_mode(job.params.get("mode"))
    header, rows = read_file(job.input_text(), MAX_JOB_ROWS)
    if job.total is None:
        job.set_total(len(rows))
    seen: dict[str, str] = {}
    for batch_no, start in enumerate(range(0, len(rows), JOB_BATCH)):
        if batch_no in job.done_batches:
            continue
        job.check_cancel()                      # the batch boundary: a cancel (or a stop) takes effect here
        _write_batch(uow, principal, job, header, rows[start:start + JOB_BATCH], mode, seen, batch_no)
    return {"counts": job.counts, "rows": job.rows_done}


def _write_batch(uow: UnitOfWork, principal: Principal, job: JobRun, header, batch, mode: str,
                 seen: dict[str, str], batch_no: int) -> None:
    for attempt in range(2):
        batch_seen = dict(seen)
        with uow:
            entries = apply_rows(uow, principal, header, batch, mode, batch_seen)
            counts = report_counts(entries)
            errors = [{"row": e["row"], "outcome": e["outcome"], "errors": e["errors"]} for e in entries
                      if e["outcome"] not in ("created", "updated")]
            job.record_batch(uow, batch_no, len(entries), counts, errors, report=entries)
            try:
                uow.commit()
                seen.update(batch_seen)
                return
            except IntegrityError:
                uow.rollback()
                job.rows_done -= len(entries)       # (record_batch counted it)
                job.counts = {k: v - counts.get(k, 0) for k, v in job.counts.items()}
                if attempt:         # refused again: not a sku taken meanwhile (the batch is committed already)
                    raise Conflict("A batch of the import could not be written: run the import again.",
                                   {"batch": batch_no}) from None


def export_products_job(uow: UnitOfWork, principal: Principal, job: JobRun, page_size: int = EXPORT_JOB_PAGE) -> dict:
    """Run (or resume) an export job, a page of products a batch; returns the rows exported."""
    query = job.params.get("query") or {}
    return export_in_batches(uow, job, lambda cursor: export_products_page(uow, principal, query, cursor, page_size),
                             lambda: _count(uow, query))


def _count(uow: UnitOfWork, query: dict) -> int:
    params = load(ProductExportQuery(), query)
    with uow:
        total = uow.session.execute(select(func.count()).select_from(filtered_products(params).subquery())).scalar_one()
    limit = params.get("limit")
    return min(total, limit) if limit else total
