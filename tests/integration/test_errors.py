"""Bad input gets a clear problem+json, never a stack trace or a half-applied change."""
import pytest

from crm_kit.ids import new_id

PROBLEM = "application/problem+json"


def assert_problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    assert "Traceback" not in resp.text and "File \"" not in resp.text
    assert resp.headers["X-Request-ID"]
    return body


def test_invalid_json_is_400(platform):
    resp = platform.post("/api/v1/leads", data=b'{"name": "x",', headers={"Content-Type": "application/json"})
    body = assert_problem(resp, 400)
    assert "JSON" in body["detail"]


def test_non_object_json_is_400(platform):
    assert_problem(platform.post("/api/v1/leads", json=["not", "an", "object"]), 400)


def test_missing_and_invalid_fields_are_422_naming_each_field(platform):
    resp = platform.post("/api/v1/leads", json={"email": "not-an-email", "source": "carrier-pigeon"})
    body = assert_problem(resp, 422)
    assert set(body["errors"]) == {"name", "email", "source"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_server_owned_fields_are_refused(platform):
    resp = platform.post("/api/v1/leads", json={"name": "x", "status": "converted", "owner_id": "someone",
                                                "id": "chosen-id", "version": 7})
    body = assert_problem(resp, 422)
    assert set(body["errors"]) == {"status", "owner_id", "id", "version"}
    assert "set by the server" in body["errors"]["status"][0]


def test_nested_validation_errors_use_dotted_paths(platform):
    lead = platform.post("/api/v1/leads", json={"name": "Nested"}).json()
    resp = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={"opportunity": {"amount": "abc"}})
    body = assert_problem(resp, 422)
    assert set(body["errors"]) == {"opportunity.name", "opportunity.amount"}
    # nothing half-applied: the lead is still pending and convertible
    assert platform.get(f"/api/v1/leads/{lead['id']}").json()["status"] == "pending"


@pytest.mark.parametrize("path", ["/api/v1/leads/{id}", "/api/v1/customers/{id}",
                                  "/api/v1/customers/{id}/contacts"])
def test_unknown_id_is_404(platform, path):
    body = assert_problem(platform.get(path.format(id=new_id())), 404)
    assert "not found" in body["detail"]


def test_unknown_id_action_is_404(platform):
    assert_problem(platform.post(f"/api/v1/leads/{new_id()}/convert", json={}), 404)


def test_unknown_route_and_method_are_problems(platform):
    assert_problem(platform.get("/api/v1/no-such-thing"), 404)
    assert_problem(platform.get("/api/v1/leads/%0Aline%0Abreak"), 404)   # no HTML error page, ever
    assert_problem(platform.request("DELETE", "/api/v1/leads"), 405)


def test_bad_list_parameters_are_422(platform):
    body = assert_problem(platform.get("/api/v1/leads", params={"limit": 500, "colour": "red"}), 422)
    assert set(body["errors"]) == {"limit", "colour"}
    assert_problem(platform.get("/api/v1/leads", params={"cursor": "%%%garbage"}), 422)


def test_duplicate_phone_is_409_with_existing_id(platform):
    phone = "137" + new_id()[-8:].translate(str.maketrans("abcdef", "123456"))
    first = platform.post("/api/v1/leads", json={"name": "A", "phone": phone}).json()
    body = assert_problem(platform.post("/api/v1/leads", json={"name": "B", "phone": f"+86 {phone}"}), 409)
    assert body["existing_id"] == first["id"]


def test_request_id_is_echoed_or_assigned(platform):
    assert platform.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assigned = platform.get("/healthz", headers={"X-Request-ID": "bad id with spaces;" + "x" * 200}).headers["X-Request-ID"]
    assert assigned and " " not in assigned
