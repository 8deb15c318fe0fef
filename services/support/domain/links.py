"""Signed one-time links (issue 14, item 4): how a customer answers without logging in -- the
satisfaction survey after a resolution, a reply to their ticket, a new ticket from the portal.

A link carries a token: a JWT (PyJWT, HS256, the service's ``SUPPORT_LINK_SECRET``) with the
``purpose`` (``survey``, ``reply``, ``open_ticket``), the subject (the ticket, or the customer for a
new ticket), a link id (``jti``), its expiry (``exp``) and what else the purpose needs (``extra``
claims: the contact a new ticket is opened for, the group it goes to). :func:`read` refuses, each
with its reason (the gateway's status in brackets):

- ``forged`` (``Unauthorized``, 401): not signed with our secret (or altered), or not one of our
  tokens at all -- nothing in it can be believed;
- ``wrong_purpose`` (``Forbidden``, 403): a genuine link, but for something else (a survey link
  used to reply, and so on) -- a link names its record (the ticket, the customer), so a request
  never names another;
- ``expired`` (``Gone``, 410, ``expired_at``): past its ``exp`` (the clock is injectable: ``now``);
- ``used`` (``Gone``, 410, ``used_at``): a link is good once -- the application records each
  ``jti`` it accepted (a unique key: of two concurrent uses one wins), and :func:`refuse_reuse`
  turns a second use into this refusal.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import jwt

from crm_kit.errors import Forbidden, Gone, Unauthorized
from crm_kit.ids import new_id

PURPOSES = ("survey", "reply", "open_ticket")
ALGORITHM = "HS256"
ISSUER = "crm-support"
DEFAULT_TTL = dt.timedelta(days=14)
MAX_TTL = dt.timedelta(days=90)
EXTRA_CLAIMS = ("customer_id", "contact_id", "group_id")      # what a purpose may carry besides its subject
_RESERVED = {"iss", "jti", "purpose", "sub", "iat", "exp"}


@dataclass(frozen=True)
class Link:
    link_id: str
    purpose: str
    subject_id: str
    expires_at: dt.datetime
    extra: dict = field(default_factory=dict, compare=True, hash=False)


def sign(secret: str, purpose: str, subject_id: str, now: dt.datetime,
         ttl: dt.timedelta = DEFAULT_TTL, extra: dict | None = None) -> tuple[str, Link]:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    if not dt.timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"a link lives more than nothing and at most {MAX_TTL.days} days")
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    unknown = set(extra) - set(EXTRA_CLAIMS)
    if unknown:
        raise ValueError(f"unknown link claims {sorted(unknown)}")
    expires_at = dt.datetime.fromtimestamp(int((now + ttl).timestamp()), dt.timezone.utc)   # whole seconds
    link = Link(new_id(), purpose, subject_id, expires_at, extra)
    token = jwt.encode({"iss": ISSUER, "jti": link.link_id, "purpose": purpose, "sub": subject_id,
                        "iat": int(now.timestamp()), "exp": int(expires_at.timestamp()), **extra},
                       secret, algorithm=ALGORITHM)
    return token, link


def read(secret: str, token: str, purpose: str, now: dt.datetime) -> Link:
    """The link the token stands for, or the refusal with its reason."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"verify_exp": False, "require": ["exp", "jti", "sub", "iss"]})
    except jwt.PyJWTError:
        raise Unauthorized("This link is not valid.", {"reason": "forged"}) from None
    if claims.get("purpose") != purpose:
        raise Forbidden(f"This link is not for a {purpose.replace('_', ' ')}.",
                        {"reason": "wrong_purpose", "action": purpose})
    expires_at = dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc)
    if now >= expires_at:
        raise Gone(f"This link expired at {expires_at.isoformat()}.",
                   {"reason": "expired", "expired_at": expires_at.isoformat()})
    extra = {k: str(claims[k]) for k in EXTRA_CLAIMS if claims.get(k) is not None}
    return Link(str(claims["jti"]), purpose, str(claims["sub"]), expires_at, extra)


def refuse_reuse(link: Link, used_at: dt.datetime | None) -> None:
    """A link the application has already accepted (``used_at``) is refused."""
    if used_at is not None:
        raise Gone(f"This link was already used ({used_at.isoformat()}).",
                   {"reason": "used", "used_at": used_at.isoformat()})
