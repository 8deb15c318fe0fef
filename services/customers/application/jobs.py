"""The customers' long work as jobs (``crm_kit.runtime.work_jobs``): the CSV import (customers with
their contacts) of any size and the CSV export, run in batches by the service, each batch's writes
committed with its progress.

- **import** (``import_customers``): the file and its ``mapping`` checked when it is submitted (a
  422 before any row); the pool (``pool_id``: the caller must manage it) when the job starts (it
  fails before any row otherwise). Then batches of ``JOB_BATCH`` rows prepared as the synchronous
  import prepares its chunks (``import_chunks.prepare_chunk``: validation in bulk, duplicates of
  existing customers and of earlier rows), and each batch's customers, tags, contacts, owner
  stretches, audit entries, ``customer_created`` / ``contact_created`` outbox rows **and** its job
  batch row (the per-row report) written in one transaction. A job resumed after a restart skips
  the batches committed: no row is applied twice (a duplicate of a row of a batch committed before
  the restart is found in the database, and reported as the duplicate of that customer).
- **export** (``export_customers``): ``export_customers_page`` a page a batch, with the cursor the
  next one starts from (``crm_kit.runtime.work_job_batches.export_in_batches``).
- **bulk assign** (``bulk_assign_customers``): up to ``MAX_BULK_JOB_IDS`` customers given to a user,
  ``BULK_BATCH`` a batch, each customer the single ``assign_customer`` in its own transaction that
  records its reply under the key ``job:<job id>:<customer id>`` (as a bulk request's items do:
  ``application.bulk``); the batch row (a result per customer) follows. A batch redone after a
  restart answers the customers it had done from their records, never assigning one twice.
"""
from __future__ import annotations

from sqlalchemy import func, select

from crm_kit.context import Principal
from crm_kit.errors import CrmError, ValidationFailed
from crm_kit.records.schemas import load
from crm_kit.runtime.pipeline import fewer_collections, in_parallel, run_ahead
from crm_kit.runtime.uow import AlreadyHandled, RpcRequest, UnitOfWork
from crm_kit.runtime.work_job_batches import JobRun, check_export_params, check_params, export_in_batches
from services.customers.application import import_storage as storage
from services.customers.application.access import pool_for
from services.customers.application.bulk import problem_of
from services.customers.application.export import export_customers_page
from services.customers.application.import_chunks import ImportState, prepare_chunk
from services.customers.application.imports import columns_of, read_import, report_counts
from services.customers.application.pool_actions import assign_customer
from services.customers.application.queries import customer_statement
from services.customers.events import CONTACT_CREATED, CUSTOMER_CREATED
from services.customers.schemas.imports import CustomerExportQuery
from services.customers.schemas.ownership import AssignRequest

IMPORT_KIND, EXPORT_KIND, BULK_ASSIGN_KIND = "import_customers", "export_customers", "bulk_assign_customers"
MAX_BULK_JOB_IDS = 20000
BULK_BATCH = 200
JOB_BATCH = 1000
MAX_JOB_ROWS = 1_000_000
EXPORT_JOB_PAGE = 2000
_REPORT_KEYS = ("row", "outcome", "id", "contact_id", "existing_id", "errors")


def check_import(params: dict, csv_text: str | None) -> None:
    check_params(params, ("pool_id", "mapping"))
    read_import(csv_text, params.get("pool_id"), params.get("mapping"), MAX_JOB_ROWS)


def check_export(params: dict, _text: str | None) -> None:
    check_export_params(params, CustomerExportQuery())


def import_customers_job(uow: UnitOfWork, principal: Principal, job: JobRun) -> dict:
    """Run (or resume) an import job; returns its counts and the columns as they were read."""
    pool_id = job.params.get("pool_id") or None
    resolved, entries = read_import(job.input_text(), pool_id, job.params.get("mapping"), MAX_JOB_ROWS)
    if pool_id:
        with uow:
            pool_for(uow.session, principal, pool_id, manage=True)
    if job.total is None:
        job.set_total(len(entries))
    state = ImportState(pool_id)
    todo = [(no, entries[start:start + JOB_BATCH]) for no, start in enumerate(range(0, len(entries), JOB_BATCH))
            if no not in job.done_batches]

    def prepare(batch):
        no, batch_entries = batch
        return no, batch_entries, prepare_chunk(uow.session_factory, state, principal, batch_entries)

    parallel = storage.writers_at_once(uow)

    def write(prepared):
        job.check_cancel()
        write_batch(uow.sibling() if parallel > 1 else uow, job, *prepared)

    with fewer_collections():
        in_parallel(write, run_ahead(prepare, todo), parallel)
    return {"counts": job.counts, "rows": job.rows_done, "pool_id": pool_id, **columns_of(resolved)}


def write_batch(uow: UnitOfWork, job: JobRun, batch_no: int, entries: list[dict], prepared: dict) -> None:
    """A batch's new customers (their tags, contacts, owner stretches, audit entries and outbox rows)
    and its job batch row (the per-row report), in one transaction."""
    for entry, customer_id, contact_id in prepared["entries"]:
        entry.update(id=customer_id, contact_id=contact_id)
    report = [{k: e[k] for k in _REPORT_KEYS} for e in entries]
    errors = [{"row": e["row"], "outcome": e["outcome"], "errors": e["errors"]} for e in entries
              if e["outcome"] != "created"]
    with uow:
        if prepared["customers"]:
            uow.emit_dumped(CUSTOMER_CREATED, prepared["customer_payloads"])
            uow.emit_dumped(CONTACT_CREATED, prepared["contact_payloads"])
            storage.insert_new(uow, prepared["customers"], prepared["customer_changes"], prepared["tags"],
                               prepared["contacts"], prepared["contact_changes"], prepared["stretches"])
        job.record_batch(uow, batch_no, len(entries), report_counts(entries), errors, report=report)
        uow.commit()


def export_customers_job(uow: UnitOfWork, principal: Principal, job: JobRun,
                         page_size: int = EXPORT_JOB_PAGE) -> dict:
    query = job.params.get("query") or {}

    def count() -> int:
        params = load(CustomerExportQuery(), query)
        with uow:
            total = uow.session.execute(select(func.count()).select_from(
                customer_statement(principal, params).subquery())).scalar_one()
        return min(total, params["limit"]) if params.get("limit") else total

    return export_in_batches(uow, job, lambda cursor: export_customers_page(uow, principal, query, cursor, page_size),
                             count)


def check_bulk_assign(params: dict, _text: str | None) -> None:
    unknown = set(params) - {"customer_ids", "owner_id", "owner_department_id"}
    if unknown:
        raise ValidationFailed.from_messages({key: ["Unknown parameter."] for key in sorted(unknown)})
    ids = params.get("customer_ids")
    if (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BULK_JOB_IDS
            or not all(isinstance(i, str) and 0 < len(i) <= 36 for i in ids)):
        raise ValidationFailed.from_messages({"customer_ids": [
            f"A list of 1 to {MAX_BULK_JOB_IDS} customer ids."]})
    load(AssignRequest(), {"owner_id": params.get("owner_id")})


def bulk_assign_job(uow: UnitOfWork, principal: Principal, job: JobRun) -> dict:
    """Run (or resume) a bulk assign job; returns how many customers were assigned and refused."""
    ids = list(dict.fromkeys(job.params["customer_ids"]))
    owner_id, department_id = job.params["owner_id"], job.params.get("owner_department_id")
    if job.total is None:
        job.set_total(len(ids))
    for batch_no, start in enumerate(range(0, len(ids), BULK_BATCH)):
        if batch_no in job.done_batches:
            continue
        job.check_cancel()
        report = []
        for offset, customer_id in enumerate(ids[start:start + BULK_BATCH]):
            item = uow.sibling()
            item.request = RpcRequest(f"job:{job.id}:{customer_id}", BULK_ASSIGN_KIND, None, True)
            item.records_reply = True
            entry = {"row": start + offset + 1, "outcome": "assigned", "id": customer_id, "existing_id": None,
                     "errors": {}}
            try:
                assign_customer(item, principal, customer_id, owner_id, department_id)
            except AlreadyHandled:
                pass                              # done before a restart: its record says so
            except CrmError as exc:
                if exc.status >= 500:
                    raise
                entry.update(outcome="refused", errors=problem_of(exc))
            report.append(entry)
        counts = {"assigned": sum(e["outcome"] == "assigned" for e in report)}
        counts["refused"] = len(report) - counts["assigned"]
        errors = [{"row": e["row"], "outcome": e["outcome"], "errors": e["errors"]} for e in report
                  if e["outcome"] != "assigned"]
        with uow:
            job.record_batch(uow, batch_no, len(report), counts, errors, report=report)
            uow.commit()
    return {"counts": job.counts}
