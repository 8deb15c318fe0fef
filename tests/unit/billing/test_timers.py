"""The timers on SQLite: the overdue rule (each receivable and instalment once, the rule and its
inputs in the audit and the event; a dry run changes nothing; finance's run covers its departments;
members may not run it), the instalment reminders (once, to the owner), and customers' merges and
owner changes (idempotent, whatever the order)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Forbidden
from services.billing.application import customer_events, overdue, plans, receivables, reminders
from services.billing.events.consumed_customers import CustomerOwnerChanged, CustomersMerged
from tests.unit.billing.support import ADMIN, FINANCE, OTHER_FINANCE, OWNER, events, open_receivable

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 4, 3, 1, tzinfo=UTC)


def test_overdue_receivables_are_marked_once_with_the_rule(db):
    late = open_receivable(db)                                   # due 2026-04-01
    on_time = open_receivable(db, due_date="2026-04-03")
    planned = open_receivable(db, due_date="2026-06-01")
    plans.set_receivable_plan(db.uow(), OWNER, planned["id"], {"instalments": [
        {"amount": "500.00", "due_date": "2026-04-02"}, {"amount": "500.00", "due_date": "2026-06-01"}]})
    preview = overdue.run_overdue(db.uow(), FINANCE, AS_OF.isoformat(), True)
    assert (preview["count"], preview["dry_run"], preview["events"]) == (2, True, {"receivable_overdue": 2})
    assert events(db, "receivable_overdue") == []
    assert receivables.get_receivable(db.uow(), ADMIN, late["id"])["status"] == "open"
    with pytest.raises(Forbidden):
        overdue.run_overdue(db.uow(), OWNER, AS_OF.isoformat(), True)
    assert overdue.run_overdue(db.uow(), OTHER_FINANCE, AS_OF.isoformat(), False)["count"] == 0   # not its own

    result = overdue.mark_overdue_receivables(db.uow(), AS_OF, batch_size=1)
    assert (result["count"], result["instalments"]) == (2, 1)
    by_id = {e["id"]: e for e in events(db, "receivable_overdue")}
    assert by_id[late["id"]]["rule"] == {"rule": "due_date_passed", "due_date": "2026-04-01",
                                         "as_of": AS_OF.isoformat(), "days_overdue": 2}
    assert by_id[planned["id"]]["rule"]["rule"] == "instalment_overdue"
    assert by_id[planned["id"]]["rule"]["instalment_number"] == 1
    got = receivables.get_receivable(db.uow(), ADMIN, planned["id"])
    assert got["status"] == "overdue" and [i["status"] for i in got["instalments"]] == ["overdue", "pending"]
    history = receivables.receivable_history(db.uow(), ADMIN, late["id"])["items"]
    assert any(e["action"] == "mark_overdue" and "overdue_rule" in e["changes"] for e in history)
    assert receivables.get_receivable(db.uow(), ADMIN, on_time["id"])["status"] == "open"
    # a second run finds nothing left to do
    assert overdue.mark_overdue_receivables(db.uow(), AS_OF + dt.timedelta(hours=1))["count"] == 0
    assert len(events(db, "receivable_overdue")) == 2


def test_instalment_reminders_go_to_the_owner_once(db):
    receivable = open_receivable(db, due_date="2026-06-01")
    plans.set_receivable_plan(db.uow(), OWNER, receivable["id"], {"instalments": [
        {"amount": "250.00", "due_date": "2026-04-05", "remind_days_before": 3},
        {"amount": "750.00", "due_date": "2026-06-01", "remind_days_before": 3}]})
    assert reminders.remind_instalments(db.uow(), AS_OF)["count"] == 1
    [due] = events(db, "instalment_due")
    assert (due["owner_id"], due["number"], due["outstanding_amount"], due["rule"]["days_until_due"]) == (
        OWNER.user_id, 1, "250.00", 2)
    assert reminders.remind_instalments(db.uow(), AS_OF + dt.timedelta(days=1))["count"] == 0


def test_merges_and_owner_changes(db):
    receivable = open_receivable(db, customer_id="merged-1")
    paid_off = open_receivable(db, customer_id="merged-1", total="0.00")
    merged = {"event_id": "e-merge", "actor": "u1", "payload": {
        "survivor_id": "survivor-1", "merged_id": "merged-1", "merged_at": "2026-03-03T09:00:00+00:00"}}
    assert db.handle(customer_events.record_customers_merged, merged, CustomersMerged) == {"receivables": 2}
    assert receivables.get_receivable(db.uow(), ADMIN, receivable["id"])["customer_id"] == "survivor-1"
    later = open_receivable(db, customer_id="merged-1")                 # opened after the merge
    assert later["customer_id"] == "survivor-1"
    changed = {"event_id": "e-owner", "actor": "u1", "payload": {
        "customer_id": "merged-1", "owner_id": "owner-9", "department_id": "d9", "previous_owner_id": OWNER.user_id,
        "pool_id": None, "kind": "assign", "reason": None, "changed_at": "2026-03-04T09:00:00+00:00"}}
    moved = db.handle(customer_events.record_customer_owner_changed, changed, CustomerOwnerChanged)
    assert moved == {"receivables": 2}
    assert receivables.get_receivable(db.uow(), ADMIN, receivable["id"])["owner_id"] == "owner-9"
    assert receivables.get_receivable(db.uow(), ADMIN, paid_off["id"])["owner_id"] == OWNER.user_id   # paid: stays
