"""Quality figures as tables, checked against numbers worked out by hand: business-time first
response and resolution over weekends, a holiday and pauses; resolution, reopen and SLA compliance
rates; CSAT and NPS; by agent, by group and in total."""
from __future__ import annotations

import datetime as dt

import pytest

from services.support.domain import quality
from services.support.domain.calendar import BusinessCalendar
from services.support.domain.quality import SurveyFacts, TicketFacts

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)
SH = BusinessCalendar()                                                # Asia/Shanghai, Mon-Fri 09:00-18:00
SH_HOLIDAY = BusinessCalendar(holidays=frozenset({dt.date(2026, 12, 7)}))   # that Monday off


def sh(d, hh=0, mm=0):            # December 2026 (the 1st is a Tuesday), Shanghai wall clock, as UTC
    return dt.datetime(2026, 12, d, hh, mm, tzinfo=UTC) - 8 * H


TICKETS = [
    # A: Tue 17:00 -> Wed 10:00 first reply (1 h + 1 h); resolved Wed 15:00 (1 h + 6 h) less 2 h waiting = 5 h
    TicketFacts("g1", "a1", sh(1, 17), SH, "resolved", sh(2, 10), sh(2, 15), 0, [(sh(2, 11), sh(2, 13))],
                {"first_response": "met", "resolution": "met"}),
    # B: Fri 16:00 -> Mon 09:30 (2 h + 0.5 h); resolved Mon 12:00 (2 h + 3 h) less 1 h resolved before a
    # reopen = 4 h; closed, reopened once
    TicketFacts("g1", "a1", sh(4, 16), SH, "closed", sh(7, 9, 30), sh(7, 12), 1, [(sh(7, 10), sh(7, 11))],
                {"first_response": "met", "resolution": "missed"}),
    # C: no reply yet: its first-response clock breached, the resolution clock runs (not decided)
    TicketFacts("g1", "a2", sh(1, 10), SH, "in_progress", None, None, 0, [],
                {"first_response": "breached", "resolution": "running"}),
    # D: Fri 17:00 -> Tue 10:00, the Monday a holiday of its group: 1 h + 1 h
    TicketFacts("g2", "a2", sh(4, 17), SH_HOLIDAY, "in_progress", sh(8, 10), None, 0, [],
                {"first_response": "met", "resolution": "warning"}),
]
SURVEYS = [SurveyFacts("g1", "a1", 5, 10), SurveyFacts("g1", "a1", 4, 9), SurveyFacts("g1", "a1", 2, 3),
           SurveyFacts("g1", "a2", 3, None), SurveyFacts("g2", "a2", 5, 7), SurveyFacts("g2", "a2", 1, 0)]


def _rows(by):
    out = quality.report(TICKETS, SURVEYS, by)
    return {row[f"{by}_id"]: row for row in out["items"]}, out["total"]


def test_by_agent_against_hand_computed_figures():
    rows, total = _rows("agent")
    a1, a2 = rows["a1"], rows["a2"]
    assert a1["first_response"] == {"count": 2, "average_seconds": 8100, "median_seconds": 8100}   # 7200, 9000
    assert a1["resolution"] == {"count": 2, "average_seconds": 16200, "median_seconds": 16200}     # 18000, 14400
    assert (a1["opened"], a1["resolved"], a1["resolution_rate"], a1["reopened"], a1["reopen_rate"]) == (
        2, 2, 1.0, 1, 0.5)
    assert a1["sla"] == {"decided": 4, "met": 3, "compliance": 0.75, "clocks": {
        "first_response": {"decided": 2, "met": 2, "compliance": 1.0},
        "resolution": {"decided": 2, "met": 1, "compliance": 0.5}}}
    assert a1["csat"] == {"count": 3, "average": 3.67, "satisfied_rate": 0.6667}
    assert a1["nps"] == {"count": 3, "promoters": 2, "detractors": 1, "passives": 0, "score": 33.33}

    assert a2["first_response"] == {"count": 1, "average_seconds": 7200, "median_seconds": 7200}
    assert a2["resolution"] == {"count": 0, "average_seconds": None, "median_seconds": None}
    assert (a2["resolution_rate"], a2["reopen_rate"]) == (0.0, None)          # never resolved: nothing to divide
    assert (a2["sla"]["decided"], a2["sla"]["met"], a2["sla"]["compliance"]) == (2, 1, 0.5)
    assert a2["csat"] == {"count": 3, "average": 3.0, "satisfied_rate": 0.3333}
    assert a2["nps"] == {"count": 2, "promoters": 0, "detractors": 1, "passives": 1, "score": -50.0}

    assert total["opened"] == 4 and total["first_response"] == {"count": 3, "average_seconds": 7800,
                                                                "median_seconds": 7200}
    assert (total["resolution_rate"], total["reopen_rate"], total["sla"]["compliance"]) == (0.5, 0.5, 0.6667)
    assert total["csat"] == {"count": 6, "average": 3.33, "satisfied_rate": 0.5}
    assert total["nps"]["score"] == 0.0                                     # 2 promoters, 2 detractors of 5


def test_by_group():
    rows, _ = _rows("group")
    assert list(rows) == ["g1", "g2"]
    assert (rows["g1"]["opened"], rows["g1"]["resolution_rate"], rows["g1"]["csat"]["average"]) == (3, 0.6667, 3.5)
    assert rows["g1"]["nps"]["score"] == 33.33
    assert (rows["g2"]["opened"], rows["g2"]["first_response"]["average_seconds"]) == (1, 7200)
    assert (rows["g2"]["csat"]["average"], rows["g2"]["nps"]["score"]) == (3.0, -50.0)


def test_without_grouping_and_unassigned_rows():
    out = quality.report(TICKETS, SURVEYS)
    assert out["items"] == [] and out["total"]["opened"] == 4
    rows = quality.report([TicketFacts(None, None, sh(1, 10), SH, "new")], [], "agent")["items"]
    assert rows[0]["agent_id"] is None and rows[0]["opened"] == 1
    with pytest.raises(ValueError):
        quality.report([], [], "department")


@pytest.mark.parametrize("answers, score", [
    ([], None),
    ([10, 9, 10], 100.0),
    ([0, 6, 3], -100.0),
    ([7, 8], 0.0),
    ([9, 7, 6, 10], 25.0),                    # 2 promoters, 1 detractor of 4
    ([9, 9, 8, 6, 5, 0], -16.67),             # 2 promoters, 3 detractors of 6
])
def test_nps(answers, score):
    out = quality.report([], [SurveyFacts("g", "a", 3, n) for n in answers])["total"]["nps"]
    assert out["score"] == score and out["count"] == len(answers)


@pytest.mark.parametrize("opened, responded, pauses, seconds", [
    (sh(1, 10), sh(1, 12), [], 7200),                              # within a day
    (sh(5, 10), sh(5, 12), [], 0),                                 # a Saturday: no business time
    (sh(4, 17), sh(7, 10), [], 7200),                              # over a weekend
    (sh(1, 10), sh(1, 16), [(sh(1, 11), sh(1, 13)), (sh(1, 12), sh(1, 14))], 3 * 3600),   # overlapping pauses once
    (sh(1, 10), sh(1, 9), [], 0),                                  # a stop before the start counts nothing
])
def test_business_time(opened, responded, pauses, seconds):
    facts = TicketFacts("g", "a", opened, SH, "in_progress", responded, None, 0, pauses)
    assert quality.report([facts], [])["total"]["first_response"]["average_seconds"] == seconds
