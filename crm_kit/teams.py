"""Team members: sharing one record with other users (domain.md, "Who is asking").

A resource that can be shared gets a ``<table>_team`` table next to it::

    class Lead(Base):
        __tablename__ = "leads"
        ...

    lead_team = attach_team(Lead)      # table "leads_team", and Lead.__team_table__

Each row grants one user ``read`` or ``read_write`` on one record. The data
scopes (``crm_kit.scopes``) read ``__team_table__``: a team member sees the
record, and a ``read_write`` member may change it (and its team).

Team rows are written with Core statements, so the use case records them in the
audit trail itself (:func:`set_member` / :func:`remove_member` return the
before/after access for that).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, delete, insert, select, update

from crm_kit.db import UtcDateTime, utcnow
from crm_kit.schemas import InputSchema

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


def member_clause(model, team: Table, user_id: str, write: bool = False):
    """``model`` rows on which ``user_id`` is a team member (with ``read_write`` if ``write``)."""
    sub = select(team.c.record_id).where(team.c.user_id == user_id)
    if write:
        sub = sub.where(team.c.access == READ_WRITE)
    return model.id.in_(sub)


# -- reading and changing a record's team ----------------------------------------
def access_of(session, team: Table, record_id: str, user_id: str) -> str | None:
    return session.execute(select(team.c.access).where(
        team.c.record_id == record_id, team.c.user_id == user_id)).scalar()


def members(session, team: Table, record_id: str) -> list[dict]:
    rows = session.execute(select(team).where(team.c.record_id == record_id)
                           .order_by(team.c.granted_at, team.c.user_id)).mappings().all()
    return [dict(r) for r in rows]


def set_member(session, team: Table, record_id: str, user_id: str, access: str, granted_by: str | None) -> tuple:
    """Grant (or change) a member's access; returns ``(before, after)`` access."""
    before = access_of(session, team, record_id, user_id)
    if before is None:
        session.execute(insert(team).values(record_id=record_id, user_id=user_id, access=access,
                                            granted_by=granted_by, granted_at=utcnow()))
    elif before != access:
        session.execute(update(team).where(team.c.record_id == record_id, team.c.user_id == user_id)
                        .values(access=access, granted_by=granted_by, granted_at=utcnow()))
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


# -- the RPC shapes -----------------------------------------------------------
class TeamMemberSet(InputSchema):
    """What ``set_<resource>_team_member`` accepts."""
    user_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    access = fields.String(required=True, validate=validate.OneOf(ACCESS))


class TeamMember(Schema):
    user_id = fields.String(required=True)
    access = fields.String(required=True, validate=validate.OneOf(ACCESS))
    granted_by = fields.String(required=True, allow_none=True)
    granted_at = fields.DateTime(required=True)


class TeamList(Schema):
    items = fields.List(fields.Nested(TeamMember), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


# -- the use cases every shareable resource offers (the service's application calls them) -----
_member_out = TeamMember()
_member_set = TeamMemberSet()


def _principal(principal):
    from crm_kit.errors import Forbidden
    if principal is None:
        raise Forbidden("No authenticated principal on this call.")
    return principal


def list_team(uow, principal, model, record_id: str, resource: str) -> dict:
    """The record's team (caller must be able to read the record)."""
    from crm_kit.scopes import get_for_read
    with uow:
        get_for_read(uow.session, model, record_id, _principal(principal), resource)
        return {"items": _member_out.dump(members(uow.session, team_of(model), record_id), many=True),
                "next_cursor": None}


def set_team_member(uow, principal, model, record_id: str, user_id, access, resource: str) -> dict:
    """Grant or change a member (caller must be able to change the record); audited as
    ``team_member_set`` on the record, ``{"team.<user_id>": [before, after]}``."""
    from crm_kit.schemas import load
    from crm_kit.scopes import get_for_write
    principal = _principal(principal)
    fields_ = load(_member_set, {"user_id": user_id, "access": access})
    team = team_of(model)
    with uow:
        get_for_write(uow.session, model, record_id, principal, resource)
        before, after = set_member(uow.session, team, record_id, fields_["user_id"], fields_["access"],
                                   principal.user_id)
        if before != after:
            uow.audit_record(resource, record_id, {f"team.{fields_['user_id']}": [before, after]},
                             "team_member_set")
        member = next(m for m in members(uow.session, team, record_id) if m["user_id"] == fields_["user_id"])
        return uow.commit(_member_out.dump(member))


def remove_team_member(uow, principal, model, record_id: str, user_id: str, resource: str) -> None:
    """Remove a member (caller must be able to change the record); ``NotFound`` if not a member."""
    from crm_kit.errors import NotFound
    from crm_kit.scopes import get_for_write
    principal = _principal(principal)
    with uow:
        get_for_write(uow.session, model, record_id, principal, resource)
        before = remove_member(uow.session, team_of(model), record_id, str(user_id))
        if before is None:
            raise NotFound(f"{user_id} is not in the team of {resource} {record_id}.",
                           {"resource": f"{resource} team member", "id": str(user_id)})
        uow.audit_record(resource, record_id, {f"team.{user_id}": [before, None]}, "team_member_removed")
        uow.commit(None)
