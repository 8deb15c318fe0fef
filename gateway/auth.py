"""Who is calling: bearer token -> principal.

The token (``tokens.verify``) names the user; the principal (role,
department, the departments in scope) is read from the gateway's database
and cached briefly, so disabling a user or moving them takes effect within
``PRINCIPAL_TTL`` seconds, not at token expiry.

A token verified once is remembered (by its exact text) until it expires, so a
client's next requests skip the signature check and the claims parsing; a
forged or altered token is never in the cache (it never verified), and an
expired one is verified again, which refuses it.
"""
from __future__ import annotations

import time

from werkzeug.wrappers import Request

from crm_kit.context import Principal
from crm_kit.errors import Unauthorized
from crm_kit.runtime.uow import UnitOfWork
from gateway import tokens
from gateway.identity import PrincipalCache

_cache = PrincipalCache()
_key: list[str] = []
_verified: dict[str, tuple[str, float]] = {}    # token -> (user id, valid until: exp + leeway)
VERIFIED_MAX = 10_000                          # tokens remembered at most (then forgotten at once)


def signing_key() -> str:
    if not _key:
        _key.append(tokens.secret())
    return _key[0]


def principal_cache() -> PrincipalCache:
    return _cache


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
        claims = tokens.verify(token, signing_key())
        if len(_verified) >= VERIFIED_MAX:
            _verified.clear()
        known = _verified[token] = (str(claims["sub"]), float(claims["exp"]) + tokens.LEEWAY)
    return _cache.get(uow, known[0])
