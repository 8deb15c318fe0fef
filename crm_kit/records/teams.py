"""Team members: sharing one record with other users (domain.md, "Who is asking").

A resource that can be shared gets a ``<table>_team`` table next to it::

    class Lead(Base):
        __tablename__ = "leads"
        ...

    lead_team = attach_team(Lead)      # table "leads_team", and Lead.__team_table__

Each row grants one user ``read`` or ``read_write`` on one record. The data
scopes (``crm_kit.records.scopes``) read ``__team_table__``: a team member sees the
record, and a ``read_write`` member may change it (and its team).

Team rows are written with Core statements, so the use case records them in the
audit trail itself (:func:`set_member` / :func:`remove_member` return the
before/after access for that).
"""
from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)

from crm_kit.records.db import UtcDateTime, utcnow

READ, READ_WRITE = "read", "read_write"
ACCESS = (READ, READ_WRITE)


def define_team_table(metadata, parent: Table) -> Table:
    """The ``<parent>_team`` table: (record_id, user_id) -> access."""
    name = f"{parent.name}_team"
    return Table(
        name, metadata,
        Column("record_id", String(36), ForeignKey(f"{parent.name}.id", ondelete="CASCADE"), primary_key=True),
        Column("user_id", String(36), primary_key=True),
        Column("access", String(20), nullable=False),
        Column("granted_by", String(36), nullable=True),
        Column("granted_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=True),     # a membership until then (None: for good)
        CheckConstraint("access IN ('read', 'read_write')", name="access"),
        Index(f"ix_{name}_user_id", "user_id"),
    )


def attach_team(model) -> Table:
    """Define the team table of a mapped class and remember it as ``model.__team_table__``."""
    table = define_team_table(model.metadata, model.__table__)
    model.__team_table__ = table
    return table


def team_of(model) -> Table | None:
    return getattr(model, "__team_table__", None)


def current(team: Table):
    """Memberships in force now (not past their ``expires_at``): "now" is taken when the statement
    runs, so a clause made once (``crm_kit.records.scopes`` keeps them) stays right."""
    return or_(team.c.expires_at.is_(None),
               team.c.expires_at > bindparam(None, callable_=_now, type_=team.c.expires_at.type))


def _now():
    return utcnow()


def member_clause(model, team: Table, user_id: str, write: bool = False):
    """``model`` rows on which ``user_id`` is a team member now (with ``read_write`` if ``write``)."""
    sub = select(team.c.record_id).where(team.c.user_id == user_id, current(team))
    if write:
        sub = sub.where(team.c.access == READ_WRITE)
    return model.id.in_(sub)


# -- reading and changing a record's team ----------------------------------------
def access_of(session, team: Table, record_id: str, user_id: str) -> str | None:
    """The access ``user_id`` has now (None: not a member, or the membership expired)."""
    return session.execute(select(team.c.access).where(
        team.c.record_id == record_id, team.c.user_id == user_id, current(team))).scalar()


def members(session, team: Table, record_id: str) -> list[dict]:
    rows = session.execute(select(team).where(team.c.record_id == record_id, current(team))
                           .order_by(team.c.granted_at, team.c.user_id)).mappings().all()
    return [dict(r) for r in rows]


def set_member(session, team: Table, record_id: str, user_id: str, access: str, granted_by: str | None,
               expires_at=None) -> tuple:
    """Grant (or change) a member's access, for good or until ``expires_at``; returns ``(before,
    after)`` access."""
    before = access_of(session, team, record_id, user_id)
    row = session.execute(select(team.c.access, team.c.expires_at).where(
        team.c.record_id == record_id, team.c.user_id == user_id)).first()
    if row is None:
        session.execute(insert(team).values(record_id=record_id, user_id=user_id, access=access,
                                            granted_by=granted_by, granted_at=utcnow(), expires_at=expires_at))
    elif before != access or row.expires_at != expires_at:     # (an expired membership is granted anew)
        session.execute(update(team).where(team.c.record_id == record_id, team.c.user_id == user_id)
                        .values(access=access, granted_by=granted_by, granted_at=utcnow(), expires_at=expires_at))
    return before, access


def remove_member(session, team: Table, record_id: str, user_id: str) -> str | None:
    """Remove a member; returns the access they had (None: they were not a member)."""
    before = access_of(session, team, record_id, user_id)
    if before is not None:
        session.execute(delete(team).where(team.c.record_id == record_id, team.c.user_id == user_id))
    return before


def clear(session, team: Table, record_id: str) -> None:
    """Drop a record's whole team (before deleting the record)."""
    session.execute(delete(team).where(team.c.record_id == record_id))
