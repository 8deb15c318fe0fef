"""The aging report's rule as tables (services/billing/domain/aging.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.errors import ValidationFailed
from services.billing.domain.aging import BUCKETS, Due, aging, as_rows, bucket_of

AS_OF = dt.date(2026, 12, 1)


@pytest.mark.parametrize("due_date,bucket", [
    (dt.date(2027, 1, 1), "current"),       # not yet due
    (AS_OF, "current"),                     # due today
    (AS_OF - dt.timedelta(days=1), "1-30"),
    (AS_OF - dt.timedelta(days=30), "1-30"),
    (AS_OF - dt.timedelta(days=31), "31-60"),
    (AS_OF - dt.timedelta(days=60), "31-60"),
    (AS_OF - dt.timedelta(days=61), "61-90"),
    (AS_OF - dt.timedelta(days=90), "61-90"),
    (AS_OF - dt.timedelta(days=91), "90+"),
    (AS_OF - dt.timedelta(days=2000), "90+"),
])
def test_bucket_edges(due_date, bucket):
    assert bucket_of(due_date, AS_OF) == bucket


def test_amounts_are_summed_per_currency_and_buckets_add_up_to_the_total():
    dues = [Due("r1", "CNY", Decimal("100.10"), AS_OF),
            Due("r2", "CNY", Decimal("0.20"), AS_OF - dt.timedelta(days=45)),
            Due("r3", "CNY", Decimal("33.33"), AS_OF - dt.timedelta(days=45)),
            Due("r4", "USD", Decimal("5.00"), AS_OF - dt.timedelta(days=200)),
            Due("r5", "CNY", Decimal("0.00"), AS_OF - dt.timedelta(days=200))]    # paid: not aged
    report = aging(dues, AS_OF)
    assert list(report) == ["CNY", "USD"]
    cny = report["CNY"]
    assert cny["total"] == Decimal("133.63") and cny["count"] == 3
    assert cny["buckets"]["current"] == {"amount": Decimal("100.10"), "count": 1}
    assert cny["buckets"]["31-60"] == {"amount": Decimal("33.53"), "count": 2}
    assert cny["buckets"]["90+"] == {"amount": Decimal("0.00"), "count": 0}
    assert sum(cny["buckets"][b]["amount"] for b in BUCKETS) == cny["total"]
    assert report["USD"]["buckets"]["90+"] == {"amount": Decimal("5.00"), "count": 1}


def test_the_same_dues_age_differently_as_of_another_day():
    dues = [Due("r1", "EUR", Decimal("10.00"), dt.date(2026, 11, 1))]
    assert aging(dues, dt.date(2026, 11, 1))["EUR"]["buckets"]["current"]["count"] == 1
    assert aging(dues, dt.date(2027, 3, 1))["EUR"]["buckets"]["90+"]["count"] == 1


def test_nothing_owed_is_an_empty_report_and_a_negative_due_is_refused():
    assert aging([], AS_OF) == {}
    with pytest.raises(ValidationFailed, match="negative"):
        aging([Due("r1", "CNY", Decimal("-1.00"), AS_OF)], AS_OF)


def test_grouped_dues_count_each_and_the_rows_keep_the_bucket_order():
    report = aging([Due("CNY@2026-11-01", "CNY", Decimal("300.00"), dt.date(2026, 11, 1), count=3)], AS_OF)
    assert report["CNY"]["count"] == 3 and report["CNY"]["buckets"]["1-30"] == {"amount": Decimal("300.00"),
                                                                                "count": 3}
    [row] = as_rows(report)
    assert [b["bucket"] for b in row["buckets"]] == list(BUCKETS)
    assert (row["currency"], row["total"], row["buckets"][1]["count"]) == ("CNY", Decimal("300.00"), 3)
