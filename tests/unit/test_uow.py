"""UnitOfWork: the change, its outbox rows and its inbox record commit together or not at all."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from marshmallow import Schema, fields
from sqlalchemy import JSON, Boolean, Integer, Numeric, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.errors import ValidationFailed
from crm_kit.records.db import UtcDateTime, make_base
from crm_kit.runtime.events import ENVELOPE_FIELDS, EnvelopeSchema, EventType
from crm_kit.runtime.uow import DuplicateEvent

Base = make_base()


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class ThingPayload(Schema):
    thing_id = fields.String(required=True)
    amount = fields.Decimal(required=True, as_string=True, places=2)


THING_MADE = EventType("thing_made", ThingPayload, version=2, description="test event")


@pytest.fixture
def db(make_db):
    return make_db(Base, "test")


def _make(uow, thing_id="t1", emit=True, commit=True, amount="10"):
    uow.session.add(Thing(id=thing_id, name="n"))
    env = uow.emit(THING_MADE, {"thing_id": thing_id, "amount": Decimal(amount)}) if emit else None
    if commit:
        uow.commit()
    return env


def test_commit_writes_change_and_outbox_row_together(db):
    uow = db.uow()
    with uow:
        env = _make(uow)
    assert [t.id for t in db.all(Thing)] == ["t1"]
    rows = db.outbox()
    assert len(rows) == 1
    row = rows[0]
    assert row.id == env["event_id"]
    assert row.event_type == "thing_made"
    assert row.exchange == "test.events"
    assert row.body == env
    assert row.published_at is None
    assert row.attempts == 0
    assert row.created_at.tzinfo is not None
    assert uow.committed_event_ids == [env["event_id"]]


def test_exception_inside_block_rolls_back_change_and_events(db):
    uow = db.uow()
    with pytest.raises(RuntimeError):
        with uow:
            _make(uow, commit=False)
            uow.session.flush()          # the row reached the database inside the transaction
            raise RuntimeError("boom")
    assert db.all(Thing) == []
    assert db.outbox() == []
    assert db.committed == []


def test_failing_commit_leaves_nothing_half_applied(db):
    with db.uow() as uow:
        _make(uow, "t1")
    uow = db.uow()
    with pytest.raises(IntegrityError):
        with uow:
            _make(uow, "t1")             # same primary key: the commit itself fails
    assert db.count(Thing) == 1
    assert len(db.outbox()) == 1        # only the first commit's event
    assert len(db.committed) == 1


def test_emitted_but_not_committed_events_are_dropped(db):
    uow = db.uow()
    with uow:
        _make(uow, commit=False)
    assert db.outbox() == [] and db.all(Thing) == []
    # Re-entering the same unit of work starts clean: the dropped event does not resurface.
    with uow:
        uow.commit()
    assert db.outbox() == []
    assert db.committed == []


def test_rollback_discards_pending_events(db):
    with db.uow() as uow:
        _make(uow, "t1", commit=False)
        uow.rollback()
        _make(uow, "t2")
    assert [t.id for t in db.all(Thing)] == ["t2"]
    rows = db.outbox()
    assert [r.body["payload"]["thing_id"] for r in rows] == ["t2"]


def test_on_commit_receives_committed_event_ids_in_order(db):
    with db.uow() as uow:
        uow.session.add(Thing(id="t1", name="n"))
        e1 = uow.emit(THING_MADE, {"thing_id": "t1", "amount": 1})
        e2 = uow.emit(THING_MADE, {"thing_id": "t1", "amount": 2})
        uow.commit()
    assert db.committed == [[e1["event_id"], e2["event_id"]]]
    assert {r.id for r in db.outbox()} == {e1["event_id"], e2["event_id"]}


def test_on_commit_not_called_without_events(db):
    with db.uow() as uow:
        _make(uow, emit=False)
    assert db.committed == []
    assert db.count(Thing) == 1


def test_two_commits_in_one_block_each_notify(db):
    with db.uow() as uow:
        e1 = _make(uow, "t1")
        e2 = _make(uow, "t2")
    assert db.committed == [[e1["event_id"]], [e2["event_id"]]]
    assert uow.committed_event_ids == [e1["event_id"], e2["event_id"]]


def test_envelope_fields_from_context(db):
    principal_var.set(Principal("user-42", "member", "d1"))
    request_id_var.set("req-abc-123")
    before = dt.datetime.now(dt.timezone.utc)
    with db.uow(headers={"x-extra": "1"}) as uow:
        env = _make(uow, amount="1999")
    after = dt.datetime.now(dt.timezone.utc)

    assert tuple(env) == ENVELOPE_FIELDS
    assert isinstance(env["event_id"], str) and env["event_id"]
    assert env["event_type"] == "thing_made"
    assert env["schema_version"] == 2
    occurred = dt.datetime.fromisoformat(env["occurred_at"])
    assert occurred.tzinfo is not None
    assert before <= occurred <= after
    assert env["producer"] == "test"
    assert env["actor"] == "user-42"
    assert env["correlation_id"] == "req-abc-123"
    assert env["payload"] == {"thing_id": "t1", "amount": "1999.00"}
    assert EnvelopeSchema().validate(env) == {}

    row = db.outbox()[0]
    assert row.body == env
    assert row.headers == {"x-extra": "1", "nameko.request_id": "req-abc-123"}


def test_envelope_without_context_has_null_actor_and_correlation(db):
    with db.uow() as uow:
        env = _make(uow)
    assert env["actor"] is None
    assert env["correlation_id"] is None
    assert EnvelopeSchema().validate(env) == {}
    assert db.outbox()[0].headers == {}


def test_every_event_gets_a_distinct_id(db):
    with db.uow() as uow:
        uow.session.add(Thing(id="t1", name="n"))
        ids = {uow.emit(THING_MADE, {"thing_id": "t1", "amount": i})["event_id"] for i in range(20)}
        uow.commit()
    assert len(ids) == 20
    assert len(db.outbox()) == 20


def test_inbox_records_key_and_refuses_second_delivery(db):
    key = ("test.handle_thing", "evt-1")
    with db.uow(inbox_key=key) as uow:
        _make(uow, "t1")
    assert [(r.handler, r.event_id) for r in db.inbox()] == [key]

    second = db.uow(inbox_key=key)
    body_ran = False
    with pytest.raises(DuplicateEvent) as info:
        with second:
            body_ran = True
            _make(second, "t2")
    assert not body_ran
    assert str(info.value) == "evt-1"
    assert [t.id for t in db.all(Thing)] == ["t1"]
    assert len(db.outbox()) == 1
    assert len(db.inbox()) == 1
    assert len(db.committed) == 1


def test_inbox_key_is_per_handler(db):
    with db.uow(inbox_key=("test.a", "evt-1")) as uow:
        _make(uow, "t1")
    with db.uow(inbox_key=("test.b", "evt-1")) as uow:
        _make(uow, "t2")
    assert db.count(Thing) == 2
    assert len(db.inbox()) == 2


def test_inbox_not_recorded_when_handler_fails(db):
    key = ("test.handle_thing", "evt-1")
    with pytest.raises(RuntimeError):
        with db.uow(inbox_key=key) as uow:
            _make(uow, "t1", commit=False)
            raise RuntimeError("transient")
    assert db.inbox() == []
    # The retry (a fresh unit of work) applies the event.
    with db.uow(inbox_key=key) as uow:
        _make(uow, "t1")
    assert db.count(Thing) == 1 and len(db.inbox()) == 1


def test_concurrent_duplicate_detected_at_commit(db):
    """Two workers got the same event and both passed the inbox check: the second commit
    loses on the inbox primary key and reports DuplicateEvent, its change rolled back."""
    key = ("test.handle_thing", "evt-1")
    first, second = db.uow(inbox_key=key), db.uow(inbox_key=key)
    with first:
        with second:
            _make(first, "t1")
            with pytest.raises(DuplicateEvent):
                _make(second, "t2")
    assert [t.id for t in db.all(Thing)] == ["t1"]
    assert len(db.outbox()) == 1
    assert len(db.inbox()) == 1


def test_invalid_payload_raises_validation_failed(db):
    uow = db.uow()
    with pytest.raises(ValidationFailed) as info:
        with uow:
            uow.session.add(Thing(id="t1", name="n"))
            uow.emit(THING_MADE, {"amount": "12"})          # thing_id missing
    assert "thing_id" in info.value.errors
    assert "thing_made" in info.value.detail
    assert db.all(Thing) == [] and db.outbox() == []


def test_invalid_payload_value_names_the_field(db):
    with pytest.raises(ValidationFailed) as info:
        with db.uow() as uow:
            uow.emit(THING_MADE, {"thing_id": None, "amount": "1"})
    assert "thing_id" in info.value.errors


def test_commit_outside_block_is_refused(db):
    with pytest.raises(AssertionError):
        db.uow().commit()


def test_audit_values_are_json_safe():
    import datetime as dt
    from decimal import Decimal

    from crm_kit.records.audit import json_safe
    assert json_safe({"a": Decimal("1.50"), "b": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
                      "c": dt.date(2024, 1, 2), "d": ("x", 1)}) == {
        "a": "1.50", "b": "2024-01-02T00:00:00+00:00", "c": "2024-01-02", "d": ["x", 1]}


# -- crm_kit.records.bulk.bulk_insert: rows written without the ORM read back as the ORM writes them ----------
class Wide(Base):
    __tablename__ = "wide"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(50))
    count: Mapped[int | None] = mapped_column(Integer)
    flag: Mapped[bool | None] = mapped_column(Boolean)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    doc: Mapped[dict | None] = mapped_column(JSON)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_insert_writes_what_the_orm_writes(make_db, backend):
    """On PostgreSQL the rows travel as JSON (NULLs left out); every type reads back the same,
    a None as NULL and a null nested in a JSON value as itself."""
    from crm_kit.records.bulk import bulk_insert, bulk_insert_all

    db = make_db(Base, "test", backend=backend)
    at = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.timezone.utc)
    rows = [{"id": "w1", "name": "Ann", "count": 3, "flag": True, "price": Decimal("12.30"), "at": at,
             "doc": {"company": [None, "Acme"], "n": 1}},
            {"id": "w2", "name": None, "count": None, "flag": None, "price": None, "at": None, "doc": None},
            {"id": "w3", "name": "O'Brien \"q\" \\ 中文", "count": 0, "flag": False, "price": Decimal("0.00"),
             "at": at, "doc": {"list": [None]}}]
    with db.session() as s:
        bulk_insert(s.connection(), Wide.__table__, rows[:1])
        bulk_insert_all(s.connection(), [(Wide.__table__, rows[1:]), (Thing.__table__, [{"id": "t9", "name": "x"}])])
        s.commit()
    with db.session() as s:
        got = {w.id: {c: getattr(w, c) for c in rows[0]} for w in s.query(Wide)}
        assert s.get(Thing, "t9").name == "x"
    assert got == {row["id"]: row for row in rows}


@pytest.mark.parametrize("backend", ["postgresql"])     # (SQLite: the ORM's executemany, a None as JSON null)
def test_bulk_insert_json_columns_as_written(make_db, backend, monkeypatch):
    """A JSON column's value is stored as its JSON text (on PostgreSQL apart from the other columns,
    texts separated by a control character JSON always escapes): a lone NULL, texts holding that
    character, a new line or quotes, and several statements' rows in one round trip."""
    from sqlalchemy import text

    import crm_kit.records.bulk as db_module
    from crm_kit.records.bulk import bulk_insert, bulk_insert_all, json_text

    monkeypatch.setattr(db_module, "BULK_CHUNK", 2)
    db = make_db(Base, "test", backend=backend)
    docs = [{"sep": "a\x1eb", "nl": "x\ny", "q": 'say "hi"'}, None, {"n": [1, None]}, {}, {"s": "\x1e"}]
    rows = [{"id": f"w{i}", "name": f"n{i}", "doc": doc} for i, doc in enumerate(docs)]
    with db.session() as s:
        bulk_insert(s.connection(), Wide.__table__, [{"id": "lone", "name": None, "doc": None}])
        bulk_insert_all(s.connection(), [(Wide.__table__, rows), (Thing.__table__, [{"id": "t9", "name": "x"}])])
        s.commit()
    with db.session() as s:
        got = dict(s.execute(text("SELECT id, CAST(doc AS TEXT) FROM wide")).all())
        assert s.get(Thing, "t9").name == "x"
    assert got == {"lone": None, **{row["id"]: None if row["doc"] is None else json_text(row["doc"]) for row in rows}}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_insert_refuses_what_the_column_refuses(make_db, backend):
    """Values are cast to the column's type without its length (PostgreSQL): the INSERT still refuses
    a text too long for the column and rounds a number to the column's scale, as the ORM's insert."""
    from sqlalchemy.exc import DataError

    from crm_kit.records.bulk import bulk_insert

    db = make_db(Base, "test", backend=backend)
    with db.session() as s:
        bulk_insert(s.connection(), Wide.__table__, [{"id": "w1", "price": Decimal("1.005"), "at": None}])
        s.commit()
    if backend == "postgresql":
        with db.session() as s:
            assert s.get(Wide, "w1").price == Decimal("1.01")
        with db.session() as s, pytest.raises(DataError):
            bulk_insert(s.connection(), Wide.__table__, [{"id": "w2", "name": "x" * 51}])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_of_matches_any_text(make_db, backend):
    """``one_of`` (a long list as one text array on PostgreSQL) finds values with quotes, backslashes,
    commas, braces, spaces, ``NULL`` and non-ASCII text, and nothing else."""
    from sqlalchemy import select

    from crm_kit.records.bulk import one_of

    db = make_db(Base, "test", backend=backend)
    names = ['a"b', "c\\d", "{x,y}", "", " sp ", "NULL", "o'k", "中文"]
    with db.session() as s:
        s.add_all([Thing(id=f"t{i}", name=n) for i, n in enumerate(names + ["other", "x"])])
        s.commit()
        dialect = s.get_bind().dialect.name
        got = s.scalars(select(Thing.name).where(one_of(Thing.name, names, dialect))).all()
        assert sorted(got) == sorted(names)
        assert s.scalars(select(Thing.id).where(one_of(Thing.id, [], dialect))).all() == []
