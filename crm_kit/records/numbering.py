"""Document numbers (编号规则): ``<PREFIX>-<year>-<counter, six digits>`` -- sales' ``SO-2026-000123``,
billing's ``PAY-`` / ``RF-`` / ``INV-``, support's ``TK-``. A counter per prefix and year, starting at
1 each year, past 999999 it keeps counting with more digits.

:func:`take_number` takes the next value inside the creating transaction from a context's own counter
table (``prefix``, ``year``, ``last_value``; one upsert: the counter's row is locked until the
commit, so two records never share a number and a rolled-back one's value is not burnt).
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

WIDTH = 6
PREFIX_PATTERN = re.compile(r"^[A-Z]{1,8}$")
NUMBER_PATTERN = re.compile(r"^(?P<prefix>[A-Z]{1,8})-(?P<year>\d{4})-(?P<value>\d{6,})$")


def format_number(prefix: str, year: int, value: int) -> str:
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"a number prefix is 1 to 8 capital letters, not {prefix!r}")
    if not 1 <= int(value):
        raise ValueError("a counter starts at 1")
    if not 1000 <= int(year) <= 9999:
        raise ValueError("a year has four digits")
    return f"{prefix}-{int(year):04d}-{int(value):0{WIDTH}d}"


def parse_number(number: str) -> tuple[str, int, int] | None:
    """``(prefix, year, value)`` of a number, ``None`` for anything else."""
    found = NUMBER_PATTERN.match(number or "")
    return (found["prefix"], int(found["year"]), int(found["value"])) if found else None


def take_number(session, counter, prefix: str, on: dt.date) -> str:
    """The next number of ``prefix`` in ``on``'s year, from the counter table ``counter``."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    value = session.execute(
        insert(counter).values(prefix=prefix, year=on.year, last_value=1)
        .on_conflict_do_update(index_elements=["prefix", "year"], set_={"last_value": counter.last_value + 1})
        .returning(counter.last_value)).scalar_one()
    return format_number(prefix, on.year, value)
