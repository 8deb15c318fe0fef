"""The Python client's hand-written core (clients/python/crm_client): when a call is retried and
when it never is, problem+json as exceptions, keyset pages as one iterator, the token renewed
once -- over a fake transport (a requests adapter answering from a script), no platform."""
from __future__ import annotations

import json
import uuid

import crm_client
import pytest
import requests
from crm_client import Client, retry_delay
from crm_client.errors import parse_retry_after, problem_from


class Script(requests.adapters.BaseAdapter):
    """Answers each request with the next scripted answer: (status, headers, body) or an exception."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(request)
        status, headers, body = answer
        resp = requests.Response()
        resp.status_code, resp.request, resp.url = status, request, request.url
        resp.reason = {200: "OK", 201: "Created", 502: "Bad Gateway"}.get(status, "")
        resp.headers.update(headers)
        resp._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return resp

    def close(self):
        pass


def problem(status, **extra):
    body = {"type": f"https://crm.example.org/problems/p{status}", "title": f"T{status}", "status": status,
            "detail": f"detail {status}", **extra}
    headers = {"Content-Type": "application/problem+json", "X-Request-ID": "rid-1"}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return status, headers, body


def ok(body, status=200):
    return status, {"Content-Type": "application/json"}, body


def client_with(*answers, **kw):
    script = Script(*answers)
    session = requests.Session()
    session.mount("http://", script)
    slept: list[float] = []
    client = Client("http://crm.test", "tok", session=session, sleep=slept.append, **kw)
    return client, script, slept


# -- the retry decision --------------------------------------------------------------------------

@pytest.mark.parametrize("method, keyed, answer, retried", [
    ("GET", False, {"status": 503}, True),
    ("DELETE", False, {"status": 503}, True),
    ("POST", True, {"status": 503}, True),
    ("PATCH", True, {"status": 503}, True),
    ("POST", False, {"status": 503}, False),           # may have been done: never twice
    ("PATCH", False, {"status": 503}, False),
    ("POST", False, {"status": 429}, True),            # refused before anything was done
    ("POST", False, {"error": requests.ConnectionError("reset")}, False),
    ("POST", True, {"error": requests.ConnectionError("reset")}, True),
    ("GET", False, {"error": requests.ReadTimeout("slow")}, True),
    ("POST", False, {"error": requests.ReadTimeout("slow")}, False),
    ("POST", False, {"error": requests.ConnectTimeout("never sent")}, True),
    ("POST", True, {"status": 409, "retry_after": 1.0}, True),   # the same key still in progress
    ("POST", False, {"status": 409, "retry_after": 1.0}, False),
    ("POST", True, {"status": 409}, False),            # a real conflict
    ("GET", False, {"status": 504}, True),
    ("POST", False, {"status": 502}, False),
    ("GET", False, {"status": 500}, False),
    ("GET", False, {"status": 404}, False),
    ("POST", True, {"status": 422}, False),
])
def test_which_answers_are_retried(method, keyed, answer, retried):
    assert (retry_delay(1, method, keyed, **answer) is not None) is retried


def test_the_wait_is_retry_after_capped_else_backoff_with_jitter_and_the_retries_run_out():
    assert retry_delay(1, "GET", False, status=503, retry_after=3) == 3
    assert retry_delay(1, "GET", False, status=503, retry_after=300, max_wait=30) == 30
    assert retry_delay(3, "GET", False, status=503, backoff=0.5, rand=lambda: 1.0) == 2.0
    assert retry_delay(3, "GET", False, status=503, backoff=0.5, rand=lambda: 0.0) == 0.0
    assert retry_delay(10, "GET", False, status=503, backoff=0.5, max_retries=20, rand=lambda: 1.0) == 30.0
    assert retry_delay(4, "GET", False, status=503, max_retries=4) is not None
    assert retry_delay(5, "GET", False, status=503, max_retries=4) is None


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0     # in the past: now


# -- the calls -----------------------------------------------------------------------------------

def test_a_create_carries_one_generated_key_on_every_retry_and_returns_the_record():
    client, script, slept = client_with(problem(503, retry_after=2), problem(503, retry_after=1),
                                        ok({"id": "L1", "name": "Ada"}, 201))
    lead = client.leads.create(name="Ada", phone="13800000000")
    assert lead == {"id": "L1", "name": "Ada"}
    assert [r.method for r in script.sent] == ["POST"] * 3 and slept == [2.0, 1.0]
    keys = {r.headers["Idempotency-Key"] for r in script.sent}
    assert len(keys) == 1 and uuid.UUID(keys.pop())
    assert json.loads(script.sent[0].body) == {"name": "Ada", "phone": "13800000000"}
    assert script.sent[0].headers["Authorization"] == "Bearer tok"
    assert script.sent[0].url == "http://crm.test/api/v1/leads"


def test_two_creates_get_two_keys_and_a_given_key_is_sent_as_given():
    client, script, _ = client_with(ok({"id": "1"}, 201), ok({"id": "2"}, 201), ok({"id": "2"}, 201))
    client.leads.create(name="a")
    client.leads.create(name="b")
    client.leads.create(name="b", idempotency_key="my-key-1")
    keys = [r.headers["Idempotency-Key"] for r in script.sent]
    assert keys[0] != keys[1] and keys[2] == "my-key-1"


def test_a_post_without_a_key_is_not_retried_after_a_503_nor_after_a_lost_connection():
    client, script, slept = client_with(problem(503, retry_after=2, service="leads"))
    with pytest.raises(crm_client.Unavailable) as caught:
        client.request("POST", "/api/v1/leads", json={"name": "x"})
    assert len(script.sent) == 1 and slept == [] and "Idempotency-Key" not in script.sent[0].headers
    exc = caught.value
    assert exc.status == 503 and exc.retry_after == 2 and exc.problem["service"] == "leads"
    assert exc.request_id == "rid-1" and exc.attempts == 1 and isinstance(exc, crm_client.ProblemError)

    client, script, slept = client_with(requests.ConnectionError("connection reset"))
    with pytest.raises(crm_client.ConnectionFailed):
        client.request("POST", "/api/v1/leads", json={"name": "x"})
    assert len(script.sent) == 1


def test_a_read_is_retried_after_a_lost_connection_and_a_503_until_the_retries_run_out():
    client, script, slept = client_with(requests.ConnectionError("reset"), problem(503), ok({"id": "L1"}),
                                        backoff=0.1)
    assert client.leads.get("L1") == {"id": "L1"}
    assert len(script.sent) == 3 and len(slept) == 2 and all(0 <= s <= 0.2 for s in slept)

    client, script, slept = client_with(*[problem(503, retry_after=1)] * 3, max_retries=2)
    with pytest.raises(crm_client.Unavailable) as caught:
        client.leads.get("L1")
    assert len(script.sent) == 3 and caught.value.attempts == 3


def test_a_rate_limited_sign_in_waits_as_told():
    client, script, slept = client_with(problem(429, retry_after=3, limit="10/minute"),
                                        ok({"access_token": "new", "token_type": "bearer", "expires_in": 60}))
    client.sign_in("ada", "pw")
    assert slept == [3.0] and client.token == "new"
    assert "Authorization" not in script.sent[0].headers


@pytest.mark.parametrize("answer, cls, check", [
    (problem(422, errors={"phone": ["Not a phone number."], "name": ["Required."]}), crm_client.ValidationError,
     lambda e: e.errors["phone"] == ["Not a phone number."] and "phone: Not a phone number." in str(e)),
    (problem(409, current_state="converted"), crm_client.Conflict, lambda e: e.current_state == "converted"),
    (problem(409, existing_id="C9", field="name"), crm_client.Conflict, lambda e: e.existing_id == "C9"),
    (problem(404), crm_client.NotFound, lambda e: e.title == "T404" and e.detail == "detail 404"),
    (problem(403, action="delete"), crm_client.Forbidden, lambda e: e.problem["action"] == "delete"),
    (problem(401, reason="missing"), crm_client.Unauthorized, lambda e: e.problem["reason"] == "missing"),
    (problem(500, error_id="E1"), crm_client.ServerError, lambda e: e.error_id == "E1"),
    ((502, {"Content-Type": "text/html"}, b"<html><body>bad gateway</body></html>"), crm_client.ServerError,
     lambda e: e.status == 502 and e.title == "Bad Gateway" and "bad gateway" in e.detail),
    ((418, {"Content-Type": "application/problem+json"}, b"not json"), crm_client.ProblemError,
     lambda e: e.status == 418 and e.detail == "not json"),
])
def test_problems_are_raised_as_the_exception_of_their_status(answer, cls, check):
    client, script, _ = client_with(answer, max_retries=0)     # a 502 on a read would be retried
    with pytest.raises(cls) as caught:
        client.leads.get("L1")
    assert check(caught.value), caught.value.problem
    assert len(script.sent) == 1


def test_problem_from_keeps_every_member():
    doc = problem_from(409, "application/problem+json", json.dumps({"title": "x", "current_version": 4}))
    assert doc == {"title": "x", "current_version": 4, "status": 409}


def test_an_expired_token_signs_in_again_once_when_the_client_knows_the_credentials():
    token = ok({"access_token": "t1", "token_type": "bearer", "expires_in": 60})
    client, script, _ = client_with(token, problem(401, reason="expired"),
                                    ok({"access_token": "t2", "token_type": "bearer", "expires_in": 60}),
                                    ok({"id": "L1"}), problem(401, reason="expired"),
                                    ok({"access_token": "t3", "token_type": "bearer", "expires_in": 60}),
                                    problem(401, reason="expired"))
    client.sign_in("ada", "pw")
    assert client.leads.get("L1") == {"id": "L1"}
    assert [r.headers.get("Authorization") for r in script.sent[1:4]] == ["Bearer t1", None, "Bearer t2"]
    with pytest.raises(crm_client.Unauthorized):     # still refused after signing in again: no loop
        client.leads.get("L1")


# -- generated methods over the core ---------------------------------------------------------------

def test_updates_send_if_match_and_path_parameters_are_escaped():
    client, script, _ = client_with(ok({"id": "a/b", "version": 4}), ok(None, 204))
    client.leads.update("a/b", if_match=3, name="New")
    client.leads.delete("a/b", if_match=4)
    patch, delete = script.sent
    assert patch.method == "PATCH" and patch.url == "http://crm.test/api/v1/leads/a%2Fb"
    assert patch.headers["If-Match"] == '"3"' and json.loads(patch.body) == {"name": "New"}
    assert delete.method == "DELETE" and delete.headers["If-Match"] == '"4"' and "Idempotency-Key" in delete.headers


def test_an_action_without_a_body_and_a_csv_import():
    client, script, _ = client_with(ok({"id": "L1", "status": "pending"}), ok({"created": 1}))
    client.leads.claim("L1")
    client.leads.import_csv("name\nAda\n")
    claim, imported = script.sent
    assert claim.url.endswith("/api/v1/leads/L1/claim") and claim.body is None
    assert imported.headers["Content-Type"].startswith("text/csv") and imported.body == b"name\nAda\n"


# -- pages ---------------------------------------------------------------------------------------

def test_a_list_follows_the_cursor_lazily_with_the_same_filters_until_it_is_null():
    client, script, _ = client_with(ok({"items": [{"id": "1"}, {"id": "2"}], "next_cursor": "c1"}),
                                    ok({"items": [{"id": "3"}], "next_cursor": "c2"}),
                                    ok({"items": [], "next_cursor": None}))
    pages = client.leads.list(status="pending", sla_breached=False, limit=2)
    assert script.sent == []                              # nothing asked before it is iterated
    items = iter(pages)
    assert next(items) == {"id": "1"} and len(script.sent) == 1
    assert [lead["id"] for lead in items] == ["2", "3"]
    queries = [requests.utils.urlparse(r.url).query for r in script.sent]
    assert queries == ["status=pending&sla_breached=false&limit=2",
                       "status=pending&sla_breached=false&limit=2&cursor=c1",
                       "status=pending&sla_breached=false&limit=2&cursor=c2"]
    assert pages.next_cursor is None


def test_a_cursor_that_comes_back_is_refused_rather_than_followed_for_ever():
    page = ok({"items": [{"id": "1"}], "next_cursor": "same"})
    client, script, _ = client_with(page, page)
    with pytest.raises(crm_client.CursorLoop):
        list(client.leads.list())
    assert len(script.sent) == 2
