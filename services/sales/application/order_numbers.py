"""Taking the next number of a numbering rule (``domain.numbering``) inside the caller's transaction.

The counter's row (prefix, year) is made at 1 if missing, else bumped, in one statement
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``): on PostgreSQL the update locks the row until
the creating transaction ends, so two concurrent orders are numbered one after the other and never share a
number; a transaction rolled back gives its value back (the next order takes it). On SQLite the
database has one writer at a time anyway. Orders use prefix ``SO``; quotes and contracts may use
their own prefixes over the same table.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.sales.domain.numbering import format_number
from services.sales.models.orders import NumberCounter


def take_number(session, prefix: str, on: dt.date) -> str:
    """The next number of ``prefix`` in ``on``'s year (``SO-2026-000124``)."""
    year = on.year
    value = session.execute(_take_statement(session.get_bind().dialect.name),
                            {"prefix": prefix, "year": year}).scalar_one()
    return format_number(prefix, year, value)


_TAKE: dict[str, object] = {}       # the statement per dialect, made once (every order takes a number)


def _take_statement(dialect: str):
    stmt = _TAKE.get(dialect)
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = _TAKE[dialect] = (
            insert(NumberCounter).values(prefix=bindparam("prefix"), year=bindparam("year"), last_value=1)
            .on_conflict_do_update(index_elements=["prefix", "year"],
                                   set_={"last_value": NumberCounter.last_value + 1})
            .returning(NumberCounter.last_value))
    return stmt
