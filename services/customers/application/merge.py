"""Merging a duplicate customer into the one that stays, with nothing lost.

``merge_customers(uow, principal, customer_id, duplicate_id)``: the caller must be able to change
both (``access.customer_for_write``). In one transaction the survivor (``customer_id``) takes the
fields it has left blank, the tags it lacks, the team members it lacks or a stronger access, the
duplicate's owner as a ``read_write`` member (``domain.merge``); the duplicate's contacts,
follow-ups, owner history (its open stretch ended as ``merge``) and business entries move to it
(the summary is recomputed from them; a deal customer if either was); the merge is recorded
(``customer_merges``: a request for the merged id answers 404 naming the survivor, ``merged``) and
earlier merges into the duplicate are re-pointed at the survivor; the duplicate is deleted; the
survivor's history gets a ``merge`` entry; and ``customers_merged`` tells every context holding
the duplicate's id to move it to the survivor (``customer_updated`` too when its fields changed).
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records import teams
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application import business, ownership
from services.customers.application.access import customer_for_write, mask
from services.customers.application.merged import lookup
from services.customers.domain import merge as rules
from services.customers.events import CUSTOMER_UPDATED, CUSTOMERS_MERGED
from services.customers.models import (
    Customer,
    CustomerBusiness,
    CustomerFollowUp,
    CustomerMerge,
    CustomerOwnership,
    customer_team,
)
from services.customers.schemas.merge import CustomerMergeOut, MergeRequest
from services.customers.schemas.records import CustomerOut

_request = MergeRequest()
_out = CustomerOut()
_merge_out = CustomerMergeOut()
# The survivor's fields a consumer of customer_updated may care about (what a merge can change).
_UPDATED = ("tags", "deal_status", "source_lead_id", "last_followed_at", "next_contact_at", "opportunity_total",
            "order_total", "paid_total")


def merge_customers(uow: UnitOfWork, principal: Principal, customer_id: str, duplicate_id) -> dict:
    """``{"customer": the survivor, "merge": the merge record}``."""
    duplicate_id = load(_request, {"duplicate_id": duplicate_id})["duplicate_id"]
    rules.ensure_mergeable(customer_id, duplicate_id)
    with uow:
        session = uow.session
        # Both rows locked, in id order, before anything is read: two merges of one customer (or a
        # merge and a fact about either) take turns, and the later one finds what the first did.
        session.execute(select(Customer.id).where(Customer.id.in_(sorted({customer_id, duplicate_id})))
                        .order_by(Customer.id).with_for_update())
        survivor = lookup(customer_for_write, session, principal, customer_id)
        duplicate = lookup(customer_for_write, session, principal, duplicate_id)
        now, by = utcnow(), principal.user_id
        uow.audit_action("merge")
        before = {name: _value(survivor, name) for name in (*_UPDATED, *_fillable())}
        filled = _take_fields(session, survivor, duplicate)
        tags_before = list(survivor.tags)
        survivor.tags = rules.union_tags(tags_before, duplicate.tags)
        contact_ids = _move_contacts(survivor, duplicate)
        follow_ups = _move_follow_ups(session, survivor, duplicate)
        team_changes = _merge_team(session, survivor, duplicate, by)
        session.flush()
        owner_history = _move_owner_history(session, survivor, duplicate, by, now)
        moved_business = session.execute(update(CustomerBusiness).where(CustomerBusiness.customer_id == duplicate.id)
                                         .values(customer_id=survivor.id)).rowcount
        business.set_deal_state(survivor, rules.merged_deal(business.deal_state(survivor),
                                                            business.deal_state(duplicate)))
        business.recompute(session, survivor)
        survivor.updated_at = now             # the survivor's version moves on: a concurrent change of it fails
        record = CustomerMerge(id=new_id(), survivor_id=survivor.id, merged_id=duplicate.id, merged_name=duplicate.name,
                               merged_by=by, merged_at=now, moved={
                                   "contacts": len(contact_ids), "follow_ups": follow_ups,
                                   "tags": len(survivor.tags) - len(tags_before), "team_members": len(team_changes),
                                   "owner_history": owner_history, "business": moved_business,
                                   "fields_filled": sorted(filled)})
        session.add(record)
        session.execute(update(CustomerMerge).where(CustomerMerge.survivor_id == duplicate.id)
                        .values(survivor_id=survivor.id))
        teams.clear(session, customer_team, duplicate.id)
        session.delete(duplicate)
        session.flush()
        uow.audit_record("customer", survivor.id, {"merged_id": [None, duplicate.id],
                                                   "merged_name": [None, duplicate.name], **team_changes}, "merge")
        uow.emit(CUSTOMERS_MERGED, record, contact_ids=contact_ids)
        changed = sorted(name for name, value in before.items()
                         if _value(survivor, name) != value and not name.endswith("_key"))
        if changed:
            uow.emit(CUSTOMER_UPDATED, survivor, changed=changed)
        return uow.commit(lambda: {"customer": mask(session, principal, survivor, _out.dump(survivor)),
                                   "merge": _merge_out.dump(record)})


def _fillable() -> list[str]:
    return [name for group in rules.FILLABLE for name in group if hasattr(Customer, name)]


def _value(customer: Customer, name: str):
    value = getattr(customer, name)
    return list(value) if name == "tags" else value


def _take_fields(session, survivor: Customer, duplicate: Customer) -> set[str]:
    """The fields the survivor has left blank, from the duplicate (and its source lead, if it has
    none: a lead converted into the duplicate is then the survivor's). Returns the names taken."""
    names = _fillable()
    fills = rules.blanks_to_fill({n: getattr(survivor, n) for n in names}, {n: getattr(duplicate, n) for n in names},
                                 survivor.kind)
    for name, value in fills.items():
        setattr(survivor, name, value)
    taken = {name for name in fills if not name.endswith("_key")}
    if survivor.source_lead_id is None and duplicate.source_lead_id is not None:
        lead_id, duplicate.source_lead_id = duplicate.source_lead_id, None
        session.flush()                   # (unique: the duplicate lets it go first)
        survivor.source_lead_id = lead_id
        taken.add("source_lead_id")
    last_followed, next_contact = rules.merged_follow_up_times(
        (survivor.last_followed_at, survivor.next_contact_at), (duplicate.last_followed_at, duplicate.next_contact_at))
    survivor.last_followed_at, survivor.next_contact_at = last_followed, next_contact
    return taken


def _move_contacts(survivor: Customer, duplicate: Customer) -> list[str]:
    """The duplicate's contacts become the survivor's (owner copies follow; one primary contact:
    the survivor's, if it has one)."""
    has_primary = any(c.is_primary for c in survivor.contacts)
    moved = list(duplicate.contacts)
    for contact in moved:
        contact.customer = survivor
        contact.owner_id, contact.department_id = survivor.owner_id, survivor.department_id
        if has_primary and contact.is_primary:
            contact.is_primary = False
        has_primary = has_primary or contact.is_primary
    return [c.id for c in moved]


def _move_follow_ups(session, survivor: Customer, duplicate: Customer) -> int:
    rows = list(session.scalars(select(CustomerFollowUp).where(CustomerFollowUp.customer_id == duplicate.id)))
    for row in rows:
        row.customer_id = survivor.id
    return len(rows)


def _merge_team(session, survivor: Customer, duplicate: Customer, by: str) -> dict:
    """The duplicate's team members (and its owner, ``read_write``) join the survivor's team, the
    stronger membership winning; returns the audit changes ``{"team.<user>": [before, after]}``."""
    incoming = [(m["user_id"], m["access"], m["expires_at"])
                for m in teams.members(session, customer_team, duplicate.id)]
    if duplicate.owner_id:
        incoming.append((duplicate.owner_id, rules.OWNER_ACCESS, None))
    current = {m["user_id"]: (m["access"], m["expires_at"]) for m in teams.members(session, customer_team, survivor.id)}
    changes = {}
    for user_id, access, expires_at in incoming:
        if user_id == survivor.owner_id:
            continue
        merged = rules.merged_membership(current.get(user_id), (access, expires_at))
        if merged is None:
            continue
        teams.set_member(session, customer_team, survivor.id, user_id, merged[0], by, expires_at=merged[1])
        changes[f"team.{user_id}"] = [current.get(user_id, (None,))[0], merged[0]]
        current[user_id] = merged
    return changes


def _move_owner_history(session, survivor: Customer, duplicate: Customer, by: str, now) -> int:
    """The duplicate's owner history joins the survivor's; its open stretch ends (``merge``)."""
    stretch = ownership.open_stretch(session, duplicate.id)
    if stretch is not None:
        stretch.ended_at, stretch.end_kind, stretch.ended_by = now, "merge", by
        stretch.end_reason = f"merged into customer {survivor.id}"
        session.flush()
    count = session.scalar(select(func.count()).select_from(CustomerOwnership)
                           .where(CustomerOwnership.customer_id == duplicate.id))
    session.execute(update(CustomerOwnership).where(CustomerOwnership.customer_id == duplicate.id)
                    .values(customer_id=survivor.id))
    return count
