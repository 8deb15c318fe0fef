"""The customers' portal on SQLite: a resolution hands out the survey link (on ``ticket_resolved``),
the survey is answered once (``survey_submitted``) and the link refused after; a customer's reply
is a public comment by the contact that resumes a ticket waiting on them (and never counts as the
first response); a ticket opened through a customer's link is routed in the link's group; staff hand
links out within their rights."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Conflict, CrmError, Forbidden, Gone, InvalidState, NotFound, Unauthorized, ValidationFailed
from services.support.application import actions, groups, portal, portal_links, tickets
from services.support.domain import links
from services.support.models import PortalLinkUse, Ticket

ADMIN = Principal("admin-1", "admin")
AGENT = Principal("a1", "member", "d9", ("d9",))
REP = Principal("rep-1", "member", "d1", ("d1",))
SECRET = "the support links' secret of these tests, long enough"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setattr(portal_links, "_key", [SECRET])


def _setup(db):
    group = groups.create_support_group(db.uow(), ADMIN, {"name": "L1", "department_id": "d9",
                                                         "members": [{"user_id": "a1"}]})
    ticket = tickets.create_ticket(db.uow(), REP, {"subject": "Broken", "channel": "phone", "category": "fault",
                                                   "customer_id": "c1", "contact_id": "p1", "group_id": group["id"]})
    return group, ticket


def _payloads(db, name):
    return [row.body["payload"] for row in db.outbox(name)]


def refused(kind, status, reason, fn, *args):
    with pytest.raises(CrmError) as caught:
        fn(*args)
    assert isinstance(caught.value, kind) and caught.value.status == status, caught.value
    if reason:
        assert caught.value.extra["reason"] == reason
    return caught.value


def test_the_resolution_hands_out_the_survey_link_answered_once(db):
    _, ticket = _setup(db)
    actions.resolve_ticket(db.uow(), AGENT, ticket["id"], {"resolution": "Replaced the toner"})
    [resolved] = _payloads(db, "ticket_resolved")
    link = resolved["survey_link"]
    assert link["url"].endswith("#" + link["token"]) and link["expires_at"]
    token = link["token"]
    refused(Forbidden, 403, "wrong_purpose", portal.portal_reply, db.uow(), token, {"body": "x"})
    survey = portal.portal_survey(db.uow(), token, {"csat": 4, "nps": 9, "comment": "Fine"})
    assert (survey["csat"], survey["nps"], survey["resolution_round"]) == (4, 9, 0)
    [submitted] = _payloads(db, "survey_submitted")
    assert (submitted["ticket_id"], submitted["assignee_id"], submitted["contact_id"], submitted["csat"]) == (
        ticket["id"], "a1", "p1", 4)
    refused(Gone, 410, "used", portal.portal_survey, db.uow(), token, {"csat": 1})
    assert portal.portal_ticket(db.uow(), token)["survey_answered"] is True     # reading does not use a link
    # another survey link of the same resolution: answered already (and that link stays good)
    again = portal.create_ticket_link(db.uow(), AGENT, ticket["id"], {"purpose": "survey"})
    refused(Conflict, 409, None, portal.portal_survey, db.uow(), again["token"], {"csat": 2})
    with db.session_factory() as session:
        assert session.get(PortalLinkUse, again["link_id"]) is None
    actions.close_ticket(db.uow(), AGENT, ticket["id"])
    assert _payloads(db, "ticket_closed")[0]["survey_link"] is None              # nothing left to ask


def test_a_reopened_ticket_resolved_again_asks_again(db):
    _, ticket = _setup(db)
    actions.resolve_ticket(db.uow(), AGENT, ticket["id"])
    first = _payloads(db, "ticket_resolved")[0]["survey_link"]["token"]
    portal.portal_survey(db.uow(), first, {"csat": 2})
    actions.reopen_ticket(db.uow(), AGENT, ticket["id"], {"reason": "Again"})
    reopened = portal.create_ticket_link(db.uow(), AGENT, ticket["id"], {"purpose": "reply"})
    actions.resolve_ticket(db.uow(), AGENT, ticket["id"])
    second = _payloads(db, "ticket_resolved")[1]["survey_link"]["token"]
    assert portal.portal_survey(db.uow(), second, {"csat": 5, "nps": None})["resolution_round"] == 1
    refused(InvalidState, 409, None, portal.portal_reply, db.uow(), reopened["token"], {"body": "thanks"})


def test_the_survey_is_validated_and_only_for_a_resolved_ticket(db):
    _, ticket = _setup(db)
    refused(InvalidState, 409, None, portal.create_ticket_link, db.uow(), AGENT, ticket["id"], {"purpose": "survey"})
    token, _ = links.sign(SECRET, "survey", ticket["id"], dt.datetime.now(dt.timezone.utc))
    refused(InvalidState, 409, None, portal.portal_survey, db.uow(), token, {"csat": 5})
    for bad in ({"csat": 6}, {"csat": 0}, {"csat": "5"}, {"csat": 3, "nps": 11}, {"nps": 3}, {"csat": 3, "x": 1}):
        with pytest.raises(ValidationFailed):
            portal.portal_survey(db.uow(), token, bad)
    with db.session_factory() as session:
        assert session.query(PortalLinkUse).count() == 0             # refused writes leave the link good


def test_a_customer_reply_resumes_a_ticket_waiting_on_them(db):
    _, ticket = _setup(db)
    actions.start_ticket(db.uow(), AGENT, ticket["id"])
    actions.wait_on_customer(db.uow(), AGENT, ticket["id"], {"reason": "Which model?"})
    link = portal.create_ticket_link(db.uow(), AGENT, ticket["id"], {"purpose": "reply"})
    answer = portal.portal_reply(db.uow(), link["token"], {"body": "The LaserJet 4"})
    assert answer["comment"]["author"] == "contact" and answer["ticket"]["status"] == "in_progress"
    assert [c["body"] for c in answer["ticket"]["comments"]] == ["The LaserJet 4"]
    refused(Gone, 410, "used", portal.portal_reply, db.uow(), link["token"], {"body": "again"})
    nxt = portal.portal_reply(db.uow(), answer["reply_link"]["token"], {"body": "And the 5"})
    assert nxt["ticket"]["status"] == "in_progress"
    with db.session_factory() as session:
        stored = session.get(Ticket, ticket["id"])
        assert stored.first_response_at is None                  # the customer's words are not a response
        assert [p.ended_at is not None for p in stored.pauses] == [True]
    [resumed] = [e for e in _payloads(db, "ticket_status_changed") if e["action"] == "resume"]
    assert resumed["previous_status"] == "waiting_on_customer"


def test_a_ticket_opened_through_a_customers_link(db):
    group, _ = _setup(db)
    refused(Forbidden, 403, None, portal.create_portal_link, db.uow(), REP, {"customer_id": "c1"})
    with pytest.raises(NotFound):
        portal.create_portal_link(db.uow(), AGENT, {"customer_id": "c1", "group_id": "nope"})
    link = portal.create_portal_link(db.uow(), AGENT, {"customer_id": "c1", "contact_id": "p1",
                                                       "group_id": group["id"]})
    opened = portal.portal_open_ticket(db.uow(), link["token"], {"subject": "Paper jam", "category": "fault"})
    with db.session_factory() as session:
        stored = session.get(Ticket, opened["ticket"]["id"])
        assert (stored.channel, stored.customer_id, stored.contact_id, stored.assignee_id, stored.created_by) == (
            "portal", "c1", "p1", "a1", None)
        assert session.get(PortalLinkUse, link["link_id"]).effect_id == stored.id
    refused(Gone, 410, "used", portal.portal_open_ticket, db.uow(), link["token"],
            {"subject": "x", "category": "fault"})
    assert portal.portal_ticket(db.uow(), opened["reply_link"]["token"])["number"] == stored.number


def test_forged_expired_and_misused_links_are_refused(db):
    _, ticket = _setup(db)
    now = dt.datetime.now(dt.timezone.utc)
    forged, _ = links.sign("another secret, long enough for HS256 too", "reply", ticket["id"], now)
    refused(Unauthorized, 401, "forged", portal.portal_reply, db.uow(), forged, {"body": "x"})
    refused(Unauthorized, 401, "forged", portal.portal_ticket, db.uow(), None)
    expired, _ = links.sign(SECRET, "reply", ticket["id"], now - dt.timedelta(days=2), ttl=dt.timedelta(days=1))
    refused(Gone, 410, "expired", portal.portal_ticket, db.uow(), expired)
    opener, _ = links.sign(SECRET, "open_ticket", "c1", now)
    refused(Forbidden, 403, "wrong_purpose", portal.portal_reply, db.uow(), opener, {"body": "x"})
    refused(Forbidden, 403, "wrong_purpose", portal.portal_ticket, db.uow(), opener)
    with pytest.raises(NotFound):                                # a stranger may not hand out its links
        portal.create_ticket_link(db.uow(), REP.__class__("x", "member"), ticket["id"], {"purpose": "reply"})
