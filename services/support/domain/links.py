"""Signed one-time links (issue 14, item 4): how a customer answers without logging in -- the
satisfaction survey after a resolution, a reply to their ticket, a new ticket from the portal.

A link carries a token: a JWT (PyJWT, HS256, the service's ``SUPPORT_LINK_SECRET``) with the
``purpose`` (``survey``, ``reply``, ``open_ticket``), the subject (the ticket, or the customer for a
new ticket), a link id (``jti``) and its expiry (``exp``). :func:`read` refuses, each with its
reason (``Unauthorized``, 401, ``reason``):

- ``forged``: not signed with our secret (or altered), or not one of our tokens at all;
- ``expired``: past its ``exp`` (the clock is injectable: ``now``);
- ``wrong_purpose``: a survey link used to reply, and so on;
- ``used``: a link is good once -- the application records each ``jti`` it accepted, with its
  effect, and :func:`refuse_reuse` turns a second use into this refusal.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import jwt

from crm_kit.errors import Unauthorized
from crm_kit.ids import new_id

PURPOSES = ("survey", "reply", "open_ticket")
ALGORITHM = "HS256"
ISSUER = "crm-support"
DEFAULT_TTL = dt.timedelta(days=14)


@dataclass(frozen=True)
class Link:
    link_id: str
    purpose: str
    subject_id: str
    expires_at: dt.datetime


def sign(secret: str, purpose: str, subject_id: str, now: dt.datetime,
         ttl: dt.timedelta = DEFAULT_TTL) -> tuple[str, Link]:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    link = Link(new_id(), purpose, subject_id, now + ttl)
    token = jwt.encode({"iss": ISSUER, "jti": link.link_id, "purpose": purpose, "sub": subject_id,
                        "iat": int(now.timestamp()), "exp": int(link.expires_at.timestamp())},
                       secret, algorithm=ALGORITHM)
    return token, link


def _refused(reason: str, detail: str) -> Unauthorized:
    return Unauthorized(detail, {"reason": reason})


def read(secret: str, token: str, purpose: str, now: dt.datetime) -> Link:
    """The link the token stands for, or ``Unauthorized`` with the reason."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"verify_exp": False, "require": ["exp", "jti", "sub", "iss"]})
    except jwt.PyJWTError:
        raise _refused("forged", "This link is not valid.") from None
    if claims.get("purpose") != purpose:
        raise _refused("wrong_purpose", f"This link is not for a {purpose.replace('_', ' ')}.")
    expires_at = dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc)
    if now >= expires_at:
        raise _refused("expired", f"This link expired at {expires_at.isoformat()}.")
    return Link(str(claims["jti"]), purpose, str(claims["sub"]), expires_at)


def refuse_reuse(link: Link, used_at: dt.datetime | None) -> None:
    """A link the application has already accepted (``used_at``) is refused."""
    if used_at is not None:
        raise _refused("used", f"This link was already used ({used_at.isoformat()}).")
