"""Document numbers (编号规则): ``<PREFIX>-<year>-<counter, six digits>``, e.g. ``SO-2026-000123``.

A counter per prefix and year, starting at 1 each year; the application takes the next value
inside the creating transaction (``application.order_numbers.take_number``: the counter's row is
locked until the commit, so two orders never share a number and a rolled-back order's value is
not burnt). A counter past 999999 keeps counting with more digits (``SO-2026-1000000``).
"""
from __future__ import annotations

from crm_kit.records.numbering import NUMBER_PATTERN, PREFIX_PATTERN, WIDTH, format_number, parse_number

ORDER_PREFIX = "SO"
__all__ = ["ORDER_PREFIX", "NUMBER_PATTERN", "PREFIX_PATTERN", "WIDTH", "format_number", "parse_number"]
