"""What the leads unit tests share: principals, and helpers that make leads and pools through the
use cases and look at what they wrote (the fixtures are in ``conftest.py``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_kit.context import Principal
from services.leads import application as app
from services.leads.models import Lead
from tests.unit.conftest import ADMIN, MEMBER_1

POOL_ADMIN = Principal("padmin", "member", "d9", ("d9",))
M1 = Principal("m1", "member", "d1", ("d1",))
M2 = Principal("m2", "member", "d2", ("d2",))
M3 = Principal("m3", "member", "d3", ("d3",))
OUTSIDER = Principal("outsider", "member", "d1", ("d1",))
SERVER_MSG = "This field is set by the server and cannot be written."
UTC = dt.timezone.utc


def create(db, principal=MEMBER_1, **data):
    """A lead with full contact data (a fixed phone: a second one is a duplicate)."""
    body = {"name": "Zhang San", "company": "Acme Ltd", "phone": "+86 138-0013-8000",
            "email": "zs@acme.example", "source": "trade_show"}
    body.update(data)
    return app.create_lead(db.uow(), principal, body)


def pool(db, **data):
    """A pool administered by ``padmin``, worked by m1, m2, m3 (departments d1, d2, d3)."""
    body = {"name": "Shanghai leads", "admin_ids": ["padmin"], "member_ids": ["m1", "m2", "m3"]}
    body.update(data)
    return app.create_lead_pool(db.uow(), ADMIN, body, {"m1": "d1", "m2": "d2", "m3": "d3"})


_phones = iter(range(13800000000, 13900000000))


def lead(db, pool_id=None, principal=ADMIN, **data):
    """A lead with a phone of its own (in ``pool_id`` if given)."""
    body = {"name": "Wang Wu", "phone": str(next(_phones))}
    if pool_id:
        body["pool_id"] = pool_id
    body.update(data)
    return app.create_lead(db.uow(), principal, body)


def events(db, name):
    return [row.body["payload"] for row in db.outbox(name)]


def shift(db, lead_id, **values):
    """Set a lead's columns directly (move its times into the past, as the clock would have)."""
    with db.session() as s:
        row = s.get(Lead, lead_id)
        for name, value in values.items():
            setattr(row, name, value)
        s.commit()


def set_status(db, lead_id, status):
    shift(db, lead_id, status=status)


def audit_rows(db):
    t = db.metadata.tables["audit_log"]
    with db.session() as s:
        return s.execute(select(t).order_by(t.c.id)).all()
