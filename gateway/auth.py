"""Who is calling: bearer token -> principal.

The token (``tokens.verify``) names the user; the principal (role,
department, the departments in scope) is read from the gateway's database
and cached briefly, so disabling a user or moving them takes effect within
``PRINCIPAL_TTL`` seconds, not at token expiry.
"""
from __future__ import annotations

from werkzeug.wrappers import Request

from crm_kit.context import Principal
from crm_kit.errors import Unauthorized
from crm_kit.uow import UnitOfWork
from gateway import tokens
from gateway.identity import PrincipalCache

_cache = PrincipalCache()
_key: list[str] = []


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
    claims = tokens.verify(bearer_token(request), signing_key())
    return _cache.get(uow, str(claims["sub"]))
