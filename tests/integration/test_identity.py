"""Identity at the gateway: tokens, users and departments, rate limits, idempotent creates."""
import datetime as dt

import jwt
import pytest
import requests

from crm_kit.ids import new_id
from gateway.identity.tokens import AUDIENCE, ISSUER
from tests.integration.harness import Platform

PROBLEM = "application/problem+json"


def problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    return resp.json()


def claims(**over):
    now = dt.datetime.now(dt.timezone.utc)
    base = {"sub": "someone", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
            "exp": now + dt.timedelta(minutes=5)}
    base.update(over)
    return base


def test_api_needs_a_bearer_token_and_ops_routes_do_not(platform):
    resp = platform.get("/api/v1/leads", token=False)
    body = problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["reason"] == "missing"
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert platform.get(path, token=False).status_code == 200, path


def test_sign_in(platform):
    resp = platform.post("/api/v1/auth/token", json={"username": "admin", "password": "admin-password-for-tests"},
                         token=False)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    decoded = jwt.decode(body["access_token"], platform.env["JWT_SECRET"], algorithms=["HS256"],
                         audience=AUDIENCE, issuer=ISSUER)
    assert decoded["role"] == "admin"
    assert platform.get("/api/v1/me", token=body["access_token"]).json()["username"] == "admin"


@pytest.mark.parametrize("creds", [{"username": "admin", "password": "wrong"},
                                   {"username": "nobody", "password": "whatever"}])
def test_wrong_credentials_are_401_alike(platform, creds):
    body = problem(platform.post("/api/v1/auth/token", json=creds, token=False), 401)
    assert body["detail"] == "Wrong username or password."


def test_sign_in_validates_its_body(platform):
    body = problem(platform.post("/api/v1/auth/token", json={"username": "admin"}, token=False), 422)
    assert set(body["errors"]) == {"password"}


@pytest.mark.parametrize("forge", ["tampered", "wrong_secret", "alg_none", "expired", "wrong_audience",
                                   "wrong_issuer", "other_algorithm", "garbage", "no_exp"])
def test_forged_or_stale_tokens_are_refused(platform, forge):
    secret = platform.env["JWT_SECRET"]
    admin_id = platform.get("/api/v1/me").json()["id"]
    good = jwt.encode(claims(sub=admin_id), secret, algorithm="HS256")
    assert platform.get("/api/v1/me", token=good).status_code == 200  # the control case
    if forge == "tampered":
        header, payload, sig = good.split(".")
        other = jwt.encode(claims(sub=admin_id, role="member"), secret, algorithm="HS256").split(".")[1]
        token = ".".join([header, other, sig])
    elif forge == "wrong_secret":
        token = jwt.encode(claims(sub=admin_id), "not-the-secret", algorithm="HS256")
    elif forge == "alg_none":
        token = jwt.encode(claims(sub=admin_id), None, algorithm="none")
    elif forge == "expired":
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
        token = jwt.encode(claims(sub=admin_id, iat=past, exp=past + dt.timedelta(minutes=5)), secret,
                           algorithm="HS256")
    elif forge == "wrong_audience":
        token = jwt.encode(claims(sub=admin_id, aud="someone-else"), secret, algorithm="HS256")
    elif forge == "wrong_issuer":
        token = jwt.encode(claims(sub=admin_id, iss="evil"), secret, algorithm="HS256")
    elif forge == "other_algorithm":
        token = jwt.encode(claims(sub=admin_id), secret, algorithm="HS512")
    elif forge == "no_exp":
        c = claims(sub=admin_id)
        del c["exp"]
        token = jwt.encode(c, secret, algorithm="HS256")
    else:
        token = "not.a.token"
    body = problem(platform.get("/api/v1/me", token=token), 401)
    assert "Traceback" not in body["detail"]
    if forge == "expired":
        assert body["reason"] == "expired"


def test_departments_users_and_scopes(platform):
    root = platform.post("/api/v1/departments", json={"name": f"Sales {new_id()[-5:]}"}).json()
    east = platform.post("/api/v1/departments", json={"name": "East", "parent_id": root["id"]}).json()
    assert east["parent_id"] == root["id"]
    name = f"mgr{new_id()[-8:]}"
    manager = platform.post("/api/v1/users", json={"username": name, "password": "correct horse battery",
                                                   "role": "manager", "department_id": root["id"]})
    assert manager.status_code == 201, manager.text
    assert manager.headers["Location"] == f"/api/v1/users/{manager.json()['id']}"
    assert "password" not in manager.json() and "password_hash" not in manager.json()
    token = platform.login(name, "correct horse battery")
    me = platform.get("/api/v1/me", token=token).json()
    assert set(me["scope_department_ids"]) == {root["id"], east["id"]}

    # a manager is not an administrator
    problem(platform.post("/api/v1/users", json={"username": f"x{new_id()[-6:]}", "password": "0123456789",
                                                 "role": "member"}, token=token), 403)
    problem(platform.request("PATCH", f"/api/v1/users/{me['id']}", json={"role": "admin"}, token=token), 403)
    ok = platform.request("PATCH", f"/api/v1/users/{me['id']}", json={"full_name": "Ms Manager"}, token=token)
    assert ok.status_code == 200 and ok.json()["full_name"] == "Ms Manager"

    # a cycle in the department tree is refused
    problem(platform.request("PATCH", f"/api/v1/departments/{root['id']}", json={"parent_id": east["id"]}), 409)
    # duplicates and server-owned fields
    dup = problem(platform.post("/api/v1/users", json={"username": name, "password": "0123456789", "role": "member"}),
                  409)
    assert dup["existing_id"] == me["id"]
    bad = problem(platform.post("/api/v1/users", json={"username": f"y{new_id()[-6:]}", "password": "0123456789",
                                                       "role": "emperor", "id": "mine", "active": False}), 422)
    assert set(bad["errors"]) == {"role", "id", "active"}

    # disabling a user ends their sign-ins
    platform.request("PATCH", f"/api/v1/users/{me['id']}", json={"active": False})
    problem(platform.post("/api/v1/auth/token", json={"username": name, "password": "correct horse battery"},
                          token=False), 401)


def test_stale_version_is_409(platform):
    dept = platform.post("/api/v1/departments", json={"name": "Versioned"}).json()
    assert dept["version"] == 1
    first = platform.request("PATCH", f"/api/v1/departments/{dept['id']}", json={"name": "V2"},
                             headers={"If-Match": '"1"'})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = problem(platform.request("PATCH", f"/api/v1/departments/{dept['id']}", json={"name": "V3"},
                                     headers={"If-Match": "1"}), 409)
    assert stale["current_version"] == 2
    via_body = problem(platform.request("PATCH", f"/api/v1/departments/{dept['id']}",
                                        json={"name": "V3", "version": 1}), 409)
    assert via_body["current_version"] == 2
    problem(platform.request("PATCH", f"/api/v1/departments/{dept['id']}", json={"name": "V3"},
                             headers={"If-Match": "latest"}), 400)


def test_idempotency_key_returns_the_first_result(platform):
    key = f"key-{new_id()}"
    body = {"name": "Idem", "phone": "136" + new_id()[-8:].translate(str.maketrans("abcdef", "123456"))}
    first = platform.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = platform.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = problem(platform.post("/api/v1/leads", json={**body, "name": "Other"}, headers={"Idempotency-Key": key}),
                    422)
    assert "Idempotency-Key" in other["errors"]
    # without a key, the same body is a duplicate (the phone is taken): nothing was created twice
    assert problem(platform.post("/api/v1/leads", json=body), 409)["existing_id"] == first.json()["id"]


def test_an_idempotency_key_after_an_error_replays_the_error_not_409(platform):
    """A first attempt that ended in a typed error (422, 409) kept the key "in progress" for 24 hours."""
    key = f"key-{new_id()}"
    invalid = {"name": "", "source": "carrier-pigeon"}
    first = problem(platform.post("/api/v1/leads", json=invalid, headers={"Idempotency-Key": key}), 422)
    again = platform.post("/api/v1/leads", json=invalid, headers={"Idempotency-Key": key})
    assert problem(again, 422) == first and again.headers["Idempotent-Replayed"] == "true"

    phone = "135" + new_id()[-8:].translate(str.maketrans("abcdef", "123456"))
    taken = platform.post("/api/v1/leads", json={"name": "First", "phone": phone}).json()
    key, body = f"key-{new_id()}", {"name": "Second", "phone": phone}
    dup = problem(platform.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key}), 409)
    assert dup["existing_id"] == taken["id"]
    replay = platform.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert problem(replay, 409) == dup and replay.headers["Idempotent-Replayed"] == "true"
    problem(platform.post("/api/v1/leads", json=body, headers={"Idempotency-Key": "not a key"}), 422)


def test_an_action_under_an_idempotency_key_is_replayed_not_refused(platform):
    """Any write takes the key: a conversion retried (a client told 503, or simply unsure) is answered
    with the first conversion, not 409 "already converted"; without the key, the retry is that 409."""
    lead = platform.post("/api/v1/leads", json={"name": "Convert once", "company": f"Once {new_id()}"}).json()
    key = {"Idempotency-Key": f"key-{new_id()}"}
    first = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=key)
    assert first.status_code == 200, first.text
    again = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert problem(platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}), 409)["current_state"] == "converted"


@pytest.fixture(scope="module")
def limited_gateway(tmp_path_factory):
    plat = Platform(tmp_path_factory.mktemp("limited"), services=("gateway",),
                    extra_env={"RATE_LIMIT_TOKEN_PER_IP": "3/minute", "RATE_LIMIT_TOKEN_PER_USER": "3/minute",
                               "RATE_LIMIT_API_PER_USER": "4/minute"})
    try:
        plat.start()
        yield plat
    finally:
        plat.destroy()


def test_rate_limits_answer_429_with_retry_after(limited_gateway):
    plat = limited_gateway
    token = plat.login()                     # 1 of 3 sign-ins
    plat.post("/api/v1/auth/token", json={"username": "admin", "password": "x" * 10}, token=False)  # 2
    plat.post("/api/v1/auth/token", json={"username": "admin", "password": "x" * 10}, token=False)  # 3
    resp = plat.post("/api/v1/auth/token", json={"username": "admin", "password": "admin-password-for-tests"},
                     token=False)
    body = problem(resp, 429)
    assert int(resp.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1

    for _ in range(4):
        assert plat.get("/api/v1/me", token=token).status_code == 200
    limited = plat.get("/api/v1/me", token=token)
    problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1


def _from(address: str) -> requests.Session:
    """A client whose connections leave from ``address`` (any 127.x.y.z reaches the gateway on 127.0.0.1)."""
    class Source(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (address, 0)
            super().init_poolmanager(*args, **kwargs)
    session = requests.Session()
    session.mount("http://", Source())
    return session


def test_nobody_can_lock_a_user_out_by_failing_to_sign_in_as_them(limited_gateway):
    """The per-username limit counts per username *and* client IP: guesses from elsewhere, however many,
    never refuse the user's own sign-in."""
    plat = limited_gateway
    url = plat.base_url + "/api/v1/auth/token"
    wrong = {"username": "admin", "password": "not-the-password"}
    for attacker in ("127.0.0.2", "127.0.0.3"):     # 6 wrong passwords for admin: twice the per-username limit
        client = _from(attacker)
        for _ in range(3):
            assert client.post(url, json=wrong, timeout=15).status_code == 401
        assert client.post(url, json=wrong, timeout=15).status_code == 429   # the guesser is stopped
    mine = _from("127.0.0.4").post(url, json={"username": "admin", "password": "admin-password-for-tests"},
                                   timeout=15)
    assert mine.status_code == 200, mine.text                                 # the user is not
