"""What the pools work's unit tests share: principals, a pool worked by m1..m3, customers put in a
pool or owned, a clock the use cases read, and looks at what they wrote."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records.text import normalize_name
from services.customers import application as app
from services.customers.models import Base, Customer, CustomerOwnership
from tests.unit.conftest import ADMIN

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
T0 = dt.datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
POOL_ADMIN = Principal("padmin", "member", "d9", ("d9",))
M1 = Principal("m1", "member", "d1", ("d1",))
M2 = Principal("m2", "member", "d2", ("d2",))
M3 = Principal("m3", "member", "d3", ("d3",))
MANAGER = Principal("mgr-1", "manager", "d1", ("d1",))
OUTSIDER = Principal("outsider", "member", "d1", ("d1",))
DEPARTMENTS = {"padmin": "d9", "m1": "d1", "m2": "d2", "m3": "d3"}


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


class Clock:
    """The time the pools' use cases read (``utcnow`` in each module), moved by the test."""

    def __init__(self, monkeypatch, now=T0):
        self.now = now
        for module in ("pool_actions", "owner_actions", "bulk", "conversion"):
            monkeypatch.setattr(f"services.customers.application.{module}.utcnow", lambda: self.now)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self.now += delta
        return self.now


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def pool(db, name="Finance pool", **data) -> dict:
    """A pool administered by ``padmin``, worked by m1, m2, m3 (departments d1, d2, d3)."""
    body = {"name": name, "admin_ids": ["padmin"], "member_ids": ["m1", "m2", "m3"], **data}
    return app.create_customer_pool(db.uow(), ADMIN, body, DEPARTMENTS)


def in_pool(db, pool_id: str, name: str | None = None, since: dt.datetime = T0 - 365 * DAY, **columns) -> str:
    """A customer sitting in ``pool_id`` since ``since`` (no owner), written directly."""
    name = name or f"Pool customer {new_id()[-8:]}"
    with db.session() as s:
        row = Customer(id=new_id(), name=name, name_key=normalize_name(name), pool_id=pool_id, pool_since=since,
                       created_at=since, updated_at=since, **columns)
        s.add(row)
        s.commit()
        return row.id


def owned(db, principal=M1, name: str | None = None) -> str:
    """A customer ``principal`` entered by hand (and so owns)."""
    return app.create_customer(db.uow(), principal, {"name": name or f"Owned {new_id()[-8:]}"})["id"]


def set_columns(db, customer_id: str, **values) -> None:
    with db.session() as s:
        row = s.get(Customer, customer_id)
        for name, value in values.items():
            setattr(row, name, value)
        s.commit()


def stored(db, customer_id: str) -> Customer:
    with db.session() as s:
        return s.get(Customer, customer_id)


def stretches(db, customer_id: str) -> list[CustomerOwnership]:
    with db.session() as s:
        return list(s.scalars(select(CustomerOwnership).where(CustomerOwnership.customer_id == customer_id)
                              .order_by(CustomerOwnership.started_at, CustomerOwnership.id)))


def events(db, name: str) -> list[dict]:
    return [row.body["payload"] for row in db.outbox(name)]


def caps(db, *entries, deal_triggers=None) -> dict:
    """Set the holding caps (as an admin), whatever the settings' version."""
    version = app.get_customer_settings(db.uow(), ADMIN)["version"]
    data = {"holding_caps": list(entries)}
    if deal_triggers is not None:
        data["deal_triggers"] = deal_triggers
    return app.update_customer_settings(db.uow(), ADMIN, data, version)
