"""The data scopes of billing's records, with finance's way in (``domain.review``): a finance
principal reads and writes the receivables and payments whose department is in its scope, as the
kit's scopes let a team member in (``crm_kit.records.scopes``: an extra clause)."""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.records.pagination import paginate
from crm_kit.records.scopes import get_for_read, get_for_write, scoped_select
from services.billing.domain.review import is_finance


def finance_clause(model, principal: Principal | None):
    """The rows a finance principal reaches (its departments), else None (no extra way in)."""
    if is_finance(principal) and principal.scope_department_ids:
        return model.department_id.in_(principal.scope_department_ids)
    return None


def for_read(session, model, ident: str, principal: Principal, resource: str):
    return get_for_read(session, model, ident, principal, resource, finance_clause(model, principal))


def for_write(session, model, ident: str, principal: Principal, resource: str):
    return get_for_write(session, model, ident, principal, resource, finance_clause(model, principal))


def list_in_scope(uow, principal: Principal, model, query: dict, filters, dump, *where) -> dict:
    """A keyset page of ``model`` in the caller's scope (finance: its departments'), newest first:
    ``query``'s ``filters`` that are set (each an equality on the column of its name) and ``where``."""
    stmt = scoped_select(model, principal, finance_clause(model, principal)).where(*where)
    for name in filters:
        if query.get(name) is not None:
            stmt = stmt.where(getattr(model, name) == query[name])
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, model.id, query["limit"], query["cursor"])
        return {"items": [dump(row) for row in rows], "next_cursor": next_cursor}
