"""Database plumbing: engines, column types, and the per-service declarative base.

Each service calls :func:`make_base` once; the base carries the service's own
``MetaData`` plus the kit's ``outbox``, ``processed_events``, ``handled_requests``, ``job_runs``,
``work_jobs`` (with ``work_job_inputs``, ``work_job_batches``) and ``audit_log`` tables (their
migrations: ``crm_kit/ops/kit_migrations``), so the outbox rows, the idempotency records and the audit trail live in
the service's own database and are written in the same transaction as the
business change (``crm_kit.runtime.uow``, ``crm_kit.records.audit``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from crm_kit.records.bulk import json_text

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Money(TypeDecorator):
    """Exact decimal money: NUMERIC(18,2) on PostgreSQL, canonical text on SQLite
    (whose NUMERIC is a float and would round)."""
    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal("0.01"))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal("0.01"))


def make_base():
    """A fresh declarative base with its own metadata and the kit's tables."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)

    define_kit_tables(Base.metadata)
    return Base


def define_kit_tables(metadata: MetaData) -> None:
    Table(
        "outbox", metadata,
        Column("id", String(36), primary_key=True),          # = the event id
        Column("event_type", String(100), nullable=False),
        Column("exchange", String(100), nullable=False),
        Column("body", JSON, nullable=False),                 # the whole envelope
        Column("headers", JSON, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("published_at", UtcDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Column("claimed_until", UtcDateTime, nullable=True),  # a relay's lease while it publishes
        Index("ix_outbox_unpublished", "published_at", "created_at"),
    )
    Table(
        "processed_events", metadata,
        Column("handler", String(200), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    # Who changed what, when, in which request (crm_kit.records.audit writes it on every flush).
    Table(
        "audit_log", metadata,
        Column("id", String(36), primary_key=True),            # UUIDv7: time-ordered
        Column("entity", String(100), nullable=False),         # "lead", "customer", ...
        Column("entity_id", String(36), nullable=False),
        Column("action", String(50), nullable=False),          # create/update/delete or a use case's label
        Column("actor_id", String(36), nullable=True),
        Column("request_id", String(100), nullable=True),
        Column("at", UtcDateTime, nullable=False),
        Column("changes", JSON, nullable=False),               # {field: [before, after]}
        Index("ix_audit_log_entity_entity_id_id", "entity", "entity_id", "id"),
    )
    # The writing RPC requests carried out, with their replies (crm_kit.runtime.uow: a redelivered request
    # or a retry under the same Idempotency-Key is answered from here, not applied twice).
    Table(
        "handled_requests", metadata,
        Column("request_key", String(100), primary_key=True),
        Column("method", String(100), nullable=False),
        Column("reply", JSON, nullable=True),
        Column("handled_at", UtcDateTime, nullable=False),
        Index("ix_handled_requests_handled_at", "handled_at"),
    )
    # The runs of the service's periodic jobs (crm_kit.runtime.jobs, crm_kit.runtime.job_runs): one row
    # per job and scheduled period (the unique key is how one replica, and one only, claims it), or
    # per run an operator asked for (period_start null); the lease, the run's as_of and its outcome.
    Table(
        "job_runs", metadata,
        Column("id", String(36), primary_key=True),             # UUIDv7; audit entries: "job:<job>:<id>"
        Column("job", String(100), nullable=False),
        Column("period_start", UtcDateTime, nullable=True),     # the scheduled period; null: manual
        Column("trigger", String(20), nullable=False),          # schedule | manual
        Column("as_of", UtcDateTime, nullable=False),           # the time the job ran "as of" (its input)
        Column("claimed_by", String(200), nullable=False),      # the replica running it (host:pid:token)
        Column("claimed_until", UtcDateTime, nullable=False),   # its lease (or, failed, the next try)
        Column("attempts", Integer, nullable=False),
        Column("started_at", UtcDateTime, nullable=False),
        Column("finished_at", UtcDateTime, nullable=True),
        Column("outcome", String(20), nullable=False),          # running | succeeded | failed | abandoned
        Column("error", Text, nullable=True),
        Column("result", JSON, nullable=True),                  # what the job returned (a summary)
        UniqueConstraint("job", "period_start"),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
    )
    define_work_job_tables(metadata)


def define_work_job_tables(metadata: MetaData) -> None:
    """Long work as jobs (``crm_kit.runtime.work_jobs``): a job (its owner, kind, state, lease), the
    file uploaded for it (in parts), and its batches, each committed with the batch's own writes
    (the unique ``(job_id, batch_no)``: a batch is never applied twice)."""
    Table(
        "work_jobs", metadata,
        Column("id", String(80), primary_key=True),             # "<service>-<uuid7>": the gateway routes by it
        Column("kind", String(60), nullable=False),             # import_leads, export_leads, ...
        Column("state", String(20), nullable=False),            # uploading|queued|running|succeeded|failed|cancelled
        Column("owner_id", String(36), nullable=False),
        Column("principal", JSON, nullable=False),              # who it runs as (their data scope)
        Column("params", JSON, nullable=False),
        Column("input_parts", Integer, nullable=True),          # parts of the uploaded file (once submitted)
        Column("total", Integer, nullable=True),                # rows to do (once known)
        Column("summary", JSON, nullable=True),                 # what the finished job returned
        Column("error", Text, nullable=True),
        Column("cancel_requested", Integer, nullable=False, default=0),
        Column("claimed_by", String(200), nullable=True),       # the replica running it, and its lease
        Column("claimed_until", UtcDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("created_at", UtcDateTime, nullable=False),
        Column("started_at", UtcDateTime, nullable=True),
        Column("finished_at", UtcDateTime, nullable=True),
        Index("ix_work_jobs_owner_id_created_at", "owner_id", "created_at"),
        Index("ix_work_jobs_state_created_at", "state", "created_at"),
    )
    Table(
        "work_job_inputs", metadata,
        Column("job_id", String(80), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("text", Text, nullable=False),
    )
    Table(
        "work_job_batches", metadata,
        Column("job_id", String(80), primary_key=True),
        Column("batch_no", Integer, primary_key=True),
        Column("rows", Integer, nullable=False),                # input rows (or records) this batch did
        Column("counts", JSON, nullable=False),                 # {"created": n, "duplicates": n, ...}
        Column("errors", JSON, nullable=False),                 # the batch's failed rows: [{row, errors}]
        Column("report", JSON, nullable=True),                  # an import's per-row report
        Column("output", Text, nullable=True),                  # an export's file piece
        Column("resume", JSON, nullable=True),                  # what the next batch starts from (a cursor)
        Column("committed_at", UtcDateTime, nullable=False),
    )


SQLITE_CACHE_KIB = 65536


def make_engine(url: str, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 5, "check_same_thread": False},
                               json_serializer=json_text)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                # a page cache of up to SQLITE_CACHE_KIB per connection (SQLite's default: 2 MiB), taken
                # as pages are read: a small database never fills it; a big one (a full-text index of
                # 100,000 articles) read again page by page from the OS at each query halved its speed
                cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    # No pool_pre_ping: it costs a round trip per checkout; a connection found dead is
    # invalidated by SQLAlchemy on first use and the pool recycles connections anyway.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                         json_serializer=json_text)


def make_green() -> None:
    """Make psycopg2 cooperate with eventlet (call after eventlet.monkey_patch)."""
    try:
        from psycogreen.eventlet import patch_psycopg
    except ImportError:  # pragma: no cover - psycopg2 not installed
        return
    patch_psycopg()
