"""Long work as jobs through the gateway (``gateway.jobs``, ``crm_kit.runtime.work_jobs``): a
20,000-row lead import as a job reaching ``succeeded`` with the right counts and per-row report; a
cancel midway; the leads process SIGKILLed during a job, restarted, and the job resumed without a
row applied twice; an export job; a customer import into a pool and a bulk assign as jobs; a
product import and export as jobs; an upload left unfinished failed by the housekeeping rule
``upload_timeout`` (``crm jobs run``, previewed first); the ``crm import leads`` command against the
platform."""
from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from crm_kit.ids import new_id
from tests.integration.harness import Platform, postgres_reachable

LEASE = 2.0        # seconds: a killed replica's job is taken over this long after its last renewal


@pytest.fixture(scope="module")
def plat(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("jobs"), backend="postgresql" if postgres_reachable() else "sqlite",
                        services=("leads", "customers", "sales", "gateway"),
                        extra_env={"WORK_JOB_LEASE_SECONDS": str(LEASE), "WORK_JOB_POLL_SECONDS": "0.2"})
    try:
        platform.start()
        yield platform
    finally:
        platform.destroy()


def leads_csv(prefix: str, n: int, bad: int = 0, dups: int = 0, source: str = "trade_show") -> str:
    """``n`` leads with phones ``<prefix><8 digits>``, then ``bad`` rows without a name and
    ``dups`` rows repeating an earlier phone."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "phone", "company", "source"])
    for i in range(n):
        w.writerow([f"Job lead {prefix}-{i}", f"{prefix}{i:08d}", f"Co {i % 97}", source])
    for i in range(bad):
        w.writerow(["", f"{prefix}9{i:07d}", "No name", "other"])
    for i in range(dups):
        w.writerow([f"Again {i}", f"{prefix}{i:08d}", "", "other"])
    return out.getvalue()


def leads_with_prefix(plat: Platform, prefix: str) -> tuple[int, int]:
    """(leads, distinct phones) in the leads database with phones starting ``prefix``."""
    engine = create_engine(plat.db_urls["leads"])
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text("SELECT count(*), count(DISTINCT phone) FROM leads WHERE phone LIKE :p"),
                                      {"p": prefix + "%"}).one())
    finally:
        engine.dispose()


def start_import(plat: Platform, body: str, token=None) -> dict:
    resp = plat.post("/api/v1/leads/import-jobs", data=body.encode(), token=token, timeout=60,
                     headers={"Content-Type": "text/csv", "Idempotency-Key": new_id()})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert resp.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert job["state"] == "queued" and job["id"].startswith("leads-")
    return job


def wait_for(plat: Platform, job_id: str, until, timeout: float = 120, token=None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = plat.get(f"/api/v1/jobs/{job_id}", token=token)
        if resp.status_code == 200 and until(resp.json()):
            return resp.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} not there after {timeout}s: {resp.status_code} {resp.text[:500]}")
        time.sleep(0.1)


def finished(job: dict) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")


def test_a_20k_row_import_as_a_job(plat):
    job = start_import(plat, leads_csv("1360", 20000, bad=7, dups=5))
    seen_running = []
    done = wait_for(plat, job["id"], lambda j: seen_running.append(j["progress"]["done"]) or finished(j))
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"created": 20000, "duplicates": 5, "invalid": 7}
    assert done["progress"]["done"] == done["progress"]["total"] == 20012
    assert done["progress"]["rate_per_second"] > 0
    assert any(0 < d < 20012 for d in seen_running), "no progress seen between batches"
    assert sorted(e["outcome"] for e in done["errors"]) == ["duplicate"] * 5 + ["invalid"] * 7
    assert leads_with_prefix(plat, "1360") == (20000, 20000)
    report = plat.get(done["result_url"], timeout=60)
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert len(rows) == 20012 and [r["row"] for r in rows[:2]] == ["2", "3"]
    assert sum(r["outcome"] == "created" for r in rows) == 20000 and all(r["id"] for r in rows[:20000])
    assert {r["outcome"] for r in rows[20000:20007]} == {"invalid"} and "name" in rows[20000]["errors"]
    assert all(r["existing_id"] for r in rows[20007:])
    # mine to list; a job is its owner's (and admins'); an id of no service is 404
    listed = plat.get("/api/v1/jobs", params={"state": "succeeded"}).json()["items"]
    assert job["id"] in [j["id"] for j in listed]
    assert plat.get("/api/v1/jobs/nosuch-0193").status_code == 404
    assert plat.get("/api/v1/jobs", params={"limit": "0"}).status_code == 422
    assert plat.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 409


def test_a_bad_file_is_422_before_any_row(plat):
    resp = plat.post("/api/v1/leads/import-jobs", data=b"nom,telephone\nA,1\n", headers={"Content-Type": "text/csv"})
    assert resp.status_code == 422 and "_header" in resp.json()["errors"], resp.text


def test_cancel_midway(plat):
    job = start_import(plat, leads_csv("1370", 40000))
    wait_for(plat, job["id"], lambda j: j["progress"]["done"] >= 2000 or finished(j))
    resp = plat.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert resp.status_code == 200, resp.text
    done = wait_for(plat, job["id"], finished)
    assert done["state"] == "cancelled", done
    assert 2000 <= done["progress"]["done"] < 40000
    # what the committed batches say was done is exactly what is in the database
    assert leads_with_prefix(plat, "1370") == (done["counts"]["created"],) * 2
    assert done["progress"]["done"] % 1000 == 0              # it stopped at a batch boundary


def test_leads_killed_during_a_job_resumes_without_duplicates(plat):
    job = start_import(plat, leads_csv("1380", 20000))
    wait_for(plat, job["id"], lambda j: j["progress"]["done"] >= 3000 or finished(j))
    plat.halt("leads", signal.SIGKILL)                    # mid-job, mid-batch: nothing of that batch is kept
    plat.resume("leads")
    done = wait_for(plat, job["id"], finished, timeout=180)
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 2                          # taken over once its lease ran out
    assert done["counts"] == {"created": 20000, "duplicates": 0, "invalid": 0}
    assert leads_with_prefix(plat, "1380") == (20000, 20000)
    rows = list(csv.DictReader(io.StringIO(plat.get(done["result_url"], timeout=60).text)))
    assert len(rows) == 20000 and len({r["id"] for r in rows}) == 20000


def test_an_export_job(plat):
    start = start_import(plat, leads_csv("1390", 1200, source="referral"))   # the only referrals
    assert wait_for(plat, start["id"], finished)["state"] == "succeeded"
    resp = plat.post("/api/v1/leads/export-jobs", params={"source": "referral"})
    assert resp.status_code == 202, resp.text
    done = wait_for(plat, resp.json()["id"], finished)
    assert done["state"] == "succeeded" and done["progress"]["done"] == done["progress"]["total"] == 1200
    exported = list(csv.DictReader(io.StringIO(plat.get(done["result_url"], timeout=60).text)))
    assert len(exported) == 1200 and len({r["id"] for r in exported}) == 1200
    assert all(r["phone"].startswith("1390") for r in exported)
    assert plat.post("/api/v1/leads/export-jobs", params={"status": "nope"}).status_code == 422


def test_the_crm_import_command(plat, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(leads_csv("1350", 3000, bad=2))
    report = tmp_path / "report.csv"
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "import", "leads", str(path), "--url",
                           plat.base_url, "--token", plat.admin_token, "--interval", "0.1", "--report", str(report)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "succeeded: created 3,000, duplicates 0, invalid 2" in proc.stdout
    assert "3,002/3,002" in proc.stderr and "[" + "#" * 30 + "]" in proc.stderr
    assert len(report.read_text().strip().splitlines()) == 3003
    bad = tmp_path / "bad.csv"
    bad.write_text("nom\nA\n")
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "import", "leads", str(bad), "--url",
                           plat.base_url, "--token", plat.admin_token], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "HTTP 422" in proc.stderr and "_header" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "import", "leads", str(path), "--url",
                           plat.base_url, "--token", "wrong"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "HTTP 401" in proc.stderr
    assert requests.get(plat.base_url + "/healthz", timeout=5).status_code == 200


def test_customers_import_and_bulk_assign_as_jobs(plat):
    tag = new_id()[-6:]
    dept = plat.post("/api/v1/departments", json={"name": f"Jobs {tag}"}).json()
    member = plat.post("/api/v1/users", json={"username": f"jobs-m-{tag}", "password": "a long password",
                                               "role": "member", "department_id": dept["id"]}).json()
    pool = plat.post("/api/v1/customer-pools", json={"name": f"Jobs pool {tag}", "member_ids": [member["id"]]})
    assert pool.status_code == 201, pool.text
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Account Name", "mobile", "contact_name", "contact_phone"])      # Salesforce's name column
    for i in range(6000):
        w.writerow([f"Jobs firm {tag} {i}", f"1331{i:07d}", f"Person {i}", f"1341{i:07d}"])
    resp = plat.post("/api/v1/customers/import-jobs", data=out.getvalue().encode(), timeout=60,
                     params={"pool_id": pool.json()["id"]}, headers={"Content-Type": "text/csv"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["id"].startswith("customers-")
    done = wait_for(plat, resp.json()["id"], finished)
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"created": 6000, "duplicates": 0, "invalid": 0, "contacts_created": 6000}
    assert done["summary"]["columns"]["Account Name"] == ["name"]
    rows = list(csv.DictReader(io.StringIO(plat.get(done["result_url"], timeout=60).text)))
    assert len(rows) == 6000 and all(r["contact_id"] for r in rows)
    ids = [r["id"] for r in rows[:450]]
    resp = plat.post("/api/v1/customers/bulk-jobs/assign", json={"customer_ids": ids + [new_id()],
                                                                 "owner_id": member["id"]})
    assert resp.status_code == 202, resp.text
    done = wait_for(plat, resp.json()["id"], finished)
    assert done["state"] == "succeeded" and done["counts"] == {"assigned": 450, "refused": 1}, done
    owned = plat.get("/api/v1/customers", params={"owner_id": member["id"], "limit": "1"})
    assert owned.status_code == 200
    unknown_user = plat.post("/api/v1/customers/bulk-jobs/assign", json={"customer_ids": ids, "owner_id": new_id()})
    assert unknown_user.status_code == 422
    kinds = {j["kind"] for j in plat.get("/api/v1/jobs", params={"limit": "200"}).json()["items"]}
    assert {"import_customers", "bulk_assign_customers", "import_leads"} <= kinds


def test_products_import_and_export_as_jobs(plat):
    tag = new_id()[-6:]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["sku", "name", "unit_price", "category"])
    for i in range(2500):
        w.writerow([f"JOB-{tag}-{i}", f"Job product {i}", f"{i % 90 + 1}.50", "jobs"])
    w.writerow([f"JOB-{tag}-7", "Again", "1.00", "jobs"])          # a sku of an earlier batch: a duplicate
    w.writerow([f"JOB-{tag}-bad", "No price", "", "jobs"])          # invalid
    resp = plat.post("/api/v1/products/import-jobs", data=out.getvalue().encode(), timeout=60,
                     headers={"Content-Type": "text/csv"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["id"].startswith("sales-")
    done = wait_for(plat, resp.json()["id"], finished)
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"created": 2500, "updated": 0, "duplicates": 1, "invalid": 1}
    assert done["progress"]["done"] == done["progress"]["total"] == 2502
    rows = list(csv.DictReader(io.StringIO(plat.get(done["result_url"], timeout=60).text)))
    assert len(rows) == 2502
    assert rows[-2]["outcome"] == "duplicate" and rows[-2]["existing_id"] == rows[7]["id"]
    assert rows[-1]["outcome"] == "invalid" and "unit_price" in rows[-1]["errors"]
    bad = plat.post("/api/v1/products/import-jobs", data=b"sku,name\nA,B\n", headers={"Content-Type": "text/csv"})
    assert bad.status_code == 422 and "unit_price" in bad.text
    member = plat.post("/api/v1/users", json={"username": f"pj-{tag}", "password": "a long password",
                                               "role": "member"}).json()
    token = plat.login(f"pj-{tag}", "a long password")
    refused = plat.post("/api/v1/products/import-jobs", data=out.getvalue().encode(), token=token,
                        headers={"Content-Type": "text/csv"})
    assert refused.status_code == 202, refused.text       # queued, then failed before any row: not an admin
    failed = wait_for(plat, refused.json()["id"], finished, token=token)
    assert failed["state"] == "failed" and failed["progress"]["done"] == 0 and member["id"] == failed["owner_id"]
    resp = plat.post("/api/v1/products/export-jobs", params={"category": "jobs"})
    assert resp.status_code == 202, resp.text
    done = wait_for(plat, resp.json()["id"], finished)
    assert done["state"] == "succeeded" and done["progress"]["done"] == 2500, done
    exported = list(csv.DictReader(io.StringIO(plat.get(done["result_url"], timeout=60).text)))
    assert {r["sku"] for r in exported} == {f"JOB-{tag}-{i}" for i in range(2500)}


def test_an_upload_left_unfinished_is_failed_by_the_housekeeping_rule(plat):
    import datetime as dt

    from crm_kit.ops.jobs import run_job
    job_id = upload_begun_and_abandoned(plat)
    assert plat.get(f"/api/v1/jobs/{job_id}").json()["state"] == "uploading"
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(tzinfo=None).isoformat()
    env = dict(os.environ)
    os.environ["AMQP_URI"] = plat.env["AMQP_URI"]          # what `crm jobs run` reads
    try:
        preview = run_job("leads", "work_jobs_housekeeping", as_of=later, dry_run=True, timeout=30)
        assert preview["outcome"] == "previewed"
        assert job_id in [e["id"] for e in preview["result"]["expired"]]
        assert plat.get(f"/api/v1/jobs/{job_id}").json()["state"] == "uploading"      # a preview changed nothing
        ran = run_job("leads", "work_jobs_housekeeping", as_of=later, timeout=30)
        assert job_id in [e["id"] for e in ran["result"]["expired"]]
    finally:
        os.environ.clear()
        os.environ.update(env)
    view = plat.get(f"/api/v1/jobs/{job_id}").json()
    assert view["state"] == "failed" and "upload_timeout" in view["error"], view
    assert view["summary"]["ended_by"]["rule"] == "upload_timeout"


def upload_begun_and_abandoned(plat: Platform) -> str:
    """A job as ``leads.start_work_job(with_input=True)`` leaves it, one part of its file handed over,
    never submitted: a gateway that died mid-upload (its row written in the leads database)."""
    import datetime as dt
    import json
    job_id = f"leads-{new_id()}"
    principal = {"user_id": "admin-abandoned", "role": "admin", "department_id": None}
    engine = create_engine(plat.db_urls["leads"])
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO work_jobs (id, kind, state, owner_id, principal, params, cancel_requested, "
                              "attempts, created_at) VALUES (:id, 'import_leads', 'uploading', 'admin-abandoned', "
                              ":principal, '{}', 0, 0, :at)"),
                         {"id": job_id, "principal": json.dumps(principal),
                          "at": now if engine.dialect.name == "postgresql" else now.replace(tzinfo=None)})
            conn.execute(text("INSERT INTO work_job_inputs (job_id, seq, text) VALUES (:id, 0, 'name\nA\n')"),
                         {"id": job_id})
    finally:
        engine.dispose()
    return job_id
