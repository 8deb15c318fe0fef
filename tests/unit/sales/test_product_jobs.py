"""The products' import and export as jobs (``application.product_jobs``) over the kit's work-job
store, without a broker: batches committed with their report, a sku met again in a later batch a
duplicate of the earlier row's product, a resumed job skipping its committed batches, the checks
before a job is queued, the admin rule, an export job's file."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from crm_kit.errors import Forbidden, ValidationFailed
from crm_kit.runtime import work_job_batches as wjb
from crm_kit.runtime import work_jobs as wj
from services.sales.application import product_jobs
from services.sales.models import Base
from services.sales.models.products import Product
from tests.unit.conftest import ADMIN, MEMBER_1


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def _file(n: int, extra_rows=()) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["sku", "name", "unit_price"])
    for i in range(n):
        w.writerow([f"P-{i}", f"Product {i}", "9.90"])
    for row in extra_rows:
        w.writerow(row)
    return out.getvalue()


def _queued(db, principal, text: str, params=None) -> tuple[wj.WorkJobs, wjb.JobRun]:
    store = wj.WorkJobs(db.session_factory, db.metadata, "sales", owner="test:1")
    job = store.create(product_jobs.IMPORT_KIND, principal, params or {})
    store.append_input(job["id"], principal, 0, text)
    store.submit(job["id"], principal, 1, product_jobs.check_import)
    row = store.claim_next([product_jobs.IMPORT_KIND], wj.utcnow(), 30)
    return store, wjb.JobRun(store, row)


def test_an_import_job_in_batches_with_a_duplicate_across_batches(db, monkeypatch):
    monkeypatch.setattr(product_jobs, "JOB_BATCH", 100)
    store, run = _queued(db, ADMIN, _file(250, [["P-3", "Again", "1.00"], ["P-bad", "No price", ""]]))
    summary = product_jobs.import_products_job(db.uow(), ADMIN, run)
    assert summary["counts"] == {"created": 250, "updated": 0, "duplicates": 1, "invalid": 1}
    assert db.count(Product) == 250
    store.finish(run.id, run.attempt, wj.SUCCEEDED, summary=summary)
    report = list(csv.DictReader(io.StringIO(store.result_page(run.id, ADMIN, batches_per_page=10)["csv"])))
    assert len(report) == 252
    assert report[250]["outcome"] == "duplicate" and report[250]["existing_id"] == report[3]["id"]
    assert report[251]["outcome"] == "invalid"


def test_a_resumed_job_skips_its_committed_batches(db, monkeypatch):
    monkeypatch.setattr(product_jobs, "JOB_BATCH", 100)
    store, run = _queued(db, ADMIN, _file(300), {"mode": "upsert"})
    calls = []
    real = product_jobs._write_batch

    def dies_in_the_second_batch(*args):
        calls.append(args[-1])
        if len(calls) == 2:
            raise RuntimeError("the replica died")
        return real(*args)

    monkeypatch.setattr(product_jobs, "_write_batch", dies_in_the_second_batch)
    with pytest.raises(RuntimeError):
        product_jobs.import_products_job(db.uow(), ADMIN, run)
    monkeypatch.setattr(product_jobs, "_write_batch", real)
    resumed = wjb.JobRun(store, store.claim_next([product_jobs.IMPORT_KIND], wj.utcnow()
                                                + dt.timedelta(seconds=60), 30))
    assert resumed.done_batches == {0}
    summary = product_jobs.import_products_job(db.uow(), ADMIN, resumed)
    assert summary["rows"] == 300 and summary["counts"]["created"] == 300
    assert db.count(Product) == 300


def test_what_is_refused_before_a_job_is_queued():
    with pytest.raises(ValidationFailed):
        product_jobs.check_import({"mode": "merge"}, _file(1))
    with pytest.raises(ValidationFailed):
        product_jobs.check_import({"pool_id": "x"}, _file(1))
    with pytest.raises(ValidationFailed):
        product_jobs.check_import({}, "sku,name\nA,B\n")          # unit_price is required
    with pytest.raises(ValidationFailed):
        product_jobs.check_export({"query": {"active": "maybe"}}, None)
    product_jobs.check_export({"query": {"category": "jobs"}}, None)


def test_only_admins_import(db):
    _, run = _queued(db, MEMBER_1, _file(3))
    with pytest.raises(Forbidden):
        product_jobs.import_products_job(db.uow(), MEMBER_1, run)
    assert db.count(Product) == 0


def test_an_export_job(db, monkeypatch):
    _, run = _queued(db, ADMIN, _file(30))
    product_jobs.import_products_job(db.uow(), ADMIN, run)
    store = wj.WorkJobs(db.session_factory, db.metadata, "sales", owner="test:1")
    job = store.create(product_jobs.EXPORT_KIND, MEMBER_1, {"query": {}}, state=wj.QUEUED)
    export = wjb.JobRun(store, store.claim_next([product_jobs.EXPORT_KIND], wj.utcnow(), 30))
    assert product_jobs.export_products_job(db.uow(), MEMBER_1, export, page_size=12) == {"rows": 30}
    store.finish(export.id, export.attempt, wj.SUCCEEDED)
    rows = list(csv.DictReader(io.StringIO(store.result_page(job["id"], MEMBER_1)["csv"])))
    assert sorted(r["sku"] for r in rows) == sorted(f"P-{i}" for i in range(30))
