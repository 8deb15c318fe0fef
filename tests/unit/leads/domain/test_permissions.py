"""Who may assign, claim, return, restore a lead, add leads to a pool, create and manage a pool
(``services.leads.domain.permissions``), table-driven over the roles and the facts."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Forbidden
from services.leads import domain

ADMIN = Principal("a", "admin")
SYSTEM = Principal.system("leads")
MANAGER = Principal("mgr", "manager", "d1", ("d1",))
MEMBER = Principal("m", "member", "d1", ("d1",))
PRINCIPALS = {"admin": ADMIN, "system": SYSTEM, "manager": MANAGER, "member": MEMBER}

# assign: (who, administers the lead's pool, may change the lead) -> allowed
ASSIGN = {
    ("admin", False, False): True, ("system", False, False): True,
    ("manager", False, True): True, ("manager", False, False): False, ("manager", True, False): True,
    ("member", False, True): False,          # an owner does not hand their leads around
    ("member", True, False): True,           # a pool admin may
    ("member", False, False): False,
}


@pytest.mark.parametrize("who, pool_admin, may_change", ASSIGN)
def test_who_may_assign(who, pool_admin, may_change):
    allowed = ASSIGN[(who, pool_admin, may_change)]
    principal = PRINCIPALS[who]
    assert domain.may_assign(principal, pool_admin=pool_admin, may_change=may_change) is allowed
    if allowed:
        domain.ensure_may_assign(principal, "l1", pool_admin=pool_admin, may_change=may_change)
    else:
        with pytest.raises(Forbidden) as info:
            domain.ensure_may_assign(principal, "l1", pool_admin=pool_admin, may_change=may_change)
        assert info.value.extra["action"] == "assign"


# claim: (a member of the pool, the pool allows claiming) -> refused with (None: allowed)
CLAIM = {
    (True, True): None,
    (True, False): "does not allow claiming",
    (False, True): "Only the pool's members",
    (False, False): "Only the pool's members",      # membership is checked first
}


@pytest.mark.parametrize("member, claiming_enabled", CLAIM)
def test_who_may_claim(member, claiming_enabled):
    refused = CLAIM[(member, claiming_enabled)]
    if refused is None:
        domain.ensure_may_claim("l1", "Pool", member=member, claiming_enabled=claiming_enabled)
        return
    with pytest.raises(Forbidden) as info:
        domain.ensure_may_claim("l1", "Pool", member=member, claiming_enabled=claiming_enabled)
    assert refused in info.value.detail and info.value.extra["action"] == "claim"


@pytest.mark.parametrize("action, pool_id, refused", [
    ("claim", "p1", None), ("claim", None, "it cannot be claimed"),
    ("return", "p1", None), ("return", None, "there is nowhere to return it"),
])
def test_claiming_and_returning_need_a_pool(action, pool_id, refused):
    lead = SimpleNamespace(id="l1", pool_id=pool_id, status="pending")
    if refused is None:
        domain.ensure_in_pool(lead, action)
        return
    with pytest.raises(Conflict) as info:
        domain.ensure_in_pool(lead, action)
    assert refused in info.value.detail
    assert info.value.extra == {"action": action, "current_state": "pending"}


@pytest.mark.parametrize("who, allowed", [("admin", True), ("system", False), ("manager", False), ("member", False)])
def test_only_a_person_who_is_an_admin_restores(who, allowed):
    assert domain.may_restore(PRINCIPALS[who]) is allowed
    if not allowed:
        with pytest.raises(Forbidden) as info:
            domain.ensure_may_restore(PRINCIPALS[who], "l1")
        assert info.value.extra["action"] == "restore"


@pytest.mark.parametrize("who, roles, allowed", [
    ("admin", set(), True), ("system", set(), True), ("manager", set(), False), ("member", set(), False),
    ("member", {"member"}, True), ("member", {"admin"}, True), ("manager", {"admin", "member"}, True),
])
def test_who_may_add_leads_to_a_pool(who, roles, allowed):
    assert domain.may_add_to_pool(PRINCIPALS[who], roles) is allowed


@pytest.mark.parametrize("who, pool_admin, manage, create", [
    ("admin", False, True, True), ("system", False, True, True), ("manager", False, False, False),
    ("manager", True, True, False), ("member", True, True, False), ("member", False, False, False),
])
def test_who_may_create_and_manage_pools(who, pool_admin, manage, create):
    principal = PRINCIPALS[who]
    assert domain.may_manage_pool(principal, pool_admin=pool_admin) is manage
    for allowed, check in ((manage, lambda: domain.ensure_may_manage_pool(principal, "p1", pool_admin=pool_admin)),
                           (create, lambda: domain.ensure_may_create_pool(principal))):
        if allowed:
            check()
        else:
            with pytest.raises(Forbidden):
                check()
