"""Signing in, and who is calling: bearer token -> principal.

``login`` checks a username and password and issues a token (``tokens.issue``). A request's token
(``tokens.verify``) names the user; the principal is ``principals.CACHE``'s.

A token verified once is remembered (by its exact text) until it expires, so a client's next
requests skip the signature check and the claims parsing; a forged or altered token is never in
the memory (it never verified), and an expired one is verified again, which refuses it.
"""
from __future__ import annotations

import time

from sqlalchemy import select
from werkzeug.wrappers import Request

from crm_kit.context import Principal
from crm_kit.errors import Unauthorized
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from gateway.identity import passwords, principals, tokens
from gateway.identity.models import User
from gateway.identity.schemas import TokenRequest

_token_in = TokenRequest()
_verified: dict[str, tuple[str, float]] = {}    # token -> (user id, valid until: exp + leeway)
VERIFIED_MAX = 10_000                          # tokens remembered at most (then forgotten at once)


def login(uow: UnitOfWork, principal: Principal | None, data: dict) -> dict:
    """``{"username", "password"}`` -> a bearer token (``principal``: None, nobody is signed in yet)."""
    creds = load(_token_in, data)
    with uow:
        user = uow.session.execute(select(User.id, User.role, User.active, User.password_hash)
                                   .where(User.username == creds["username"])).first()
    # Verify even for an unknown user, so timing does not reveal which usernames exist.
    ok = passwords.verify_password(creds["password"], user.password_hash if user else passwords.DUMMY_HASH)
    if user is None or not ok or not user.active:
        raise Unauthorized("Wrong username or password.", {"reason": "bad_credentials"})
    token, ttl = tokens.issue(user.id, user.role, tokens.signing_key())
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required (Authorization: Bearer <token>).", {"reason": "missing"})
    return token.strip()


def authenticate(request: Request, uow: UnitOfWork) -> Principal:
    token = bearer_token(request)
    known = _verified.get(token)
    if known is None or known[1] <= time.time():
        claims = tokens.verify(token, tokens.signing_key())
        if len(_verified) >= VERIFIED_MAX:
            _verified.clear()
        known = _verified[token] = (str(claims["sub"]), float(claims["exp"]) + tokens.LEEWAY)
    return principals.CACHE.get(uow, known[0])
