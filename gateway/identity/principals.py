"""Who a user is for the data scopes of ``domain.md``: the principal (role, department, the
departments of its subtree), read from the gateway's database and cached briefly, so that
disabling or moving a user takes effect within ``PRINCIPAL_TTL`` seconds, not at token expiry."""
from __future__ import annotations

import time

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, Unauthorized
from crm_kit.runtime.uow import UnitOfWork
from gateway.identity.models import Department, User

PRINCIPAL_TTL = 30.0  # seconds a resolved principal is reused (role/department changes apply after it)


def department_subtree(departments: list[tuple[str, str | None]], root: str | None) -> tuple[str, ...]:
    """``root`` and every department below it (``departments``: ``(id, parent_id)`` pairs)."""
    if root is None:
        return ()
    children: dict[str | None, list[str]] = {}
    for dept_id, parent_id in departments:
        children.setdefault(parent_id, []).append(dept_id)
    out, stack = [], [root]
    while stack:
        current = stack.pop()
        if current in out:
            continue
        out.append(current)
        stack.extend(children.get(current, ()))
    return tuple(sorted(out))


def resolve_principal(uow: UnitOfWork, user_id: str) -> Principal:
    with uow:
        user = uow.session.get(User, user_id)
        if user is None or not user.active:
            raise Unauthorized("The token's user no longer exists or is disabled.", {"reason": "inactive"})
        departments = uow.session.execute(select(Department.id, Department.parent_id)).all()
        return Principal(user_id=user.id, role=user.role, department_id=user.department_id,
                         scope_department_ids=department_subtree(departments, user.department_id))


class PrincipalCache:
    def __init__(self, ttl: float = PRINCIPAL_TTL):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, uow: UnitOfWork, user_id: str) -> Principal:
        hit = self._entries.get(user_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        principal = resolve_principal(uow, user_id)
        self._entries[user_id] = (time.monotonic() + self.ttl, principal)
        return principal

    def forget(self, user_id: str | None = None) -> None:
        """Read ``user_id`` (everyone, when None) afresh next time: their user or departments changed."""
        if user_id is None:
            self._entries.clear()
        else:
            self._entries.pop(user_id, None)


CACHE = PrincipalCache()   # this process's: the users and departments use cases forget what they change


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an administrator may do this.")
