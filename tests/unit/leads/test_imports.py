"""The CSV import (``application.imports``, ``application.import_chunks``), on both backends where
it is written in bulk."""
from __future__ import annotations

import pytest

from crm_kit.errors import ValidationFailed
from services.leads import application as app
from services.leads.application import import_chunks
from services.leads.models import Lead
from services.leads.schemas import ImportReport
from tests.unit.conftest import ADMIN, MEMBER_1, MEMBER_2
from tests.unit.leads.support import audit_rows, lead, pool


def test_import_per_row_report(both_db):
    db = both_db
    existing = lead(db, principal=MEMBER_1, phone="13800001111")
    text = ("\ufeffname,phone,company,source\n"
            "Zhao Liu,13800002222,Acme,trade_show\n"
            "Dup,138 0000 1111,,\n"
            ",13800003333,,\n"
            "Bad Source,13800004444,,tv\n"
            "Short,13800005555\n"
            "\n"
            "Qian Qi,,Initech,\n"
            "Zhao Again,13800002222,,\n")
    report = app.import_leads(db.uow(), MEMBER_1, text)
    assert report == ImportReport().dump(report)          # what the RPC documents, exactly
    assert (report["created"], report["duplicates"], report["invalid"]) == (2, 2, 3)
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["outcome"] == "created" and by_row[2]["id"]
    assert by_row[3]["outcome"] == "duplicate" and by_row[3]["existing_id"] == existing["id"]
    assert by_row[4]["outcome"] == "invalid" and "name" in by_row[4]["errors"]
    assert by_row[5]["errors"] == {"source": ["Must be one of: trade_show, campaign, web_form, advertisement, "
                                              "purchased_list, referral, other."]}
    assert by_row[6]["outcome"] == "invalid" and "_row" in by_row[6]["errors"]
    assert by_row[8]["outcome"] == "created"
    assert by_row[9]["outcome"] == "duplicate" and by_row[9]["existing_id"] == by_row[2]["id"]
    assert db.count(Lead) == 3


def test_an_imported_lead_is_recorded_as_create_lead_records_it(both_db):
    """The bulk path writes without the ORM: its audit entry, its event and its row must be the
    ones create_lead (the ORM flush) writes for the same input."""
    db = both_db
    body = {"name": "Same Lead", "company": "Acme", "phone": "13800009999", "email": "s@example.com",
            "source": "referral", "region": "north", "industry": "retail", "notes": "n"}
    made = app.create_lead(db.uow(), MEMBER_1, body)
    app.discard_lead(db.uow(), MEMBER_1, made["id"])            # its phone is free again
    header = ",".join(body)
    report = app.import_leads(db.uow(), MEMBER_1, header + "\n" + ",".join(body.values()) + "\n")
    imported = report["rows"][0]["id"]
    assert report["created"] == 1 and imported

    entries = {e.entity_id: e for e in audit_rows(db) if e.entity == "lead" and e.action == "create"}
    volatile = {"id", "created_at", "updated_at", "assigned_at", "sla_due_at", "status"}
    made_changes = {k: v for k, v in entries[made["id"]].changes.items() if k not in volatile}
    imported_changes = {k: v for k, v in entries[imported].changes.items() if k not in volatile}
    assert imported_changes == made_changes
    assert set(entries[imported].changes) == set(entries[made["id"]].changes)
    assert entries[imported].actor_id == entries[made["id"]].actor_id
    # ... and both are what the ORM's audit (crm_kit.records.audit.changes_of) records of such a lead
    from crm_kit.records.audit import changes_of
    with db.session() as s:
        assert entries[imported].changes == changes_of(s.get(Lead, imported), "create")
        orm_view = changes_of(s.get(Lead, made["id"]), "create")
        assert orm_view.pop("status") == [None, "discarded"]            # discarded since
        assert dict(entries[made["id"]].changes, status=None) == dict(orm_view, status=None)

    created = {row.body["payload"]["lead_id"]: row.body for row in db.outbox("lead_created")}
    strip = lambda p: {k: v for k, v in p.items() if k not in ("lead_id", "created_at")}  # noqa: E731
    assert strip(created[imported]["payload"]) == strip(created[made["id"]]["payload"])
    assert created[imported]["actor"] == created[made["id"]]["actor"]
    again = app.get_lead(db.uow(), MEMBER_1, imported)
    assert {k: again[k] for k in body} == {k: made[k] for k in body}


def _race_before_leads_are_inserted(monkeypatch, db, concurrent: dict) -> None:
    """Just before the first import chunk's leads are inserted (at its commit), another user
    creates a lead with phone 13800007777 in their own transaction."""
    import crm_kit.runtime.uow
    real = crm_kit.runtime.uow.bulk_insert_all

    def racing(connection, batches):
        if not concurrent and any(table is Lead.__table__ for table, _ in batches):
            concurrent["racing"] = True          # (create_lead inserts through here too)
            concurrent.update(lead(db, principal=MEMBER_2, phone="13800007777"))
        return real(connection, batches)

    monkeypatch.setattr(crm_kit.runtime.uow, "bulk_insert_all", racing)


def test_import_chunk_refused_by_a_concurrent_create_is_redone_row_by_row(both_db, monkeypatch):
    """A lead with one of the chunk's phones created between the duplicate query and the insert:
    the unique index refuses the chunk, nothing of it stays, and each row is redone on its own."""
    db = both_db
    concurrent = {}
    _race_before_leads_are_inserted(monkeypatch, db, concurrent)
    report = app.import_leads(db.uow(), MEMBER_1, "name,phone\nFirst,13800006666\nRaced,13800007777\n"
                                                  "Third,13800008888\n")
    outcomes = [(r["outcome"], r["existing_id"]) for r in report["rows"]]
    assert outcomes == [("created", None), ("duplicate", concurrent["id"]), ("created", None)]
    assert db.count(Lead) == 3
    assert len(db.outbox("lead_created")) == 3                   # the two imported + the concurrent one
    created_entries = [e for e in audit_rows(db) if e.entity == "lead" and e.action == "create"]
    assert len(created_entries) == 3


def test_a_duplicate_of_a_row_whose_chunk_was_redone_names_the_lead_as_finally_created(both_db, monkeypatch):
    """Chunks are checked for duplicates ahead of their writing: a later row repeating the phone
    of a row whose chunk was then refused and redone row by row (new id) must name the new id."""
    db = both_db
    monkeypatch.setattr(import_chunks, "IMPORT_CHUNK", 2)
    concurrent = {}
    _race_before_leads_are_inserted(monkeypatch, db, concurrent)
    report = app.import_leads(db.uow(), MEMBER_1, "name,phone\nFirst,13800006666\nRaced,13800007777\n"
                                                  "Again,13800006666\nFourth,13800005555\n")
    first, raced, again, fourth = report["rows"]
    assert first["outcome"] == "created" and first["id"]
    assert (raced["outcome"], raced["existing_id"]) == ("duplicate", concurrent["id"])
    assert (again["outcome"], again["existing_id"]) == ("duplicate", first["id"])
    assert fourth["outcome"] == "created"
    ids = {lead_.id for lead_ in db.all(Lead)}
    assert {first["id"], fourth["id"], concurrent["id"]} == ids


def test_import_into_pool_and_bad_files(db):
    p = pool(db, distribution="round_robin")
    report = app.import_leads(db.uow(), ADMIN, "name\nA\nB\n", p["id"])
    owners = [app.get_lead(db.uow(), ADMIN, r["id"])["owner_id"] for r in report["rows"]]
    assert owners == ["m1", "m2"]
    for bad in ("", "nom,phone\nA,1\n", "name,name\nA,B\n", "phone\n123\n"):
        with pytest.raises(ValidationFailed):
            app.import_leads(db.uow(), ADMIN, bad)
    with pytest.raises(ValidationFailed):
        app.import_leads(db.uow(), ADMIN, {"not": "text"})


def test_text_longer_than_its_column_is_refused_by_name_not_by_the_database(both_db):
    """PostgreSQL refuses a value longer than its column (a 500 if it got there): the schemas
    refuse it first, in a create and in an import row alike (tests/unit/test_schema_lengths.py)."""
    db = both_db
    long_email = "x" * 250 + "@a.io"
    with pytest.raises(ValidationFailed) as exc:
        app.create_lead(db.uow(), MEMBER_1, {"name": "Long", "email": long_email})
    assert "email" in exc.value.errors
    report = app.import_leads(db.uow(), MEMBER_1, f"name,email\nLong,{long_email}\nShort,s@a.io\n")
    assert [r["outcome"] for r in report["rows"]] == ["invalid", "created"]
    assert "email" in report["rows"][0]["errors"]
