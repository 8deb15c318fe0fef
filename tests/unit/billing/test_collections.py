"""Collections on SQLite: the dunning run (each due the level it reached, once; a dry run sends
nothing; a second run sends nothing again; the ladder from the configuration; finance's run covers
its departments), the aging report (buckets as of a day, a plan's instalments each from its own due
date, per currency, in scope), and the overdue receivables per owner."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Forbidden, ValidationFailed
from services.billing.application import aging, dunning, overdue, payments, plans, receivables
from services.billing.domain.dunning import parse_levels
from tests.unit.billing.support import ADMIN, FINANCE, OTHER_FINANCE, OWNER, events, open_receivable, paid_at

UTC = dt.timezone.utc


def at(day: str) -> str:
    return f"{day}T01:00:00+00:00"


def test_dunning_sends_each_level_once_and_previews(db):
    late = open_receivable(db)                                           # due 2026-04-01
    planned = open_receivable(db, due_date="2026-06-01")
    plan = plans.set_receivable_plan(db.uow(), OWNER, planned["id"], {"instalments": [
        {"amount": "400.00", "due_date": "2026-04-05"}, {"amount": "600.00", "due_date": "2026-06-01"}]})
    open_receivable(db, due_date="2026-09-01")                           # not yet: nothing
    with pytest.raises(Forbidden):
        dunning.run_dunning(db.uow(), OWNER, at("2026-04-02"), True)
    preview = dunning.run_dunning(db.uow(), FINANCE, at("2026-04-02"), True)
    assert (preview["dry_run"], preview["count"], preview["levels"], preview["events"]) == (
        True, 2, {"first_notice": 1, "before_due": 1}, {"receivable_dunning": 2})
    assert events(db, "receivable_dunning") == []
    run = dunning.run_dunning(db.uow(), FINANCE, at("2026-04-02"), False)
    assert (run["dry_run"], run["count"]) == (False, 2)
    by_due = {(e["id"], e["instalment_id"]): e for e in events(db, "receivable_dunning")}
    first = by_due[(late["id"], None)]
    assert (first["level"], first["owner_id"], first["due_on"], first["due_outstanding"]) == (
        "first_notice", OWNER.user_id, "2026-04-01", "1000.00")
    assert first["rule"]["rule"] == "dunning.first_notice" and first["rule"]["days_from_due"] == 1
    instalment = by_due[(planned["id"], plan["instalments"][0]["id"])]
    assert (instalment["level"], instalment["instalment_number"]) == ("before_due", 1)
    assert dunning.run_dunning(db.uow(), FINANCE, at("2026-04-02"), False)["count"] == 0      # sent already
    history = receivables.receivable_history(db.uow(), FINANCE, late["id"], {})["items"]
    assert any(e["action"] == "dun" and "dunning_rule" in e["changes"] for e in history)
    # a week later: the next level of each, once
    later = dunning.dun_receivables(db.uow(), dt.datetime(2026, 4, 9, 1, tzinfo=UTC))
    assert sorted(n["level"] for n in later["notices"]) == ["first_notice", "second_notice"]
    assert dunning.dun_receivables(db.uow(), dt.datetime(2026, 4, 9, 2, tzinfo=UTC))["count"] == 0


def test_paid_dues_and_other_departments_are_not_dunned(db):
    paid = open_receivable(db)
    payment = payments.submit_payment(db.uow(), OWNER, {"receivable_id": paid["id"], "amount": "1000.00",
                                                        "paid_at": paid_at(), "method": "cash",
                                                        "reviewer_id": FINANCE.user_id})
    payments.confirm_payment(db.uow(), FINANCE, payment["id"])
    open_receivable(db)
    assert dunning.run_dunning(db.uow(), OTHER_FINANCE, at("2026-05-15"), False)["count"] == 0
    result = dunning.run_dunning(db.uow(), ADMIN, at("2026-05-15"), False)
    assert (result["count"], result["levels"]) == (1, {"final_notice": 1})    # catching up: the level it is at


def test_the_ladder_comes_from_the_configuration(db, monkeypatch):
    open_receivable(db)
    monkeypatch.setenv("BILLING_DUNNING_LEVELS", "gentle:-10,firm:2")
    assert dunning.configured_policy() == parse_levels("gentle:-10,firm:2")
    result = dunning.dun_receivables(db.uow(), dt.datetime(2026, 3, 25, tzinfo=UTC))
    assert (result["policy"], result["levels"]) == ("gentle:-10,firm:2", {"gentle": 1})
    monkeypatch.setenv("BILLING_DUNNING_LEVELS", "nonsense")
    with pytest.raises(ValidationFailed):
        dunning.configured_policy()


def _buckets(report, currency="CNY") -> dict:
    [row] = [r for r in report["currencies"] if r["currency"] == currency]
    return {b["bucket"]: (b["amount"], b["count"]) for b in row["buckets"] if b["count"]}, row["total"]


def test_the_aging_report_as_of_a_day(db):
    open_receivable(db)                                                  # due 2026-04-01, 1000.00
    partly = open_receivable(db, due_date="2026-02-15", total="500.00")
    payment = payments.submit_payment(db.uow(), OWNER, {"receivable_id": partly["id"], "amount": "200.00",
                                                        "paid_at": paid_at(), "method": "cash",
                                                        "reviewer_id": FINANCE.user_id})
    payments.confirm_payment(db.uow(), FINANCE, payment["id"])
    planned = open_receivable(db, due_date="2026-08-01", total="900.00")
    plans.set_receivable_plan(db.uow(), OWNER, planned["id"], {"instalments": [
        {"amount": "300.00", "due_date": "2026-03-01"}, {"amount": "600.00", "due_date": "2026-08-01"}]})
    open_receivable(db, currency="USD", total="70.00", due_date="2025-12-01")
    report = aging.receivables_aging(db.uow(), FINANCE, {"as_of": "2026-04-10"})
    assert report["as_of"] == "2026-04-10" and [r["currency"] for r in report["currencies"]] == ["CNY", "USD"]
    assert _buckets(report) == ({"current": ("600.00", 1), "1-30": ("1000.00", 1), "31-60": ("600.00", 2)},
                                "2200.00")
    assert _buckets(report, "USD") == ({"90+": ("70.00", 1)}, "70.00")
    earlier = aging.receivables_aging(db.uow(), FINANCE, {"as_of": "2026-03-01", "currency": "CNY"})
    assert _buckets(earlier) == ({"current": ("1900.00", 3), "1-30": ("300.00", 1)}, "2200.00")
    assert [r["currency"] for r in earlier["currencies"]] == ["CNY"]
    assert aging.receivables_aging(db.uow(), OTHER_FINANCE, {"as_of": "2026-04-10"})["currencies"] == []
    assert aging.receivables_aging(db.uow(), ADMIN, {"owner_id": "nobody"})["currencies"] == []


def test_overdue_receivables_per_owner(db):
    first, second = open_receivable(db), open_receivable(db, total="250.50")
    open_receivable(db, due_date="2027-01-01")
    open_receivable(db, owner_id="owner-2", department_id="d1", currency="USD")
    overdue.mark_overdue_receivables(db.uow(), dt.datetime(2026, 4, 5, tzinfo=UTC))
    listed = aging.list_overdue_receivables(db.uow(), OWNER, {"owner_id": OWNER.user_id})["items"]
    assert {r["id"] for r in listed} == {first["id"], second["id"]}
    summary = aging.overdue_by_owner(db.uow(), FINANCE, {"group_by": "owner"})
    assert summary["items"] == [
        {"owner_id": OWNER.user_id, "currency": "CNY", "count": 2, "outstanding_amount": "1250.50"},
        {"owner_id": "owner-2", "currency": "USD", "count": 1, "outstanding_amount": "1000.00"}]
    assert aging.overdue_by_owner(db.uow(), OWNER, {})["items"] == summary["items"][:1]       # a member: own
    assert aging.overdue_by_owner(db.uow(), OTHER_FINANCE, {})["items"] == []
