"""CSV import and export (streamed, page by page) through the gateway, and assignment carrying the
owner's department."""
import csv
import io
import json

import pytest

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


# -- the export: streamed, page by page (the platform's leads service uses pages of 10 rows) ----------
EXPORT_COLUMNS = ["id", "name", "company", "phone", "email", "source", "campaign_id", "region", "industry",
                  "status", "pool_id", "owner_id", "last_followed_at", "next_contact_at", "sla_breached",
                  "created_at"]


@pytest.fixture(scope="module")
def exporter(platform):
    """A member with 23 imported leads of their own and a pool whose 2 unassigned leads they may see;
    besides, leads they may not see: the admin's own, and a lead of the pool assigned to the admin."""
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Export {tag}"}).json()
    username = f"exporter-{tag}"
    member = platform.post("/api/v1/users", json={"username": username, "password": "a long password",
                                                  "role": "member", "department_id": dept["id"]}).json()
    token = platform.login(username, "a long password")
    rows = [["name", "company", "phone", "source"]]
    rows += [[f"Mine {tag} {i:02d}", "Co", phone(), "referral" if i % 2 else "web_form"] for i in range(23)]
    rows[6][0] = f"=HYPERLINK({tag})"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    report = platform.post("/api/v1/leads/import", data=buf.getvalue().encode(), token=token,
                           headers={"Content-Type": "text/csv"}).json()
    assert report["created"] == 23, report
    own = [r["id"] for r in report["rows"]]
    pool = platform.post("/api/v1/lead-pools", json={"name": f"Export pool {tag}", "member_ids": [member["id"]]})
    assert pool.status_code == 201, pool.text
    pool = pool.json()
    free = [platform.post("/api/v1/leads", json={"name": f"Free {tag} {i}", "pool_id": pool["id"]}).json()["id"]
            for i in range(2)]
    admin_id = platform.get("/api/v1/me").json()["id"]
    taken = platform.post("/api/v1/leads", json={"name": f"Taken {tag}", "pool_id": pool["id"]}).json()["id"]
    assert platform.post(f"/api/v1/leads/{taken}/assign", json={"owner_id": admin_id}).status_code == 200
    hidden = [taken] + [platform.post("/api/v1/leads", json={"name": f"Not theirs {tag} {i}"}).json()["id"]
                        for i in range(3)]
    return {"tag": tag, "member": member, "token": token, "own": own, "free": free, "hidden": hidden,
            "pool": pool, "referrals": [lead_id for lead_id, row in zip(own, rows[1:]) if row[3] == "referral"]}


def export(platform, token=None, request_id=None, **params):
    headers = {"X-Request-ID": request_id} if request_id else {}
    return platform.get("/api/v1/leads/export", params=params, token=token, headers=headers, timeout=60)


def exported_ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    lines = resp.text.split("\r\n")
    assert lines[0] == ",".join(EXPORT_COLUMNS) and lines[-1] == ""          # the header once, CRLF lines
    return [row["id"] for row in csv.DictReader(io.StringIO(resp.text))]


def log_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def test_export_streams_every_visible_lead_once_across_pages(platform, exporter):
    request_id = f"export-{exporter['tag']}"
    resp = export(platform, exporter["token"], request_id)
    ids = exported_ids(resp)
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="leads.csv"'
    assert resp.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in resp.headers
    assert resp.headers["X-Request-ID"] == request_id
    expected = exporter["own"] + exporter["free"]                       # 25 leads: 3 pages of 10
    assert len(ids) == len(set(ids)) == 25 and set(ids) == set(expected)
    assert ids == sorted(ids, reverse=True)                             # newest first, in keyset order
    assert not set(ids) & set(exporter["hidden"])
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(resp.text))}
    assert rows[exporter["own"][5]]["name"] == f"'=HYPERLINK({exporter['tag']})"     # the CSV-injection guard

    # every page's RPC carried the request id and the member (else the service would have refused it)
    def pages_served():
        return [line for line in log_lines(platform.log("leads"))
                if line.get("rpc") == "export_leads_page" and line.get("request_id") == request_id]
    served = platform.eventually(lambda: len(pages_served()) >= 3 and pages_served())
    assert len(served) == 3
    assert {(line["outcome"], line["user_id"]) for line in served} == {("success", exporter["member"]["id"])}
    streamed = [line for line in log_lines(platform.log("gateway"))
                if line.get("request_id") == request_id and line.get("chunks") is not None]
    assert [(line["chunks"], line["message"].endswith("complete")) for line in streamed] == [(3, True)]


def test_export_of_everything_matches_the_list_and_limit_keeps_the_first_rows(platform, exporter):
    listed, cursor = [], None
    while True:
        page = platform.get("/api/v1/leads", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        listed += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert exported_ids(export(platform)) == listed                     # the admin's: every lead, once
    theirs = exported_ids(export(platform, exporter["token"]))
    assert exported_ids(export(platform, exporter["token"], limit=13)) == theirs[:13]
    assert exported_ids(export(platform, exporter["token"], limit=20)) == theirs[:20]
    assert exported_ids(export(platform, exporter["token"], limit=1000)) == theirs


def test_export_applies_the_list_filters_on_every_page(platform, exporter):
    token, pool_id = exporter["token"], exporter["pool"]["id"]
    referrals = exported_ids(export(platform, token, source="referral"))
    assert len(exporter["referrals"]) == 11 and referrals == sorted(exporter["referrals"], reverse=True)
    assert set(exported_ids(export(platform, token, status="unassigned"))) == set(exporter["free"])
    assert set(exported_ids(export(platform, token, pool_id=pool_id))) == set(exporter["free"])
    assert set(exported_ids(export(platform, token, q=f"Mine {exporter['tag']}", source="web_form"))) == (
        set(exporter["own"]) - set(exporter["referrals"]))
    assert len(exported_ids(export(platform, token, sla_breached="false"))) == 25
    assert exported_ids(export(platform, token, sla_breached="true")) == []
    assert exported_ids(export(platform, token, created_from="2999-01-01T00:00:00Z")) == []
    assert len(exported_ids(export(platform, token, created_to="2999-01-01T00:00:00Z"))) == 25


@pytest.mark.parametrize("params,field", [({"status": "lost"}, "status"), ({"created_from": "yesterday"},
                                          "created_from"), ({"limit": "0"}, "limit"), ({"cursor": "x"}, "cursor")])
def test_a_bad_export_filter_is_a_422_problem_not_a_stream(platform, exporter, params, field):
    resp = export(platform, exporter["token"], **params)
    assert resp.status_code == 422 and resp.headers["Content-Type"] == "application/problem+json"
    assert list(resp.json()["errors"]) == [field]
