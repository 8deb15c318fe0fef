"""Dunning levels as tables (services/billing/domain/dunning.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.errors import ValidationFailed
from services.billing.domain.dunning import DEFAULT_POLICY, Policy, describe, parse_levels, reminder_due

DUE = dt.date(2026, 12, 10)
OWED = Decimal("500.00")


def day(offset: int) -> dt.date:
    return DUE + dt.timedelta(days=offset)


@pytest.mark.parametrize("as_of_offset,sent,expected", [
    (-10, [], None),                                 # too early for any level
    (-3, [], "before_due"),                          # the reminder before the due date
    (-1, ["before_due"], None),                      # sent already
    (0, ["before_due"], None),                       # due today: nothing new
    (1, ["before_due"], "first_notice"),
    (20, ["before_due"], "second_notice"),           # a run that missed day 1: the level it is at now
    (20, ["before_due", "second_notice"], None),
    (45, [], "final_notice"),                        # catching up sends only the highest level reached
    (45, ["final_notice"], None),
    (16, ["final_notice"], None),                    # never a level below one already sent
])
def test_the_highest_level_reached_and_not_sent(as_of_offset, sent, expected):
    reminder = reminder_due(DEFAULT_POLICY, DUE, OWED, sent, day(as_of_offset))
    assert (reminder.level.name if reminder else None) == expected


@pytest.mark.parametrize("outstanding,settled", [(Decimal("0.00"), False), (OWED, True)])
def test_nothing_owed_earns_nothing(outstanding, settled):
    assert reminder_due(DEFAULT_POLICY, DUE, outstanding, [], day(40), settled=settled) is None


def test_the_reminder_names_its_rule_and_inputs():
    reminder = reminder_due(DEFAULT_POLICY, DUE, OWED, ["before_due"], day(16))
    assert reminder.inputs == {"rule": "dunning.second_notice", "offset_days": 7, "due_date": "2026-12-10",
                               "as_of": "2026-12-26", "days_from_due": 16, "outstanding": "500.00",
                               "already_sent": ["before_due"]}


@pytest.mark.parametrize("levels,field", [
    ([], "levels"),
    ([{"name": "", "offset_days": 1}], "levels.0.name"),
    ([{"name": "a", "offset_days": 1.5}], "levels.0.offset_days"),
    ([{"name": "a", "offset_days": 400}], "levels.0.offset_days"),
    ([{"name": "a", "offset_days": 1}, {"name": "a", "offset_days": 2}], "levels"),
    ([{"name": "a", "offset_days": 1}, {"name": "b", "offset_days": 1}], "levels"),
])
def test_an_invalid_policy_is_refused_naming_the_field(levels, field):
    with pytest.raises(ValidationFailed) as err:
        Policy.of(levels)
    assert field in err.value.errors


def test_levels_are_kept_in_offset_order():
    policy = Policy.of([{"name": "late", "offset_days": 10}, {"name": "early", "offset_days": -5}])
    assert policy.names() == ["early", "late"]


def test_the_configured_ladder_is_parsed_and_checked():
    assert describe(DEFAULT_POLICY) == "before_due:-3,first_notice:1,second_notice:7,final_notice:30"
    assert parse_levels(describe(DEFAULT_POLICY)) == DEFAULT_POLICY
    assert parse_levels(" late : 10 , early:-5 ").names() == ["early", "late"]


@pytest.mark.parametrize("text,field", [
    ("", "levels"), ("late", "levels.0"), ("a:1,b:x", "levels.1"), ("a:1,a:2", "levels"), (":3", "levels.0.name"),
])
def test_a_bad_configured_ladder_is_refused(text, field):
    with pytest.raises(ValidationFailed) as err:
        parse_levels(text)
    assert field in err.value.errors
