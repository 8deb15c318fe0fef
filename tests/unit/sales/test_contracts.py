"""Contracts (合同): the state machine as a table, numbering, signing, voiding, renewing, the renewal
reminder job, and the data scopes; approval through the engine (a stand-in answering as interface 3
of issue 12 says, so the contract's own rules are what is tested here)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Forbidden, InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from services.sales.application import contracts as app
from services.sales.domain import contracts as rules
from services.sales.domain.org import OrgChart, OrgUser
from services.sales.models import Base, Contract, Order
from tests.unit.conftest import ADMIN

UTC = dt.timezone.utc
MEMBER = Principal("u-m1", "member", "d1", ("d1",))
MANAGER = Principal("u-mgr", "manager", "d1", ("d1", "d1a"))
OTHER = Principal("u-m2", "member", "d2", ("d2",))
APPROVER = Principal("u-appr", "member", "d9", ("d9",))
ORG = OrgChart()

# -- the state machine, as a table ----------------------------------------------------------------
ALLOWED = {   # action -> states it is allowed in (everything else: InvalidState)
    "update": {"draft", "rejected"},
    "submit": {"draft", "rejected"},
    "approve": {"pending_approval"},
    "reject": {"pending_approval"},
    "withdraw": {"pending_approval"},
    "sign": {"approved"},
    "expire": {"signed"},
    "void": {"draft", "pending_approval", "approved", "rejected", "signed"},
    "renew": {"signed", "expired"},
}


@pytest.mark.parametrize("action", rules.ACTIONS)
@pytest.mark.parametrize("status", rules.STATUSES)
def test_state_machine(action, status):
    if status in ALLOWED[action]:
        rules.check(action, status)
    else:
        with pytest.raises(InvalidState) as err:
            rules.check(action, status)
        assert err.value.extra == {"action": action, "current_state": status}


@pytest.mark.parametrize("fn, answer, state", [
    (rules.after_submit, "approved", "approved"), (rules.after_submit, "pending", "pending_approval"),
    (rules.after_decision, "approved", "approved"), (rules.after_decision, "rejected", "rejected"),
    (rules.after_decision, "pending", "pending_approval"),
])
def test_states_from_the_engines_answers(fn, answer, state):
    assert fn(answer) == state


D = dt.date


@pytest.mark.parametrize("ours, theirs, state", [
    (None, None, "approved"), (D(2025, 1, 2), None, "approved"), (None, D(2025, 1, 2), "approved"),
    (D(2025, 1, 2), D(2025, 1, 3), "signed")])
def test_signed_once_both_dates_are_there(ours, theirs, state):
    assert rules.after_signing(ours, theirs) == state


@pytest.mark.parametrize("start, end, renewal", [
    (D(2025, 1, 1), D(2025, 12, 31), (D(2026, 1, 1), D(2026, 12, 31))),
    (None, D(2025, 6, 30), (D(2025, 7, 1), None)),
    (D(2025, 1, 1), None, (None, None)),
])
def test_renewal_period(start, end, renewal):
    assert rules.renewal_period(start, end) == renewal


@pytest.mark.parametrize("status, end, notified, as_of, fires, days_left", [
    ("signed", D(2025, 12, 31), False, D(2025, 12, 1), True, 30),     # the first day of the notice
    ("signed", D(2025, 12, 31), False, D(2025, 11, 30), False, None),  # a day too early
    ("signed", D(2025, 12, 31), False, D(2025, 12, 31), True, 0),      # its last day
    ("signed", D(2025, 12, 31), True, D(2025, 12, 10), False, None),   # reminded already
    ("signed", D(2025, 12, 31), False, D(2026, 1, 1), False, None),    # over
    ("approved", D(2025, 12, 31), False, D(2025, 12, 10), False, None),
    ("signed", None, False, D(2025, 12, 10), False, None),
])
def test_expiring_notice(status, end, notified, as_of, fires, days_left):
    rule = rules.expiring_notice(status, end, notified, as_of, 30)
    assert (rule is not None) == fires
    if fires:
        assert rule.applied() == {"rule": "contract_expiring", "end_date": end.isoformat(),
                                  "as_of": as_of.isoformat(), "notice_days": 30, "days_left": days_left}


@pytest.mark.parametrize("status, end, as_of, expired", [
    ("signed", D(2025, 12, 31), D(2026, 1, 1), True), ("signed", D(2025, 12, 31), D(2025, 12, 31), False),
    ("void", D(2025, 12, 31), D(2026, 1, 1), False), ("signed", None, D(2026, 1, 1), False)])
def test_expiry(status, end, as_of, expired):
    assert (rules.expiry(status, end, as_of) is not None) == expired


def test_numbers():
    assert rules.number(2026, 123) == "CT-2026-000123"
    assert rules.number(2026, 1234567) == "CT-2026-1234567"


# -- use cases ------------------------------------------------------------------------------------
class Engine:
    """Stands in for ``application.approvals``: answers what it is told to, records the calls."""

    def __init__(self):
        self.answers, self.calls, self.approvers = [], [], {APPROVER.user_id, ADMIN.user_id}

    def submit(self, uow, principal, org, *, subject_kind, subject_id, facts, approver_id=None):
        self.calls.append(("submit", subject_id, facts, approver_id))
        return self.answers.pop(0) if self.answers else "pending"

    def decide(self, uow, principal, org, *, subject_kind, subject_id, decision, comment=None):
        if principal.user_id not in self.approvers:
            raise Forbidden("Not an approver of this step.", {"action": decision})
        self.calls.append(("decide", subject_id, decision, comment))
        return "approved" if decision == "approve" else "rejected"

    def withdraw(self, uow, principal, *, subject_kind, subject_id):
        self.calls.append(("withdraw", subject_id))

    def current(self, session, subject_kind, subject_id):
        return {"state": "pending"} if any(c[1] == subject_id for c in self.calls) else None


@pytest.fixture
def engine(monkeypatch):
    fake = Engine()
    monkeypatch.setattr(app, "_engine", lambda: fake)
    return fake


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def order(db, customer_id="cust-1", **values) -> str:
    """An order of the orders subject, as its table holds it (contracts only read it)."""
    row = Order(id=new_id(), number=f"SO-{new_id()[-8:]}", customer_id=customer_id, **values)
    with db.session() as s:
        s.add(row)
        s.commit()
    return row.id


def new(db, principal=MEMBER, **data) -> dict:
    body = {"customer_id": "cust-1", "name": "Framework 2025", "amount": "120000.00",
            "start_date": "2025-01-01", "end_date": "2025-12-31", "payment_terms": "30/70", **data}
    return app.create_contract(db.uow(), principal, body)


def signed(db, engine, principal=MEMBER, **data) -> dict:
    contract = new(db, principal, **data)
    engine.answers.append("approved")
    app.submit_contract(db.uow(), principal, ORG, contract["id"])
    return app.sign_contract(db.uow(), principal, contract["id"],
                             {"our_signed_on": "2024-12-19", "customer_signed_on": "2024-12-20"})


def test_create_numbers_each_year_from_one(db, engine):
    o1, o2 = order(db), order(db)
    first, second = new(db), new(db, customer_signatory_name="Ms Keller", order_ids=[o1, o1, o2])
    year = utcnow().year
    assert (first["number"], second["number"]) == (f"CT-{year}-000001", f"CT-{year}-000002")
    assert first["status"] == "draft" and first["approval"] is None
    assert (first["owner_id"], first["department_id"], first["amount"]) == ("u-m1", "d1", "120000.00")
    assert second["order_ids"] == sorted([o1, o2])
    with pytest.raises(ValidationFailed) as err:                    # another customer's order
        new(db, order_ids=[order(db, "cust-2")])
    assert "order_ids" in err.value.errors


@pytest.mark.parametrize("data, field", [
    ({"end_date": "2024-12-31"}, "end_date"), ({"amount": "-1.00"}, "amount"), ({"currency": "yuan"}, "currency"),
    ({"status": "signed"}, "status"), ({"number": "CT-1"}, "number"), ({"owner_id": "u-x"}, "owner_id"),
    ({"our_signed_on": "2024-01-01"}, "our_signed_on"), ({"renews_contract_id": "nope"}, "renews_contract_id"),
])
def test_create_refuses(db, engine, data, field):
    with pytest.raises(ValidationFailed) as err:
        new(db, **data)
    assert field in err.value.errors


def test_the_approval_path(db, engine):
    contract = new(db)
    app.update_contract(db.uow(), MEMBER, contract["id"], {"amount": "150000.00"}, expected_version=1)
    with pytest.raises(StaleVersion):
        app.update_contract(db.uow(), MEMBER, contract["id"], {"amount": "1.00"}, expected_version=1)
    pending = app.submit_contract(db.uow(), MEMBER, ORG, contract["id"], {"approver_id": APPROVER.user_id})
    assert pending["status"] == "pending_approval" and pending["approval"] == {"state": "pending"}
    assert engine.calls[0] == ("submit", contract["id"], {
        "amount": Decimal("150000.00"), "discount_percent": Decimal("0"), "department_id": "d1", "owner_id": "u-m1",
        "kind": "new", "currency": "CNY"}, APPROVER.user_id)
    with pytest.raises(InvalidState):                               # no edit while pending
        app.update_contract(db.uow(), MEMBER, contract["id"], {"amount": "1.00"})
    with pytest.raises(NotFound):                                   # out of scope, not an approver
        app.approve_contract(db.uow(), OTHER, ORG, contract["id"])
    with pytest.raises(Forbidden):                                  # in scope, not an approver
        app.approve_contract(db.uow(), MEMBER, ORG, contract["id"])
    rejected = app.reject_contract(db.uow(), APPROVER, ORG, contract["id"], {"comment": "Terms"})
    assert rejected["status"] == "rejected"
    app.update_contract(db.uow(), MEMBER, contract["id"], {"payment_terms": "50/50"})
    app.submit_contract(db.uow(), MEMBER, ORG, contract["id"])
    assert app.withdraw_contract(db.uow(), MEMBER, contract["id"])["status"] == "draft"
    app.submit_contract(db.uow(), MEMBER, ORG, contract["id"])
    approved = app.approve_contract(db.uow(), APPROVER, ORG, contract["id"], {"comment": "ok"})
    assert approved["status"] == "approved"
    with pytest.raises(InvalidState):                               # approved: immutable
        app.update_contract(db.uow(), MEMBER, contract["id"], {"amount": "1.00"})
    with pytest.raises(InvalidState):
        app.submit_contract(db.uow(), MEMBER, ORG, contract["id"])
    assert [c[0] for c in engine.calls] == ["submit", "decide", "submit", "withdraw", "submit", "decide"]


def test_nothing_to_approve_approves_at_once(db, engine):
    engine.answers.append("approved")
    contract = new(db)
    assert app.submit_contract(db.uow(), MEMBER, ORG, contract["id"])["status"] == "approved"


def test_signing_one_side_then_the_other(db, engine):
    contract = new(db)
    with pytest.raises(InvalidState):
        app.sign_contract(db.uow(), MEMBER, contract["id"], {"our_signed_on": "2024-12-19"})
    engine.answers.append("approved")
    app.submit_contract(db.uow(), MEMBER, ORG, contract["id"])
    with pytest.raises(ValidationFailed):
        app.sign_contract(db.uow(), MEMBER, contract["id"], {})
    tomorrow = (utcnow().date() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as err:
        app.sign_contract(db.uow(), MEMBER, contract["id"], {"customer_signed_on": tomorrow})
    assert "customer_signed_on" in err.value.errors
    half = app.sign_contract(db.uow(), MEMBER, contract["id"], {"our_signed_on": "2024-12-19",
                                                                 "our_signatory_id": "u-boss"})
    assert (half["status"], half["signed_at"]) == ("approved", None) and not db.outbox("contract_signed")
    done = app.sign_contract(db.uow(), MEMBER, contract["id"], {"customer_signed_on": "2024-12-20",
                                                                 "customer_signatory_name": "Ms Keller"})
    assert done["status"] == "signed" and done["signed_at"]
    (event,) = db.outbox("contract_signed")
    payload = event.body["payload"]
    assert {k: payload[k] for k in ("id", "number", "customer_id", "amount", "currency", "start_date", "end_date",
                                    "order_ids", "renews_contract_id", "owner_id", "department_id")} == {
        "id": contract["id"], "number": contract["number"], "customer_id": "cust-1", "amount": "120000.00",
        "currency": "CNY", "start_date": "2025-01-01", "end_date": "2025-12-31", "order_ids": [],
        "renews_contract_id": None, "owner_id": "u-m1", "department_id": "d1"}
    assert payload["signed_at"] == done["signed_at"]


def test_void_from_any_state_but_expired(db, engine):
    pending = new(db)
    app.submit_contract(db.uow(), MEMBER, ORG, pending["id"])
    with pytest.raises(ValidationFailed):
        app.void_contract(db.uow(), MEMBER, pending["id"], "  ")
    voided = app.void_contract(db.uow(), MEMBER, pending["id"], "Customer withdrew")
    assert (voided["status"], voided["void_reason"]) == ("void", "Customer withdrew")
    assert engine.calls[-1] == ("withdraw", pending["id"])          # its approval request went with it
    with pytest.raises(InvalidState):
        app.void_contract(db.uow(), MEMBER, pending["id"], "again")
    contract = signed(db, engine)
    app.remind_expiring_contracts(db.uow(), dt.datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(InvalidState):
        app.void_contract(db.uow(), MEMBER, contract["id"], "too late")


def test_renew(db, engine):
    contract = signed(db, engine, order_ids=[order(db)])
    with pytest.raises(InvalidState):
        app.renew_contract(db.uow(), MEMBER, new(db)["id"])           # a draft is not renewed
    renewal = app.renew_contract(db.uow(), MANAGER, contract["id"])
    assert (renewal["status"], renewal["renews_contract_id"], renewal["start_date"], renewal["end_date"]) == (
        "draft", contract["id"], "2026-01-01", "2026-12-31")
    assert (renewal["owner_id"], renewal["amount"], renewal["order_ids"], renewal["created_by"]) == (
        "u-m1", "120000.00", [], MANAGER.user_id)
    with pytest.raises(Conflict) as err:
        app.renew_contract(db.uow(), MEMBER, contract["id"])
    assert err.value.extra["existing_id"] == renewal["id"]
    engine.answers.append("approved")
    app.submit_contract(db.uow(), MEMBER, ORG, renewal["id"])
    assert engine.calls[-1][2]["kind"] == "renewal"


def test_data_scopes(db, engine):
    mine = new(db)
    assert app.get_contract(db.uow(), MANAGER, mine["id"])["id"] == mine["id"]        # the department's manager
    assert app.get_contract(db.uow(), ADMIN, mine["id"])["id"] == mine["id"]
    for action in (lambda p: app.get_contract(db.uow(), p, mine["id"]),
                   lambda p: app.update_contract(db.uow(), p, mine["id"], {"name": "x"}),
                   lambda p: app.submit_contract(db.uow(), p, ORG, mine["id"]),
                   lambda p: app.void_contract(db.uow(), p, mine["id"], "x"),
                   lambda p: app.contract_history(db.uow(), p, mine["id"])):
        with pytest.raises(NotFound):
            action(OTHER)
    theirs = new(db, OTHER)
    assert [c["id"] for c in app.list_contracts(db.uow(), MEMBER)["items"]] == [mine["id"]]
    assert {c["id"] for c in app.list_contracts(db.uow(), ADMIN)["items"]} == {mine["id"], theirs["id"]}
    assert app.list_contracts(db.uow(), ADMIN, {"status": "void"})["items"] == []
    assert [c["id"] for c in app.list_contracts(db.uow(), ADMIN, {"owner_id": "u-m2"})["items"]] == [theirs["id"]]
    assert "approval" not in app.list_contracts(db.uow(), ADMIN)["items"][0]


def test_the_reminder_job(db, engine):
    soon = signed(db, engine, end_date="2025-12-31")
    later = signed(db, engine, start_date="2025-06-01", end_date="2026-05-31")
    as_of = dt.datetime(2025, 12, 5, 2, 0, tzinfo=UTC)
    first = app.remind_expiring_contracts(db.uow(), as_of, notice_days=30)
    assert (first["reminded"], first["expired"]) == ([soon["id"]], [])
    assert app.remind_expiring_contracts(db.uow(), as_of, notice_days=30)["reminded"] == []     # once
    (event,) = db.outbox("contract_expiring")
    assert event.body["payload"]["rule"] == {"rule": "contract_expiring", "end_date": "2025-12-31",
                                             "as_of": "2025-12-05", "notice_days": 30, "days_left": 26}
    audit = db.metadata.tables["audit_log"]
    with db.session() as s:
        entries = s.execute(audit.select().where(audit.c.entity_id == soon["id"],
                                                 audit.c.action == "contract_expiring")).all()
    assert entries[0].changes["expiring_rule"][1]["days_left"] == 26
    after = app.remind_expiring_contracts(db.uow(), dt.datetime(2026, 1, 1, tzinfo=UTC), notice_days=30)
    assert after == {"as_of": "2026-01-01T00:00:00+00:00", "notice_days": 30, "reminded": [], "expired": [soon["id"]]}
    with db.session() as s:
        assert s.get(Contract, soon["id"]).status == "expired"
        assert s.get(Contract, later["id"]).status == "signed"
        expiry = s.execute(audit.select().where(audit.c.entity_id == soon["id"], audit.c.action == "expire")).all()
    assert any("expiry_rule" in e.changes for e in expiry) and any("status" in e.changes for e in expiry)


def test_through_the_real_approval_engine(db):
    """The contract's approval with ``application.approvals`` itself: one step by the named approver
    (no flow configured), who decides outside their data scope; anyone else out of scope sees nothing."""
    org = OrgChart(users={u.user_id: OrgUser(u.user_id, u.role, u.department_id)
                          for u in (MEMBER, APPROVER, OTHER, MANAGER)},
                   departments={"d1": None, "d1a": "d1", "d2": None, "d9": None})
    contract = new(db)
    pending = app.submit_contract(db.uow(), MEMBER, org, contract["id"], {"approver_id": APPROVER.user_id})
    assert pending["status"] == "pending_approval" and pending["approval"]["state"] == "pending"
    with pytest.raises(NotFound):
        app.approve_contract(db.uow(), OTHER, org, contract["id"])
    with pytest.raises(NotFound):
        app.get_contract(db.uow(), APPROVER, contract["id"])          # reading is still the data scope's
    approved = app.approve_contract(db.uow(), APPROVER, org, contract["id"], {"comment": "Fine"})
    assert approved["status"] == "approved" and approved["approval"]["state"] == "approved"
    assert {r.event_type for r in db.outbox()} >= {"approval_requested", "approval_decided"}
