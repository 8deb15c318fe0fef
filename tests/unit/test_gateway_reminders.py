"""The gateway's gathered reminders (``gateway.reminders``) with fake RPC proxies: both parts asked
at once, a part that does not answer in time (or fails) marked unavailable instead of failing the
page, the query checked at the gateway, the merge; and the iCalendar feed (``gateway.reminders_ics``)
parsed back: folding, escaping, one event per reminder with its alarm, and a 503 rather than a
partial calendar."""
from __future__ import annotations

import datetime as dt
import re
import time
from types import SimpleNamespace

import eventlet
import pytest

from crm_kit.context import Principal
from crm_kit.errors import NotFound, ServiceUnavailable, ValidationFailed
from gateway import fanout, reminders, reminders_ics
from gateway.routes import ROUTES
from gateway.service import GatewayService

UTC = dt.timezone.utc
ME = Principal("user-1", "member", "d1", ("d1",))
T = dt.datetime(2030, 1, 2, 9, tzinfo=UTC)

LEAD = {"kind": "next_contact", "lead_id": "L1", "lead_name": "Li Lei", "company": "Acme", "pool_id": None,
        "due_at": (T + dt.timedelta(hours=1)).isoformat()}
CUSTOMER = {"kind": "next_contact", "customer_id": "C1", "customer_name": "Initech", "contact_id": None,
            "contact_name": None, "pool_id": None, "due_at": T.isoformat()}
BIRTHDAY = {"kind": "birthday", "customer_id": "C1", "customer_name": "Initech", "contact_id": "K1",
            "contact_name": "Peter", "pool_id": None, "due_at": dt.datetime(2030, 1, 3, tzinfo=UTC).isoformat()}
WARNING = {"kind": "recycle_warning", "lead_id": "L2", "lead_name": "Han Meimei", "company": None, "pool_id": "P1",
           "due_at": (T + dt.timedelta(days=2)).isoformat()}


class Part:
    """A fake RPC proxy: ``method(query=...)`` answers ``items`` after ``delay`` seconds, or raises."""

    def __init__(self, method: str, items=(), delay: float = 0.0, error: Exception | None = None):
        self.method, self.items, self.delay, self.error, self.asked = method, list(items), delay, error, []

    def __getattr__(self, name):
        if name != self.method:
            raise AttributeError(name)

        def call(query):
            self.asked.append(query)
            eventlet.sleep(self.delay)
            if self.error is not None:
                raise self.error
            return {"items": self.items, "next_cursor": None}
        return call


def gateway(leads: Part | None = None, customers: Part | None = None):
    """The gateway worker as the gathered use cases see it: RPC proxies and ``fanout``."""
    return SimpleNamespace(leads=leads or Part("lead_reminders", [LEAD, WARNING]),
                           customers=customers or Part("customer_reminders", [CUSTOMER, BIRTHDAY]),
                           fanout=lambda calls, within: fanout.gather(calls, within, {}))


@pytest.fixture(autouse=True)
def short_deadline(monkeypatch):
    monkeypatch.setattr(reminders, "DEADLINE_SECONDS", 0.3)


def test_both_parts_merged_by_due_time():
    got = reminders.my_reminders(gateway(), ME, {})
    assert [(i["source"], i["kind"]) for i in got["items"]] == [
        ("customers", "next_contact"), ("leads", "next_contact"), ("customers", "birthday"),
        ("leads", "recycle_warning")]
    assert got["items"][1] == {"source": "leads", **LEAD}
    ok = {"available": True, "count": 2, "reason": None, "detail": None}
    assert got["parts"] == {"leads": ok, "customers": ok}
    assert got["complete"] is True and got["next_cursor"] is None
    assert reminders.ReminderList().validate(got) == {}


def test_the_parts_are_asked_at_once_with_the_checked_query():
    leads, customers = Part("lead_reminders", [LEAD], delay=0.2), Part("customer_reminders", [CUSTOMER], delay=0.2)
    started = time.monotonic()
    got = reminders.my_reminders(gateway(leads, customers), ME, {"due_before": "2030-01-05T00:00:00", "limit": "3"})
    assert time.monotonic() - started < 0.35           # in parallel: not 0.4 s
    assert got["complete"]
    assert leads.asked == customers.asked == [{"limit": 3, "due_before": "2030-01-05T00:00:00+00:00"}]


def test_limit_applies_to_the_merged_list():
    got = reminders.my_reminders(gateway(), ME, {"limit": "2"})
    assert [i["due_at"] for i in got["items"]] == [CUSTOMER["due_at"], LEAD["due_at"]]


SLOW = 3.0           # past the deadline (0.3 s) and the RPC client's reply grace
UNAVAILABLE = {
    "too slow": (dict(delay=SLOW), "not_answered"),
    "not running": (dict(error=ServiceUnavailable("The customers service is not running.",
                                                  {"service": "customers", "retry_after": 5})), "not_answered"),
    "failing": (dict(error=RuntimeError("boom")), "failed"),
}


@pytest.mark.parametrize("case", UNAVAILABLE)
def test_a_part_that_does_not_answer_is_marked_unavailable(case):
    how, reason = UNAVAILABLE[case]
    started = time.monotonic()
    got = reminders.my_reminders(gateway(customers=Part("customer_reminders", [CUSTOMER], **how)), ME, {})
    assert time.monotonic() - started < SLOW / 2          # the deadline, not the slow part, sets the pace
    assert [i["source"] for i in got["items"]] == ["leads", "leads"]
    assert got["parts"]["leads"] == {"available": True, "count": 2, "reason": None, "detail": None}
    part = got["parts"]["customers"]
    assert (part["available"], part["count"], part["reason"]) == (False, None, reason) and part["detail"]
    assert got["complete"] is False
    assert reminders.ReminderList().validate(got) == {}


def test_both_unavailable_is_still_an_answer():
    slow = dict(delay=SLOW)
    got = reminders.my_reminders(gateway(Part("lead_reminders", **slow), Part("customer_reminders", **slow)), ME, {})
    assert got["items"] == [] and not got["parts"]["leads"]["available"] and not got["parts"]["customers"]["available"]


def test_a_refusal_of_a_part_leaves_the_page_whole():
    refused = Part("customer_reminders", error=NotFound("No such thing.", {}))
    got = reminders.my_reminders(gateway(customers=refused), ME, {})
    assert got["parts"]["customers"]["reason"] == "not_visible" and len(got["items"]) == 2


@pytest.mark.parametrize("query", [{"due_before": "soon"}, {"limit": "0"}, {"limit": "201"}, {"cursor": "x"},
                                   {"due_before": "9999-01-01T00:00:00Z"}])
def test_the_query_is_checked_before_any_call(query):
    leads, customers = Part("lead_reminders"), Part("customer_reminders")
    with pytest.raises(ValidationFailed):
        reminders.my_reminders(gateway(leads, customers), ME, query)
    assert leads.asked == customers.asked == []


def test_the_dispatcher_calls_a_gathered_route_with_the_service():
    route = next(r for r in ROUTES if r.path == "/api/v1/me/reminders")
    service = GatewayService.__new__(GatewayService)
    service.leads, service.customers = Part("lead_reminders", [LEAD]), Part("customer_reminders", [])
    service.fanout = fanout.Gatherer({})
    got = service._call(route, ME, {"query": {}})
    assert [i["lead_id"] for i in got["items"]] == ["L1"]
    ics_route = next(r for r in ROUTES if r.path == "/api/v1/me/reminders.ics")
    response = GatewayService._respond(ics_route, {}, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert response.mimetype == "text/calendar" and response.status_code == 200


# -- the iCalendar feed -----------------------------------------------------------------------------
def unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    for physical in text.split("\r\n")[:-1]:
        assert len(physical.encode("utf-8")) <= 75, physical
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def events(text: str) -> list[dict]:
    """Each VEVENT as {property (with parameters): value}, its VALARM's under ``ALARM:``."""
    out, current, alarm = [], None, False
    for line in unfold(text):
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            out.append(current)
            current = None
        elif line in ("BEGIN:VALARM", "END:VALARM"):
            alarm = line == "BEGIN:VALARM"
        elif current is not None:
            current[("ALARM:" if alarm else "") + name] = value
    return out


def test_the_feed_is_a_calendar_of_the_reminders(monkeypatch):
    tricky = {**CUSTOMER, "customer_id": "C9", "customer_name": "Acme, Inc.; 北京分公司\\总部\n二楼 " + "长" * 40}
    got = reminders.my_reminders_calendar(gateway(customers=Part("customer_reminders", [tricky, BIRTHDAY])), ME, {})
    lines = unfold(got)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    assert any(line.startswith("PRODID:") for line in lines)
    found = events(got)
    assert len(found) == 4 and len({e["UID"] for e in found}) == 4
    by_summary = {unescape(e["SUMMARY"]): e for e in found}
    assert "Contact customer Acme, Inc.; 北京分公司\\总部\n二楼 " + "长" * 40 in by_summary
    assert "Contact lead Li Lei (Acme)" in by_summary
    timed = by_summary["Contact lead Li Lei (Acme)"]
    assert timed["DTSTART"] == "20300102T100000Z" and timed["DTEND"] == "20300102T103000Z"
    assert timed["ALARM:ACTION"] == "DISPLAY" and timed["ALARM:TRIGGER"] == "-PT15M"
    birthday = by_summary["Birthday: Peter (Initech)"]
    assert birthday["DTSTART;VALUE=DATE"] == "20300103" and birthday["DTEND;VALUE=DATE"] == "20300104"
    assert birthday["ALARM:TRIGGER"] == "PT9H"
    warning = next(e for e in found if e["CATEGORIES"] == "recycle_warning")
    assert warning["DTSTART"] == "20300104T090000Z" and warning["ALARM:TRIGGER"] == "-P1D"
    assert all(re.fullmatch(r"\d{8}T\d{6}Z", e["DTSTAMP"]) for e in found)
    # fetched again later: the same UIDs (the calendar updates its events)
    again = events(reminders.my_reminders_calendar(gateway(customers=Part("customer_reminders", [tricky, BIRTHDAY])),
                                                   ME, {}))
    assert {e["UID"] for e in again} == {e["UID"] for e in found}


def test_the_feed_looks_30_days_ahead_by_default():
    leads, customers = Part("lead_reminders"), Part("customer_reminders")
    before = dt.datetime.now(UTC)
    reminders.my_reminders_calendar(gateway(leads, customers), ME, {})
    asked = dt.datetime.fromisoformat(leads.asked[0]["due_before"])
    assert dt.timedelta(days=30) <= asked - before < dt.timedelta(days=30, minutes=1)
    assert customers.asked == leads.asked


def test_no_partial_calendar():
    with pytest.raises(ServiceUnavailable) as info:
        reminders.my_reminders_calendar(gateway(customers=Part("customer_reminders", delay=SLOW)), ME, {})
    assert info.value.public_extra()["retry_after"] > 0 and "customers" in info.value.detail


FOLDS = ["x" * 75, "x" * 76, "é" * 40, "长" * 60, "a" + "😀" * 30]


@pytest.mark.parametrize("line", FOLDS)
def test_folding_keeps_every_character(line):
    folded = reminders_ics.fold(line)
    physical = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert folded.replace("\r\n ", "") == line


ESCAPES = {"a,b": "a\\,b", "a;b": "a\\;b", "a\\b": "a\\\\b", "a\nb": "a\\nb", "a\r\nb": "a\\nb", None: ""}


@pytest.mark.parametrize("raw", ESCAPES)
def test_text_escaping(raw):
    assert reminders_ics.escape_text(raw) == ESCAPES[raw]
    assert unescape(ESCAPES[raw]) == ("" if raw is None else raw.replace("\r\n", "\n"))
