"""Ticket numbers (编号规则): ``TK-<year>-<counter, six digits>``, as billing numbers its payments and
sales its orders: a counter per year, taken inside the creating transaction
(``application.numbers.take_number``), so two tickets never share a number. Past 999999 the
counter keeps counting with more digits."""
from __future__ import annotations

TICKET_PREFIX = "TK"
WIDTH = 6


def format_number(prefix: str, year: int, value: int) -> str:
    if not prefix.isalpha() or not prefix.isupper() or not 1 <= len(prefix) <= 8:
        raise ValueError(f"a number prefix is 1 to 8 capital letters, not {prefix!r}")
    if int(value) < 1:
        raise ValueError("a counter starts at 1")
    if not 1000 <= int(year) <= 9999:
        raise ValueError("a year has four digits")
    return f"{prefix}-{int(year):04d}-{int(value):0{WIDTH}d}"
