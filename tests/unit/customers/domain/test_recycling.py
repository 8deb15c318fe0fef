"""The recycle rules (``services.customers.domain.recycling``), table-driven: each clock, each
exemption, levels, locks, which pool takes a customer, warnings, and what the query may narrow on."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from services.customers.domain import recycling as r

T0 = dt.datetime(2024, 11, 1, 9, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def facts(**kw) -> r.CustomerFacts:
    base = dict(owner_id="u1", department_id="d1", level="B", owner_since=T0, created_at=T0 - 100 * DAY)
    return r.CustomerFacts(**{**base, **kw})


def rule(**kw) -> r.RecycleRule:
    return r.RecycleRule.of({"level": None, **kw})


# -- each clock: (facts, rule, as_of) -> (due, clock, since, days) --------------------------------
CLOCK_CASES = {
    "no follow-up: from receipt when never followed": (
        facts(), rule(no_follow_up_days=30), T0 + 30 * DAY, (True, "no_follow_up", T0, 30)),
    "no follow-up: a second before": (
        facts(), rule(no_follow_up_days=30), T0 + 30 * DAY - dt.timedelta(seconds=1), (False, "no_follow_up", T0, 30)),
    "no follow-up: from the last follow-up when later": (
        facts(last_followed_at=T0 + 10 * DAY), rule(no_follow_up_days=30), T0 + 35 * DAY,
        (False, "no_follow_up", T0 + 10 * DAY, 30)),
    "no follow-up: a follow-up before receipt does not count": (
        facts(last_followed_at=T0 - 50 * DAY), rule(no_follow_up_days=30), T0 + 30 * DAY,
        (True, "no_follow_up", T0, 30)),
    "no opportunity: from receipt": (
        facts(), rule(no_opportunity_days=60), T0 + 60 * DAY, (True, "no_opportunity", T0, 60)),
    "no opportunity: from the last new opportunity when later": (
        facts(last_opportunity_at=T0 + 5 * DAY), rule(no_opportunity_days=60), T0 + 64 * DAY,
        (False, "no_opportunity", T0 + 5 * DAY, 60)),
    "no opportunity: an old opportunity does not count": (
        facts(last_opportunity_at=T0 - DAY), rule(no_opportunity_days=60), T0 + 60 * DAY,
        (True, "no_opportunity", T0, 60)),
    "no deal: from receipt": (
        facts(), rule(no_deal_days=90, exempt_deals=False), T0 + 90 * DAY, (True, "no_deal", T0, 90)),
    "no deal: from a deal after receipt": (
        facts(deal_status="deal", deal_at=T0 + 20 * DAY), rule(no_deal_days=90, exempt_deals=False),
        T0 + 100 * DAY, (False, "no_deal", T0 + 20 * DAY, 90)),
    "no deal: from the last deal when later than the first": (
        facts(deal_status="deal", deal_at=T0 + 20 * DAY, last_deal_at=T0 + 40 * DAY),
        rule(no_deal_days=90, exempt_deals=False), T0 + 130 * DAY, (True, "no_deal", T0 + 40 * DAY, 90)),
    "a follow-up does not stop the no-deal clock": (
        facts(last_followed_at=T0 + 89 * DAY), rule(no_follow_up_days=30, no_deal_days=90), T0 + 90 * DAY,
        (True, "no_deal", T0, 90)),
    "the first clock due fires": (
        facts(last_followed_at=T0 + 50 * DAY), rule(no_follow_up_days=30, no_opportunity_days=60),
        T0 + 90 * DAY, (True, "no_opportunity", T0, 60)),
    "ties: in the order of the clocks": (
        facts(), rule(no_follow_up_days=30, no_opportunity_days=30), T0 + 30 * DAY, (True, "no_follow_up", T0, 30)),
    "not due: the clock that will fire first": (
        facts(last_followed_at=T0 + 20 * DAY), rule(no_follow_up_days=30, no_opportunity_days=45), T0,
        (False, "no_opportunity", T0, 45)),
    "receipt unknown: from the creation": (
        facts(owner_since=None), rule(no_follow_up_days=30), T0 - 70 * DAY, (True, "no_follow_up", T0 - 100 * DAY, 30)),
    "claimed again: every clock starts afresh at receipt": (
        facts(owner_since=T0 + 200 * DAY, last_followed_at=T0), rule(no_follow_up_days=30, no_opportunity_days=30),
        T0 + 229 * DAY, (False, "no_follow_up", T0 + 200 * DAY, 30)),
}


@pytest.mark.parametrize("case", CLOCK_CASES)
def test_each_clock(case):
    subject, the_rule, as_of, (due, clock, since, days) = CLOCK_CASES[case]
    decision = r.decide(subject, the_rule, as_of)
    assert decision.exempt is None
    assert (decision.due, decision.clock.name, decision.clock.since, decision.clock.days) == (due, clock, since, days)
    assert decision.due_at == since + days * DAY
    applied = decision.applied()
    inputs = applied.pop("inputs")
    assert applied == {"level": None, "clock": clock, "days": days, "since": since, "due_at": since + days * DAY}
    # the inputs are the customer's own times, and the clock counted from the latest of them
    assert set(inputs) >= {"owner_since", *r.clock_inputs(clock)}
    assert max(t for t in inputs.values() if t is not None) == since
    assert all(getattr(subject, name) == value for name, value in inputs.items())


# -- exemptions and locks: (facts, rule) -> the exemption, as of long after every clock ---------------
LATE = T0 + 3650 * DAY
EXEMPTIONS = {
    "locked: never": (facts(locked=True), rule(no_follow_up_days=1, exempt_deals=False), "locked"),
    "locked deal customer: the lock says": (facts(locked=True, deal_status="deal"), rule(no_follow_up_days=1),
                                            "locked"),
    "deal customer, exempt (the default)": (facts(deal_status="deal"), rule(no_follow_up_days=1), "deal"),
    "deal customer, not exempt": (facts(deal_status="deal"), rule(no_follow_up_days=1, exempt_deals=False), None),
    "open opportunities, exempt": (facts(open_opportunities=2), rule(no_follow_up_days=1,
                                                                     exempt_open_opportunities=True),
                                   "open_opportunities"),
    "open opportunities, not exempt (the default)": (facts(open_opportunities=2), rule(no_follow_up_days=1), None),
    "no open opportunity left": (facts(open_opportunities=0), rule(no_follow_up_days=1,
                                                                   exempt_open_opportunities=True), None),
    "in a pool (no owner)": (facts(owner_id=None), rule(no_follow_up_days=1), "not_owned"),
    "no rule for it": (facts(), None, "no_rule"),
}


@pytest.mark.parametrize("case", EXEMPTIONS)
def test_exemptions_and_locks(case):
    subject, the_rule, exempt = EXEMPTIONS[case]
    decision = r.decide(subject, the_rule, LATE)
    assert decision.exempt == exempt
    assert decision.due is (exempt is None)
    if exempt is not None:
        assert decision.warning_at is None and r.recycle_warning(decision, LATE) is None


# -- levels: the level's own rule, else the rule for any other level ------------------------------------
POOL = r.PoolRecycling("p1", rules=(
    {"level": "A", "no_follow_up_days": 60},
    {"level": None, "no_follow_up_days": 10, "warning_days": 3},
))
LEVELS = {"A": (60, None), "B": (10, 3), None: (10, 3)}


@pytest.mark.parametrize("level", LEVELS)
def test_levels(level):
    days, warning = LEVELS[level]
    the_rule = POOL.rule_for(level)
    assert (the_rule.no_follow_up_days, the_rule.warning_days) == (days, warning)
    _, decision = r.decide_for(facts(level=level), [POOL], T0 + days * DAY)
    assert decision.due and decision.clock.days == days
    _, earlier = r.decide_for(facts(level=level), [POOL], T0 + days * DAY - dt.timedelta(minutes=1))
    assert not earlier.due


def test_a_pool_with_rules_only_for_other_levels_keeps_the_customer():
    only_a = r.PoolRecycling("p1", rules=({"level": "A", "no_follow_up_days": 1},))
    pool, decision = r.decide_for(facts(level="C"), [only_a], LATE)
    assert pool is only_a and decision.exempt == "no_rule" and not decision.due


# -- which pool takes the customer ------------------------------------------------------------------
def pool(ident, priority=0, departments=(), enabled=True):
    return r.PoolRecycling(ident, priority, tuple(departments), ({"level": None, "no_follow_up_days": 5},), enabled)


TAKING = {
    "the only pool": ([pool("p1")], "d1", "p1"),
    "a pool for everyone's": ([pool("p1", departments=["d2"]), pool("p2")], "d1", "p2"),
    "the department's pool": ([pool("p1", departments=["d1"]), pool("p2", departments=["d2"])], "d2", "p2"),
    "no pool for the department": ([pool("p1", departments=["d1"])], "d9", None),
    "higher priority first": ([pool("p1", 1), pool("p2", 5), pool("p3", 3)], "d1", "p2"),
    "equal priority: the oldest": ([pool("p2", 1), pool("p1", 1)], "d1", "p1"),
    "priority over breadth": ([pool("p1", 0), pool("p2", 2, ["d1"])], "d1", "p2"),
    "a pool that does not recycle takes none": ([pool("p1", 9, enabled=False), pool("p2")], "d1", "p2"),
    "an owner without a department: only the pools for everyone's": (
        [pool("p1", 5, ["d1"]), pool("p2")], None, "p2"),
}


@pytest.mark.parametrize("case", TAKING)
def test_which_pool_takes_the_customer(case):
    pools, department, expected = TAKING[case]
    taken = r.pool_taking(pools, department)
    assert (taken.id if taken else None) == expected


def test_only_the_taking_pools_rule_decides():
    strict = r.PoolRecycling("p1", 9, ("d1",), ({"level": None, "no_follow_up_days": 100},))
    lax = r.PoolRecycling("p2", 0, (), ({"level": None, "no_follow_up_days": 1},))
    pool_, decision = r.decide_for(facts(), [lax, strict], T0 + 50 * DAY)
    assert pool_ is strict and not decision.due


# -- warnings -----------------------------------------------------------------------------------------
WARNINGS = [
    (rule(no_follow_up_days=10, warning_days=3), T0 + 7 * DAY, T0 + 10 * DAY),
    (rule(no_follow_up_days=10, warning_days=3), T0 + 7 * DAY - dt.timedelta(seconds=1), None),
    (rule(no_follow_up_days=10), T0 + 99 * DAY, None),                      # no warning days: no warning
    (rule(no_follow_up_days=10, no_deal_days=5, warning_days=2, exempt_deals=False), T0 + 3 * DAY,
     T0 + 5 * DAY),                                                         # the first clock's warning
]


@pytest.mark.parametrize("the_rule, due_before, expected", WARNINGS)
def test_warning_days_before(the_rule, due_before, expected):
    decision = r.decide(facts(), the_rule, due_before)
    assert r.recycle_warning(decision, due_before) == expected


# -- stored rules -------------------------------------------------------------------------------------
def test_stored_rules_are_read_with_their_defaults_and_checked():
    got = r.RecycleRule.of({"level": "A", "no_deal_days": 30})
    assert (got.exempt_deals, got.exempt_open_opportunities, got.warning_days) == (True, False, None)
    for broken in ({"level": "A"}, {"level": "Z", "no_deal_days": 3},
                   {"no_follow_up_days": 3, "warning_days": 3}, "not a rule"):
        with pytest.raises(ValueError):
            r.RecycleRule.of(broken)
    bad_pool = r.PoolRecycling("p1", rules=({"level": None},))
    assert bad_pool.errors() and not POOL.errors()


# -- the candidate query selects every due customer -----------------------------------------------------
def selected(subject: r.CustomerFacts, limits: r.Thresholds) -> bool:
    """What ``application.recycling.candidate_clause`` says, in Python."""
    if subject.owner_id is None or subject.locked:
        return False
    if limits.skip_deals and subject.deal_status == "deal":
        return False
    if limits.skip_open_opportunities and subject.open_opportunities:
        return False
    received = subject.owner_since or subject.created_at
    for clock, stale in limits.stale_before.items():
        inputs = [getattr(subject, name) for name in r.clock_inputs(clock)]
        if received <= stale and all(t is None or t <= stale for t in inputs):
            return True
    return False


@pytest.mark.parametrize("case", list(CLOCK_CASES) + list(EXEMPTIONS))
def test_the_query_narrows_but_never_misses(case):
    if case in CLOCK_CASES:
        subject, the_rule, as_of, _ = CLOCK_CASES[case]
    else:
        subject, the_rule, _ = EXEMPTIONS[case]
        as_of = LATE
    if the_rule is None:
        return
    raw = {k: v for k, v in dataclasses.asdict(the_rule).items()}
    pools = [r.PoolRecycling("p1", rules=(raw, {**raw, "level": "A", "no_follow_up_days": 400,
                                                 "no_opportunity_days": None, "no_deal_days": None}))]
    limits = r.thresholds(pools, as_of)
    _, decision = r.decide_for(subject, pools, as_of)
    assert selected(subject, limits) or not decision.due


def test_thresholds():
    assert r.thresholds([], T0) is None
    assert r.thresholds([pool("p1", enabled=False)], T0) is None
    pools = [r.PoolRecycling("p1", rules=({"level": "A", "no_follow_up_days": 30, "exempt_deals": False},
                                          {"level": None, "no_follow_up_days": 10, "no_deal_days": 50}))]
    limits = r.thresholds(pools, T0, ahead=2 * DAY)
    assert limits.stale_before == {"no_follow_up": T0 - 8 * DAY, "no_deal": T0 - 48 * DAY}
    assert (limits.skip_deals, limits.skip_open_opportunities) == (False, False)
    assert r.longest_warning([r.PoolRecycling("p", rules=({"warning_days": 4}, {"warning_days": None}))]) == 4 * DAY
