"""Bad input at the gateway is a 400/422 (or 405, 414) problem, never a 500: what ``gateway.inputs`` refuses
before any service sees it, the ids the gateway resolves itself, the methods a path takes, the URL's length,
and ``Retry-After`` on the answers that ask the client to come back."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm_kit.errors import BadRequest, Conflict, ServiceUnavailable, TooManyRequests, ValidationFailed
from gateway import inputs, problems
from gateway.http import MAX_URL_LENGTH, ApiEntrypoint, route_not_found
from gateway.identity import users
from gateway.ratelimit import RateLimits
from gateway.routes import build_map
from gateway.service import GatewayService


def _request(method="POST", path="/api/v1/leads", data=None, headers=None, query=None, content_type="application/json"):
    return Request(EnvironBuilder(method=method, path=path, data=data, headers=headers, query_string=query,
                                  content_type=content_type).get_environ())


def _body(raw: bytes | str):
    return inputs.json_body(_request(data=raw.encode() if isinstance(raw, str) else raw))


# -- JSON bodies ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [inputs.MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_400(depth):
    with pytest.raises(BadRequest) as info:                    # 100 000 levels: a RecursionError, before
        _body('{"a": ' + "[" * depth + "]" * depth + "}")
    assert "nested deeper" in info.value.detail


def test_json_nested_up_to_the_limit_is_read():
    depth = inputs.MAX_JSON_DEPTH - 1
    assert _body('{"a": ' + "[" * depth + "]" * depth + "}")["a"] is not None


@pytest.mark.parametrize("raw, field", [
    (r'{"name": "a\ud800b"}', "name"),                          # a lone surrogate, escaped
    (b'{"name": "a\xed\xa0\x80"}', "name"),                     # ... or as (CESU) bytes
    (r'{"name": "\udc00"}', "name"),
    (r'{"name": "x\u0000"}', "name"),
    (r'{"opportunity": {"name": "\ud83d"}}', "opportunity.name"),
    (r'{"admin_ids": ["ok", "\u0000"]}', "admin_ids.1"),
])
def test_unstorable_text_is_422_naming_the_field(raw, field):
    with pytest.raises(ValidationFailed) as info:
        _body(raw)
    assert list(info.value.errors) == [field]
    json.dumps(info.value.extra).encode()                      # the answer itself can be sent


@pytest.mark.parametrize("raw", [r'{"na\u0000me": 1}', r'{"\ud800": 1}', r'{"a": {"b\udfff": []}}'])
def test_unstorable_keys_are_422_with_a_printable_name(raw):
    with pytest.raises(ValidationFailed) as info:
        _body(raw)
    (name,) = info.value.errors
    assert "\\u" in name
    json.dumps(info.value.errors, ensure_ascii=False).encode("utf-8")   # no surrogate left to encode


def test_a_paired_surrogate_is_text():
    assert _body(r'{"name": "\ud83d\ude00"}') == {"name": "😀"}


@pytest.mark.parametrize("raw", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1', "[1]", "\xff"])
def test_what_is_not_a_json_object_is_400(raw):
    with pytest.raises(BadRequest):
        _body(raw.encode("latin-1"))


# -- query strings, versions -------------------------------------------------------------------------------
@pytest.mark.parametrize("query, field", [("q=a%00b", "q"), ("a%00=1", "a\\u0000"), ("cursor=%00", "cursor")])
def test_nul_in_the_query_string_is_422(query, field):
    with pytest.raises(ValidationFailed) as info:
        inputs.check_query(_request("GET", query=query))
    assert list(info.value.errors) == [field]


def test_bytes_that_are_not_utf8_in_the_query_are_text():
    inputs.check_query(_request("GET", query="q=%ED%A0%80&x=%FF"))     # kept as sent: nothing to refuse


@pytest.mark.parametrize("header, expected", [("3", 3), ('"3"', 3), ('W/"12"', 12), ("007", 7)])
def test_if_match(header, expected):
    assert inputs.expected_version(_request(headers={"If-Match": header}), {}) == expected


@pytest.mark.parametrize("header", ["0", "-1", "latest", "²", "٣", "1.5", ""])
def test_if_match_that_is_not_a_version_is_400(header):
    with pytest.raises(BadRequest):                           # "²" passed isdigit() and int() raised: a 500
        inputs.expected_version(_request(headers={"If-Match": header}), {})


@pytest.mark.parametrize("version", [0, -3, True, "3", 1.5, None, "²"])
def test_a_body_version_that_is_not_a_version_is_422(version):
    with pytest.raises(ValidationFailed) as info:
        inputs.expected_version(_request(), {"version": version})
    assert list(info.value.errors) == ["version"]


def test_the_body_version_is_the_gateways_even_when_if_match_wins():
    body = {"name": "x", "version": 2}
    assert inputs.expected_version(_request(headers={"If-Match": "5"}), body) == 5 and body == {"name": "x"}
    assert inputs.expected_version(_request(), {"version": 4}) == 4


# -- ids the gateway resolves itself -----------------------------------------------------------------------
@pytest.mark.parametrize("user_id", ["a\x00b", "\ud800", "x" * 37, "", 5, None])
def test_ids_no_user_can_have_are_unknown_without_a_query(user_id):
    with pytest.raises(ValidationFailed) as info:              # no unit of work needed: nothing is asked
        users.departments_of(None, {"owner_id": [user_id]})
    assert list(info.value.errors) == ["owner_id"]


@pytest.mark.parametrize("ids", [["a\x00"], ["ok", "\udfff"], ["x" * 100]])
def test_member_ids_no_user_can_have_are_422(ids):
    with pytest.raises(ValidationFailed) as info:
        users.departments_of(None, {"admin_ids": ["ok"], "member_ids": ids})
    assert list(info.value.errors) == ["member_ids"]                 # the field that names them
    json.dumps(info.value.extra, ensure_ascii=False).encode("utf-8")


# -- methods and URLs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, method, allow", [
    ("/api/v1/leads", "DELETE", "GET, HEAD, POST"),
    ("/api/v1/leads/import", "PATCH", "POST"),        # not a lead called "import"
    ("/api/v1/leads/import", "GET", "POST"),
    ("/api/v1/leads/export", "DELETE", "GET, HEAD"),
    ("/api/v1/leads/L1", "PUT", "DELETE, GET, HEAD, PATCH"),
])
def test_405_names_the_methods_the_path_takes(path, method, allow):
    with pytest.raises(MethodNotAllowed) as info:
        build_map().bind("localhost").match(path, method=method)
    response = route_not_found(info.value)
    assert response.status_code == 405 and response.headers["Allow"] == allow
    assert response.mimetype == problems.PROBLEM_JSON


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/events",
                                  "/asyncapi.json", "/docs/assets/docs.js"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_operations_routes_take_get_and_head_only(path, method):
    request = _request(method, path=path, content_type=None)
    response = GatewayService.dispatch(SimpleNamespace(), request)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"


def test_a_url_over_the_limit_is_414_problem_json():
    entrypoint = ApiEntrypoint()          # no worker is spawned: the URL is refused first
    request = _request("GET", path="/api/v1/leads", query="q=" + "x" * MAX_URL_LENGTH)
    response = entrypoint.handle_request(request)
    assert response.status_code == 414 and response.mimetype == problems.PROBLEM_JSON
    assert json.loads(response.get_data())["limit"] == MAX_URL_LENGTH and response.headers["X-Request-ID"]


# -- Retry-After ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("error, seconds", [
    (ServiceUnavailable("The leads service did not answer in time.", {"service": "leads", "retry_after": 5}), "5"),
    (ServiceUnavailable("The leads service did not answer in time.", {"service": "leads"}),
     str(problems.DEFAULT_RETRY_AFTER)),
    (ServiceUnavailable("Busy.", {"retry_after": 0.2}), "1"),
    (TooManyRequests("Too many requests.", {"retry_after": 7}), "7"),
    (Conflict("Still in progress.", {"retry_after": 1}), "1"),
])
def test_answers_that_ask_to_come_back_carry_retry_after(error, seconds):
    response = problems.from_exception(error, "/x")
    assert response.headers["Retry-After"] == seconds
    assert json.loads(response.get_data())["retry_after"] == int(seconds)


def test_other_problems_carry_no_retry_after():
    assert "Retry-After" not in problems.from_exception(Conflict("Duplicate."), "/x").headers
    assert "Retry-After" not in problems.from_exception(RuntimeError("boom"), "/x").headers


# -- sign-in limits ------------------------------------------------------------------------------------------
def test_the_per_username_sign_in_limit_is_per_source_too(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_TOKEN_PER_USER", "3/minute")
    limits = RateLimits()
    for _ in range(3):
        limits.check("RATE_LIMIT_TOKEN_PER_USER", limits.sign_in_key("alice", "203.0.113.9"))
    with pytest.raises(TooManyRequests):                 # the guesser is stopped...
        limits.check("RATE_LIMIT_TOKEN_PER_USER", limits.sign_in_key("alice", "203.0.113.9"))
    limits.check("RATE_LIMIT_TOKEN_PER_USER", limits.sign_in_key("alice", "198.51.100.7"))   # ...alice is not
    assert limits.sign_in_key(["not", "text"], "1.2.3.4") == "1.2.3.4|"
