"""The declarative base of the customers database (with the kit's tables)."""
from __future__ import annotations

from sqlalchemy import Index, text

from crm_kit.records.db import make_base

Base = make_base()


def partial_index(name: str, columns: tuple[str, ...], where: str, **kw) -> Index:
    """An index over the rows ``where`` holds (most rows have NULL there)."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where), **kw)
