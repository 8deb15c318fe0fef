"""Rows written in bulk, without the ORM (an import's thousands, the outbox's and the audit's rows
of a unit of work: ``crm_kit.runtime.uow``): :func:`bulk_insert`, :func:`bulk_insert_all`; and
:func:`one_of`, a long ``IN`` list as one parameter on PostgreSQL."""
from __future__ import annotations

import re
from decimal import Decimal
from operator import itemgetter

import orjson
from sqlalchemy import JSON, Table, Text, TypeDecorator, any_, cast, insert, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

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
