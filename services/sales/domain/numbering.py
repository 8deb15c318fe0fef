"""Document numbers (编号规则): ``<PREFIX>-<year>-<counter, six digits>``, e.g. ``SO-2026-000123``.

A counter per prefix and year, starting at 1 each year; the application takes the next value
inside the creating transaction (``application.order_numbers.take_number``: the counter's row is
locked until the commit, so two orders never share a number and a rolled-back order's value is
not burnt). A counter past 999999 keeps counting with more digits (``SO-2026-1000000``).
"""
from __future__ import annotations

import re

ORDER_PREFIX = "SO"
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
    if not found:
        return None
    return found["prefix"], int(found["year"]), int(found["value"])
