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
    assigned = platform.get("/healthz",
                            headers={"X-Request-ID": "bad id with spaces;" + "x" * 200}).headers["X-Request-ID"]
    assert assigned and " " not in assigned


# -- input no service can take: refused at the gateway, never a 500 (issue 9) -------------------------------
JSON_HEADERS = {"Content-Type": "application/json"}


def test_deeply_nested_json_is_400(platform):
    deep = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    body = assert_problem(platform.post("/api/v1/leads", data=deep, headers=JSON_HEADERS), 400)
    assert "nested deeper" in body["detail"]


@pytest.mark.parametrize("raw, field", [
    ('{"name": "bad \\ud800 text"}', "name"),
    ('{"name": "nul \\u0000 text"}', "name"),
    ('{"name": "x", "\\udc00": 1}', "\\udc00"),
])
def test_unstorable_text_in_a_body_is_422_naming_the_field(platform, raw, field):
    body = assert_problem(platform.post("/api/v1/leads", data=raw, headers=JSON_HEADERS), 422)
    assert set(body["errors"]) == {field}


def test_unstorable_text_in_nested_fields_is_422(platform):
    lead = platform.post("/api/v1/leads", json={"name": "Nested surrogate"}).json()
    raw = '{"opportunity": {"name": "\\udfff", "amount": "1.00"}}'
    body = assert_problem(platform.post(f"/api/v1/leads/{lead['id']}/convert", data=raw, headers=JSON_HEADERS), 422)
    assert set(body["errors"]) == {"opportunity.name"}
    assert platform.get(f"/api/v1/leads/{lead['id']}").json()["status"] == "pending"


@pytest.mark.parametrize("raw, field", [
    ('{"name": "Pool", "admin_ids": ["\\u0000"]}', "admin_ids.0"),
    ('{"name": "Pool", "member_ids": ["ok", "\\ud800"]}', "member_ids.1"),
])
def test_user_ids_the_gateway_resolves_are_checked_first(platform, raw, field):
    body = assert_problem(platform.post("/api/v1/lead-pools", data=raw, headers=JSON_HEADERS), 422)
    assert set(body["errors"]) == {field}


def test_user_ids_of_actions_are_checked_first(platform):
    lead = platform.post("/api/v1/leads", json={"name": "Assign surrogate"}).json()
    for path, raw, field in ((f"/api/v1/leads/{lead['id']}/assign", '{"owner_id": "\\ud800"}', "owner_id"),
                             (f"/api/v1/leads/{lead['id']}/team", '{"user_id": "a\\u0000", "access": "read"}',
                              "user_id")):
        body = assert_problem(platform.post(path, data=raw, headers=JSON_HEADERS), 422)
        assert set(body["errors"]) == {field}
    user = platform.post(f"/api/v1/leads/{lead['id']}/team", json={"user_id": "x" * 5000, "access": "read"})
    assert set(assert_problem(user, 422)["errors"]) == {"user_id"}


@pytest.mark.parametrize("cursor", [
    "eyJhZnRlciI6ICJcdTAwMDAifQ",            # {"after": "\u0000"}
    "eyJhZnRlciI6ICJcdWQ4MDAifQ",            # {"after": "\ud800"}
    "abc\x00def",
])
@pytest.mark.parametrize("path", ["/api/v1/leads", "/api/v1/users", "/api/v1/customers", "/api/v1/lead-pools"])
def test_cursors_holding_unstorable_text_are_422(platform, path, cursor):
    assert_problem(platform.get(path, params={"cursor": cursor}), 422)


@pytest.mark.parametrize("query", ["q=a%00b", "owner_id=%00", "cursor=%00", "colour%00=1"])
def test_nul_in_a_query_parameter_is_422(platform, query):
    assert_problem(platform.get(f"/api/v1/leads?{query}"), 422)


@pytest.mark.parametrize("path", ["/api/v1/leads?q=%ED%A0%80%FF", "/api/v1/leads/%ED%A0%80%FF",
                                  "/api/v1/users/%ED%A0%80", "/api/v1/leads/a%00b", "/api/v1/customers?owner_id=%FF"])
def test_bytes_that_are_not_utf8_are_text_not_a_fault(platform, path):
    resp = platform.get(path)
    assert resp.status_code in (200, 404), resp.text
    if resp.status_code == 404:
        assert_problem(resp, 404)


@pytest.mark.parametrize("length", [9_000, 100_000])
def test_an_over_long_url_is_414_problem_json(platform, length):
    """9 000 characters: past the gateway's limit; 100 000: past what the server reads of a request line
    (eventlet answered both with a bare text 414)."""
    body = assert_problem(platform.get("/api/v1/leads?q=" + "x" * length), 414)
    assert body["limit"] == 8192


def test_405_answers_carry_allow(platform):
    for method, path, allow in (("DELETE", "/api/v1/leads", "GET, HEAD, POST"),
                                ("PATCH", "/api/v1/leads/import", "POST"),
                                ("PUT", "/api/v1/leads/export", "GET, HEAD"),
                                ("POST", "/healthz", "GET, HEAD"), ("DELETE", "/openapi.json", "GET, HEAD"),
                                ("TRACE", "/docs", "GET, HEAD")):
        resp = platform.request(method, path)
        assert_problem(resp, 405)
        assert resp.headers["Allow"] == allow, (method, path)
    assert platform.request("HEAD", "/healthz").status_code == 200
