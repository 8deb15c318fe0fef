"""Optimistic concurrency: ``expected_version`` on updates and deletes (api.md: If-Match).

Every versioned model maps ``version`` as SQLAlchemy's ``version_id_col``, so the
UPDATE/DELETE itself checks the version it read (a concurrent writer makes it
``StaleDataError``, which the unit of work turns into ``StaleVersion``). On top of
that, the caller states the version they last saw; :func:`check_version` refuses
a stale one before anything is changed.
"""
from __future__ import annotations

from crm_kit.errors import StaleVersion, ValidationFailed


def expected(value) -> int | None:
    """``expected_version`` as given over RPC: None (no check), an int, or digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 1:
        raise ValidationFailed.from_messages(
            {"expected_version": ["Must be a positive integer (the record's version)."]})
    return value


def check_version(record, expected_version, resource: str) -> None:
    """``StaleVersion`` (409, ``current_version``) unless ``record.version`` is the one expected."""
    wanted = expected(expected_version)
    if wanted is not None and record.version != wanted:
        raise StaleVersion(
            f"The {resource} is at version {record.version}, not {wanted}: reload it and retry.",
            {"current_version": record.version, "expected_version": wanted})
