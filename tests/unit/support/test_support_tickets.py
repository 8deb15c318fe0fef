"""Support's use cases on SQLite: numbering, routing on open and on assign (with the rule in the
history), the status machine's 409, SLA pauses moving the deadlines, the timer flagging once (and a
dry run writing nothing), who may do what, customers' merges and owner changes, the overview's part."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, NotFound
from crm_kit.ids import new_id
from crm_kit.runtime.preview import PreviewUnitOfWork
from services.support.application import (
    actions,
    comments,
    customer_events,
    groups,
    overview,
    sla_run,
    tickets,
)
from services.support.events.consumed_customers import CustomerOwnerChanged, CustomersMerged
from services.support.models import Ticket, TicketPause, TicketSlaFlag

ADMIN = Principal("admin-1", "admin")
CREATOR = Principal("rep-1", "member", "d1", ("d1",))
LEAD = Principal("lead-1", "member", "d9", ("d9",))
UTC = dt.timezone.utc


def _group(db, *members, **fields):
    return groups.create_support_group(db.uow(), ADMIN, {"name": fields.pop("name", "L1"), "department_id": "d9",
                                                         "members": list(members), **fields})


def _open(db, principal=CREATOR, **fields):
    return tickets.create_ticket(db.uow(), principal, {"subject": "Broken", "channel": "phone",
                                                       "category": "fault", **fields})


def _events(db, name):
    return [row.body["payload"] for row in db.outbox(name)]


def test_a_ticket_is_numbered_and_routed_to_the_least_loaded_skilled_agent(db):
    group = _group(db, {"user_id": "a1", "categories": ["complaint"]}, {"user_id": "a2"}, {"user_id": "a3"},
                   {"user_id": "lead-1", "role": "lead"})
    first, second, third = (_open(db, group_id=group["id"]) for _ in range(3))
    assert [t["number"][-6:] for t in (first, second, third)] == ["000001", "000002", "000003"]
    assert first["number"].startswith("TK-")
    # a1 has not the skill, leads are not routed to; a2 and a3 take turns, then the least loaded
    assert [first["assignee_id"], second["assignee_id"], third["assignee_id"]] == ["a2", "a3", "a2"]
    assert (first["status"], first["owner_id"], first["department_id"], first["created_by"]) == (
        "assigned", "a2", "d9", "rep-1")
    [assigned, *_] = _events(db, "ticket_assigned")
    assert assigned["rule"]["rule"] == "least_loaded" and assigned["rule"]["inputs"]["candidates"] == {"a2": 0, "a3": 0}
    history = tickets.ticket_history(db.uow(), ADMIN, first["id"])["items"]
    assert any(e["action"] == "assign" and e["changes"]["assignment"][1]["rule"] == "least_loaded" for e in history)


def test_nobody_to_route_to_leaves_it_new_and_a_reassignment_is_kept_with_its_rule(db):
    group = _group(db, {"user_id": "a1", "capacity": 0})
    ticket = _open(db, group_id=group["id"])
    assert (ticket["status"], ticket["assignee_id"], ticket["owner_id"]) == ("new", None, "rep-1")
    with pytest.raises(InvalidState) as refused:
        actions.assign_ticket(db.uow(), ADMIN, ticket["id"], {})
    assert refused.value.extra["rule"] == "all_at_capacity"
    moved = actions.assign_ticket(db.uow(), ADMIN, ticket["id"], {"assignee_id": "a9", "reason": "VIP"})
    assert (moved["status"], moved["assignee_id"], moved["owner_id"]) == ("assigned", "a9", "a9")
    again = actions.assign_ticket(db.uow(), ADMIN, ticket["id"], {"assignee_id": "a8"})
    assert again["status"] == "assigned"
    last = _events(db, "ticket_assigned")[-1]
    assert (last["previous_assignee_id"], last["rule"]["rule"]) == ("a9", "chosen")
    entries = [e for e in tickets.ticket_history(db.uow(), ADMIN, ticket["id"])["items"] if e["action"] == "assign"]
    assert [e["changes"]["assignment"][1]["assignee_id"] for e in entries] == ["a8", "a9"]


def test_the_status_machine_refuses_naming_the_state(db):
    ticket = _open(db, assignee_id="a1")
    with pytest.raises(InvalidState) as refused:
        actions.close_ticket(db.uow(), ADMIN, ticket["id"])
    assert refused.value.extra["current_state"] == "assigned" and "'assigned'" in refused.value.detail
    actions.start_ticket(db.uow(), ADMIN, ticket["id"])
    resolved = actions.resolve_ticket(db.uow(), ADMIN, ticket["id"], {"resolution": "Fixed"})
    assert resolved["status"] == "resolved" and resolved["first_response_at"] is not None
    assert actions.close_ticket(db.uow(), ADMIN, ticket["id"])["status"] == "closed"
    reopened = actions.reopen_ticket(db.uow(), ADMIN, ticket["id"], {"reason": "Again"})
    assert (reopened["status"], reopened["reopen_count"], reopened["resolved_at"]) == ("in_progress", 1, None)
    moves = [e["action"] for e in _events(db, "ticket_status_changed")]
    assert moves == ["assign", "start", "resolve", "close", "reopen"]
    assert len(_events(db, "ticket_resolved")) == len(_events(db, "ticket_closed")) == 1


def _set(db, ticket_id, **values):
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        for name, value in values.items():
            setattr(ticket, name, value)
        s.commit()


def test_waiting_on_the_customer_pauses_the_clocks_and_moves_the_deadlines(db):
    ticket = _open(db, assignee_id="a1", group_id=_group(db, {"user_id": "a1"}, calendar={
        "tz": "UTC", "week": {str(d): [[0, 1440]] for d in range(7)}})["id"])
    due = {c["clock"]: c["due_at"] for c in ticket["sla"]["clocks"]}
    actions.start_ticket(db.uow(), ADMIN, ticket["id"])
    waiting = actions.wait_on_customer(db.uow(), ADMIN, ticket["id"])
    assert {c["state"] for c in waiting["sla"]["clocks"]} == {"paused"} and waiting["next_sla_check_at"] is None
    # the ticket opened three hours ago, the pause lasted two of them
    with db.session() as s:
        s.query(TicketPause).one().started_at -= dt.timedelta(hours=2)
        s.get(Ticket, ticket["id"]).opened_at -= dt.timedelta(hours=3)
        s.commit()
    resumed = actions.resume_ticket(db.uow(), ADMIN, ticket["id"])
    after = {c["clock"]: c["due_at"] for c in resumed["sla"]["clocks"]}
    for clock in ("first_response", "resolution"):
        moved = dt.datetime.fromisoformat(after[clock]) - dt.datetime.fromisoformat(due[clock])
        assert abs(moved - dt.timedelta(hours=-1)) < dt.timedelta(seconds=5), clock   # -3 h + 2 h
    assert resumed["next_sla_check_at"] is not None
    with db.session() as s:
        assert s.query(TicketPause).one().ended_at is not None


def test_a_public_reply_stops_the_first_response_clock(db):
    ticket = _open(db, assignee_id="a1")
    comments.add_ticket_comment(db.uow(), ADMIN, ticket["id"], {"body": "Internal"})
    assert tickets.get_ticket(db.uow(), ADMIN, ticket["id"])["first_response_at"] is None
    comments.add_ticket_comment(db.uow(), ADMIN, ticket["id"], {"body": "We are on it", "public": True})
    now = tickets.get_ticket(db.uow(), ADMIN, ticket["id"])
    assert now["status"] == "in_progress" and now["first_response_at"] is not None
    assert {c["clock"]: c["state"] for c in now["sla"]["clocks"]}["first_response"] == "met"


def test_the_timer_flags_each_warning_and_breach_once_and_a_dry_run_writes_nothing(db):
    _group(db, {"user_id": "a1"}, {"user_id": "lead-1", "role": "lead"})
    ticket = _open(db, priority="urgent", assignee_id="a1")
    warn_at = dt.datetime.fromisoformat(ticket["next_sla_check_at"])
    preview = sla_run.run_sla(db.uow(), ADMIN, warn_at.isoformat(), True)
    assert preview["dry_run"] and preview["count"] == 1 and preview["events"] == {"ticket_sla_warning": 1}
    with db.session() as s:
        assert s.query(TicketSlaFlag).count() == 0
    assert _events(db, "ticket_sla_warning") == []
    done = sla_run.run_sla(db.uow(), ADMIN, warn_at.isoformat())
    assert done["flags"] == [{"ticket_id": ticket["id"], "number": ticket["number"], "clock": "first_response",
                              "kind": "warning"}]
    assert sla_run.run_sla(db.uow(), ADMIN, warn_at.isoformat())["count"] == 0          # once
    later = warn_at + dt.timedelta(days=30)
    breached = sla_run.flag_sla(db.uow(), later)
    assert {(f["clock"], f["kind"]) for f in breached["flags"]} == {("first_response", "breached"),
                                                                    ("resolution", "breached")}
    assert sla_run.flag_sla(db.uow(), later + dt.timedelta(days=1))["count"] == 0
    [warning] = _events(db, "ticket_sla_warning")
    assert warning["rule"]["rule"] == "sla.first_response.warning" and warning["clock"] == "first_response"
    assert len(_events(db, "ticket_sla_breached")) == 2
    entries = [e for e in tickets.ticket_history(db.uow(), ADMIN, ticket["id"])["items"] if e["action"] == "sla_flag"]
    assert any("sla_rule" in e["changes"] for e in entries)
    assert tickets.get_ticket(db.uow(), ADMIN, ticket["id"])["next_sla_check_at"] is None


def test_the_timer_batches_walk_the_due_tickets_once_each_through_ties_and_as_ranges_of_the_index(db):
    opened = [_open(db)["id"] for _ in range(5)]
    at = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
    when = {opened[0]: at, opened[1]: at, opened[2]: at, opened[3]: at - dt.timedelta(hours=1),
            opened[4]: at + dt.timedelta(seconds=1)}                      # the last one not due yet
    with db.session() as s:
        for ticket in s.query(Ticket).filter(Ticket.id.in_(opened)):
            ticket.next_sla_check_at = when[ticket.id]
        s.commit()
    previewed: list = []
    run = sla_run.flag_sla(PreviewUnitOfWork.of(db.uow(), previewed), at, batch_size=1)
    assert run["checked"] == 4                                            # three at the same time: none lost
    walked, after = [], None
    with db.session() as s:
        while batch := s.execute(sla_run.due_batch(select(Ticket.next_sla_check_at, Ticket.id), at, after, 2)).all():
            walked += [row.id for row in batch]
            after = tuple(batch[-1])
        assert sorted(walked) == sorted(opened[:4]) and len(walked) == 4
        stmt = sla_run.due_batch(select(Ticket.next_sla_check_at, Ticket.id), at, (at, opened[0]))
        plan = " ".join(r[-1] for r in s.execute(text(f"EXPLAIN QUERY PLAN {_literal(stmt)}")))
    # a later batch is a range of the index from the last key (not a walk from its start again)
    assert "COVERING INDEX ix_tickets_next_sla_check ((next_sla_check_at,id)>(" in plan


def _literal(stmt) -> str:
    from sqlalchemy.dialects import sqlite
    return str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_who_may_run_the_sla_rule_and_change_configuration(db):
    _group(db, {"user_id": "lead-1", "role": "lead"})
    assert sla_run.run_sla(db.uow(), LEAD, None, True)["dry_run"] is True
    with pytest.raises(Forbidden):
        sla_run.run_sla(db.uow(), CREATOR)
    with pytest.raises(Forbidden):
        groups.create_support_group(db.uow(), LEAD, {"name": "Mine"})
    with pytest.raises(Forbidden):
        groups.set_sla_policy(db.uow(), CREATOR, {"name": "x", "priority": "low"})
    assert groups.list_support_groups(db.uow(), CREATOR)["items"]
    assert len(groups.list_sla_policies(db.uow(), CREATOR)["defaults"]) == 4


def test_a_stored_policy_per_customer_level_wins(db):
    groups.set_sla_policy(db.uow(), ADMIN, {"name": "vip", "priority": "normal", "customer_level": "A",
                                            "first_response_minutes": 60, "resolution_minutes": 600})
    vip, other = _open(db, customer_level="A"), _open(db, customer_level="B")
    assert vip["sla"]["policy"] == "vip" and other["sla"]["policy"] == "default-normal"
    assert {c["clock"]: c["target_minutes"] for c in vip["sla"]["clocks"]} == {"first_response": 60,
                                                                               "resolution": 600}


def test_scopes_creator_reads_group_agent_writes_stranger_404(db):
    group = _group(db, {"user_id": "a1"})
    ticket = _open(db, group_id=group["id"])
    agent, stranger = Principal("a1", "member", "d2", ("d2",)), Principal("x", "member", "d2", ("d2",))
    assert tickets.get_ticket(db.uow(), CREATOR, ticket["id"])["id"] == ticket["id"]
    with pytest.raises(Forbidden):
        actions.start_ticket(db.uow(), CREATOR, ticket["id"])                    # no longer its owner
    assert actions.start_ticket(db.uow(), agent, ticket["id"])["status"] == "in_progress"
    with pytest.raises(NotFound):
        tickets.get_ticket(db.uow(), stranger, ticket["id"])
    assert tickets.list_tickets(db.uow(), stranger, {})["items"] == []


def test_merges_and_owner_changes_of_customers(db):
    old, new = new_id(), new_id()
    ticket = _open(db, principal=ADMIN, customer_id=old)
    db.handle(customer_events.record_customers_merged, {"event_id": new_id(), "actor": None, "payload": {
        "survivor_id": new, "merged_id": old, "merged_at": "2026-03-01T00:00:00+00:00"}}, CustomersMerged)
    assert tickets.get_ticket(db.uow(), ADMIN, ticket["id"])["customer_id"] == new
    assert _open(db, principal=ADMIN, customer_id=old)["customer_id"] == new                  # later ones too
    sales_rep = Principal("rep-9", "member", "d5", ("d5",))
    with pytest.raises(NotFound):
        tickets.get_ticket(db.uow(), sales_rep, ticket["id"])
    db.handle(customer_events.record_customer_owner_changed, {"event_id": new_id(), "actor": None, "payload": {
        "customer_id": old, "owner_id": "rep-9", "department_id": "d5", "previous_owner_id": "rep-1",
        "changed_at": "2026-03-02T00:00:00+00:00"}}, CustomerOwnerChanged)
    assert tickets.get_ticket(db.uow(), sales_rep, ticket["id"])["owner_id"] == ADMIN.user_id
    with pytest.raises(Forbidden):
        actions.assign_ticket(db.uow(), sales_rep, ticket["id"], {"assignee_id": "rep-9"})
    part = overview.customer_tickets(db.uow(), sales_rep, old, 10)["items"]
    assert {t["customer_id"] for t in part} == {new} and len(part) == 2


def test_an_update_may_list_the_same_agents_again(db):
    """Members are replaced whole: the same agent listed again is an update, not a duplicate key."""
    group = _group(db, {"user_id": "agent-1", "capacity": 3}, {"user_id": "agent-2"})
    again = groups.update_support_group(db.uow(), ADMIN, group["id"], {"members": [
        {"user_id": "agent-1", "capacity": 7}]}, expected_version=group["version"])
    assert [(m["user_id"], m["capacity"]) for m in again["members"]] == [("agent-1", 7)]
