"""The caller's reminders from customers (``application.reminders``) on SQLite: next contact times,
recycle warnings, contacts' (and persons') birthdays, only of the customers the caller owns."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from crm_kit.errors import ValidationFailed
from services.customers import application as app
from services.customers.application import pools
from services.customers.models import Base, Contact, Customer
from tests.unit.conftest import ADMIN, MEMBER_1, MEMBER_2

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def customer(db, name, owner=MEMBER_1, **facts) -> str:
    cid = app.create_customer(db.uow(), owner, {"name": name, **facts.pop("data", {})})["id"]
    if facts:
        with db.session() as s:
            s.execute(update(Customer).where(Customer.id == cid).values(**facts))
            s.commit()
    return cid


def reminders(db, principal=MEMBER_1, **query) -> list[tuple]:
    items = app.customer_reminders(db.uow(), principal, {k: v.isoformat() if isinstance(v, dt.datetime) else v
                                                         for k, v in query.items()})["items"]
    return [(i["kind"], i["customer_name"], i["contact_name"]) for i in items]


def test_next_contact_times_once_due(db):
    now = dt.datetime.now(UTC)
    cid = customer(db, "Initech")
    app.add_customer_follow_up(db.uow(), MEMBER_1, cid, {"kind": "call", "content": "x",
                                                          "next_contact_at": (now + 2 * DAY).isoformat()})
    overdue = customer(db, "Overdue", next_contact_at=now - 3 * DAY)
    assert reminders(db) == [("next_contact", "Overdue", None)]
    assert reminders(db, due_before=now + 3 * DAY) == [("next_contact", "Overdue", None),
                                                      ("next_contact", "Initech", None)]
    assert reminders(db, MEMBER_2, due_before=now + 3 * DAY) == []        # only the caller's own
    got = app.customer_reminders(db.uow(), MEMBER_1, {"limit": 1})
    assert [i["customer_id"] for i in got["items"]] == [overdue] and got["next_cursor"] is None


def test_recycle_warnings_from_warning_days_before(db):
    now = dt.datetime.now(UTC)
    pool = pools.create_customer_pool(db.uow(), ADMIN, {
        "name": "Pool", "recycle_enabled": True,
        "recycle_rules": [{"level": None, "no_follow_up_days": 10, "warning_days": 3}]}, {})
    customer(db, "Warned", owner_since=now - 8 * DAY)           # due in 2 days: warned since yesterday
    customer(db, "Not yet", owner_since=now - 5 * DAY)          # due in 5 days: warned in 2
    customer(db, "Locked", owner_since=now - 8 * DAY, locked=True)
    customer(db, "Deal", owner_since=now - 8 * DAY, deal_status="deal")
    items = app.customer_reminders(db.uow(), MEMBER_1, {})["items"]
    [warned] = [i for i in items if i["kind"] == "recycle_warning"]
    assert warned["customer_name"] == "Warned" and warned["pool_id"] == pool["id"]
    with db.session() as s:
        since = s.scalar(Customer.__table__.select().with_only_columns(Customer.owner_since)
                         .where(Customer.name == "Warned"))
    assert dt.datetime.fromisoformat(warned["due_at"]) == since.replace(tzinfo=UTC) + 10 * DAY
    later = [n for k, n, _ in reminders(db, due_before=now + 3 * DAY) if k == "recycle_warning"]
    assert later == ["Warned", "Not yet"]


def test_birthdays_of_contacts_and_persons_on_the_day(db):
    today = dt.datetime.now(UTC).date()
    cid = customer(db, "Initech")
    for name, day in (("Peter", today), ("Bill", today + 3 * DAY), ("Milton", today - DAY)):
        contact = app.create_contact(db.uow(), MEMBER_1, {"customer_id": cid, "name": name})
        with db.session() as s:          # (1980: a leap year, so any day of any year exists in it)
            s.execute(update(Contact).where(Contact.id == contact["id"]).values(birthday=day.replace(year=1980)))
            s.commit()
    customer(db, "Joanna", kind="individual", birthday=today.replace(year=1980))
    customer(db, "Someone else's", owner=MEMBER_2, kind="individual", birthday=today)
    assert sorted(reminders(db)) == [("birthday", "Initech", "Peter"), ("birthday", "Joanna", None)]
    week = reminders(db, due_before=dt.datetime.now(UTC) + 4 * DAY)
    assert ("birthday", "Initech", "Bill") in week and ("birthday", "Initech", "Milton") not in week
    [peter] = [i for i in app.customer_reminders(db.uow(), MEMBER_1, {})["items"] if i["contact_name"] == "Peter"]
    assert dt.datetime.fromisoformat(peter["due_at"]) == dt.datetime(today.year, today.month, today.day, tzinfo=UTC)


@pytest.mark.parametrize("query", [{"due_before": "soon"}, {"limit": 0}, {"limit": 201}, {"mood": "x"},
                                   {"due_before": "9999-01-01T00:00:00Z"}])
def test_bad_queries_are_refused(db, query):
    with pytest.raises(ValidationFailed):
        app.customer_reminders(db.uow(), MEMBER_1, query)
