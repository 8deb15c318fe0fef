"""Support through the gateway, on the shared platform: an admin sets up a group with two agents; a
salesperson opens a ticket for their customer and it is routed to the least-loaded skilled agent; the
agent replies (the first-response clock is met), waits on the customer (the clocks pause) and resumes;
a move the status machine refuses is 409 naming the state; the SLA rule previews and flags as of a
time, once; the customer's overview shows the ticket; a stranger gets 404."""
import datetime as dt

import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def people(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Support {tag}"}).json()
    tokens, users = {}, {}
    for name in ("rep", "agent1", "agent2", "lead", "stranger"):
        username = f"sup-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": "member",
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    group = platform.post("/api/v1/support/groups", json={
        "name": f"Hardware {tag}", "department_id": dept["id"], "calendar": {
            "tz": "Asia/Shanghai", "week": {str(d): [[540, 1080]] for d in range(5)}, "holidays": ["2027-10-01"]},
        "members": [{"user_id": users["agent1"]["id"], "categories": ["fault"]},
                    {"user_id": users["agent2"]["id"], "categories": ["complaint"]},
                    {"user_id": users["lead"]["id"], "role": "lead"}]})
    assert group.status_code == 201, group.text
    assert platform.post("/api/v1/support/groups", json={"name": "x"}, token=tokens["rep"]).status_code == 403
    return {"tokens": tokens, "users": users, "group": group.json(), "tag": tag}


def test_a_ticket_is_routed_worked_and_its_sla_flagged(platform, people):
    tokens, users = people["tokens"], people["users"]
    customer = platform.post("/api/v1/customers", json={"name": f"Initech {people['tag']}"}, token=tokens["rep"])
    assert customer.status_code == 201, customer.text
    customer = customer.json()
    created = platform.post("/api/v1/tickets", json={
        "subject": "The printer does not print", "channel": "phone", "category": "fault", "priority": "urgent",
        "customer_id": customer["id"], "group_id": people["group"]["id"], "onsite": True}, token=tokens["rep"])
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["number"].startswith(f"TK-{dt.date.today().year}-") and ticket["status"] == "assigned"
    assert ticket["assignee_id"] == users["agent1"]["id"]                 # the one skilled in faults
    assert {c["clock"] for c in ticket["sla"]["clocks"]} == {"first_response", "resolution", "arrival"}
    path = f"/api/v1/tickets/{ticket['id']}"
    agent = tokens["agent1"]

    assert platform.get(path, token=tokens["stranger"]).status_code == 404
    assert platform.get(path, token=tokens["rep"]).status_code == 200     # its creator reads it
    closed = platform.post(f"{path}/close", json={}, token=agent)
    assert closed.status_code == 409 and "'assigned'" in closed.json()["detail"], closed.text

    reply = platform.post(f"{path}/comments", json={"body": "We are on it", "public": True}, token=agent)
    assert reply.status_code == 201, reply.text
    now = platform.get(path, token=agent).json()
    assert now["status"] == "in_progress"
    assert {c["clock"]: c["state"] for c in now["sla"]["clocks"]}["first_response"] == "met"
    waiting = platform.post(f"{path}/wait", json={"reason": "Which model?"}, token=agent)
    assert waiting.status_code == 200 and waiting.json()["status"] == "waiting_on_customer", waiting.text
    assert {c["state"] for c in waiting.json()["sla"]["clocks"]} == {"met", "paused"}   # the reply was in time
    resumed = platform.post(f"{path}/resume", json={}, token=agent).json()
    assert resumed["status"] == "in_progress" and resumed["next_sla_check_at"]

    # the SLA rule, as of a month later: a preview, then the breaches, once
    as_of = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    assert platform.post("/api/v1/tickets/sla-run", json={"as_of": as_of}, token=agent).status_code == 403
    preview = platform.post("/api/v1/tickets/sla-run", json={"as_of": as_of, "dry_run": True},
                            token=tokens["lead"])
    assert preview.status_code == 200 and preview.json()["dry_run"] is True, preview.text
    mine = {(f["clock"], f["kind"]) for f in preview.json()["flags"] if f["ticket_id"] == ticket["id"]}
    assert mine == {("resolution", "breached"), ("arrival", "breached")}
    run = platform.post("/api/v1/tickets/sla-run", json={"as_of": as_of}, token=tokens["lead"]).json()
    assert {(f["clock"], f["kind"]) for f in run["flags"] if f["ticket_id"] == ticket["id"]} == mine
    again = platform.post("/api/v1/tickets/sla-run", json={"as_of": as_of}, token=tokens["lead"]).json()
    assert not [f for f in again["flags"] if f["ticket_id"] == ticket["id"]]
    history = platform.get(f"{path}/history", token=agent).json()["items"]
    assert {e["action"] for e in history} >= {"assign", "sla_flag", "wait", "resume"}

    resolved = platform.post(f"{path}/resolve", json={"resolution": "Replaced the toner"}, token=agent)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text

    page = platform.get(f"/api/v1/customers/{customer['id']}/overview", token=tokens["rep"]).json()
    assert page["tickets"]["available"] is True
    assert [t["id"] for t in page["tickets"]["items"]] == [ticket["id"]]


def test_a_reassignment_is_routed_again_or_chosen(platform, people):
    tokens, users = people["tokens"], people["users"]
    ticket = platform.post("/api/v1/tickets", json={
        "subject": "Rude driver", "channel": "email", "category": "complaint", "group_id": people["group"]["id"]},
        token=tokens["rep"]).json()
    assert ticket["assignee_id"] == users["agent2"]["id"]
    path = f"/api/v1/tickets/{ticket['id']}"
    moved = platform.post(f"{path}/assign", json={"assignee_id": users["lead"]["id"], "reason": "Escalated"},
                          token=tokens["agent2"])
    assert moved.status_code == 200 and moved.json()["assignee_id"] == users["lead"]["id"], moved.text
    entry = next(e for e in platform.get(f"{path}/history").json()["items"] if e["action"] == "assign")
    assert entry["changes"]["assignment"][1]["rule"] == "chosen"
    assert entry["changes"]["assignment"][1]["reason"] == "Escalated"
    listed = platform.get("/api/v1/tickets", params={"assignee_id": users["lead"]["id"]}, token=tokens["lead"])
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]



def test_tickets_routed_at_once_in_a_group_go_to_different_agents(platform, people):
    """Routings in one group take turns (the group row is locked before the loads are counted): two
    agents with room for three tickets each, ten queued tickets routed into the group at the same
    moment -> three each, the other four refused (409, all at capacity) and left unassigned."""
    from concurrent.futures import ThreadPoolExecutor

    tag = new_id()[-6:]
    agents = []
    for i in range(2):
        resp = platform.post("/api/v1/users", json={"username": f"sup-busy{i}-{tag}", "password": PASSWORD,
                                                    "role": "member"})
        assert resp.status_code == 201, resp.text
        agents.append(resp.json()["id"])
    group = platform.post("/api/v1/support/groups", json={
        "name": f"Hotline {tag}", "members": [{"user_id": a, "capacity": 3} for a in agents]})
    assert group.status_code == 201, group.text
    queued = []
    for i in range(10):
        resp = platform.post("/api/v1/tickets", json={"subject": f"Question {i}", "channel": "chat",
                                                       "category": "consultation"})
        assert resp.status_code == 201 and resp.json()["assignee_id"] is None, resp.text
        queued.append(resp.json()["id"])

    def route(ticket_id):
        return platform.post(f"/api/v1/tickets/{ticket_id}/assign", json={"group_id": group.json()["id"]})

    with ThreadPoolExecutor(10) as pool:
        routed = list(pool.map(route, queued))
    assert sorted(r.status_code for r in routed) == [200] * 6 + [409] * 4, [r.text for r in routed]
    assignees = sorted(r.json()["assignee_id"] for r in routed if r.status_code == 200)
    assert assignees == sorted(agents * 3), assignees
