"""CSV files in and out of a context: an import's file read and checked (:func:`read_csv`), an export's
cells made safe for a spreadsheet (:func:`csv_cell`), and the state an export carries from page to page
in its cursor (:func:`export_state`). Used by the imports and exports of leads and customers.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from crm_kit.errors import ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import cursor_state


def read_csv(csv_text, max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (column names stripped, as written) and the non-blank rows with their line numbers
    of a CSV text (UTF-8, with or without BOM); ``ValidationFailed`` for the file itself: not text,
    not CSV, empty (a header row is required), more than ``max_rows`` rows."""
    if not isinstance(csv_text, str):
        raise ValidationFailed.from_messages({"_body": ["Expected CSV text."]})
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationFailed.from_messages({"_body": ["The CSV file is empty (a header row is required)."]}) from None
    except csv.Error as exc:
        raise ValidationFailed.from_messages({"_body": [f"Not valid CSV: {exc}."]}) from None
    rows = []
    try:
        for line_no, values in enumerate(reader, start=2):
            if not "".join(values).strip():        # a blank line
                continue
            rows.append((line_no, values))
            if len(rows) > max_rows:
                raise ValidationFailed.from_messages({"_body": [f"At most {max_rows} rows per import."]})
    except csv.Error as exc:
        raise ValidationFailed.from_messages({"_body": [f"Not valid CSV: {exc}."]}) from None
    return header, rows


def csv_writer(out: io.StringIO):
    """A writer of CSV rows as exports write them (``\\r\\n`` line ends, as RFC 4180 says)."""
    return csv.writer(out, lineterminator="\r\n")


def csv_cell(value) -> str:
    """A value as an export's cell: empty for None, ``true``/``false``, ISO 8601 times, Decimals as
    written; text starting with ``=``, ``+``, ``-`` or ``@`` prefixed with ``'`` (a spreadsheet would
    run it as a formula: CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_state(cursor: str | None, limit: int | None,
                 now: dt.datetime | None = None) -> tuple[dt.datetime, int | None]:
    """(the export's start time, the rows it may still send or None): a new export's (``now``, by
    default the clock's, and ``limit``), or the previous page's, from its cursor
    (``paginate(..., as_of=..., left=...)`` put them there)."""
    if not cursor:
        return now or utcnow(), limit
    state = cursor_state(cursor)
    try:
        as_of, left = dt.datetime.fromisoformat(state["as_of"]), state.get("left")
        if as_of.tzinfo is None or not (left is None or type(left) is int and left > 0):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None
    return as_of, left
