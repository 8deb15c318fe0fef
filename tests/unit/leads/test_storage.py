"""The one adapter below the ORM (``application.storage``), on both backends: new lead rows built
from the model's own defaults, the unique index's refusal recognised whichever way it comes, and
PostgreSQL's paths (the phones' array parameter, two import writers)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.records import audit
from services.leads.application import storage
from services.leads.models import Lead
from tests.unit.conftest import MEMBER_1, SYSTEM
from tests.unit.leads.support import lead, set_status

NOW = dt.datetime(2024, 11, 1, 9, tzinfo=dt.timezone.utc)


def test_the_template_holds_the_models_defaults_and_every_column():
    template = storage.lead_template(MEMBER_1, NOW, "user-1", "d1", 4)
    assert set(template) == {c.key for c in Lead.__table__.columns}
    for column in Lead.__table__.columns:
        if column.default is not None and column.default.is_scalar:
            assert template[column.key] == column.default.arg, column.key          # read from the model
        elif column.default is not None:                                          # made when the lead is
            assert isinstance(template[column.key], dt.datetime), column.key
    assert (template["status"], template["owner_id"], template["assigned_at"]) == ("pending", "user-1", NOW)
    assert template["sla_due_at"] == NOW + dt.timedelta(hours=4)
    platform = storage.lead_template(SYSTEM, NOW, None, None, 4)
    assert (platform["status"], platform["assigned_at"], platform["sla_due_at"]) == ("unassigned", None, None)


def test_a_lead_written_in_bulk_reads_back_as_one_the_orm_writes(both_db):
    """The same lead through the ORM (its defaults applied by SQLAlchemy) and through the bulk path
    (the defaults the template read from the model): every column alike but the id and phone."""
    db = both_db
    fields = {"name": "Same", "company": None, "phone": None, "email": None, "campaign_id": None,
              "region": None, "industry": None, "notes": None, "pool_id": None}
    bulk = storage.new_lead_row(storage.lead_template(MEMBER_1, NOW, "user-1", "d1", None), fields, None)
    with db.uow() as uow:
        storage.insert_new_leads(uow, [bulk], [audit.created(bulk, storage.LEAD_AUDITED)])
        uow.commit()
    with db.session() as s:                                  # only what the model does not default
        s.add(Lead(id="orm-lead", name="Same", status="pending", owner_id="user-1", department_id="d1",
                   created_by="user-1", created_at=NOW, updated_at=NOW, assigned_at=NOW))
        s.commit()
    rows = {row.id: {c.key: getattr(row, c.key) for c in Lead.__table__.columns if c.key != "id"}
            for row in db.all(Lead)}
    assert rows[bulk["id"]] == rows["orm-lead"]
    assert rows["orm-lead"]["source"] == "other" and rows["orm-lead"]["version"] == 1


def test_a_refusal_of_the_live_phone_index_is_recognised_on_both_paths(both_db):
    db = both_db
    held = lead(db, principal=MEMBER_1)
    phone_key = db.all(Lead)[0].phone_key
    row = storage.new_lead_row(storage.lead_template(MEMBER_1, NOW, "user-1", "d1", None),
                               {"name": "Again", "phone": held["phone"]}, phone_key)
    with db.uow() as uow:                    # the bulk path: the driver's own error on PostgreSQL
        storage.insert_new_leads(uow, [row], [{}])
        with pytest.raises(Exception) as refused:
            uow.commit()
    assert storage.is_refusal(refused.value)
    with db.session() as s:                  # the ORM's
        s.add(Lead(**{**row, "id": "orm-again"}))
        with pytest.raises(IntegrityError) as orm_refused:
            s.commit()
    assert storage.is_refusal(orm_refused.value)
    assert not storage.is_refusal(ValueError("not a refusal"))


def test_live_phone_holders_and_writers(both_db):
    db = both_db
    first, gone = lead(db, principal=MEMBER_1), lead(db, principal=MEMBER_1)
    set_status(db, gone["id"], "discarded")
    keys = {row.id: row.phone_key for row in db.all(Lead)}
    with db.session() as s:
        assert storage.live_phone_holders(s, [keys[first["id"]], keys[gone["id"]], "00000"]) == {
            keys[first["id"]]: first["id"]}
        assert storage.live_phone_holders(s, []) == {}
    postgresql = db.engine.dialect.name == "postgresql"
    assert storage.writers_at_once(db.uow()) == (storage.IMPORT_WRITERS if postgresql else 1)


def test_only_the_adapter_checks_a_dialect():
    """Use cases ask ``storage``; none of them looks at the database's dialect itself."""
    from pathlib import Path

    import services.leads.application as package
    for path in Path(package.__file__).parent.glob("*.py"):
        if path.name != "storage.py":
            text = path.read_text(encoding="utf-8")
            assert "dialect" not in text and "postgresql" not in text, path.name


def test_principal_fields_in_the_template():
    who = Principal("u9", "member", "d9", ("d9",))
    template = storage.lead_template(who, NOW, None, None, None)
    assert (template["created_by"], template["created_at"], template["updated_at"]) == ("u9", NOW, NOW)
