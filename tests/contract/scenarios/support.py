"""Scenarios of the support service: a ticket opened and routed in its group, worked (waiting on the
customer, resumed), resolved, reopened, resolved and closed; the SLA timer raising a warning and a
breach; the customer answering the survey through the link the resolution handed out; and its
handlers of customers' merges (tickets follow the survivor) and owner changes (the new owner reads
the customer's tickets; no ticket moves)."""
from __future__ import annotations

import datetime as dt

from services.support.application import actions, customer_events, groups, portal, sla_run, tickets
from services.support.models import SupportCustomerRef, Ticket
from tests.contract.support import ADMIN, Consuming, Producing, acting_as

AGENT = "01933b50-1f00-7a00-8000-00000000a005"
CUSTOMER = "01933b50-1f00-7a00-8000-0000000cc001"


def _group(dbs) -> str:
    return groups.create_support_group(dbs("support").uow(), ADMIN, {
        "name": "Hardware", "department_id": "01933b50-1f00-7a00-8000-00000000d001",
        "members": [{"user_id": AGENT, "categories": ["fault"]}]})["id"]


def _open(dbs, **fields) -> str:
    return tickets.create_ticket(dbs("support").uow(), ADMIN, {
        "subject": "The printer does not print", "channel": "phone", "category": "fault",
        "customer_id": CUSTOMER, **fields})["id"]


def worked_and_closed(dbs):
    db = dbs("support")
    ticket_id = _open(dbs, group_id=_group(dbs))
    for action in ("start", "wait_on_customer", "resume"):
        getattr(actions, action if action == "wait_on_customer" else f"{action}_ticket")(db.uow(), ADMIN, ticket_id)
    actions.resolve_ticket(db.uow(), ADMIN, ticket_id, {"resolution": "Replaced the toner"})
    actions.reopen_ticket(db.uow(), ADMIN, ticket_id, {"reason": "It jams again"})
    actions.resolve_ticket(db.uow(), ADMIN, ticket_id, {"resolution": "Replaced the roller"})
    actions.close_ticket(db.uow(), ADMIN, ticket_id)


def warned_and_breached(dbs):
    db = dbs("support")
    ticket_id = _open(dbs, priority="urgent")
    with db.session_factory() as session:
        opened = session.get(Ticket, ticket_id).next_sla_check_at
    sla_run.flag_sla(db.uow(), opened)                                   # the warning point
    sla_run.flag_sla(db.uow(), opened + dt.timedelta(days=30))          # past every deadline


def surveyed(dbs):
    db = dbs("support")
    ticket_id = _open(dbs, group_id=_group(dbs), contact_id="01933b50-1f00-7a00-8000-0000000cd001")
    actions.resolve_ticket(db.uow(), ADMIN, ticket_id, {"resolution": "Replaced the toner"})
    [resolved] = [env["payload"] for env in db.outbox() if env["event_type"] == "ticket_resolved"]
    portal.portal_survey(db.uow(), resolved["survey_link"]["token"],
                         {"csat": 5, "nps": 9, "comment": "Quick and friendly"})


PRODUCERS = [
    Producing("support", worked_and_closed, frozenset({
        "ticket_opened", "ticket_assigned", "ticket_status_changed", "ticket_resolved", "ticket_reopened",
        "ticket_closed"})),
    Producing("support", surveyed, frozenset({"ticket_opened", "ticket_assigned", "ticket_status_changed",
                                              "ticket_resolved", "survey_submitted"})),
    Producing("support", warned_and_breached, frozenset({"ticket_opened", "ticket_sla_warning",
                                                         "ticket_sla_breached"})),
]


def _rows(dbs, model) -> list:
    with dbs("support").session_factory() as session:
        return session.query(model).order_by(model.customer_id if model is SupportCustomerRef else model.id).all()


def merged_customer_ticket(dbs, envelope: dict) -> dict:
    with acting_as(ADMIN, "req-prepare"):
        _open(dbs, customer_id=envelope["payload"]["merged_id"])
    return envelope


def at_the_survivor(dbs, payload: dict) -> None:
    assert {t.customer_id for t in _rows(dbs, Ticket)} == {payload["survivor_id"]}


def customers_ticket(dbs, envelope: dict) -> dict:
    with acting_as(ADMIN, "req-prepare"):
        _open(dbs, customer_id=envelope["payload"]["customer_id"])
    return envelope


def read_by_the_new_owner(dbs, payload: dict) -> None:
    [ref] = [r for r in _rows(dbs, SupportCustomerRef) if r.customer_id == payload["customer_id"]]
    assert ref.owner_id == payload["owner_id"]
    [ticket] = _rows(dbs, Ticket)
    assert ticket.owner_id == ADMIN.user_id                # no ticket moves: its owner is its assignee/creator


CONSUMERS = {
    ("customers", "customers_merged", "support.handle_customers_merged"):
        Consuming(customer_events.record_customers_merged, at_the_survivor, prepare=merged_customer_ticket),
    ("customers", "customer_owner_changed", "support.handle_customer_owner_changed"):
        Consuming(customer_events.record_customer_owner_changed, read_by_the_new_owner, prepare=customers_ticket),
}
