"""Keyset pagination: page N costs what page 1 costs, and nothing counts the table.

Lists are ordered newest first by id (UUIDv7 ids sort by creation time). The
cursor is an opaque token holding the last id of the previous page, and whatever
else the next page needs to go on as the first one started (``state``: an
export's start time, say).
"""
from __future__ import annotations

import base64
import binascii
import json

from sqlalchemy import Select

from crm_kit.errors import ValidationFailed


def encode_cursor(last_id: str, **state) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id, **state}).encode()).decode().rstrip("=")


def cursor_state(cursor: str) -> dict:
    """Everything a cursor holds: ``after`` (the last id, a string) and the ``state`` it was given."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or not isinstance(data.get("after"), str):
            raise ValueError
        return data
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None


def decode_cursor(cursor: str) -> str:
    return cursor_state(cursor)["after"]


def paginate(session, stmt: Select, id_column, limit: int, cursor: str | None, **state):
    """Run ``stmt`` for one page; returns (rows, next_cursor). ``state`` goes into the next cursor."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id, **state) if len(rows) > limit else None
    return rows[:limit], next_cursor
