"""The approval engine's use cases on SQLite: submit / decide / withdraw / current inside the subject's
unit of work, the events they raise, flows administration, ``/me/approvals``, one request's
visibility, and the bypass attempts refused (deciding for someone else, twice, with nothing pending,
submitting twice, naming oneself as approver)."""
from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, Forbidden, InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.runtime.rpc_client import ServiceRpc
from services.sales.application import approval_flows as flows
from services.sales.application import approvals as engine
from services.sales.dependencies import OrgDirectory
from services.sales.domain.org import OrgChart
from services.sales.models import Base

ORG = OrgChart.of({
    "departments": [{"id": "hq", "parent_id": None}, {"id": "sales", "parent_id": "hq"},
                    {"id": "east", "parent_id": "sales"}],
    "users": [{"id": "admin1", "role": "admin"}, {"id": "admin2", "role": "admin"},
              {"id": "vp", "role": "manager", "department_id": "hq"},
              {"id": "sm", "role": "manager", "department_id": "sales"},
              {"id": "em", "role": "manager", "department_id": "east"},
              {"id": "em2", "role": "manager", "department_id": "east"},
              {"id": "rep", "role": "member", "department_id": "east"},
              {"id": "rep2", "role": "member", "department_id": "east"},
              {"id": "gone", "role": "member", "department_id": "east", "active": False}]})


def who(user_id: str) -> Principal:
    user = ORG.users[user_id]
    return Principal(user_id, user.role, user.department_id, (user.department_id,) if user.department_id else ())


ADMIN, REP, EM, EM2, SM, VP, REP2 = (who(u) for u in ("admin1", "rep", "em", "em2", "sm", "vp", "rep2"))
FACTS = {"amount": D("12000.00"), "discount_percent": D("5"), "department_id": "east", "owner_id": "rep",
         "kind": None, "currency": "CNY"}


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def submit(db, principal=REP, subject_id="o1", facts=FACTS, kind="order", **kw):
    uow = db.uow()
    with uow:
        state = engine.submit(uow, principal, ORG, subject_kind=kind, subject_id=subject_id, facts=facts, **kw)
        uow.commit()
    return state


def decide(db, principal, decision="approve", subject_id="o1", comment=None, kind="order"):
    uow = db.uow()
    with uow:
        state = engine.decide(uow, principal, ORG, subject_kind=kind, subject_id=subject_id, decision=decision,
                              comment=comment)
        uow.commit()
    return state


def current(db, subject_id="o1", kind="order"):
    with db.session() as session:
        return engine.current(session, kind, subject_id)


def payloads(db, event_type):
    return [(json.loads(r.body) if isinstance(r.body, str) else r.body)["payload"] for r in db.outbox(event_type)]


def make_flow(db, **data):
    return flows.create_approval_flow(db.uow(), ADMIN, ORG, {"name": "flow", **data})


# -- the default ------------------------------------------------------------------------------------
def test_the_default_is_the_owners_manager_one_level_up(db):
    assert submit(db) == "pending"
    request = current(db)
    assert request["flow_id"] is None and request["state"] == "pending" and request["current_step"] == 0
    assert request["steps"][0]["approver_ids"] == ["em", "em2"] and request["steps"][0]["mode"] == "any"
    with pytest.raises(Forbidden):
        decide(db, SM)                                    # not an approver of this step
    assert decide(db, EM, comment="fine") == "approved"
    request = current(db)
    assert request["state"] == "approved" and request["decided_at"]
    assert [(d["user_id"], d["decision"], d["comment"]) for d in request["decisions"]] == [("em", "approve", "fine")]
    (requested,), (decided,) = payloads(db, "approval_requested"), payloads(db, "approval_decided")
    assert requested["approver_ids"] == ["em", "em2"] and requested["state"] == "pending"
    assert (decided["decision"], decided["decided_by"], decided["state"]) == ("approve", "em", "approved")
    assert decided["subject_kind"] == "order" and decided["subject_id"] == "o1" and decided["amount"] == "12000.00"


def test_a_named_approver_when_no_flow_applies(db):
    assert submit(db, approver_id="vp") == "pending"
    assert current(db)["steps"][0]["approver_ids"] == ["vp"]
    with pytest.raises(Forbidden):
        decide(db, EM)
    assert decide(db, VP, "reject", comment="too cheap") == "rejected"


@pytest.mark.parametrize("approver_id", ["rep", "gone", "nobody"])
def test_the_named_approver_must_be_someone_else_active(db, approver_id):
    with pytest.raises(ValidationFailed) as exc:
        submit(db, approver_id=approver_id)
    assert "approver_id" in exc.value.errors


def test_nothing_is_pending_twice_and_nothing_is_decided_when_none_is_pending(db):
    with pytest.raises(InvalidState):
        decide(db, EM)                                    # never submitted
    submit(db)
    with pytest.raises(InvalidState):
        submit(db)                                        # already pending
    decide(db, EM)
    with pytest.raises(InvalidState):
        decide(db, EM2)                                   # approved already: nothing pending


def test_two_submissions_racing_meet_at_the_unique_pending_index(db, monkeypatch):
    submit(db)
    monkeypatch.setattr(engine, "pending_request", lambda *a: None)     # the other one did not see it yet
    with pytest.raises(InvalidState):
        submit(db)
    assert current(db)["round"] == 1


def test_no_steps_approves_at_once_and_every_step_skipped_too(db):
    make_flow(db, name="small", max_amount="100.00", steps=[])
    make_flow(db, name="own", min_amount="100.00", steps=[{"approver": "user", "user_ids": ["rep"]}])
    assert submit(db, facts={**FACTS, "amount": D("50")}) == "approved"
    assert submit(db, subject_id="o2") == "approved"
    request = current(db, "o2")
    assert request["steps"][0]["state"] == "skipped"
    assert [d["decision"] for d in request["decisions"]] == ["skip"]
    assert [p["decided_by"] for p in payloads(db, "approval_decided")] == [None, None]


def test_an_approval_covers_only_the_facts_it_was_given(db):
    with db.session() as session:
        assert not engine.approved_for(session, "order", "o1", FACTS)        # never submitted
    submit(db)
    with db.session() as session:
        assert not engine.approved_for(session, "order", "o1", FACTS)        # pending
    decide(db, EM)
    with db.session() as session:
        assert engine.approved_for(session, "order", "o1", FACTS)
        assert engine.approved_for(session, "order", "o1", {**FACTS, "amount": "12000"})
        assert not engine.approved_for(session, "order", "o1", {**FACTS, "amount": D("12000.01")})   # edited
        assert not engine.approved_for(session, "order", "o1", {**FACTS, "discount_percent": D("30")})
        assert not engine.approved_for(session, "order", "o2", FACTS)        # a copy is not approved


# -- flows --------------------------------------------------------------------------------------------
def test_all_must_agree_then_the_chain_level_by_level_with_cc(db):
    make_flow(db, name="big orders", subject_kind="order", min_amount="10000.00", cc_user_ids=["admin2"],
              steps=[{"approver": "user", "user_ids": ["em", "em2"], "mode": "all", "name": "Both east managers"},
                     {"approver": "managers", "levels": 3}])
    assert submit(db) == "pending"
    request = current(db)
    # managers 3 levels up from rep: em+em2 (east), sm (sales), vp (hq): each level its own step
    assert [s["approver_ids"] for s in request["steps"]] == [["em", "em2"], ["em", "em2"], ["sm"], ["vp"]]
    assert request["cc_user_ids"] == ["admin2"]
    assert decide(db, EM) == "pending"
    assert current(db)["current_step"] == 0               # all: em2 still to agree
    with pytest.raises(InvalidState):
        decide(db, EM)                                    # once each
    assert decide(db, EM2) == "pending"
    assert decide(db, EM2) == "pending"                   # level 1 (any)
    assert decide(db, SM) == "pending"
    assert decide(db, VP) == "approved"
    assert [p["approver_ids"] for p in payloads(db, "approval_requested")] == [
        ["em", "em2"], ["em", "em2"], ["sm"], ["vp"]]
    cc = flows.list_my_approvals(db.uow(), who("admin2"), {"kind": "cc"})["items"]
    assert [(i["kind"], i["subject_id"], i["state"]) for i in cc] == [("cc", "o1", "approved")]


def test_a_rejection_by_anyone_and_the_restart(db):
    two_steps = [{"approver": "user", "user_ids": ["em"]}, {"approver": "user", "user_ids": ["sm"]}]
    make_flow(db, name="orders: restart first", subject_kind="order", steps=two_steps)
    quotes = make_flow(db, name="quotes: restart rejected", subject_kind="quote", restart="rejected", steps=two_steps)
    submit(db)
    decide(db, EM)
    assert decide(db, SM, "reject", comment="no") == "rejected"
    assert submit(db) == "pending"
    again = current(db)
    assert again["round"] == 2 and again["current_step"] == 0           # restart: first
    assert again["previous_request_id"]

    submit(db, kind="quote", subject_id="q1")
    decide(db, EM, kind="quote", subject_id="q1", comment="good")
    decide(db, SM, "reject", kind="quote", subject_id="q1")
    assert submit(db, kind="quote", subject_id="q1") == "pending"
    second = current(db, "q1", "quote")
    assert second["round"] == 2 and second["current_step"] == 1          # restart: rejected
    assert second["steps"][0]["state"] == "approved" and second["steps"][0]["carried_from_request_id"]
    # the earlier approval stays on record, shown with the step it carried
    assert [(d["user_id"], d["decision"], d["comment"]) for d in second["decisions"]] == [("em", "approve", "good")]
    with pytest.raises(Forbidden):
        decide(db, EM, kind="quote", subject_id="q1")       # step 0 is done: em is not step 1's approver
    assert decide(db, SM, "reject", kind="quote", subject_id="q1") == "rejected"
    # the flow changed since that rejection: the next submission starts from the first step
    flows.update_approval_flow(db.uow(), ADMIN, ORG, quotes["id"], {"priority": 3})
    submit(db, kind="quote", subject_id="q1")
    assert current(db, "q1", "quote")["current_step"] == 0


def test_a_withdrawn_request_starts_again_from_the_first_step(db):
    make_flow(db, restart="rejected", steps=[{"approver": "user", "user_ids": ["em"]},
                                             {"approver": "user", "user_ids": ["sm"]}])
    submit(db)
    decide(db, EM)
    uow = db.uow()
    with uow:
        assert engine.withdraw(uow, REP, subject_kind="order", subject_id="o1") == "withdrawn"
        uow.commit()
    assert current(db)["state"] == "withdrawn"
    assert payloads(db, "approval_decided")[-1]["decision"] == "withdraw"
    uow = db.uow()
    with uow, pytest.raises(InvalidState):
        engine.withdraw(uow, REP, subject_kind="order", subject_id="o1")
    submit(db)
    assert current(db)["current_step"] == 0


def test_a_flow_for_quotes_does_not_apply_to_orders(db):
    make_flow(db, subject_kind="quote", steps=[{"approver": "role", "role": "admin"}])
    submit(db, kind="quote", subject_id="q1")
    submit(db, subject_id="o1")
    assert current(db, "q1", "quote")["steps"][0]["approver_ids"] == ["admin1", "admin2"]
    assert current(db, "o1")["steps"][0]["approver_ids"] == ["em", "em2"]


def test_an_admin_stands_in_only_when_every_approver_has_left(db):
    submit(db, approver_id="vp")
    with pytest.raises(Forbidden):
        decide(db, ADMIN)
    left = OrgChart(users={k: v for k, v in ORG.users.items() if k != "vp"}, departments=ORG.departments)
    uow = db.uow()
    with uow:
        assert engine.decide(uow, ADMIN, left, subject_kind="order", subject_id="o1", decision="approve") == \
            "approved"
        uow.commit()


# -- flows administration --------------------------------------------------------------------------------
def test_flows_are_administered_by_admins(db):
    with pytest.raises(Forbidden):
        flows.create_approval_flow(db.uow(), SM, ORG, {"name": "x"})
    flow = make_flow(db, name="Discounts", min_discount_percent="20", priority=5,
                     steps=[{"approver": "managers", "levels": 2, "mode": "all"}])
    assert flow["steps"] == [{"position": 0, "name": None, "approver": "managers", "mode": "all", "user_ids": [],
                              "role": None, "levels": 2}]
    assert flow["min_discount_percent"] == "20.00" and flow["restart"] == "first"
    with pytest.raises(Duplicate):
        make_flow(db, name="Discounts")
    assert [f["id"] for f in flows.list_approval_flows(db.uow(), ADMIN, {})["items"]] == [flow["id"]]
    changed = flows.update_approval_flow(db.uow(), ADMIN, ORG, flow["id"],
                                         {"steps": [{"approver": "user", "user_ids": ["vp"]}]}, flow["version"])
    assert changed["version"] == flow["version"] + 1 and changed["steps"][0]["user_ids"] == ["vp"]
    with pytest.raises(StaleVersion):
        flows.update_approval_flow(db.uow(), ADMIN, ORG, flow["id"], {"priority": 1}, flow["version"])
    with pytest.raises(Forbidden):
        flows.get_approval_flow(db.uow(), REP, flow["id"])
    flows.delete_approval_flow(db.uow(), ADMIN, flow["id"])
    with pytest.raises(NotFound):
        flows.get_approval_flow(db.uow(), ADMIN, flow["id"])


@pytest.mark.parametrize("data,field", [
    ({"steps": [{"approver": "user"}]}, "steps.0.user_ids"),
    ({"steps": [{"approver": "role"}]}, "steps.0.role"),
    ({"steps": [{"approver": "user", "user_ids": ["gone"]}]}, "steps.0.user_ids"),
    ({"steps": [{"approver": "managers", "levels": 11}]}, "steps.0.levels"),
    ({"fallback_approver_id": "nobody"}, "fallback_approver_id"),
    ({"cc_user_ids": ["gone"]}, "cc_user_ids"),
    ({"min_amount": "10.00", "max_amount": "10.00"}, "max_amount"),
    ({"restart": "sometimes"}, "restart"),
    ({"subject_kind": "invoice"}, "subject_kind"),
    ({"min_discount_percent": "101"}, "min_discount_percent"),
])
def test_a_flow_refuses_what_it_cannot_run(db, data, field):
    with pytest.raises(ValidationFailed) as exc:
        make_flow(db, **data)
    assert field in exc.value.errors


# -- what waits for me, and who sees a request ----------------------------------------------------------
def test_my_approvals_lists_what_waits_for_me_until_I_decide(db):
    make_flow(db, cc_user_ids=["vp"], steps=[{"approver": "user", "user_ids": ["em", "em2"], "mode": "all"},
                                             {"approver": "user", "user_ids": ["sm"]}])
    submit(db, subject_id="o1")
    submit(db, subject_id="o2", principal=REP2, facts={**FACTS, "owner_id": "rep2"})
    mine = flows.list_my_approvals(db.uow(), EM, {})["items"]
    assert [(i["kind"], i["subject_id"], i["step"], i["submitted_by"]) for i in mine] == [
        ("approve", "o2", 0, "rep2"), ("approve", "o1", 0, "rep")]
    assert mine[0]["amount"] == "12000.00" and mine[0]["subject_kind"] == "order"
    assert flows.list_my_approvals(db.uow(), SM, {})["items"] == []        # not yet its step
    decide(db, EM, subject_id="o1")
    assert [i["subject_id"] for i in flows.list_my_approvals(db.uow(), EM, {})["items"]] == ["o2"]
    decide(db, EM2, subject_id="o1")
    assert [i["subject_id"] for i in flows.list_my_approvals(db.uow(), SM, {"kind": "approve"})["items"]] == ["o1"]
    assert {i["kind"] for i in flows.list_my_approvals(db.uow(), VP, {})["items"]} == {"cc"}
    page = flows.list_my_approvals(db.uow(), VP, {"limit": 1})
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = flows.list_my_approvals(db.uow(), VP, {"limit": 1, "cursor": page["next_cursor"]})
    assert [i["subject_id"] for i in page["items"] + rest["items"]] == ["o2", "o1"]


def test_a_request_is_seen_by_those_it_concerns(db):
    make_flow(db, cc_user_ids=["vp"], steps=[{"approver": "user", "user_ids": ["em"]}])
    submit(db)
    request_id = current(db)["id"]
    for principal in (REP, EM, VP, ADMIN):
        assert flows.get_approval_request(db.uow(), principal, request_id)["id"] == request_id
    for principal in (SM, REP2):
        with pytest.raises(NotFound):
            flows.get_approval_request(db.uow(), principal, request_id)


# -- the organisation dependency ---------------------------------------------------------------------
def test_the_org_chart_is_fetched_from_the_gateway_once_while_fresh(monkeypatch):
    calls = []

    class Gateway:
        def org_chart(self):
            calls.append(1)
            return {"users": [{"id": "u", "role": "admin", "department_id": None, "active": True}],
                    "departments": []}
    monkeypatch.setattr(ServiceRpc, "get_dependency", lambda self, worker_ctx: Gateway())
    directory = OrgDirectory(ttl=60)
    assert directory.target_service == "gateway"
    org = directory.get_dependency(worker_ctx=None)         # the worker's ``self.org``
    assert org().with_role("admin") == ["u"]
    assert org().user("u") is not None and directory.get_dependency(None)().user("u") is not None
    assert len(calls) == 1
    directory.ttl = 0                                      # stale: asked again
    org()
    assert len(calls) == 2


def test_the_org_chart_is_fetched_again_for_a_caller_it_does_not_know():
    """A user created a moment ago (within the cache's TTL) is known at once, not after it."""
    directory = OrgDirectory(ttl=60)
    answers = [{"users": [{"id": "u1", "role": "member"}]},
               {"users": [{"id": "u1", "role": "member"}, {"id": "u2", "role": "manager"}]}]
    fetches = []

    def fetch():
        fetches.append(1)
        return answers[len(fetches) - 1]

    assert set(directory.chart(fetch, "u1").users) == {"u1"}
    assert set(directory.chart(fetch, "u1").users) == {"u1"} and len(fetches) == 1     # cached
    assert set(directory.chart(fetch, "u2").users) == {"u1", "u2"} and len(fetches) == 2
    assert set(directory.chart(fetch, None).users) == {"u1", "u2"} and len(fetches) == 2


def test_the_org_chart_is_fetched_again_for_a_user_or_department_the_request_names():
    """A target set for a user (or department) created a moment ago: the chart is asked again for it."""
    directory = OrgDirectory(ttl=60)
    answers = [{"users": [{"id": "admin", "role": "admin"}], "departments": [{"id": "d1"}]},
               {"users": [{"id": "admin", "role": "admin"}, {"id": "u9", "role": "member"}],
                "departments": [{"id": "d1"}, {"id": "d2", "parent_id": "d1"}]}]
    fetches = []

    def fetch():
        fetches.append(1)
        return answers[min(len(fetches), 2) - 1]

    assert directory.chart(fetch, "admin", ("d1",)).departments == {"d1": None}
    assert set(directory.chart(fetch, "admin", ("u9",)).users) == {"admin", "u9"} and len(fetches) == 2
    assert "d2" in directory.chart(fetch, "admin", ("d2",)).departments and len(fetches) == 2   # known now
    directory.chart(fetch, "admin", ("nobody",))        # unknown to the fresh chart too: asked, then refused
    assert len(fetches) == 3
