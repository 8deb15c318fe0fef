"""The data scopes of tickets (docs/roles.md, "support"): the kit's (admin all; a manager their
department subtree; the owner -- the assignee, the creator while unassigned), plus support's own ways
in, passed to the kit as extra clauses (``crm_kit.records.scopes``):

- **group membership**: the agents and leads of a ticket's group (``support_group_members``) read
  and change it (they work the group's queue: take, reply, resolve, pass it on);
- **read only**: whoever opened the ticket (``created_by``), and the customer's owner as support
  last heard it (``customer_owner_changed``: ``support_customer_refs.owner_id``) -- the salesperson
  of the account follows its tickets.

A ticket out of all of them answers 404; readable but not writable 403. Leads of a group
(``role`` ``lead``) may also run the SLA rule now over their groups' tickets. Support staff
(``is_staff``: administrators and the members of any group) write the knowledge base and read its drafts.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden
from crm_kit.records.scopes import can_write, get_for_read
from services.support.models import SupportCustomerRef, SupportGroupMember, Ticket

SUBJECT = "ticket"
LEAD, AGENT = "lead", "agent"


def group_ids_of(principal: Principal | None, role: str | None = None):
    """The ids of the groups the principal works in (``role``: only as that), as a subquery."""
    stmt = select(SupportGroupMember.group_id).where(SupportGroupMember.user_id == principal.user_id)
    if role is not None:
        stmt = stmt.where(SupportGroupMember.role == role)
    return stmt


def write_clause(principal: Principal | None):
    """Beyond the kit's scope: the tickets of the principal's groups."""
    if principal is None or principal.is_admin:
        return None
    return Ticket.group_id.in_(group_ids_of(principal))


def read_clause(principal: Principal | None):
    """Beyond the kit's scope: the groups' tickets, those they opened, those of customers they own."""
    if principal is None or principal.is_admin:
        return None
    return or_(Ticket.group_id.in_(group_ids_of(principal)), Ticket.created_by == principal.user_id,
               Ticket.customer_id.in_(select(SupportCustomerRef.customer_id).where(
                   SupportCustomerRef.owner_id == principal.user_id)))


def for_read(session, principal: Principal, ticket_id: str) -> Ticket:
    return get_for_read(session, Ticket, ticket_id, principal, SUBJECT, read_clause(principal))


def for_write(session, principal: Principal, ticket_id: str) -> Ticket:
    """The ticket the principal may change: 404 if they may not even read it, 403 if only read."""
    ticket = for_read(session, principal, ticket_id)
    if principal.is_admin or can_write(session, Ticket, ticket_id, principal, write_clause(principal)):
        return ticket
    raise Forbidden(f"You may see ticket {ticket_id} but not change it.", {"resource": SUBJECT, "id": ticket_id})


def is_staff(session, principal: Principal | None) -> bool:
    """Support staff: administrators, and the members (agents, leads) of any support group (the
    knowledge base's drafts and its writing)."""
    if principal is None:
        return False
    return principal.is_admin or session.scalars(group_ids_of(principal).limit(1)).first() is not None


def is_lead(session, principal: Principal | None) -> bool:
    return principal is not None and session.scalars(group_ids_of(principal, LEAD).limit(1)).first() is not None
