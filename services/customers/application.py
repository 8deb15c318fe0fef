"""Customers use cases (plain Python over a unit of work)."""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import Duplicate
from crm_kit.ids import new_id
from crm_kit.records import audit, team_members, teams
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read, get_for_write, scoped_select
from crm_kit.records.text import normalize_name, normalize_phone
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.customers import domain
from services.customers.events import (
    CONTACT_DELETED,
    CUSTOMER_CONVERTED_FROM_LEAD,
    CUSTOMER_CREATED,
    CUSTOMER_DELETED,
    CUSTOMER_UPDATED,
)
from services.customers.models import Contact, Customer
from services.customers.schemas import (
    ContactCreate,
    ContactListQuery,
    ContactOut,
    ContactUpdate,
    CustomerCreate,
    CustomerListQuery,
    CustomerOut,
    CustomerUpdate,
)

_out = CustomerOut()
_contact_out = ContactOut()
_list_query = CustomerListQuery()
_contact_list_query = ContactListQuery()
_create = CustomerCreate()
_update = CustomerUpdate()
_contact_create = ContactCreate()
_contact_update = ContactUpdate()



def get_customer(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    with uow:
        return _out.dump(get_for_read(uow.session, Customer, customer_id, principal, "customer"))


def list_customers(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    params = load(_list_query, query or {})
    stmt = scoped_select(Customer, principal)
    for name in ("owner_id", "deal_status", "level", "kind"):
        if params.get(name):
            stmt = stmt.where(getattr(Customer, name) == params[name])
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Customer.id, params["limit"], params["cursor"])
        return {"items": _out.dump(rows, many=True), "next_cursor": next_cursor}


def list_contacts_of(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    with uow:
        customer = get_for_read(uow.session, Customer, customer_id, principal, "customer")
        return {"items": _contact_out.dump(customer.contacts, many=True), "next_cursor": None}


def _raise_if_duplicate_name(session, name_key: str, except_id: str | None = None) -> None:
    stmt = select(Customer.id).where(Customer.name_key == name_key)
    if except_id:
        stmt = stmt.where(Customer.id != except_id)
    existing = session.scalars(stmt.order_by(Customer.id)).first()
    if existing:
        raise Duplicate(f"A customer with this name already exists: {existing}.",
                        {"existing_id": existing, "field": "name"})


def create_customer(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    """A customer entered by hand, owned by the caller; refused if the normalised name exists."""
    fields = load(_create, data)
    name_key = normalize_name(fields["name"])
    with uow:
        _raise_if_duplicate_name(uow.session, name_key)
        owner_id = principal.user_id if not principal.is_system else None
        now = utcnow()
        customer = Customer(id=new_id(), name_key=name_key, owner_id=owner_id,
                            department_id=principal.department_id if owner_id else None,
                            created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        uow.session.add(customer)
        uow.session.flush()
        uow.emit(CUSTOMER_CREATED, customer, primary_contact_id=None)
        return uow.commit(lambda: _out.dump(customer))


def update_customer(uow: UnitOfWork, principal: Principal, customer_id: str, data: dict,
                    expected_version=None) -> dict:
    fields = load(_update, data, partial=True)
    with uow:
        customer = get_for_write(uow.session, Customer, customer_id, principal, "customer")
        check_version(customer, expected_version, "customer")
        if "name" in fields:
            name_key = normalize_name(fields["name"])
            if name_key != customer.name_key:
                _raise_if_duplicate_name(uow.session, name_key, except_id=customer.id)
            customer.name_key = name_key
        changed = sorted(name for name, value in fields.items() if getattr(customer, name) != value)
        for name, value in fields.items():
            setattr(customer, name, value)
        if not changed:
            return _out.dump(customer)
        uow.session.flush()
        uow.emit(CUSTOMER_UPDATED, customer, changed=changed)
        return uow.commit(lambda: _out.dump(customer))


def delete_customer(uow: UnitOfWork, principal: Principal, customer_id: str, expected_version=None) -> None:
    """Hard delete, with its contacts and team; refused once it has business (``domain``)."""
    with uow:
        customer = get_for_write(uow.session, Customer, customer_id, principal, "customer")
        check_version(customer, expected_version, "customer")
        domain.ensure_deletable(customer)
        contact_ids = [c.id for c in customer.contacts]
        for contact in list(customer.contacts):
            uow.session.delete(contact)
        uow.session.flush()
        teams.clear(uow.session, teams.team_of(Customer), customer.id)
        uow.session.delete(customer)
        uow.session.flush()
        uow.emit(CUSTOMER_DELETED, customer, contact_ids=contact_ids, deleted_at=utcnow())
        uow.commit(None)


# -- contacts: visible and writable exactly when their customer is --------------
def create_contact(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_contact_create, data)
    with uow:
        customer = get_for_write(uow.session, Customer, fields["customer_id"], principal, "customer")
        if fields["is_primary"]:
            _clear_primary(uow.session, customer.id)
        now = utcnow()
        contact = Contact(id=new_id(), phone_key=normalize_phone(fields["phone"]), owner_id=customer.owner_id,
                          department_id=customer.department_id, created_at=now, updated_at=now, **fields)
        uow.session.add(contact)
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


def list_contacts(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    params = load(_contact_list_query, query or {})
    stmt = scoped_select(Contact, principal)
    if params.get("customer_id"):
        stmt = stmt.where(Contact.customer_id == params["customer_id"])
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Contact.id, params["limit"], params["cursor"])
        return {"items": _contact_out.dump(rows, many=True), "next_cursor": next_cursor}


def update_contact(uow: UnitOfWork, principal: Principal, contact_id: str, data: dict,
                   expected_version=None) -> dict:
    fields = load(_contact_update, data, partial=True)
    with uow:
        contact = get_for_write(uow.session, Contact, contact_id, principal, "contact")
        check_version(contact, expected_version, "contact")
        if "phone" in fields:
            contact.phone_key = normalize_phone(fields["phone"])
        if fields.get("is_primary"):
            _clear_primary(uow.session, contact.customer_id, except_id=contact.id)
        for name, value in fields.items():
            setattr(contact, name, value)
        return uow.commit(lambda: _contact_out.dump(contact))


def delete_contact(uow: UnitOfWork, principal: Principal, contact_id: str, expected_version=None) -> None:
    with uow:
        contact = get_for_write(uow.session, Contact, contact_id, principal, "contact")
        check_version(contact, expected_version, "contact")
        uow.session.delete(contact)
        uow.session.flush()
        uow.emit(CONTACT_DELETED, contact, deleted_at=utcnow())
        uow.commit(None)


# -- team and history: the kit's use cases on these resources ------------------
def list_customer_team(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    return team_members.list_team(uow, principal, Customer, customer_id, "customer")


def set_customer_team_member(uow: UnitOfWork, principal: Principal, customer_id: str, user_id,
                             access) -> dict:
    return team_members.set_team_member(uow, principal, Customer, customer_id, user_id, access, "customer")


def remove_customer_team_member(uow: UnitOfWork, principal: Principal, customer_id: str, user_id) -> None:
    team_members.remove_team_member(uow, principal, Customer, customer_id, user_id, "customer")


def customer_history(uow: UnitOfWork, principal: Principal, customer_id: str,
                     query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Customer, customer_id, "customer", query)


def contact_history(uow: UnitOfWork, principal: Principal, contact_id: str,
                    query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Contact, contact_id, "contact", query)


def on_lead_converted(uow: UnitOfWork, lead: dict) -> None:
    """Create the customer and its primary contact, or link to the customer with the
    same normalised name (``lead``: the ``lead_converted`` payload, loaded by the kit; the
    audit's actor is the user who converted the lead). Idempotent: the kit records the event id
    in this same transaction, and ``source_lead_id`` is unique besides."""
    fields = domain.customer_from_lead(lead)
    with uow:
        session = uow.session
        customer = session.scalars(select(Customer).where(Customer.source_lead_id == lead["lead_id"])).first()
        created = False
        if customer is None:
            customer = session.scalars(
                select(Customer).where(Customer.name_key == normalize_name(fields["name"]))
                .order_by(Customer.id)).first()
        if customer is None:
            customer = Customer(id=new_id(), name_key=normalize_name(fields["name"]), tags=[],
                                created_by=uow.audit_actor, **fields)
            session.add(customer)
            created = True
        phone_key = normalize_phone(lead.get("phone"))
        contact = None
        if phone_key:
            contact = session.scalars(select(Contact).where(
                Contact.customer_id == customer.id, Contact.phone_key == phone_key)).first()
        if contact is None:
            contact = Contact(id=new_id(), customer_id=customer.id, name=lead["name"], phone=lead.get("phone"),
                              phone_key=phone_key, email=lead.get("email"), is_primary=created,
                              owner_id=customer.owner_id, department_id=customer.department_id)
            session.add(contact)
        session.flush()
        if created:
            uow.emit(CUSTOMER_CREATED, customer, primary_contact_id=contact.id)
        uow.emit(CUSTOMER_CONVERTED_FROM_LEAD, customer, source_lead_id=lead["lead_id"], contact_id=contact.id,
                 customer_created=created)
        uow.commit()
