"""Who may do what to a customer of a pool or an owned one (``services.customers.domain.permissions``),
table-driven: the states, each action's who, and what a transfer's ``until`` needs."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState
from services.customers.domain import permissions as perm

ADMIN = Principal("a", "admin", "d0", ("d0",))
MANAGER = Principal("m", "manager", "d1", ("d1",))
OWNER = Principal("o", "member", "d1", ("d1",))
MEMBER = Principal("x", "member", "d1", ("d1",))
NOW = dt.datetime(2024, 12, 2, tzinfo=dt.timezone.utc)


def customer(owner_id="o", pool_id=None, locked=False):
    return SimpleNamespace(id="c1", owner_id=owner_id, pool_id=pool_id, locked=locked)


@pytest.mark.parametrize("c, state", [
    (customer(pool_id="p", owner_id=None), "in_pool"),
    (customer(), "owned"),
    (customer(locked=True), "locked"),
    (customer(owner_id=None), "unowned"),
])
def test_state_of(c, state):
    assert perm.state_of(c) == state


# check -> customer -> refused with current_state, or None
STATES = {
    "claim a pool customer": (lambda c: perm.ensure_in_pool(c, "claim"), customer(pool_id="p", owner_id=None), None),
    "claim an owned one": (lambda c: perm.ensure_in_pool(c, "claim"), customer(), "owned"),
    "lock an owned one": (lambda c: perm.ensure_owned(c, "lock"), customer(), None),
    "lock one in a pool": (lambda c: perm.ensure_owned(c, "lock"), customer(pool_id="p", owner_id=None), "in_pool"),
    "return an owned one": (perm.ensure_returnable, customer(), None),
    "return a locked one": (perm.ensure_returnable, customer(locked=True), "locked"),
    "return one in a pool": (perm.ensure_returnable, customer(pool_id="p", owner_id=None), "in_pool"),
    "return an unowned one": (perm.ensure_returnable, customer(owner_id=None), "unowned"),
}


@pytest.mark.parametrize("name", STATES)
def test_states(name):
    check, c, refused = STATES[name]
    if refused is None:
        check(c)
        return
    with pytest.raises(InvalidState) as exc:
        check(c)
    assert exc.value.extra["current_state"] == refused and refused in exc.value.detail


# (principal, pool_admin, may_change) -> may assign
ASSIGN = [
    (ADMIN, False, False, True),
    (MEMBER, True, False, True),          # a pool admin
    (MANAGER, False, True, True),         # a manager within their write scope
    (MANAGER, False, False, False),
    (OWNER, False, True, False),          # the owner (a member) may not assign: they transfer
]


@pytest.mark.parametrize("principal, pool_admin, may_change, allowed", ASSIGN)
def test_who_may_assign(principal, pool_admin, may_change, allowed):
    assert perm.may_assign(principal, pool_admin=pool_admin, may_change=may_change) is allowed
    if not allowed:
        with pytest.raises(Forbidden) as exc:
            perm.ensure_may_assign(principal, "c1", pool_admin=pool_admin, may_change=may_change)
        assert exc.value.extra["action"] == "assign"


# (principal, may_change) -> may return / lock / unlock / transfer the owner's customer
HOLD = [
    (ADMIN, False, True),
    (OWNER, True, True),
    (MANAGER, True, True),
    (MANAGER, False, False),
    (MEMBER, True, False),                # a read_write team member may change it, but not do these
]


@pytest.mark.parametrize("principal, may_change, allowed", HOLD)
@pytest.mark.parametrize("action", ["return", "lock", "unlock", "transfer"])
def test_who_may_return_lock_and_transfer(principal, may_change, allowed, action):
    assert perm.may_hold_action(principal, customer(), may_change=may_change) is allowed
    if not allowed:
        with pytest.raises(Forbidden) as exc:
            perm.ensure_may_hold_action(principal, customer(), action, may_change=may_change)
        assert exc.value.extra["action"] == action and action in exc.value.detail


@pytest.mark.parametrize("member, enabled, refused", [(True, True, None), (False, True, "members"),
                                                      (True, False, "does not allow claiming")])
def test_who_may_claim(member, enabled, refused):
    if refused is None:
        perm.ensure_may_claim("c1", "P", member=member, claiming_enabled=enabled)
        return
    with pytest.raises(Forbidden) as exc:
        perm.ensure_may_claim("c1", "P", member=member, claiming_enabled=enabled)
    assert refused in exc.value.detail


@pytest.mark.parametrize("principal, pool_admin, allowed", [(ADMIN, False, True), (MEMBER, True, True),
                                                            (MANAGER, False, False)])
def test_who_may_move_and_manage_a_pool(principal, pool_admin, allowed):
    assert perm.may_manage_pool(principal, pool_admin=pool_admin) is allowed
    for check in (lambda: perm.ensure_may_move(principal, "c1", pool_admin=pool_admin),
                  lambda: perm.ensure_may_manage_pool(principal, "p1", pool_admin=pool_admin)):
        if allowed:
            check()
        else:
            with pytest.raises(Forbidden):
                check()


@pytest.mark.parametrize("principal, allowed", [(ADMIN, True), (MANAGER, False), (MEMBER, False)])
def test_admins_create_pools_and_change_settings(principal, allowed):
    for check in (perm.ensure_may_create_pool, perm.ensure_may_manage_settings):
        if allowed:
            check(principal)
        else:
            with pytest.raises(Forbidden):
                check(principal)


@pytest.mark.parametrize("keep, until, errors", [
    (None, None, set()),
    ("read", None, set()),
    ("read_write", NOW + dt.timedelta(days=30), set()),
    (None, NOW + dt.timedelta(days=30), {"until"}),       # needs keep_old_owner
    ("read", NOW, {"until"}),                             # in the future
    ("read", NOW - dt.timedelta(days=1), {"until"}),
])
def test_transfer_until(keep, until, errors):
    assert set(perm.transfer_errors(keep, until, NOW)) == errors
