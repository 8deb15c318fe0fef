"""customers merged a duplicate customer into another (``customers_merged``): the converted leads
pointing at the merged customer point at the survivor.

``record_customers_merged(uow, merged)`` (``merged``: the payload as the handler's consumer view
loads it, ``services.leads.events.CustomersMerged``) repoints every lead whose ``customer_id`` is the
merged id (audited ``customers_merged``, by the user who merged them) and remembers the merge on the
merged id's ``customer_references`` row (``merged_into``). Contacts keep their ids in a merge (they
become the survivor's), so a lead's ``contact_id`` stays.

**Whatever the order of the events**, no lead ends up pointing at a merged or deleted customer:

- a conversion answer naming the merged customer that arrives after the merge records the survivor
  (``record_conversion`` asks :func:`resolve`);
- merges form chains (A into B, then B into C: the events may arrive in either order): a lead
  goes to the end of the chain;
- a survivor deleted before its merge is heard of (``customer_deleted`` first): the leads of the
  merged customer lose the customer (and the contact, which went with it);
- two of these handlers running at once meet at a ``customer_references`` row (each reads the rows
  of the ids it concerns first and writes them with its change: primary key, version), and the
  later one is retried.

Idempotent: the kit records the event id with the change, and doing it again changes nothing.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.leads.models import CustomerReference, Lead

CUSTOMER = "customer"         # the kind of a customer's row (``conversion.CUSTOMER_REF``)
MAX_CHAIN = 100               # merges followed from one id (a chain longer than that is not a real one)
_ABSENT = object()


def record_customers_merged(uow: UnitOfWork, merged: dict) -> None:
    survivor_id, merged_id = merged["survivor_id"], merged["merged_id"]
    with uow:
        uow.audit_action("customers_merged")
        session = uow.session
        refs: dict = {}
        merged_ref = _row(session, refs, merged_id)          # read first: see the module's docstring
        final, chain = resolve(session, refs, survivor_id)
        now = utcnow()
        if merged_ref is None:
            session.add(CustomerReference(kind=CUSTOMER, ref_id=merged_id, merged_into=survivor_id))
        elif merged_ref.merged_into != survivor_id:
            merged_ref.merged_into = survivor_id
        if final is not None:
            touch(session, refs, chain, now)
        for lead in session.scalars(select(Lead).where(Lead.customer_id == merged_id).order_by(Lead.id)):
            lead.customer_id = final
            if final is None:            # the survivor was deleted: its contacts with it
                lead.contact_id = None
        uow.commit()


def resolve(session, refs: dict, customer_id: str) -> tuple[str | None, list[str]]:
    """Where a lead naming ``customer_id`` points now: ``(the id at the end of its chain of merges, or
    None when that customer was deleted; the ids of the chain, customer_id first)``. ``refs``: the
    rows read so far, ``{(kind, id): row}`` (filled with those this reads)."""
    chain, current = [customer_id], customer_id
    for _ in range(MAX_CHAIN):
        ref = _row(session, refs, current)
        if ref is not None and ref.deleted_at is not None:
            return None, chain
        if ref is None or ref.merged_into is None or ref.merged_into in chain:
            return current, chain
        current = ref.merged_into
        chain.append(current)
    return current, chain


def as_read(refs: dict, ids: list[str]) -> dict:
    """``refs`` as ``conversion.references`` read them, with the customer ids it found no row for
    marked so (not read again: what a handler decides on is what it read first)."""
    for ref_id in ids:
        refs.setdefault((CUSTOMER, ref_id), _ABSENT)
    return refs


def touch(session, refs: dict, ids: list[str], now: dt.datetime) -> None:
    """A lead may now point at any of ``ids``: their rows are written (created, or their version
    moves on), so that a deletion or merge of one of them running at once meets this change."""
    for ref_id in ids:
        ref = _row(session, refs, ref_id)
        if ref is None:
            ref = CustomerReference(kind=CUSTOMER, ref_id=ref_id, recorded_at=now)
            session.add(ref)
            refs[(CUSTOMER, ref_id)] = ref
        else:
            ref.recorded_at = now


def _row(session, refs: dict, ref_id: str) -> CustomerReference | None:
    key = (CUSTOMER, ref_id)
    if key not in refs:
        refs[key] = session.get(CustomerReference, key) or _ABSENT
    found = refs[key]
    return None if found is _ABSENT else found
