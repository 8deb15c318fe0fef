"""The data scopes of billing's records, with finance's way in (``domain.review``): a finance
principal reads and writes the receivables and payments whose department is in its scope, as the
kit's scopes let a team member in (``crm_kit.records.scopes``: an extra clause)."""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.records.scopes import get_for_read, get_for_write
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
