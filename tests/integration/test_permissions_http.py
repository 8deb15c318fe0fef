"""Data scopes end to end: real users and departments at the gateway, the principal
carried over RPC, each service enforcing the scope. Table-driven: later
resources add rows to ``CASES``.

Out of scope answers exactly like missing (404); in scope but not allowed to
change answers 403.
"""
import csv
import io

import pytest

from crm_kit.ids import new_id

ROLES = ("admin", "manager_above", "manager_same", "manager_other", "owner", "team_read", "team_rw",
         "stranger")

# operation -> expected status per role
CASES = {
    "read_lead":          dict(admin=200, manager_above=200, manager_same=200, manager_other=404, owner=200,
                               team_read=200, team_rw=200, stranger=404),
    "list_lead":          dict(admin=True, manager_above=True, manager_same=True, manager_other=False, owner=True,
                               team_read=True, team_rw=True, stranger=False),
    "export_lead":        dict(admin=True, manager_above=True, manager_same=True, manager_other=False, owner=True,
                               team_read=True, team_rw=True, stranger=False),
    "update_lead":        dict(admin=200, manager_above=200, manager_same=200, manager_other=404, owner=200,
                               team_read=403, team_rw=200, stranger=404),
    "lead_history":       dict(admin=200, manager_above=200, manager_same=200, manager_other=404, owner=200,
                               team_read=200, team_rw=200, stranger=404),
    "set_team":           dict(admin=200, manager_above=200, manager_same=200, manager_other=404, owner=200,
                               team_read=403, team_rw=200, stranger=404),
    "read_follow_up":     dict(admin=200, manager_above=200, manager_same=200, manager_other=404, owner=200,
                               team_read=200, team_rw=200, stranger=404),
    "read_customer":      dict(admin=200, manager_above=200, manager_same=200, manager_other=404, owner=200,
                               team_read=404, team_rw=404, stranger=404),
}


@pytest.fixture(scope="module")
def world(platform):
    """Departments sales > east, and other; one user per role; one lead owned by 'owner'."""
    tag = new_id()[-6:]
    sales = platform.post("/api/v1/departments", json={"name": f"Sales {tag}"}).json()
    east = platform.post("/api/v1/departments", json={"name": f"East {tag}", "parent_id": sales["id"]}).json()
    other = platform.post("/api/v1/departments", json={"name": f"Other {tag}"}).json()
    homes = {"manager_above": ("manager", sales), "manager_same": ("manager", east),
             "manager_other": ("manager", other), "owner": ("member", east), "team_read": ("member", east),
             "team_rw": ("member", other), "stranger": ("member", east)}
    users, tokens = {}, {"admin": platform.admin_token}
    for name, (role, dept) in homes.items():
        username = f"{name}-{tag}"
        user = platform.post("/api/v1/users", json={"username": username, "password": "a long password",
                                                    "role": role, "department_id": dept["id"]})
        assert user.status_code == 201, user.text
        users[name] = user.json()
        tokens[name] = platform.login(username, "a long password")
    bystander = platform.post("/api/v1/users", json={"username": f"bystander-{tag}", "password": "a long password",
                                                     "role": "member"}).json()  # the target of team changes
    users["bystander"] = bystander
    lead = platform.post("/api/v1/leads", json={"name": f"Scoped {tag}", "company": f"Scoped Co {tag}"},
                         token=tokens["owner"])
    assert lead.status_code == 201, lead.text
    lead = lead.json()
    assert lead["owner_id"] == users["owner"]["id"] and lead["department_id"] == east["id"]
    for name, access in (("team_read", "read"), ("team_rw", "read_write")):
        r = platform.post(f"/api/v1/leads/{lead['id']}/team", json={"user_id": users[name]["id"], "access": access},
                          token=tokens["owner"])
        assert r.status_code == 200, r.text
    follow_up = platform.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"kind": "call", "content": "Hello"},
                              token=tokens["owner"])
    assert follow_up.status_code == 201, follow_up.text
    # a customer owned by the same owner (created through conversion by the owner)
    other_lead = platform.post("/api/v1/leads", json={"name": f"Conv {tag}", "company": f"Customer Co {tag}"},
                               token=tokens["owner"]).json()
    platform.post(f"/api/v1/leads/{other_lead['id']}/convert", json={}, token=tokens["owner"])
    customer_id = platform.eventually(
        lambda: platform.get(f"/api/v1/leads/{other_lead['id']}").json()["customer_id"])
    return {"tokens": tokens, "users": users, "lead": lead, "customer_id": customer_id,
            "follow_up_url": follow_up.headers["Location"]}


def run(platform, world, operation, role):
    token, lead = world["tokens"][role], world["lead"]
    if operation == "read_lead":
        return platform.get(f"/api/v1/leads/{lead['id']}", token=token).status_code
    if operation == "list_lead":
        items = platform.get("/api/v1/leads", params={"limit": 200}, token=token).json()["items"]
        return lead["id"] in {i["id"] for i in items}
    if operation == "export_lead":
        resp = platform.get("/api/v1/leads/export", token=token)
        assert resp.status_code == 200, resp.text
        return lead["id"] in {row["id"] for row in csv.DictReader(io.StringIO(resp.text))}
    if operation == "update_lead":
        return platform.request("PATCH", f"/api/v1/leads/{lead['id']}", json={"notes": f"by {role}"},
                                token=token).status_code
    if operation == "lead_history":
        return platform.get(f"/api/v1/leads/{lead['id']}/history", token=token).status_code
    if operation == "set_team":
        return platform.post(f"/api/v1/leads/{lead['id']}/team",
                             json={"user_id": world["users"]["bystander"]["id"], "access": "read"},
                             token=token).status_code
    if operation == "read_follow_up":
        return platform.get(world["follow_up_url"], token=token).status_code
    if operation == "read_customer":
        return platform.get(f"/api/v1/customers/{world['customer_id']}", token=token).status_code
    raise AssertionError(operation)


@pytest.mark.parametrize("operation,role", [(op, role) for op in CASES for role in ROLES])
def test_permission_matrix(platform, world, operation, role):
    assert run(platform, world, operation, role) == CASES[operation][role]


def test_history_shows_who_when_what_and_the_request(platform, world):
    lead, owner = world["lead"], world["tokens"]["owner"]
    request_id = f"hist-{new_id()}"
    current = platform.get(f"/api/v1/leads/{lead['id']}", token=owner).json()
    resp = platform.request("PATCH", f"/api/v1/leads/{lead['id']}", json={"region": "华东"},
                            headers={"If-Match": str(current["version"]), "X-Request-ID": request_id}, token=owner)
    assert resp.status_code == 200, resp.text
    stale = platform.request("PATCH", f"/api/v1/leads/{lead['id']}", json={"region": "华南"},
                             headers={"If-Match": str(current["version"])}, token=owner)
    assert stale.status_code == 409 and stale.json()["current_version"] == resp.json()["version"]
    history = platform.get(f"/api/v1/leads/{lead['id']}/history", token=owner).json()["items"]
    entry = next(e for e in history if e["request_id"] == request_id)
    assert entry["actor_id"] == world["users"]["owner"]["id"]
    assert entry["changes"]["region"] == [current["region"], "华东"]
    assert entry["at"]
    assert history[-1]["action"] == "create"
