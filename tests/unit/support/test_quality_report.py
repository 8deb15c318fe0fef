"""The quality report's use case on SQLite: the tickets opened in the period, in their group's
calendar, figures as of the earlier of ``to`` and now, surveys counted for the agent they were
answered for; who sees which figures."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, ValidationFailed
from services.support.application import actions, groups, portal, portal_links, quality, tickets
from services.support.models import Ticket, TicketSurvey

ADMIN = Principal("admin-1", "admin")
A1 = Principal("a1", "member", "d9", ("d9",))
A2 = Principal("a2", "member", "d9", ("d9",))
LEAD = Principal("lead-1", "member", "d9", ("d9",))
BOSS = Principal("boss-1", "manager", "d9", ("d9",))
UTC = dt.timezone.utc
H = dt.timedelta(hours=1)


def sh(d, hh=0, mm=0):                       # September 2026, Shanghai wall clock (the 1st a Tuesday)
    return dt.datetime(2026, 9, d, hh, mm, tzinfo=UTC) - 8 * H


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setattr(portal_links, "_key", ["the support links' secret of these tests, long enough"])


@pytest.fixture
def setup(db):
    group = groups.create_support_group(db.uow(), ADMIN, {"name": "L1", "department_id": "d9", "members": [
        {"user_id": "a1"}, {"user_id": "a2", "categories": ["complaint"]}, {"user_id": "lead-1", "role": "lead"}]})
    first = tickets.create_ticket(db.uow(), ADMIN, {"subject": "A", "channel": "phone", "category": "fault",
                                                    "group_id": group["id"]})
    second = tickets.create_ticket(db.uow(), ADMIN, {"subject": "B", "channel": "phone", "category": "complaint",
                                                     "group_id": group["id"]})
    assert (first["assignee_id"], second["assignee_id"]) == ("a1", "a2")
    actions.resolve_ticket(db.uow(), A1, first["id"], {"resolution": "Done"})
    link = portal.create_ticket_link(db.uow(), A1, first["id"], {"purpose": "survey"})
    portal.portal_survey(db.uow(), link["token"], {"csat": 4, "nps": 10})
    with db.session_factory() as session:       # the times as a calendar shows them: hand-computed figures
        t = session.get(Ticket, first["id"])
        t.opened_at, t.first_response_at, t.resolved_at = sh(1, 17), sh(2, 10), sh(2, 15)
        for p in t.pauses:
            p.started_at = sh(2, 15)
        u = session.get(Ticket, second["id"])
        u.opened_at = sh(4, 17)
        for survey in session.query(TicketSurvey):
            survey.submitted_at = sh(3, 10)
        session.commit()
    return group, first, second


def _report(db, principal, **query):
    return quality.quality_report(db.uow(), principal, {"from": sh(1).isoformat(), "to": sh(8).isoformat(),
                                                        **query})


def test_figures_in_the_groups_calendar(db, setup):
    out = _report(db, ADMIN)
    rows = {r["agent_id"]: r for r in out["items"]}
    # a1: Tue 17:00 -> Wed 10:00 is 2 business hours; resolved Wed 15:00: 7 h
    assert rows["a1"]["first_response"]["average_seconds"] == 2 * 3600
    assert rows["a1"]["resolution"]["average_seconds"] == 7 * 3600
    assert (rows["a1"]["resolution_rate"], rows["a1"]["csat"]["average"], rows["a1"]["nps"]["score"]) == (
        1.0, 4.0, 100.0)
    assert (rows["a2"]["opened"], rows["a2"]["resolution_rate"], rows["a2"]["csat"]["count"]) == (1, 0.0, 0)
    assert out["total"]["opened"] == 2 and out["as_of"] == sh(8).isoformat()
    by_group = _report(db, ADMIN, by="group")
    assert [r["group_id"] for r in by_group["items"]] == [setup[0]["id"]]
    # a period before the resolution: as of its end the ticket was not resolved yet
    early = quality.quality_report(db.uow(), ADMIN, {"from": sh(1).isoformat(), "to": sh(2, 12).isoformat()})
    assert early["total"]["resolved"] == 0 and early["total"]["first_response"]["count"] == 1


def test_who_sees_which_figures(db, setup):
    assert {r["agent_id"] for r in _report(db, A1)["items"]} == {"a1"}               # their own
    assert {r["agent_id"] for r in _report(db, A2)["items"]} == {"a2"}
    with pytest.raises(Forbidden):
        _report(db, A2, agent_id="a1")
    assert {r["agent_id"] for r in _report(db, LEAD, agent_id="a1")["items"]} == {"a1"}   # their group's
    assert {r["agent_id"] for r in _report(db, LEAD)["items"]} == {"a1", "a2"}
    assert _report(db, BOSS)["total"]["opened"] == 2                                  # their department's
    stranger = Principal("x", "manager", "d1", ("d1",))
    assert _report(db, stranger)["total"]["opened"] == 0


@pytest.mark.parametrize("query", [{"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
                                   {"from": "2025-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
                                   {"by": "department"}, {"from": "yesterday"}, {"limit": "5"}])
def test_a_bad_period_or_grouping_is_refused(db, query):
    with pytest.raises(ValidationFailed):
        quality.quality_report(db.uow(), ADMIN, query)
