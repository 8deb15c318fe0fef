"""What a work job looks like to its user (``crm_kit.runtime.work_jobs``): its view (state,
progress, counts, the first errors) and its result's CSV (an import's per-row report, an export's
file), both read from its committed batches."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

from sqlalchemy import select

from crm_kit.runtime.work_job_states import ERRORS_SHOWN, FINISHED, REPORT_COLUMNS, RUNNING, SUCCEEDED


def progress(total: int | None, done: int, started_at: dt.datetime | None, last_at: dt.datetime | None,
             now: dt.datetime, state: str) -> dict:
    """Done / total, the percentage, the rate (rows a second since the job started, up to its last
    batch) and the ETA (seconds, while running), as a job's view shows them."""
    rate = None
    if started_at is not None and last_at is not None and done:
        seconds = (last_at - started_at).total_seconds()
        rate = round(done / seconds, 1) if seconds > 0 else None
    eta = None
    if state == RUNNING and rate and total is not None:
        eta = round(max(0, total - done) / rate, 1)
    percent = round(100.0 * done / total, 1) if total else (100.0 if total == 0 and state == SUCCEEDED else None)
    return {"done": done, "total": total, "percent": percent, "rate_per_second": rate, "eta_seconds": eta}


def sum_counts(items) -> dict:
    out: dict = {}
    for counts in items:
        for key, value in (counts or {}).items():
            out[key] = out.get(key, 0) + value
    return out


def view_of(row, batches, now: dt.datetime) -> dict:
    done = sum(b.rows for b in batches)
    last_at = batches[-1].committed_at if batches else None
    errors = []
    for b in batches:
        if len(errors) >= ERRORS_SHOWN:
            break
        errors.extend(b.errors[:ERRORS_SHOWN - len(errors)])
    return {
        "id": row.id, "kind": row.kind, "state": row.state, "owner_id": row.owner_id, "params": row.params,
        "progress": progress(row.total, done, row.started_at, last_at, now, row.state),
        "counts": sum_counts(b.counts for b in batches), "errors": errors,
        "cancel_requested": bool(row.cancel_requested), "attempts": row.attempts,
        "summary": row.summary, "error": row.error,
        "created_at": row.created_at.isoformat(), "started_at": row.started_at and row.started_at.isoformat(),
        "finished_at": row.finished_at and row.finished_at.isoformat(),
        "result_url": f"/api/v1/jobs/{row.id}/result" if row.state in FINISHED and batches else None,
    }


def report_columns(session, b, job_id: str) -> list[str]:
    """An import report's columns: ``REPORT_COLUMNS``, and the others its rows have (a customer's
    ``contact_id``) before ``errors``."""
    first = session.execute(select(b.c.report).where(b.c.job_id == job_id, b.c.report.is_not(None))
                            .order_by(b.c.batch_no).limit(1)).scalar_one_or_none()
    extra = [k for k in (first[0] if first else {}) if k not in REPORT_COLUMNS]
    return [*REPORT_COLUMNS[:-1], *extra, REPORT_COLUMNS[-1]]


def report_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


def result_csv(session, batches_table, job_id: str, page, first: bool) -> str:
    """The CSV of a page of committed batches: an export's file pieces as they are, an import's
    report rows in ``report_columns`` (the header first, on the first page of a report)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = report_columns(session, batches_table, job_id)
    if first and (not page or page[0].output is None):
        writer.writerow(columns)
    for batch in page:
        if batch.output is not None:
            out.write(batch.output)
        for entry in batch.report or ():
            writer.writerow([report_cell(entry.get(column)) for column in columns])
    return out.getvalue()
