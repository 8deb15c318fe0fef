"""Who reviews money (seed 004, 回款审批: "财务人员根据款项到账情况审批回款").

The ``finance`` role (``crm_kit.context.ROLES``) reads every receivable and payment whose
``department_id`` is in its scope -- its department and those below (``scope_department_ids``):
a finance user in the company's root department sees the whole company's, one in a region's
department that region's -- and may act on them like their owner (submit a payment, set a plan).
Only finance in scope and admins **review**: confirm or reject a payment, refund a confirmed one,
write a receivable off, run the overdue rule now. Everyone else who may see the record is refused
with 403; who may not see it gets 404 (the data scopes). Outside billing a finance user is a member.
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import Forbidden

FINANCE = "finance"


def is_finance(principal: Principal | None) -> bool:
    return principal is not None and principal.role == FINANCE


def in_finance_scope(principal: Principal | None, department_id: str | None) -> bool:
    """Whether a finance principal's scope holds a record of ``department_id``."""
    return is_finance(principal) and department_id is not None and department_id in principal.scope_department_ids


def may_review(principal: Principal | None, department_id: str | None) -> bool:
    """Admins (and the platform), and finance in scope."""
    return principal is not None and (principal.is_admin or in_finance_scope(principal, department_id))


def require_review(principal: Principal | None, department_id: str | None, action: str, resource: str) -> None:
    if not may_review(principal, department_id):
        raise Forbidden(f"Only finance (or an administrator) may {action.replace('_', ' ')} a {resource}.",
                        {"action": action})


def require_another_reviewer(principal: Principal | None, submitted_by: str | None, action: str,
                             resource: str) -> None:
    """Four eyes: finance does not confirm money it recorded itself (the seed's 回款审批 is someone
    checking what a colleague entered). Administrators are not held to it (a company whose only
    finance person is its admin can still work); rejecting one's own entry is allowed (it moves no money)."""
    if (principal is not None and is_finance(principal) and submitted_by is not None
            and submitted_by == principal.user_id):
        raise Forbidden(f"A {resource} you recorded yourself is reviewed by someone else: you may not "
                        f"{action.replace('_', ' ')} it.", {"action": action, "reason": "own_entry"})
