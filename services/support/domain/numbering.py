"""Ticket numbers (编号规则): ``TK-<year>-<counter, six digits>``, as billing numbers its payments and
sales its orders: a counter per year, taken inside the creating transaction
(``application.numbers.take_number``), so two tickets never share a number. Past 999999 the
counter keeps counting with more digits."""
from __future__ import annotations

TICKET_PREFIX = "TK"
