"""A public pool's shape (``services.customers.domain.pools``), table-driven: its recycle rules'
fields and the rules between them, which rule applies to which level, whose customers it takes,
where a returned customer goes, and its return reasons."""
from __future__ import annotations

import pytest

from crm_kit.errors import InvalidState, ValidationFailed
from services.customers.domain import pools as p

RULE_ERRORS = {
    "one clock is enough": ({"no_follow_up_days": 30}, set()),
    "no clock": ({"level": "A"}, {"_schema"}),
    "unknown level": ({"level": "Z", "no_deal_days": 9}, {"level"}),
    "warning before the shortest clock": ({"no_follow_up_days": 30, "no_deal_days": 10, "warning_days": 9}, set()),
    "warning on the shortest clock": ({"no_follow_up_days": 30, "no_deal_days": 10, "warning_days": 10},
                                      {"warning_days"}),
}


@pytest.mark.parametrize("name", RULE_ERRORS)
def test_rule_errors(name):
    rule, keys = RULE_ERRORS[name]
    assert set(p.rule_errors(rule)) == keys


def test_one_rule_per_level():
    rules = [{"level": "A", "no_deal_days": 5}, {"level": None, "no_deal_days": 5},
             {"level": "A", "no_deal_days": 6}, {"level": None, "no_deal_days": 7}]
    assert set(p.recycle_rules_errors(rules)) == {"2.level", "3.level"}


@pytest.mark.parametrize("data, keys", [
    ({"recycle_enabled": True, "recycle_rules": []}, {"recycle_enabled"}),
    ({"recycle_enabled": True, "recycle_rules": [{"no_deal_days": 3}]}, set()),
    ({"recycle_enabled": False, "recycle_rules": [{"level": "A"}]}, {"recycle_rules.0._schema"}),
])
def test_pool_rule_errors(data, keys):
    assert set(p.pool_rule_errors(data)) == keys


def test_an_update_is_checked_on_the_pool_as_changed():
    current = {"recycle_enabled": True, "recycle_rules": [{"no_deal_days": 3}]}
    with pytest.raises(ValidationFailed):
        p.pool_update(current, {"recycle_rules": []})              # would leave recycling without a rule
    changed = p.pool_update(current, {"recycle_rules": [{"level": "B", "no_follow_up_days": 5}]})
    assert changed["recycle_rules"] == [{**p.RULE_DEFAULTS, "level": "B", "no_follow_up_days": 5}]
    assert p.pool_update(current, {"name": "x"}) == {"name": "x"}


RULES = [{"level": "A", "no_deal_days": 10}, {"level": None, "no_deal_days": 99}]


@pytest.mark.parametrize("rules, level, expected", [
    (RULES, "A", 10), (RULES, "B", 99), (RULES, None, 99),
    ([{"level": "A", "no_deal_days": 10}], "B", None),
    ([], "A", None),
])
def test_rule_for_level(rules, level, expected):
    rule = p.rule_for_level(rules, level)
    assert (rule["no_deal_days"] if rule else None) == expected


@pytest.mark.parametrize("ids, department, takes", [([], "d1", True), (None, None, True), (["d1"], "d1", True),
                                                    (["d2"], "d1", False), (["d2"], None, False)])
def test_takes_department(ids, department, takes):
    assert p.takes_department(ids, department) is takes


# (candidates, requested, came_from) -> the pool, or the error and the message's words
RETURNS = {
    "the requested one": (["p1", "p2"], "p2", "p1", "p2"),
    "the pool it came from": (["p1", "p2"], None, "p2", "p2"),
    "the only candidate": (["p1"], None, "elsewhere", "p1"),
    "several: choose": (["p1", "p2"], None, None, (ValidationFailed, "choose one of: p1, p2")),
    "not a candidate": (["p1"], "p9", None, (ValidationFailed, "choose one of: p1")),
    "no pool at all": ([], None, None, (InvalidState, "no pool")),
}


@pytest.mark.parametrize("name", RETURNS)
def test_choose_return_pool(name):
    candidates, requested, came_from, expected = RETURNS[name]
    if isinstance(expected, str):
        assert p.choose_return_pool("c1", candidates, requested, came_from) == expected
        return
    error, words = expected
    with pytest.raises(error) as exc:
        p.choose_return_pool("c1", candidates, requested, came_from)
    assert words in str(exc.value.extra) + exc.value.detail


@pytest.mark.parametrize("reasons, reason, refused", [([], "anything", False), (["No budget", "Lost"], "Lost", False),
                                                      (["No budget"], "bored", True)])
def test_return_reasons(reasons, reason, refused):
    assert bool(p.return_reason_errors(reasons, reason)) is refused
