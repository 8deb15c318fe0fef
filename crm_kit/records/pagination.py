"""Keyset pagination: page N costs what page 1 costs, and nothing counts the table.

Lists are ordered newest first by id (UUIDv7 ids sort by creation time). The
cursor is an opaque token holding the last id of the previous page, and whatever
else the next page needs to go on as the first one started (``state``: an
export's start time, say). Clients pass back the ``next_cursor`` they were given;
anything else is 422 "Invalid cursor", never a fault further down: a cursor is
URL-safe base64 (``CURSOR_PATTERN``) of a JSON object whose ``after`` is an id
(``MAX_AFTER`` characters at most), and none of its text holds a NUL or an
unpaired surrogate (no database compares such a string).
"""
from __future__ import annotations

import base64
import binascii
import json
import re

from sqlalchemy import Select

from crm_kit.errors import ValidationFailed

CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
MAX_CURSOR = 2000        # characters: an id and a little state
MAX_AFTER = 100          # characters of the id in it
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def encode_cursor(last_id: str, **state) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id, **state}).encode()).decode().rstrip("=")


def cursor_state(cursor: str) -> dict:
    """Everything a cursor holds: ``after`` (the last id, a string) and the ``state`` it was given."""
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR or not re.fullmatch(CURSOR_PATTERN, cursor):
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_refuse)
        if not isinstance(data, dict) or not isinstance(data.get("after"), str) or len(data["after"]) > MAX_AFTER:
            raise ValueError
        if any(isinstance(v, str) and _UNSTORABLE.search(v) for v in (*data, *data.values())):
            raise ValueError
        return data
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None


def _refuse(constant: str):
    raise ValueError(constant)


def decode_cursor(cursor: str) -> str:
    return cursor_state(cursor)["after"]


def paginate(session, stmt: Select, id_column, limit: int, cursor: str | None, **state):
    """Run ``stmt`` for one page; returns (rows, next_cursor). ``state`` goes into the next cursor."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id, **state) if len(rows) > limit else None
    return rows[:limit], next_cursor
