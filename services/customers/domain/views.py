"""The preset views of the customer and contact lists (预设场景, seed 004), inside the data scope:

| scope | seed 004 | the records |
|---|---|---|
| ``all`` (default) | 全部 | every one the caller's data scope shows |
| ``mine`` | 我负责的 | owned by the caller |
| ``team`` | 我参与的 | where the caller is a team member (相关团队中包含当前用户) |
| ``subordinates`` | 我下属负责的 | owned by someone else in the caller's department subtree |

A view narrows the data scope, never widens it (the list starts from the scope and adds the view).
Subordinates are a manager's (or an admin's): the other users of their department and the
departments below it. A member has none; their ``subordinates`` view is empty. The rule answers what
to match, as plain values; the use case writes it in SQL.
"""
from __future__ import annotations

from dataclasses import dataclass

SCOPES = ("all", "mine", "team", "subordinates")
DEFAULT_SCOPE = "all"


@dataclass(frozen=True)
class View:
    """What a view matches: ``owner_id`` (the owner is), ``team_member`` (the user is on the team),
    ``department_ids`` with ``exclude_owner`` (owned in those departments, by anyone but that user);
    ``nothing``: no record. All None: the data scope as it is."""
    owner_id: str | None = None
    team_member: str | None = None
    department_ids: tuple[str, ...] | None = None
    exclude_owner: str | None = None
    nothing: bool = False


def view_of(scope: str | None, user_id: str, role: str, scope_department_ids) -> View:
    """The view ``scope`` for a caller (``role``: admin, manager, member, system)."""
    scope = scope or DEFAULT_SCOPE
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if scope == "mine":
        return View(owner_id=user_id)
    if scope == "team":
        return View(team_member=user_id)
    if scope == "subordinates":
        departments = tuple(scope_department_ids or ())
        if role not in ("manager", "admin") or not departments:
            return View(nothing=True)
        return View(department_ids=departments, exclude_owner=user_id)
    return View()
