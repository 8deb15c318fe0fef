"""Converting a lead, and what customers tells leads back about the customer it became.

``convert_lead`` makes the lead ``converted`` and raises ``lead_converted``; customers creates or
links the customer and contact and answers ``customer_converted_from_lead`` (``record_conversion``
stores their ids on the lead). ``customer_deleted`` / ``contact_deleted`` clear the ids of what
customers deleted; ``customers_merged`` (``customers_merged.py``) moves them to the survivor. The
handlers are called by the kit with the payload loaded with the schema the service's handler
declares (``services.leads.events``), on whose behalf the audit says (the envelope's actor,
``uow.default_actor``).

**No lead points at a deleted customer, whatever the order**: leads keeps a row per customer and
contact id it recorded or heard was deleted (``CustomerReference``); each handler reads the rows of
its ids first and writes them with its change, so a late answer finds the deletion, and two handlers
running at once meet at the row (its primary key or version): the later one fails and is retried.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application import customers_merged
from services.leads.application.access import lead_for_write
from services.leads.application.lead_record import lead_out
from services.leads.events import LEAD_CONVERTED
from services.leads.models import CustomerReference, Lead
from services.leads.schemas import ConvertRequest

_convert = ConvertRequest()
CUSTOMER_REF, CONTACT_REF = "customer", "contact"


def convert_lead(uow: UnitOfWork, principal: Principal, lead_id: str, data: dict | None) -> dict:
    request = load(_convert, data or {})
    with uow:
        lead = lead_for_write(uow.session, principal, lead_id)
        lead.status = domain.transition("convert", lead.status)
        uow.audit_action("convert")
        lead.converted_at = utcnow()
        uow.session.flush()
        uow.emit(LEAD_CONVERTED, lead, opportunity=request["opportunity"])
        return uow.commit(lambda: lead_out.dump(lead))


def record_conversion(uow: UnitOfWork, answer: dict) -> None:
    """customers created/linked the customer (``answer``: the ``customer_converted_from_lead``
    payload): remember its ids on the lead -- unless leads has heard already that the customer (or
    the contact) was deleted (``record_customer_deleted`` may come first: the events travel in
    different queues, and either may be retried), or merged into another (then the survivor's)."""
    customer_id, contact_id = answer["customer_id"], answer["contact_id"]
    with uow:
        session = uow.session
        # What leads heard of them, read before anything else (CustomerReference): a customer or
        # contact deleted before this answer arrived is not recorded on the lead.
        refs = customers_merged.as_read(references(session, {
            CUSTOMER_REF: [customer_id], CONTACT_REF: [contact_id] if contact_id else []}), [customer_id])
        lead = session.get(Lead, answer["lead_id"])
        if lead is None:
            raise ValidationFailed(f"lead {answer['lead_id']} does not exist",
                                   {"errors": {"lead_id": ["Unknown lead."]}})
        uow.audit_action("conversion_recorded")
        # a customer merged into another since: the survivor (at the end of its chain of merges)
        current, chain = customers_merged.resolve(session, refs, customer_id)
        customer_gone = current is None
        contact_gone = customer_gone or (contact_id is not None and _deleted(refs.get((CONTACT_REF, contact_id))))
        now = utcnow()
        if not customer_gone:
            customers_merged.touch(session, refs, chain, now)
        if contact_id is not None and not contact_gone:
            _touch(session, refs, CONTACT_REF, contact_id, now)
        lead.customer_id = current
        lead.contact_id = None if contact_gone else contact_id
        uow.commit()


def record_customer_deleted(uow: UnitOfWork, deleted: dict) -> None:
    """customers deleted a customer and its contacts (``deleted``: the ``customer_deleted``
    payload): leads pointing at them lose the ids (audited as ``customer_deleted``, by the user who
    deleted it), and a conversion answer naming them that arrives later records neither.
    Idempotent: the kit records the event id with the change, and doing it again would change
    nothing besides."""
    customer_id, contact_ids = deleted["customer_id"], list(dict.fromkeys(deleted["contact_ids"]))
    with uow:
        uow.audit_action("customer_deleted")
        session = uow.session
        refs = references(session, {CUSTOMER_REF: [customer_id], CONTACT_REF: contact_ids})
        _mark_deleted(session, refs, CUSTOMER_REF, [customer_id], deleted["deleted_at"])
        _mark_deleted(session, refs, CONTACT_REF, contact_ids, deleted["deleted_at"])
        pointing = Lead.customer_id == customer_id
        if contact_ids:
            pointing = or_(pointing, Lead.contact_id.in_(contact_ids))
        for lead in session.scalars(select(Lead).where(pointing).order_by(Lead.id)):
            if lead.customer_id == customer_id:
                lead.customer_id = None
                lead.contact_id = None
            else:
                lead.contact_id = None
        uow.commit()


def record_contact_deleted(uow: UnitOfWork, deleted: dict) -> None:
    """A user deleted a contact (``deleted``: the ``contact_deleted`` payload): leads pointing at it
    lose ``contact_id`` (audited as ``contact_deleted``); a conversion answer naming it that arrives
    later does not record it."""
    contact_id = deleted["contact_id"]
    with uow:
        uow.audit_action("contact_deleted")
        session = uow.session
        refs = references(session, {CONTACT_REF: [contact_id]})
        _mark_deleted(session, refs, CONTACT_REF, [contact_id], deleted["deleted_at"])
        for lead in session.scalars(select(Lead).where(Lead.contact_id == contact_id).order_by(Lead.id)):
            lead.contact_id = None
        uow.commit()


def references(session, ids: dict[str, list[str]]) -> dict[tuple[str, str], CustomerReference]:
    """The rows of these ids, ``{(kind, id): row}``. Read first: a writer that read a row (or its
    absence) meets, at its flush, any other that wrote it since (``version``, primary key)."""
    out = {}
    for kind, values in ids.items():
        if values:
            for ref in session.scalars(select(CustomerReference).where(
                    CustomerReference.kind == kind, CustomerReference.ref_id.in_(values))):
                out[(kind, ref.ref_id)] = ref
    return out


def _deleted(ref: CustomerReference | None) -> bool:
    return ref is not None and ref.deleted_at is not None


def _touch(session, refs: dict, kind: str, ref_id: str, now: dt.datetime) -> None:
    """A lead now points at it: its row is written (created, or its version moves on)."""
    ref = refs.get((kind, ref_id))
    if ref is None:
        session.add(CustomerReference(kind=kind, ref_id=ref_id, recorded_at=now))
    else:
        ref.recorded_at = now


def _mark_deleted(session, refs: dict, kind: str, ref_ids: list[str], deleted_at: dt.datetime) -> None:
    if deleted_at.tzinfo is None:       # (the contract says RFC 3339 with an offset; be lenient)
        deleted_at = deleted_at.replace(tzinfo=dt.timezone.utc)
    for ref_id in ref_ids:
        ref = refs.get((kind, ref_id))
        if ref is None:
            session.add(CustomerReference(kind=kind, ref_id=ref_id, deleted_at=deleted_at))
        elif ref.deleted_at is None:
            ref.deleted_at = deleted_at
