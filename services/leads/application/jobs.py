"""The leads' long work as jobs (``crm_kit.runtime.work_jobs``): the CSV import of any size and
the CSV export, run in batches by the service, each batch's writes committed with its progress.

- **import** (``import_leads``): the file checked when it is submitted (the header, the size: a
  422 before any row); then batches of ``JOB_BATCH`` rows, prepared and written as the synchronous
  import writes its chunks (``import_chunks``: validation in bulk, duplicates of live leads and of
  earlier rows, the preparation of the next batch overlapped with the writing of this one), but
  each batch's leads, audit entries, ``lead_created`` outbox rows **and** its job batch row (the
  per-row report) in one transaction. A job resumed after a restart skips the batches committed;
  a row of a batch committed is never applied again, and a row of one not committed was not
  applied at all. A batch refused by the live-phone index (a lead with one of its phones created
  meanwhile) is prepared again (that phone is now a duplicate) and written again, still whole.
  Pool imports (``pool_id``) are not jobs: the pool's distribution takes one transaction a row,
  through ``create_lead``; they stay synchronous (at most 5,000 rows).
- **export** (``export_leads``): the list's filters, ``export_leads_page`` a page at a time, each
  page committed as a batch with the cursor the next one starts from; the file is the pages in
  order (``GET /api/v1/jobs/{id}/result``). Every page is judged as of the export's start (the
  cursor carries it), so a resumed export is the file an uninterrupted one would have been.
"""
from __future__ import annotations

from sqlalchemy import func, select

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scoped_select
from crm_kit.runtime.pipeline import in_parallel, run_ahead
from crm_kit.runtime.uow import UnitOfWork
from crm_kit.runtime.work_job_batches import JobRun, check_export_params, export_in_batches
from services.leads.application import storage
from services.leads.application.access import read_extra
from services.leads.application.export import export_leads_page
from services.leads.application.import_chunks import ImportState, prepare_chunk
from services.leads.application.imports import _read, new_entries, report_counts
from services.leads.application.queries import filtered
from services.leads.models import Lead
from services.leads.schemas import LeadExportQuery

IMPORT_KIND, EXPORT_KIND = "import_leads", "export_leads"
JOB_BATCH = 1000             # rows a batch (one transaction with its progress), as the import's chunks
MAX_JOB_ROWS = 1_000_000     # rows of one import job
EXPORT_JOB_PAGE = 5000       # leads a batch of an export job
_REDO = 3                    # a batch refused by the live-phone index is prepared and written again


def check_import(params: dict, csv_text: str | None) -> None:
    """Refuse, before the job is queued, what would fail every row: parameters, the file."""
    if params:
        raise ValidationFailed.from_messages({key: [
            "Pool imports are synchronous (POST /api/v1/leads/import?pool_id=...)." if key == "pool_id"
            else "Unknown parameter."] for key in params})
    _read(csv_text, MAX_JOB_ROWS)


def check_export(params: dict, _text: str | None) -> None:
    check_export_params(params, LeadExportQuery())


def import_leads_job(uow: UnitOfWork, principal: Principal, job: JobRun) -> dict:
    """Run (or resume) an import job; returns its counts."""
    header, rows = _read(job.input_text(), MAX_JOB_ROWS)
    if job.total is None:
        job.set_total(len(rows))
    state = ImportState()
    todo = [(no, rows[start:start + JOB_BATCH]) for no, start in enumerate(range(0, len(rows), JOB_BATCH))
            if no not in job.done_batches]

    def prepare(batch):
        no, batch_rows = batch
        entries = new_entries(header, batch_rows)
        return no, entries, prepare_chunk(uow.session_factory, state, principal, header, entries)

    parallel = storage.writers_at_once(uow)

    def write(prepared):
        job.check_cancel()                      # the batch boundary: a cancel (or a stop) takes effect here
        write_batch(uow.sibling() if parallel > 1 else uow, principal, state, job, header, *prepared)

    in_parallel(write, run_ahead(prepare, todo), parallel)
    return {"counts": job.counts, "rows": job.rows_done}


def write_batch(uow: UnitOfWork, principal: Principal, state: ImportState, job: JobRun, header: list[str],
                batch_no: int, entries: list[dict], kept: list[tuple]) -> None:
    """A batch's new leads, audit entries, ``lead_created`` outbox rows and its job batch row (the
    per-row report) in one transaction; refused by the live-phone index, prepared again and
    written again (the phone taken meanwhile is then a duplicate)."""
    from services.leads.events import LEAD_CREATED
    for attempt in range(_REDO + 1):
        for entry, _, row, _, _ in kept:
            entry["id"] = row["id"]
        report = [{k: e[k] for k in ("row", "outcome", "id", "existing_id", "errors")} for e in entries]
        counts = report_counts(entries)
        errors = [{"row": e["row"], "outcome": e["outcome"], "errors": e["errors"]} for e in entries
                  if e["outcome"] != "created"]
        with uow:
            if kept:
                uow.emit_dumped(LEAD_CREATED, [payload for _, _, _, payload, _ in kept])
                storage.insert_new_leads(uow, [row for _, _, row, _, _ in kept],
                                         [changes for _, _, _, _, changes in kept])
            job.record_batch(uow, batch_no, len(entries), counts, errors, report=report)
            try:
                uow.commit()
                return
            except Exception as exc:
                if not storage.is_refusal(exc) or attempt == _REDO:
                    raise
                uow.rollback()
        job.rows_done -= len(entries)     # (record_batch counted it)
        job.counts = {k: v - counts.get(k, 0) for k, v in job.counts.items()}
        # Refused: nothing of the batch was written. Its new leads' phones are free in ``seen`` again,
        # and those rows are prepared anew: a phone another lead took meanwhile is now its duplicate.
        for entry, data, row, _, _ in kept:
            state.seen.pop(row["phone_key"], None)
            entry.update(outcome="created", id=None, existing_id=None, errors={},
                         _values=[data.get(column, "") for column in header])
        kept = prepare_chunk(uow.session_factory, state, principal, header, entries)


def export_leads_job(uow: UnitOfWork, principal: Principal, job: JobRun, page_size: int = EXPORT_JOB_PAGE) -> dict:
    """Run (or resume) an export job, a page of leads a batch; returns the rows exported."""
    query = job.params.get("query") or {}
    return export_in_batches(uow, job, lambda cursor: export_leads_page(uow, principal, query, cursor, page_size),
                             lambda: _count(uow, principal, query))


def _count(uow: UnitOfWork, principal: Principal, query: dict) -> int:
    params = load(LeadExportQuery(), query)
    stmt = filtered(scoped_select(Lead, principal, read_extra(principal)), params, utcnow())
    with uow:
        total = uow.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    limit = params.get("limit")
    return min(total, limit) if limit else total

