"""Long work as jobs with progress: imports of any size, exports, bulk actions.

Not the periodic jobs of ``crm_kit.runtime.jobs`` (timers run once per period): a *work job* is
one piece of work a user asked for, too long for a request. Its life, in the owning service's own
database (tables ``work_jobs``, ``work_job_inputs``, ``work_job_batches``: ``crm_kit.records.db``):

1. **created** (``uploading``) by the service's RPC that starts it (``start_work_job``), for the
   caller, who owns it; the gateway then hands the uploaded file over in parts (``append_input``,
   idempotent per part number) and **submits** it (``queued``), the kind's ``check`` refusing a bad
   file there (422, the job ``failed``). The file lives in the owning service's database, so any
   replica (a pod of its own on Kubernetes) can run it, and a restart loses nothing.
2. **claimed** (``running``) by one replica under a lease (``claimed_until``, renewed while it
   runs; ``attempts`` is the fencing token): a replica killed mid-job stops renewing, and once the
   lease has run out another replica (or the restarted one) takes it over.
3. **run in batches**: each batch's writes and its ``work_job_batches`` row (rows done, counts,
   the failed rows, the per-row report or the export's file piece, what the next batch resumes
   from) are committed **in one transaction** (:meth:`JobRun.record_batch` adds the row to the
   batch's unit of work). A job taken over resumes after the last committed batch
   (:attr:`JobRun.next_batch`, :attr:`JobRun.resume`); the primary key ``(job_id, batch_no)``
   refuses a batch committed twice (two replicas, one frozen past its lease), so no row is applied
   twice. A **cancel** is asked for on the row (``cancel_requested``) and honoured at the next batch
   boundary (:meth:`JobRun.check_cancel`): the batches committed stay, and say what was done.
4. **finished**: ``succeeded`` (the kind's summary kept), ``failed`` (the error; the committed
   batches say what was applied, nothing half-applied), or ``cancelled``.

Progress (:func:`progress`) is read from the committed batches: done / total, the rate (rows a
second since the job started), the ETA, the errors so far. The result (:meth:`WorkJobs.result_page`)
is the batches' report rows (an import's per-row report, as CSV) or file pieces (an export's CSV)
in order, a page at a time. A user sees their own jobs; admins see every job.

The runner (``crm_kit.runtime.work_job_runner``) drives this from a nameko service; this module
is plain Python over a SQLAlchemy session factory, tested on SQLite without a broker.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import sessionmaker

from crm_kit.context import Principal
from crm_kit.errors import CrmError, InvalidState, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.runtime.job_runs import _insert_ignore, replica_id

UPLOADING, QUEUED, RUNNING = "uploading", "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
STATES = (UPLOADING, QUEUED, RUNNING, *FINISHED)
INPUT_PART_CHARS = 1_000_000      # the gateway hands a file over in parts of at most this many characters
MAX_INPUT_PARTS = 2000
ERRORS_SHOWN = 20                 # a job's view shows the first errors (the report has them all)
MAX_ERROR = 2000
REPORT_COLUMNS = ("row", "outcome", "id", "existing_id", "errors")


class JobCancelled(Exception):
    """Raised at a batch boundary of a job whose cancel was asked for."""


def job_service(job_id) -> str | None:
    """The service owning a job, from its id (``<service>-<uuid>``), or None."""
    if not isinstance(job_id, str) or "-" not in job_id:
        return None
    return job_id.split("-", 1)[0] or None


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


@dataclass
class Resume:
    """Where a job (re)starts: the next batch's number, the rows done before it, and what the last
    committed batch left to resume from (an export's cursor)."""
    next_batch: int = 0
    rows_done: int = 0
    resume: object = None
    counts: dict = field(default_factory=dict)
    done: frozenset = frozenset()     # the batches committed (two may be written at once: not only a prefix)


class WorkJobs:
    """The work jobs of one service's database, as one replica (``owner``) sees them."""

    def __init__(self, session_factory: sessionmaker, metadata, service: str, owner: str | None = None):
        self.session_factory = session_factory
        self.service = service
        self.jobs = metadata.tables["work_jobs"]
        self.inputs = metadata.tables["work_job_inputs"]
        self.batches = metadata.tables["work_job_batches"]
        self.owner = owner or replica_id()

    # -- creating and uploading ------------------------------------------------------------------
    def create(self, kind: str, principal: Principal, params: dict, now: dt.datetime | None = None,
               state: str = UPLOADING) -> dict:
        now = now or utcnow()
        job_id = f"{self.service}-{new_id()}"
        with self.session_factory() as session:
            session.execute(insert(self.jobs).values(
                id=job_id, kind=kind, state=state, owner_id=principal.user_id, principal=principal.to_dict(),
                params=params, input_parts=0 if state == QUEUED else None, cancel_requested=0, attempts=0,
                created_at=now))
            session.commit()
        return self.view(job_id, principal, now)

    def append_input(self, job_id, principal: Principal, seq, text) -> dict:
        """One part of the job's file (parts numbered from 0; a part given twice is kept once)."""
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_INPUT_PARTS:
            raise ValidationFailed.from_messages({"seq": [f"Must be an integer from 0 to {MAX_INPUT_PARTS - 1}."]})
        if not isinstance(text, str) or len(text) > INPUT_PART_CHARS:
            raise ValidationFailed.from_messages({"text": [f"Text of at most {INPUT_PART_CHARS} characters."]})
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state != UPLOADING:
                raise InvalidState(f"The job is {row.state}: its file is already submitted.", {"state": row.state})
            session.execute(_insert_ignore(session, self.inputs).values(job_id=job_id, seq=seq, text=text))
            session.commit()
        return {"id": job_id, "seq": seq}

    def submit(self, job_id, principal: Principal, parts, check=None) -> dict:
        """The file is complete (``parts`` parts, 0 .. parts-1): ``check(params, text)`` may refuse it
        (a ``ValidationFailed``: the job is failed with it, and the error raised); else queued."""
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state != UPLOADING:
                raise InvalidState(f"The job is {row.state}.", {"state": row.state})
            have = session.execute(select(func.count()).select_from(self.inputs).where(
                self.inputs.c.job_id == job_id, self.inputs.c.seq < parts)).scalar_one()
            if not isinstance(parts, int) or have != parts:
                raise ValidationFailed.from_messages({"parts": [f"{have} parts of the file arrived, not {parts}."]})
        if check is not None:
            try:
                check(row.params, self.input_text(job_id))
            except ValidationFailed as exc:
                self._set(job_id, state=FAILED, error=_error_text(exc), finished_at=utcnow())
                raise
        self._set(job_id, state=QUEUED, input_parts=parts)
        return self.view(job_id, principal)

    def input_text(self, job_id: str) -> str:
        with self.session_factory() as session:
            return "".join(session.execute(select(self.inputs.c.text).where(self.inputs.c.job_id == job_id)
                                           .order_by(self.inputs.c.seq)).scalars())

    # -- claiming and running --------------------------------------------------------------------
    def claim_next(self, kinds, now: dt.datetime, lease: float) -> dict | None:
        """Take the oldest job of ``kinds`` that is queued, or running under a lease run out (its
        replica died): compare-and-set on ``attempts``, so two replicas never both take it."""
        t = self.jobs
        with self.session_factory() as session:
            candidates = session.execute(select(t.c.id, t.c.attempts).where(
                t.c.kind.in_(list(kinds)),
                or_(t.c.state == QUEUED, and_(t.c.state == RUNNING, t.c.claimed_until < now)))
                .order_by(t.c.created_at).limit(5)).all()
            for job_id, attempts in candidates:
                taken = session.execute(update(t).where(
                    t.c.id == job_id, t.c.attempts == attempts,
                    or_(t.c.state == QUEUED, and_(t.c.state == RUNNING, t.c.claimed_until < now))).values(
                    state=RUNNING, claimed_by=self.owner, claimed_until=now + dt.timedelta(seconds=lease),
                    attempts=attempts + 1, started_at=func.coalesce(t.c.started_at, now))).rowcount
                session.commit()
                if taken:
                    return dict(session.execute(select(t).where(t.c.id == job_id)).mappings().one())
        return None

    def renew(self, job_id: str, attempt: int, now: dt.datetime, lease: float) -> bool:
        """Extend our lease; False when the job is no longer ours (taken over, or finished)."""
        t = self.jobs
        with self.session_factory() as session:
            done = session.execute(update(t).where(t.c.id == job_id, t.c.attempts == attempt, t.c.state == RUNNING)
                                   .values(claimed_until=now + dt.timedelta(seconds=lease))).rowcount
            session.commit()
        return bool(done)

    def resume_point(self, job_id: str) -> Resume:
        b = self.batches
        with self.session_factory() as session:
            rows = session.execute(select(b.c.batch_no, b.c.rows, b.c.resume, b.c.counts)
                                   .where(b.c.job_id == job_id).order_by(b.c.batch_no)).all()
        if not rows:
            return Resume()
        return Resume(rows[-1].batch_no + 1, sum(r.rows for r in rows), rows[-1].resume,
                      _sum_counts(r.counts for r in rows), frozenset(r.batch_no for r in rows))

    def cancel_requested(self, job_id: str) -> bool:
        with self.session_factory() as session:
            return bool(session.execute(select(self.jobs.c.cancel_requested)
                                        .where(self.jobs.c.id == job_id)).scalar_one_or_none())

    def set_total(self, job_id: str, total: int) -> None:
        self._set(job_id, total=total)

    def finish(self, job_id: str, attempt: int, state: str, summary=None, error: str | None = None,
               now: dt.datetime | None = None) -> bool:
        """Record how the run ended, only while the job is still this attempt's."""
        t = self.jobs
        with self.session_factory() as session:
            done = session.execute(update(t).where(t.c.id == job_id, t.c.attempts == attempt, t.c.state == RUNNING)
                                   .values(state=state, summary=summary, error=error and error[:MAX_ERROR],
                                           finished_at=now or utcnow(), claimed_until=None)).rowcount
            session.commit()
        return bool(done)

    def release(self, job_id: str, attempt: int) -> None:
        """Give the job back at once (the database or broker went away mid-batch): queued again."""
        t = self.jobs
        with self.session_factory() as session:
            session.execute(update(t).where(t.c.id == job_id, t.c.attempts == attempt, t.c.state == RUNNING)
                            .values(state=QUEUED, claimed_until=None))
            session.commit()

    # -- what users do ---------------------------------------------------------------------------
    def cancel(self, job_id, principal: Principal) -> dict:
        """Cancel: a job not started yet is cancelled now; a running one at its next batch boundary
        (``cancel_requested``); a finished one is a 409."""
        t = self.jobs
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state in FINISHED:
                raise InvalidState(f"The job has {row.state}: there is nothing to cancel.",
                                   {"state": row.state, "allowed_actions": []})
            values = {"cancel_requested": 1}
            if row.state in (UPLOADING, QUEUED):
                values.update(state=CANCELLED, finished_at=utcnow())
            session.execute(update(t).where(t.c.id == job_id, t.c.state == row.state).values(**values))
            session.commit()
        return self.view(job_id, principal)

    def view(self, job_id, principal: Principal, now: dt.datetime | None = None) -> dict:
        now = now or utcnow()
        b = self.batches
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            batches = session.execute(select(b.c.rows, b.c.counts, b.c.committed_at, b.c.errors)
                                      .where(b.c.job_id == job_id).order_by(b.c.batch_no)).all()
        return _view(row, batches, now)

    def list(self, principal: Principal, limit=50, state=None) -> dict:
        """The caller's jobs (an admin: everyone's), newest first."""
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 200:
            raise ValidationFailed.from_messages({"limit": ["Must be an integer from 1 to 200."]})
        if state is not None and state not in STATES:
            raise ValidationFailed.from_messages({"state": [f"Must be one of {', '.join(STATES)}."]})
        t, b = self.jobs, self.batches
        stmt = select(t).order_by(t.c.created_at.desc()).limit(limit)
        if not principal.is_admin:
            stmt = stmt.where(t.c.owner_id == principal.user_id)
        if state is not None:
            stmt = stmt.where(t.c.state == state)
        now = utcnow()
        with self.session_factory() as session:
            rows = session.execute(stmt).all()
            items = []
            for row in rows:
                batches = session.execute(select(b.c.rows, b.c.counts, b.c.committed_at, b.c.errors)
                                          .where(b.c.job_id == row.id).order_by(b.c.batch_no)).all()
                items.append(_view(row, batches, now))
        return {"items": items, "next_cursor": None}

    def result_page(self, job_id, principal: Principal, cursor=None, batches_per_page: int = 5) -> dict:
        """A page of the job's result, ``{"csv", "next_cursor"}``: an import's per-row report
        (``REPORT_COLUMNS``) or an export's file, from its committed batches in order."""
        try:
            start = int(cursor) if cursor else 0
        except (TypeError, ValueError):
            raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None
        b = self.batches
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state not in FINISHED:      # (a failed or cancelled job's result: what it did)
                raise InvalidState(f"The job is {row.state}: its result comes once it has finished.",
                                   {"state": row.state})
            found = session.execute(select(b.c.batch_no, b.c.report, b.c.output).where(
                b.c.job_id == job_id, b.c.batch_no >= start).order_by(b.c.batch_no)
                .limit(batches_per_page + 1)).all()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        page = found[:batches_per_page]
        columns = _report_columns(session, b, job_id)
        if start == 0 and (not page or page[0].output is None):
            writer.writerow(columns)
        for batch in page:
            if batch.output is not None:
                out.write(batch.output)
            for entry in batch.report or ():
                writer.writerow([_report_cell(entry.get(column)) for column in columns])
        more = len(found) > batches_per_page
        return {"csv": out.getvalue(), "next_cursor": str(found[batches_per_page].batch_no) if more else None}

    # -- helpers ---------------------------------------------------------------------------------
    def _mine(self, session, job_id, principal: Principal):
        """The job's row if the caller may see it (its owner, an admin), else 404 (not 403: ids of
        other users' jobs are not confirmed)."""
        row = None
        if isinstance(job_id, str) and len(job_id) <= 80:
            row = session.execute(select(self.jobs).where(self.jobs.c.id == job_id)).one_or_none()
        if row is None or not (principal.is_admin or row.owner_id == principal.user_id):
            raise NotFound.of("job", str(job_id)[:80])
        return row

    def _set(self, job_id: str, **values) -> None:
        with self.session_factory() as session:
            session.execute(update(self.jobs).where(self.jobs.c.id == job_id).values(**values))
            session.commit()


def _report_columns(session, b, job_id: str) -> list[str]:
    """An import report's columns: ``REPORT_COLUMNS``, and the others its rows have (a customer's
    ``contact_id``) before ``errors``."""
    first = session.execute(select(b.c.report).where(b.c.job_id == job_id, b.c.report.is_not(None))
                            .order_by(b.c.batch_no).limit(1)).scalar_one_or_none()
    extra = [k for k in (first[0] if first else {}) if k not in REPORT_COLUMNS]
    return [*REPORT_COLUMNS[:-1], *extra, REPORT_COLUMNS[-1]]


def _report_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


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
        self.counts = _sum_counts([self.counts, counts])


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


def _sum_counts(items) -> dict:
    out: dict = {}
    for counts in items:
        for key, value in (counts or {}).items():
            out[key] = out.get(key, 0) + value
    return out


def _view(row, batches, now: dt.datetime) -> dict:
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
        "counts": _sum_counts(b.counts for b in batches), "errors": errors,
        "cancel_requested": bool(row.cancel_requested), "attempts": row.attempts,
        "summary": row.summary, "error": row.error,
        "created_at": row.created_at.isoformat(), "started_at": row.started_at and row.started_at.isoformat(),
        "finished_at": row.finished_at and row.finished_at.isoformat(),
        "result_url": f"/api/v1/jobs/{row.id}/result" if row.state in FINISHED and batches else None,
    }


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationFailed):
        return f"{exc}: {json.dumps(exc.errors, ensure_ascii=False)}"
    if isinstance(exc, CrmError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
