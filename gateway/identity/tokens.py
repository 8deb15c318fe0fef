"""Bearer tokens: JWT signed with HS256 (PyJWT), issuer and audience checked,
expiry required. Only the algorithms in ``ALGORITHMS`` are accepted, so
``alg: none`` or an algorithm swap is refused."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import jwt

from crm_kit.config import env, env_int, var_dir
from crm_kit.errors import Unauthorized
from crm_kit.ids import new_id

ALGORITHMS = ["HS256"]
ISSUER = "crm-gateway"
AUDIENCE = "crm-api"
_key: list[str] = []


def secret() -> str:
    """``JWT_SECRET`` (a Kubernetes Secret in production); for local runs a random
    secret kept in var/ so tokens survive a restart."""
    value = env("JWT_SECRET")
    if value:
        return value
    path = Path(var_dir()) / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def signing_key() -> str:
    """The key tokens are signed and verified with (``secret()``, read once per process)."""
    if not _key:
        _key.append(secret())
    return _key[0]


LEEWAY = 5  # seconds of clock skew tolerated on exp / nbf / iat


def ttl_seconds() -> int:
    return env_int("JWT_TTL_SECONDS", 3600)


def issue(user_id: str, role: str, key: str, now: dt.datetime | None = None) -> tuple[str, int]:
    now = now or dt.datetime.now(dt.timezone.utc)
    ttl = ttl_seconds()
    claims = {"sub": user_id, "role": role, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now,
              "exp": now + dt.timedelta(seconds=ttl), "jti": new_id()}
    return jwt.encode(claims, key, algorithm=ALGORITHMS[0]), ttl


def verify(token: str, key: str) -> dict:
    try:
        return jwt.decode(token, key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=ISSUER,
                          options={"require": ["exp", "iat", "sub", "iss", "aud"]}, leeway=LEEWAY)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired.", {"reason": "expired"}) from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The token is not valid.", {"reason": type(exc).__name__}) from None
