"""A record's audit history: its query."""
from __future__ import annotations

from crm_kit.records.schemas import ListQuery


class HistoryQuery(ListQuery):
    """``limit`` and ``cursor`` of a record's audit history."""

