"""Taking the next number of a numbering rule (``domain.numbering``) inside the caller's transaction.

The counter's row (prefix, year) is made at 1 if missing, else bumped, in one statement
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``): on PostgreSQL the update locks the row until
the creating transaction ends, so two concurrent tickets are numbered one after the other and never
share a number; a transaction rolled back gives its value back. (Sales numbers its orders the same
way, in its own database: ``services/sales/application/order_numbers.py``.)
"""
from __future__ import annotations

import datetime as dt

from crm_kit.records import numbering
from services.support.models import TicketNumberCounter as NumberCounter


def take_number(session, prefix: str, on: dt.date) -> str:
    """The next number of ``prefix`` in ``on``'s year (the kit's rule, this context's counter table)."""
    return numbering.take_number(session, NumberCounter, prefix, on)
