"""The customer CSV import (``application.imports``, ``import_chunks``, ``import_rows``,
``import_storage``), on both backends where it is written in bulk: the per-row report, duplicates as
create checks them (and within the file), other CRMs' files, a mapping, a pool, and the rows, audit
entries and events exactly as ``create_customer`` writes them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound, ValidationFailed
from crm_kit.records.audit import changes_of
from services.customers import application as app
from services.customers.application import import_chunks
from services.customers.models import Base, Contact, Customer, CustomerOwnership, CustomerTag
from services.customers.schemas.imports import CustomerImportReport
from tests.unit.conftest import ADMIN, MEMBER_1, MEMBER_2

POOL_ADMIN = Principal("padmin", "member", "d9", ("d9",))


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


@pytest.fixture(params=["sqlite", "postgresql"])
def both_db(request, make_db):
    """For what is written in bulk (``crm_kit.records.bulk.bulk_insert`` differs by dialect)."""
    return make_db(Base, "customers", backend=request.param)


def audit_rows(db):
    with db.session() as s:
        return s.execute(select(db.metadata.tables["audit_log"])).all()


def payloads(db, name):
    return [row.body["payload"] for row in db.outbox(name)]


def by_row(report):
    return {r["row"]: r for r in report["rows"]}


def test_import_per_row_report(both_db):
    db = both_db
    existing = app.create_customer(db.uow(), MEMBER_2, {"name": "Old Corp", "telephone": "010-5555 1234"})
    app.create_contact(db.uow(), MEMBER_2, {"customer_id": existing["id"], "name": "Old Contact",
                                            "phone": "139 0000 7777"})
    text = ("\ufeffname,mobile,level,contact_name,contact_phone,tags\n"
            "Acme Ltd,13800001111,A,Jane Doe,13800002222,vip;north\n"     # 2 created with its contact
            " old  CORP ,,,,,\n"                                            # 3 duplicate: name (normalised)
            "New Co,010 5555 1234,,,,\n"                                    # 4 duplicate: mobile = a telephone
            "Third,,,Li Lei,13900007777,\n"                                 # 5 duplicate: the contact's phone
            ",13800003333,,,,\n"                                            # 6 invalid: no name
            "Bad Level,,Z,,,\n"                                             # 7 invalid: level
            "Short,1\n"                                                     # 8 invalid: values
            "\n"
            "No Contact Name,,,,13800004444,\n"                             # 10 invalid: a contact needs a name
            "ACME LTD,,,,,\n"                                               # 11 duplicate of row 2 (the file)
            "Again,,,Ann,13800002222,\n"                                    # 12 duplicate of row 2's contact
            "Plain,,,,,\n")                                                 # 13 created
    report = app.import_customers(db.uow(), MEMBER_1, text)
    assert report == CustomerImportReport().dump(report)          # what the RPC documents, exactly
    assert (report["created"], report["duplicates"], report["invalid"], report["contacts_created"]) == (2, 5, 4, 1)
    rows = by_row(report)
    assert rows[2]["outcome"] == "created" and rows[2]["id"] and rows[2]["contact_id"]
    assert (rows[3]["outcome"], rows[3]["existing_id"], list(rows[3]["errors"])) == (
        "duplicate", existing["id"], ["name"])
    assert (rows[4]["outcome"], rows[4]["existing_id"], list(rows[4]["errors"])) == (
        "duplicate", existing["id"], ["mobile"])
    assert (rows[5]["outcome"], rows[5]["existing_id"], list(rows[5]["errors"])) == (
        "duplicate", existing["id"], ["contact_phone"])
    assert rows[6]["outcome"] == "invalid" and "name" in rows[6]["errors"]
    assert rows[7]["errors"] == {"level": ["Must be one of: A, B, C."]}
    assert rows[8]["outcome"] == "invalid" and "_row" in rows[8]["errors"]
    assert list(rows[10]["errors"]) == ["contact_name"]
    assert (rows[11]["outcome"], rows[11]["existing_id"]) == ("duplicate", rows[2]["id"])
    assert (rows[12]["outcome"], rows[12]["existing_id"], list(rows[12]["errors"])) == (
        "duplicate", rows[2]["id"], ["contact_phone"])
    assert rows[13]["outcome"] == "created" and rows[13]["contact_id"] is None
    assert 9 not in rows
    assert db.count(Customer) == 3 and db.count(Contact) == 2
    got = app.get_customer(db.uow(), MEMBER_1, rows[2]["id"])
    assert (got["owner_id"], got["level"], got["tags"], got["mobile"]) == ("user-1", "A", ["north", "vip"],
                                                                         "13800001111")
    assert [(c["name"], c["phone"], c["is_primary"]) for c in got["contacts"]] == [("Jane Doe", "13800002222", True)]


def test_duplicates_across_chunks(both_db, monkeypatch):
    """Chunks are checked ahead of their writing: a later chunk's row repeating an earlier chunk's
    key is that row's duplicate, whichever chunk is written first."""
    db = both_db
    monkeypatch.setattr(import_chunks, "IMPORT_CHUNK", 2)
    text = ("name,telephone,contact_name,contact_phone\n"
            "One,01011110001,,\nTwo,,Ann,13800000001\nThree,,,\nOne,,,\n"
            "Five,010 1111 0001,,\nSix,,Bo,+86 138 0000 0001\nSeven,,,\n")
    report = app.import_customers(db.uow(), MEMBER_1, text)
    rows = by_row(report)
    assert [rows[n]["outcome"] for n in range(2, 9)] == ["created", "created", "created", "duplicate", "duplicate",
                                                         "duplicate", "created"]
    assert rows[5]["existing_id"] == rows[6]["existing_id"] == rows[2]["id"]
    assert rows[7]["existing_id"] == rows[3]["id"]
    assert db.count(Customer) == 4 and len(payloads(db, "customer_created")) == 4


def test_an_imported_customer_is_recorded_as_create_customer_records_it(both_db):
    """The bulk path writes without the ORM: its rows, audit entries and events must be the ones
    ``create_customer`` (the ORM flush) writes for the same input."""
    db = both_db
    body = {"name": "Same Corp", "kind": "company", "industry": "Retail", "size": "50-100", "level": "B",
            "region": "North", "address": "1 Main St", "latitude": 31.2, "longitude": 121.5,
            "mobile": "13800009999", "telephone": "021-5555 0000", "email": "info@same.example",
            "website": "same.example", "source": "referral", "notes": "n", "follow_stage": "talks",
            "tags": ["vip", "east"]}
    contact = {"name": "Jane Doe", "title": "CEO", "phone": "13900009999", "email": "jane@same.example"}
    made = app.create_customer(db.uow(), MEMBER_1, dict(body, contacts=[dict(contact, is_primary=True)]))
    # the same again by import, once the first is renamed and its phones changed (no duplicate)
    with db.session() as s:
        row = s.get(Customer, made["id"])
        row.name_key, row.mobile_key, row.telephone_key = "renamed", None, None
        for c in row.contacts:
            c.phone_key = None
        s.commit()
    columns = {**{k: v for k, v in body.items() if k != "tags"}, "tags": "vip;east",
               **{f"contact_{k}": v for k, v in contact.items()}}
    text = ",".join(columns) + "\n" + ",".join(str(v) for v in columns.values()) + "\n"
    report = app.import_customers(db.uow(), MEMBER_1, text)
    assert report["created"] == 1, report["rows"]
    imported = report["rows"][0]["id"]

    entries = {(e.entity, e.entity_id): e for e in audit_rows(db) if e.action == "create"}
    made_contact = made["contacts"][0]["id"]
    imported_contact = report["rows"][0]["contact_id"]
    volatile = {"id", "customer_id", "created_at", "updated_at", "owner_since"}
    for entity, mine, theirs in (("customer", imported, made["id"]), ("contact", imported_contact, made_contact)):
        a, b = entries[(entity, mine)], entries[(entity, theirs)]
        assert {k: v for k, v in a.changes.items() if k not in volatile} == \
               {k: v for k, v in b.changes.items() if k not in volatile}, entity
        assert set(a.changes) == set(b.changes) and a.actor_id == b.actor_id
    with db.session() as s:      # ... and what the ORM's audit records of such a customer and contact
        sorted_tags = dict(entries[("customer", imported)].changes, tags=[None, ["east", "vip"]])  # (rows: by tag)
        assert sorted_tags == changes_of(s.get(Customer, imported), "create")
        assert entries[("contact", imported_contact)].changes == changes_of(s.get(Contact, imported_contact), "create")

    strip = {"customer_id", "contact_id", "primary_contact_id", "created_at"}
    for event in ("customer_created", "contact_created"):
        by_id = {(p.get("customer_id"), p.get("contact_id")): p for p in payloads(db, event)}
        mine = [p for k, p in by_id.items() if imported in k or imported_contact in k]
        theirs = [p for k, p in by_id.items() if made["id"] in k or made_contact in k]
        assert [{k: v for k, v in p.items() if k not in strip} for p in mine] == \
               [{k: v for k, v in p.items() if k not in strip} for p in theirs], event
    created = {p["customer_id"]: p for p in payloads(db, "customer_created")}
    assert created[imported]["primary_contact_id"] == imported_contact
    again = app.get_customer(db.uow(), MEMBER_1, imported)
    skip = {"id", "created_at", "updated_at", "owner_since", "contacts"}
    made["tags"] = sorted(made["tags"])        # (as read back: by tag)
    assert {k: v for k, v in again.items() if k not in skip} == {k: v for k, v in made.items() if k not in skip}
    with db.session() as s:
        kinds = s.scalars(select(CustomerOwnership.start_kind).where(CustomerOwnership.customer_id == imported)).all()
    assert kinds == ["import"]


SALESFORCE = (
    "Account ID,Account Name,Type,Phone,Fax,Website,Industry,Employees,Rating,Account Source,Billing Street,"
    "Billing City,Billing State/Province,Billing Zip/Postal Code,Billing Country,Description,First Name,"
    "Last Name,Title,Email,Mobile,Account Owner,Created Date\n"
    "001A000001,GenePoint,Customer - Channel,(650) 867-3450,(650) 867-9895,www.genepoint.com,Biotechnology,265,"
    "Cold,Web,345 Shoreline Park,Mountain View,CA,94043,USA,\"Genomics, at scale\",Edna,Frank,VP Technology,"
    "efrank@genepoint.com,(650) 867-3451,Admin User,2024-01-02\n")
WUKONG = ("客户名称,客户级别,客户来源,客户行业,手机,电话,网址,地区,详细地址,备注,下次联系时间,负责人\n"
          "深圳华星科技有限公司,A（重点客户）,展会资源,IT/通信/电子/互联网,13912345678,0755-86001234,www.hx.example,"
          "广东省 深圳市,南山区科技园1号,老客户,2030-01-05 10:00:00,张三\n")


def test_a_salesforce_account_and_contact_export_imports_as_it_is(db):
    report = app.import_customers(db.uow(), MEMBER_1, SALESFORCE)
    assert report["created"] == 1, report["rows"]
    assert set(report["ignored_columns"]) == {"Account ID", "Fax", "Account Owner", "Created Date"}
    got = app.get_customer(db.uow(), MEMBER_1, report["rows"][0]["id"])
    assert {k: got[k] for k in ("name", "telephone", "website", "industry", "size", "level", "source", "region",
                                "address", "notes", "tags")} == {
        "name": "GenePoint", "telephone": "(650) 867-3450", "website": "www.genepoint.com",
        "industry": "Biotechnology", "size": "265", "level": "C", "source": "web_form", "region": "CA",
        "address": "345 Shoreline Park, Mountain View, CA, 94043, USA", "notes": "Genomics, at scale",
        "tags": ["Customer - Channel"]}
    (contact,) = got["contacts"]
    assert (contact["name"], contact["title"], contact["email"], contact["phone"]) == (
        "Edna Frank", "VP Technology", "efrank@genepoint.com", "(650) 867-3451")


def test_a_wukong_import_template_imports_as_it_is(db):
    report = app.import_customers(db.uow(), MEMBER_1, WUKONG)
    assert report["created"] == 1, report["rows"]
    assert report["ignored_columns"] == ["负责人"]
    got = app.get_customer(db.uow(), MEMBER_1, report["rows"][0]["id"])
    assert {k: got[k] for k in ("name", "level", "source", "industry", "mobile", "telephone", "website", "region",
                                "address", "notes", "next_contact_at")} == {
        "name": "深圳华星科技有限公司", "level": "A", "source": "trade_show", "industry": "IT/通信/电子/互联网",
        "mobile": "13912345678", "telephone": "0755-86001234", "website": "www.hx.example", "region": "广东省 深圳市",
        "address": "南山区科技园1号", "notes": "老客户", "next_contact_at": "2030-01-05T10:00:00+00:00"}


def test_a_mapping_given_with_the_request(db):
    text = "Firma,Telefon,Branche,Intern\nMüller GmbH,030 1234567,Maschinenbau,x\n"
    mapping = '{"Firma": "name", "Telefon": "telephone", "Branche": "industry", "Intern": null}'
    report = app.import_customers(db.uow(), MEMBER_1, text, mapping=mapping)
    assert report["created"] == 1 and report["ignored_columns"] == ["Intern"]
    assert report["columns"] == {"Firma": ["name"], "Telefon": ["telephone"], "Branche": ["industry"], "Intern": []}
    got = app.get_customer(db.uow(), MEMBER_1, report["rows"][0]["id"])
    assert (got["name"], got["telephone"], got["industry"]) == ("Müller GmbH", "030 1234567", "Maschinenbau")


@pytest.mark.parametrize("text, mapping, key, fragment", [
    ("", None, "_body", "empty"),
    ("name,colour\nA,red\n", None, "_header", "Unknown column 'colour'"),
    ("industry\nRetail\n", None, "_header", "No column gives the customer's name"),
    ("name\nA\n", "{nope", "mapping", "Not valid JSON"),
    ("Firma\nA\n", '{"Firma": "owner_id"}', "_header", "not a field of the import"),
    (b"name", None, "_body", "Expected CSV text"),
])
def test_the_file_itself_refused(db, text, mapping, key, fragment):
    with pytest.raises(ValidationFailed) as caught:
        app.import_customers(db.uow(), MEMBER_1, text, mapping=mapping)
    assert any(fragment in m for m in caught.value.errors[key]), caught.value.errors
    assert db.count(Customer) == 0


def test_at_most_so_many_rows(db, monkeypatch):
    from services.customers.application import imports
    monkeypatch.setattr(imports, "MAX_IMPORT_ROWS", 2)
    with pytest.raises(ValidationFailed) as caught:
        app.import_customers(db.uow(), MEMBER_1, "name\nA\nB\nC\n")
    assert caught.value.errors == {"_body": ["At most 2 rows per import."]}


def _pool(db):
    return app.create_customer_pool(db.uow(), ADMIN, {"name": "East pool", "admin_ids": ["padmin"],
                                                      "member_ids": ["user-1"]}, {"padmin": "d9", "user-1": "d1"})


def test_straight_into_a_pool(both_db):
    db = both_db
    pool = _pool(db)
    report = app.import_customers(db.uow(), POOL_ADMIN, "name,contact_name\nPooled,Ann\n", pool_id=pool["id"])
    assert report["created"] == 1 and report["pool_id"] == pool["id"]
    with db.session() as s:
        row = s.get(Customer, report["rows"][0]["id"])
        assert (row.pool_id, row.owner_id, row.department_id, row.pool_since is not None, row.owner_since) == (
            pool["id"], None, None, True, None)
        assert [c.owner_id for c in row.contacts] == [None]
        assert s.scalars(select(CustomerOwnership)).all() == []
    (created,) = payloads(db, "customer_created")
    assert (created["pool_id"], created["owner_id"]) == (pool["id"], None)


def test_a_pool_import_needs_a_pool_the_caller_manages(db):
    pool = _pool(db)
    with pytest.raises(Forbidden):
        app.import_customers(db.uow(), MEMBER_1, "name\nA\n", pool_id=pool["id"])     # a member, not an admin
    with pytest.raises(NotFound):
        app.import_customers(db.uow(), MEMBER_2, "name\nA\n", pool_id=pool["id"])     # not in the pool at all
    with pytest.raises(NotFound):
        app.import_customers(db.uow(), ADMIN, "name\nA\n", pool_id="no-such-pool")
    assert db.count(Customer) == 0


def test_tags_and_rules_across_fields(db):
    text = ("name,kind,gender,tags,latitude,longitude\n"
            "Person A,individual,female,a、b；a,31.2,121.5\n"
            "Company B,company,male,,,\n"
            "Half C,,,,31.2,\n"
            f"Tagged D,,,{';'.join(f't{i}' for i in range(51))},,\n")
    rows = by_row(app.import_customers(db.uow(), MEMBER_1, text))
    assert rows[2]["outcome"] == "created"
    assert rows[3]["errors"] == {"gender": ["Only an individual customer has this field."]}
    assert rows[4]["errors"] == {"longitude": ["A location needs both latitude and longitude."]}
    assert list(rows[5]["errors"]) == ["tags"]
    with db.session() as s:
        assert sorted(s.scalars(select(CustomerTag.tag)).all()) == ["a", "b"]
