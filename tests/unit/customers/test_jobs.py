"""The customer import and export as jobs (``application.jobs``) over the kit's work-job store:
batches committed with their progress and per-row report (with the contact's id), a job resumed
after a crash applying no row twice, a pool the caller may not manage failing the job before any
row, the export resumed from its cursor."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Forbidden, NotFound, ValidationFailed
from crm_kit.runtime import work_job_batches as wjb
from crm_kit.runtime import work_jobs as wj
from services.customers.application import jobs
from services.customers.models import Base, Contact, Customer
from tests.unit.conftest import MEMBER_1


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, make_db):
    return make_db(Base, "customers", backend=request.param)



class Killed(Exception):
    """The process dying mid-job (an Exception, so that the writer beside it finishes first, as the
    database would see it: a transaction commits whole or not at all)."""

def _csv(n: int, start: int = 0) -> str:
    return "name,mobile,contact_name,contact_phone\n" + "".join(
        f"Firm {i},139{i:08d},Person {i},137{i:08d}\n" for i in range(start, start + n))


def _job(db, text, params=None, principal=MEMBER_1):
    store = wj.WorkJobs(db.session_factory, db.metadata, "customers", owner="test:1")
    job = store.create(jobs.IMPORT_KIND, principal, params or {})
    store.append_input(job["id"], principal, 0, text)
    store.submit(job["id"], principal, 1, jobs.check_import)
    row = store.claim_next([jobs.IMPORT_KIND], wj.utcnow(), 0.001)
    return store, job, wjb.JobRun(store, row)


def test_import_job_with_report_and_resume(db, monkeypatch):
    monkeypatch.setattr(jobs, "JOB_BATCH", 50)
    text = _csv(180) + "Firm 3,,,\n,13000000001,,\n"          # a duplicate name, a row without a name
    store, job, run = _job(db, text)
    real, calls = jobs.write_batch, []

    def crash_on_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise Killed("killed")
        return real(*args)

    monkeypatch.setattr(jobs, "write_batch", crash_on_third)
    with pytest.raises(Killed):
        jobs.import_customers_job(db.uow(), MEMBER_1, run)
    # what the committed batches say is exactly what is in the database (on PostgreSQL two batches are
    # written at once: the one beside the crash, even a later one, may have committed)
    half = store.view(job["id"], MEMBER_1)
    assert 50 <= half["progress"]["done"] < 182 and db.count(Customer) == half["counts"]["created"]
    monkeypatch.setattr(jobs, "write_batch", real)
    row = store.claim_next([jobs.IMPORT_KIND], wj.utcnow() + dt.timedelta(seconds=1), 30)
    run2 = wjb.JobRun(store, row)
    summary = jobs.import_customers_job(db.uow(), MEMBER_1, run2)
    store.finish(run2.id, run2.attempt, wj.SUCCEEDED, summary=summary)
    view = store.view(job["id"], MEMBER_1)
    assert view["state"] == "succeeded" and view["attempts"] == 2
    assert view["counts"] == {"created": 180, "duplicates": 1, "invalid": 1, "contacts_created": 180}
    assert db.count(Customer) == 180 and db.count(Contact) == 180
    assert len({c.name for c in db.all(Customer)}) == 180
    page = store.result_page(job["id"], MEMBER_1, batches_per_page=10)
    lines = page["csv"].strip().split("\r\n")
    assert lines[0] == "row,outcome,id,existing_id,contact_id,errors" and len(lines) == 183
    assert summary["columns"]["mobile"] == ["mobile"]


def test_a_bad_mapping_is_refused_on_submit_and_a_foreign_pool_fails_the_job(db):
    store = wj.WorkJobs(db.session_factory, db.metadata, "customers", owner="test:1")
    job = store.create(jobs.IMPORT_KIND, MEMBER_1, {"mapping": "{not json"})
    store.append_input(job["id"], MEMBER_1, 0, _csv(2))
    with pytest.raises(ValidationFailed):
        store.submit(job["id"], MEMBER_1, 1, jobs.check_import)
    _, _, run = _job(db, _csv(2), {"pool_id": "no-such-pool"})
    with pytest.raises((NotFound, Forbidden)):
        jobs.import_customers_job(db.uow(), MEMBER_1, run)
    assert db.count(Customer) == 0


def test_export_job(db):
    store, job, run = _job(db, _csv(30))
    jobs.import_customers_job(db.uow(), MEMBER_1, run)
    store.finish(run.id, run.attempt, wj.SUCCEEDED)
    export = store.create(jobs.EXPORT_KIND, MEMBER_1, {"query": {}}, state="queued")
    run = wjb.JobRun(store, store.claim_next([jobs.EXPORT_KIND], wj.utcnow(), 30))
    assert jobs.export_customers_job(db.uow(), MEMBER_1, run, page_size=7) == {"rows": 30}
    store.finish(run.id, run.attempt, wj.SUCCEEDED)
    text = ""
    cursor = None
    while True:
        page = store.result_page(export["id"], MEMBER_1, cursor, batches_per_page=2)
        text += page["csv"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("id,") and len(lines) == 31
    assert store.view(export["id"], MEMBER_1)["progress"] == {
        "done": 30, "total": 30, "percent": 100.0, "rate_per_second": store.view(export["id"], MEMBER_1)[
            "progress"]["rate_per_second"], "eta_seconds": None}


def test_bulk_assign_job_resumed_assigns_each_customer_once(make_db, monkeypatch):
    from tests.unit.customers.pool_support import POOL_ADMIN, events, in_pool, pool, stored
    db = make_db(Base, "customers")
    monkeypatch.setattr(jobs, "BULK_BATCH", 4)
    p = pool(db)
    ids = [in_pool(db, p["id"]) for _ in range(10)]
    params = {"customer_ids": ids + ["no-such-id"], "owner_id": "m2", "owner_department_id": "d2"}
    jobs.check_bulk_assign(params, None)
    with pytest.raises(ValidationFailed):
        jobs.check_bulk_assign({"customer_ids": [], "owner_id": "m2"}, None)
    store = wj.WorkJobs(db.session_factory, db.metadata, "customers", owner="test:1")
    job = store.create(jobs.BULK_ASSIGN_KIND, POOL_ADMIN, params, state="queued")
    run = wjb.JobRun(store, store.claim_next([jobs.BULK_ASSIGN_KIND], wj.utcnow(), 0.001))
    real, done = jobs.assign_customer, []

    def crash_in_second_batch(uow, principal, customer_id, *args):
        if len(done) == 6:
            raise Killed("killed")           # items 5 and 6 were done, their batch row not written
        done.append(customer_id)
        return real(uow, principal, customer_id, *args)

    monkeypatch.setattr(jobs, "assign_customer", crash_in_second_batch)
    with pytest.raises(Killed):
        jobs.bulk_assign_job(db.uow(), POOL_ADMIN, run)
    monkeypatch.setattr(jobs, "assign_customer", real)
    assert [stored(db, i).owner_id for i in ids[:6]] == ["m2"] * 6
    run2 = wjb.JobRun(store, store.claim_next([jobs.BULK_ASSIGN_KIND], wj.utcnow() + dt.timedelta(seconds=1), 30))
    assert run2.done_batches == {0}
    jobs.bulk_assign_job(db.uow(), POOL_ADMIN, run2)
    store.finish(run2.id, run2.attempt, wj.SUCCEEDED)
    view = store.view(job["id"], POOL_ADMIN)
    assert view["counts"] == {"assigned": 10, "refused": 1} and view["progress"]["done"] == 11
    assert [stored(db, i).owner_id for i in ids] == ["m2"] * 10
    assert len(events(db, "customer_owner_changed")) == 10               # none twice
    assert view["errors"][0]["errors"]["status"] == 404
