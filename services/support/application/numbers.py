"""Taking the next number of a numbering rule (``domain.numbering``) inside the caller's transaction.

The counter's row (prefix, year) is made at 1 if missing, else bumped, in one statement
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``): on PostgreSQL the update locks the row until
the creating transaction ends, so two concurrent tickets are numbered one after the other and never
share a number; a transaction rolled back gives its value back. (Sales numbers its orders the same
way, in its own database: ``services/sales/application/order_numbers.py``.)
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.support.domain.numbering import format_number
from services.support.models import TicketNumberCounter as NumberCounter


def take_number(session, prefix: str, on: dt.date) -> str:
    """The next number of ``prefix`` in ``on``'s year (``TK-2026-000124``)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    value = session.execute(
        insert(NumberCounter).values(prefix=prefix, year=on.year, last_value=1)
        .on_conflict_do_update(index_elements=["prefix", "year"],
                               set_={"last_value": NumberCounter.last_value + 1})
        .returning(NumberCounter.last_value)).scalar_one()
    return format_number(prefix, on.year, value)
