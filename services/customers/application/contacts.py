"""Contacts: visible and writable exactly when their customer is; a contact's phone (normalised) is
its duplicate key (seed 004: 联系人查重, 手机号码)."""

from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read, get_for_write
from crm_kit.records.text import normalize_phone
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import mask_contacts, read_extra
from services.customers.application.customer_record import raise_if_duplicate_contact_phone
from services.customers.events import CONTACT_CREATED, CONTACT_DELETED, CONTACT_UPDATED
from services.customers.models import Contact, Customer
from services.customers.schemas import ContactCreate, ContactOut, ContactUpdate

_contact_out = ContactOut()
_contact_create = ContactCreate()
_contact_update = ContactUpdate()


def list_contacts_of(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """A customer's contacts, to whoever sees the customer (a pool's members too, its hidden fields
    masked)."""
    with uow:
        customer = get_for_read(uow.session, Customer, customer_id, principal, "customer", read_extra(principal))
        items = mask_contacts(uow.session, principal, customer, _contact_out.dump(customer.contacts, many=True))
        return {"items": items, "next_cursor": None}


def create_contact(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_contact_create, data)
    phone_key = normalize_phone(fields["phone"])
    with uow:
        customer = get_for_write(uow.session, Customer, fields["customer_id"], principal, "customer")
        raise_if_duplicate_contact_phone(uow.session, "phone", phone_key)
        if fields["is_primary"]:
            _clear_primary(uow.session, customer.id)
        now = utcnow()
        contact = Contact(id=new_id(), phone_key=phone_key, owner_id=customer.owner_id,
                          department_id=customer.department_id, created_at=now, updated_at=now, **fields)
        uow.session.add(contact)
        uow.session.flush()
        uow.emit(CONTACT_CREATED, contact)
        return uow.commit(lambda: _contact_out.dump(contact))


def _clear_primary(session, customer_id: str, except_id: str | None = None) -> None:
    """One primary contact per customer: the new primary takes the flag from the others."""
    stmt = select(Contact).where(Contact.customer_id == customer_id, Contact.is_primary.is_(True))
    for other in session.scalars(stmt):
        if other.id != except_id:
            other.is_primary = False


def get_contact(uow: UnitOfWork, principal: Principal, contact_id: str) -> dict:
    with uow:
        return _contact_out.dump(get_for_read(uow.session, Contact, contact_id, principal, "contact"))


def update_contact(uow: UnitOfWork, principal: Principal, contact_id: str, data: dict,
                   expected_version=None) -> dict:
    fields = load(_contact_update, data, partial=True)
    with uow:
        contact = get_for_write(uow.session, Contact, contact_id, principal, "contact")
        check_version(contact, expected_version, "contact")
        if "phone" in fields:
            key = normalize_phone(fields["phone"])
            if key != contact.phone_key:
                raise_if_duplicate_contact_phone(uow.session, "phone", key, except_id=contact.id)
            contact.phone_key = key
        if fields.get("is_primary"):
            _clear_primary(uow.session, contact.customer_id, except_id=contact.id)
        changed = sorted(name for name, value in fields.items() if getattr(contact, name) != value)
        for name, value in fields.items():
            setattr(contact, name, value)
        if not changed:
            return _contact_out.dump(contact)
        uow.session.flush()
        uow.emit(CONTACT_UPDATED, contact, changed=changed)
        return uow.commit(lambda: _contact_out.dump(contact))


def delete_contact(uow: UnitOfWork, principal: Principal, contact_id: str, expected_version=None) -> None:
    with uow:
        contact = get_for_write(uow.session, Contact, contact_id, principal, "contact")
        check_version(contact, expected_version, "contact")
        uow.session.delete(contact)
        uow.session.flush()
        uow.emit(CONTACT_DELETED, contact, deleted_at=utcnow())
        uow.commit(None)
