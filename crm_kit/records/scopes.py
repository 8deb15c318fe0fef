"""Data scopes (domain.md, "Who is asking"): which records a principal may see and change.

Reading:
- admin (and the platform itself): everything;
- manager: records they own, records owned within their department subtree
  (``scope_department_ids``), and records they are a team member of;
- member: records they own or are a team member of (``read`` or ``read_write``).

Writing (update, delete, actions, team changes):
- admin: everything;
- manager: own + department subtree (+ team ``read_write``);
- member: own + team ``read_write``.

A record the caller cannot read answers exactly like a missing one
(``NotFound``, 404), so ids cannot be probed; one they can read but not write
answers ``Forbidden`` (403).

A model opts in by having ``owner_id`` and ``department_id`` columns and, if it
can be shared, a team table (``crm_kit.records.teams.attach_team`` sets
``__team_table__``, which every function here picks up). A child record with no
ownership of its own (a contact) inherits its parent's::

    Contact.__scope_parent__ = (Contact.customer_id, Customer)

Lists must start from :func:`scoped_select` (``tests/unit`` checks every
``list_*`` use case does); single records come from :func:`get_for_read` or
:func:`get_for_write`.
"""
from __future__ import annotations

from sqlalchemy import Table, case, false, or_, select, true
from sqlalchemy.sql.elements import ClauseElement

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound
from crm_kit.records.teams import member_clause, team_of


def _team(model, team_table):
    if team_table is None:
        return team_of(model)
    return team_table


def _clause(model, principal: Principal | None, team_table, write: bool):
    if principal is None:
        return false()
    if principal.is_admin:
        return true()
    parent = getattr(model, "__scope_parent__", None)
    if parent is not None:
        fk, parent_model = parent
        return fk.in_(select(parent_model.id).where(_clause(parent_model, principal, None, write)))
    clauses = [model.owner_id == principal.user_id]
    if principal.role == "manager" and principal.scope_department_ids:
        clauses.append(model.department_id.in_(principal.scope_department_ids))
    team = _team(model, team_table)
    if isinstance(team, Table):
        clauses.append(member_clause(model, team, principal.user_id, write=write))
    elif isinstance(team, ClauseElement):      # a ready-made clause (the caller's own sharing rule)
        clauses.append(team)
    return or_(*clauses)


def scope_clause(model, principal: Principal | None, team_table=None):
    """WHERE clause: the ``model`` rows the principal may read.

    ``team_table`` defaults to ``model.__team_table__``; a SQL clause is accepted
    too, as an extra way in."""
    return _clause(model, principal, team_table, write=False)


def write_scope_clause(model, principal: Principal | None, team_table=None):
    """WHERE clause: the ``model`` rows the principal may change."""
    return _clause(model, principal, team_table, write=True)


def scoped_select(model, principal: Principal | None, team_table=None):
    """``select(model)`` limited to what the principal may read: every list starts here."""
    return select(model).where(scope_clause(model, principal, team_table))


def get_for_read(session, model, ident: str, principal: Principal | None, resource: str, team_table=None):
    """One record the principal may read, else ``NotFound`` (exactly like a missing one)."""
    row = session.scalars(
        select(model).where(model.id == ident, scope_clause(model, principal, team_table))
    ).first()
    if row is None:
        raise NotFound.of(resource, ident)
    return row


get_in_scope = get_for_read


def get_for_write(session, model, ident: str, principal: Principal | None, resource: str, team_table=None):
    """One record the principal may change: ``NotFound`` if they cannot even read it,
    ``Forbidden`` if they can read but not change it."""
    if principal is not None and principal.is_admin:
        return get_for_read(session, model, ident, principal, resource, team_table)
    can_write = case((write_scope_clause(model, principal, team_table), True), else_=False)
    found = session.execute(
        select(model, can_write).where(model.id == ident, scope_clause(model, principal, team_table))
    ).first()
    if found is None:
        raise NotFound.of(resource, ident)
    row, writable = found
    if not writable:
        raise Forbidden(f"You may see {resource} {ident} but not change it.",
                        {"resource": resource, "id": str(ident)})
    return row


def can_write(session, model, ident: str, principal: Principal | None, team_table=None) -> bool:
    """Whether the principal may change record ``ident`` (False if it is not there)."""
    return session.execute(select(model.id).where(
        model.id == ident, write_scope_clause(model, principal, team_table))).first() is not None
