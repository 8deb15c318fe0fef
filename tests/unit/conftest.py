"""Fixtures for the unit tier: a service database on a SQLite file, units of work, principals.

No broker: application functions are driven directly with a
:class:`~crm_kit.runtime.uow.UnitOfWork` on a temporary SQLite database (or, for the few
code paths that differ by dialect, a temporary PostgreSQL database).
"""
from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.records.db import make_engine
from crm_kit.runtime.uow import UnitOfWork

_counter = itertools.count()


class ServiceDb:
    """One service's database for a test: engine, session factory, units of work."""

    def __init__(self, url: str, base, producer: str):
        self.engine = make_engine(url)
        base.metadata.create_all(self.engine)
        self.base = base
        self.metadata = base.metadata
        self.producer = producer
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.committed: list[list[str]] = []   # what on_commit was told, per commit

    def uow(self, inbox_key=None, headers=None, on_commit="record", request=None) -> UnitOfWork:
        callback = (lambda rows: self.committed.append([r["id"] for r in rows])) if on_commit == "record" \
            else on_commit
        return UnitOfWork(self.session_factory, self.producer, self.metadata,
                          on_commit=callback, inbox_key=inbox_key, headers=headers, request=request)

    def handle(self, use_case, envelope: dict, payload_schema, handler: str = "test.handler"):
        """Deliver ``envelope`` to an event handler's use case as the kit does
        (``crm_kit.runtime.entrypoints.CrmEventHandler``): its payload loaded with the schema the
        handler declares (an invalid one raises ``marshmallow.ValidationError``: the kit parks it),
        the envelope's actor as the audit's, the event id recorded with the effect."""
        payload = payload_schema().load(envelope["payload"])
        uow = self.uow(inbox_key=(handler, envelope["event_id"]))
        uow.default_actor = envelope.get("actor")
        return use_case(uow, payload)

    def session(self):
        return self.session_factory()

    def outbox(self, event_type: str | None = None) -> list:
        t = self.metadata.tables["outbox"]
        stmt = select(t).order_by(t.c.created_at, t.c.id)
        if event_type:
            stmt = stmt.where(t.c.event_type == event_type)
        with self.session() as s:
            return s.execute(stmt).all()

    def inbox(self) -> list:
        t = self.metadata.tables["processed_events"]
        with self.session() as s:
            return s.execute(select(t)).all()

    def all(self, model) -> list:
        with self.session() as s:
            return s.scalars(select(model)).all()

    def count(self, model) -> int:
        return len(self.all(model))

    def dispose(self):
        self.engine.dispose()


@pytest.fixture
def make_db(tmp_path):
    """``make_db(Base, "leads")`` -> a :class:`ServiceDb` on a fresh SQLite file;
    ``backend="postgresql"``: on a fresh PostgreSQL database (skipped where none is reachable),
    for the code paths that differ by dialect (``crm_kit.records.bulk.bulk_insert``)."""
    created: list[ServiceDb] = []
    pg_urls: list[dict] = []

    def factory(base, producer: str, backend: str = "sqlite") -> ServiceDb:
        if backend == "postgresql":
            from tests.integration.harness import create_pg_databases, postgres_reachable
            if not postgres_reachable():
                pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (CRM_TEST_PG_DSN)")
            urls = create_pg_databases(f"crmunit_{next(_counter)}_{uuid.uuid4().hex[:6]}", [producer])
            pg_urls.append(urls)
            url = urls[producer]
        else:
            url = f"sqlite:///{tmp_path / f'{producer}-{next(_counter)}.db'}"
        db = ServiceDb(url, base, producer)
        created.append(db)
        return db

    yield factory
    for db in created:
        db.dispose()
    if pg_urls:
        from tests.integration.harness import drop_pg_databases
        for urls in pg_urls:
            drop_pg_databases(urls)


@pytest.fixture(autouse=True)
def _clean_context():
    """Every test starts and ends without a principal or request id in context."""
    p_token = principal_var.set(None)
    r_token = request_id_var.set(None)
    yield
    principal_var.reset(p_token)
    request_id_var.reset(r_token)


# Department tree used by the scope tests: d1 > d1a; d2 is elsewhere.
ADMIN = Principal("admin-1", "admin", "d0", ("d0", "d1", "d1a", "d2"))
SYSTEM = Principal.system("leads")
MANAGER_D1 = Principal("mgr-1", "manager", "d1", ("d1", "d1a"))
MANAGER_D2 = Principal("mgr-2", "manager", "d2", ("d2",))
MEMBER_1 = Principal("user-1", "member", "d1", ("d1",))
MEMBER_2 = Principal("user-2", "member", "d1", ("d1",))
MEMBER_SUB = Principal("user-3", "member", "d1a", ("d1a",))
