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
import re
from decimal import Decimal
from operator import itemgetter

import orjson
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
    any_,
    cast,
    create_engine,
    event,
    insert,
    literal,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

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


BULK_CHUNK = 1000


def bulk_insert(connection: Connection, table: Table, rows: list[dict]) -> None:
    """Insert many rows (the same keys in each) in the current transaction.

    On PostgreSQL the rows travel as one JSON parameter per ``BULK_CHUNK`` rows, each row an
    array of its values in the order of the first row's keys, ``INSERT ... SELECT (r->>0)::<type>,
    ... FROM jsonb_array_elements(%s::jsonb) AS r``: the server parses JSON in C, where a
    multi-row ``VALUES`` (SQLAlchemy's insertmanyvalues) makes it parse one SQL literal per cell
    and the client render them: 3x faster for an import's thousands of rows (and COPY is refused
    under psycogreen's wait callback). Arrays, not objects: no key to write, read and look up per
    cell (``json_populate_recordset`` of objects cost the server twice as much). Column types'
    Python-side processing is replaced by JSON (orjson): datetimes travel as RFC 3339 (a naive
    one is taken as UTC), Decimals as strings, None as NULL. A JSON column's value is its JSON
    text, stored as it was written; from PostgreSQL 14 the texts of a JSON column travel apart, as
    one parameter (separated by ``\\x1e``, which JSON always escapes; split by ``string_to_table``,
    zipped with the array's rows by ``ROWS FROM``): inside the array each was a JSON string the
    server had to unescape, then read again as JSON (the outbox's and the audit's rows, two thirds
    of an import's bytes, cost the server a fifth less this way). Each value is cast to its column's type
    without the length or scale (``varchar``, ``numeric``), which the INSERT then applies as it
    does to any value (a text too long fails, a number is rounded to the scale).
    Python-side column defaults are not applied: give every such value. Elsewhere (SQLite)
    it is a plain executemany.
    """
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    sql, columns, json_at = _bulk_statement(connection, table, rows)
    for start in range(0, len(rows), BULK_CHUNK):
        connection.exec_driver_sql(sql, _parameters(rows[start:start + BULK_CHUNK], columns, json_at))


def bulk_insert_all(connection: Connection, batches: list[tuple[Table, list[dict]]]) -> None:
    """:func:`bulk_insert` of several tables in a row; on PostgreSQL all of them in one round trip
    (one query string, a statement per ``BULK_CHUNK`` rows of a table, separated by ``;``)."""
    batches = [(table, rows) for table, rows in batches if rows]
    if connection.dialect.name != "postgresql" or (len(batches) < 2 and len(batches[0][1]) <= BULK_CHUNK
                                                   if batches else True):
        for table, rows in batches:
            bulk_insert(connection, table, rows)
        return
    sqls, parameters = [], []
    for table, rows in batches:
        sql, columns, json_at = _bulk_statement(connection, table, rows)
        for start in range(0, len(rows), BULK_CHUNK):
            sqls.append(sql)
            parameters += _parameters(rows[start:start + BULK_CHUNK], columns, json_at)
    connection.exec_driver_sql("; ".join(sqls), tuple(parameters))


def one_of(column, values: list, dialect_name: str):
    """``column IN (values)`` for a long list (an import's thousand phones): on PostgreSQL one
    array parameter, ``column = ANY(...)``, where an IN list costs a placeholder per value for
    SQLAlchemy to render and the server to parse. Text values travel as one array literal
    (``'{"a","b"}'::text[]``, read by the server's array input) rather than as a list the driver
    renders as ``ARRAY['a', 'b', ...]``, a SQL literal per value: a third of the server's work and
    of ours."""
    if dialect_name == "postgresql":
        values = list(values)
        if all(type(v) is str for v in values):
            return column == any_(cast(literal(text_array(values), Text()), ARRAY(Text())))
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def text_array(values: list[str]) -> str:
    """PostgreSQL's text of an array of these strings (each quoted: any character is kept)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


_STATEMENTS: dict = {}      # (table, columns, dialect, its version) -> (sql, columns, (JSON columns, apart))
_TYPMOD = re.compile(r"\s*\([^)]*\)|\s+COLLATE\s+.*$", re.IGNORECASE)


def _bulk_statement(connection: Connection, table: Table, rows: list[dict]) -> tuple[str, tuple, tuple]:
    columns = tuple(rows[0])
    key = (table, columns, connection.dialect.name, connection.dialect.server_version_info)
    made = _STATEMENTS.get(key)
    if made is None:
        made = _STATEMENTS[key] = _make_statement(connection.dialect, table, columns)
    return made


def _make_statement(dialect, table: Table, columns: tuple) -> tuple[str, tuple, tuple]:
    unset = [c.name for c in table.columns if c.default is not None and c.name not in columns]
    if unset:
        raise ValueError(f"bulk_insert into {table.name}: give {unset} (Python-side defaults are not applied)")
    quote = dialect.identifier_preparer.quote
    by_name = {c.name: c for c in table.columns}
    types, json_at = [], []
    for i, name in enumerate(columns):
        type_ = by_name[name].type
        if isinstance(type_, TypeDecorator):
            type_ = type_.load_dialect_impl(dialect)
        if isinstance(type_, JSON):
            json_at.append(i)
        # the type without its length, scale or collation: the INSERT applies them (see bulk_insert)
        types.append(_TYPMOD.sub('', type_.compile(dialect=dialect)))
    into = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)})"
    if json_at and len(json_at) < len(columns) and (dialect.server_version_info or (0,)) >= (14,):
        # The JSON columns' texts apart, each column's one parameter (see _parameters), zipped with
        # the other columns' rows (ROWS FROM): the server reads them as they are, where inside the
        # array each was a JSON string to unescape (a third of the outbox's and audit's cost).
        cells, at = [], 0
        for i, type_ in enumerate(types):
            if i in json_at:
                cells.append(f"j{json_at.index(i)}::{type_}")
            else:
                cells.append(f"(r->>{at})::{type_}")
                at += 1
        texts = "".join(", string_to_table(%s, E'\\x1e', '')" for _ in json_at)
        names = "".join(f", j{k}" for k in range(len(json_at)))
        sql = f"{into} SELECT {', '.join(cells)} FROM ROWS FROM (jsonb_array_elements(%s::jsonb){texts}) AS x(r{names})"
        return sql, columns, (tuple(json_at), True)
    cells = [f"(r->>{i})::{type_}" for i, type_ in enumerate(types)]
    sql = f"{into} SELECT {', '.join(cells)} FROM jsonb_array_elements(%s::jsonb) AS r"
    return sql, columns, (tuple(json_at), False)


_SEPARATOR = "\x1e"     # between a JSON column's texts: JSON writes it escaped (\u001e), never as it is


def _parameters(rows: list[dict], columns: tuple, json_at: tuple) -> tuple:
    """The parameters of :func:`_make_statement`'s statement for these rows: the JSON array of
    :func:`_json_rows`; where the JSON columns travel apart, the array of the other columns, then
    each JSON column's texts joined by ``\\x1e`` (a NULL as an empty text: no JSON is empty)."""
    at, apart = json_at
    if not apart:
        return (_json_rows(rows, columns, at),)
    others = tuple(c for i, c in enumerate(columns) if i not in at)
    dumps, option, texts = orjson.dumps, orjson.OPT_NAIVE_UTC, []
    for i in at:
        key, last, text, parts = columns[i], None, "", []
        for row in rows:
            value = row[key]
            if value is None:
                parts.append("")
                continue
            if value is not last:          # (rows often share one value: the outbox's headers)
                last, text = value, dumps(value, default=_json_value, option=option).decode()
            parts.append(text)
        texts.append(_SEPARATOR.join(parts))
    return (_json_rows(rows, others, ()), *texts)


def _json_rows(rows: list[dict], columns: tuple, json_at: tuple) -> str:
    """The rows for :func:`bulk_insert`'s statement: an array of each row's values in ``columns``'
    order, a JSON column's value as its JSON text."""
    if len(columns) == 1:
        key = columns[0]
        values = [[row[key]] for row in rows]
    else:
        get = itemgetter(*columns)
        values = [get(row) for row in rows]
    if json_at:
        values = [list(v) for v in values]
        dumps, option, last, text = orjson.dumps, orjson.OPT_NAIVE_UTC, None, None
        for v in values:
            for i in json_at:
                value = v[i]
                if value is not None:
                    if value is not last:      # (rows often share one value: the outbox's headers)
                        last, text = value, dumps(value, default=_json_value, option=option).decode()
                    v[i] = text
    return json_text(values)


def json_text(value) -> str:
    """JSON for the database (JSON columns, bulk inserts): orjson, ten times faster than json."""
    return orjson.dumps(value, default=_json_value, option=orjson.OPT_NAIVE_UTC).decode()


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
