"""The import and export as jobs (``application.jobs``) over the kit's work-job store
(``crm_kit.runtime.work_jobs``), without a broker: batches committed with their progress, a job
resumed after a "crash" (a batch that failed mid-way) applying no row twice, a cancel at a batch
boundary, the result pages, scopes."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import InvalidState, NotFound, ValidationFailed
from crm_kit.runtime import work_job_batches as wjb
from crm_kit.runtime import work_jobs as wj
from crm_kit.runtime.work_job_views import progress
from services.leads import application as app
from services.leads.application import jobs
from services.leads.models import Lead
from tests.unit.conftest import ADMIN, MEMBER_1, MEMBER_2
from tests.unit.leads.support import lead


class Killed(Exception):
    """The process dying mid-job (an Exception, so that the writer beside it finishes first, as the
    database would see it: a transaction commits whole or not at all)."""

def _csv(n: int, start: int = 0, extra: str = "") -> str:
    return "name,phone\n" + "".join(f"Lead {i},139{i:08d}\n" for i in range(start, start + n)) + extra


def _store(db) -> wj.WorkJobs:
    return wj.WorkJobs(db.session_factory, db.metadata, "leads", owner="test:1")


def _submitted(store, principal, text, kind=jobs.IMPORT_KIND, part=7000):
    job = store.create(kind, principal, {})
    parts = [text[i:i + part] for i in range(0, len(text), part)]
    for seq, piece in reversed(list(enumerate(parts))):        # parts may arrive in any order, twice
        store.append_input(job["id"], principal, seq, piece)
        store.append_input(job["id"], principal, seq, piece)
    return store.submit(job["id"], principal, len(parts), jobs.check_import)


def _claim(store, lease=30.0):
    row = store.claim_next([jobs.IMPORT_KIND, jobs.EXPORT_KIND], wj.utcnow(), lease)
    return row, wjb.JobRun(store, row)


def test_import_job_in_batches_with_progress_and_report(db, monkeypatch):
    monkeypatch.setattr(jobs, "JOB_BATCH", 100)
    store = _store(db)
    existing = lead(db, principal=MEMBER_1, phone="13900000005")
    text = _csv(250, extra="No phone,\n,13900000300\nLead 0 again,13900000000\n")
    job = _submitted(store, MEMBER_1, text)
    assert job["state"] == "queued" and job["id"].startswith("leads-")
    row, run = _claim(store)
    summary = jobs.import_leads_job(db.uow(), MEMBER_1, run)
    store.finish(run.id, run.attempt, wj.SUCCEEDED, summary=summary)
    view = store.view(job["id"], MEMBER_1)
    assert view["state"] == "succeeded"
    assert view["progress"]["done"] == view["progress"]["total"] == 253
    assert view["counts"] == {"created": 250 - 1 + 1, "duplicates": 2, "invalid": 1}
    assert db.count(Lead) == 1 + 250
    assert {e["row"] for e in view["errors"]} == {7, 253, 254}       # 13900000005, no name, Lead 0 again
    report = "".join(_pages(store, job["id"], MEMBER_1))
    lines = report.strip().split("\r\n")
    assert lines[0] == "row,outcome,id,existing_id,errors" and len(lines) == 254
    assert f"7,duplicate,,{existing['id']}," in report
    # the leads' outbox rows went with their batches
    assert len(db.outbox("lead_created")) == 251


def _pages(store, job_id, principal):
    cursor = None
    while True:
        page = store.result_page(job_id, principal, cursor, batches_per_page=2)
        yield page["csv"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def test_a_job_resumed_after_a_crash_applies_no_row_twice(db, monkeypatch):
    monkeypatch.setattr(jobs, "JOB_BATCH", 100)
    store = _store(db)
    job = _submitted(store, MEMBER_1, _csv(450))
    row, run = _claim(store, lease=0.001)
    real = jobs.write_batch
    calls = []

    def crash_on_third(uow, principal, state, job_, header, batch_no, entries, kept):
        calls.append(batch_no)
        if len(calls) == 3:
            raise Killed("killed")       # the process dies mid-job: batch 2 is not committed
        return real(uow, principal, state, job_, header, batch_no, entries, kept)

    monkeypatch.setattr(jobs, "write_batch", crash_on_third)
    with pytest.raises(Killed):
        jobs.import_leads_job(db.uow(), MEMBER_1, run)
    assert db.count(Lead) == 200
    assert store.view(job["id"], MEMBER_1)["progress"]["done"] == 200
    monkeypatch.setattr(jobs, "write_batch", real)
    # the lease ran out: another replica takes it over and resumes after the committed batches
    other = wj.WorkJobs(db.session_factory, db.metadata, "leads", owner="test:2")
    row2 = other.claim_next([jobs.IMPORT_KIND], wj.utcnow() + dt.timedelta(seconds=1), 30)
    assert row2["id"] == job["id"] and row2["attempts"] == 2
    run2 = wjb.JobRun(other, row2)
    assert run2.done_batches == {0, 1} and run2.rows_done == 200
    jobs.import_leads_job(db.uow(), MEMBER_1, run2)
    assert other.finish(run2.id, run2.attempt, wj.SUCCEEDED)
    assert not store.finish(run.id, run.attempt, wj.FAILED)        # the first attempt's word no longer counts
    assert db.count(Lead) == 450
    view = store.view(job["id"], MEMBER_1)
    assert view["counts"] == {"created": 450, "duplicates": 0, "invalid": 0} and view["state"] == "succeeded"
    phones = [x.phone for x in db.all(Lead)]
    assert len(phones) == len(set(phones))


def test_a_batch_committed_twice_is_refused(db, monkeypatch):
    """A replica frozen past its lease writes a batch another one committed: its commit fails whole."""
    monkeypatch.setattr(jobs, "JOB_BATCH", 100)
    store = _store(db)
    job = _submitted(store, MEMBER_1, _csv(100))
    _, run = _claim(store)
    stale = wjb.JobRun(store, store.claim_next([jobs.IMPORT_KIND], wj.utcnow() + dt.timedelta(seconds=60), 30))
    jobs.import_leads_job(db.uow(), MEMBER_1, run)
    stale.done_batches = frozenset()
    with pytest.raises(Exception):
        jobs.import_leads_job(db.uow(), MEMBER_1, stale)
    assert db.count(Lead) == 100
    assert store.view(job["id"], MEMBER_1)["progress"]["done"] == 100


def test_cancel_stops_at_the_next_batch_boundary(db, monkeypatch):
    monkeypatch.setattr(jobs, "JOB_BATCH", 100)
    store = _store(db)
    job = _submitted(store, MEMBER_1, _csv(500))
    _, run = _claim(store)
    real = jobs.write_batch

    def cancel_after_second(uow, principal, state, job_, header, batch_no, *rest):
        real(uow, principal, state, job_, header, batch_no, *rest)
        if batch_no == 1:
            store.cancel(job["id"], MEMBER_1)

    monkeypatch.setattr(jobs, "write_batch", cancel_after_second)
    with pytest.raises(wj.JobCancelled):
        jobs.import_leads_job(db.uow(), MEMBER_1, run)
    store.finish(run.id, run.attempt, wj.CANCELLED)
    view = store.view(job["id"], MEMBER_1)
    assert view["state"] == "cancelled" and view["progress"]["done"] == 200 and db.count(Lead) == 200
    with pytest.raises(InvalidState):
        store.cancel(job["id"], MEMBER_1)


def test_a_queued_job_is_cancelled_at_once_and_never_claimed(db):
    store = _store(db)
    job = _submitted(store, MEMBER_1, _csv(10))
    assert store.cancel(job["id"], MEMBER_1)["state"] == "cancelled"
    assert store.claim_next([jobs.IMPORT_KIND], wj.utcnow(), 30) is None


def test_a_bad_file_is_refused_on_submit(db):
    store = _store(db)
    job = store.create(jobs.IMPORT_KIND, MEMBER_1, {})
    store.append_input(job["id"], MEMBER_1, 0, "nom,telephone\nA,1\n")
    with pytest.raises(ValidationFailed):
        store.submit(job["id"], MEMBER_1, 1, jobs.check_import)
    assert store.view(job["id"], MEMBER_1)["state"] == "failed"
    job = store.create(jobs.IMPORT_KIND, MEMBER_1, {})
    with pytest.raises(ValidationFailed):          # a part missing
        store.submit(job["id"], MEMBER_1, 2, jobs.check_import)
    with pytest.raises(ValidationFailed):
        jobs.check_import({"pool_id": "p1"}, "name\nA\n")


def test_jobs_are_their_owners_and_admins(db):
    store = _store(db)
    job = _submitted(store, MEMBER_1, _csv(3))
    with pytest.raises(NotFound):
        store.view(job["id"], MEMBER_2)
    with pytest.raises(NotFound):
        store.cancel(job["id"], MEMBER_2)
    assert store.view(job["id"], ADMIN)["id"] == job["id"]
    assert [j["id"] for j in store.list(MEMBER_1)["items"]] == [job["id"]]
    assert store.list(MEMBER_2)["items"] == []
    assert len(store.list(ADMIN)["items"]) == 1


def test_export_job_resumes_from_its_cursor(db, monkeypatch):
    app.import_leads(db.uow(), MEMBER_1, _csv(23))
    store = _store(db)
    job = store.create(jobs.EXPORT_KIND, MEMBER_1, {"query": {}}, state="queued")
    _, run = _claim(store, lease=0.001)
    real = jobs.export_leads_page
    calls = []

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Killed("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "export_leads_page", crash)
    with pytest.raises(Killed):
        jobs.export_leads_job(db.uow(), MEMBER_1, run, page_size=5)
    monkeypatch.setattr(jobs, "export_leads_page", real)
    row = store.claim_next([jobs.EXPORT_KIND], wj.utcnow() + dt.timedelta(seconds=1), 30)
    run2 = wjb.JobRun(store, row)
    assert run2.next_batch == 2
    assert jobs.export_leads_job(db.uow(), MEMBER_1, run2, page_size=5) == {"rows": 23}
    store.finish(run2.id, run2.attempt, wj.SUCCEEDED)
    exported = "".join(_pages(store, job["id"], MEMBER_1)).strip().split("\r\n")
    assert exported[0].startswith("id,name,") and len(exported) == 24
    assert len({line.split(",")[0] for line in exported[1:]}) == 23
    assert store.view(job["id"], MEMBER_1)["progress"]["total"] == 23


def test_progress_rate_and_eta():
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    p = progress(1000, 250, t0, t0 + dt.timedelta(seconds=5), t0 + dt.timedelta(seconds=6), "running")
    assert p == {"done": 250, "total": 1000, "percent": 25.0, "rate_per_second": 50.0, "eta_seconds": 15.0}
    assert progress(None, 0, None, None, t0, "queued")["eta_seconds"] is None
    assert wj.job_service("leads-0193") == "leads" and wj.job_service("nope") is None
