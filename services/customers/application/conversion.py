"""A converted lead becomes a customer and its primary contact (``lead_converted``), within its
owner's holding cap.

- **New customer** (no customer has the normalised name): owned by the lead's owner (department
  copied), its owner history started (``convert``) -- unless that would take the owner over their
  holding cap (their department's cap or the default: the event does not carry their role). Then
  it goes into the pool that takes the department's customers (``recycle_department_ids`` naming
  it, or empty; highest ``priority`` first), where anyone of the pool may claim it, and the audit
  says why (``holding_cap_exceeded``). With no such pool it stays with the owner (a customer is
  never lost to a cap), and the audit says so.
- **Existing customer** (same normalised name): the lead is linked to it and its contact added.
  If it sits in a pool, the lead's owner receives it (``customer_owner_changed`` kind ``convert``;
  the pool's claim limits do not apply, the holding cap does: over it, the customer stays in its
  pool). An owned customer keeps its owner.

Idempotent: the kit records the event id in this same transaction, and ``source_lead_id`` is unique
besides. The audit's actor is the user who converted the lead.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.errors import LimitExceeded
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.text import normalize_name, normalize_phone
from crm_kit.runtime.uow import UnitOfWork
from services.customers import domain
from services.customers.application import ownership, settings
from services.customers.domain import pools as pool_rules
from services.customers.events import CUSTOMER_CONVERTED_FROM_LEAD, CUSTOMER_CREATED
from services.customers.models import Contact, Customer, CustomerPool

CAP_EXCEEDED = "holding_cap_exceeded"


def on_lead_converted(uow: UnitOfWork, lead: dict) -> None:
    """Create the customer and its primary contact, or link to the customer with the same
    normalised name (``lead``: the ``lead_converted`` payload, loaded by the kit)."""
    fields = domain.customer_from_lead(lead)
    with uow:
        session = uow.session
        now = utcnow()
        customer = session.scalars(select(Customer).where(Customer.source_lead_id == lead["lead_id"])).first()
        created = False
        if customer is None:
            customer = session.scalars(
                select(Customer).where(Customer.name_key == normalize_name(fields["name"]))
                .order_by(Customer.id)).first()
            if customer is None:
                customer = _create(uow, fields, now)
                created = True
            elif customer.pool_id and fields.get("owner_id"):
                _give_from_pool(uow, customer, fields, lead["lead_id"], now)
        contact = _contact(session, customer, lead, created)
        session.flush()
        if created:
            uow.emit(CUSTOMER_CREATED, customer, primary_contact_id=contact.id)
        uow.emit(CUSTOMER_CONVERTED_FROM_LEAD, customer, source_lead_id=lead["lead_id"], contact_id=contact.id,
                 customer_created=created)
        uow.commit()


def _create(uow: UnitOfWork, fields: dict, now) -> Customer:
    session = uow.session
    over = _over_cap(session, fields.get("owner_id"), fields.get("department_id"))
    pool = _pool_taking(session, fields.get("department_id")) if over else None
    customer = Customer(id=new_id(), name_key=normalize_name(fields["name"]), tags=[], created_by=uow.audit_actor,
                        created_at=now, updated_at=now, **fields)
    if pool is not None:
        customer.owner_id = customer.department_id = None
        customer.pool_id, customer.pool_since = pool.id, now
    customer.owner_since = now if customer.owner_id else None    # (as ownership.start sets it: one audit entry)
    session.add(customer)
    session.flush()
    ownership.start(session, customer, "convert", uow.audit_actor, now)
    if over is not None:
        where = {"pool_id": pool.id} if pool is not None else {"kept": "no pool takes the department's customers"}
        uow.audit_record("customer", customer.id, {CAP_EXCEEDED: [None, {
            "owner_id": fields["owner_id"], "max": over.extra.get("max"), "current": over.extra.get("current"),
            **where}]}, CAP_EXCEEDED)
    return customer


def _give_from_pool(uow: UnitOfWork, customer: Customer, fields: dict, lead_id: str, now) -> None:
    try:
        ownership.give(uow, customer, fields["owner_id"], fields.get("department_id"), "convert", uow.audit_actor,
                       now, f"lead {lead_id} converted")
    except LimitExceeded as exc:         # nothing changed: it stays in its pool
        uow.audit_record("customer", customer.id, {CAP_EXCEEDED: [None, {
            "owner_id": fields["owner_id"], "max": exc.extra.get("max"), "current": exc.extra.get("current"),
            "pool_id": customer.pool_id}]}, CAP_EXCEEDED)


def _over_cap(session, owner_id: str | None, department_id: str | None) -> LimitExceeded | None:
    """The refusal a new customer for ``owner_id`` would meet (None: within their cap)."""
    if not owner_id:
        return None
    try:
        settings.ensure_within_holding_cap(session, owner_id, department_id)
    except LimitExceeded as exc:
        return exc
    return None


def _pool_taking(session, department_id: str | None) -> CustomerPool | None:
    """The pool that takes the department's customers: highest priority first, then by name."""
    pools = session.scalars(select(CustomerPool).order_by(CustomerPool.priority.desc(), CustomerPool.name))
    return next((p for p in pools if pool_rules.takes_department(p.recycle_department_ids, department_id)), None)


def _contact(session, customer: Customer, lead: dict, created: bool) -> Contact:
    """The lead's person as a contact of the customer (the one with the same phone, if there is one)."""
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
    return contact
