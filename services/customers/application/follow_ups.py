"""A customer's follow-ups (跟进记录): record one, list them, read one.

Visible and writable exactly when the customer is (``access.customer_for_read`` /
``customer_for_write``). Recording one makes it the customer's last follow-up (the recycle rules'
no-follow-up clock restarts) and its next contact time the customer's (a reminder for the owner:
``reminders``), and raises ``follow_up_recorded``.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import customer_for_read, customer_for_write, read_extra
from services.customers.domain.follow_ups import followed_up
from services.customers.events import FOLLOW_UP_RECORDED
from services.customers.models import Contact, Customer, CustomerFollowUp
from services.customers.schemas.follow_ups import FollowUpCreate, FollowUpListQuery, FollowUpOut

_create = FollowUpCreate()
_out = FollowUpOut()
_query = FollowUpListQuery()


def add_customer_follow_up(uow: UnitOfWork, principal: Principal, customer_id: str, data: dict) -> dict:
    """Record a follow-up by the caller (who must be able to change the customer)."""
    fields = load(_create, data)
    with uow:
        customer = customer_for_write(uow.session, principal, customer_id)
        contact_id = fields["contact_id"]
        if contact_id is not None and uow.session.scalar(select(Contact.id).where(
                Contact.id == contact_id, Contact.customer_id == customer.id)) is None:
            raise ValidationFailed.from_messages({"contact_id": ["Not a contact of this customer."]})
        uow.audit_action("follow_up")
        now = utcnow()
        record = CustomerFollowUp(id=new_id(), customer_id=customer.id, author_id=principal.user_id,
                                  created_at=now, **fields)
        uow.session.add(record)
        followed_up(customer, now, fields["next_contact_at"])
        uow.session.flush()
        uow.emit(FOLLOW_UP_RECORDED, record)
        return uow.commit(lambda: _out.dump(record))


def list_customer_follow_ups(uow: UnitOfWork, principal: Principal, customer_id: str,
                             query: dict | None = None) -> dict:
    """A customer's follow-ups, newest first (whoever may read the customer)."""
    params = load(_query, query or {})
    with uow:
        get_for_read(uow.session, Customer, customer_id, principal, "customer", read_extra(principal))
        stmt = select(CustomerFollowUp).where(CustomerFollowUp.customer_id == customer_id)
        rows, next_cursor = paginate(uow.session, stmt, CustomerFollowUp.id, params["limit"], params["cursor"])
        return {"items": _out.dump(rows, many=True), "next_cursor": next_cursor}


def get_customer_follow_up(uow: UnitOfWork, principal: Principal, customer_id: str, follow_up_id: str) -> dict:
    """One follow-up of a customer; ``NotFound`` alike when the customer is out of scope or missing
    and when the follow-up is missing or another customer's."""
    with uow:
        customer_for_read(uow.session, principal, customer_id)
        record = uow.session.scalar(select(CustomerFollowUp).where(
            CustomerFollowUp.id == follow_up_id, CustomerFollowUp.customer_id == customer_id))
        if record is None:
            raise NotFound.of("customer follow-up", follow_up_id)
        return _out.dump(record)
