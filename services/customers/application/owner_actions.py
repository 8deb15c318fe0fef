"""What the holder of an owned customer does with it: lock and unlock it (a locked customer is never
recycled; the locked cap applies), transfer it to another user (optionally keeping the old owner as
a team member, for good or until a time), and read its owner history.

Who may do each and in which state: ``domain.permissions`` (the owner, a manager who may change it,
an admin; never a team member). A transfer goes through ``ownership.give`` (history,
``customer_owner_changed``, the new owner's holding cap) and keeps everything else.
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import NotFound, ValidationFailed
from crm_kit.records import teams
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scoped_select
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application import ownership, settings
from services.customers.application.access import can_write, customer_for_read, read_extra
from services.customers.application.pool_actions import reply
from services.customers.domain import permissions
from services.customers.models import Customer, customer_team
from services.customers.schemas.ownership import CustomerOwnerOut, TransferRequest

_transfer = TransferRequest()
_owner_out = CustomerOwnerOut()


def _held(uow: UnitOfWork, principal: Principal, customer_id: str, action: str):
    customer = customer_for_read(uow.session, principal, customer_id)
    permissions.ensure_may_hold_action(principal, customer, action,
                                       may_change=can_write(uow.session, principal, customer_id))
    permissions.ensure_owned(customer, action)
    return customer


def lock_customer(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """Lock an owned customer (never recycled), within its owner's locked cap; locking a locked
    customer changes nothing."""
    with uow:
        session = uow.session
        customer = _held(uow, principal, customer_id, "lock")
        if customer.locked:
            return reply(session, principal, customer)
        role = principal.role if principal.user_id == customer.owner_id else None
        settings.ensure_within_locked_cap(session, customer.owner_id, customer.department_id, role)
        uow.audit_action("lock")
        customer.locked, customer.locked_at, customer.locked_by = True, utcnow(), principal.user_id
        return uow.commit(lambda: reply(session, principal, customer))


def unlock_customer(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    with uow:
        session = uow.session
        customer = _held(uow, principal, customer_id, "unlock")
        if not customer.locked:
            return reply(session, principal, customer)
        uow.audit_action("unlock")
        customer.locked, customer.locked_at, customer.locked_by = False, None, None
        return uow.commit(lambda: reply(session, principal, customer))


def transfer_customer(uow: UnitOfWork, principal: Principal, customer_id: str, owner_id, keep_old_owner=None,
                      until=None, reason=None, owner_department_id: str | None = None) -> dict:
    """Give an owned customer to ``owner_id`` (within their holding cap; ``owner_department_id``
    from the gateway). ``keep_old_owner`` (``read`` / ``read_write``) keeps the old owner as a team
    member, for good or ``until`` a time (``crm_kit.records.teams.set_member(expires_at=)``).
    Contacts, follow-ups, team, history, opportunities stay as they are."""
    request = load(_transfer, {"owner_id": owner_id, "keep_old_owner": keep_old_owner, "until": until,
                               "reason": reason})
    now = utcnow()
    errors = permissions.transfer_errors(request["keep_old_owner"], request["until"], now)
    if errors:
        raise ValidationFailed.from_messages(errors)
    with uow:
        session = uow.session
        customer = _held(uow, principal, customer_id, "transfer")
        old = customer.owner_id
        if request["owner_id"] == old:
            return reply(session, principal, customer)
        uow.audit_action("transfer")
        ownership.give(uow, customer, request["owner_id"], owner_department_id, "transfer", principal.user_id, now,
                       request["reason"])
        if request["keep_old_owner"]:
            before, after = teams.set_member(session, customer_team, customer.id, old, request["keep_old_owner"],
                                             principal.user_id, expires_at=request["until"])
            uow.audit_record("customer", customer.id, {f"team.{old}": [before, after]}, "team_member_set")
        return uow.commit(lambda: reply(session, principal, customer))


def list_customer_owners(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """Who owned the customer, from when until when, how and why (oldest first), for whoever may see
    the customer (its data scope with the pools' way in: ``access.read_extra``; else ``NotFound``)."""
    with uow:
        session = uow.session
        visible = scoped_select(Customer, principal, read_extra(principal)).where(Customer.id == customer_id)
        if session.scalars(visible).first() is None:
            raise NotFound.of("customer", customer_id)
        rows = ownership.history(session, customer_id)
        return {"items": _owner_out.dump(rows, many=True), "next_cursor": None}
