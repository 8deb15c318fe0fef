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


_CLAUSES: dict[tuple, ClauseElement] = {}     # made once per model, principal and kind (see _clause)
_CLAUSES_MAX = 4096


def _clause(model, principal: Principal | None, team_table, write: bool):
    if principal is None:
        return false()
    if principal.is_admin:
        return true()
    if team_table is not None and not isinstance(team_table, Table):   # a caller's own clause: made each time
        return _make_clause(model, principal, team_table, write)
    # Every read and write of a record builds its principal's clause: it depends on the principal's
    # id, role and departments only (a team membership's "now" is taken when the statement runs), so
    # it is made once and reused.
    key = (model, principal.user_id, principal.role, tuple(principal.scope_department_ids or ()), team_table, write)
    clause = _CLAUSES.get(key)
    if clause is None:
        if len(_CLAUSES) >= _CLAUSES_MAX:
            _CLAUSES.clear()
        clause = _CLAUSES[key] = _make_clause(model, principal, team_table, write)
    return clause


def _make_clause(model, principal: Principal, team_table, write: bool):
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


def get_for_read(session, model, ident: str, principal: Principal | None, resource: str, team_table=None,
                 options=()):
    """One record the principal may read, else ``NotFound`` (exactly like a missing one).
    ``options``: loader options of the query (``joinedload(Order.lines)``: the record and its lines
    in one round trip)."""
    result = session.scalars(
        select(model).where(model.id == ident, scope_clause(model, principal, team_table)).options(*options))
    row = (result.unique() if options else result).first()
    if row is None:
        raise NotFound.of(resource, ident)
    return row


get_in_scope = get_for_read


def get_for_write(session, model, ident: str, principal: Principal | None, resource: str, team_table=None,
                  options=()):
    """One record the principal may change: ``NotFound`` if they cannot even read it,
    ``Forbidden`` if they can read but not change it. ``options``: as for ``get_for_read``."""
    if principal is not None and principal.is_admin:
        return get_for_read(session, model, ident, principal, resource, team_table, options)
    can_write = case((write_scope_clause(model, principal, team_table), True), else_=False)
    result = session.execute(
        select(model, can_write).where(model.id == ident, scope_clause(model, principal, team_table))
        .options(*options))
    found = (result.unique() if options else result).first()
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


def require_admin(principal: Principal | None, action: str, detail: str | None = None) -> None:
    """What only administrators do (the platform's settings, not a user's records): ``Forbidden``
    naming the action for everyone else."""
    if principal is None or not principal.is_admin:
        raise Forbidden(detail or f"Only an administrator may {action.replace('_', ' ')}.", {"action": action})
