"""The customers' portal and the quality report through the gateway, on the shared platform: staff
hand a customer signed one-time links; the customer, signed in as nobody, opens a ticket, reads it,
replies (a ticket waiting on them resumes) and answers the survey; forged, expired, reused and
concurrently reused links are refused with problem+json (401, 403, 410); the portal is rate-limited
per link; quality figures per agent, checked against numbers worked out by hand, within scopes."""
import datetime as dt
import threading
import time

import jwt
import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def people(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Portal {tag}"}).json()
    tokens, users = {}, {}
    for name in ("rep", "agent", "other", "stranger"):
        username = f"portal-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": "member",
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    group = platform.post("/api/v1/support/groups", json={
        "name": f"Round the clock {tag}", "department_id": dept["id"],
        "calendar": {"tz": "UTC", "week": {str(d): [[0, 1440]] for d in range(7)}},     # business time = wall time
        "members": [{"user_id": users["agent"]["id"], "categories": ["fault"]},
                    {"user_id": users["other"]["id"], "categories": ["complaint"]}]})
    assert group.status_code == 201, group.text
    customer = platform.post("/api/v1/customers", json={"name": f"Umbrella {tag}"}, token=tokens["rep"]).json()
    return {"tokens": tokens, "users": users, "group": group.json(), "customer": customer,
            "started": dt.datetime.now(UTC) - dt.timedelta(seconds=5)}


def portal(platform, method, path, link, **kwargs):
    headers = {"X-Portal-Link": link} if link is not None else {}
    return platform.request(method, f"/api/v1/portal{path}", token=False, headers=headers, **kwargs)


def problem(resp, status, reason=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    if reason is not None:
        assert body["reason"] == reason, body
    return body


def _ticket(platform, people, **fields):
    created = platform.post("/api/v1/tickets", json={
        "subject": "The printer does not print", "channel": "phone", "category": "fault",
        "customer_id": people["customer"]["id"], "group_id": people["group"]["id"], **fields},
        token=people["tokens"]["rep"])
    assert created.status_code == 201, created.text
    return created.json()


def _link(platform, people, ticket_id, purpose, **fields):
    resp = platform.post(f"/api/v1/tickets/{ticket_id}/portal-links", json={"purpose": purpose, **fields},
                         token=people["tokens"]["agent"])
    assert resp.status_code == 200, resp.text
    link = resp.json()
    assert link["url"].endswith("#" + link["token"]) and link["purpose"] == purpose
    return link["token"]


def test_a_customer_opens_follows_and_replies_without_logging_in(platform, people):
    tokens, users = people["tokens"], people["users"]
    # who may hand out an open-ticket link: an agent, not the salesperson support has not heard own it
    body = {"customer_id": people["customer"]["id"], "contact_id": new_id(), "group_id": people["group"]["id"]}
    assert platform.post("/api/v1/support/portal-links", json=body, token=tokens["stranger"]).status_code == 403
    opener = platform.post("/api/v1/support/portal-links", json=body, token=tokens["agent"])
    assert opener.status_code == 200, opener.text
    token = opener.json()["token"]

    problem(portal(platform, "POST", "/tickets", None, json={"subject": "x", "category": "fault"}), 401, "missing")
    # a user's bearer token is no way into the portal: the portal takes links only
    resp = platform.post("/api/v1/portal/tickets", json={"subject": "x", "category": "fault"}, token=tokens["agent"])
    problem(resp, 401, "missing")
    problem(portal(platform, "POST", "/tickets", token, json={"subject": "", "category": "fault"}), 422)
    opened = portal(platform, "POST", "/tickets", token, json={"subject": "Paper jam", "category": "fault",
                                                                "description": "Tray 2"})
    assert opened.status_code == 201 and opened.headers["Location"] == "/api/v1/portal/ticket", opened.text
    ticket, reply_link = opened.json()["ticket"], opened.json()["reply_link"]["token"]
    assert ticket["number"].startswith("TK-") and ticket["status"] == "assigned"
    problem(portal(platform, "POST", "/tickets", token, json={"subject": "Again", "category": "fault"}), 410, "used")

    staff_view = platform.get(f"/api/v1/tickets/{ticket['id']}", token=tokens["agent"]).json()
    assert (staff_view["channel"], staff_view["assignee_id"], staff_view["contact_id"], staff_view["created_by"]) == (
        "portal", users["agent"]["id"], body["contact_id"], None)

    path = f"/api/v1/tickets/{ticket['id']}"
    assert platform.post(f"{path}/comments", json={"body": "Which tray?", "public": True},
                         token=tokens["agent"]).status_code == 201
    assert platform.post(f"{path}/comments", json={"body": "Customer seems upset", "public": False},
                         token=tokens["agent"]).status_code == 201
    assert platform.post(f"{path}/wait", json={}, token=tokens["agent"]).json()["status"] == "waiting_on_customer"

    seen = portal(platform, "GET", "/ticket", reply_link)
    assert seen.status_code == 200, seen.text
    assert [(c["author"], c["body"]) for c in seen.json()["comments"]] == [("agent", "Which tray?")]  # no notes
    assert "assignee_id" not in seen.json()

    replied = portal(platform, "POST", "/ticket/replies", reply_link, json={"body": "Tray 2, the big one"})
    assert replied.status_code == 201, replied.text
    assert replied.json()["ticket"]["status"] == "in_progress" and replied.json()["comment"]["author"] == "contact"
    problem(portal(platform, "POST", "/ticket/replies", reply_link, json={"body": "again"}), 410, "used")
    assert portal(platform, "GET", "/ticket", reply_link).status_code == 200         # reading never uses a link up
    comments = platform.get(f"{path}/comments", token=tokens["agent"]).json()["items"]
    [mine] = [c for c in comments if c["body"] == "Tray 2, the big one"]
    assert (mine["public"], mine["author_id"]) == (True, body["contact_id"])
    now = platform.get(path, token=tokens["agent"]).json()
    assert now["status"] == "in_progress" and {c["clock"]: c["state"] for c in now["sla"]["clocks"]}[
        "first_response"] == "met"


def test_the_survey_and_every_refused_link(platform, people):
    ticket = _ticket(platform, people)
    path = f"/api/v1/tickets/{ticket['id']}"
    tokens = people["tokens"]
    # not resolved: no survey yet
    assert platform.post(f"{path}/portal-links", json={"purpose": "survey"}, token=tokens["agent"]).status_code == 409
    assert platform.post(f"{path}/portal-links", json={"purpose": "reply"},
                         token=tokens["stranger"]).status_code == 404
    reply = _link(platform, people, ticket["id"], "reply")
    assert platform.post(f"{path}/resolve", json={"resolution": "Cleaned"}, token=tokens["agent"]).status_code == 200
    survey = _link(platform, people, ticket["id"], "survey")

    # forged: another secret, an altered signature, a bare unsigned token, garbage
    claims = jwt.decode(survey, options={"verify_signature": False})
    for forged in (jwt.encode(claims, "not our secret, but long enough for HS256", algorithm="HS256"),
                   survey[:-3] + ("AAA" if not survey.endswith("AAA") else "BBB"),
                   jwt.encode(claims, None, algorithm="none"), "garbage", "x" * 5000):
        problem(portal(platform, "POST", "/survey", forged, json={"csat": 5}), 401, "forged")
    problem(portal(platform, "POST", "/survey", reply, json={"csat": 5}), 403, "wrong_purpose")
    problem(portal(platform, "POST", "/ticket/replies", survey, json={"body": "x"}), 403, "wrong_purpose")
    problem(portal(platform, "POST", "/ticket/replies", reply, json={"body": "x"}), 409)        # resolved: no reply
    problem(portal(platform, "POST", "/survey", survey, json={"csat": 6}), 422)                 # a refusal keeps it

    answered = portal(platform, "POST", "/survey", survey, json={"csat": 4, "nps": 9, "comment": "Fine"})
    assert answered.status_code == 201, answered.text
    assert (answered.json()["csat"], answered.json()["nps"]) == (4, 9)
    again = problem(portal(platform, "POST", "/survey", survey, json={"csat": 1}), 410, "used")
    assert again["used_at"]
    assert portal(platform, "GET", "/ticket", survey).json()["survey_answered"] is True

    # expired: a link living one second
    short = _link(platform, people, ticket["id"], "reply", expires_in=1)
    time.sleep(2.1)
    assert problem(portal(platform, "GET", "/ticket", short), 410, "expired")["expired_at"]


def test_two_concurrent_uses_of_one_link_one_wins(platform, people):
    ticket = _ticket(platform, people)
    tokens = people["tokens"]
    for _ in range(4):          # each round: one link, two customers' clicks at once
        reply = _link(platform, people, ticket["id"], "reply")
        barrier, answers = threading.Barrier(2), []

        def use(reply=reply, barrier=barrier, answers=answers):
            barrier.wait()
            answers.append(portal(platform, "POST", "/ticket/replies", reply, json={"body": "Hello?"}))
        threads = [threading.Thread(target=use) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(a.status_code for a in answers) == [201, 410], [a.text for a in answers]
        assert [a.json()["reason"] for a in answers if a.status_code == 410] == ["used"]
    comments = platform.get(f"/api/v1/tickets/{ticket['id']}/comments", token=tokens["agent"]).json()["items"]
    assert sum(c["body"] == "Hello?" for c in comments) == 4                          # one reply per link


def test_the_portal_is_rate_limited_per_link(platform, people):
    ticket = _ticket(platform, people)
    reply = _link(platform, people, ticket["id"], "reply")
    answers = [portal(platform, "GET", "/ticket", reply).status_code for _ in range(21)]
    assert answers[:20] == [200] * 20 and answers[20] == 429
    assert portal(platform, "GET", "/ticket", _link(platform, people, ticket["id"], "reply")).status_code == 200


def test_quality_per_agent_against_hand_computed_figures(platform, people):
    tokens, tag = people["tokens"], new_id()[-6:]
    username = f"portal-q-{tag}"
    agent_user = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD,
                                                      "role": "member"}).json()
    agent = platform.login(username, PASSWORD)
    group = platform.post("/api/v1/support/groups", json={
        "name": f"Quality {tag}", "calendar": {"tz": "UTC", "week": {str(d): [[0, 1440]] for d in range(7)}},
        "members": [{"user_id": agent_user["id"]}]}).json()
    start = dt.datetime.now(UTC) - dt.timedelta(seconds=2)
    opened = []
    for csat, nps in ((5, 10), (2, 8)):
        t = platform.post("/api/v1/tickets", json={"subject": "Slow", "channel": "web", "category": "consultation",
                                                   "group_id": group["id"]}, token=tokens["rep"]).json()
        assert t["assignee_id"] == agent_user["id"]
        assert platform.post(f"/api/v1/tickets/{t['id']}/resolve", json={}, token=agent).status_code == 200
        link = platform.post(f"/api/v1/tickets/{t['id']}/portal-links", json={"purpose": "survey"},
                             token=agent).json()["token"]
        assert portal(platform, "POST", "/survey", link, json={"csat": csat, "nps": nps}).status_code == 201
        opened.append(t)
    assert platform.post(f"/api/v1/tickets/{opened[1]['id']}/reopen", json={"reason": "Slow again"},
                         token=agent).status_code == 200
    query = {"from": start.isoformat(), "to": (dt.datetime.now(UTC) + dt.timedelta(minutes=5)).isoformat()}

    mine = platform.get("/api/v1/support/quality", params=query, token=agent)      # an agent: their own
    assert mine.status_code == 200, mine.text
    [row] = mine.json()["items"]
    took = (dt.datetime.now(UTC) - start).total_seconds()
    # by hand: 2 opened, 1 resolved now (the other reopened) = 0.5; reopened 1 of the 2 ever resolved = 0.5;
    # clocks decided: both first responses (met at the resolution), the first's resolution (met) = 3 of 3;
    # CSAT (5 + 2) / 2 = 3.5, satisfied 1 of 2; NPS: 10 a promoter, 8 a passive: 100 * (1 - 0) / 2 = 50
    assert (row["agent_id"], row["opened"], row["resolved"], row["resolution_rate"]) == (
        agent_user["id"], 2, 1, 0.5)
    assert (row["reopened"], row["reopen_rate"]) == (1, 0.5)
    assert (row["sla"]["decided"], row["sla"]["met"], row["sla"]["compliance"]) == (3, 3, 1.0)
    assert row["csat"] == {"count": 2, "average": 3.5, "satisfied_rate": 0.5}
    assert row["nps"] == {"count": 2, "promoters": 1, "passives": 1, "detractors": 0, "score": 50.0}
    assert row["first_response"]["count"] == 2 and 0 <= row["first_response"]["average_seconds"] <= took  # 24x7
    assert row["resolution"]["count"] == 1 and 0 <= row["resolution"]["average_seconds"] <= took
    assert mine.json()["total"] == {k: v for k, v in row.items() if k != "agent_id"}

    # scopes: another agent may not ask for this one's; the admin sees the group's row
    assert platform.get("/api/v1/support/quality", params={**query, "agent_id": agent_user["id"]},
                        token=tokens["other"]).status_code == 403
    other = platform.get("/api/v1/support/quality", params=query, token=tokens["other"]).json()
    assert agent_user["id"] not in {r["agent_id"] for r in other["items"]}
    assert platform.get("/api/v1/support/quality", params={**query, "by": "team"}, token=agent).status_code == 422
    by_group = platform.get("/api/v1/support/quality", params={**query, "by": "group", "group_id": group["id"]})
    assert by_group.status_code == 200, by_group.text
    assert [(r["group_id"], r["opened"]) for r in by_group.json()["items"]] == [(group["id"], 2)]
