"""The customer CSV import (our columns, a mapping, Salesforce's and WukongCRM's files, into a pool)
and the streamed export, through the gateway."""
import csv
import io
import itertools
import json
import random

from crm_kit.ids import new_id

# Phones unique within the run by construction (random ones collided: a row reported as a duplicate).
_PHONES = itertools.count(random.randrange(9_000_000))


def unique_phone():
    return f"1391{next(_PHONES):07d}"


def post_csv(platform, text: str, token=None, **params):
    return platform.post("/api/v1/customers/import", data=("\ufeff" + text).encode("utf-8"), params=params,
                         headers={"Content-Type": "text/csv"}, token=token)


def test_import_reports_each_row_and_the_export_streams_it_back(platform):
    tag = new_id()[-8:]
    existing = platform.post("/api/v1/customers", json={"name": f"Existing {tag}"})
    assert existing.status_code == 201, existing.text
    mobile, contact_phone = unique_phone(), unique_phone()
    rows = [["name", "mobile", "level", "tags", "contact_name", "contact_phone"],
            [f"Good {tag}", mobile, "A", f"imp-{tag};north", "Jane Doe", contact_phone],
            [f"existing {tag}", "", "", "", "", ""],
            [f"Same phone {tag}", mobile, "", "", "", ""],
            ["", unique_phone(), "", "", "", ""],
            [f"Bad level {tag}", "", "Z", "", "", ""],
            [f"Also good {tag}", "", "", f"imp-{tag}", "", ""]]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    resp = post_csv(platform, buf.getvalue())
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert [r["outcome"] for r in report["rows"]] == ["created", "duplicate", "duplicate", "invalid", "invalid",
                                                      "created"], report
    assert report["rows"][1]["existing_id"] == existing.json()["id"]
    assert report["rows"][2]["existing_id"] == report["rows"][0]["id"]
    assert (report["created"], report["contacts_created"]) == (2, 1)
    got = platform.get(f"/api/v1/customers/{report['rows'][0]['id']}").json()
    assert [c["name"] for c in got["contacts"]] == ["Jane Doe"]

    export = platform.get("/api/v1/customers/export", params={"tags": f"imp-{tag}"})
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert 'filename="customers.csv"' in export.headers["Content-Disposition"]
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["name"] for r in exported] == [f"Also good {tag}", f"Good {tag}"]
    assert exported[1]["contact_name"] == "Jane Doe" and exported[1]["contact_phone"] == contact_phone

    bad_filter = platform.get("/api/v1/customers/export", params={"level": "Z"})
    assert bad_filter.status_code == 422 and bad_filter.headers["Content-Type"] == "application/problem+json"


def test_other_crms_files_and_a_mapping(platform):
    tag = new_id()[-8:]
    salesforce = ("Account ID,Account Name,Phone,Industry,Rating,Billing City,Billing Country,First Name,Last Name,"
                  "Title,Email,Account Owner\n"
                  f"001X{tag},SF {tag},(650) 867-{tag[-4:].translate(str.maketrans('abcdef', '123456'))},"
                  "Biotechnology,Warm,Mountain View,USA,Edna,Frank,VP,edna@example.com,Admin\n")
    sf = post_csv(platform, salesforce)
    assert sf.status_code == 200 and sf.json()["created"] == 1, sf.text
    assert set(sf.json()["ignored_columns"]) == {"Account ID", "Account Owner"}
    customer = platform.get(f"/api/v1/customers/{sf.json()['rows'][0]['id']}").json()
    assert (customer["level"], customer["address"], customer["contacts"][0]["name"]) == (
        "B", "Mountain View, USA", "Edna Frank")

    wukong = ("客户名称,客户级别,客户来源,手机,地区,详细地址,负责人\n"
              f"华星 {tag},A（重点客户）,转介绍,{unique_phone()},广东省 深圳市,南山区1号,张三\n")
    wk = post_csv(platform, wukong)
    assert wk.status_code == 200 and wk.json()["created"] == 1, wk.text
    customer = platform.get(f"/api/v1/customers/{wk.json()['rows'][0]['id']}").json()
    assert (customer["level"], customer["source"], customer["region"]) == ("A", "referral", "广东省 深圳市")

    mapped = post_csv(platform, f"Firma,Branche,Intern\nMüller {tag},Maschinenbau,x\n",
                      mapping=json.dumps({"Firma": "name", "Branche": "industry", "Intern": None}))
    assert mapped.status_code == 200 and mapped.json()["created"] == 1, mapped.text

    unknown = post_csv(platform, f"Firma,Branche\nX {tag},Y\n")
    assert unknown.status_code == 422 and "_header" in unknown.json()["errors"], unknown.text
    bad_mapping = post_csv(platform, "name\nA\n", mapping="{not json")
    assert bad_mapping.status_code == 422 and "mapping" in bad_mapping.json()["errors"], bad_mapping.text
    wrong_type = platform.post("/api/v1/customers/import", data=b"name\nA\n", headers={"Content-Type": "text/html"})
    assert wrong_type.status_code in (400, 415), wrong_type.text


def test_import_into_a_pool_and_a_long_export_in_pages(platform):
    tag = new_id()[-8:]
    pool = platform.post("/api/v1/customer-pools", json={"name": f"Import pool {tag}"})
    assert pool.status_code == 201, pool.text
    lines = ["name,industry,contact_name,contact_phone"] + [
        f"Pooled {tag} {i:04d},Bulk {tag},Person {i},{unique_phone()}" for i in range(2500)]
    resp = post_csv(platform, "\n".join(lines) + "\n", pool_id=pool.json()["id"])
    assert resp.status_code == 200, resp.text[:1000]
    report = resp.json()
    assert (report["created"], report["contacts_created"], report["pool_id"]) == (2500, 2500, pool.json()["id"])
    one = platform.get(f"/api/v1/customers/{report['rows'][0]['id']}").json()
    assert (one["pool_id"], one["owner_id"]) == (pool.json()["id"], None)

    # more rows than a page: the gateway streams every page as one file, each customer once
    export = platform.get("/api/v1/customers/export", params={"industry": f"Bulk {tag}"})
    assert export.status_code == 200
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert len(exported) == 2500 and len({r["id"] for r in exported}) == 2500
    assert {r["id"] for r in exported} == {r["id"] for r in report["rows"]}
    assert all(r["pool_id"] == pool.json()["id"] and r["contacts_count"] == "1" for r in exported)
    limited = platform.get("/api/v1/customers/export", params={"industry": f"Bulk {tag}", "limit": 1500})
    assert len(list(csv.DictReader(io.StringIO(limited.text)))) == 1500
