"""The customer record: create (with its contacts, in one transaction), read, update, delete, and the
duplicate checks on the normalised name, on mobile / telephone and on contacts' phones."""

from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import or_, select

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records import teams
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_write
from crm_kit.records.text import normalize_name, normalize_phone
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.customers import domain
from services.customers.application import ownership
from services.customers.application.access import customer_for_read, customer_for_write, mask
from services.customers.application.merged import lookup
from services.customers.events import CONTACT_CREATED, CUSTOMER_CREATED, CUSTOMER_DELETED, CUSTOMER_UPDATED
from services.customers.models import Contact, Customer
from services.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate

_out = CustomerOut()
_create = CustomerCreate()
_update = CustomerUpdate()
PHONE_FIELDS = ("mobile", "telephone")


def get_customer(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """The customer with its contacts; a pool's hidden fields masked for its members; a merged id's
    404 names the survivor."""
    with uow:
        customer = lookup(customer_for_read, uow.session, principal, customer_id)
        return mask(uow.session, principal, customer, _out.dump(customer))


# -- duplicates ------------------------------------------------------------------------------------
def _duplicate(existing: str, field: str, what: str):
    return Duplicate(f"{what} already exists: {existing}.", {"existing_id": existing, "field": field})


def raise_if_duplicate_name(session, name_key: str, except_id: str | None = None) -> None:
    stmt = select(Customer.id).where(Customer.name_key == name_key)
    if except_id:
        stmt = stmt.where(Customer.id != except_id)
    existing = session.scalars(stmt.order_by(Customer.id).limit(1)).first()
    if existing:
        raise _duplicate(existing, "name", "A customer with this name")


def raise_if_duplicate_phone(session, field: str, key: str | None, except_id: str | None = None) -> None:
    """A customer's mobile or telephone (normalised) against every other customer's mobile and
    telephone: the same number under the other heading is the same customer."""
    if not key:
        return
    stmt = select(Customer.id).where(or_(Customer.mobile_key == key, Customer.telephone_key == key))
    if except_id:
        stmt = stmt.where(Customer.id != except_id)
    existing = session.scalars(stmt.order_by(Customer.id).limit(1)).first()
    if existing:
        raise _duplicate(existing, field, f"A customer with this {field}")


def raise_if_duplicate_contact_phone(session, field: str, key: str | None, except_id: str | None = None) -> None:
    """A contact's phone (normalised) against every other contact's (seed 004: 联系人查重, 手机号码)."""
    if not key:
        return
    stmt = select(Contact.id).where(Contact.phone_key == key)
    if except_id:
        stmt = stmt.where(Contact.id != except_id)
    existing = session.scalars(stmt.order_by(Contact.id).limit(1)).first()
    if existing:
        raise _duplicate(existing, field, "A contact with this phone")


# -- create ----------------------------------------------------------------------------------------
def create_customer(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    """A customer entered by hand, owned by the caller, with the contacts given (the first marked
    primary, or the first, is primary), all in one transaction. Refused (``Duplicate``, nothing
    created) when the normalised name, the mobile or telephone, or a contact's phone is taken."""
    fields = load(_create, data)
    contacts_in = fields.pop("contacts")
    name_key = normalize_name(fields["name"])
    keys = {f"{name}_key": normalize_phone(fields[name]) for name in PHONE_FIELDS}
    with uow:
        session = uow.session
        raise_if_duplicate_name(session, name_key)
        for name in PHONE_FIELDS:
            raise_if_duplicate_phone(session, name, keys[f"{name}_key"])
        contact_keys = [normalize_phone(c["phone"]) for c in contacts_in]
        for i, key in enumerate(contact_keys):
            raise_if_duplicate_contact_phone(session, f"contacts[{i}].phone", key)
        owner_id = principal.user_id if not principal.is_system else None
        now = utcnow()
        customer = Customer(id=new_id(), name_key=name_key, owner_id=owner_id,
                            department_id=principal.department_id if owner_id else None,
                            created_by=principal.user_id, created_at=now, updated_at=now, **keys, **fields)
        customer.profile_completeness = domain.profile_completeness(customer)
        customer.owner_since = now if owner_id else None      # (as ownership.start sets it: one audit entry)
        session.add(customer)
        session.flush()
        ownership.start(session, customer, "created", principal.user_id, now)
        primary = next((i for i, c in enumerate(contacts_in) if c["is_primary"]), 0 if contacts_in else None)
        contacts = [Contact(id=new_id(), customer_id=customer.id, phone_key=key, owner_id=customer.owner_id,
                            department_id=customer.department_id, created_at=now, updated_at=now,
                            **{**c, "is_primary": i == primary})
                    for i, (c, key) in enumerate(zip(contacts_in, contact_keys))]
        session.add_all(contacts)
        session.flush()
        uow.emit(CUSTOMER_CREATED, customer, primary_contact_id=contacts[primary].id if contacts else None)
        for contact in contacts:
            uow.emit(CONTACT_CREATED, contact)
        session.refresh(customer, ["contacts", "tag_rows"])     # as a read gives them back
        return uow.commit(lambda: _out.dump(customer))


# -- update ----------------------------------------------------------------------------------------
def _check_whole(customer: Customer, fields: dict) -> None:
    """The record as the edit leaves it: an individual's fields only on an individual, a location
    with both coordinates (422 otherwise)."""
    after = {name: fields.get(name, getattr(customer, name)) for name in
             ("kind", "gender", "birthday", "latitude", "longitude")}
    errors = {name: messages for name, messages in domain.individual_fields_refused(after["kind"], after).items()
              if name in fields or "kind" in fields}
    if errors and "kind" in fields and not set(errors) & set(fields):
        errors = {"kind": [f"A company has no {' or '.join(sorted(errors))}: clear it in the same edit."]}
    if (after["latitude"] is None) != (after["longitude"] is None):
        missing = "latitude" if after["latitude"] is None else "longitude"
        errors[missing] = ["A location needs both latitude and longitude."]
    if errors:
        raise ValidationFailed.from_messages(ValidationError(errors).messages)


def update_customer(uow: UnitOfWork, principal: Principal, customer_id: str, data: dict,
                    expected_version=None) -> dict:
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        customer = lookup(customer_for_write, session, principal, customer_id)
        check_version(customer, expected_version, "customer")
        _check_whole(customer, fields)
        if "name" in fields:
            name_key = normalize_name(fields["name"])
            if name_key != customer.name_key:
                raise_if_duplicate_name(session, name_key, except_id=customer.id)
            customer.name_key = name_key
        for name in PHONE_FIELDS:
            if name in fields:
                key = normalize_phone(fields[name])
                if key != getattr(customer, f"{name}_key"):
                    raise_if_duplicate_phone(session, name, key, except_id=customer.id)
                setattr(customer, f"{name}_key", key)
        changed = sorted(name for name, value in fields.items() if getattr(customer, name) != value)
        for name, value in fields.items():
            setattr(customer, name, value)
        if not changed:
            return mask(session, principal, customer, _out.dump(customer))
        customer.profile_completeness = domain.profile_completeness(customer)
        customer.updated_at = utcnow()      # the row itself changes (a new version) when only its tags do
        session.flush()
        uow.emit(CUSTOMER_UPDATED, customer, changed=changed)
        return uow.commit(lambda: mask(session, principal, customer, _out.dump(customer)))


def delete_customer(uow: UnitOfWork, principal: Principal, customer_id: str, expected_version=None) -> None:
    """Hard delete, with its contacts and team; refused once it has business (``domain``)."""
    with uow:
        # the data scope only (a pool's admins manage its customers but do not delete them)
        customer = lookup(lambda s, p, i: get_for_write(s, Customer, i, p, "customer"), uow.session, principal,
                          customer_id)
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
