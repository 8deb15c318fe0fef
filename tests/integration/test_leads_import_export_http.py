"""CSV import and export through the gateway, and assignment carrying the owner's department."""
import csv
import io

from crm_kit.ids import new_id


def phone():
    return "135" + new_id()[-8:].translate(str.maketrans("abcdef", "123456"))


def test_import_reports_each_row_and_export_streams_csv(platform):
    existing = platform.post("/api/v1/leads", json={"name": "Already", "phone": phone()}).json()
    tag = new_id()[-6:]
    rows = [["name", "company", "phone", "source"],
            [f"Good {tag}", "导入公司", phone(), "trade_show"],
            [f"Dup {tag}", "Dup Co", existing["phone"], "other"],
            ["", "No name", phone(), "other"],
            [f"Bad source {tag}", "X", phone(), "carrier-pigeon"],
            [f"Also good {tag}", "", phone(), "referral"]]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    body = ("\ufeff" + buf.getvalue()).encode("utf-8")   # with a BOM, as spreadsheets write it
    resp = platform.post("/api/v1/leads/import", data=body, headers={"Content-Type": "text/csv"})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    outcomes = [r["outcome"] if "outcome" in r else r.get("status") for r in report["rows"]]
    assert outcomes == ["created", "duplicate", "invalid", "invalid", "created"], report
    assert report["rows"][1]["existing_id"] == existing["id"]
    assert "name" in str(report["rows"][2]) and "source" in str(report["rows"][3])

    export = platform.get("/api/v1/leads/export", params={"source": "trade_show"})
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in export.headers["Content-Disposition"]
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert any(r["name"] == f"Good {tag}" for r in exported)
    assert all(r["source"] == "trade_show" for r in exported)

    bad = platform.post("/api/v1/leads/import", data=b"\xff\xfe garbage", headers={"Content-Type": "text/csv"})
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"


def test_assign_copies_the_owner_department_and_checks_the_user(platform):
    dept = platform.post("/api/v1/departments", json={"name": f"Assign {new_id()[-5:]}"}).json()
    name = f"assignee-{new_id()[-8:]}"
    user = platform.post("/api/v1/users", json={"username": name, "password": "a long password",
                                                "role": "member", "department_id": dept["id"]}).json()
    pool = platform.post("/api/v1/lead-pools", json={"name": f"Pool {new_id()[-5:]}", "member_ids": [user["id"]]})
    assert pool.status_code == 201, pool.text
    lead = platform.post("/api/v1/leads", json={"name": "To assign", "pool_id": pool.json()["id"]}).json()
    unknown = platform.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": new_id()})
    assert unknown.status_code == 422 and "owner_id" in unknown.json()["errors"]
    assigned = platform.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": user["id"]})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["owner_id"] == user["id"] and assigned.json()["department_id"] == dept["id"]
    # the new owner sees it
    token = platform.login(name, "a long password")
    assert platform.get(f"/api/v1/leads/{lead['id']}", token=token).status_code == 200
    bad_pool = platform.post("/api/v1/lead-pools", json={"name": "Ghosts", "member_ids": [new_id()]})
    assert bad_pool.status_code == 422 and "member_ids" in bad_pool.json()["errors"]
