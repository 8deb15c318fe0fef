"""The organisation as the services' rules see it (sales' approval engine: the chain of managers, a
role's users, the admins): every user's role, department and active flag, and the department tree.

Answered over RPC to the services (``gateway.org_chart``, a platform call without a principal:
``GatewayService.org_chart``); the caller caches it briefly (``services/sales/dependencies.py``).
Nothing else of a user leaves: no name, e-mail or password hash."""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.runtime.uow import UnitOfWork
from gateway.identity.models import Department, User


def org_chart(uow: UnitOfWork) -> dict:
    """``{"users": [{id, role, department_id, active}], "departments": [{id, parent_id}]}``, in id order."""
    with uow:
        users = uow.session.execute(select(User.id, User.role, User.department_id, User.active)
                                    .order_by(User.id)).all()
        departments = uow.session.execute(select(Department.id, Department.parent_id).order_by(Department.id)).all()
        return {"users": [{"id": u.id, "role": u.role, "department_id": u.department_id, "active": bool(u.active)}
                          for u in users],
                "departments": [{"id": d.id, "parent_id": d.parent_id} for d in departments]}
