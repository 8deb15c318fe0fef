"""Support groups (their agents, skills, capacity and business calendar) and the SLA policies:
platform configuration -- everyone signed in reads them, administrators change them (403 otherwise).

A group's members are replaced whole by an update (``members``); a member's ``last_assigned_at``
(round robin) survives it. A calendar or policy change applies to tickets whose SLA is chosen
afterwards (opened, re-prioritised, moved to the group): a running deadline never moves by it.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Forbidden, NotFound
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.support.domain.sla_policies import DEFAULT_POLICIES, policy_to_dict
from services.support.models import SlaPolicy, SupportGroup, SupportGroupMember
from services.support.schemas.groups import (
    SlaPolicyOut,
    SlaPolicySet,
    SupportGroupCreate,
    SupportGroupListQuery,
    SupportGroupOut,
    SupportGroupUpdate,
)

_create, _update, _out, _query = SupportGroupCreate(), SupportGroupUpdate(), SupportGroupOut(), SupportGroupListQuery()
_policy_in, _policy_out = SlaPolicySet(), SlaPolicyOut()


def _admin(principal: Principal, action: str) -> None:
    if not principal.is_admin:
        raise Forbidden(f"Only an administrator may {action.replace('_', ' ')}.", {"action": action})


def _members(session, group: SupportGroup, members: list[dict]) -> None:
    """Replace the group's agents whole (each keeps when it was last assigned). The old rows go first:
    the unit of work would otherwise insert the new ones before deleting the old (a duplicate key)."""
    last = {m.user_id: m.last_assigned_at for m in group.members}
    group.members = []
    session.flush()
    group.members = [SupportGroupMember(id=new_id(), group_id=group.id, last_assigned_at=last.get(m["user_id"]), **m)
                     for m in {m["user_id"]: m for m in members}.values()]


def _unique_name(session, name: str, group_id: str | None = None) -> None:
    found = session.scalars(select(SupportGroup).where(SupportGroup.name == name)).first()
    if found is not None and found.id != group_id:
        raise Conflict(f"A support group named {name!r} exists already.", {"id": found.id, "field": "name"})


def create_support_group(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    _admin(principal, "create_support_group")
    fields = load(_create, data)
    with uow:
        session = uow.session
        _unique_name(session, fields["name"])
        members = fields.pop("members")
        group = SupportGroup(id=new_id(), version=1, **fields)
        _members(session, group, members)
        session.add(group)
        uow.audit_action("create")
        session.flush()
        return uow.commit(lambda: _out.dump(group))


def update_support_group(uow: UnitOfWork, principal: Principal, group_id: str, data: dict,
                         expected_version=None) -> dict:
    _admin(principal, "update_support_group")
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        group = _get(session, group_id)
        check_version(group, expected_version, "support_group")
        if "name" in fields:
            _unique_name(session, fields["name"], group.id)
        if "members" in fields:
            _members(session, group, fields.pop("members"))
        for name, value in fields.items():
            setattr(group, name, value)
        group.updated_at = utcnow()
        uow.audit_action("update")
        session.flush()
        return uow.commit(lambda: _out.dump(group))


def _get(session, group_id: str) -> SupportGroup:
    group = session.get(SupportGroup, group_id)
    if group is None:
        raise NotFound.of("support_group", group_id)
    return group


def get_support_group(uow: UnitOfWork, principal: Principal, group_id: str) -> dict:
    with uow:
        return _out.dump(_get(uow.session, group_id))


def list_support_groups(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Every group (configuration, not owned records: everyone reads them), newest first."""
    params = load(_query, query or {})
    with uow:
        rows, next_cursor = paginate(uow.session, select(SupportGroup), SupportGroup.id, params["limit"],
                                     params["cursor"])
        return {"items": [_out.dump(r) for r in rows], "next_cursor": next_cursor}


def list_sla_policies(uow: UnitOfWork, principal: Principal) -> dict:
    """The stored policies, and the defaults a priority without one runs by."""
    with uow:
        rows = uow.session.scalars(select(SlaPolicy).order_by(SlaPolicy.priority, SlaPolicy.customer_level)).all()
        return {"items": [_policy_out.dump(r) for r in rows],
                "defaults": [_policy_out.dump({"id": None, **policy_to_dict(p)}) for p in DEFAULT_POLICIES]}


def set_sla_policy(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    """Create or replace the policy of a priority and customer level (admins)."""
    _admin(principal, "set_sla_policy")
    fields = load(_policy_in, data)
    with uow:
        session = uow.session
        level = fields["customer_level"]
        policy = session.scalars(select(SlaPolicy).where(
            SlaPolicy.priority == fields["priority"],
            SlaPolicy.customer_level.is_(None) if level is None else SlaPolicy.customer_level == level)).first()
        if policy is None:
            policy = SlaPolicy(id=new_id())
            session.add(policy)
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.updated_at = utcnow()
        uow.audit_action("set_policy")
        session.flush()
        return uow.commit(lambda: _policy_out.dump(policy))
