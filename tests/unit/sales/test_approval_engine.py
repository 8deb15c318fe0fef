"""The approval engine's rules as tables (no database): which flow applies, who approves each step
(named users, a role, the chain of managers, fallback, self-skip), when a step passes (any / all),
where a resubmission starts."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.sales.domain import approvals as rules
from services.sales.domain.approvals import Facts, Flow, PreviousRound, StepSpec
from services.sales.domain.org import OrgChart

ORG = OrgChart.of({
    "departments": [{"id": "hq", "parent_id": None}, {"id": "sales", "parent_id": "hq"},
                    {"id": "east", "parent_id": "sales"}, {"id": "lonely", "parent_id": None},
                    {"id": "nomgr", "parent_id": "sales"}],
    "users": [
        {"id": "admin1", "role": "admin"}, {"id": "admin2", "role": "admin"},
        {"id": "vp", "role": "manager", "department_id": "hq"},
        {"id": "sm", "role": "manager", "department_id": "sales"},
        {"id": "em", "role": "manager", "department_id": "east"},
        {"id": "em2", "role": "manager", "department_id": "east"},
        {"id": "rep", "role": "member", "department_id": "east"},
        {"id": "rep2", "role": "member", "department_id": "east"},
        {"id": "solo", "role": "member", "department_id": "lonely"},
        {"id": "far", "role": "member", "department_id": "nomgr"},
        {"id": "gone", "role": "member", "department_id": "east", "active": False},
        {"id": "gone_mgr", "role": "manager", "department_id": "lonely", "active": False},
    ]})


def facts(**kw) -> Facts:
    base = dict(subject_kind="order", submitter_id="rep", owner_id="rep", department_id="east",
                amount=D("1000"), discount_percent=D("0"), kind=None, currency="CNY")
    return Facts(**{**base, **kw})


def flow(name="f", steps=(StepSpec("managers"),), **kw) -> Flow:
    return Flow(id=kw.pop("id", name), name=name, steps=tuple(steps), **kw)


# -- choosing the flow -------------------------------------------------------------------------
FLOWS = [
    flow("small orders", subject_kind="order", max_amount=D("10000"), priority=1),
    flow("big orders", subject_kind="order", min_amount=D("10000"), priority=1),
    flow("deep discount", min_discount_percent=D("20"), priority=10),
    flow("east framework contracts", subject_kind="contract", kind="framework", department_ids=("east",)),
    flow("quotes in USD", subject_kind="quote", currency="USD"),
    flow("inactive catch-all", priority=100, active=False),
]


@pytest.mark.parametrize("given,expected", [
    (dict(amount=D("9999.99")), "small orders"),
    (dict(amount=D("10000")), "big orders"),                   # min inclusive, max exclusive
    (dict(amount=D("0")), "small orders"),
    (dict(amount=D("50000"), discount_percent=D("20")), "deep discount"),    # higher priority wins
    (dict(amount=D("50000"), discount_percent=D("19.99")), "big orders"),
    (dict(subject_kind="contract", kind="framework"), "east framework contracts"),
    (dict(subject_kind="contract", kind="framework", department_id="sales"), None),   # exact department
    (dict(subject_kind="contract", kind="standard"), None),
    (dict(subject_kind="quote", currency="USD"), "quotes in USD"),
    (dict(subject_kind="quote", currency="CNY"), None),
])
def test_the_applying_flow_of_highest_priority_is_chosen(given, expected):
    chosen = rules.choose_flow(FLOWS, facts(**given))
    assert (chosen.name if chosen else None) == expected


def test_ties_go_to_the_oldest_flow():
    assert rules.choose_flow([flow("b", id="2"), flow("a", id="1")], facts()).name == "a"


@pytest.mark.parametrize("flows,approver_id,expected", [
    ([], None, rules.DEFAULT_FLOW.name),
    ([], "sm", "Named approver"),
    ([flow("configured")], "sm", "configured"),             # a configured flow wins over the named approver
])
def test_no_flow_applies_the_named_approver_else_the_default(flows, approver_id, expected):
    assert rules.flow_for(flows, facts(), approver_id).name == expected


# -- resolving the steps -------------------------------------------------------------------------
@pytest.mark.parametrize("steps,given,expected", [
    # the default: the owner's managers one level up
    ((StepSpec("managers"),), {}, [("managers", ("em", "em2"), False)]),
    # each level its own step, up the department tree
    ((StepSpec("managers", levels=3),), {},
     [("managers", ("em", "em2"), False), ("managers", ("sm",), False), ("managers", ("vp",), False)]),
    # fewer levels above than asked: fewer steps
    ((StepSpec("managers", levels=5),), dict(owner_id="sm", submitter_id="sm"), [("managers", ("vp",), False)]),
    # a department without a manager is passed over
    ((StepSpec("managers"),), dict(owner_id="far", submitter_id="far", department_id="nomgr"),
     [("managers", ("sm",), False)]),
    # nobody above (an inactive manager does not count): the admins
    ((StepSpec("managers"),), dict(owner_id="solo", submitter_id="solo", department_id="lonely"),
     [("fallback_admins", ("admin1", "admin2"), False)]),
    # named users, inactive ones left out; nobody left: fallback
    ((StepSpec("user", user_ids=("sm", "gone")),), {}, [("user", ("sm",), False)]),
    ((StepSpec("user", user_ids=("gone",)),), {}, [("fallback_admins", ("admin1", "admin2"), False)]),
    ((StepSpec("role", role="admin"),), {}, [("role", ("admin1", "admin2"), False)]),
    # self-skip: the submitter is taken out; a step left with nobody is skipped
    ((StepSpec("user", user_ids=("rep",)),), {}, [("user", (), True)]),
    ((StepSpec("user", user_ids=("rep", "sm"), mode="all"),), {}, [("user", ("sm",), False)]),
    ((StepSpec("managers"),), dict(submitter_id="em"), [("managers", ("em2",), False)]),
    # an admin whose own order falls back to the admins: the other admin approves
    ((StepSpec("managers"),), dict(submitter_id="admin1", owner_id="solo", department_id="lonely"),
     [("fallback_admins", ("admin2",), False)]),
    # a manager submitting for their own report: the chain is the owner's; the manager is taken out
    ((StepSpec("managers", levels=2),), dict(submitter_id="sm"), [("managers", ("em", "em2"), False),
                                                                  ("managers", (), True)]),
])
def test_steps_resolve_to_their_approvers(steps, given, expected):
    resolved = rules.resolve_steps(flow(steps=steps), facts(**given), ORG)
    assert [(s.source, s.approver_ids, s.skipped) for s in resolved] == expected
    assert [s.position for s in resolved] == list(range(len(resolved)))


def test_a_named_fallback_user_before_the_admins():
    steps = rules.resolve_steps(flow(steps=(StepSpec("user", user_ids=("gone",)),), fallback_approver_id="vp"),
                                facts(), ORG)
    assert [(s.source, s.approver_ids) for s in steps] == [("fallback_user", ("vp",))]
    inactive = rules.resolve_steps(flow(steps=(StepSpec("user", user_ids=("gone",)),),
                                        fallback_approver_id="gone_mgr"), facts(), ORG)
    assert inactive[0].source == "fallback_admins"


def test_cc_users_are_active_and_not_the_submitter():
    assert rules.cc_for(flow(cc_user_ids=("vp", "gone", "rep", "vp")), ORG, facts()) == ["vp"]


# -- deciding a step -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode,approvers,decisions,expected", [
    ("any", ("a", "b"), {}, "pending"),
    ("any", ("a", "b"), {"a": "approve"}, "approved"),
    ("any", ("a", "b"), {"b": "reject"}, "rejected"),
    ("all", ("a", "b"), {"a": "approve"}, "pending"),
    ("all", ("a", "b"), {"a": "approve", "b": "approve"}, "approved"),
    ("all", ("a", "b"), {"a": "approve", "b": "reject"}, "rejected"),
    ("all", ("a", "b"), {"b": "reject"}, "rejected"),
    ("any", ("a",), {"intruder": "approve"}, "pending"),        # only the step's approvers count
    ("all", (), {}, "pending"),
])
def test_a_step_passes_on_any_or_all_and_fails_on_one_rejection(mode, approvers, decisions, expected):
    assert rules.step_outcome(mode, approvers, decisions) == expected


# -- where a submission starts -----------------------------------------------------------------------
TWO_STEPS = flow("two", steps=(StepSpec("managers", levels=2),), restart="rejected", version=3)


@pytest.mark.parametrize("previous,the_flow,expected", [
    (None, TWO_STEPS, 0),
    (PreviousRound("r1", "two", "rejected", 1, 3), TWO_STEPS, 1),                     # from the rejected step
    (PreviousRound("r1", "two", "rejected", 1, 3), flow("two", restart="first", version=3), 0),
    (PreviousRound("r1", "two", "rejected", 1, 2), TWO_STEPS, 0),                     # the flow changed since
    (PreviousRound("r1", "other", "rejected", 1, 3), TWO_STEPS, 0),                   # another flow applies
    (PreviousRound("r1", "two", "withdrawn", 1, 3), TWO_STEPS, 0),                    # withdrawn: from the first
    (PreviousRound("r1", None, "rejected", 0, None), rules.DEFAULT_FLOW, 0),
])
def test_a_resubmission_restarts_from_the_first_or_the_rejected_step(previous, the_flow, expected):
    assert rules.restart_position(previous, the_flow) == expected


@pytest.mark.parametrize("the_flow,given,previous,state,current,carried", [
    (flow(steps=()), {}, None, "approved", None, 0),                                   # no steps: nothing to decide
    (flow(steps=(StepSpec("user", user_ids=("rep",)),)), {}, None, "approved", None, 0),   # every step skipped
    (flow(steps=(StepSpec("user", user_ids=("rep",)), StepSpec("user", user_ids=("vp",)))), {}, None,
     "pending", 1, 0),
    (TWO_STEPS, {}, PreviousRound("r1", "two", "rejected", 1, 3), "pending", 1, 1),
])
def test_a_submission_plans_its_first_step(the_flow, given, previous, state, current, carried):
    plan = rules.plan_submission([the_flow], facts(**given), ORG, previous=previous)
    assert (plan.state, plan.current, plan.carried) == (state, current, carried)
