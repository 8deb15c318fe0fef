"""A work job's run, batch by batch (``crm_kit.runtime.work_jobs``): what a job's code is handed
(:class:`JobRun`: its parameters and file, where it resumes, ``record_batch`` and ``check_cancel``),
an export's loop (:func:`export_in_batches`), and the checks of a job's parameters."""
from __future__ import annotations

import csv
import datetime as dt
import io

from crm_kit.errors import ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.work_job_states import ERRORS_SHOWN
from crm_kit.runtime.work_job_views import sum_counts
from crm_kit.runtime.work_jobs import JobCancelled, WorkJobs


def batch_row(job_id: str, batch_no: int, rows: int, counts: dict, errors: list | None = None,
              report: list | None = None, output: str | None = None, resume=None,
              now: dt.datetime | None = None) -> dict:
    return {"job_id": job_id, "batch_no": batch_no, "rows": rows, "counts": counts,
            "errors": (errors or [])[:ERRORS_SHOWN], "report": report, "output": output, "resume": resume,
            "committed_at": now or utcnow()}


class JobRun:
    """What a job's code is handed: its parameters and file, where it resumes, and the means to
    record a batch (in the batch's own transaction) and to stop when cancelled."""

    def __init__(self, store: WorkJobs, row: dict):
        self.store = store
        self.id: str = row["id"]
        self.kind: str = row["kind"]
        self.params: dict = row["params"] or {}
        self.total: int | None = row["total"]
        self.attempt: int = row["attempts"]
        point = store.resume_point(self.id)
        self.next_batch: int = point.next_batch
        self.rows_done: int = point.rows_done
        self.resume = point.resume
        self.counts: dict = point.counts
        self.done_batches: frozenset = point.done
        self.stopping = None          # the runner's check: raises while the service stops

    def input_text(self) -> str:
        return self.store.input_text(self.id)

    def set_total(self, total: int) -> None:
        self.total = total
        self.store.set_total(self.id, total)

    def check_cancel(self) -> None:
        """At a batch boundary: stop here if a cancel was asked for (``JobCancelled``), or give the
        job back if the service is stopping (the runner's ``JobPaused``)."""
        if self.stopping is not None:
            self.stopping()
        if self.store.cancel_requested(self.id):
            raise JobCancelled(self.id)

    def record_batch(self, uow, batch_no: int, rows: int, counts: dict, errors: list | None = None,
                     report: list | None = None, output: str | None = None, resume=None) -> None:
        """The batch's row, written by ``uow`` at its commit with the batch's writes (one transaction);
        a batch committed already (by a replica that lost its lease) fails that commit."""
        uow.insert(self.store.batches, [batch_row(self.id, batch_no, rows, counts, errors, report, output, resume)])
        self.rows_done += rows
        self.counts = sum_counts([self.counts, counts])


def export_in_batches(uow, job: JobRun, page, count=None) -> dict:
    """An export job's loop: ``page(cursor)`` -> ``{"csv", "next_cursor"}`` (a context's export page,
    the first with the header row), each page committed as a batch with the cursor the next starts
    from, until the last; ``count()`` gives the total first (the rows the filters match). A resumed
    job starts from its last committed batch's cursor. Returns ``{"rows": rows exported}``."""
    if job.total is None and count is not None:
        job.set_total(count())
    if job.next_batch and job.resume is None:
        return {"rows": job.rows_done}          # the last page was committed already
    cursor, batch_no = job.resume, job.next_batch
    while True:
        job.check_cancel()
        result = page(cursor)
        rows = sum(1 for _ in csv.reader(io.StringIO(result["csv"]))) - (0 if cursor else 1)
        with uow:
            job.record_batch(uow, batch_no, rows, {"exported": rows}, output=result["csv"],
                             resume=result["next_cursor"])
            uow.commit()
        cursor, batch_no = result["next_cursor"], batch_no + 1
        if cursor is None:
            if job.total != job.rows_done:       # rows filtered after the count (a customers' radius)
                job.set_total(job.rows_done)
            return {"rows": job.rows_done}


def check_params(params: dict, allowed) -> None:
    """A job's parameters are among ``allowed`` (else a 422 naming each other one)."""
    unknown = set(params) - set(allowed)
    if unknown:
        raise ValidationFailed.from_messages({key: ["Unknown parameter."] for key in sorted(unknown)})


def check_export_params(params: dict, query_schema) -> None:
    """An export job's parameters: ``{"query": the export's filters}``, loaded with ``query_schema``
    (a 422 before the job is queued)."""
    check_params(params, ("query",))
    if not isinstance(params.get("query", {}), dict):
        raise ValidationFailed.from_messages({"query": ["Not a valid object."]})
    load(query_schema, params.get("query") or {})
