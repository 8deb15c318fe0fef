"""Bearer tokens at the gateway: a verified token is remembered until it expires, never longer,
and nothing but the exact token that verified is ever taken from that memory."""
from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm_kit.context import Principal
from crm_kit.errors import Unauthorized
from gateway.identity import auth, principals, tokens

KEY = "k" * 48


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(auth, "_verified", {})
    monkeypatch.setattr(tokens, "signing_key", lambda: KEY)
    calls = []

    class Principals:
        def get(self, uow, user_id):
            calls.append(user_id)
            return Principal(user_id, "member", "d1", ("d1",))

    monkeypatch.setattr(principals, "CACHE", Principals())
    return calls


def _request(token: str) -> Request:
    return Request(EnvironBuilder(headers={"Authorization": f"Bearer {token}"}).get_environ())


def _token(user="u1", ttl=3600, now=None):
    now = now or dt.datetime.now(dt.timezone.utc)
    claims = {"sub": user, "role": "member", "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "iat": now,
              "nbf": now, "exp": now + dt.timedelta(seconds=ttl)}
    import jwt
    return jwt.encode(claims, KEY, algorithm=tokens.ALGORITHMS[0])


def test_a_verified_token_is_not_verified_again_until_it_expires(monkeypatch):
    token = _token()
    assert auth.authenticate(_request(token), None).user_id == "u1"
    verified = []
    real = tokens.verify
    monkeypatch.setattr(tokens, "verify", lambda t, k: verified.append(t) or real(t, k))
    for _ in range(3):
        assert auth.authenticate(_request(token), None).user_id == "u1"
    assert verified == []


def test_an_altered_token_is_refused_even_after_the_real_one_was_remembered():
    token = _token()
    auth.authenticate(_request(token), None)
    header, payload, signature = token.split(".")
    for forged in (f"{header}.{payload}.{signature[:-2]}xx", f"{header}.{payload}x.{signature}", token + " "):
        if forged.strip() == token:
            continue
        with pytest.raises(Unauthorized):
            auth.authenticate(_request(forged), None)


def test_a_remembered_token_is_verified_again_once_past_its_expiry(monkeypatch):
    """(And verify refuses an expired token: tests/integration/test_identity.py.)"""
    token = _token(ttl=60)
    auth.authenticate(_request(token), None)
    user_id, until = auth._verified[token]
    assert user_id == "u1"
    assert abs(until - (auth.time.time() + 60 + tokens.LEEWAY)) < 5      # exp + leeway, no longer
    later = until + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    verified = []
    monkeypatch.setattr(tokens, "verify", lambda t, k: verified.append(t) or (_ for _ in ()).throw(
        Unauthorized("The token has expired.", {"reason": "expired"})))
    with pytest.raises(Unauthorized, match="expired"):
        auth.authenticate(_request(token), None)
    assert verified == [token]
