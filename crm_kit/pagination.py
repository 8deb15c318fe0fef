"""Keyset pagination: page N costs what page 1 costs, and nothing counts the table.

Lists are ordered newest first by id (UUIDv7 ids sort by creation time). The
cursor is an opaque token holding the last id of the previous page.
"""
from __future__ import annotations

import base64
import binascii
import json

from sqlalchemy import Select

from crm_kit.errors import ValidationFailed


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        if not isinstance(after, str):
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None


def paginate(session, stmt: Select, id_column, limit: int, cursor: str | None):
    """Run ``stmt`` for one page; returns (rows, next_cursor)."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
