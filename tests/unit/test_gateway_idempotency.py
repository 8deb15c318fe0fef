"""``Idempotency-Key`` at the gateway (``gateway.idempotency``): what the first attempt answered is what
every retry gets, unless it was a 5xx (the key is free again); an attempt that never finished holds the
key only for its lease; and while a create runs under a key, the worker context carries a key derived
from it that is the same on every retry (the RPC client sends it to the service)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from types import SimpleNamespace

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from crm_kit.config import Settings
from crm_kit.context import IDEMPOTENCY_KEY, Principal
from crm_kit.errors import Conflict, Duplicate, ServiceUnavailable, ValidationFailed
from crm_kit.runtime.rpc_client import REPLY_GRACE
from gateway import idempotency, problems
from gateway.http import IdempotencyScope, IdempotentCreates
from gateway.models import Base, IdempotencyRecord
from gateway.service import GatewayService

LEASE = dt.timedelta(seconds=20)
BODY = b'{"name": "Idem"}'


@pytest.fixture
def db(make_db):
    return make_db(Base, "gateway")


class Attempts:
    """``produce`` for successive attempts: each answers (or raises) the next outcome given."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> Response:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def created(lead_id="L1") -> Response:
    return Response(json.dumps({"id": lead_id}), status=201, mimetype="application/json",
                    headers={"Location": f"/api/v1/leads/{lead_id}"})


def attempt(db, produce, key="k-1", body=BODY, user="u1"):
    return idempotency.run(db.uow(), user, key, "POST", "/api/v1/leads", body, produce, LEASE)


def record(db, key="k-1", user="u1"):
    with db.session() as s:
        return s.get(IdempotencyRecord, (user, key))


@pytest.mark.parametrize("error", [
    ValidationFailed.from_messages({"name": ["Missing data for required field."]}),
    Duplicate("A lead with this phone exists.", {"existing_id": "L0"}),
    Conflict("Cannot do that now."),
], ids=["422", "409-duplicate", "409"])
def test_a_4xx_from_the_service_is_kept_and_replayed(db, error):
    produce = Attempts(error)
    first = attempt(db, produce)
    assert first.status_code == error.status and first.mimetype == problems.PROBLEM_JSON
    again = attempt(db, produce)                        # before: 409 "still in progress", for 24 hours
    assert produce.calls == 1
    assert again.status_code == error.status and again.headers["Idempotent-Replayed"] == "true"
    assert json.loads(again.get_data()) == json.loads(first.get_data())
    assert again.mimetype == problems.PROBLEM_JSON


def test_a_success_is_replayed_with_its_location(db):
    produce = Attempts(created())
    attempt(db, produce)
    again = attempt(db, produce)
    assert produce.calls == 1 and again.status_code == 201 and again.headers["Location"] == "/api/v1/leads/L1"
    assert record(db).lease_until is None


@pytest.mark.parametrize("error", [
    ServiceUnavailable("The leads service did not answer in time.", {"service": "leads", "retry_after": 2}),
    RuntimeError("boom"),
], ids=["503", "500"])
def test_a_5xx_frees_the_key(db, error):
    produce = Attempts(error, created())
    first = attempt(db, produce)
    assert first.status_code == (503 if isinstance(error, ServiceUnavailable) else 500)
    assert record(db) is None
    again = attempt(db, produce)
    assert produce.calls == 2 and again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def test_a_retry_while_the_first_attempt_runs_is_409_with_retry_after(db):
    seen = []

    def first():
        with pytest.raises(Conflict) as info:
            attempt(db, Attempts(created("L2")))
        seen.append(info.value)
        return created()

    assert attempt(db, first).status_code == 201
    conflict = problems.from_exception(seen[0], "/api/v1/leads")
    assert conflict.status_code == 409 and int(conflict.headers["Retry-After"]) >= 1
    assert attempt(db, Attempts()).headers["Idempotent-Replayed"] == "true"   # and then the first answer


class Crash(BaseException):
    """The process dying mid-request (nothing of the gateway runs after it)."""


def test_an_attempt_that_never_finished_holds_the_key_for_its_lease_only(db, monkeypatch):
    with pytest.raises(Crash):
        attempt(db, Attempts(Crash()))
    pending = record(db)
    assert pending.status is None and pending.lease_until > pending.created_at
    with pytest.raises(Conflict):                     # within the lease: maybe still running
        attempt(db, Attempts(created()))
    later = pending.lease_until + dt.timedelta(seconds=1)
    monkeypatch.setattr(idempotency, "utcnow", lambda: later)
    produce = Attempts(created())
    assert attempt(db, produce).status_code == 201 and produce.calls == 1     # taken over
    assert attempt(db, Attempts()).headers["Idempotent-Replayed"] == "true"


def test_an_attempt_that_outlived_its_lease_leaves_the_key_to_the_one_that_took_over(db, monkeypatch):
    now = idempotency.utcnow()

    def slow():          # while it runs, its lease ends and a retry takes the key over and answers
        monkeypatch.setattr(idempotency, "utcnow", lambda: now + LEASE + dt.timedelta(seconds=1))
        assert attempt(db, Attempts(created("L-retry"))).status_code == 201
        return Response(status=503)

    monkeypatch.setattr(idempotency, "utcnow", lambda: now)
    attempt(db, slow)
    kept = record(db)
    assert kept.status == 201 and json.loads(kept.body) == {"id": "L-retry"}     # not freed by the 503


def test_the_same_key_with_another_body_is_422(db):
    attempt(db, Attempts(created()))
    with pytest.raises(ValidationFailed) as info:
        attempt(db, Attempts(created()), body=b'{"name": "Other"}')
    assert "Idempotency-Key" in info.value.errors


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "tab\t", "nul\x00", "é"])
def test_a_key_must_be_visible_ascii(db, key):
    with pytest.raises(ValidationFailed) as info:
        attempt(db, Attempts(created()), key=key)
    assert "Idempotency-Key" in info.value.errors


def test_the_lease_outlasts_the_rpc_deadline():
    settings = Settings.for_service("gateway")
    provider = IdempotentCreates()
    provider.container = SimpleNamespace(config={"CRM_SETTINGS": settings})
    provider.setup()
    assert provider.lease == idempotency.lease_for(settings.rpc_timeout)
    for timeout in (0.5, 10, 60):
        assert idempotency.lease_for(timeout).total_seconds() >= timeout + REPLY_GRACE + 5


# -- the key the worker context carries ------------------------------------------------------------------
def _request(path="/api/v1/leads"):
    return Request(EnvironBuilder(method="POST", path=path, data=BODY,
                                  content_type="application/json").get_environ())


def _gateway(db, data):
    return SimpleNamespace(db=db.uow(), idempotent_creates=IdempotencyScope(data, LEASE))


def test_a_create_under_a_key_carries_a_stable_key_to_the_service(db):
    principal = Principal("u1", "member", None, ())
    data, seen = {}, []

    def produce_with(outcome):
        def produce():
            seen.append(data.get(IDEMPOTENCY_KEY))
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return produce

    gateway = _gateway(db, data)
    unavailable = ServiceUnavailable("The leads service did not answer in time.", {"service": "leads"})
    answer = GatewayService._idempotent(gateway, _request(), principal, "k-9", produce_with(unavailable))
    assert answer.status_code == 503
    assert IDEMPOTENCY_KEY not in data                          # only while the create runs
    assert GatewayService._idempotent(gateway, _request(), principal, "k-9", produce_with(created())).status_code == 201
    expected = hashlib.sha256(b"\0".join([b"u1", b"k-9", b"POST", b"/api/v1/leads"])).hexdigest()
    assert seen == [expected, expected]                         # the retry carries the same key
    assert idempotency.context_key("u1", "k-9", "POST", "/api/v1/leads") == expected


def test_the_carried_key_differs_by_user_key_method_and_path():
    base = ("u1", "k", "POST", "/api/v1/leads")
    keys = {idempotency.context_key(*base)}
    for index, other in enumerate(("u2", "k2", "PUT", "/api/v1/customers")):
        changed = list(base)
        changed[index] = other
        keys.add(idempotency.context_key(*changed))
    assert len(keys) == 5 and all(len(k) == 64 and int(k, 16) >= 0 for k in keys)


def test_every_write_takes_an_idempotency_key_and_no_read_does():
    from gateway.routes import ROUTES
    writes = {(r.method, r.path) for r in ROUTES if r.idempotent}
    assert ("POST", "/api/v1/leads") in writes and ("POST", "/api/v1/leads/<lead_id>/convert") in writes
    assert ("PATCH", "/api/v1/leads/<lead_id>") in writes and ("DELETE", "/api/v1/leads/<lead_id>") in writes
    assert not [r for r in ROUTES if r.idempotent and (r.method == "GET" or r.public)]
    assert [r.path for r in ROUTES if r.public] == ["/api/v1/auth/token"]
