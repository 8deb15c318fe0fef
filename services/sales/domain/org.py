"""The organisation as the approval engine sees it: users (role, department, active) and the
department tree. Identity is the gateway's: sales gets a snapshot over RPC (``gateway.org_chart``,
``services/sales/dependencies.py``) and the rules read it through this plain value, so table tests
build one by hand."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OrgUser:
    id: str
    role: str                       # admin | manager | member (crm_kit.context.ROLES)
    department_id: str | None = None
    active: bool = True


@dataclass(frozen=True)
class OrgChart:
    users: dict[str, OrgUser] = field(default_factory=dict)
    departments: dict[str, str | None] = field(default_factory=dict)   # department id -> parent id

    @classmethod
    def of(cls, data: dict) -> "OrgChart":
        """From the ``gateway.org_chart`` answer: ``{"users": [{id, role, department_id, active}],
        "departments": [{id, parent_id}]}``."""
        return cls(users={u["id"]: OrgUser(u["id"], u["role"], u.get("department_id"), u.get("active", True))
                          for u in data.get("users", ())},
                   departments={d["id"]: d.get("parent_id") for d in data.get("departments", ())})

    def user(self, user_id: str | None) -> OrgUser | None:
        user = self.users.get(user_id) if user_id else None
        return user if user is not None and user.active else None

    def with_role(self, role: str) -> list[str]:
        """Active users of a role, in id order."""
        return sorted(u.id for u in self.users.values() if u.active and u.role == role)

    def managers_of(self, department_id: str | None) -> list[str]:
        """Active managers of exactly this department, in id order."""
        return sorted(u.id for u in self.users.values()
                      if u.active and u.role == "manager" and department_id and u.department_id == department_id)

    def department_chain(self, department_id: str | None) -> list[str]:
        """This department, its parent, its parent's parent... (a cycle stops the walk)."""
        chain, seen = [], set()
        while department_id and department_id not in seen and department_id in self.departments:
            chain.append(department_id)
            seen.add(department_id)
            department_id = self.departments[department_id]
        return chain

    def manager_levels(self, user_id: str, levels: int) -> list[list[str]]:
        """The chain of managers above ``user_id``, up to ``levels`` levels: level 1 is the managers of
        the user's own department (without the user), level 2 those of its parent department, and so
        on; a department with no manager is passed over (it does not count as a level)."""
        user = self.users.get(user_id)
        out: list[list[str]] = []
        for department in self.department_chain(user.department_id if user else None):
            managers = [m for m in self.managers_of(department) if m != user_id]
            if managers:
                out.append(managers)
            if len(out) == levels:
                break
        return out

    def is_manager_of(self, manager_id: str, user_id: str) -> bool:
        """Whether ``manager_id`` is an active manager of ``user_id``'s department or one above it."""
        manager, user = self.user(manager_id), self.users.get(user_id)
        return bool(manager and manager.role == "manager" and user
                    and manager.department_id in self.department_chain(user.department_id))
